/* The peer index: open addressing with linear probing, doubling at half
 * full, deletion by backward shift (no tombstones to pile up under churn). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "peer_index.h"

#define PEER_INDEX_MIN 64

static const uint8_t *key_of(const struct peer_index *ix, const void *obj)
{
	return (const uint8_t *)obj + ix->key_off;
}

/* Keyed: a client choosing ids cannot aim them all at one chain. */
static uint64_t hash_id(const struct peer_index *ix, const uint8_t *id)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, id, ix->key_len, ix->key);
	memcpy(&h, out, sizeof(h));
	return h;
}

void peer_index_init_len(struct peer_index *ix, size_t key_off, size_t key_len)
{
	memset(ix, 0, sizeof(*ix));
	ix->key_off = key_off;
	ix->key_len = key_len;
	randombytes_buf(ix->key, sizeof(ix->key));
}

void peer_index_init(struct peer_index *ix, size_t key_off)
{
	peer_index_init_len(ix, key_off, ID_PK_LEN);
}

void peer_index_release(struct peer_index *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->cap = ix->n = 0;
}

/* The slot holding id, or (size_t)-1. */
static size_t slot_of(const struct peer_index *ix, const uint8_t *id, uint64_t h)
{
	size_t mask = ix->cap - 1, i;

	if (!ix->cap)
		return (size_t)-1;
	for (i = h & mask; ix->slots[i].obj; i = (i + 1) & mask)
		if (ix->slots[i].hash == h &&
		    memcmp(key_of(ix, ix->slots[i].obj), id, ix->key_len) == 0)
			return i;
	return (size_t)-1;
}

void *peer_index_find(const struct peer_index *ix, const uint8_t *id)
{
	size_t i;

	if (!ix->n)
		return NULL;
	i = slot_of(ix, id, hash_id(ix, id));
	return i == (size_t)-1 ? NULL : ix->slots[i].obj;
}

static void put(struct peer_index_slot *slots, size_t cap, uint64_t h, void *obj)
{
	size_t i;

	for (i = h & (cap - 1); slots[i].obj; i = (i + 1) & (cap - 1))
		;
	slots[i].hash = h;
	slots[i].obj = obj;
}

static int grow(struct peer_index *ix)
{
	size_t cap = ix->cap ? 2 * ix->cap : PEER_INDEX_MIN, i;
	struct peer_index_slot *slots;

	if (cap < ix->cap || !(slots = calloc(cap, sizeof(*slots))))
		return -ENOMEM;
	for (i = 0; i < ix->cap; i++)
		if (ix->slots[i].obj)
			put(slots, cap, ix->slots[i].hash, ix->slots[i].obj);
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	return 0;
}

int peer_index_add(struct peer_index *ix, void *obj)
{
	const uint8_t *id = key_of(ix, obj);
	uint64_t h = hash_id(ix, id);
	int rc;

	if (slot_of(ix, id, h) != (size_t)-1)
		return -EEXIST;
	/* At most half full keeps probe runs short. */
	if (2 * (ix->n + 1) > ix->cap && (rc = grow(ix)) < 0)
		return rc;
	put(ix->slots, ix->cap, h, obj);
	ix->n++;
	return 0;
}

/* Moves back each later entry of the run that may sit in the freed slot i:
 * one whose home is not cyclically in (i, j]. */
static void close_gap(struct peer_index *ix, size_t i)
{
	size_t mask = ix->cap - 1, j = i, k;

	for (;;) {
		j = (j + 1) & mask;
		if (!ix->slots[j].obj)
			break;
		k = ix->slots[j].hash & mask;
		if (j > i ? (k <= i || k > j) : (k <= i && k > j)) {
			ix->slots[i] = ix->slots[j];
			i = j;
		}
	}
	ix->slots[i].obj = NULL;
	ix->slots[i].hash = 0;
}

int peer_index_del(struct peer_index *ix, const uint8_t *id)
{
	size_t i = slot_of(ix, id, hash_id(ix, id));

	if (i == (size_t)-1)
		return -ENOENT;
	close_gap(ix, i);
	ix->n--;
	return 0;
}
