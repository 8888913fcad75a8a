/* Link-level messages: Ping/Pong, Error, and InfoResponse (an exit's state
 * and load report, a client's current session) with the resync it drives. */
#include <errno.h>
#include <stdio.h>
#include "check.h"
#include "dispatch.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "reflect.h"
#include "session.h"

int link_on_ping(struct sn_peer *p, const ControlMessage *in)
{
	ControlMessage m;
	Supermesh__Pong pong;

	supermesh__control_message__init(&m);
	supermesh__pong__init(&pong);

	pong.timestamp_ms = in->ping->timestamp_ms;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PONG;
	m.pong = &pong;
	peer_send(p, &m);
	return 0;
}

/* Inbound streams are pinged by their peer, not by us: nothing to measure. */
int link_on_pong(struct sn_peer *p, const ControlMessage *m)
{
	return 0;
}

int link_on_error(struct sn_peer *p, const ControlMessage *m)
{
	char msg[CHECK_TEXT_MAX];

	check_text_shown(msg, sizeof(msg), m->error->message);
	log_warnx("event=peer_error peer_id=%s code=%u message=%s", p->hex, m->error->code, msg);
	return 0;
}

static void exit_update(struct sn_peer *p, const Supermesh__InfoResponse *i)
{
	struct exit_info *e = &p->exit;

	e->valid = 1;
	snprintf(e->endpoint, sizeof(e->endpoint), "%s", i->public_endpoint);
	e->behind_nat = i->behind_nat;
	e->load_pct = i->load_pct;
	e->bandwidth_bps = i->bandwidth_bps;
	e->sessions = (uint32_t)i->n_sessions;
}

int link_on_info(struct sn_peer *p, const ControlMessage *m)
{
	const Supermesh__InfoResponse *i = m->info_response;
	int first = !p->synced;

	if (check_info(i) < 0) {
		log_warnx("event=bad_info peer_id=%s", p->hex);
		return -EPROTO;
	}
	p->synced = 1;
	reflect_peer_local(p, i->wg_local_endpoint);
	if (p->role == SUPERMESH__ROLE__ROLE_CLIENT)
		punch_client_info(p, i);
	if (p->role == SUPERMESH__ROLE__ROLE_EXIT) {
		exit_update(p, i);
		if (first)
			log_info("event=exit_info peer_id=%s endpoint=%s behind_nat=%d load_pct=%u "
			         "sessions=%zu", p->hex, i->public_endpoint[0] ? i->public_endpoint : "-",
			         i->behind_nat, i->load_pct, i->n_sessions);
	}
	/* Resync once per stream: later reports may cross a setup in flight. */
	if (!first)
		return 0;
	reflect_peer_up(p);
	if (p->role == SUPERMESH__ROLE__ROLE_EXIT)
		session_exit_resync(p, i);
	else
		session_client_resync(p, i);
	return 0;
}
