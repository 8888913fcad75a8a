/* The directory of supernodes: entries keyed by id (replace, register, load,
 * staleness, answers by region and load) and the in-memory blacklist. Pure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "directory.h"

void directory_init(struct directory *d)
{
	memset(d, 0, sizeof(*d));
}

void directory_release(struct directory *d)
{
	free(d->entries);
	free(d->black);
	memset(d, 0, sizeof(*d));
}

static struct dir_entry *entry_find(const struct directory *d, const uint8_t id[ID_PK_LEN])
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (memcmp(d->entries[i].id, id, ID_PK_LEN) == 0)
			return &d->entries[i];
	return NULL;
}

struct dir_entry *directory_find(struct directory *d, const uint8_t id[ID_PK_LEN])
{
	return entry_find(d, id);
}

/* The entry for id held by owner, or NULL. */
static struct dir_entry *entry_owned(const struct directory *d, const uint8_t id[ID_PK_LEN],
                                     const void *owner)
{
	struct dir_entry *e = entry_find(d, id);

	return e && e->owner == owner ? e : NULL;
}

static int entries_grow(struct directory *d)
{
	struct dir_entry *n;
	size_t cap = d->cap ? d->cap * 2 : 16;

	n = realloc(d->entries, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	d->entries = n;
	d->cap = cap;
	return 0;
}

int directory_attach(struct directory *d, const uint8_t id[ID_PK_LEN], void *owner,
                     uint64_t now_ms, void **replaced)
{
	struct dir_entry *e;

	*replaced = NULL;
	if (directory_is_blacklisted(d, id))
		return -EPERM;
	e = entry_find(d, id);
	if (e) {
		if (e->owner != owner)
			*replaced = e->owner;
	} else {
		if (d->n == d->cap && entries_grow(d) < 0)
			return -ENOMEM;
		e = &d->entries[d->n++];
	}
	/* A new stream starts over: it must register again (DESIGN 8). */
	memset(e, 0, sizeof(*e));
	memcpy(e->id, id, ID_PK_LEN);
	e->owner = owner;
	e->since_ms = now_ms;
	e->last_rx_ms = now_ms;
	return 0;
}

int directory_detach(struct directory *d, const uint8_t id[ID_PK_LEN], const void *owner)
{
	struct dir_entry *e = entry_owned(d, id, owner);

	if (!e)
		return -ENOENT;
	/* Order does not matter: answers are sorted when asked for. */
	*e = d->entries[--d->n];
	return 0;
}

int directory_register(struct directory *d, const uint8_t id[ID_PK_LEN], const void *owner,
                       const struct dir_info *info)
{
	struct dir_entry *e = entry_owned(d, id, owner);

	if (!e)
		return -ENOENT;
	e->info = *info;
	e->registered = 1;
	e->load_pct = dir_load_pct(&e->info, &e->load);
	return 0;
}

int directory_report(struct directory *d, const uint8_t id[ID_PK_LEN], const void *owner,
                     const struct dir_load *load)
{
	struct dir_entry *e = entry_owned(d, id, owner);

	if (!e)
		return -ENOENT;
	if (!e->registered)
		return -EPROTO;
	e->load = *load;
	e->load_pct = dir_load_pct(&e->info, &e->load);
	return 0;
}

void directory_touch(struct directory *d, const uint8_t id[ID_PK_LEN], const void *owner,
                     uint64_t rx_ms)
{
	struct dir_entry *e = entry_owned(d, id, owner);

	if (e && rx_ms > e->last_rx_ms)
		e->last_rx_ms = rx_ms;
}

size_t directory_stale(const struct directory *d, uint64_t now_ms, uint64_t dead_after_ms,
                       void **owners, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < d->n && n < max; i++)
		if (now_ms > d->entries[i].last_rx_ms &&
		    now_ms - d->entries[i].last_rx_ms > dead_after_ms)
			owners[n++] = d->entries[i].owner;
	return n;
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct dir_entry *a = *(const struct dir_entry *const *)pa;
	const struct dir_entry *b = *(const struct dir_entry *const *)pb;

	if (a->load_pct != b->load_pct)
		return a->load_pct < b->load_pct ? -1 : 1;
	if (a->since_ms != b->since_ms)
		return a->since_ms < b->since_ms ? -1 : 1;
	return memcmp(a->id, b->id, ID_PK_LEN);
}

size_t directory_region(struct directory *d, const char *region,
                        struct dir_entry **out, size_t max)
{
	struct dir_entry **all;
	size_t i, n = 0;

	if (max == 0 || d->n == 0)
		return 0;
	/* Sort every match, then keep the max least loaded. */
	all = malloc(d->n * sizeof(*all));
	if (!all)
		return 0;
	for (i = 0; i < d->n; i++) {
		struct dir_entry *e = &d->entries[i];

		if (!e->registered || directory_is_blacklisted(d, e->id))
			continue;
		if (region && *region && strcmp(region, e->info.region) != 0)
			continue;
		all[n++] = e;
	}
	qsort(all, n, sizeof(*all), entry_cmp);
	if (n > max)
		n = max;
	memcpy(out, all, n * sizeof(*all));
	free(all);
	return n;
}

uint32_t dir_load_pct(const struct dir_info *info, const struct dir_load *load)
{
	uint64_t pct = load->cpu_pct, streams;

	if (info->capacity > 0) {
		streams = (uint64_t)load->streams * 100 / info->capacity;
		if (streams > pct)
			pct = streams;
	}
	return pct > 100 ? 100 : (uint32_t)pct;
}

static ssize_t black_index(const struct directory *d, const uint8_t id[ID_PK_LEN])
{
	size_t i;

	for (i = 0; i < d->nblack; i++)
		if (memcmp(d->black[i], id, ID_PK_LEN) == 0)
			return (ssize_t)i;
	return -1;
}

int directory_is_blacklisted(const struct directory *d, const uint8_t id[ID_PK_LEN])
{
	return black_index(d, id) >= 0;
}

int directory_blacklist_add(struct directory *d, const uint8_t id[ID_PK_LEN], void **live)
{
	struct dir_entry *e;
	uint8_t (*n)[ID_PK_LEN];
	size_t cap;

	*live = NULL;
	if (directory_is_blacklisted(d, id))
		return -EEXIST;
	if (d->nblack == d->capblack) {
		cap = d->capblack ? d->capblack * 2 : 16;
		n = realloc(d->black, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		d->black = n;
		d->capblack = cap;
	}
	memcpy(d->black[d->nblack++], id, ID_PK_LEN);
	e = entry_find(d, id);
	if (e)
		*live = e->owner;
	return 0;
}

int directory_blacklist_del(struct directory *d, const uint8_t id[ID_PK_LEN])
{
	ssize_t i = black_index(d, id);

	if (i < 0)
		return -ENOENT;
	memcpy(d->black[i], d->black[--d->nblack], ID_PK_LEN);
	return 0;
}
