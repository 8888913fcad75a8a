/* Hole punching and path choice for LOCAL and ORIGIN sessions (architecture.md
 * "Path choice"; the cross-region half is in punch_remote.c). When the
 * reflectors saw both client and exit behind NATs that keep one mapping for
 * every destination, the exit is set up with the client's public endpoint
 * and the client gets the exit's, both keepalive, and the first handshake
 * the client reports makes the path direct. No handshake within 5 s: both
 * are pointed at the relay set up beside it, with the same exit, address
 * and WireGuard session (SETUP_EXIT again, then ROTATE_PEER with the same
 * key). pathsel.c decides; this file acts. */
#include <stdio.h>
#include <string.h>
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "session.h"

#define PROBE_ASK_MS 500
#define DIRECT_ASK_MS 2000

/*
 * The exit side: what reflectors saw of the exit. LOCAL: ours, on its
 * peer; ORIGIN: B's, as its ExitCandidate said (unless a relay chain is
 * asked for). 0 when the session cannot punch at all.
 */
static int exit_seen(struct sn_session *s, const struct rank_cand *c, const char **ep,
                     enum nat_class *nat)
{
	struct sn_peer *ex;

	if (s->rec.kind == SESS_ORIGIN) {
		*ep = c->observed;
		*nat = (enum nat_class)c->nat_class;
		return !s->sn->set.relay_chain;
	}
	if (s->rec.kind != SESS_LOCAL || !(ex = peer_find(s->sn, c->exit_id)))
		return 0;
	*ep = ex->seen[0];
	*nat = ex->nat;
	return 1;
}

int punch_possible(struct sn_session *s, const struct rank_cand *c)
{
	struct supernoded *sn = s->sn;
	struct sn_peer *cl = peer_find(sn, s->rec.client_id);
	const char *xep = "";
	enum nat_class xnat = NAT_UNKNOWN;

	if (!exit_seen(s, c, &xep, &xnat) || !sn->set.reflector_port || sn->set.force_relay ||
	    s->want_relay || !cl || !natclass_punchable(cl->nat) || !natclass_punchable(xnat) ||
	    !cl->seen[0][0] || !xep[0])
		return 0;
	snprintf(s->client_pub, sizeof(s->client_pub), "%s", cl->seen[0]);
	snprintf(s->exit_pub, sizeof(s->exit_pub), "%s", xep);
	log_info("event=punch session_id=%s client=%s/%s exit=%s/%s", s->hex, s->client_pub,
	         natclass_name(cl->nat), s->exit_pub, natclass_name(xnat));
	return 1;
}

void punch_started(struct sn_session *s)
{
	struct pathsel_opts o = { 0, (uint64_t)s->sn->set.path_retry_s * 1000, 0, 0, 0, 0 };

	/* Retries from the relay are tested first (probe.c); ORIGIN: the exit
	 * side through B (probe_remote.c there). */
	o.can_test = s->rec.kind == SESS_LOCAL || s->rec.kind == SESS_ORIGIN;

	pathsel_init(&s->ps, &o);
	pathsel_start(&s->ps, uv_now(s->sn->loop), 1);
	s->hs_base_ms = 0; /* a fresh WireGuard peer: any handshake is over the punch */
}

/* The client's session, by id from its report: a hash lookup per entry,
 * not a walk over every session per report. */
static struct sn_session *client_session(struct sn_peer *client,
                                         const Supermesh__SessionInfo *si)
{
	struct sn_session *s;

	if (si->session_id.len != MSG_ID_LEN ||
	    !(s = session_find(client->sn, si->session_id.data)))
		return NULL;
	if (!s->punch || s->state != SS_ACTIVE || memcmp(s->rec.client_id, client->id, ID_PK_LEN))
		return NULL;
	return s;
}

static void took_handshake(struct sn_session *s, const Supermesh__SessionInfo *si)
{
	pathsel_handshake(&s->ps, uv_now(s->sn->loop));
	s->rx_at_ms = uv_now(s->sn->loop);
	s->tx_mark = si->tx_bytes;
	s->unanswered_ms = 0;
	if (s->ps.from_relay)
		s->sn->path_upgrades++;
	s->sn->path_direct++;
	log_info("event=path_direct session_id=%s endpoint=%s upgrades=%llu", s->hex,
	         s->exit_pub, (unsigned long long)s->ps.upgrades);
}

void punch_client_info(struct sn_peer *client, const Supermesh__InfoResponse *info)
{
	const Supermesh__SessionInfo *si;
	struct sn_session *s;
	size_t i;

	for (i = 0; i < info->n_sessions; i++) {
		si = info->sessions[i];
		if (!(s = client_session(client, si)))
			continue;
		s->client_hs_ms = si->last_handshake_ms;
		punch_note_counters(s, si->rx_bytes, si->tx_bytes, uv_now(s->sn->loop));
		if (s->ps.state == PS_PROBING && !s->moving && si->last_handshake_ms > s->hs_base_ms)
			took_handshake(s, si);
	}
}

