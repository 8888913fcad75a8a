/* The session as the user drives it: connect (ExitRequest with a deadline,
 * retried with backoff), the ExitResponse bringing the tunnel up, and the
 * user's disconnect (DISCONNECT to the supernode, then everything removed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "command.h"
#include "log.h"
#include "peerlink.h"
#include "clientd.h"

static void on_exit_timer(uv_timer_t *t);

static int region_ok(const char *r)
{
	size_t i, n = strlen(r);

	if (n == 0 || n >= SESSION_REGION_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (r[i] <= 0x20 || r[i] >= 0x7f || r[i] == '"')
			return 0;
	return 1;
}

/* Sends the ExitRequest when it can: connecting, idle and the stream up.
 * Otherwise the plan's end or the stream's up calls this again. */
void exit_send_request(struct clientd *cd)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__ExitRequest req;
	char hex[2 * MSG_ID_LEN + 1];
	int rc;

	supermesh__exit_request__init(&req);
	if (cd->s.state != CS_CONNECTING || cd->run || cd->closing || !cd->link ||
	    !peerlink_is_up(cd->link))
		return;
	msg_new_id(cd->request_id);
	req.request_id.len = MSG_ID_LEN;
	req.request_id.data = cd->request_id;
	req.region = cd->s.region;
	req.min_bw = cd->want_min_bw;
	req.max_latency_ms = cd->want_max_latency_ms;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REQUEST;
	m.exit_request = &req;
	if ((rc = clientd_send(cd, &m)) < 0) {
		log_warnx("event=exit_request_failed region=%s err=\"%s\"", cd->s.region,
		          strerror(-rc));
		return; /* the stream is going down; its up resends */
	}
	cd->exit_requests++;
	cd->exit_waiting = 1;
	uv_timer_start(&cd->exit_timer, on_exit_timer, cd->o.exit_timeout_ms, 0);
	bytes_to_hex(cd->request_id, MSG_ID_LEN, hex);
	log_info("event=exit_request region=%s request_id=%s", cd->s.region, hex);
}

/* Not this time: stay connecting and ask again after the backoff delay. */
static void retry_later(struct clientd *cd)
{
	uint64_t ms = backoff_next(&cd->retry);

	cd->exit_waiting = 0;
	clientd_event(cd, CE_EXIT_RETRY);
	log_info("event=exit_retry region=%s delay_ms=%llu err=\"%s\"", cd->s.region,
	         (unsigned long long)ms, cd->s.last_error);
	uv_timer_start(&cd->exit_timer, on_exit_timer, ms, 0);
}

static void on_exit_timer(uv_timer_t *t)
{
	struct clientd *cd = t->data;

	if (cd->exit_waiting) {
		session_set_error(&cd->s, "exit request timed out");
		retry_later(cd);
		return;
	}
	exit_send_request(cd);
}

int clientd_connect(struct clientd *cd, const char *region)
{
	return clientd_connect_opts(cd, region, 0, 0);
}

int clientd_connect_opts(struct clientd *cd, const char *region, uint64_t min_bw,
                         uint32_t max_latency_ms)
{
	enum cs_state to;

	if (!region_ok(region))
		return -EINVAL;
	if (cd->s.state == CS_CONNECTED || cd->s.state == CS_ROTATING)
		return strcmp(region, cd->s.region) ? -EBUSY : 0;
	if (cd->s.state == CS_CONNECTING && !strcmp(region, cd->s.region))
		return 0;
	if (cd->s.state == CS_CONNECTING && cd->run)
		return -EBUSY; /* a tunnel for the old region is being set up */
	if (session_next(cd->s.state, CE_CONNECT, &to) < 0)
		return -EBUSY;
	cd->want_min_bw = min_bw;
	cd->want_max_latency_ms = max_latency_ms;
	snprintf(cd->s.region, sizeof(cd->s.region), "%s", region);
	clientd_event(cd, CE_CONNECT);
	session_set_error(&cd->s, "%s", "");
	cd->disconnect_pending = 0;
	cd->exit_waiting = 0;
	uv_timer_stop(&cd->exit_timer);
	backoff_init(&cd->retry, cd->o.retry_base_ms, cd->o.retry_cap_ms, BACKOFF_RESET_MS);
	clientd_save(cd);
	exit_send_request(cd);
	return 0;
}

void exit_on_link_up(struct clientd *cd)
{
	/* A request sent on the old stream will never be answered. */
	if (cd->s.state == CS_CONNECTING && !cd->run) {
		uv_timer_stop(&cd->exit_timer);
		cd->exit_waiting = 0;
		exit_send_request(cd);
	}
}

void exit_on_link_down(struct clientd *cd)
{
	if (cd->exit_waiting) {
		uv_timer_stop(&cd->exit_timer);
		cd->exit_waiting = 0;
	}
}

