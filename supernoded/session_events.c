/* What sessions do when peers come, go and resync (architecture.md,
 * "Rotation and teardown"), and the periodic sweep for absent peers. */
#include <string.h>
#include "command.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "session.h"

typedef int (*sess_pred)(struct sn_session *s, const void *arg);
typedef void (*sess_act)(struct sn_session *s, const void *arg);

/*
 * Acting on a session may end it or start callbacks that change the list, so
 * mark first, then take marked sessions one at a time from the head.
 */
static void for_each_marked(struct supernoded *sn, sess_pred pred, sess_act act,
                            const void *arg)
{
	struct sn_session *s;

	for (s = sn->sessions; s; s = s->next)
		s->mark = pred(s, arg);
	for (;;) {
		for (s = sn->sessions; s && !s->mark; s = s->next)
			;
		if (!s)
			return;
		s->mark = 0;
		act(s, arg);
	}
}

static int uses_exit(struct sn_session *s, const void *id)
{
	return s->state == SS_ACTIVE && s->rec.kind != SESS_ORIGIN &&
	       memcmp(s->rec.exit_id, id, ID_PK_LEN) == 0;
}

/* Our exit lost this session: rotate it here, or tell the client's supernode. */
static void exit_gone(struct sn_session *s, const void *reason)
{
	struct sn_peer *origin;

	if (s->rec.kind == SESS_LOCAL) {
		setup_rotate(s, reason);
		return;
	}
	if (s->rec.relay) {
		relay_del(s->sn, s->hex);
		s->rec.relay = 0;
	}
	origin = peer_find(s->sn, s->rec.remote_id);
	session_send_disconnect(s->sn, origin, s->rec.id, "exit_lost");
	session_end(s, reason);
}

static void exit_lost_act(struct sn_session *s, const void *arg)
{
	exit_gone(s, "exit_lost");
}

void session_exit_lost(struct sn_peer *exit, const char *reason)
{
	struct supernoded *sn = exit->sn;

	if (sn->stopping)
		return;
	log_info("event=exit_lost peer_id=%s reason=%s", exit->hex, reason);
	/* Setups waiting on it fail now and move on to their next candidate. */
	cmd_sender_cancel_target(sn->cmds, exit);
	for_each_marked(sn, uses_exit, exit_lost_act, exit->id);
}

void session_peer_down(struct sn_peer *p)
{
	if (p->role == SUPERMESH__ROLE__ROLE_EXIT)
		session_exit_lost(p, "exit_lost");
}

static int listed(const Supermesh__InfoResponse *info, const uint8_t id[MSG_ID_LEN])
{
	size_t i;

	for (i = 0; i < info->n_sessions; i++)
		if (info->sessions[i]->session_id.len == MSG_ID_LEN &&
		    !memcmp(info->sessions[i]->session_id.data, id, MSG_ID_LEN))
			return 1;
	return 0;
}

struct resync {
	const uint8_t *id;
	const Supermesh__InfoResponse *info;
};

static int exit_missing(struct sn_session *s, const void *arg)
{
	const struct resync *r = arg;

	return uses_exit(s, r->id) && !listed(r->info, s->rec.id);
}

/* Ours on this exit, or being set up on it right now. */
static int exit_knows(struct sn_peer *exit, const uint8_t id[MSG_ID_LEN])
{
	struct sn_session *s = session_find(exit->sn, id);

	if (!s || s->rec.kind == SESS_ORIGIN)
		return 0;
	if (s->state == SS_SETUP && s->tried > 0)
		return !memcmp(s->cands[s->tried - 1].exit_id, exit->id, ID_PK_LEN);
	return !memcmp(s->rec.exit_id, exit->id, ID_PK_LEN);
}

void session_exit_resync(struct sn_peer *exit, const Supermesh__InfoResponse *info)
{
	struct resync r = { exit->id, info };
	size_t i;

	for (i = 0; i < info->n_sessions; i++) {
		const ProtobufCBinaryData *id = &info->sessions[i]->session_id;

		if (id->len != MSG_ID_LEN || exit_knows(exit, id->data))
			continue;
		log_info("event=resync_unknown peer_id=%s", exit->hex);
		session_send_disconnect(exit->sn, exit, id->data, "unknown_session");
	}
	for_each_marked(exit->sn, exit_missing, exit_lost_act, &r);
}

