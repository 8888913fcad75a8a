/* Cross-region exits (architecture.md "Exit request" 2 and 4): ask
 * basenoded for the region's supernodes, open or reuse a pooled stream to
 * the least loaded one, ExitPeerRequest, then SETUP_EXIT { exit_id } to it;
 * and the serving side, when another supernode asks us. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "daemon.h"
#include "directory.h"
#include "dispatch.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "peerlink.h"
#include "session.h"

#define LOOKUP_DEFAULT_MS 10000

static void set_deadline(struct sn_session *s)
{
	uint32_t ms = s->sn->set.lookup_ms ? s->sn->set.lookup_ms : LOOKUP_DEFAULT_MS;

	msg_new_id(s->lookup_id);
	s->lookup_deadline = uv_now(s->sn->loop) + ms;
	s->state = SS_LOOKUP;
}

void remote_start_lookup(struct sn_session *s)
{
	set_deadline(s);
	if (directory_lookup(s->sn->dir, s->region, s->lookup_id) < 0)
		setup_exhausted(s, "no_directory");
}

static void pool_on_up(struct peerlink *pl)
{
	struct sn_peer *p = peerlink_data(pl);

	p->away_since_ms = 0;
	remote_link_up(p);
}

static void pool_on_message(struct peerlink *pl, const Supermesh__ControlMessage *m)
{
	struct sn_peer *p = peerlink_data(pl);

	/* No way to drop a pooled link from here; a bad message is logged. */
	sn_dispatch(p, m);
}

static void pool_on_down(struct peerlink *pl, int status, const char *reason)
{
	struct sn_peer *p = peerlink_data(pl);

	if (!peer_is_up(p))
		p->away_since_ms = uv_now(p->sn->loop);
	log_warnx("event=pool_link_down peer_id=%s status=%d", p->hex, status);
}

static const struct peerlink_cbs pool_cbs = { pool_on_up, pool_on_message, pool_on_down };

/* The pooled stream to a remote supernode, opened on first use. */
struct sn_peer *remote_pool_get(struct supernoded *sn, const uint8_t id[ID_PK_LEN],
                                const char *address)
{
	struct peerlink_opts o = {
		.id = &sn->id, .pinned_server_id = id, .role = SUPERMESH__ROLE__ROLE_SUPERNODE,
		.region = sn->set.region, .ping_ms = sn->set.heartbeat_s * 1000,
		.dead_ms = sn->set.dead_after_s * 1000,
	};
	struct sockaddr_storage ss;
	struct sn_peer *p = peer_get(sn, id);

	if (!p)
		return NULL;
	peer_set_role(p, SUPERMESH__ROLE__ROLE_SUPERNODE);
	if (p->pl)
		return p;
	snprintf(p->address, sizeof(p->address), "%s", address);
	o.addr = (const struct sockaddr *)&ss;
	if (daemon_parse_sockaddr(address, &ss) < 0 ||
	    peerlink_new(sn->loop, &o, &pool_cbs, p, &p->pl) < 0) {
		p->pl = NULL;
		log_warnx("event=pool_failed peer_id=%s address=%s", p->hex, address);
		return NULL;
	}
	log_info("event=pool_open peer_id=%s address=%s", p->hex, address);
	return p;
}

static void send_peer_request(struct sn_session *s, struct sn_peer *p)
{
	Supermesh__ControlMessage m;
	Supermesh__ExitPeerRequest r;

	supermesh__control_message__init(&m);
	supermesh__exit_peer_request__init(&r);

	s->lookup_wait_link = 0;
	r.request_id.data = s->lookup_id;
	r.request_id.len = MSG_ID_LEN;
	r.region = s->region;
	r.min_bw = s->want.min_bw;
	r.max_latency_ms = s->want.max_latency_ms;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_PEER_REQUEST;
	m.exit_peer_request = &r;
	if (peer_send(p, &m) < 0)
		s->lookup_wait_link = 1;
}

void remote_link_up(struct sn_peer *p)
{
	struct sn_session *s;

	for (s = p->sn->sessions; s; s = s->next)
		if (s->state == SS_LOOKUP && s->lookup_wait_link &&
		    !memcmp(s->rec.remote_id, p->id, ID_PK_LEN))
			send_peer_request(s, p);
}

