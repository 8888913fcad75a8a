/* The stream side the channel daemons share: accept and its refusals, the
 * list of streams, the flood check, freeing (see stream_server.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "listener.h"
#include "logrl.h"
#include "stream_server.h"

struct stream_server {
	struct stream_server_cfg cfg;
	uv_tcp_t listener;
	uv_timer_t sweep;
	struct stream_conn *head;
	size_t count, open;
	int handles;   /* listener and timer not yet closed */
	int closing;
	struct logrl lrl;
};

static void on_auth(struct channel *ch, const struct hs_auth *auth,
                    struct channel_verdict *verdict);
static void on_open(struct channel *ch);
static void on_message(struct channel *ch, const uint8_t *data, size_t len);
static void on_close(struct channel *ch, int status, const char *reason);

static const struct channel_cbs conn_cbs = {
	.on_auth = on_auth,
	.on_open = on_open,
	.on_message = on_message,
	.on_close = on_close,
};

static void warn(struct stream_server *srv, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void warn(struct stream_server *srv, const char *fmt, va_list ap)
{
	char line[STREAM_LINE_MAX];

	vsnprintf(line, sizeof(line), fmt, ap);
	srv->cfg.hooks->warn(srv->cfg.owner, line);
}

static void warn_always(struct stream_server *srv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void warn_always(struct stream_server *srv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	warn(srv, fmt, ap);
	va_end(ap);
}

/* A refusal's line, limited per reason (a flood must not fill the journal);
 * the skipped ones are summed by stream_server_flush. */
static void refusal(struct stream_conn *c, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void refusal(struct stream_conn *c, const char *reason, const char *fmt, ...)
{
	struct stream_server *srv = c->srv;
	va_list ap;

	if (srv->cfg.hooks->refused)
		srv->cfg.hooks->refused(c, reason);
	if (!logrl_allow(&srv->lrl, reason, uv_now(srv->cfg.loop)))
		return;
	va_start(ap, fmt);
	warn(srv, fmt, ap);
	va_end(ap);
}

static void count_auth_failure(const struct stream_server *srv)
{
	if (srv->cfg.auth_failures)
		metrics_counter_add(*srv->cfg.auth_failures, 1);
}

/* Frees the server once its handles and every stream are gone. */
static void server_maybe_free(struct stream_server *srv)
{
	if (srv->closing && srv->handles == 0 && srv->count == 0)
		free(srv);
}

static void conn_link(struct stream_server *srv, struct stream_conn *c)
{
	c->next = srv->head;
	if (srv->head)
		srv->head->prev = c;
	srv->head = c;
	srv->count++;
}

static void conn_unlink(struct stream_server *srv, struct stream_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->count--;
}

/* The checks before any crypto, cheapest for the attacker first; 0 or the
 * refusal (c is closing then). */
static int accept_checks(struct stream_server *srv, struct stream_conn *c,
                         const struct sockaddr_storage *ss)
{
	const size_t *max = srv->cfg.max_streams;

	/* A flood of ready-made ClientHellos from one address costs no key
	 * exchange or signature. */
	if (srv->cfg.hooks->take_ip(srv->cfg.owner, ss) < 0) {
		refusal(c, "rate", "event=stream_refused addr=%s reason=rate", c->addr);
		count_auth_failure(srv);
		channel_close(c->ch, -EAGAIN, "rate");
		return -EAGAIN;
	}
	/* One address cannot hold every handshake slot. */
	if (listener_slot_take(srv->cfg.pending, ss, &c->pending_slot) < 0) {
		refusal(c, "busy_ip", "event=stream_refused addr=%s reason=busy_ip", c->addr);
		channel_close(c->ch, -EBUSY, "busy_ip");
		return -EBUSY;
	}
	/* Accepted and closed, not left in the backlog: libuv would keep
	 * calling us for it. */
	if (max && *max && srv->count > *max) {
		refusal(c, "busy", "event=stream_refused addr=%s reason=busy streams=%zu",
		        c->addr, srv->count - 1);
		channel_close(c->ch, -EBUSY, "busy");
		return -EBUSY;
	}
	return 0;
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct stream_server *srv = listener->data;
	struct channel_server_opts opts = { .id = srv->cfg.id };
	struct sockaddr_storage ss = { 0 };
	struct stream_conn *c;
	int rc;

	if (status < 0 || !(c = calloc(1, srv->cfg.stream_size))) {
		warn_always(srv, "event=accept_failed err=\"%s\"",
		            status < 0 ? uv_strerror(status) : "out of memory");
		return;
	}
	c->srv = srv;
	c->owner = srv->cfg.owner;
	c->pending_slot = -1;
	if ((rc = listener_accept(listener, &opts, &conn_cbs, c, &c->ch, &ss, c->addr,
	                          sizeof(c->addr))) < 0) {
		warn_always(srv, "event=accept_failed err=\"%s\"", strerror(-rc));
		free(c);
		return;
	}
	conn_link(srv, c);
	accept_checks(srv, c, &ss);
}

static void on_auth(struct channel *ch, const struct hs_auth *auth,
                    struct channel_verdict *verdict)
{
	struct stream_conn *c = channel_data(ch);
	struct sockaddr_storage ss = { 0 };
	const char *reason;
	char hex[2 * ID_PK_LEN + 1];

	channel_peer_addr(ch, &ss);
	reason = c->srv->cfg.hooks->auth(c, auth, &ss, &verdict->heartbeat_s);
	if (!reason) {
		verdict->accept = 1;
		return;
	}
	bytes_to_hex(auth->peer_id, ID_PK_LEN, hex);
	refusal(c, reason, "event=auth_refused peer_id=%s addr=%s role=%u reason=%s", hex,
	        c->addr, auth->role, reason);
	verdict->accept = 0;
	count_auth_failure(c->srv);
	snprintf(verdict->reason, sizeof(verdict->reason), "%s", reason);
}

static void on_open(struct channel *ch)
{
	struct stream_conn *c = channel_data(ch);

	listener_slot_put(c->srv->cfg.pending, &c->pending_slot);
	bytes_to_hex(channel_peer(ch)->peer_id, ID_PK_LEN, c->id_hex);
	c->opened = 1;
	c->srv->open++;
	c->srv->cfg.hooks->open(c);
}

static void on_message(struct channel *ch, const uint8_t *data, size_t len)
{
	struct stream_conn *c = channel_data(ch);
	uint32_t rate = c->msg_rate;

	/* Before unpacking: a flood costs a counter, not a parse and a reply. */
	if (tbucket_take(&c->msgs, rate, 2 * rate, uv_now(c->srv->cfg.loop)) < 0) {
		refusal(c, "flood", "event=stream_flood peer_id=%s addr=%s max_msgs_per_s=%u",
		        c->id_hex, c->addr, rate);
		channel_close(c->ch, -EAGAIN, "flood");
		return;
	}
	c->srv->cfg.hooks->message(c, data, len);
}

static void on_close(struct channel *ch, int status, const char *reason)
{
	struct stream_conn *c = channel_data(ch);
	struct stream_server *srv = c->srv;

	listener_slot_put(srv->cfg.pending, &c->pending_slot);
	/* A forged signature or a stale timestamp fails before on_auth sees it. */
	if (!c->opened && (status == -EKEYREJECTED || status == -ETIME))
		count_auth_failure(srv);
	srv->cfg.hooks->close(c, status, reason);
	if (c->opened && !c->retired)
		srv->open--;
	conn_unlink(srv, c);
	free(c);
	server_maybe_free(srv);
}

void stream_conn_set_rate(struct stream_conn *c, uint32_t rate)
{
	c->msg_rate = rate;
	tbucket_init(&c->msgs, 2 * rate, uv_now(c->srv->cfg.loop));
}

void stream_conn_retire(struct stream_conn *c)
{
	if (c->opened && !c->retired)
		c->srv->open--;
	c->retired = 1;
}

void stream_server_flush(struct stream_server *srv, uint64_t now)
{
	const char *why;
	uint64_t skipped;

	while (logrl_summary(&srv->lrl, now, &why, &skipped))
		warn_always(srv, "event=log_suppressed reason=%s count=%llu", why,
		            (unsigned long long)skipped);
}

static void on_sweep(uv_timer_t *t)
{
	struct stream_server *srv = t->data;
	uint64_t now = uv_now(srv->cfg.loop);

	stream_server_flush(srv, now);
	srv->cfg.hooks->sweep(srv->cfg.owner, now);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct stream_server *srv = h->data;

	srv->handles--;
	server_maybe_free(srv);
}

static void close_handles(struct stream_server *srv)
{
	srv->closing = 1;
	uv_close((uv_handle_t *)&srv->listener, on_handle_closed);
	if (srv->cfg.sweep_ms)
		uv_close((uv_handle_t *)&srv->sweep, on_handle_closed);
}

int stream_server_open(const struct stream_server_cfg *cfg, const struct sockaddr *addr,
                       struct stream_server **out)
{
	struct stream_server *srv;
	uint64_t period = cfg->sweep_ms;
	int rc;

	if (cfg->stream_size < sizeof(struct stream_conn) || (period && !cfg->hooks->sweep))
		return -EINVAL;
	if (!(srv = calloc(1, sizeof(*srv))))
		return -ENOMEM;
	srv->cfg = *cfg;
	logrl_init(&srv->lrl, cfg->logs_per_s);
	srv->handles = period ? 2 : 1;
	if (period) {
		uv_timer_init(cfg->loop, &srv->sweep);
		srv->sweep.data = srv;
	}
	if ((rc = listener_open(cfg->loop, &srv->listener, addr, on_connection, srv)) < 0 ||
	    (period && (rc = uv_timer_start(&srv->sweep, on_sweep, period, period)) < 0)) {
		close_handles(srv);
		return rc;
	}
	*out = srv;
	return 0;
}

void stream_server_free(struct stream_server *srv)
{
	struct stream_conn *c;

	if (!srv || srv->closing)
		return;
	close_handles(srv);
	for (c = srv->head; c; c = c->next)
		channel_close(c->ch, 0, "shutdown");
}

int stream_server_addr(const struct stream_server *srv, struct sockaddr_storage *ss)
{
	return listener_addr(&srv->listener, ss);
}

size_t stream_server_count(const struct stream_server *srv, int open_only)
{
	return open_only ? srv->open : srv->count;
}

struct stream_conn *stream_server_first(const struct stream_server *srv)
{
	return srv ? srv->head : NULL;
}
