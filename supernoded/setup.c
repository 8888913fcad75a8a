/* Setting a session up on an exit (architecture.md "Exit request" 3-6):
 * path choice, relay, SETUP_EXIT, rollback to the next candidate, the
 * answer to the client (ExitResponse or ROTATE_PEER), and rotation. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "session.h"
#include "check.h"

static void own_setup(struct sn_session *s);
static void send_rotate(struct sn_session *s, struct sn_peer *client);

static int path_direct(const struct sn_session *s, const struct rank_cand *c)
{
	return rank_is_public(c) && !s->sn->set.force_relay && !s->want_relay;
}

void setup_try_next(struct sn_session *s)
{
	if (s->state == SS_ENDED)
		return;
	if (s->tried >= s->ncands) {
		setup_exhausted(s, "no_exit");
		return;
	}
	s->state = SS_SETUP;
	s->tried++;
	if (s->rec.kind == SESS_ORIGIN)
		remote_setup_attempt(s);
	else
		own_setup(s);
}

void setup_fail_attempt(struct sn_session *s, const char *why)
{
	struct supernoded *sn = s->sn;
	const struct rank_cand *c = &s->cands[s->tried - 1];
	struct sn_peer *p;
	char hex[2 * ID_PK_LEN + 1];

	bytes_to_hex(c->exit_id, ID_PK_LEN, hex);
	log_warnx("event=setup_failed session_id=%s exit_id=%s reason=%s", s->hex, hex, why);
	if (s->rec.relay) {
		relay_del(sn, s->hex);
		s->rec.relay = 0;
	}
	/* It may have applied the setup without our hearing: undo it there. */
	if (s->rec.kind == SESS_ORIGIN)
		p = peer_find(sn, s->rec.remote_id);
	else
		p = peer_find(sn, c->exit_id);
	if (p && peer_is_up(p))
		session_send_disconnect(sn, p, s->rec.id, "rollback");
	setup_try_next(s);
}

static void on_setup_done(void *arg, int status, const Supermesh__CommandResponse *resp);

/* The endpoint and path the client gets once the exit is set up. */
static void setup_path(struct sn_session *s, const struct rank_cand *c)
{
	if (s->punch) {
		/* Punching: the relay waits as the fallback; the client
		 * starts on the exit's public endpoint. */
		s->rec.path = SUPERMESH__PATH_KIND__PATH_DIRECT;
		snprintf(s->rec.endpoint, sizeof(s->rec.endpoint), "%s", s->exit_pub);
	} else if (s->serve_punch && s->rec.relay) {
		/* Served, the origin punching: the exit points at the client;
		 * the origin gets our relay as the fallback. */
		s->rec.path = SUPERMESH__PATH_KIND__PATH_DIRECT;
		snprintf(s->rec.endpoint, sizeof(s->rec.endpoint), "%s:%u",
		         s->sn->set.relay_host, s->rec.client_port);
	} else if (s->rec.relay) {
		s->rec.path = SUPERMESH__PATH_KIND__PATH_RELAY;
		snprintf(s->rec.endpoint, sizeof(s->rec.endpoint), "%s:%u",
		         s->sn->set.relay_host, s->rec.client_port);
	} else {
		s->rec.path = SUPERMESH__PATH_KIND__PATH_DIRECT;
		snprintf(s->rec.endpoint, sizeof(s->rec.endpoint), "%s", c->endpoint);
	}
}

static void on_setup_done(void *arg, int status, const Supermesh__CommandResponse *resp)
{
	struct sn_session *s = arg;
	const struct rank_cand *c = &s->cands[s->tried - 1];
	struct setup_result res;
	const char *why = NULL;

	if (s->state == SS_ENDED || s->sn->stopping) {
		struct sn_peer *p = peer_find(s->sn, c->exit_id);

		/* Ended while the exit worked on it: take it back. */
		if (status == 0 && resp->ok && p && !s->sn->stopping)
			session_send_disconnect(s->sn, p, s->rec.id, "ended");
		session_release(s);
		return;
	}
	if (status < 0)
		why = status == -ETIMEDOUT ? "timeout" : "cancelled";
	else if (!resp->ok)
		why = "refused";
	else if (setup_result_parse(&resp->result, &res) < 0)
		why = "bad_result";
	if (why) {
		setup_fail_attempt(s, why);
	} else {
		memcpy(s->rec.exit_id, c->exit_id, ID_PK_LEN);
		memcpy(s->rec.exit_wg, res.has_pubkey ? res.exit_pubkey : c->wg_pubkey, 32);
		snprintf(s->rec.client_address, sizeof(s->rec.client_address), "%s",
		         res.client_address);
		setup_path(s, c);
		setup_done(s);
		if (s->punch && s->state == SS_ACTIVE)
			punch_started(s);
	}
	session_release(s);
}

