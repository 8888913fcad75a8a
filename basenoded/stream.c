/* Supernode streams on lib/stream_server.c: the auth policy, one stream per
 * supernode id (a new one replaces the old), the eviction sweep. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "stream.h"

#define SWEEP_BATCH 64
#define REFUSAL_LOGS_PER_S 10 /* per reason; the rest are summed */

static int take_ip(void *owner, const struct sockaddr_storage *ss)
{
	struct basenoded *bn = owner;

	return policy_take_ip(&bn->policy, ss, uv_now(bn->loop));
}

static const char *on_auth(struct stream_conn *c, const struct hs_auth *auth,
                           const struct sockaddr_storage *ss, uint32_t *heartbeat_s)
{
	struct basenoded *bn = c->owner;
	const char *reason = "";

	if (policy_check(&bn->policy, auth, ss, uv_now(bn->loop), &reason) < 0)
		return reason;
	*heartbeat_s = bn->heartbeat_s;
	return NULL;
}

static void on_open(struct stream_conn *c)
{
	struct sn_stream *s = (struct sn_stream *)c;
	struct basenoded *bn = c->owner;
	const struct hs_auth *peer = channel_peer(c->ch);
	void *replaced = NULL;
	int rc;

	stream_conn_set_rate(c, bn->max_msgs_per_s);
	memcpy(s->id, peer->peer_id, ID_PK_LEN);
	snprintf(s->auth_region, sizeof(s->auth_region), "%s", peer->region);
	s->state = SN_OPEN;
	rc = directory_attach(&bn->dir, s->id, s, uv_now(bn->loop), &replaced);
	if (rc < 0) {
		/* Blacklisted between its auth and now. */
		sn_stream_close(s, -EACCES, rc == -EPERM ? "blacklisted" : "out_of_memory");
		return;
	}
	s->attached = 1;
	log_info("event=stream_open peer_id=%s addr=%s", c->id_hex, c->addr);
	if (replaced) {
		struct sn_stream *old = replaced;

		/* The old entry is already ours, so its close cannot touch it. */
		old->attached = 0;
		stream_conn_retire(&old->c);
		log_info("event=stream_replaced peer_id=%s old_addr=%s addr=%s", c->id_hex,
		         old->c.addr, c->addr);
		sn_stream_close(old, 0, "replaced");
	}
}

static void on_message(struct stream_conn *c, const uint8_t *data, size_t len)
{
	struct sn_stream *s = (struct sn_stream *)c;

	if (s->attached)
		directory_touch(&sn_bn(s)->dir, s->id, s, channel_last_rx_ms(c->ch));
	sn_stream_message(s, data, len);
}

static void on_close(struct stream_conn *c, int status, const char *reason)
{
	struct sn_stream *s = (struct sn_stream *)c;

	if (s->attached)
		directory_detach(&sn_bn(s)->dir, s->id, s);
	/* Refusals at accept (-EAGAIN, -EBUSY) were logged there, limited. */
	if (s->state != SN_HANDSHAKE)
		log_info("event=stream_closed peer_id=%s addr=%s reason=%s", c->id_hex,
		         c->addr, reason);
	else if (status != -EAGAIN && status != -EBUSY)
		log_debug("event=handshake_closed addr=%s reason=%s", c->addr, reason);
}

/* A refused stream leaves the directory's answers at once. */
static void on_refused(struct stream_conn *c, const char *reason)
{
	struct sn_stream *s = (struct sn_stream *)c;

	if (!strcmp(reason, "flood"))
		metrics_counter_add(sn_bn(s)->m_flood, 1);
	if (s->attached) {
		directory_detach(&sn_bn(s)->dir, s->id, s);
		s->attached = 0;
	}
}

static void on_warn(void *owner, const char *line)
{
	log_warnx("%s", line);
}

void sn_stream_close(struct sn_stream *s, int status, const char *reason)
{
	if (s->attached) {
		directory_detach(&sn_bn(s)->dir, s->id, s);
		s->attached = 0;
	}
	channel_close(s->c.ch, status, reason);
}

static void on_sweep(void *owner, uint64_t now)
{
	struct basenoded *bn = owner;
	void *owners[SWEEP_BATCH];
	size_t i, n;

	/* Closing detaches at once, so a full batch leaves the rest for the
	 * next tick rather than finding the same streams again. */
	n = directory_stale(&bn->dir, now, bn->dead_after_ms, owners, SWEEP_BATCH);
	for (i = 0; i < n; i++) {
		struct sn_stream *s = owners[i];

		log_warnx("event=evicted peer_id=%s addr=%s silent_ms=%llu", s->c.id_hex,
		          s->c.addr, (unsigned long long)(now - channel_last_rx_ms(s->c.ch)));
		sn_stream_close(s, -ETIMEDOUT, "silent");
	}
}

static const struct stream_server_hooks hooks = {
	.take_ip = take_ip,
	.auth = on_auth,
	.open = on_open,
	.message = on_message,
	.close = on_close,
	.warn = on_warn,
	.refused = on_refused,
	.sweep = on_sweep,
};

/* Sweep often enough that eviction is late by at most a quarter period. */
static uint64_t sweep_period(uint64_t dead_after_ms)
{
	uint64_t p = dead_after_ms / 4;

	return p < 50 ? 50 : p > 1000 ? 1000 : p;
}

int stream_server_new(struct basenoded *bn, const struct sockaddr *addr,
                      struct stream_server **out)
{
	struct stream_server_cfg cfg = {
		.loop = bn->loop,
		.id = &bn->id,
		.hooks = &hooks,
		.owner = bn,
		.stream_size = sizeof(struct sn_stream),
		.pending = &bn->pending,
		.max_streams = &bn->max_streams,
		.auth_failures = &bn->auth_failures,
		.sweep_ms = sweep_period(bn->dead_after_ms),
		.logs_per_s = REFUSAL_LOGS_PER_S,
	};

	return stream_server_open(&cfg, addr, out);
}

void stream_server_each(const struct stream_server *srv,
                        void (*cb)(void *arg, const struct sn_stream *s), void *arg)
{
	const struct stream_conn *c;

	for (c = stream_server_first(srv); c; c = c->next)
		cb(arg, (const struct sn_stream *)c);
}
