/* Fixture of lib/channel.c's tests over libuv on 127.0.0.1: the two sides'
 * callbacks, raw writes, a frame-aware man-in-the-middle proxy and a raw
 * client. Static functions: include once per test program. */
#ifndef CHANNEL_FIXTURE_H
#define CHANNEL_FIXTURE_H

#include <check.h>
#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <uv.h>
#include "channel.h"
#include "cipher.h"
#include "clock.h"
#include "frame.h"
#include "handshake.h"
#include "keys.h"

#define BIG (FRAME_MAX - CIPHER_TAG)
#define NSMALL 1000
#define PXBUF (2 * (FRAME_HDR + FRAME_MAX))
#define OFF_TAG ((size_t)-2)  /* first byte of the frame's tag */
#define OFF_LAST ((size_t)-1) /* last byte of the frame */

struct side {
	struct channel *ch;
	int opened, closed, status;
	char reason[96];
	uint64_t closed_at;
	size_t nmsg, nbig, bad;
	uint32_t next_seq;
};

enum px_action { PX_NONE, PX_FLIP, PX_DROP, PX_SWAP, PX_RECORD };

/* One direction of the proxy: whole frames are forwarded, one may be changed. */
struct px_dir {
	uv_tcp_t *to;
	int dir; /* 0 client to server, 1 server to client */
	uint8_t buf[PXBUF];
	size_t have;
	unsigned frames;
	uint8_t *held; /* PX_SWAP: the frame waiting for its successor */
	size_t held_len;
};

/* A hand-driven TCP client: raw bytes, or the handshake played with hs_*. */
struct raw {
	uv_tcp_t tcp;
	uv_connect_t creq;
	int eof, frames;
	const uint8_t *first; /* sent on connect */
	size_t first_len;
	int play, replay, stop_reading, hold_auth;
	struct frame_decoder dec;
	struct hs_state *hs;
	struct cipher_dir tx;
};

static struct {
	uv_loop_t loop;
	uv_timer_t guard;
	uv_tcp_t listener;
	struct sockaddr_in srv_addr;
	struct identity sid, cid;
	uint8_t wg[32];
	struct channel_server_opts sopts;
	struct channel_client_opts copts;
	struct side cli, srv[4];
	int naccept, auth_calls, refuse;
	struct hs_auth seen;
	uv_tcp_t px_listener, px_down, px_up;
	uv_connect_t px_creq;
	struct sockaddr_in px_addr;
	struct px_dir c2s, s2c;
	int px_closing;
	int act_dir;
	unsigned act_frame;
	enum px_action action;
	size_t act_off;
	uint8_t act_mask;
	uint8_t recorded[1024];
	size_t recorded_len;
	uv_tcp_t mute_listener, mute_conn;
	struct sockaddr_in mute_addr;
	struct raw raw;
} E;

#define FIXTURE_LOOP (&E.loop)
#define FIXTURE_GUARD (&E.guard)
#include "fixture.h"

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 31 + 7);
}

/* ---- channel callbacks ---- */

static void cb_auth(struct channel *ch, const struct hs_auth *a, struct channel_verdict *v)
{
	E.auth_calls++;
	E.seen = *a;
	v->heartbeat_s = 17;
	if (E.refuse) {
		v->accept = 0;
		snprintf(v->reason, sizeof(v->reason), "revoked");
	}
}

static void cb_open(struct channel *ch)
{
	struct side *s = channel_data(ch);

	ck_assert(!s->opened);
	s->opened = 1;
}

static void cb_message(struct channel *ch, const uint8_t *d, size_t len)
{
	struct side *s = channel_data(ch);
	size_t i;

	s->nmsg++;
	if (len == BIG) {
		for (i = 0; i < len && d[i] == pattern(i); i++)
			;
		if (i == len)
			s->nbig++;
		else
			s->bad++;
	} else if (len == 5 && d[0] == 'S') {
		uint32_t seq = (uint32_t)d[1] << 24 | (uint32_t)d[2] << 16 |
		               (uint32_t)d[3] << 8 | d[4];
		if (seq != s->next_seq++)
			s->bad++;
	}
}

static void cb_close(struct channel *ch, int status, const char *reason)
{
	struct side *s = channel_data(ch);

	ck_assert(!s->closed); /* exactly once */
	ck_assert_ptr_eq(s->ch, ch);
	s->closed = 1;
	s->status = status;
	snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "");
	s->closed_at = uv_now(&E.loop);
	s->ch = NULL;
}

static const struct channel_cbs cbs = {
	.on_auth = cb_auth,
	.on_open = cb_open,
	.on_message = cb_message,
	.on_close = cb_close,
};

static void on_srv_conn(uv_stream_t *l, int status)
{
	struct side *s;

	ck_assert_int_eq(status, 0);
	ck_assert_int_lt(E.naccept, 4);
	s = &E.srv[E.naccept++];
	ck_assert_int_eq(channel_accept(l, &E.sopts, &cbs, s, &s->ch), 0);
}