static void send_setup(struct sn_session *s, struct sn_peer *exit, const char *client_ep)
{
	Supermesh__SetupExit se;
	int rc;

	supermesh__setup_exit__init(&se);

	se.client_wg_pubkey.data = s->rec.client_wg;
	se.client_wg_pubkey.len = 32;
	se.session_id.data = s->rec.id;
	se.session_id.len = MSG_ID_LEN;
	se.client_endpoint = (char *)(uintptr_t)client_ep;
	se.keepalive_s = s->sn->set.keepalive_s;
	session_hold(s);
	rc = sn_command_send(s->sn, SUPERMESH__COMMAND_TYPE__SETUP_EXIT, &se.base, exit,
	                     on_setup_done, s);
	if (rc < 0) {
		session_release(s);
		setup_fail_attempt(s, "send_failed");
	}
}

static struct sn_peer *current_exit(struct sn_session *s)
{
	struct sn_peer *p = peer_find(s->sn, s->cands[s->tried - 1].exit_id);

	return p && p->stream && p->role == SUPERMESH__ROLE__ROLE_EXIT ? p : NULL;
}

static void on_relay_added(struct sn_session *s, int status)
{
	struct sn_peer *exit;
	char ep[SN_HOST_MAX + 8];

	if (s->state == SS_ENDED || s->sn->stopping) {
		if (status == 0)
			relay_del(s->sn, s->hex);
		return;
	}
	if (status < 0) {
		setup_fail_attempt(s, "relay_failed");
		return;
	}
	if (!(exit = current_exit(s))) {
		setup_fail_attempt(s, "exit_down");
		return;
	}
	/* The exit sends to the relay's exit-facing port, with keepalive, so
	 * its own packets open its NAT; when punching, to the client's public
	 * endpoint instead, which opens its NAT to exactly that. */
	snprintf(ep, sizeof(ep), "%s:%u", s->sn->set.relay_host, s->rec.exit_port);
	send_setup(s, exit, s->punch || s->serve_punch ? s->client_pub : ep);
}

static void own_setup(struct sn_session *s)
{
	const struct rank_cand *c = &s->cands[s->tried - 1];
	struct sn_peer *exit = current_exit(s);

	s->punch = 0;
	if (!exit) {
		setup_fail_attempt(s, "exit_down");
		return;
	}
	if (path_direct(s, c)) {
		send_setup(s, exit, "");
		return;
	}
	/* The relay is set up either way: the punch's fallback is ready. */
	s->punch = punch_possible(s, c);
	if (relay_add(s, NULL, on_relay_added) < 0)
		setup_fail_attempt(s, "relay_failed");
}

static void activate(struct sn_session *s)
{
	char hex[2 * ID_PK_LEN + 1];

	s->state = SS_ACTIVE;
	s->rec.active = 1;
	session_save(s);
	bytes_to_hex(s->rec.exit_id, ID_PK_LEN, hex);
	log_info("event=session_active session_id=%s exit_id=%s path=%u endpoint=%s "
	         "client_address=%s kind=%d", s->hex, hex, s->rec.path, s->rec.endpoint,
	         s->rec.client_address, s->rec.kind);
}

void setup_fill_wireguard(struct sn_session *s, Supermesh__WireguardConfig *wg,
                          char **allowed, char **dns)
{
	const struct sn_settings *set = &s->sn->set;
	size_t i;

	wg->exit_pubkey.data = s->rec.exit_wg;
	wg->exit_pubkey.len = 32;
	wg->endpoint = s->rec.endpoint;
	wg->client_address = s->rec.client_address;
	for (i = 0; i < set->nallowed_ips; i++)
		allowed[i] = (char *)(uintptr_t)set->allowed_ips[i];
	wg->allowed_ips = allowed;
	wg->n_allowed_ips = set->nallowed_ips;
	for (i = 0; i < set->ndns; i++)
		dns[i] = (char *)(uintptr_t)set->dns[i];
	wg->dns = dns;
	wg->n_dns = set->ndns;
	wg->keepalive_s = set->keepalive_s;
}

