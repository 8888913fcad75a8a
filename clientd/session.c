/* clientd's state machine: the one table saying which event moves which
 * state where. Everything else in clientd asks it before acting. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "session.h"

#define NO (-1) /* event refused in this state */

/* next[state][event]; a refused event leaves the state alone. */
static const signed char next[CS_NSTATES][CE_NEVENTS] = {
	[CS_DISCONNECTED] = {
		[CE_CONNECT] = CS_CONNECTING, [CE_EXIT_RETRY] = NO, [CE_EXIT_BAD] = NO,
		[CE_TUNNEL_UP] = NO, [CE_TUNNEL_FAIL] = CS_ERROR, [CE_ROTATE] = NO,
		[CE_ROTATE_DONE] = NO, [CE_ROTATE_FAIL] = NO, [CE_EXIT_LOST] = NO,
		[CE_DROPPED] = NO, [CE_USER_DISCONNECT] = CS_DISCONNECTED,
		[CE_RESTORED] = CS_CONNECTED,
	},
	[CS_CONNECTING] = {
		[CE_CONNECT] = CS_CONNECTING, [CE_EXIT_RETRY] = CS_CONNECTING,
		[CE_EXIT_BAD] = CS_ERROR, [CE_TUNNEL_UP] = CS_CONNECTED,
		[CE_TUNNEL_FAIL] = CS_ERROR, [CE_ROTATE] = NO, [CE_ROTATE_DONE] = NO,
		[CE_ROTATE_FAIL] = NO, [CE_EXIT_LOST] = CS_CONNECTING,
		[CE_DROPPED] = CS_DISCONNECTED, [CE_USER_DISCONNECT] = CS_DISCONNECTED,
		[CE_RESTORED] = NO,
	},
	[CS_CONNECTED] = {
		[CE_CONNECT] = NO, [CE_EXIT_RETRY] = NO, [CE_EXIT_BAD] = NO,
		[CE_TUNNEL_UP] = NO, [CE_TUNNEL_FAIL] = NO, [CE_ROTATE] = CS_ROTATING,
		[CE_ROTATE_DONE] = NO, [CE_ROTATE_FAIL] = NO, [CE_EXIT_LOST] = CS_CONNECTING,
		[CE_DROPPED] = CS_DISCONNECTED, [CE_USER_DISCONNECT] = CS_DISCONNECTED,
		[CE_RESTORED] = NO,
	},
	[CS_ROTATING] = {
		[CE_CONNECT] = NO, [CE_EXIT_RETRY] = NO, [CE_EXIT_BAD] = NO,
		[CE_TUNNEL_UP] = NO, [CE_TUNNEL_FAIL] = NO, [CE_ROTATE] = NO,
		[CE_ROTATE_DONE] = CS_CONNECTED, [CE_ROTATE_FAIL] = CS_CONNECTED,
		[CE_EXIT_LOST] = NO, [CE_DROPPED] = NO, [CE_USER_DISCONNECT] = NO,
		[CE_RESTORED] = NO,
	},
	[CS_ERROR] = {
		[CE_CONNECT] = CS_CONNECTING, [CE_EXIT_RETRY] = NO, [CE_EXIT_BAD] = NO,
		[CE_TUNNEL_UP] = NO, [CE_TUNNEL_FAIL] = NO, [CE_ROTATE] = NO,
		[CE_ROTATE_DONE] = NO, [CE_ROTATE_FAIL] = NO, [CE_EXIT_LOST] = NO,
		[CE_DROPPED] = CS_ERROR, [CE_USER_DISCONNECT] = CS_DISCONNECTED,
		[CE_RESTORED] = NO,
	},
};

static const char *const state_names[CS_NSTATES] = {
	[CS_DISCONNECTED] = "disconnected", [CS_CONNECTING] = "connecting",
	[CS_CONNECTED] = "connected", [CS_ROTATING] = "rotating", [CS_ERROR] = "error",
};

static const char *const event_names[CE_NEVENTS] = {
	[CE_CONNECT] = "connect", [CE_EXIT_RETRY] = "exit_retry", [CE_EXIT_BAD] = "exit_bad",
	[CE_TUNNEL_UP] = "tunnel_up", [CE_TUNNEL_FAIL] = "tunnel_fail",
	[CE_ROTATE] = "rotate", [CE_ROTATE_DONE] = "rotate_done",
	[CE_ROTATE_FAIL] = "rotate_fail", [CE_EXIT_LOST] = "exit_lost",
	[CE_DROPPED] = "dropped", [CE_USER_DISCONNECT] = "user_disconnect",
	[CE_RESTORED] = "restored",
};

void session_init(struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->state = CS_DISCONNECTED;
}

int session_next(enum cs_state from, enum cs_event ev, enum cs_state *to)
{
	if ((unsigned)from >= CS_NSTATES || (unsigned)ev >= CE_NEVENTS)
		return -EINVAL;
	if (next[from][ev] == NO)
		return -EINVAL;
	*to = (enum cs_state)next[from][ev];
	return 0;
}

int session_apply(struct session *s, enum cs_event ev)
{
	enum cs_state to;
	int ret = session_next(s->state, ev, &to);

	if (ret == 0)
		s->state = to;
	return ret;
}

void session_set_error(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
}

void session_clear(struct session *s)
{
	s->has_id = 0;
	memset(s->id, 0, sizeof(s->id));
	s->has_exit = 0;
	memset(s->exit_key, 0, sizeof(s->exit_key));
	s->path = CP_NONE;
	s->address[0] = '\0';
	s->endpoint[0] = '\0';
}

const char *session_state_name(enum cs_state st)
{
	return (unsigned)st < CS_NSTATES ? state_names[st] : "unknown";
}

const char *session_event_name(enum cs_event ev)
{
	return (unsigned)ev < CE_NEVENTS ? event_names[ev] : "unknown";
}

const char *session_path_name(enum cs_path p)
{
	static const char *const names[] = { "none", "direct", "relay", "relay_chain" };

	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "none";
}