static void setup_env(void)
{
	memset(&E, 0, sizeof(E));
	loop_start();
	ck_assert_int_eq(identity_generate(&E.sid), 0);
	ck_assert_int_eq(identity_generate(&E.cid), 0);
	randombytes_buf(E.wg, sizeof(E.wg));
	E.sopts.id = &E.sid;
	E.copts.id = &E.cid;
	E.copts.pinned_server_id = E.sid.pk;
	E.copts.role = 2; /* ROLE_EXIT */
	E.copts.region = "eu-west";
	E.copts.wg_pubkey = E.wg;
	listen_on(&E.listener, 0, &E.srv_addr, on_srv_conn);
}

static void connect_client(const struct sockaddr_in *to)
{
	ck_assert_int_eq(channel_connect(&E.loop, (const struct sockaddr *)to, &E.copts,
	                                 &cbs, &E.cli, &E.cli.ch), 0);
}

static void finish(void)
{
	int i;

	if (E.cli.ch)
		channel_close(E.cli.ch, 0, NULL);
	for (i = 0; i < 4; i++)
		if (E.srv[i].ch)
			channel_close(E.srv[i].ch, 0, NULL);
	close_if((uv_handle_t *)&E.listener);
	close_if((uv_handle_t *)&E.px_listener);
	close_if((uv_handle_t *)&E.px_down);
	close_if((uv_handle_t *)&E.px_up);
	close_if((uv_handle_t *)&E.mute_listener);
	close_if((uv_handle_t *)&E.mute_conn);
	close_if((uv_handle_t *)&E.raw.tcp);
	loop_finish();
	free(E.c2s.held);
	free(E.s2c.held);
	frame_decoder_release(&E.raw.dec);
	if (E.raw.hs)
		hs_release(E.raw.hs);
	free(E.raw.hs);
	identity_release(&E.sid);
	identity_release(&E.cid);
}

/* ---- raw writes, shared by the proxy and the raw client ---- */

struct wbuf {
	uv_write_t req;
	uint8_t data[];
};

static void on_wbuf(uv_write_t *req, int status)
{
	free(req);
}

static void send_copy(uv_tcp_t *t, const uint8_t *p, size_t n)
{
	struct wbuf *w = malloc(sizeof(*w) + n);
	uv_buf_t b;

	ck_assert_ptr_nonnull(w);
	memcpy(w->data, p, n);
	b = uv_buf_init((char *)w->data, (unsigned int)n);
	if (uv_write(&w->req, (uv_stream_t *)t, &b, 1, on_wbuf) < 0)
		free(w);
}

static void send_frame(uv_tcp_t *t, const uint8_t *p, size_t n)
{
	uint8_t f[FRAME_HDR + 1024];

	ck_assert_uint_le(n, 1024);
	ck_assert_int_eq(frame_header(f, n), 0);
	memcpy(f + FRAME_HDR, p, n);
	send_copy(t, f, FRAME_HDR + n);
}

static void alloc_static(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static uint8_t b[FRAME_HDR + FRAME_MAX];

	buf->base = (char *)b;
	buf->len = sizeof(b);
}

/* ---- the man-in-the-middle proxy ---- */

static void px_close(void)
{
	if (E.px_closing)
		return;
	E.px_closing = 1;
	uv_close((uv_handle_t *)&E.px_down, NULL);
	uv_close((uv_handle_t *)&E.px_up, NULL);
}

static void px_frame(struct px_dir *d, uint8_t *f, size_t len)
{
	unsigned k = d->frames++;
	size_t off = E.act_off;

	if (d->dir != E.act_dir || (k != E.act_frame && !d->held)) {
		send_copy(d->to, f, len);
		return;
	}
	if (d->held) { /* PX_SWAP: the successor goes first */
		send_copy(d->to, f, len);
		send_copy(d->to, d->held, d->held_len);
		free(d->held);
		d->held = NULL;
		return;
	}
	switch (E.action) {
	case PX_FLIP:
		if (off == OFF_LAST)
			off = len - 1;
		else if (off == OFF_TAG)
			off = len - CIPHER_TAG;
		ck_assert_uint_lt(off, len);
		f[off] ^= E.act_mask;
		send_copy(d->to, f, len);
		break;
	case PX_DROP:
		break;
	case PX_SWAP:
		ck_assert_ptr_nonnull(d->held = malloc(len));
		memcpy(d->held, f, len);
		d->held_len = len;
		break;
	case PX_RECORD:
		ck_assert_uint_le(len, sizeof(E.recorded));
		memcpy(E.recorded, f, len);
		E.recorded_len = len;
		/* fall through */
	default:
		send_copy(d->to, f, len);
	}
}

static void px_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct px_dir *d = s->data;
	size_t len, tot;

	if (n < 0) {
		px_close();
		return;
	}
	ck_assert_uint_le(d->have + (size_t)n, PXBUF);
	memcpy(d->buf + d->have, b->base, (size_t)n);
	d->have += (size_t)n;
	while (d->have >= FRAME_HDR) {
		len = (size_t)d->buf[0] << 24 | (size_t)d->buf[1] << 16 |
		      (size_t)d->buf[2] << 8 | d->buf[3];
		tot = FRAME_HDR + len;
		ck_assert_uint_le(tot, FRAME_HDR + FRAME_MAX);
		if (d->have < tot)
			return;
		px_frame(d, d->buf, tot);
		memmove(d->buf, d->buf + tot, d->have - tot);
		d->have -= tot;
	}
}

