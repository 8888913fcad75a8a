/* Hole punching and path choice for LOCAL sessions (architecture.md "Path
 * choice"). When the reflectors saw both client and exit behind NATs that
 * keep one mapping for every destination, the exit is set up with the
 * client's public endpoint and the client gets the exit's, both keepalive,
 * and the first handshake the client reports makes the path direct. No
 * handshake within 5 s: both are pointed at the relay set up beside it,
 * with the same exit, address and WireGuard session (SETUP_EXIT again, then
 * ROTATE_PEER with the same key). pathsel.c decides; this file acts. */
#include <stdio.h>
#include <string.h>
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "session.h"

#define PROBE_ASK_MS 500

int punch_possible(struct sn_session *s, const struct rank_cand *c)
{
	struct supernoded *sn = s->sn;
	struct sn_peer *cl = peer_find(sn, s->rec.client_id), *ex = peer_find(sn, c->exit_id);

	if (s->rec.kind != SESS_LOCAL || !sn->set.reflector_port || sn->set.force_relay ||
	    s->want_relay || !cl || !ex || !natclass_punchable(cl->nat) ||
	    !natclass_punchable(ex->nat) || !cl->seen[0][0] || !ex->seen[0][0])
		return 0;
	snprintf(s->client_pub, sizeof(s->client_pub), "%s", cl->seen[0]);
	snprintf(s->exit_pub, sizeof(s->exit_pub), "%s", ex->seen[0]);
	log_info("event=punch session_id=%s client=%s/%s exit=%s/%s", s->hex, s->client_pub,
	         natclass_name(cl->nat), s->exit_pub, natclass_name(ex->nat));
	return 1;
}

void punch_started(struct sn_session *s)
{
	struct pathsel_opts o = { 0, (uint64_t)s->sn->set.path_retry_s * 1000, 0, 0 };

	pathsel_init(&s->ps, &o);
	pathsel_start(&s->ps, uv_now(s->sn->loop), 1);
	s->hs_base_ms = 0; /* a fresh WireGuard peer: any handshake is over the punch */
}

static const Supermesh__SessionInfo *find_info(const Supermesh__InfoResponse *info,
                                               const uint8_t id[MSG_ID_LEN])
{
	size_t i;

	for (i = 0; i < info->n_sessions; i++)
		if (info->sessions[i]->session_id.len == MSG_ID_LEN &&
		    !memcmp(info->sessions[i]->session_id.data, id, MSG_ID_LEN))
			return info->sessions[i];
	return NULL;
}

