/* The exit's address pool: parsing the CIDR, a bitmap of client addresses,
 * lowest-free allocation. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pool.h"

int exit_pool_addr_parse(const char *text, uint32_t *addr)
{
	struct in_addr a;

	if (!text || inet_pton(AF_INET, text, &a) != 1)
		return -EINVAL;
	*addr = ntohl(a.s_addr);
	return 0;
}

void exit_pool_addr_str(uint32_t addr, char out[POOL_ADDR_LEN])
{
	snprintf(out, POOL_ADDR_LEN, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
	         (addr >> 8) & 0xff, addr & 0xff);
}

static int parse_prefix(const char *s, unsigned *prefix)
{
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < POOL_MIN_PREFIX || v > POOL_MAX_PREFIX)
		return -EINVAL;
	*prefix = (unsigned)v;
	return 0;
}

int exit_pool_init(struct exit_pool *p, const char *cidr)
{
	char host[POOL_ADDR_LEN];
	const char *slash;
	uint32_t mask;
	size_t hlen;

	memset(p, 0, sizeof(*p));
	if (!cidr || !(slash = strchr(cidr, '/')))
		return -EINVAL;
	hlen = (size_t)(slash - cidr);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, cidr, hlen);
	host[hlen] = '\0';
	if (exit_pool_addr_parse(host, &p->network) < 0 ||
	    parse_prefix(slash + 1, &p->prefix) < 0)
		return -EINVAL;
	mask = ~(uint32_t)0 << (32 - p->prefix);
	if (p->network & ~mask)
		return -EINVAL; /* host bits set: which network was meant? */
	/* Minus the network, broadcast and exit addresses. */
	p->size = (uint32_t)1 << (32 - p->prefix);
	p->size -= 3;
	p->first = p->network + 2;
	p->bitmap = calloc((p->size + 7) / 8, 1);
	if (!p->bitmap) {
		memset(p, 0, sizeof(*p));
		return -ENOMEM;
	}
	return 0;
}

void exit_pool_release(struct exit_pool *p)
{
	free(p->bitmap);
	memset(p, 0, sizeof(*p));
}

uint32_t exit_pool_exit_addr(const struct exit_pool *p)
{
	return p->network + 1;
}

static int bit_get(const struct exit_pool *p, uint32_t i)
{
	return (p->bitmap[i / 8] >> (i % 8)) & 1;
}

static void bit_set(struct exit_pool *p, uint32_t i, int on)
{
	if (on)
		p->bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		p->bitmap[i / 8] &= (uint8_t)~(1u << (i % 8));
}

int exit_pool_alloc(struct exit_pool *p, uint32_t *addr)
{
	uint32_t i;

	if (p->used >= p->size)
		return -ENOSPC;
	for (i = 0; i < p->size; i++) {
		if (p->bitmap[i / 8] == 0xff) {
			i += 7; /* a full byte: skip it */
			continue;
		}
		if (!bit_get(p, i))
			break;
	}
	if (i >= p->size)
		return -ENOSPC;
	bit_set(p, i, 1);
	p->used++;
	*addr = p->first + i;
	return 0;
}

static int index_of(const struct exit_pool *p, uint32_t addr, uint32_t *i)
{
	if (!p->bitmap || addr < p->first || addr - p->first >= p->size)
		return -ERANGE;
	*i = addr - p->first;
	return 0;
}

int exit_pool_mark(struct exit_pool *p, uint32_t addr)
{
	uint32_t i;

	if (index_of(p, addr, &i) < 0)
		return -ERANGE;
	if (bit_get(p, i))
		return -EEXIST;
	bit_set(p, i, 1);
	p->used++;
	return 0;
}

int exit_pool_free(struct exit_pool *p, uint32_t addr)
{
	uint32_t i;

	if (index_of(p, addr, &i) < 0)
		return -ERANGE;
	if (!bit_get(p, i))
		return -ENOENT;
	bit_set(p, i, 0);
	p->used--;
	return 0;
}

uint32_t exit_pool_free_count(const struct exit_pool *p)
{
	return p->size - p->used;
}