static void on_rotate_done(void *arg, int status, const Supermesh__CommandResponse *resp)
{
	struct sn_session *s = arg;

	if (status < 0 || !resp->ok)
		log_warnx("event=rotate_unacked session_id=%s status=%d", s->hex, status);
	session_release(s);
}

void setup_send_rotate(struct sn_session *s)
{
	struct sn_peer *client = peer_find(s->sn, s->rec.client_id);

	if (client && peer_is_up(client))
		send_rotate(s, client);
}

static void send_rotate(struct sn_session *s, struct sn_peer *client)
{
	Supermesh__RotatePeer rp;
	Supermesh__WireguardConfig wg;
	char *allowed[SN_MAX_LIST], *dns[SN_MAX_LIST];

	supermesh__rotate_peer__init(&rp);
	supermesh__wireguard_config__init(&wg);

	setup_fill_wireguard(s, &wg, allowed, dns);
	rp.session_id.data = s->rec.id;
	rp.session_id.len = MSG_ID_LEN;
	rp.path = s->rec.path;
	rp.wireguard = &wg;
	rp.old_exit_pubkey.data = s->old_exit_wg;
	rp.old_exit_pubkey.len = 32;
	session_hold(s);
	if (sn_command_send(s->sn, SUPERMESH__COMMAND_TYPE__ROTATE_PEER, &rp.base, client,
	                    on_rotate_done, s) < 0)
		session_release(s);
}

/* The ranked list goes to the client too, for GET /exits; it stays small
 * (SESS_MAX_CANDS entries of < 250 bytes each), far under MSG_MAX. */
static void fill_candidates(struct sn_session *s, Supermesh__ExitResponse *r,
                            Supermesh__ExitCandidate *ec, Supermesh__ExitCandidate **ecp)
{
	size_t i;

	for (i = 0; i < s->ncands && i < SESS_MAX_CANDS; i++) {
		const struct rank_cand *c = &s->cands[i];

		supermesh__exit_candidate__init(&ec[i]);
		ec[i].exit_id.data = (uint8_t *)(uintptr_t)c->exit_id;
		ec[i].exit_id.len = ID_PK_LEN;
		ec[i].wg_pubkey.data = (uint8_t *)(uintptr_t)c->wg_pubkey;
		ec[i].wg_pubkey.len = 32;
		ec[i].endpoint = (char *)(uintptr_t)c->endpoint;
		ec[i].behind_nat = !!c->behind_nat;
		ec[i].load_pct = c->load_pct;
		ec[i].rtt_ms = c->rtt_ms == RANK_RTT_UNKNOWN ? 0 : c->rtt_ms;
		ec[i].bandwidth_bps = c->bandwidth_bps;
		ecp[i] = &ec[i];
	}
	r->n_candidates = i;
	r->candidates = ecp;
}

static void reply_client(struct sn_session *s, int ok, const char *error)
{
	Supermesh__ControlMessage m;
	Supermesh__ExitResponse r;
	Supermesh__WireguardConfig wg;
	Supermesh__ExitCandidate ec[SESS_MAX_CANDS], *ecp[SESS_MAX_CANDS];
	char *allowed[SN_MAX_LIST], *dns[SN_MAX_LIST];
	struct sn_peer *client = peer_find(s->sn, s->rec.client_id);

	supermesh__control_message__init(&m);
	supermesh__exit_response__init(&r);
	supermesh__wireguard_config__init(&wg);

	if (!client)
		return;
	if (s->rotating && ok) {
		s->rotating = 0;
		send_rotate(s, client);
		return;
	}
	if (s->rotating) {
		session_send_disconnect(s->sn, client, s->rec.id, error);
		return;
	}
	r.request_id.data = s->request_id;
	r.request_id.len = s->request_id_len;
	r.ok = ok;
	r.error = (char *)(uintptr_t)(error ? error : "");
	if (ok) {
		setup_fill_wireguard(s, &wg, allowed, dns);
		r.session_id.data = s->rec.id;
		r.session_id.len = MSG_ID_LEN;
		r.path = s->rec.path;
		r.wireguard = &wg;
		fill_candidates(s, &r, ec, ecp);
	}
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_RESPONSE;
	m.exit_response = &r;
	if (peer_send(client, &m) < 0)
		log_warnx("event=exit_response_lost session_id=%s peer_id=%s", s->hex, client->hex);
}