void punch_client_info(struct sn_peer *client, const Supermesh__InfoResponse *info)
{
	struct sn_session *s;
	const Supermesh__SessionInfo *si;

	for (s = client->sn->sessions; s; s = s->next) {
		if (!s->punch || s->state != SS_ACTIVE ||
		    memcmp(s->rec.client_id, client->id, ID_PK_LEN) ||
		    !(si = find_info(info, s->rec.id)))
			continue;
		s->client_hs_ms = si->last_handshake_ms;
		if (si->rx_bytes != s->client_rx) {
			s->client_rx = si->rx_bytes;
			s->rx_at_ms = uv_now(s->sn->loop);
		}
		if (s->ps.state != PS_PROBING || s->moving || si->last_handshake_ms <= s->hs_base_ms)
			continue;
		pathsel_handshake(&s->ps, uv_now(s->sn->loop));
		s->rx_at_ms = uv_now(s->sn->loop);
		if (s->ps.from_relay)
			s->sn->path_upgrades++;
		s->sn->path_direct++;
		log_info("event=path_direct session_id=%s endpoint=%s upgrades=%llu", s->hex,
		         s->exit_pub, (unsigned long long)s->ps.upgrades);
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

/* SETUP_EXIT again for the same session moves the exit's peer endpoint. */
static void move_path(struct sn_session *s, int to_relay)
{
	struct supernoded *sn = s->sn;
	struct sn_peer *exit = peer_find(sn, s->rec.exit_id);
	Supermesh__SetupExit se;
	char ep[SN_HOST_MAX + 8];

	if (!exit || !peer_is_up(exit) || !s->rec.relay)
		return;
	supermesh__setup_exit__init(&se);
	if (to_relay) {
		snprintf(ep, sizeof(ep), "%s:%u", sn->set.relay_host, s->rec.exit_port);
		s->rec.path = SUPERMESH__PATH_KIND__PATH_RELAY;
		snprintf(s->rec.endpoint, sizeof(s->rec.endpoint), "%s:%u", sn->set.relay_host,
		         s->rec.client_port);
	} else {
		snprintf(ep, sizeof(ep), "%s", s->client_pub);
		s->rec.path = SUPERMESH__PATH_KIND__PATH_DIRECT;
		snprintf(s->rec.endpoint, sizeof(s->rec.endpoint), "%s", s->exit_pub);
	}
	se.client_wg_pubkey.data = s->rec.client_wg;
	se.client_wg_pubkey.len = 32;
	se.session_id.data = s->rec.id;
	se.session_id.len = MSG_ID_LEN;
	se.client_endpoint = ep;
	se.keepalive_s = sn->set.keepalive_s ? sn->set.keepalive_s : 25;
	log_info("event=path_change session_id=%s to=%s exit_endpoint=%s client_endpoint=%s",
	         s->hex, to_relay ? "relay" : "direct", ep, s->rec.endpoint);
	session_hold(s);
	s->moving = 1;
	if (sn_command_send(sn, SUPERMESH__COMMAND_TYPE__SETUP_EXIT, &se.base, exit, on_moved,
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
	}
}

/*
 * Both sides keepalive, so a live direct path makes the client's rx grow
 * at least every keepalive_s; reports come once per heartbeat. Three of
 * either without growth, and the path is taken for broken.
 */
static uint64_t silent_ms(const struct supernoded *sn)
{
	uint64_t ka = sn->set.keepalive_s ? sn->set.keepalive_s : 25;
	uint64_t hb = sn->set.heartbeat_s ? sn->set.heartbeat_s : 10;

	return 3 * (ka > hb ? ka : hb) * 1000 + 1000;
}

static enum ps_action check_silent(struct sn_session *s, uint64_t now)
{
	if (s->ps.state != PS_DIRECT || now - s->rx_at_ms <= silent_ms(s->sn))
		return PA_NONE;
	log_info("event=direct_silent session_id=%s silent_ms=%llu", s->hex,
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
 * default), longer than a probe: while probing, ask it twice a second.
 */
static void ask_client(struct sn_session *s, uint64_t now)
{
	Supermesh__ControlMessage m;
	Supermesh__InfoRequest ir;
	struct sn_peer *client;

	if (s->ps.state != PS_PROBING || now - s->asked_ms < PROBE_ASK_MS ||
	    !(client = peer_find(s->sn, s->rec.client_id)) || !peer_is_up(client))
		return;
	s->asked_ms = now;
	supermesh__control_message__init(&m);
	supermesh__info_request__init(&ir);
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_INFO_REQUEST;
	m.info_request = &ir;
	peer_send(client, &m);
}

void punch_sweep(struct supernoded *sn, uint64_t now)
{
	struct sn_session *s;
	uint64_t failed;

	for (s = sn->sessions; s; s = s->next) {
		if (!s->punch || s->state != SS_ACTIVE || s->moving)
			continue;
		ask_client(s, now);
		failed = s->ps.failed_punches;
		act(s, check_silent(s, now));
		if (!s->moving)
			act(s, pathsel_tick(&s->ps, now));
		if (s->ps.failed_punches != failed) {
			sn->punch_failed++;
			log_info("event=punch_failed session_id=%s fallback=relay", s->hex);
		}
		if (s->moving)
			return; /* the list may change under a callback: next tick goes on */
	}
}
