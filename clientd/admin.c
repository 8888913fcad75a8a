/* Admin verbs on the line-protocol socket: connect REGION, disconnect,
 * status. Replies are immediate; progress shows in status. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "keys.h"
#include "peerlink.h"
#include "clientd.h"

static void admin_connect(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct clientd *cd = ctx;
	int rc = clientd_connect(cd, argv[0]);

	if (rc == -EINVAL) {
		line_reply_err(r, LINE_EINVAL, "bad region (1-63 printable characters)");
		return;
	}
	if (rc < 0) {
		line_reply_err(r, LINE_EBUSY, "%s to %s; disconnect first",
		               session_state_name(cd->s.state), cd->s.region);
		return;
	}
	line_reply_kv(r, "state", session_state_name(cd->s.state));
	line_reply_kv(r, "region", cd->s.region);
}

static void admin_disconnect(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct clientd *cd = ctx;

	clientd_disconnect(cd);
	line_reply_kv(r, "state", cd->disconnect_pending ? "disconnecting" :
	              session_state_name(cd->s.state));
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void admin_status(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct clientd *cd = ctx;
	char hex[2 * MSG_ID_LEN + 1] = "-", b64[KEY_B64_LEN] = "-";

	if (cd->s.has_id)
		bytes_to_hex(cd->s.id, MSG_ID_LEN, hex);
	if (cd->s.has_exit)
		key_to_base64(cd->s.exit_key, b64);
	line_reply_kv(r, "state", session_state_name(cd->s.state));
	line_reply_kv(r, "region", or_dash(cd->s.region));
	line_reply_kv(r, "session", hex);
	line_reply_kv(r, "exit", b64);
	line_reply_kv(r, "path", cd->s.has_id ? session_path_name(cd->s.path) : "-");
	line_reply_kv(r, "address", or_dash(cd->s.address));
	line_reply_kv(r, "endpoint", or_dash(cd->s.endpoint));
	line_reply_kv(r, "stream", cd->link && peerlink_is_up(cd->link) ? "up" : "down");
	line_reply_kv(r, "fail_closed", cd->installed.rules && !cd->installed.has_peer ?
	              "yes" : "no");
	line_reply_kv(r, "error", or_dash(cd->s.last_error));
}

const struct verb clientd_admin_verbs[] = {
	{ "connect", 1, 1, admin_connect, "REGION" },
	{ "disconnect", 0, 0, admin_disconnect, "" },
	{ "status", 0, 0, admin_status, "" },
	{ NULL, 0, 0, NULL, NULL },
};