static int client_missing(struct sn_session *s, const void *arg)
{
	const struct resync *r = arg;

	return s->state == SS_ACTIVE && s->rec.kind != SESS_SERVE &&
	       !memcmp(s->rec.client_id, r->id, ID_PK_LEN) && !listed(r->info, s->rec.id);
}

static void client_dropped(struct sn_session *s, const void *arg)
{
	session_teardown(s, "client_dropped");
}

/* A session the client names but we do not hold for it (lost with our
 * database, say): tell it to ask again rather than wait for rotations. */
static void client_unknown(struct sn_peer *client, const Supermesh__InfoResponse *info)
{
	struct sn_session *s;
	size_t i;

	for (i = 0; i < info->n_sessions; i++) {
		const ProtobufCBinaryData *id = &info->sessions[i]->session_id;

		if (id->len != MSG_ID_LEN)
			continue;
		s = session_find(client->sn, id->data);
		if (s && s->rec.kind != SESS_SERVE &&
		    !memcmp(s->rec.client_id, client->id, ID_PK_LEN))
			continue;
		log_info("event=resync_unknown peer_id=%s", client->hex);
		session_send_disconnect(client->sn, client, id->data, "unknown_session");
	}
}

void session_client_resync(struct sn_peer *client, const Supermesh__InfoResponse *info)
{
	struct resync r = { client->id, info };

	client_unknown(client, info);
	for_each_marked(client->sn, client_missing, client_dropped, &r);
}

struct sweep {
	struct supernoded *sn;
	uint64_t now, dead_ms;
};

/* A peer gone longer than the grace period (absent from the registry too). */
static int gone(const struct sweep *w, const uint8_t id[ID_PK_LEN])
{
	struct sn_peer *p = peer_find(w->sn, id);

	if (p && peer_is_up(p))
		return 0;
	return !p || w->now - p->away_since_ms > w->dead_ms;
}

static int sweep_client(struct sn_session *s, const void *arg)
{
	return s->rec.kind != SESS_SERVE && s->state != SS_ENDED && gone(arg, s->rec.client_id);
}

static void client_gone(struct sn_session *s, const void *arg)
{
	session_teardown(s, "client_gone");
}

static int sweep_exit(struct sn_session *s, const void *arg)
{
	return s->state == SS_ACTIVE && s->rec.kind != SESS_ORIGIN && gone(arg, s->rec.exit_id);
}

static void exit_absent(struct sn_session *s, const void *arg)
{
	exit_gone(s, "exit_absent");
}

/* The other supernode of a cross-region session is gone past the grace. */
static int sweep_remote(struct sn_session *s, const void *arg)
{
	return s->state == SS_ACTIVE && s->rec.kind != SESS_LOCAL && gone(arg, s->rec.remote_id);
}

static void remote_gone(struct sn_session *s, const void *arg)
{
	/* Our client asks again; a served exit is simply released. */
	if (s->rec.kind == SESS_ORIGIN)
		session_send_disconnect(s->sn, peer_find(s->sn, s->rec.client_id), s->rec.id,
		                        "remote_lost");
	session_teardown(s, "remote_gone");
}

static int sweep_lookup(struct sn_session *s, const void *arg)
{
	const struct sweep *w = arg;

	return s->state == SS_LOOKUP && s->lookup_deadline && w->now > s->lookup_deadline;
}

static void lookup_late(struct sn_session *s, const void *arg)
{
	setup_exhausted(s, "lookup_timeout");
}

void session_sweep(struct supernoded *sn, uint64_t now)
{
	struct sweep w = { sn, now, (uint64_t)sn->set.dead_after_s * 1000 };

	if (sn->stopping)
		return;
	for_each_marked(sn, sweep_client, client_gone, &w);
	for_each_marked(sn, sweep_exit, exit_absent, &w);
	for_each_marked(sn, sweep_remote, remote_gone, &w);
	for_each_marked(sn, sweep_lookup, lookup_late, &w);
}
