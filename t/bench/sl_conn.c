/* One load-generator stream: bound to its own 127.0.0.x source, the client
 * handshake of DESIGN section 2 on lib/handshake + frame + cipher (not
 * lib/channel, which cannot bind a source address), then Ping/Pong. */
#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include "clock.h"
#include "handshake.pb-c.h"
#include "msg.h"
#include "sl.h"

#define HS_OUT 1024

struct sl_wreq {
	uv_write_t req;
	uint8_t buf[];
};

static uint8_t read_buf[FRAME_HDR + FRAME_MAX];
static uint8_t plain_buf[FRAME_MAX];

uint64_t sl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void sl_identity(const struct sl_conf *cf, uint32_t index, struct identity *id,
                 uint8_t wg[32])
{
	uint8_t seed[crypto_sign_SEEDBYTES] = { 0 };

	memcpy(seed, cf->seed, SL_SEED_LEN);
	memcpy(seed + SL_SEED_LEN, &index, sizeof(index));
	seed[SL_SEED_LEN + 4] = 1;
	crypto_sign_seed_keypair(id->pk, id->sk, seed);
	seed[SL_SEED_LEN + 4] = 2;
	crypto_generichash(wg, 32, seed, sizeof(seed), NULL, 0);
	sodium_memzero(seed, sizeof(seed));
}

static void stat_add(uint64_t *v, uint64_t n)
{
	__atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

static void on_closed(uv_handle_t *h)
{
	struct sl_conn *c = h->data;

	c->state = SL_CLOSED;
	if (c->cf->on_down)
		c->cf->on_down(c);
}

void sl_conn_close(struct sl_conn *c)
{
	if (c->state == SL_CLOSING || c->state == SL_CLOSED || c->state == SL_IDLE)
		return;
	if (c->state == SL_UP)
		stat_add(&c->cf->st->dropped, 1);
	else
		stat_add(&c->cf->st->failed, 1);
	c->state = SL_CLOSING;
	if (c->hs) {
		hs_release(c->hs);
		free(c->hs);
		c->hs = NULL;
	}
	frame_decoder_release(&c->dec);
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_write(uv_write_t *req, int status)
{
	struct sl_conn *c = req->data;

	free(req);
	if (status < 0 && status != UV_ECANCELED)
		sl_conn_close(c);
}

static int write_frame(struct sl_conn *c, const uint8_t *p, size_t len, int sealed)
{
	size_t plen = sealed ? len + CIPHER_TAG : len;
	struct sl_wreq *w = malloc(sizeof(*w) + FRAME_HDR + plen);
	uv_buf_t b;
	int rc;

	if (!w)
		return -ENOMEM;
	if ((rc = frame_header(w->buf, plen)) < 0)
		goto out;
	if (!sealed)
		memcpy(w->buf + FRAME_HDR, p, len);
	else if ((rc = cipher_seal(&c->tx, p, len, w->buf + FRAME_HDR, plen)) < 0)
		goto out;
	b = uv_buf_init((char *)w->buf, (unsigned)(FRAME_HDR + plen));
	w->req.data = c;
	if ((rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write)) == 0)
		return 0;
out:
	free(w);
	return rc;
}

int sl_conn_send(struct sl_conn *c, const Supermesh__ControlMessage *m)
{
	static uint8_t buf[MSG_MAX];
	int n;

	if (c->state != SL_UP)
		return -ENOTCONN;
	if ((n = msg_pack(m, buf, sizeof(buf))) < 0)
		return n;
	return write_frame(c, buf, (size_t)n, 1);
}

/* ServerHello: check it against the pinned key, then AuthRequest. */
static int on_server_hello(struct sl_conn *c, const uint8_t *p, size_t len)
{
	uint8_t out[HS_OUT], wg[32];
	struct identity id;
	int n;

	if ((n = hs_client_finish(c->hs, c->cf->server_key, p, len)) < 0)
		return n;
	cipher_init(&c->tx, c->hs->keys.tx);
	cipher_init(&c->rx, c->hs->keys.rx);
	sl_identity(c->cf, c->index, &id, wg);
	n = hs_auth_request(c->hs, &id, c->role, "bench", clock_wall_ms(), wg, out, sizeof(out));
	identity_release(&id);
	hs_release(c->hs);
	free(c->hs);
	c->hs = NULL;
	if (n < 0)
		return n;
	c->state = SL_AUTH;
	return write_frame(c, out, (size_t)n, 1);
}

static void record(uint32_t *arr, uint32_t *n, uint64_t us)
{
	uint32_t i = __atomic_load_n(n, __ATOMIC_RELAXED);

	if (i >= SL_SAMPLES)
		return;
	arr[i] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	__atomic_store_n(n, i + 1, __ATOMIC_RELEASE);
}

static int on_auth_response(struct sl_conn *c, const uint8_t *p, size_t len)
{
	struct sl_stats *st = c->cf->st;
	Supermesh__AuthResponse *r;
	uint64_t now = sl_now_us();
	int ok;

	if (!(r = supermesh__auth_response__unpack(NULL, len, p)))
		return -EPROTO;
	ok = r->ok;
	if (!ok && !st->refuse_reason[0])
		snprintf(st->refuse_reason, sizeof(st->refuse_reason), "%s", r->reason);
	c->heartbeat_ms = (r->heartbeat_s ? r->heartbeat_s : 10) * 1000;
	supermesh__auth_response__free_unpacked(r, NULL);
	if (!ok) {
		stat_add(&st->refused, 1);
		return -EACCES;
	}
	c->state = SL_UP;
	stat_add(&st->up, 1);
	__atomic_store_n(&st->last_up_us, now, __ATOMIC_RELAXED);
	record(st->hs_us, &st->nhs, now - c->t0_us);
	c->next_ping_ms = 0;
	if (c->cf->on_up)
		c->cf->on_up(c);
	return 0;
}

static int on_app(struct sl_conn *c, const uint8_t *p, size_t len)
{
	Supermesh__ControlMessage *m = msg_unpack(p, len);
	struct sl_stats *st = c->cf->st;

	if (!m)
		return -EPROTO;
	if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_PONG) {
		stat_add(&st->pongs, 1);
		if (*c->cf->recording)
			record(st->rtt_us, &st->nrtt, sl_now_us() - m->pong->timestamp_ms);
	} else if (c->cf->on_message) {
		c->cf->on_message(c, m);
	}
	msg_free(m);
	return 0;
}

