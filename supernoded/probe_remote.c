/* The exit side of a cross-region upgrade test (architecture.md "Path
 * choice", "Testing before moving"), on the serving supernode B: the
 * origin's PROBE_PATH for a session we serve goes to our exit with the same
 * token, and the exit's ProbePathResult, or its error, goes back. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "dispatch.h"
#include "log.h"
#include "peer.h"
#include "probe_run.h"
#include "session.h"

#define ERROR_MAX 128

/* The origin's answer, under the command id it sent (journalled). */
static void answer(struct sn_session *s, int ok, const char *error, const uint8_t *res,
                   size_t len)
{
	struct sn_peer *origin = peer_find(s->sn, s->rec.remote_id);

	if (origin)
		cmd_reply(origin, s->serve_probe_cmd, ok, error, res, len);
}

/* The exit's error for the origin: printable and short, so that "perm:"
 * or "unsupported" still says the exit cannot test. */
static void error_copy(char *out, size_t size, const char *error)
{
	size_t i;

	snprintf(out, size, "%s", error && error[0] ? error : "exit_refused");
	for (i = 0; out[i]; i++)
		if (out[i] < ' ' || out[i] > '~')
			out[i] = '?';
}

/* The exit's result checked and packed again (*len 0 is "not seen"):
 * seen, and where from when short and printable (the origin logs it). */
static int result_copy(const ProtobufCBinaryData *in, uint8_t *buf, size_t size, size_t *len)
{
	Supermesh__ProbePathResult *pr, out;
	int rc = -EPROTO;

	if (!(pr = supermesh__probe_path_result__unpack(NULL, in->len, in->data)))
		return -EPROTO;
	supermesh__probe_path_result__init(&out);
	out.seen = pr->seen;
	out.from = pr->seen && check_text(pr->from, 64) ? pr->from : "";
	if (supermesh__probe_path_result__get_packed_size(&out) <= size) {
		*len = supermesh__probe_path_result__pack(&out, buf);
		rc = 0;
	}
	supermesh__probe_path_result__free_unpacked(pr, NULL);
	return rc;
}

static void on_exit_probed(void *arg, int status, const Supermesh__CommandResponse *resp)
{
	struct sn_session *s = arg;
	char error[ERROR_MAX];
	uint8_t buf[128];
	size_t len = 0;

	s->serve_probing = 0;
	if (s->sn->stopping) {
		/* The origin resends, the journal has nothing: it times out. */
	} else if (s->state != SS_ACTIVE) {
		answer(s, 0, "not_active", NULL, 0);
	} else if (status < 0) {
		answer(s, 0, status == -ETIMEDOUT ? "exit_timeout" : "cancelled", NULL, 0);
	} else if (!resp->ok) {
		error_copy(error, sizeof(error), resp->error);
		log_info("event=serve_probe_refused session_id=%s error=\"%s\"", s->hex, error);
		answer(s, 0, error, NULL, 0);
	} else if (result_copy(&resp->result, buf, sizeof(buf), &len) < 0) {
		answer(s, 0, "bad_result", NULL, 0);
	} else {
		answer(s, 1, NULL, buf, len);
	}
	session_release(s);
}

static const char *refusal(struct sn_session *s, struct sn_peer *origin, struct sn_peer *exit)
{
	if (!s || s->rec.kind != SESS_SERVE || memcmp(s->rec.remote_id, origin->id, ID_PK_LEN))
		return "no_session";
	if (s->state != SS_ACTIVE)
		return "not_active";
	if (!exit || !peer_is_up(exit))
		return "exit_unavailable";
	if (s->serve_probing)
		return "busy";
	return NULL;
}

/* Our exit probes for no longer than our own command timeout allows. */
static void forward_init(Supermesh__ProbePath *out, const Supermesh__ProbePath *pp,
                         const struct supernoded *sn)
{
	uint32_t ms = probe_test_ms(sn);

	supermesh__probe_path__init(out);
	out->session_id = pp->session_id;
	out->peer_endpoint = pp->peer_endpoint;
	out->token = pp->token;
	out->duration_ms = pp->duration_ms < ms ? pp->duration_ms : ms;
}

int probe_serve(struct sn_peer *origin, const Supermesh__Command *cmd,
                const Supermesh__ProbePath *pp)
{
	struct supernoded *sn = origin->sn;
	struct sn_session *s;
	struct sn_peer *exit = NULL;
	Supermesh__ProbePath out;
	const char *why;

	/* The same checks as the exit's: ids, token, numeric endpoint, duration. */
	if (probe_path_check(pp))
		return -EPROTO;
	if ((s = session_find(sn, pp->session_id.data)))
		exit = peer_find(sn, s->rec.exit_id);
	/* A resend of the one we took: the answer comes, or came (with a
	 * store the journal answers those before we are asked). */
	if (s && s->rec.kind == SESS_SERVE && !memcmp(s->rec.remote_id, origin->id, ID_PK_LEN) &&
	    !memcmp(s->serve_probe_cmd, cmd->command_id.data, MSG_ID_LEN))
		return 0;
	if ((why = refusal(s, origin, exit))) {
		cmd_reply(origin, cmd->command_id.data, 0, why, NULL, 0);
		return 0;
	}
	forward_init(&out, pp, sn);
	memcpy(s->serve_probe_cmd, cmd->command_id.data, MSG_ID_LEN);
	log_info("event=serve_probe session_id=%s peer_id=%s client=%s probe_ms=%u", s->hex,
	         origin->hex, out.peer_endpoint, out.duration_ms);
	session_hold(s);
	s->serve_probing = 1;
	if (sn_command_send(sn, SUPERMESH__COMMAND_TYPE__PROBE_PATH, &out.base, exit,
	                    on_exit_probed, s) < 0) {
		s->serve_probing = 0;
		answer(s, 0, "send_failed", NULL, 0);
		session_release(s);
	}
	return 0;
}
