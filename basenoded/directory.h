/* The directory proper: supernodes keyed by id, what they registered, their
 * load, and the blacklist. Pure: no sockets, no clock; callers pass times. */
#ifndef BN_DIRECTORY_H
#define BN_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>
#include "keys.h"

#define DIR_REGION_MAX 64   /* bytes, NUL included */
#define DIR_HOST_MAX 256    /* bytes, NUL included */

/* What a supernode registered on its stream (RegisterSupernode). */
struct dir_info {
	char region[DIR_REGION_MAX];
	char public_address[DIR_HOST_MAX]; /* host:port of its control port */
	char relay_host[DIR_HOST_MAX];     /* may be empty */
	uint32_t capacity;                 /* streams it accepts */
};

/* Its last LoadReport. */
struct dir_load {
	uint32_t streams, exits, cpu_pct, relay_sessions;
	uint64_t net_tx_bps, net_rx_bps;
};

struct dir_entry {
	uint8_t id[ID_PK_LEN];
	void *owner;         /* the stream holding this id; opaque here */
	int registered;      /* info is valid */
	struct dir_info info;
	struct dir_load load;
	uint32_t load_pct;   /* dir_load_pct(info, load) */
	uint64_t since_ms;   /* attached at */
	uint64_t last_rx_ms; /* last frame seen on the stream */
};

/*
 * A flat array: the world has hundreds of supernodes, not millions, and a
 * linear scan keeps replace/evict obviously right. The blacklist is the only
 * part that outlives a stream; the caller persists it (store.c).
 */
struct directory {
	struct dir_entry *entries;
	size_t n, cap;
	uint8_t (*black)[ID_PK_LEN];
	size_t nblack, capblack;
};

void directory_init(struct directory *d);
void directory_release(struct directory *d);

/*
 * A stream authenticated as id: adds an unregistered entry owned by owner.
 * An entry already held by another stream is taken over and its owner is
 * returned in *replaced (the caller closes that stream); else *replaced is
 * NULL. Returns 0, -EPERM (blacklisted) or -ENOMEM.
 */
int directory_attach(struct directory *d, const uint8_t id[ID_PK_LEN], void *owner,
                     uint64_t now_ms, void **replaced);
/* Removes id's entry if owner still holds it; 0 or -ENOENT. A replaced
 * stream closing later thus never removes its successor. */
int directory_detach(struct directory *d, const uint8_t id[ID_PK_LEN], const void *owner);

struct dir_entry *directory_find(struct directory *d, const uint8_t id[ID_PK_LEN]);

/* RegisterSupernode / LoadReport from owner's stream; -ENOENT if owner does
 * not hold id, -EPROTO for a load report before registration. */
int directory_register(struct directory *d, const uint8_t id[ID_PK_LEN], const void *owner,
                       const struct dir_info *info);
int directory_report(struct directory *d, const uint8_t id[ID_PK_LEN], const void *owner,
                     const struct dir_load *load);
/* A frame arrived on owner's stream at rx_ms. */
void directory_touch(struct directory *d, const uint8_t id[ID_PK_LEN], const void *owner,
                     uint64_t rx_ms);

/* Owners of entries silent for more than dead_after_ms at now_ms, at most
 * max of them into owners. Returns how many were written. */
size_t directory_stale(const struct directory *d, uint64_t now_ms, uint64_t dead_after_ms,
                       void **owners, size_t max);

/*
 * Registered, non-blacklisted entries of region ("" or NULL: every region),
 * least loaded first (ties: oldest registration first, then id), at most max
 * into out. Returns how many were written; the pointers are valid until the
 * directory next changes.
 */
size_t directory_region(struct directory *d, const char *region,
                        struct dir_entry **out, size_t max);

/* Load as one number: the larger of cpu_pct and streams * 100 / capacity,
 * capped at 100; capacity 0 means streams do not count. */
uint32_t dir_load_pct(const struct dir_info *info, const struct dir_load *load);

/* Blacklist. add: 0 (its live stream's owner, if any, in *live) or -EEXIST
 * or -ENOMEM; del: 0 or -ENOENT. */
int directory_blacklist_add(struct directory *d, const uint8_t id[ID_PK_LEN], void **live);
int directory_blacklist_del(struct directory *d, const uint8_t id[ID_PK_LEN]);
int directory_is_blacklisted(const struct directory *d, const uint8_t id[ID_PK_LEN]);

#endif
