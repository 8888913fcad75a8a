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
	struct sn_peer *p;

	for (p = sn->peers; p; p = p->next)
		if (memcmp(p->id, id, ID_PK_LEN) == 0)
			return p;
	return NULL;
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
	bytes_to_hex(id, ID_PK_LEN, p->hex);
	p->away_since_ms = uv_now(sn->loop);
	p->next = sn->peers;
	if (sn->peers)
		sn->peers->prev = p;
	sn->peers = p;
	return p;
}

static void unlink_peer(struct sn_peer *p)
{
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
}

int peer_is_up(const struct sn_peer *p)
{
	return p->stream != NULL || (p->pl && peerlink_is_up(p->pl));
}

int peer_send(struct sn_peer *p, const Supermesh__ControlMessage *m)
{
	if (p->stream)
		return msg_send(p->stream->ch, m);
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