static int on_frame(void *arg, const uint8_t *p, size_t len)
{
	struct sl_conn *c = arg;
	int n;

	if (c->state == SL_HELLO)
		n = on_server_hello(c, p, len);
	else if ((n = cipher_open(&c->rx, p, len, plain_buf, sizeof(plain_buf))) >= 0)
		n = c->state == SL_AUTH ? on_auth_response(c, plain_buf, (size_t)n)
		                        : on_app(c, plain_buf, (size_t)n);
	if (n < 0 || c->state == SL_CLOSING) {
		sl_conn_close(c);
		return 1;
	}
	return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	buf->base = (char *)read_buf;
	buf->len = sizeof(read_buf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct sl_conn *c = s->data;

	if (nread == 0 || c->state == SL_CLOSING)
		return;
	if (nread < 0 ||
	    frame_decoder_feed(&c->dec, (const uint8_t *)buf->base, (size_t)nread, on_frame, c) < 0)
		sl_conn_close(c);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct sl_conn *c = req->data;
	uint8_t out[HS_OUT];
	int n;

	free(req);
	if (c->state != SL_CONNECTING)
		return;
	if (status < 0 || (n = hs_client_hello(c->hs, out, sizeof(out))) < 0 ||
	    write_frame(c, out, (size_t)n, 0) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
		sl_conn_close(c);
		return;
	}
	c->state = SL_HELLO;
}

/* A socket bound to this stream's 127.0.0.x; the port is picked at
 * connect time, so ports are per 4-tuple rather than per source address. */
static int bound_socket(const struct sl_conn *c)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	src.sin_addr.s_addr = htonl(0x7f000002u + c->index % c->cf->nsrc);
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

int sl_conn_start(uv_loop_t *loop, struct sl_conn *c)
{
	uv_connect_t *req = malloc(sizeof(*req));
	int fd, rc;

	stat_add(&c->cf->st->attempts, 1);
	c->t0_us = sl_now_us();
	c->hs = aligned_alloc(alignof(struct hs_state), sizeof(struct hs_state));
	if (!req || !c->hs) {
		rc = -ENOMEM;
		goto out;
	}
	if ((fd = bound_socket(c)) < 0) {
		rc = fd;
		goto out;
	}
	memset(c->hs, 0, sizeof(*c->hs));
	frame_decoder_init(&c->dec);
	uv_tcp_init(loop, &c->tcp);
	c->tcp.data = c;
	req->data = c;
	if ((rc = uv_tcp_open(&c->tcp, fd)) < 0) {
		close(fd);
	} else if ((rc = uv_tcp_connect(req, &c->tcp, (const struct sockaddr *)&c->cf->server,
	                                on_connect)) == 0) {
		c->state = SL_CONNECTING;
		return 0;
	}
	c->state = SL_CONNECTING;
	sl_conn_close(c); /* counts the failure; on_down follows */
	free(req);
	return 0;
out:
	stat_add(&c->cf->st->failed, 1);
	free(req);
	free(c->hs);
	c->hs = NULL;
	return rc;
}

void sl_conn_ping(struct sl_conn *c)
{
	Supermesh__ControlMessage m;
	supermesh__control_message__init(&m);
	Supermesh__Ping ping;
	supermesh__ping__init(&ping);

	if (c->state != SL_UP)
		return;
	/* Opaque to the peer, which echoes it: microseconds for the RTT. */
	ping.timestamp_ms = sl_now_us();
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PING;
	m.ping = &ping;
	if (sl_conn_send(c, &m) == 0)
		__atomic_fetch_add(&c->cf->st->pings, 1, __ATOMIC_RELAXED);
}

void sl_conn_tick(struct sl_conn *c, uint64_t now_ms)
{
	if (c->state != SL_UP)
		return;
	if (!c->next_ping_ms)
		c->next_ping_ms = now_ms + c->heartbeat_ms;
	if (now_ms < c->next_ping_ms)
		return;
	c->next_ping_ms += c->heartbeat_ms;
	sl_conn_ping(c);
}
