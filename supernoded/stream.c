/* Stream manager: listener, accept, the auth decision (policy, capacity),
 * one stream per peer id (a new one replaces the old and inherits the peer),
 * silence sweep, shutdown. Messages go to dispatch.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dispatch.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "listener.h"
#include "logrl.h"
#include "peer.h"
#include "session.h"
#include "stream.h"

#define REFUSAL_LOGS_PER_S 10 /* per reason; the rest are summed */

struct stream_server {
	struct supernoded *sn;
	uv_tcp_t listener;
	struct sn_stream *head;
	size_t count, open;
	int handles;
	int closing;
	struct logrl lrl;
};

/* A refusal's log line, limited per reason (a flood must not fill the
 * journal); skipped lines are summed by stream_server_sweep. */
#define log_refusal(srv, reason, ...)                                            \
	do {                                                                     \
		if (logrl_allow(&(srv)->lrl, (reason), uv_now((srv)->sn->loop))) \
			log_warnx(__VA_ARGS__);                                  \
	} while (0)

static void on_auth(struct channel *ch, const struct hs_auth *auth,
                    struct channel_verdict *verdict);
static void on_open(struct channel *ch);
static void on_message(struct channel *ch, const uint8_t *data, size_t len);
static void on_close(struct channel *ch, int status, const char *reason);

static const struct channel_cbs stream_cbs = {
	.on_auth = on_auth,
	.on_open = on_open,
	.on_message = on_message,
	.on_close = on_close,
};

static void server_maybe_free(struct stream_server *srv)
{
	if (srv->closing && srv->handles == 0 && srv->count == 0)
		free(srv);
}

static void pending_done(struct sn_stream *s)
{
	listener_slot_put(&s->sn->pending, &s->pending_slot);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct stream_server *srv = listener->data;
	struct channel_server_opts opts = { .id = &srv->sn->id };
	struct sockaddr_storage ss = { 0 };
	struct sn_stream *s;
	int rc;

	if (status < 0 || !(s = calloc(1, sizeof(*s)))) {
		log_warnx("event=accept_failed err=\"%s\"",
		          status < 0 ? uv_strerror(status) : "out of memory");
		return;
	}
	s->srv = srv;
	s->sn = srv->sn;
	s->pending_slot = -1;
	if ((rc = listener_accept(listener, &opts, &stream_cbs, s, &s->ch, &ss, s->addr,
	                          sizeof(s->addr))) < 0) {
		log_warnx("event=accept_failed err=\"%s\"", strerror(-rc));
		free(s);
		return;
	}
	s->next = srv->head;
	if (srv->head)
		srv->head->prev = s;
	srv->head = s;
	srv->count++;
	/* Before any crypto: a flood of ready-made ClientHellos from one
	 * address costs no key exchange or signature. */
	if (policy_take_ip(&srv->sn->policy, &ss, uv_now(srv->sn->loop)) < 0) {
		log_refusal(srv, "rate", "event=stream_refused addr=%s reason=rate", s->addr);
		srv->sn->refused_rate++;
		metrics_counter_add(srv->sn->m_auth, 1);
		sn_stream_close(s, -EAGAIN, "rate");
		return;
	}
	/* One address cannot hold every descriptor. */
	if (listener_slot_take(&srv->sn->pending, &ss, &s->pending_slot) < 0) {
		log_refusal(srv, "busy_ip", "event=stream_refused addr=%s reason=busy_ip",
		            s->addr);
		sn_stream_close(s, -EBUSY, "busy_ip");
	}
}

/* At capacity only a peer that already holds a stream (a reconnect that
 * replaces it) gets in: it does not add to the count. */
static int at_capacity(struct stream_server *srv, const uint8_t id[ID_PK_LEN])
{
	struct sn_peer *p;

	if (!srv->sn->set.max_streams || srv->open < srv->sn->set.max_streams)
		return 0;
	p = peer_find(srv->sn, id);
	return !(p && p->stream);
}

static void on_auth(struct channel *ch, const struct hs_auth *auth,
                    struct channel_verdict *verdict)
{
	struct sn_stream *s = channel_data(ch);
	struct supernoded *sn = s->sn;
	struct sockaddr_storage ss = { 0 };
	const char *reason = "";
	char hex[2 * ID_PK_LEN + 1];

	channel_peer_addr(ch, &ss);
	if (policy_check(&sn->policy, auth, &ss, uv_now(sn->loop), &reason) == 0 &&
	    at_capacity(s->srv, auth->peer_id))
		reason = "busy";
	if (reason[0]) {
		bytes_to_hex(auth->peer_id, ID_PK_LEN, hex);
		log_refusal(s->srv, reason,
		            "event=auth_refused peer_id=%s addr=%s role=%u reason=%s", hex,
		            s->addr, auth->role, reason);
		verdict->accept = 0;
		metrics_counter_add(sn->m_auth, 1);
		snprintf(verdict->reason, sizeof(verdict->reason), "%s", reason);
		return;
	}
	verdict->accept = 1;
	verdict->heartbeat_s = sn->set.heartbeat_s;
}

/* A supernode's stream carries the requests of all its clients, so it may
 * send more than one client or exit. */
static uint32_t stream_msg_rate(const struct supernoded *sn, uint32_t role)
{
	return role == SUPERMESH__ROLE__ROLE_SUPERNODE ? sn->set.max_msgs_per_s_supernode
	                                               : sn->set.max_msgs_per_s;
}

