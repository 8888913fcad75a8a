/* Tests for lib/channel.c over libuv on 127.0.0.1: handshake and messages,
 * key pinning, policy, deadlines, garbage, tampering through a frame-aware
 * proxy, AuthRequest replay and a peer that stops reading. Longer than our
 * usual file: the proxy and the raw client only make sense next to the cases. */
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
	ck_assert_int_eq(uv_loop_init(&E.loop), 0);
	uv_timer_init(&E.loop, &E.guard);
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

static void close_if(uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h))
		uv_close(h, NULL);
}

static void finish(void)
{
	int i;

	if (E.cli.ch)
		channel_close(E.cli.ch, 0, NULL);
	for (i = 0; i < 4; i++)
		if (E.srv[i].ch)
			channel_close(E.srv[i].ch, 0, NULL);
	close_if((uv_handle_t *)&E.guard);
	close_if((uv_handle_t *)&E.listener);
	close_if((uv_handle_t *)&E.px_listener);
	close_if((uv_handle_t *)&E.px_down);
	close_if((uv_handle_t *)&E.px_up);
	close_if((uv_handle_t *)&E.mute_listener);
	close_if((uv_handle_t *)&E.mute_conn);
	close_if((uv_handle_t *)&E.raw.tcp);
	uv_run(&E.loop, UV_RUN_DEFAULT);
	free(E.c2s.held);
	free(E.s2c.held);
	frame_decoder_release(&E.raw.dec);
	if (E.raw.hs)
		hs_release(E.raw.hs);
	free(E.raw.hs);
	identity_release(&E.sid);
	identity_release(&E.cid);
	ck_assert_int_eq(uv_loop_close(&E.loop), 0);
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

/* ---- tests ---- */

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

START_TEST(test_open)
{
	struct sockaddr_storage addr;
	const struct hs_auth *peer;
	uint8_t one = 1;
	struct channel *c, *s;

	setup_env();
	connect_client(&E.srv_addr);
	ck_assert_int_eq(channel_send(E.cli.ch, &one, 1), -ENOTCONN);
	ck_assert_int_eq(channel_state(E.cli.ch), CH_CLIENT_HELLO);
	RUN_UNTIL(E.cli.opened && E.srv[0].opened, 5000);
	c = E.cli.ch;
	s = E.srv[0].ch;
	ck_assert_int_eq(channel_state(c), CH_OPEN);
	ck_assert_int_eq(channel_state(s), CH_OPEN);
	ck_assert_int_eq(E.auth_calls, 1);
	ck_assert_ptr_null(channel_peer(c));
	ck_assert_ptr_nonnull(peer = channel_peer(s));
	ck_assert_mem_eq(peer->peer_id, E.cid.pk, ID_PK_LEN);
	ck_assert_mem_eq(E.seen.peer_id, E.cid.pk, ID_PK_LEN);
	ck_assert_uint_eq(peer->role, 2);
	ck_assert_str_eq(peer->region, "eu-west");
	ck_assert(peer->has_wg_pubkey);
	ck_assert_mem_eq(peer->wg_pubkey, E.wg, 32);
	ck_assert_mem_eq(channel_server_id(c), E.sid.pk, ID_PK_LEN);
	ck_assert_mem_eq(channel_server_id(s), E.sid.pk, ID_PK_LEN);
	ck_assert_mem_eq(channel_session_id(c), channel_session_id(s), CHANNEL_SESSION_ID_LEN);
	ck_assert(!sodium_is_zero(channel_session_id(c), CHANNEL_SESSION_ID_LEN));
	ck_assert_uint_eq(channel_heartbeat_s(c), 17);
	ck_assert_int_eq(channel_peer_addr(s, &addr), 0);
	ck_assert_int_eq(addr.ss_family, AF_INET);
	ck_assert_uint_eq(((struct sockaddr_in *)&addr)->sin_addr.s_addr, htonl(0x7f000001));
	finish();
}
END_TEST

START_TEST(test_messages)
{
	static uint8_t big[BIG + 1];
	struct channel_stats cs, ss;
	struct channel *c, *s;
	uint32_t i;

	setup_env();
	open_pair(&E.srv_addr);
	c = E.cli.ch;
	s = E.srv[0].ch;
	for (i = 0; i < BIG + 1; i++)
		big[i] = pattern(i);
	ck_assert_int_eq(channel_send(c, big, BIG + 1), -EMSGSIZE);
	ck_assert_int_eq(channel_send(c, big, 0), -EMSGSIZE);
	ck_assert_int_eq(channel_send(c, big, BIG), 0);
	ck_assert_int_eq(channel_send(s, big, BIG), 0);
	for (i = 0; i < NSMALL; i++) {
		send_small(c, i);
		send_small(s, i);
	}
	RUN_UNTIL(E.srv[0].nmsg == NSMALL + 1 && E.cli.nmsg == NSMALL + 1, 10000);
	ck_assert_uint_eq(E.srv[0].nbig + E.cli.nbig, 2);
	ck_assert_uint_eq(E.srv[0].bad + E.cli.bad, 0);
	ck_assert_uint_eq(E.srv[0].next_seq, NSMALL);
	ck_assert_uint_eq(E.cli.next_seq, NSMALL);

	channel_get_stats(c, &cs);
	channel_get_stats(s, &ss);
	ck_assert_uint_eq(cs.tx_frames, 2 + 1 + NSMALL); /* hello, auth, messages */
	ck_assert_uint_eq(ss.rx_frames, cs.tx_frames);
	ck_assert_uint_eq(ss.rx_bytes, cs.tx_bytes);
	ck_assert_uint_eq(cs.rx_frames, ss.tx_frames);
	ck_assert_uint_eq(cs.rx_bytes, ss.tx_bytes);
	ck_assert_uint_gt(cs.tx_bytes, BIG + NSMALL * (5 + CIPHER_TAG));
	ck_assert_uint_gt(channel_last_rx_ms(s), 0);
	ck_assert_uint_gt(channel_last_rx_ms(c), 0);
	finish();
}
END_TEST

START_TEST(test_peer_close_after_open)
{
	setup_env();
	E.copts.wg_pubkey = NULL;
	open_pair(&E.srv_addr);
	ck_assert(!channel_peer(E.srv[0].ch)->has_wg_pubkey);
	channel_close(E.cli.ch, 0, NULL);
	channel_close(E.cli.ch, -EIO, NULL); /* idempotent: the first status stays */
	RUN_UNTIL(E.cli.closed && E.srv[0].closed, 5000);
	ck_assert_int_eq(E.cli.status, 0);
	ck_assert_int_eq(E.srv[0].status, 0);
	finish();
}
END_TEST

START_TEST(test_wrong_server_key)
{
	uint8_t other[ID_PK_LEN];

	setup_env();
	randombytes_buf(other, sizeof(other));
	E.copts.pinned_server_id = other;
	connect_client(&E.srv_addr);
	RUN_UNTIL(E.cli.closed && E.srv[0].closed, 5000);
	ck_assert_int_eq(E.cli.status, -EKEYREJECTED);
	ck_assert_int_eq(E.srv[0].status, -ECONNRESET);
	ck_assert(!E.cli.opened && !E.srv[0].opened);
	ck_assert_int_eq(E.auth_calls, 0);
	finish();
}
END_TEST

START_TEST(test_policy_refusal)
{
	setup_env();
	E.refuse = 1;
	connect_client(&E.srv_addr);
	RUN_UNTIL(E.cli.closed && E.srv[0].closed, 5000);
	ck_assert_int_eq(E.auth_calls, 1);
	ck_assert_int_eq(E.cli.status, -EACCES);
	ck_assert_str_eq(E.cli.reason, "revoked");
	ck_assert_int_eq(E.srv[0].status, -EACCES);
	ck_assert(!E.cli.opened && !E.srv[0].opened);
	finish();
}
END_TEST

/* _i: 0 sends nothing, 1 sends one byte, 2 a hello's header and two bytes,
 * 3 a whole ClientHello but no AuthRequest: the deadline covers auth too. */
START_TEST(test_server_deadline)
{
	static const uint8_t partial[] = { 0, 0, 0, 40, 1, 2 };
	uint64_t start;

	setup_env();
	E.sopts.handshake_ms = 200;
	E.raw.first = partial;
	E.raw.first_len = _i == 0 || _i == 3 ? 0 : _i == 1 ? 1 : sizeof(partial);
	E.raw.play = E.raw.hold_auth = _i == 3;
	uv_update_time(&E.loop);
	start = uv_now(&E.loop);
	raw_start(&E.raw, &E.srv_addr);
	RUN_UNTIL(E.srv[0].closed && E.raw.eof, 3000);
	ck_assert_int_eq(E.srv[0].status, -ETIMEDOUT);
	ck_assert_uint_ge(E.srv[0].closed_at - start, 190);
	ck_assert_int_eq(E.raw.frames, _i == 3); /* the ServerHello */
	finish();
}
END_TEST

static void mute_on_conn(uv_stream_t *l, int status)
{
	ck_assert_int_eq(uv_tcp_init(&E.loop, &E.mute_conn), 0);
	ck_assert_int_eq(uv_accept(l, (uv_stream_t *)&E.mute_conn), 0);
}

START_TEST(test_client_deadline)
{
	uint64_t start;

	setup_env();
	listen_on(&E.mute_listener, 0, &E.mute_addr, mute_on_conn);
	E.copts.handshake_ms = 200;
	uv_update_time(&E.loop);
	start = uv_now(&E.loop);
	connect_client(&E.mute_addr);
	RUN_UNTIL(E.cli.closed, 3000);
	ck_assert_int_eq(E.cli.status, -ETIMEDOUT);
	ck_assert_uint_ge(E.cli.closed_at - start, 190);
	finish();
}
END_TEST

START_TEST(test_garbage)
{
	uint8_t g[68];

	setup_env();
	randombytes_buf(g, sizeof(g));
	switch (_i) {
	case 0: memset(g, 0xff, FRAME_HDR); break;            /* 0xFFFFFFFF length */
	case 1: memset(g, 0, FRAME_HDR); break;               /* zero length */
	case 2: memcpy(g, "\x00\x01\x00\x01", FRAME_HDR); break; /* FRAME_MAX + 1 */
	case 3: memcpy(g, "\x00\x00\x00\x40", FRAME_HDR); break; /* junk ClientHello */
	case 4: memcpy(g, "\x00\x00\xea\x60", FRAME_HDR); break; /* 60000: no hello is that big */
	default: g[0] |= 0x01; break;                           /* random, > 16 MiB */
	}
	E.raw.first = g;
	E.raw.first_len = sizeof(g);
	raw_start(&E.raw, &E.srv_addr);
	RUN_UNTIL(E.srv[0].closed && E.raw.eof, 3000);
	ck_assert_int_eq(E.srv[0].status, -EPROTO);
	finish();
}
END_TEST

static const struct {
	int dir;
	unsigned frame;
	size_t off;
	uint8_t mask;
	int expect; /* 0: any failure */
} flips[] = {
	{ 0, 2, 0, 0x80, -EPROTO },          /* length header: oversized */
	{ 0, 2, 3, 0x01, 0 },                /* length header: off by one */
	{ 0, 2, 4, 0x01, -EBADMSG },         /* first ciphertext byte */
	{ 0, 2, 60, 0x10, -EBADMSG },        /* inside the ciphertext */
	{ 0, 2, OFF_TAG, 0x01, -EBADMSG },   /* first tag byte */
	{ 0, 2, OFF_LAST, 0x80, -EBADMSG },  /* last tag byte */
	{ 1, 2, 10, 0x04, -EBADMSG },        /* server to client */
	{ 0, 1, 30, 0x01, -EBADMSG },        /* the AuthRequest */
	{ 1, 1, 8, 0x01, -EBADMSG },         /* the AuthResponse */
	{ 1, 0, 20, 0x01, -EKEYREJECTED },   /* the ServerHello's server_id */
};

/* Sends five 100-byte messages from the side that the proxy tampers with. */
static void send_five(int dir)
{
	uint8_t m[100];
	int i;

	memset(m, 'm', sizeof(m));
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(channel_send(dir == 0 ? E.cli.ch : E.srv[0].ch, m, sizeof(m)), 0);
}

static void tamper_run(int dir, unsigned frame, enum px_action action, size_t off,
                       uint8_t mask, int expect)
{
	struct side *victim = dir == 0 ? &E.srv[0] : &E.cli;

	setup_env();
	proxy_start(dir, frame, action, off, mask);
	connect_client(&E.px_addr);
	if (frame >= 2) {
		RUN_UNTIL(E.cli.opened && E.srv[0].opened, 5000);
		send_five(dir);
	}
	RUN_UNTIL(victim->closed, 5000);
	if (expect)
		ck_assert_int_eq(victim->status, expect);
	else
		ck_assert_int_ne(victim->status, 0);
	ck_assert_uint_eq(victim->nmsg, 0);
	finish();
}

START_TEST(test_tamper_bit)
{
	tamper_run(flips[_i].dir, flips[_i].frame, PX_FLIP, flips[_i].off, flips[_i].mask,
	           flips[_i].expect);
}
END_TEST

START_TEST(test_tamper_drop)
{
	tamper_run(0, 2, PX_DROP, 0, 0, -EBADMSG);
}
END_TEST

START_TEST(test_tamper_swap)
{
	tamper_run(0, 2, PX_SWAP, 0, 0, -EBADMSG);
}
END_TEST

/* A control: the proxy changing nothing delivers all five. */
START_TEST(test_proxy_control)
{
	setup_env();
	proxy_start(0, 2, PX_NONE, 0, 0);
	connect_client(&E.px_addr);
	RUN_UNTIL(E.cli.opened && E.srv[0].opened, 5000);
	send_five(0);
	RUN_UNTIL(E.srv[0].nmsg == 5, 5000);
	finish();
}
END_TEST

/* _i 0: a raw client's own fresh AuthRequest is accepted (the control);
 * _i 1: connection 1's recorded AuthRequest on connection 2 is not. */
START_TEST(test_replayed_auth)
{
	setup_env();
	E.raw.play = 1;
	if (_i == 0) {
		raw_start(&E.raw, &E.srv_addr);
		RUN_UNTIL(E.srv[0].opened && E.raw.frames == 2, 5000);
		ck_assert_str_eq(channel_peer(E.srv[0].ch)->region, "raw");
		finish();
		return;
	}
	proxy_start(0, 1, PX_RECORD, 0, 0);
	open_pair(&E.px_addr);
	ck_assert_uint_gt(E.recorded_len, CIPHER_TAG);
	channel_close(E.cli.ch, 0, NULL);
	RUN_UNTIL(E.srv[0].closed, 5000);
	E.raw.replay = 1;
	raw_start(&E.raw, &E.srv_addr);
	RUN_UNTIL(E.srv[1].closed, 5000);
	ck_assert_int_eq(E.srv[1].status, -EBADMSG);
	ck_assert(!E.srv[1].opened);
	ck_assert_int_eq(E.auth_calls, 1);
	ck_assert_int_eq(E.raw.frames, 1); /* ServerHello, then nothing */
	finish();
}
END_TEST

START_TEST(test_peer_not_reading)
{
	static uint8_t big[BIG];
	int i, rc = 0;

	setup_env();
	E.raw.play = 1;
	E.raw.stop_reading = 1;
	raw_start(&E.raw, &E.srv_addr);
	RUN_UNTIL(E.srv[0].opened && E.raw.frames == 2, 5000);
	/* Kernel buffers take a few MiB first; then the queue cap must trip. */
	for (i = 0; i < 2000 && rc == 0; i++)
		rc = channel_send(E.srv[0].ch, big, sizeof(big));
	ck_assert_int_eq(rc, -ENOBUFS);
	RUN_UNTIL(E.srv[0].closed, 5000);
	ck_assert_int_eq(E.srv[0].status, -ENOBUFS);
	finish();
}
END_TEST

static Suite *channel_suite(void)
{
	Suite *s = suite_create("channel");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_open);
	tcase_add_test(tc, test_messages);
	tcase_add_test(tc, test_peer_close_after_open);
	tcase_add_test(tc, test_wrong_server_key);
	tcase_add_test(tc, test_policy_refusal);
	tcase_add_loop_test(tc, test_server_deadline, 0, 4);
	tcase_add_test(tc, test_client_deadline);
	tcase_add_loop_test(tc, test_garbage, 0, 6);
	tcase_add_loop_test(tc, test_tamper_bit, 0, (int)(sizeof(flips) / sizeof(flips[0])));
	tcase_add_test(tc, test_tamper_drop);
	tcase_add_test(tc, test_tamper_swap);
	tcase_add_test(tc, test_proxy_control);
	tcase_add_loop_test(tc, test_replayed_auth, 0, 2);
	tcase_add_test(tc, test_peer_not_reading);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (keys_init() < 0)
		return 1;
	sr = srunner_create(channel_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
