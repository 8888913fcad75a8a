/* supernoded's SQLite state (lib/state): revoked peer ids, sessions, and the
 * journal of applied commands, so a restart loses no session. */
#ifndef SN_STORE_H
#define SN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "keys.h"
#include "msg.h"
#include "state.h"

#define SESS_ADDR_MAX 64
#define SESS_HOST_MAX 128

enum sess_kind {
	SESS_LOCAL = 0,  /* client and exit both on this supernode */
	SESS_ORIGIN = 1, /* our client, an exit on a remote supernode */
	SESS_SERVE = 2,  /* our exit, a remote supernode's client */
};

/* What a session is, as persisted. Ids that do not apply are all zero. */
struct sess_rec {
	uint8_t id[MSG_ID_LEN];
	int kind;
	uint8_t client_id[ID_PK_LEN];
	uint8_t client_wg[32];
	uint8_t exit_id[ID_PK_LEN];
	uint8_t exit_wg[32];
	uint8_t remote_id[ID_PK_LEN];   /* the other supernode, if any */
	uint32_t path;                  /* PathKind */
	int relay;                      /* a relay under the session id is ours */
	uint16_t client_port, exit_port;
	char client_address[SESS_ADDR_MAX];
	char endpoint[SESS_HOST_MAX];   /* where the client (or chain) sends */
	char remote_addr[SESS_HOST_MAX];/* ORIGIN: the remote's control address */
	int active;                     /* 0: still being set up */
};

struct sn_store {
	struct state st;
};

int store_open(const char *path, struct sn_store **out, char *err, size_t err_size);
void store_close(struct sn_store *s);

/* Revocations: add/del are idempotent; 0 or -EIO. load calls cb per id. */
int store_revoke(struct sn_store *s, const uint8_t id[ID_PK_LEN], int revoked);
int store_revoked_load(struct sn_store *s,
                       int (*cb)(void *arg, const uint8_t id[ID_PK_LEN]), void *arg);

/* Sessions: put inserts or replaces; end marks it ended (kept for the
 * record, never loaded again). load calls cb for each unended session. */
int store_session_put(struct sn_store *s, const struct sess_rec *r);
int store_session_end(struct sn_store *s, const uint8_t id[MSG_ID_LEN]);
int store_sessions_load(struct sn_store *s, int (*cb)(void *arg, const struct sess_rec *r),
                        void *arg);

#endif
