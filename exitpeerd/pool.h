/* The exit's address pool: one IPv4 CIDR; the exit takes the first host
 * address, clients get the rest, lowest free first. Pure: no I/O; what is
 * allocated survives restarts because sessions are stored and re-marked. */
#ifndef EP_POOL_H
#define EP_POOL_H

#include <stddef.h>
#include <stdint.h>

#define POOL_MIN_PREFIX 23 /* 509 clients: their InfoResponse still fits one frame */
#define POOL_MAX_PREFIX 30 /* the smallest pool with one client address */
#define POOL_ADDR_LEN 16   /* "255.255.255.255" plus NUL */

struct exit_pool {
	uint32_t network;   /* host order */
	unsigned prefix;
	uint32_t first;     /* first client address (host order) */
	uint32_t size;      /* client addresses */
	uint32_t used;
	uint8_t *bitmap;    /* bit i: first + i is allocated */
};

/* "10.200.0.0/24" (host bits must be zero). 0, -EINVAL or -ENOMEM. */
int exit_pool_init(struct exit_pool *p, const char *cidr);
void exit_pool_release(struct exit_pool *p);

/* The exit's own address (network + 1), host order. */
uint32_t exit_pool_exit_addr(const struct exit_pool *p);

/* Lowest free client address into *addr; -ENOSPC when the pool is full. */
int exit_pool_alloc(struct exit_pool *p, uint32_t *addr);
/* Marks a stored address as allocated (reload): 0, -ERANGE outside the
 * client range, -EEXIST if already allocated. */
int exit_pool_mark(struct exit_pool *p, uint32_t addr);
/* 0, -ERANGE outside the client range, -ENOENT if it was free. */
int exit_pool_free(struct exit_pool *p, uint32_t addr);
uint32_t exit_pool_free_count(const struct exit_pool *p);

/* Dotted quad <-> host-order address. Parse: 0 or -EINVAL. */
void exit_pool_addr_str(uint32_t addr, char out[POOL_ADDR_LEN]);
int exit_pool_addr_parse(const char *text, uint32_t *addr);

#endif
