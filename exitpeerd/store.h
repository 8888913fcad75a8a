/* exitpeerd's persistent state: its sessions (client key, address, endpoint)
 * and the journal of applied commands, in state_dir/exitpeerd.db. */
#ifndef EP_STORE_H
#define EP_STORE_H

#include <stdint.h>
#include "state.h"

#define SESSION_ID_LEN 16
#define WG_KEY_LEN 32
#define ENDPOINT_MAX 64 /* "[v6]:port" fits */

struct exit_session {
	uint8_t id[SESSION_ID_LEN];
	uint8_t client_key[WG_KEY_LEN];
	uint32_t addr;              /* host order, from the pool */
	char endpoint[ENDPOINT_MAX]; /* client endpoint, "" if roaming */
	uint32_t keepalive_s;
};

/* Opens (creating) the database with the sessions table and the journal. */
int exit_store_open(struct state *st, const char *path, char *err, size_t err_size);

/* Inserts or replaces a session. 0 or -EIO. */
int exit_store_session_put(struct state *st, const struct exit_session *s);
/* Deletes a session; absent is fine. 0 or -EIO. */
int exit_store_session_del(struct state *st, const uint8_t id[SESSION_ID_LEN]);
/* Calls cb for every stored session; stops at and returns cb's non-zero
 * value; -EIO for a read error or a malformed row. */
int exit_store_session_load(struct state *st,
                            int (*cb)(void *arg, const struct exit_session *s), void *arg);

#endif
