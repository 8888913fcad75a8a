/* Supernode streams: listener, accept, auth policy, one stream per supernode
 * id (a new one replaces the old), the eviction sweep, and shutdown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "listener.h"
#include "logrl.h"
#include "metrics.h"
#include "stream.h"

#define SWEEP_BATCH 64
#define REFUSAL_LOGS_PER_S 10 /* per reason; the rest are summed */

/* A refusal's log line, limited per reason (a flood must not fill the
 * journal); skipped lines are summed by on_sweep. */
#define log_refusal(srv, reason, ...)                                            \
	do {                                                                     \
		if (logrl_allow(&(srv)->lrl, (reason), uv_now((srv)->bn->loop))) \
			log_warnx(__VA_ARGS__);                                  \
	} while (0)

struct stream_server {
	struct basenoded *bn;
	uv_tcp_t listener;
	uv_timer_t sweep;
	struct sn_stream *head;
	size_t count;
	int handles;   /* listener and timer not yet closed */
	int closing;
	struct logrl lrl;
};

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

/* Frees the server once its handles and every stream are gone. */
static void server_maybe_free(struct stream_server *srv)
{
	if (srv->closing && srv->handles == 0 && srv->count == 0)
		free(srv);
}

static void pending_done(struct sn_stream *s)
{
	listener_slot_put(&s->bn->pending, &s->pending_slot);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct stream_server *srv = listener->data;
	struct channel_server_opts opts = { .id = &srv->bn->id };
	struct sockaddr_storage ss = { 0 };
	struct sn_stream *s;
	int rc;

	if (status < 0) {
		log_warnx("event=accept_failed err=\"%s\"", uv_strerror(status));
		return;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		log_warnx("event=accept_failed err=\"out of memory\"");
		return;
	}
	s->srv = srv;
	s->bn = srv->bn;
	s->state = SN_HANDSHAKE;
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
	if (policy_take_ip(&srv->bn->policy, &ss, uv_now(srv->bn->loop)) < 0) {
		log_refusal(srv, "rate", "event=stream_refused addr=%s reason=rate", s->addr);
		metrics_counter_add(srv->bn->auth_failures, 1);
		sn_stream_close(s, -EAGAIN, "rate");
		return;
	}
	/* One address cannot hold every handshake slot. */
	if (listener_slot_take(&srv->bn->pending, &ss, &s->pending_slot) < 0) {
		log_refusal(srv, "busy_ip", "event=stream_refused addr=%s reason=busy_ip",
		            s->addr);
		sn_stream_close(s, -EBUSY, "busy_ip");
		return;
	}
	/* Accepted and closed, not left in the backlog: libuv would keep
	 * calling us for it. */
	if (srv->bn->max_streams && srv->count > srv->bn->max_streams) {
		log_refusal(srv, "busy", "event=stream_refused addr=%s reason=busy streams=%zu",
		            s->addr, srv->count - 1);
		sn_stream_close(s, -EBUSY, "busy");
	}
}

static void on_auth(struct channel *ch, const struct hs_auth *auth,
                    struct channel_verdict *verdict)
{
	struct sn_stream *s = channel_data(ch);
	struct sockaddr_storage ss = { 0 };
	const char *reason = "";
	char hex[2 * ID_PK_LEN + 1];

	channel_peer_addr(ch, &ss);
	if (policy_check(&s->bn->policy, auth, &ss, uv_now(s->bn->loop), &reason) < 0) {
		bytes_to_hex(auth->peer_id, ID_PK_LEN, hex);
		log_refusal(s->srv, reason,
		            "event=auth_refused peer_id=%s addr=%s role=%u reason=%s", hex,
		            s->addr, auth->role, reason);
		verdict->accept = 0;
		metrics_counter_add(s->bn->auth_failures, 1);
		snprintf(verdict->reason, sizeof(verdict->reason), "%s", reason);
		return;
	}
	verdict->accept = 1;
	verdict->heartbeat_s = s->bn->heartbeat_s;
}

static void on_open(struct channel *ch)
{
	struct sn_stream *s = channel_data(ch);
	const struct hs_auth *peer = channel_peer(ch);
	void *replaced = NULL;
	int rc;

	pending_done(s);
	tbucket_init(&s->msgs, 2 * s->bn->max_msgs_per_s, uv_now(s->bn->loop));
	memcpy(s->id, peer->peer_id, ID_PK_LEN);
	bytes_to_hex(s->id, ID_PK_LEN, s->id_hex);
	snprintf(s->auth_region, sizeof(s->auth_region), "%s", peer->region);
	s->state = SN_OPEN;
	rc = directory_attach(&s->bn->dir, s->id, s, uv_now(s->bn->loop), &replaced);
	if (rc < 0) {
		/* Blacklisted between its auth and now. */
		sn_stream_close(s, -EACCES, rc == -EPERM ? "blacklisted" : "out_of_memory");
		return;
	}
	s->attached = 1;
	log_info("event=stream_open peer_id=%s addr=%s", s->id_hex, s->addr);
	if (replaced) {
		struct sn_stream *old = replaced;

		/* The old entry is already ours, so its close cannot touch it. */
		old->attached = 0;
		log_info("event=stream_replaced peer_id=%s old_addr=%s addr=%s", s->id_hex,
		         old->addr, s->addr);
		sn_stream_close(old, 0, "replaced");
	}
}

