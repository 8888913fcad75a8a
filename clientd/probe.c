/* PROBE_PATH on the client: for the session we hold, one out-of-band test
 * of the exit's public endpoint from our WireGuard port (lib/probe_run),
 * while the traffic stays on the current path. One test at a time. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "command.h"
#include "log.h"
#include "probe_run.h"
#include "clientd.h"

int probe_in_flight(const struct clientd *cd, const uint8_t id[16])
{
	return cd->probe && !memcmp(cd->probe_cmd, id, sizeof(cd->probe_cmd));
}

static void on_probed(void *arg, const struct probe_run_result *r)
{
	struct clientd *cd = arg;
	struct cmd_outcome o;

	cd->probe = NULL;
	probe_run_outcome(r, &o);
	log_info("event=probe_done ok=%d seen=%d from=%s", r->ok, r->seen,
	         r->from[0] ? r->from : "-");
	commands_finish(cd, cd->probe_cmd, &o);
}

static void fail(struct clientd *cd, const uint8_t id[16], const char *why)
{
	struct cmd_outcome o;

	memset(&o, 0, sizeof(o));
	snprintf(o.error, sizeof(o.error), "%s", why);
	commands_finish(cd, id, &o);
}

static const char *check(const struct clientd *cd, const Supermesh__ProbePath *p)
{
	const char *bad;

	if (!p)
		return "malformed probe_path";
	if ((bad = probe_path_check(p)))
		return bad;
	if (!cd->s.has_id || memcmp(p->session_id.data, cd->s.id, MSG_ID_LEN) ||
	    cd->s.state != CS_CONNECTED)
		return "no such session connected";
	return cd->probe ? "busy" : NULL;
}

void probe_on_command(struct clientd *cd, const uint8_t id[16], const uint8_t *data,
                      size_t len)
{
	Supermesh__ProbePath *p = supermesh__probe_path__unpack(NULL, len, data);
	struct probe_run_req req;
	const char *bad = check(cd, p);
	char why[64];
	int rc;

	if (bad) {
		fail(cd, id, bad);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.wgrelay_socket = cd->o.wgrelay_socket;
	req.timeout_ms = cd->o.helper_timeout_ms;
	req.iface = cd->o.wg_iface;
	req.token = p->token.data;
	req.peer_endpoint = p->peer_endpoint;
	req.duration_ms = p->duration_ms;
	memcpy(cd->probe_cmd, id, sizeof(cd->probe_cmd));
	if ((rc = probe_run_start(cd->loop, &req, on_probed, cd, &cd->probe)) < 0) {
		cd->probe = NULL;
		snprintf(why, sizeof(why), "io: %s", strerror(-rc));
		fail(cd, id, why);
	}
out:
	supermesh__probe_path__free_unpacked(p, NULL);
}