static void on_chain_added(struct sn_session *s, int status)
{
	if (s->state == SS_ENDED || s->sn->stopping) {
		if (status == 0)
			relay_del(s->sn, s->hex);
		return;
	}
	if (status < 0) {
		setup_fail_attempt(s, "chain_failed");
		return;
	}
	/* The client sends to our relay, which forwards to the remote's. */
	snprintf(s->rec.endpoint, sizeof(s->rec.endpoint), "%s:%u", s->sn->set.relay_host,
	         s->rec.client_port);
	s->rec.path = SUPERMESH__PATH_KIND__PATH_RELAY_CHAIN;
	activate(s);
	reply_client(s, 1, NULL);
}

void setup_done(struct sn_session *s)
{
	if (s->rec.kind == SESS_ORIGIN && s->sn->set.relay_chain && !s->rec.relay) {
		if (relay_add(s, s->rec.endpoint, on_chain_added) < 0)
			setup_fail_attempt(s, "chain_failed");
		return;
	}
	activate(s);
	if (s->rec.kind == SESS_SERVE)
		remote_serve_answer(s, 1, NULL);
	else
		reply_client(s, 1, NULL);
}

void setup_exhausted(struct sn_session *s, const char *why)
{
	log_warnx("event=no_exit session_id=%s reason=%s rotating=%d", s->hex, why, s->rotating);
	if (s->rec.kind == SESS_SERVE)
		remote_serve_answer(s, 0, why);
	else
		reply_client(s, 0, why);
	session_end(s, why);
}

void setup_rotate(struct sn_session *s, const char *why)
{
	log_info("event=rotating session_id=%s reason=%s", s->hex, why);
	if (s->rec.relay) {
		relay_del(s->sn, s->hex);
		s->rec.relay = 0;
	}
	if (!s->rotating)
		memcpy(s->old_exit_wg, s->rec.exit_wg, 32);
	s->rotating = 1;
	if (s->rec.kind == SESS_LOCAL && s->tried >= s->ncands) {
		/* Fallbacks used up: ask the registry afresh. */
		s->ncands = setup_local_cands(s->sn, s->cands, SESS_MAX_CANDS, s->rec.exit_id);
		s->ncands = rank_sort(s->cands, s->ncands, &s->want);
		s->tried = 0;
	}
	setup_try_next(s);
}

size_t setup_local_cands(struct supernoded *sn, struct rank_cand *out, size_t max,
                         const uint8_t *skip)
{
	const struct sn_peer *p;
	size_t n = 0;

	for (p = sn->exits; p && n < max; p = p->exit_next) {
		if (p->role != SUPERMESH__ROLE__ROLE_EXIT || !p->stream || !p->exit.valid ||
		    !p->has_wg || (skip && !memcmp(p->id, skip, ID_PK_LEN)))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(out[n].exit_id, p->id, ID_PK_LEN);
		memcpy(out[n].wg_pubkey, p->wg_pubkey, 32);
		snprintf(out[n].endpoint, sizeof(out[n].endpoint), "%s", p->exit.endpoint);
		out[n].behind_nat = p->exit.behind_nat;
		out[n].live = 1;
		out[n].load_pct = p->exit.load_pct;
		/* Exits ping us, not we them: no RTT of our own to rank on. */
		out[n].rtt_ms = RANK_RTT_UNKNOWN;
		out[n].bandwidth_bps = p->exit.bandwidth_bps;
		snprintf(out[n].observed, sizeof(out[n].observed), "%s", p->seen[0]);
		out[n].nat_class = p->seen[0][0] ? (int)p->nat : NAT_UNKNOWN;
		n++;
	}
	return n;
}