static void on_moved(void *arg, int status, const Supermesh__CommandResponse *resp)
{
	struct sn_session *s = arg;

	s->moving = 0;
	if (s->state != SS_ACTIVE || s->sn->stopping) {
		session_release(s);
		return;
	}
	if (status < 0 || !resp->ok) {
		log_warnx("event=path_change_failed session_id=%s status=%d", s->hex, status);
		session_release(s);
		return;
	}
	/* The exit points where it should: now the client, same key. */
	memcpy(s->old_exit_wg, s->rec.exit_wg, 32);
	session_save(s);
	setup_send_rotate(s);
	session_release(s);
}

/* LOCAL: the exit's own stream; the relay beside it is ours. */
static struct sn_peer *local_side(struct sn_session *s, Supermesh__SetupExit *se, int to_relay,
                                  char *ep, size_t ep_size, char *cep, size_t cep_size)
{
	struct supernoded *sn = s->sn;
	struct sn_peer *exit = peer_find(sn, s->rec.exit_id);

	if (s->rec.kind != SESS_LOCAL || !exit || !s->rec.relay)
		return NULL;
	if (to_relay) {
		snprintf(ep, ep_size, "%s:%u", sn->set.relay_host, s->rec.exit_port);
		snprintf(cep, cep_size, "%s:%u", sn->set.relay_host, s->rec.client_port);
	} else {
		snprintf(ep, ep_size, "%s", s->client_pub);
		snprintf(cep, cep_size, "%s", s->exit_pub);
	}
	se->client_endpoint = ep;
	return exit;
}

/*
 * SETUP_EXIT again for the same session moves the exit's peer endpoint:
 * to the exit itself (LOCAL), or to B, which re-points its exit (ORIGIN,
 * punch_remote.c). Then the client gets the same exit on the new path.
 */
static void move_path(struct sn_session *s, int to_relay)
{
	struct supernoded *sn = s->sn;
	struct sn_peer *to;
	Supermesh__SetupExit se;
	char ep[SN_HOST_MAX + 8], cep[SESS_HOST_MAX];

	supermesh__setup_exit__init(&se);
	if (s->rec.kind == SESS_ORIGIN)
		to = punch_remote_side(s, &se, to_relay, ep, sizeof(ep), cep, sizeof(cep));
	else
		to = local_side(s, &se, to_relay, ep, sizeof(ep), cep, sizeof(cep));
	if (!to || !peer_is_up(to))
		return;
	s->rec.path = to_relay ? SUPERMESH__PATH_KIND__PATH_RELAY : SUPERMESH__PATH_KIND__PATH_DIRECT;
	snprintf(s->rec.endpoint, sizeof(s->rec.endpoint), "%s", cep);
	se.client_wg_pubkey.data = s->rec.client_wg;
	se.client_wg_pubkey.len = 32;
	se.session_id.data = s->rec.id;
	se.session_id.len = MSG_ID_LEN;
	se.keepalive_s = sn_keepalive_s(sn);
	log_info("event=path_change session_id=%s to=%s exit_endpoint=%s client_endpoint=%s",
	         s->hex, to_relay ? "relay" : "direct", ep[0] ? ep : "relay", s->rec.endpoint);
	session_hold(s);
	s->moving = 1;
	if (sn_command_send(sn, SUPERMESH__COMMAND_TYPE__SETUP_EXIT, &se.base, to, on_moved,
	                    s) < 0) {
		s->moving = 0;
		session_release(s);
	}
}

static void act(struct sn_session *s, enum ps_action a)
{
	if (a == PA_USE_RELAY) {
		s->sn->path_fallbacks++;
		move_path(s, 1);
	} else if (a == PA_TRY_DIRECT) {
		/* Both sides make their peer afresh on a path change, so a
		 * handshake newer than the last one proves the new path. */
		s->hs_base_ms = s->client_hs_ms;
		move_path(s, 0);
	} else if (a == PA_TEST_DIRECT) {
		probe_test_start(s); /* nothing moves until the test passed */
	}
}

void punch_act(struct sn_session *s, enum ps_action a)
{
	act(s, a);
}

/*
 * Broken-direct detection from the client's WireGuard counters, asked for
 * every ask_ms while direct. Two signs, whichever comes first:
 * - idle: both sides keepalive, so rx grows at least every keepalive_s;
 *   two keepalives missed (plus a report's delay) and the path is gone;
 * - busy: WireGuard answers data within its passive keepalive (10 s) even
 *   when the other side has nothing to say, so data sent with nothing back
 *   for that long means the packets die on the way. This catches a
 *   transfer on a broken path in ~14 s with the default 25 s keepalive.
 */
#define WG_PASSIVE_KEEPALIVE_MS 10000
#define DATA_SENT_BYTES 96 /* more than keepalives (32 bytes each): data or handshakes */

static uint64_t keepalive_ms(const struct supernoded *sn)
{
	return (uint64_t)sn_keepalive_s(sn) * 1000;
}

