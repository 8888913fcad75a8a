/* Commands from the supernode: ROTATE_PEER (new peer before the old one
 * goes) and DISCONNECT (a full tunnel keeps its routes: fail closed). Each
 * id is applied once: the journal answers a resend. PROBE_PATH is run by
 * probe.c, beside any plan. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "command.h"
#include "log.h"
#include "clientd.h"

static void respond(struct clientd *cd, const uint8_t id[16], const struct cmd_outcome *o)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__CommandResponse r;

	supermesh__command_response__init(&r);
	r.command_id.len = MSG_ID_LEN;
	r.command_id.data = (uint8_t *)(uintptr_t)id;
	r.ok = o->ok;
	r.error = (char *)(uintptr_t)o->error;
	r.result.len = o->result_len;
	r.result.data = (uint8_t *)(uintptr_t)o->result;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE;
	m.command_response = &r;
	clientd_send(cd, &m); /* lost if the stream is down: the resend is answered */
}

/* Journals the outcome (so a resend is not applied again) and answers. */
void commands_finish(struct clientd *cd, const uint8_t id[16], const struct cmd_outcome *o)
{
	char hex[2 * MSG_ID_LEN + 1];

	bytes_to_hex(id, MSG_ID_LEN, hex);
	if (cd->st.db && cmd_journal_store(&cd->st, id, o) < 0)
		log_warnx("event=journal_failed command_id=%s", hex);
	log_info("event=command_done command_id=%s ok=%d err=\"%s\"", hex, o->ok, o->error);
	cd->cmds_applied++;
	observe_command_done(cd, o->ok);
	respond(cd, id, o);
}

static void finish(struct clientd *cd, const uint8_t id[16], int ok, const char *err)
{
	struct cmd_outcome o;

	memset(&o, 0, sizeof(o));
	o.ok = ok;
	snprintf(o.error, sizeof(o.error), "%s", err ? err : "");
	commands_finish(cd, id, &o);
}

static void plan_finished(struct clientd *cd, int status, const char *msg)
{
	struct cmd_inflight *c = &cd->cmd;
	char err[SESSION_ERROR_MAX];

	c->active = 0;
	if (status < 0) {
		snprintf(err, sizeof(err), "wgrelay: %s", msg);
		session_set_error(&cd->s, "%s", err);
		clientd_event(cd, c->fail_ev);
		clientd_save(cd);
		finish(cd, c->id, 0, err);
		return;
	}
	c->next.state = cd->s.state;
	snprintf(c->next.last_error, sizeof(c->next.last_error), "%s", cd->s.last_error);
	cd->s = c->next;
	cd->installed = c->after;
	clientd_event(cd, c->ok_ev);
	clientd_save(cd);
	finish(cd, c->id, 1, NULL);
	clientd_send_info(cd);
}

/* Starts p for command id; the session becomes `next` once it succeeds. */
static void apply(struct clientd *cd, const uint8_t id[16], struct plan *p,
                  const struct tunnel_conf *after, const struct session *next,
                  enum cs_event ok_ev, enum cs_event fail_ev)
{
	struct cmd_inflight *c = &cd->cmd;

	c->active = 1;
	memcpy(c->id, id, MSG_ID_LEN);
	c->after = *after;
	c->next = *next;
	c->ok_ev = ok_ev;
	c->fail_ev = fail_ev;
	if (clientd_run_plan(cd, p, plan_finished) < 0) {
		c->active = 0;
		clientd_event(cd, fail_ev);
		finish(cd, id, 0, "busy");
	}
}

static int same_session(const struct clientd *cd, ProtobufCBinaryData sid)
{
	return cd->s.has_id && sid.len == MSG_ID_LEN && !memcmp(sid.data, cd->s.id, MSG_ID_LEN);
}

static void rotate(struct clientd *cd, const uint8_t id[16], const uint8_t *data, size_t len)
{
	Supermesh__RotatePeer *r = supermesh__rotate_peer__unpack(NULL, len, data);
	struct tunnel_conf t;
	struct session next;
	struct plan *p = NULL;
	char err[128];

	if (!r || r->session_id.len != MSG_ID_LEN ||
	    (r->old_exit_pubkey.len && r->old_exit_pubkey.len != 32) ||
	    r->path < SUPERMESH__PATH_KIND__PATH_DIRECT ||
	    r->path > SUPERMESH__PATH_KIND__PATH_RELAY_CHAIN) {
		finish(cd, id, 0, "malformed rotate_peer");
		goto out;
	}
	if (!same_session(cd, r->session_id) || cd->s.state != CS_CONNECTED) {
		finish(cd, id, 0, "no such session connected");
		goto out;
	}
	if (wgc_from_proto(r->wireguard, &cd->wo, &t, err, sizeof(err)) < 0) {
		finish(cd, id, 0, err);
		goto out;
	}
	next = cd->s;
	memcpy(next.exit_key, t.peer, 32);
	next.path = (enum cs_path)r->path;
	snprintf(next.address, sizeof(next.address), "%s", t.address);
	snprintf(next.endpoint, sizeof(next.endpoint), "%s", t.endpoint);
	if (!(p = calloc(1, sizeof(*p))) || plan_up(&cd->po, &cd->installed, &t, p) < 0) {
		free(p);
		finish(cd, id, 0, "plan too large");
		goto out;
	}
	clientd_event(cd, CE_ROTATE);
	apply(cd, id, p, &t, &next, CE_ROTATE_DONE, CE_ROTATE_FAIL);
out:
	supermesh__rotate_peer__free_unpacked(r, NULL);
}

