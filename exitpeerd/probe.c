/* PROBE_PATH on the exit: the session must be one we hold; the test runs
 * (lib/probe_run) from our WireGuard port, where the client's peer is. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "probe_run.h"

int ep_validate_probe(struct exitpeer *ep, const ProtobufCBinaryData *payload,
                      struct ep_op *op, char *why, size_t why_size)
{
	Supermesh__ProbePath *p;
	const char *bad;
	int rc = -EINVAL;

	if (!(p = supermesh__probe_path__unpack(NULL, payload->len, payload->data))) {
		snprintf(why, why_size, "bad payload");
		return -EINVAL;
	}
	if ((bad = probe_path_check(p))) {
		snprintf(why, why_size, "%s", bad);
		goto out;
	}
	if (!ep_session_find(ep, p->session_id.data)) {
		snprintf(why, why_size, "no such session");
		goto out;
	}
	memcpy(op->s.id, p->session_id.data, SESSION_ID_LEN);
	memcpy(op->token, p->token.data, sizeof(op->token));
	snprintf(op->peer, sizeof(op->peer), "%s", p->peer_endpoint);
	op->probe_ms = p->duration_ms;
	rc = 0;
out:
	supermesh__probe_path__free_unpacked(p, NULL);
	return rc;
}

static void on_probed(void *arg, const struct probe_run_result *r)
{
	struct ep_op *op = arg;

	probe_run_outcome(r, &op->out);
	ep_op_finish(op);
}

void ep_op_probe_start(struct ep_op *op)
{
	struct exitpeer *ep = op->ep;
	struct probe_run_req req = {
		.wgrelay_socket = ep->conf.wgrelay_socket,
		.timeout_ms = exitpeer_helper_timeout(ep),
		.iface = ep->conf.wg_iface,
		.token = op->token,
		.peer_endpoint = op->peer,
		.duration_ms = op->probe_ms,
	};
	struct probe_run *run;
	char error[64];
	int rc;

	if ((rc = probe_run_start(ep->loop, &req, on_probed, op, &run)) < 0) {
		snprintf(error, sizeof(error), "io: %s", strerror(-rc));
		ep_op_fail(op, error);
	}
}
