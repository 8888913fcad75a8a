/* Streams on lib/stream_server.c: the auth decision (policy, capacity), one
 * stream per peer id (a new one replaces the old and inherits the peer),
 * the silence sweep. Messages go to dispatch.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dispatch.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "session.h"
#include "stream.h"

#define REFUSAL_LOGS_PER_S 10 /* per reason; the rest are summed */

static int take_ip(void *owner, const struct sockaddr_storage *ss)
{
	struct supernoded *sn = owner;

	if (policy_take_ip(&sn->policy, ss, uv_now(sn->loop)) == 0)
		return 0;
	sn->refused_rate++;
	return -EAGAIN;
}

/* At capacity only a peer that already holds a stream (a reconnect that
 * replaces it) gets in: it does not add to the count. */
static int at_capacity(const struct stream_conn *c, const uint8_t id[ID_PK_LEN])
{
	struct supernoded *sn = c->owner;
	struct sn_peer *p;

	if (!sn->set.max_streams || stream_server_count(c->srv, 1) < sn->set.max_streams)
		return 0;
	p = peer_find(sn, id);
	return !(p && p->stream);
}

static const char *on_auth(struct stream_conn *c, const struct hs_auth *auth,
                           const struct sockaddr_storage *ss, uint32_t *heartbeat_s)
{
	struct supernoded *sn = c->owner;
	const char *reason = "";

	if (policy_check(&sn->policy, auth, ss, uv_now(sn->loop), &reason) == 0 &&
	    at_capacity(c, auth->peer_id))
		reason = "busy";
	if (reason[0])
		return reason;
	*heartbeat_s = sn->set.heartbeat_s;
	return NULL;
}

/* A supernode's stream carries the requests of all its clients, so it may
 * send more than one client or exit. */
static uint32_t stream_msg_rate(const struct supernoded *sn, uint32_t role)
{
	return role == SUPERMESH__ROLE__ROLE_SUPERNODE ? sn->set.max_msgs_per_s_supernode
	                                               : sn->set.max_msgs_per_s;
}

static void on_open(struct stream_conn *c)
{
	struct sn_stream *s = (struct sn_stream *)c, *old;
	struct supernoded *sn = c->owner;
	const struct hs_auth *a = channel_peer(c->ch);
	struct sn_peer *p;

	stream_conn_set_rate(c, stream_msg_rate(sn, a->role));
	if (!(p = peer_get(sn, a->peer_id))) {
		stream_conn_retire(c);
		channel_close(c->ch, -ENOMEM, "out_of_memory");
		return;
	}
	if ((old = p->stream)) {
		/* The peer and its sessions move to the new stream untouched. */
		old->peer = NULL;
		stream_conn_retire(&old->c);
		log_info("event=stream_replaced peer_id=%s old_addr=%s addr=%s", p->hex,
		         old->c.addr, c->addr);
		channel_close(old->c.ch, 0, "replaced");
	}
	p->stream = s;
	peer_set_role(p, a->role);
	snprintf(p->region, sizeof(p->region), "%s", a->region);
	p->has_wg = a->has_wg_pubkey;
	if (p->has_wg)
		memcpy(p->wg_pubkey, a->wg_pubkey, 32);
	p->away_since_ms = 0;
	p->synced = 0;
	s->peer = p;
	log_info("event=stream_open peer_id=%s addr=%s role=%u region=%s", p->hex, c->addr,
	         p->role, p->region);
}

static void on_message(struct stream_conn *c, const uint8_t *data, size_t len)
{
	struct sn_stream *s = (struct sn_stream *)c;

	if (s->peer && sn_dispatch_frame(s->peer, data, len) < 0)
		sn_stream_close(s, -EPROTO, "bad_message");
}

static void on_close(struct stream_conn *c, int status, const char *reason)
{
	struct sn_stream *s = (struct sn_stream *)c;
	struct supernoded *sn = c->owner;
	struct sn_peer *p = s->peer;

	if (p && p->stream == s) {
		p->stream = NULL;
		p->away_since_ms = uv_now(sn->loop);
		log_info("event=stream_closed peer_id=%s addr=%s reason=%s", p->hex, c->addr,
		         reason);
		session_peer_down(p);
		peer_maybe_free(p);
	} else if (!p && status != -EAGAIN && status != -EBUSY) {
		/* Refusals at accept were logged there, limited. */
		log_debug("event=stream_closed addr=%s reason=%s", c->addr, reason);
	}
}

static void on_refused(struct stream_conn *c, const char *reason)
{
	struct supernoded *sn = c->owner;

	if (!strcmp(reason, "flood"))
		sn->streams_flooded++;
}

static void on_warn(void *owner, const char *line)
{
	log_warnx("%s", line);
}

static const struct stream_server_hooks hooks = {
	.take_ip = take_ip,
	.auth = on_auth,
	.open = on_open,
	.message = on_message,
	.close = on_close,
	.warn = on_warn,
	.refused = on_refused,
};

void sn_stream_close(struct sn_stream *s, int status, const char *reason)
{
	channel_close(s->c.ch, status, reason);
}

void stream_server_sweep(struct stream_server *srv, uint64_t now, uint64_t dead_ms)
{
	struct stream_conn *c, *next;

	stream_server_flush(srv, now);
	for (c = stream_server_first(srv); c; c = next) {
		struct sn_stream *s = (struct sn_stream *)c;

		next = c->next;
		if (channel_state(c->ch) != CH_OPEN || now - channel_last_rx_ms(c->ch) <= dead_ms)
			continue;
		log_warnx("event=stream_silent peer_id=%s addr=%s",
		          s->peer ? s->peer->hex : "-", c->addr);
		sn_stream_close(s, -ETIMEDOUT, "silent");
	}
}

int stream_server_new(struct supernoded *sn, const struct sockaddr *addr,
                      struct stream_server **out)
{
	struct stream_server_cfg cfg = {
		.loop = sn->loop,
		.id = &sn->id,
		.hooks = &hooks,
		.owner = sn,
		.stream_size = sizeof(struct sn_stream),
		.pending = &sn->pending,
		.auth_failures = &sn->m_auth,
		.logs_per_s = REFUSAL_LOGS_PER_S,
	};

	return stream_server_open(&cfg, addr, out);
}

struct sn_stream *stream_server_head(const struct stream_server *srv)
{
	return (struct sn_stream *)stream_server_first(srv);
}