static void on_open(struct channel *ch)
{
	struct sn_stream *s = channel_data(ch), *old;
	const struct hs_auth *a = channel_peer(ch);
	struct sn_peer *p;

	pending_done(s);
	tbucket_init(&s->msgs, 2 * stream_msg_rate(s->sn, a->role), uv_now(s->sn->loop));
	if (!(p = peer_get(s->sn, a->peer_id))) {
		channel_close(ch, -ENOMEM, "out_of_memory");
		return;
	}
	s->srv->open++;
	if ((old = p->stream)) {
		/* The peer and its sessions move to the new stream untouched. */
		old->peer = NULL;
		s->srv->open--;
		log_info("event=stream_replaced peer_id=%s old_addr=%s addr=%s", p->hex,
		         old->addr, s->addr);
		channel_close(old->ch, 0, "replaced");
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
	log_info("event=stream_open peer_id=%s addr=%s role=%u region=%s", p->hex, s->addr,
	         p->role, p->region);
}

static void on_message(struct channel *ch, const uint8_t *data, size_t len)
{
	struct sn_stream *s = channel_data(ch);
	uint32_t rate;

	if (!s->peer)
		return;
	rate = stream_msg_rate(s->sn, s->peer->role);
	/* Before unpacking: a flood costs a counter, not a parse and a reply. */
	if (tbucket_take(&s->msgs, rate, 2 * rate, uv_now(s->sn->loop)) < 0) {
		log_refusal(s->srv, "flood",
		            "event=stream_flood peer_id=%s addr=%s max_msgs_per_s=%u",
		            s->peer->hex, s->addr, rate);
		s->sn->streams_flooded++;
		sn_stream_close(s, -EAGAIN, "flood");
		return;
	}
	if (sn_dispatch_frame(s->peer, data, len) < 0)
		sn_stream_close(s, -EPROTO, "bad_message");
}

static void on_close(struct channel *ch, int status, const char *reason)
{
	struct sn_stream *s = channel_data(ch);
	struct stream_server *srv = s->srv;
	struct sn_peer *p = s->peer;

	pending_done(s);
	/* A forged signature or a stale timestamp fails before on_auth sees it. */
	if (!p && (status == -EKEYREJECTED || status == -ETIME))
		metrics_counter_add(s->sn->m_auth, 1);
	if (p && p->stream == s) {
		p->stream = NULL;
		p->away_since_ms = uv_now(s->sn->loop);
		srv->open--;
		log_info("event=stream_closed peer_id=%s addr=%s reason=%s", p->hex, s->addr,
		         reason);
		session_peer_down(p);
		peer_maybe_free(p);
	} else if (!p && status != -EAGAIN && status != -EBUSY) {
		/* Refusals at accept were logged there, limited. */
		log_debug("event=stream_closed addr=%s reason=%s", s->addr, reason);
	}
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->count--;
	free(s);
	server_maybe_free(srv);
}

void sn_stream_close(struct sn_stream *s, int status, const char *reason)
{
	channel_close(s->ch, status, reason);
}

void stream_server_sweep(struct stream_server *srv, uint64_t now, uint64_t dead_ms)
{
	struct sn_stream *s, *next;
	const char *why;
	uint64_t skipped;

	while (logrl_summary(&srv->lrl, now, &why, &skipped))
		log_warnx("event=log_suppressed reason=%s count=%llu", why,
		          (unsigned long long)skipped);
	for (s = srv->head; s; s = next) {
		next = s->next;
		if (channel_state(s->ch) != CH_OPEN || now - channel_last_rx_ms(s->ch) <= dead_ms)
			continue;
		log_warnx("event=stream_silent peer_id=%s addr=%s",
		          s->peer ? s->peer->hex : "-", s->addr);
		sn_stream_close(s, -ETIMEDOUT, "silent");
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	struct stream_server *srv = h->data;

	srv->handles--;
	server_maybe_free(srv);
}

int stream_server_new(struct supernoded *sn, const struct sockaddr *addr,
                      struct stream_server **out)
{
	struct stream_server *srv;
	int rc;

	if (!(srv = calloc(1, sizeof(*srv))))
		return -ENOMEM;
	srv->sn = sn;
	logrl_init(&srv->lrl, REFUSAL_LOGS_PER_S);
	srv->handles = 1;
	if ((rc = listener_open(sn->loop, &srv->listener, addr, on_connection, srv)) < 0) {
		srv->closing = 1;
		uv_close((uv_handle_t *)&srv->listener, on_handle_closed);
		return rc;
	}
	*out = srv;
	return 0;
}

void stream_server_free(struct stream_server *srv)
{
	struct sn_stream *s;

	if (!srv || srv->closing)
		return;
	srv->closing = 1;
	uv_close((uv_handle_t *)&srv->listener, on_handle_closed);
	for (s = srv->head; s; s = s->next)
		sn_stream_close(s, 0, "shutdown");
}

int stream_server_addr(const struct stream_server *srv, struct sockaddr_storage *ss)
{
	return listener_addr(&srv->listener, ss);
}

size_t stream_server_count(const struct stream_server *srv, int open_only)
{
	return open_only ? srv->open : srv->count;
}

struct sn_stream *stream_server_head(const struct stream_server *srv)
{
	return srv ? srv->head : NULL;
}
