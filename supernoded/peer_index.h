/* An index of objects by the id each holds (peers by their 32-byte peer id,
 * sessions by their 16-byte session id): a hash table with a random
 * per-process SipHash key, since peers pick ids. */
#ifndef SN_PEER_INDEX_H
#define SN_PEER_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>
#include "keys.h"

struct peer_index_slot {
	uint64_t hash;
	void *obj;                /* NULL: empty */
};

/* Objects are not owned; each holds its id at key_off from its start. */
struct peer_index {
	struct peer_index_slot *slots;
	size_t cap, n;            /* cap: 0 or a power of two; n <= cap / 2 */
	size_t key_off, key_len;
	uint8_t key[crypto_shorthash_KEYBYTES];
};

/* Empty, with a fresh random key; allocates nothing (sodium_init first).
 * Ids are ID_PK_LEN bytes; peer_index_init_len for other lengths. */
void peer_index_init(struct peer_index *ix, size_t key_off);
void peer_index_init_len(struct peer_index *ix, size_t key_off, size_t key_len);
/* Frees the table (not the objects); the index is empty and usable again. */
void peer_index_release(struct peer_index *ix);
void *peer_index_find(const struct peer_index *ix, const uint8_t *id);
/* 0, -EEXIST (an object with that id is in), or -ENOMEM (index unchanged). */
int peer_index_add(struct peer_index *ix, void *obj);
/* Removes the object with that id: 0 or -ENOENT. */
int peer_index_del(struct peer_index *ix, const uint8_t *id);

#endif