/* The first live supernode of the answer that is not us. */
static const Supermesh__SupernodeEntry *pick(struct supernoded *sn,
                                             const Supermesh__ExitRegionResponse *r)
{
	size_t i;

	for (i = 0; i < r->n_supernodes; i++) {
		const Supermesh__SupernodeEntry *e = r->supernodes[i];

		if (e->supernode_id.len == ID_PK_LEN && check_hostport(e->public_address) &&
		    memcmp(e->supernode_id.data, sn->id.pk, ID_PK_LEN) != 0)
			return e;
	}
	return NULL;
}

void remote_region_answer(struct supernoded *sn, const Supermesh__ExitRegionResponse *r)
{
	const Supermesh__SupernodeEntry *e;
	struct sn_session *s;
	struct sn_peer *p;

	if (r->request_id.len != MSG_ID_LEN || !(s = session_find_lookup(sn, r->request_id.data)))
		return;
	if (!(e = pick(sn, r))) {
		setup_exhausted(s, "no_supernode");
		return;
	}
	memcpy(s->rec.remote_id, e->supernode_id.data, ID_PK_LEN);
	snprintf(s->rec.remote_addr, sizeof(s->rec.remote_addr), "%s", e->public_address);
	if (!(p = remote_pool_get(sn, s->rec.remote_id, e->public_address))) {
		setup_exhausted(s, "no_link");
		return;
	}
	set_deadline(s);
	if (peer_is_up(p))
		send_peer_request(s, p);
	else
		s->lookup_wait_link = 1;
}

static void on_remote_done(void *arg, int status, const Supermesh__CommandResponse *resp)
{
	struct sn_session *s = arg;
	const struct rank_cand *c = &s->cands[s->tried - 1];
	struct setup_result res;
	const char *why = NULL;

	if (s->state == SS_ENDED || s->sn->stopping) {
		struct sn_peer *b = peer_find(s->sn, s->rec.remote_id);

		if (status == 0 && resp->ok && b && !s->sn->stopping)
			session_send_disconnect(s->sn, b, s->rec.id, "ended");
		session_release(s);
		return;
	}
	if (status < 0)
		why = status == -ETIMEDOUT ? "timeout" : "cancelled";
	else if (!resp->ok)
		why = "refused";
	else if (setup_result_parse(&resp->result, &res) < 0 || !res.exit_endpoint[0])
		why = "bad_result";
	if (why) {
		setup_fail_attempt(s, why);
	} else {
		memcpy(s->rec.exit_id, c->exit_id, ID_PK_LEN);
		memcpy(s->rec.exit_wg, res.has_pubkey ? res.exit_pubkey : c->wg_pubkey, 32);
		snprintf(s->rec.client_address, sizeof(s->rec.client_address), "%s",
		         res.client_address);
		snprintf(s->rec.endpoint, sizeof(s->rec.endpoint), "%s", res.exit_endpoint);
		s->rec.path = res.path ? res.path : SUPERMESH__PATH_KIND__PATH_RELAY;
		if (s->punch)
			(void)punch_remote_result(s, res.path, res.exit_endpoint);
		setup_done(s);
		if (s->punch && s->state == SS_ACTIVE)
			punch_started(s);
	}
	session_release(s);
}

void remote_setup_attempt(struct sn_session *s)
{
	struct supernoded *sn = s->sn;
	Supermesh__SetupExit se;
	struct sn_peer *b = peer_find(sn, s->rec.remote_id);

	supermesh__setup_exit__init(&se);

	if (!b) {
		setup_fail_attempt(s, "no_link");
		return;
	}
	se.client_wg_pubkey.data = s->rec.client_wg;
	se.client_wg_pubkey.len = 32;
	se.session_id.data = s->rec.id;
	se.session_id.len = MSG_ID_LEN;
	/* Punching (a public exit is direct anyway): B points the exit at the
	 * client's public endpoint and sets its relay up beside it, the
	 * fallback we may move both to. */
	s->punch = !rank_is_public(&s->cands[s->tried - 1]) &&
	           punch_possible(s, &s->cands[s->tried - 1]);
	se.client_endpoint = s->punch ? s->client_pub : "";
	se.keepalive_s = sn->set.keepalive_s;
	se.exit_id.data = s->cands[s->tried - 1].exit_id;
	se.exit_id.len = ID_PK_LEN;
	/* A chain needs B's relay to point ours at; force_relay is ours too. */
	se.relay = s->punch || sn->set.force_relay || sn->set.relay_chain;
	se.relay_to = "";
	session_hold(s);
	if (sn_command_send(sn, SUPERMESH__COMMAND_TYPE__SETUP_EXIT, &se.base, b, on_remote_done,
	                    s) < 0) {
		session_release(s);
		setup_fail_attempt(s, "send_failed");
	}
}