static void disconnect_sent(void *arg, int status, const Supermesh__CommandResponse *resp)
{
	if (status != -ECANCELED)
		observe_sent_done(arg, status == 0 && resp->ok);
	if (status < 0)
		log_warnx("event=disconnect_unacked err=\"%s\"", strerror(-status));
	else if (!resp->ok)
		log_warnx("event=disconnect_refused");
}

static int transmit(void *target, const Supermesh__ControlMessage *m)
{
	return clientd_send(target, m);
}

void exit_send_disconnect(struct clientd *cd, const uint8_t id[16], const char *reason)
{
	Supermesh__Disconnect d;
	uint8_t buf[128], cid[MSG_ID_LEN];
	char hex[2 * MSG_ID_LEN + 1], chex[2 * MSG_ID_LEN + 1];
	size_t n;
	int rc;

	supermesh__disconnect__init(&d);
	d.session_id.len = MSG_ID_LEN;
	d.session_id.data = (uint8_t *)(uintptr_t)id;
	d.reason = (char *)(uintptr_t)reason;
	n = supermesh__disconnect__pack(&d, buf);
	bytes_to_hex(id, MSG_ID_LEN, hex);
	rc = cmd_send(cd->cmds, SUPERMESH__COMMAND_TYPE__DISCONNECT, buf, n, transmit, cd,
	              disconnect_sent, cd, cid);
	if (rc < 0) {
		log_warnx("event=disconnect_send_failed session_id=%s err=\"%s\"", hex,
		          strerror(-rc));
		return;
	}
	bytes_to_hex(cid, MSG_ID_LEN, chex);
	log_info("event=disconnect_sent session_id=%s command_id=%s reason=%s", hex, chex,
	         reason);
}

static void tunnel_up_done(struct clientd *cd, int status, const char *msg)
{
	char hex[2 * MSG_ID_LEN + 1];

	bytes_to_hex(cd->s.id, MSG_ID_LEN, hex);
	if (cd->s.state != CS_CONNECTING)
		return; /* a user disconnect came first; its own plan follows */
	if (status < 0) {
		session_set_error(&cd->s, "wgrelay: %s", msg);
		log_warnx("event=tunnel_failed session_id=%s region=%s err=\"%s\"", hex,
		          cd->s.region, msg);
		exit_send_disconnect(cd, cd->s.id, "client_setup_failed");
		session_clear(&cd->s);
		clientd_event(cd, CE_TUNNEL_FAIL);
		clientd_save(cd);
		return;
	}
	cd->installed = cd->pending;
	clientd_event(cd, CE_TUNNEL_UP);
	clientd_save(cd);
	log_info("event=tunnel_up session_id=%s region=%s path=%s address=%s endpoint=%s", hex,
	         cd->s.region, session_path_name(cd->s.path), cd->s.address, cd->s.endpoint);
	/* So the supernode's record matches what is now configured. */
	clientd_send_info(cd);
}

static int response_check(struct clientd *cd, const Supermesh__ExitResponse *r,
                          struct tunnel_conf *t, char *err, size_t err_size)
{
	if (r->session_id.len != MSG_ID_LEN) {
		snprintf(err, err_size, "session id is not 16 bytes");
		return -EINVAL;
	}
	if (r->path < SUPERMESH__PATH_KIND__PATH_DIRECT ||
	    r->path > SUPERMESH__PATH_KIND__PATH_RELAY_CHAIN) {
		snprintf(err, err_size, "unknown path");
		return -EINVAL;
	}
	return wgc_from_proto(r->wireguard, &cd->wo, t, err, err_size);
}

/* A bad answer configures nothing; the supernode is told to free what it
 * set up if the session id at least is usable. */
static void response_bad(struct clientd *cd, const Supermesh__ExitResponse *r,
                         const char *why)
{
	session_set_error(&cd->s, "bad exit response: %s", why);
	log_warnx("event=exit_response_bad region=%s err=\"%s\"", cd->s.region, why);
	if (r->session_id.len == MSG_ID_LEN)
		exit_send_disconnect(cd, r->session_id.data, "bad_exit_response");
	clientd_event(cd, CE_EXIT_BAD);
	clientd_save(cd);
}

static int cand_take(struct cd_cand *d, const Supermesh__ExitCandidate *c)
{
	char bypass[WGC_CIDR_MAX];
	size_t n;

	if (!c || c->exit_id.len != 32 || c->wg_pubkey.len != 32 || !c->endpoint)
		return -EINVAL;
	n = strlen(c->endpoint);
	if (n >= sizeof(d->endpoint) ||
	    (n && wgc_endpoint_check(c->endpoint, bypass, sizeof(bypass)) < 0))
		return -EINVAL;
	memcpy(d->id, c->exit_id.data, 32);
	memcpy(d->wg_pubkey, c->wg_pubkey.data, 32);
	memcpy(d->endpoint, c->endpoint, n + 1);
	d->behind_nat = !!c->behind_nat;
	d->load_pct = c->load_pct;
	d->rtt_ms = c->rtt_ms;
	d->bandwidth_bps = c->bandwidth_bps;
	return 0;
}

