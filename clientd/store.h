/* clientd's SQLite state (DESIGN section 8): the current session and what
 * is configured on the interface, so both survive a restart, plus the
 * journal of applied commands. */
#ifndef CD_STORE_H
#define CD_STORE_H

#include "session.h"
#include "state.h"
#include "wgconf.h"

/* Opens (creating) the database at path with clientd's schema and the
 * command journal's. 0 or a negative errno with SQLite's text in err. */
int store_open(struct state *st, const char *path, char *err, size_t err_size);

/* Replaces the saved row. 0 or -EIO. */
int store_save(struct state *st, const struct session *s, const struct tunnel_conf *t);

/* 1 and the saved session (its state is left to the caller) and interface
 * configuration, 0 when nothing was saved, -EIO. */
int store_load(struct state *st, struct session *s, struct tunnel_conf *t);

#endif
