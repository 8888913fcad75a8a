/* clientd's connection state machine (STYLE habit 18): one state, a table of
 * state x event -> next state, and the session the state is about. Pure: no
 * I/O, so every transition is unit-tested. */
#ifndef CD_SESSION_H
#define CD_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include "msg.h"

enum cs_state {
	CS_DISCONNECTED, /* no session; routes kept only after a fail-closed drop */
	CS_CONNECTING,   /* ExitRequest out (deadline armed) or tunnel being set up */
	CS_CONNECTED,    /* tunnel up through the session's exit */
	CS_ROTATING,     /* ROTATE_PEER being applied: new peer before old */
	CS_ERROR,        /* gave up; last_error says why; connect or disconnect */
	CS_NSTATES,
};

enum cs_event {
	CE_CONNECT,       /* admin connect (or connect_region at start) */
	CE_EXIT_RETRY,    /* ExitResponse not ok, or the deadline passed */
	CE_EXIT_BAD,      /* ExitResponse ok but malformed: nothing configured */
	CE_TUNNEL_UP,     /* every wgrelay step of the new session answered ok */
	CE_TUNNEL_FAIL,   /* a step failed (rolled back), or restoring at start did */
	CE_ROTATE,        /* ROTATE_PEER accepted */
	CE_ROTATE_DONE,   /* new peer up, old one gone */
	CE_ROTATE_FAIL,   /* rolled back: the old peer is still configured */
	CE_EXIT_LOST,     /* supernode DISCONNECT, session lost: ask again */
	CE_DROPPED,       /* supernode DISCONNECT "admin" or "ended": final */
	CE_USER_DISCONNECT,
	CE_RESTORED,      /* a stored session was configured again at start */
	CE_NEVENTS,
};

#define SESSION_REGION_MAX 64
#define SESSION_ERROR_MAX 160
#define SESSION_ADDR_MAX 64   /* CIDR text */
#define SESSION_EP_MAX 64     /* host:port text */

enum cs_path { CP_NONE, CP_DIRECT, CP_RELAY, CP_RELAY_CHAIN };

struct session {
	enum cs_state state;
	char region[SESSION_REGION_MAX];
	int has_id;
	uint8_t id[MSG_ID_LEN];
	int has_exit;
	uint8_t exit_key[32];
	enum cs_path path;
	char address[SESSION_ADDR_MAX];
	char endpoint[SESSION_EP_MAX];
	char last_error[SESSION_ERROR_MAX];
};

void session_init(struct session *s);

/* The state after ev in from: 0 and *to, or -EINVAL when ev is not
 * allowed in that state (the caller ignores or refuses the event). */
int session_next(enum cs_state from, enum cs_event ev, enum cs_state *to);

/* Applies ev to s->state; 0 or -EINVAL (state unchanged). */
int session_apply(struct session *s, enum cs_event ev);

/* Records why the last thing failed (shown by status); "" clears it. */
void session_set_error(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Forgets the session (id, exit, address, ...), keeping region and error. */
void session_clear(struct session *s);

const char *session_state_name(enum cs_state st);
const char *session_event_name(enum cs_event ev);
const char *session_path_name(enum cs_path p);

#endif