void remote_serve_answer(struct sn_session *s, int ok, const char *error)
{
	Supermesh__SetupExitResult r;
	struct sn_peer *origin = peer_find(s->sn, s->rec.remote_id);
	uint8_t buf[1024];
	size_t len = 0;

	supermesh__setup_exit_result__init(&r);

	if (!origin)
		return;
	if (ok) {
		r.client_address = s->rec.client_address;
		r.exit_pubkey.data = s->rec.exit_wg;
		r.exit_pubkey.len = 32;
		r.exit_endpoint = s->rec.endpoint;
		r.path = s->rec.path;
		len = supermesh__setup_exit_result__get_packed_size(&r);
		if (len > sizeof(buf))
			return;
		supermesh__setup_exit_result__pack(&r, buf);
	}
	cmd_reply(origin, s->origin_cmd, ok, error, buf, len);
}

/* One of our exits as the single candidate of a served session. */
static int serve_cand(struct sn_peer *exit, struct rank_cand *c)
{
	if (!exit || !exit->stream || exit->role != SUPERMESH__ROLE__ROLE_EXIT ||
	    !exit->exit.valid || !exit->has_wg)
		return -ENOENT;
	memset(c, 0, sizeof(*c));
	memcpy(c->exit_id, exit->id, ID_PK_LEN);
	memcpy(c->wg_pubkey, exit->wg_pubkey, 32);
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", exit->exit.endpoint);
	c->behind_nat = exit->exit.behind_nat;
	c->live = 1;
	c->load_pct = exit->exit.load_pct;
	c->rtt_ms = RANK_RTT_UNKNOWN;
	return 0;
}

void remote_serve_setup(struct sn_peer *origin, const Supermesh__Command *cmd,
                        const Supermesh__SetupExit *se)
{
	struct supernoded *sn = origin->sn;
	struct sn_session *s = session_find(sn, se->session_id.data);
	struct rank_cand c;

	if (s && s->rec.kind == SESS_SERVE && !memcmp(s->rec.remote_id, origin->id, ID_PK_LEN)) {
		if (!memcmp(s->origin_cmd, cmd->command_id.data, MSG_ID_LEN))
			return; /* a resend while we work on it: the answer will come */
		if (se->repoint) {
			punch_serve_repoint(s, origin, cmd, se);
			return;
		}
		session_teardown(s, "superseded");
	} else if (s) {
		cmd_reply(origin, cmd->command_id.data, 0, "session_exists", NULL, 0);
		return;
	}
	if (se->repoint) {
		cmd_reply(origin, cmd->command_id.data, 0, "no_session", NULL, 0);
		return;
	}
	if (serve_cand(peer_find(sn, se->exit_id.data), &c) < 0 ||
	    !(s = session_new(sn, se->session_id.data, SESS_SERVE))) {
		cmd_reply(origin, cmd->command_id.data, 0, "exit_unavailable", NULL, 0);
		return;
	}
	memcpy(s->rec.remote_id, origin->id, ID_PK_LEN);
	memcpy(s->rec.client_wg, se->client_wg_pubkey.data, 32);
	memcpy(s->origin_cmd, cmd->command_id.data, MSG_ID_LEN);
	s->want_relay = se->relay;
	/* The origin punches: the exit goes to the client, our relay waits. */
	s->serve_punch = se->relay && se->client_endpoint[0];
	snprintf(s->client_pub, sizeof(s->client_pub), "%s", se->client_endpoint);
	s->cands[0] = c;
	s->ncands = 1;
	log_info("event=serve_setup session_id=%s peer_id=%s relay=%d client_endpoint=%s", s->hex,
	         origin->hex, (int)se->relay, s->serve_punch ? s->client_pub : "-");
	setup_try_next(s);
}

void remote_free_links(struct supernoded *sn)
{
	struct sn_peer *p;

	for (p = sn->peers; p; p = p->next) {
		if (p->pl) {
			peerlink_free(p->pl);
			p->pl = NULL;
		}
	}
}