/* The user asked for a tunnel: only an operator's push ("admin") or the
 * session's own end ends that wish. Any other reason (the exit was lost, no
 * exit is left, the supernode forgot the session) means: ask again, with
 * backoff, staying fail-closed meanwhile, as a VPN user expects. */
static int disconnect_is_final(const char *reason)
{
	return !strcmp(reason, "admin") || !strcmp(reason, "ended");
}

static void disconnect(struct clientd *cd, const uint8_t id[16], const uint8_t *data,
                       size_t len)
{
	Supermesh__Disconnect *d = supermesh__disconnect__unpack(NULL, len, data);
	struct tunnel_conf after;
	struct session next;
	struct plan *p = NULL;
	enum cs_event ev;
	enum cs_state to;
	char reason[64], hex[2 * MSG_ID_LEN + 1];

	if (!d || d->session_id.len != MSG_ID_LEN) {
		finish(cd, id, 0, "malformed disconnect");
		goto out;
	}
	if (!same_session(cd, d->session_id)) {
		finish(cd, id, 1, NULL); /* already gone: nothing to do is success */
		goto out;
	}
	wgc_clean_text(reason, sizeof(reason), d->reason, d->reason ? strlen(d->reason) : 0);
	ev = disconnect_is_final(reason) ? CE_DROPPED : CE_EXIT_LOST;
	if (session_next(cd->s.state, ev, &to) < 0) {
		finish(cd, id, 0, "session busy");
		goto out;
	}
	bytes_to_hex(cd->s.id, MSG_ID_LEN, hex);
	log_info("event=session_dropped session_id=%s region=%s reason=\"%s\" fail_closed=%d",
	         hex, cd->s.region, reason, cd->o.full_tunnel);
	next = cd->s;
	session_clear(&next);
	/* A full tunnel keeps routes and rules: traffic meets an interface
	 * without a peer and is dropped, never sent around the tunnel. */
	if (!(p = calloc(1, sizeof(*p))) ||
	    plan_down(&cd->po, &cd->installed, cd->o.full_tunnel, p, &after) < 0) {
		free(p);
		finish(cd, id, 0, "plan too large");
		goto out;
	}
	if (ev == CE_EXIT_LOST)
		session_set_error(&cd->s, "%s", reason);
	apply(cd, id, p, &after, &next, ev, ev);
out:
	supermesh__disconnect__free_unpacked(d, NULL);
}

void commands_on_command(struct clientd *cd, const Supermesh__Command *c)
{
	struct cmd_outcome o;
	char hex[2 * MSG_ID_LEN + 1];

	if (c->command_id.len != MSG_ID_LEN) {
		log_warnx("event=command_malformed err=\"id is not 16 bytes\"");
		return;
	}
	bytes_to_hex(c->command_id.data, MSG_ID_LEN, hex);
	if (cd->st.db && cmd_journal_find(&cd->st, c->command_id.data, &o) == 1) {
		log_info("event=command_duplicate command_id=%s", hex);
		respond(cd, c->command_id.data, &o);
		return;
	}
	if (probe_in_flight(cd, c->command_id.data))
		return; /* a resend of the test running: its answer is coming */
	if (c->type == SUPERMESH__COMMAND_TYPE__PROBE_PATH) {
		/* Out of band: it changes nothing, so it need not wait for a plan. */
		cd->cmd_started_ns = uv_hrtime();
		probe_on_command(cd, c->command_id.data, c->payload.data, c->payload.len);
		return;
	}
	if (cd->run || cd->cmd.active) {
		/* Unanswered on purpose: the sender resends in 5 s, by then idle. */
		log_info("event=command_deferred command_id=%s", hex);
		return;
	}
	log_info("event=command command_id=%s type=%d", hex, (int)c->type);
	cd->cmd_started_ns = uv_hrtime();
	switch (c->type) {
	case SUPERMESH__COMMAND_TYPE__ROTATE_PEER:
		rotate(cd, c->command_id.data, c->payload.data, c->payload.len);
		break;
	case SUPERMESH__COMMAND_TYPE__DISCONNECT:
		disconnect(cd, c->command_id.data, c->payload.data, c->payload.len);
		break;
	default:
		finish(cd, c->command_id.data, 0, "command not supported by a client");
		break;
	}
}