int exit_take_candidates(struct clientd *cd, const Supermesh__ExitResponse *r)
{
	struct cd_cand tmp[CD_MAX_CANDS];
	size_t i;

	/* Only a display aid: a bad list is dropped, the tunnel goes on. */
	cd->ncands = 0;
	cd->have_cands = 0;
	if (r->n_candidates == 0)
		return 0;
	if (r->n_candidates > CD_MAX_CANDS)
		goto bad;
	for (i = 0; i < r->n_candidates; i++)
		if (cand_take(&tmp[i], r->candidates[i]) < 0)
			goto bad;
	memcpy(cd->cands, tmp, i * sizeof(tmp[0]));
	cd->ncands = i;
	cd->have_cands = 1;
	return 0;
bad:
	log_warnx("event=exit_candidates_dropped count=%zu", r->n_candidates);
	return -EINVAL;
}

void exit_on_response(struct clientd *cd, const Supermesh__ExitResponse *r)
{
	char err[128], why[SESSION_ERROR_MAX];
	struct tunnel_conf t;
	struct plan *p;

	if (r->request_id.len != MSG_ID_LEN ||
	    memcmp(r->request_id.data, cd->request_id, MSG_ID_LEN)) {
		log_info("event=exit_response_ignored reason=unknown_request");
		return;
	}
	memset(cd->request_id, 0, MSG_ID_LEN); /* answered: a copy is ignored */
	if (cd->s.state != CS_CONNECTING || !cd->exit_waiting || cd->run) {
		/* Our request, but no longer wanted (the user disconnected): the
		 * supernode set up an exit for nothing, let it free it. */
		log_info("event=exit_response_unwanted state=%s", session_state_name(cd->s.state));
		if (r->ok && r->session_id.len == MSG_ID_LEN)
			exit_send_disconnect(cd, r->session_id.data, "unwanted");
		return;
	}
	cd->exit_waiting = 0;
	uv_timer_stop(&cd->exit_timer);
	if (!r->ok) {
		wgc_clean_text(why, sizeof(why), r->error, r->error ? strlen(r->error) : 0);
		session_set_error(&cd->s, "exit refused: %s", why);
		retry_later(cd);
		return;
	}
	if (response_check(cd, r, &t, err, sizeof(err)) < 0) {
		response_bad(cd, r, err);
		return;
	}
	exit_take_candidates(cd, r);
	memcpy(cd->s.id, r->session_id.data, MSG_ID_LEN);
	cd->s.has_id = 1;
	memcpy(cd->s.exit_key, t.peer, 32);
	cd->s.has_exit = 1;
	cd->s.path = (enum cs_path)r->path;
	snprintf(cd->s.address, sizeof(cd->s.address), "%s", t.address);
	snprintf(cd->s.endpoint, sizeof(cd->s.endpoint), "%s", t.endpoint);
	cd->pending = t;
	p = calloc(1, sizeof(*p));
	if (!p || plan_up(&cd->po, &cd->installed, &t, p) < 0) {
		free(p);
		tunnel_up_done(cd, -E2BIG, "plan too large");
		return;
	}
	if (clientd_run_plan(cd, p, tunnel_up_done) < 0)
		tunnel_up_done(cd, -EBUSY, "busy");
}

static void teardown_done(struct clientd *cd, int status, const char *msg)
{
	log_info("event=tunnel_down err=\"%s\"", status < 0 ? msg : "");
}

/* Ends the session now: the supernode is told, the interface emptied. */
static void user_disconnect(struct clientd *cd)
{
	struct tunnel_conf after;
	struct plan *p;

	cd->disconnect_pending = 0;
	if (cd->s.has_id)
		exit_send_disconnect(cd, cd->s.id, "user");
	uv_timer_stop(&cd->exit_timer);
	cd->exit_waiting = 0;
	session_clear(&cd->s);
	session_set_error(&cd->s, "%s", "");
	clientd_event(cd, CE_USER_DISCONNECT);
	p = calloc(1, sizeof(*p));
	if (!p || plan_down(&cd->po, &cd->installed, 0, p, &after) < 0) {
		free(p);
		log_warnx("event=teardown_failed err=\"plan\"");
		return;
	}
	cd->installed = after; /* best effort: the steps are all cleanup */
	clientd_save(cd);
	if (clientd_run_plan(cd, p, teardown_done) < 0)
		log_warnx("event=teardown_failed err=\"busy\"");
}

int clientd_disconnect(struct clientd *cd)
{
	if (cd->run || cd->cmd.active) {
		cd->disconnect_pending = 1;
		return 0;
	}
	user_disconnect(cd);
	return 0;
}

void exit_after_plan(struct clientd *cd)
{
	if (cd->disconnect_pending && !cd->cmd.active) {
		user_disconnect(cd);
		return;
	}
	exit_send_request(cd);
}
