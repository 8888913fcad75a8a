/* The peer registry: find, add, free when nothing holds a peer, and send on
 * whatever stream the peer has now. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "command.h"
#include "handshake.pb-c.h"
#include "msg.h"
#include "peer.h"
#include "peerlink.h"
#include "reflect.h"
#include "session.h"
#include "stream.h"

struct sn_peer *peer_find(struct supernoded *sn, const uint8_t id[ID_PK_LEN])
{
	return peer_index_find(&sn->peer_ix, id);
}

struct sn_peer *peer_get(struct supernoded *sn, const uint8_t id[ID_PK_LEN])
{
	struct sn_peer *p = peer_find(sn, id);

	if (p)
		return p;
	if (!(p = calloc(1, sizeof(*p))))
		return NULL;
	p->sn = sn;
	memcpy(p->id, id, ID_PK_LEN);
	if (peer_index_add(&sn->peer_ix, p) < 0) {
		free(p);
		return NULL;
	}
	bytes_to_hex(id, ID_PK_LEN, p->hex);
	p->away_since_ms = uv_now(sn->loop);
	p->seq = ++sn->peer_seq;
	p->next = sn->peers;
	if (sn->peers)
		sn->peers->prev = p;
	sn->peers = p;
	return p;
}

/* Sorted by seq, newest first, as sn->peers is: candidate order (and so
 * the pick among equally ranked exits) is what it was with one list. */
static void exits_link(struct sn_peer *p)
{
	struct supernoded *sn = p->sn;
	struct sn_peer *at = sn->exits, *prev = NULL;

	while (at && at->seq > p->seq) {
		prev = at;
		at = at->exit_next;
	}
	p->exit_prev = prev;
	p->exit_next = at;
	if (at)
		at->exit_prev = p;
	if (prev)
		prev->exit_next = p;
	else
		sn->exits = p;
	p->on_exits = 1;
}

static void exits_unlink(struct sn_peer *p)
{
	if (!p->on_exits)
		return;
	if (p->exit_prev)
		p->exit_prev->exit_next = p->exit_next;
	else
		p->sn->exits = p->exit_next;
	if (p->exit_next)
		p->exit_next->exit_prev = p->exit_prev;
	p->exit_next = p->exit_prev = NULL;
	p->on_exits = 0;
}

void peer_set_role(struct sn_peer *p, uint32_t role)
{
	int is_exit = role == SUPERMESH__ROLE__ROLE_EXIT;

	p->role = role;
	if (is_exit && !p->on_exits)
		exits_link(p);
	else if (!is_exit)
		exits_unlink(p);
}

static void unlink_peer(struct sn_peer *p)
{
	exits_unlink(p);
	peer_index_del(&p->sn->peer_ix, p->id);
	if (p->prev)
		p->prev->next = p->next;
	else
		p->sn->peers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->next = p->prev = NULL;
}

void peer_maybe_free(struct sn_peer *p)
{
	struct supernoded *sn = p->sn;

	if (p->stream || p->pl || session_refs_peer(sn, p->id))
		return;
	reflect_peer_gone(p);
	/* Unlinked first: callbacks run by the cancel cannot find it. */
	unlink_peer(p);
	if (sn->cmds)
		cmd_sender_cancel_target(sn->cmds, p);
	free(p);
}

void peer_free_all(struct supernoded *sn)
{
	struct sn_peer *p;

	while ((p = sn->peers)) {
		unlink_peer(p);
		free(p);
	}
	peer_index_release(&sn->peer_ix);
}

int peer_is_up(const struct sn_peer *p)
{
	return p->stream != NULL || (p->pl && peerlink_is_up(p->pl));
}

int peer_send(struct sn_peer *p, const Supermesh__ControlMessage *m)
{
	if (p->stream)
		return msg_send(p->stream->c.ch, m);
	if (p->pl)
		return peerlink_send(p->pl, m);
	return -ENOTCONN;
}

int peer_transmit(void *target, const Supermesh__ControlMessage *m)
{
	return peer_send(target, m);
}

size_t peer_count(struct supernoded *sn, uint32_t role, int up_only)
{
	const struct sn_peer *p;
	size_t n = 0;

	for (p = sn->peers; p; p = p->next)
		if ((!role || p->role == role) && (!up_only || peer_is_up(p)))
			n++;
	return n;
}