static void on_message(struct channel *ch, const uint8_t *data, size_t len)
{
	struct sn_stream *s = channel_data(ch);
	uint32_t rate = s->bn->max_msgs_per_s;

	/* Before unpacking: a flood costs a counter, not a parse and a reply. */
	if (tbucket_take(&s->msgs, rate, 2 * rate, uv_now(s->bn->loop)) < 0) {
		log_refusal(s->srv, "flood",
		            "event=stream_flood peer_id=%s addr=%s max_msgs_per_s=%u", s->id_hex,
		            s->addr, rate);
		metrics_counter_add(s->bn->m_flood, 1);
		sn_stream_close(s, -EAGAIN, "flood");
		return;
	}
	if (s->attached)
		directory_touch(&s->bn->dir, s->id, s, channel_last_rx_ms(ch));
	sn_stream_message(s, data, len);
}

static void on_close(struct channel *ch, int status, const char *reason)
{
	struct sn_stream *s = channel_data(ch);
	struct stream_server *srv = s->srv;

	pending_done(s);
	if (s->attached)
		directory_detach(&s->bn->dir, s->id, s);
	/* A forged signature or a stale timestamp fails before on_auth sees it. */
	if (s->state == SN_HANDSHAKE && (status == -EKEYREJECTED || status == -ETIME))
		metrics_counter_add(s->bn->auth_failures, 1);
	/* Refusals at accept (-EAGAIN, -EBUSY) were logged there, limited. */
	if (s->state != SN_HANDSHAKE)
		log_info("event=stream_closed peer_id=%s addr=%s reason=%s", s->id_hex,
		         s->addr, reason);
	else if (status != -EAGAIN && status != -EBUSY)
		log_debug("event=handshake_closed addr=%s reason=%s", s->addr, reason);
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
	if (s->attached) {
		directory_detach(&s->bn->dir, s->id, s);
		s->attached = 0;
	}
	channel_close(s->ch, status, reason);
}

static void on_sweep(uv_timer_t *t)
{
	struct stream_server *srv = t->data;
	struct basenoded *bn = srv->bn;
	void *owners[SWEEP_BATCH];
	uint64_t now = uv_now(bn->loop);
	size_t i, n;
	const char *why;
	uint64_t skipped;

	while (logrl_summary(&srv->lrl, now, &why, &skipped))
		log_warnx("event=log_suppressed reason=%s count=%llu", why,
		          (unsigned long long)skipped);
	/* Closing detaches at once, so a full batch leaves the rest for the
	 * next tick rather than finding the same streams again. */
	n = directory_stale(&bn->dir, now, bn->dead_after_ms, owners, SWEEP_BATCH);
	for (i = 0; i < n; i++) {
		struct sn_stream *s = owners[i];

		log_warnx("event=evicted peer_id=%s addr=%s silent_ms=%llu", s->id_hex,
		          s->addr, (unsigned long long)(now - channel_last_rx_ms(s->ch)));
		sn_stream_close(s, -ETIMEDOUT, "silent");
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	struct stream_server *srv = h->data;

	srv->handles--;
	server_maybe_free(srv);
}

/* Sweep often enough that eviction is late by at most a quarter period. */
static uint64_t sweep_period(uint64_t dead_after_ms)
{
	uint64_t p = dead_after_ms / 4;

	return p < 50 ? 50 : p > 1000 ? 1000 : p;
}

int stream_server_new(struct basenoded *bn, const struct sockaddr *addr,
                      struct stream_server **out)
{
	struct stream_server *srv;
	uint64_t period = sweep_period(bn->dead_after_ms);
	int rc;

	if (!(srv = calloc(1, sizeof(*srv))))
		return -ENOMEM;
	srv->bn = bn;
	logrl_init(&srv->lrl, REFUSAL_LOGS_PER_S);
	uv_timer_init(bn->loop, &srv->sweep);
	srv->sweep.data = srv;
	srv->handles = 2;
	if ((rc = listener_open(bn->loop, &srv->listener, addr, on_connection, srv)) < 0 ||
	    (rc = uv_timer_start(&srv->sweep, on_sweep, period, period)) < 0)
		goto out;
	*out = srv;
	return 0;
out:
	srv->closing = 1;
	uv_close((uv_handle_t *)&srv->listener, on_handle_closed);
	uv_close((uv_handle_t *)&srv->sweep, on_handle_closed);
	return rc;
}

void stream_server_free(struct stream_server *srv)
{
	struct sn_stream *s;

	if (!srv || srv->closing)
		return;
	srv->closing = 1;
	uv_close((uv_handle_t *)&srv->listener, on_handle_closed);
	uv_close((uv_handle_t *)&srv->sweep, on_handle_closed);
	for (s = srv->head; s; s = s->next)
		sn_stream_close(s, 0, "shutdown");
}

int stream_server_addr(const struct stream_server *srv, struct sockaddr_storage *ss)
{
	return listener_addr(&srv->listener, ss);
}

size_t stream_server_count(const struct stream_server *srv)
{
	return srv->count;
}

void stream_server_each(const struct stream_server *srv,
                        void (*cb)(void *arg, const struct sn_stream *s), void *arg)
{
	const struct sn_stream *s;

	for (s = srv->head; s; s = s->next)
		cb(arg, s);
}