static void px_on_connect(uv_connect_t *req, int status)
{
	if (status < 0 || E.px_closing) {
		px_close();
		return;
	}
	uv_read_start((uv_stream_t *)&E.px_down, alloc_static, px_read);
	uv_read_start((uv_stream_t *)&E.px_up, alloc_static, px_read);
}

static void px_on_conn(uv_stream_t *l, int status)
{
	ck_assert_int_eq(status, 0);
	ck_assert_ptr_null(E.px_down.loop); /* one connection per test */
	uv_tcp_init(&E.loop, &E.px_down);
	uv_tcp_init(&E.loop, &E.px_up);
	ck_assert_int_eq(uv_accept(l, (uv_stream_t *)&E.px_down), 0);
	E.c2s.to = &E.px_up;
	E.c2s.dir = 0;
	E.s2c.to = &E.px_down;
	E.s2c.dir = 1;
	E.px_down.data = &E.c2s;
	E.px_up.data = &E.s2c;
	ck_assert_int_eq(uv_tcp_connect(&E.px_creq, &E.px_up,
	                                (const struct sockaddr *)&E.srv_addr, px_on_connect), 0);
}

static void proxy_start(int dir, unsigned frame, enum px_action action, size_t off, uint8_t mask)
{
	E.act_dir = dir;
	E.act_frame = frame;
	E.action = action;
	E.act_off = off;
	E.act_mask = mask;
	listen_on(&E.px_listener, 0, &E.px_addr, px_on_conn);
}

/* ---- the raw client ---- */

static void raw_send_auth(struct raw *r)
{
	uint8_t a[512], s[512 + CIPHER_TAG];
	int n, m;

	cipher_init(&r->tx, r->hs->keys.tx);
	n = hs_auth_request(r->hs, &E.cid, 1, "raw", clock_wall_ms(), E.wg, a, sizeof(a));
	ck_assert_int_gt(n, 0);
	m = cipher_seal(&r->tx, a, (size_t)n, s, sizeof(s));
	ck_assert_int_gt(m, 0);
	cipher_release(&r->tx);
	send_frame(&r->tcp, s, (size_t)m);
}

static int raw_frame(void *arg, const uint8_t *p, size_t len)
{
	struct raw *r = arg;

	if (r->frames++ == 0 && r->play) {
		ck_assert_int_eq(hs_client_finish(r->hs, E.sid.pk, p, len), 0);
		if (r->hold_auth)
			return 0;
		if (r->replay)
			send_copy(&r->tcp, E.recorded, E.recorded_len);
		else
			raw_send_auth(r);
	} else if (r->stop_reading) {
		uv_read_stop((uv_stream_t *)&r->tcp);
		return 1;
	}
	return 0;
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct raw *r = s->data;

	if (n < 0) {
		r->eof = 1;
		uv_read_stop(s);
		return;
	}
	frame_decoder_feed(&r->dec, (const uint8_t *)b->base, (size_t)n, raw_frame, r);
}

static void raw_on_connect(uv_connect_t *req, int status)
{
	struct raw *r = req->handle->data;
	uint8_t hello[512];
	int n;

	ck_assert_int_eq(status, 0);
	if (r->first_len)
		send_copy(&r->tcp, r->first, r->first_len);
	if (r->play) {
		n = hs_client_hello(r->hs, hello, sizeof(hello));
		ck_assert_int_gt(n, 0);
		send_frame(&r->tcp, hello, (size_t)n);
	}
	uv_read_start((uv_stream_t *)&r->tcp, alloc_static, raw_read);
}

static void raw_start(struct raw *r, const struct sockaddr_in *to)
{
	ck_assert_int_eq(uv_tcp_init(&E.loop, &r->tcp), 0);
	r->tcp.data = r;
	frame_decoder_init(&r->dec);
	if (r->play) {
		r->hs = aligned_alloc(alignof(struct hs_state), sizeof(struct hs_state));
		ck_assert_ptr_nonnull(r->hs);
		memset(r->hs, 0, sizeof(*r->hs));
	}
	ck_assert_int_eq(uv_tcp_connect(&r->creq, &r->tcp, (const struct sockaddr *)to,
	                                raw_on_connect), 0);
}

static void send_small(struct channel *ch, uint32_t seq)
{
	uint8_t m[5] = { 'S', (uint8_t)(seq >> 24), (uint8_t)(seq >> 16),
	                 (uint8_t)(seq >> 8), (uint8_t)seq };

	ck_assert_int_eq(channel_send(ch, m, sizeof(m)), 0);
}

static void open_pair(const struct sockaddr_in *to)
{
	connect_client(to);
	RUN_UNTIL(E.cli.opened && E.srv[0].opened, 5000);
}

#endif
