/* Sets of peer ids (allow-lists, revocations) and their text forms: one id
 * as padded base64 or 64 hex digits, and an allow-list file of such ids. */
#ifndef SM_IDSET_H
#define SM_IDSET_H

#include <stddef.h>
#include <stdint.h>
#include "keys.h"

struct id_set {
	uint8_t (*ids)[ID_PK_LEN];
	size_t n, cap;
};

/* 1 if id is in the set. add: 0, -EEXIST or -ENOMEM; del: 0 or -ENOENT. */
int id_set_has(const struct id_set *s, const uint8_t id[ID_PK_LEN]);
int id_set_add(struct id_set *s, const uint8_t id[ID_PK_LEN]);
int id_set_del(struct id_set *s, const uint8_t id[ID_PK_LEN]);
/* Frees the ids; the set is empty and usable again. */
void id_set_release(struct id_set *s);

/* A peer id as text: padded base64 or 64 hex digits. 0 or -EINVAL. */
int id_parse(const char *text, uint8_t id[ID_PK_LEN]);

/*
 * Allow-list text: one id per line (as id_parse), blank lines and '#'
 * comments skipped, an id listed twice kept twice. Replaces s's ids. 0,
 * -EINVAL with "line N: what" in err, or -ENOMEM; s is untouched on error.
 */
int id_set_parse(struct id_set *s, const char *buf, size_t len, char *err,
                 size_t err_size);
/* The same from a file of at most 1 MiB (-EFBIG); other negative errno with
 * "path: why" in err if it cannot be read. */
int id_set_load(struct id_set *s, const char *path, char *err, size_t err_size);

#endif