static uint64_t ask_ms(const struct supernoded *sn)
{
	uint64_t ka = keepalive_ms(sn);

	return ka < DIRECT_ASK_MS ? ka : DIRECT_ASK_MS;
}

void punch_note_counters(struct sn_session *s, uint64_t rx, uint64_t tx, uint64_t now)
{
	if (rx != s->client_rx) {
		s->client_rx = rx;
		s->rx_at_ms = now;
		s->tx_mark = tx;
		s->unanswered_ms = 0;
	} else if (!s->unanswered_ms && tx >= s->tx_mark + DATA_SENT_BYTES) {
		s->unanswered_ms = now;
	}
}

const char *punch_silent_sign(const struct sn_session *s, uint64_t now)
{
	const struct supernoded *sn = s->sn;

	if (now - s->rx_at_ms > 2 * keepalive_ms(sn) + ask_ms(sn) + 1000)
		return "idle";
	if (s->unanswered_ms && now - s->unanswered_ms > WG_PASSIVE_KEEPALIVE_MS + 2 * ask_ms(sn))
		return "unanswered";
	return NULL;
}

static enum ps_action check_silent(struct sn_session *s, uint64_t now)
{
	const char *sign;

	if (s->ps.state != PS_DIRECT || !(sign = punch_silent_sign(s, now)))
		return PA_NONE;
	log_info("event=direct_silent session_id=%s sign=%s silent_ms=%llu", s->hex, sign,
	         (unsigned long long)(now - s->rx_at_ms));
	return pathsel_direct_lost(&s->ps, now);
}

void punch_peer_moved(struct sn_peer *p)
{
	struct supernoded *sn = p->sn;
	struct sn_session *s;
	enum ps_action a;
	int is_client;

	for (s = sn->sessions; s; s = s->next) {
		if (s->serve_punch && s->state == SS_ACTIVE && p->seen[0][0] &&
		    !memcmp(s->rec.exit_id, p->id, ID_PK_LEN)) {
			punch_remote_exit_moved(s, p); /* the origin decides */
			continue;
		}
		if (!s->punch || s->state != SS_ACTIVE || !p->seen[0][0])
			continue;
		is_client = !memcmp(s->rec.client_id, p->id, ID_PK_LEN);
		if (!is_client && memcmp(s->rec.exit_id, p->id, ID_PK_LEN))
			continue;
		snprintf(is_client ? s->client_pub : s->exit_pub, SN_HOST_MAX, "%s", p->seen[0]);
		log_info("event=path_addr_change session_id=%s peer_id=%s endpoint=%s nat=%s",
		         s->hex, p->hex, p->seen[0], natclass_name(p->nat));
		a = pathsel_addr_change(&s->ps, uv_now(sn->loop), natclass_punchable(p->nat));
		if (!s->moving)
			act(s, a);
	}
}

/*
 * The client reads its WireGuard counters once per heartbeat (10 s by
 * default), longer than a probe: while probing, ask it twice a second;
 * while direct, every ask_ms so a broken path shows soon.
 */
static void ask_client(struct sn_session *s, uint64_t now)
{
	Supermesh__ControlMessage m;
	Supermesh__InfoRequest ir;
	struct sn_peer *client;
	uint64_t every = s->ps.state == PS_PROBING ? PROBE_ASK_MS : ask_ms(s->sn);

	if ((s->ps.state != PS_PROBING && s->ps.state != PS_DIRECT) || now - s->asked_ms < every ||
	    !(client = peer_find(s->sn, s->rec.client_id)) || !peer_is_up(client))
		return;
	s->asked_ms = now;
	supermesh__control_message__init(&m);
	supermesh__info_request__init(&ir);
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_INFO_REQUEST;
	m.info_request = &ir;
	peer_send(client, &m);
}

/* A deadline passed: a punch that saw no handshake (moved back to the
 * relay), or an upgrade test with no answer in time (nothing was moved). */
static void count_failure(struct sn_session *s, enum ps_state was)
{
	if (was == PS_TESTING) {
		s->sn->path_tests[PT_FAILED]++;
		log_info("event=path_test session_id=%s result=failed why=timeout", s->hex);
		return;
	}
	s->sn->punch_failed++;
	log_info("event=punch_failed session_id=%s fallback=relay", s->hex);
}

void punch_sweep(struct supernoded *sn, uint64_t now)
{
	struct sn_session *s;
	uint64_t failed;
	enum ps_state was;

	for (s = sn->sessions; s; s = s->next) {
		if (!s->punch || s->state != SS_ACTIVE || s->moving)
			continue;
		ask_client(s, now);
		failed = s->ps.failed_punches;
		act(s, check_silent(s, now));
		was = s->ps.state;
		if (!s->moving)
			act(s, pathsel_tick(&s->ps, now));
		if (s->ps.failed_punches != failed)
			count_failure(s, was);
		if (s->moving)
			return; /* the list may change under a callback: next tick goes on */
	}
}
