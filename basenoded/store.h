/* basenoded's only persistent state: the blacklist, in SQLite (WAL mode) in
 * the state directory. The directory itself is soft (DESIGN section 8). */
#ifndef BN_STORE_H
#define BN_STORE_H

#include <stdint.h>
#include "keys.h"

struct store;

/* Opens or creates the database at path. Returns 0 and *out, or a negative
 * errno (-EIO for SQLite errors, with the message in err). */
int store_open(const char *path, struct store **out, char *err, size_t err_size);
void store_close(struct store *s);

/* 0, or -EIO. Adding an id already there and deleting one that is not
 * are both 0 (idempotent, like the admin verbs). */
int store_blacklist_add(struct store *s, const uint8_t id[ID_PK_LEN]);
int store_blacklist_del(struct store *s, const uint8_t id[ID_PK_LEN]);
/* Calls cb for every stored id; stops at and returns cb's non-zero value. */
int store_blacklist_load(struct store *s,
                         int (*cb)(void *arg, const uint8_t id[ID_PK_LEN]), void *arg);
/* SQLite's message for the last failed call. */
const char *store_errmsg(const struct store *s);

#endif
