/* Secure control channel on a libuv TCP stream: lifecycle, reads and writes,
 * and the state x event table; the handshake steps are in channel_hs.c. */
#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "channel_int.h"

/* One queued write: the request, then the frame bytes the socket did not
 * take at once, in the same allocation. */
struct channel_wreq {
	uv_write_t req;
	uint8_t buf[];
};

/*
 * Reads land in one buffer per thread, not per stream: libuv fills it and
 * calls our read callback, which decodes it completely before the next read
 * (the frame decoder copies partial frames itself), so an idle stream holds
 * no read buffer. Opened plaintext is consumed during the callback likewise.
 */
static _Thread_local uint8_t read_buf[FRAME_HDR + FRAME_MAX];
static _Thread_local uint8_t plain_buf[FRAME_MAX];
static _Thread_local uint8_t write_buf[FRAME_HDR + FRAME_MAX];

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{ 0, "closed" },
	{ -ETIMEDOUT, "handshake_timeout" },
	{ -EBADMSG, "decrypt_failed" },
	{ -EPROTO, "bad_frame" },
	{ -EKEYREJECTED, "key_rejected" },
	{ -EACCES, "refused" },
	{ -ENOBUFS, "peer_not_reading" },
	{ -ECONNRESET, "connection_reset" },
	{ -ETIME, "clock_skew" },
	{ -ECONNREFUSED, "connection_refused" },
	{ -EHOSTUNREACH, "host_unreachable" },
	{ -ENETUNREACH, "network_unreachable" },
	{ -EPIPE, "broken_pipe" },
	{ -ENOMEM, "out_of_memory" },
};

static const char *status_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "error"; /* not uv_strerror: it leaks on codes libuv lacks */
}

/* Keeps the first close status; a reason from the peer is made printable. */
static void channel_record(struct channel *ch, int status, const char *reason)
{
	char *c;

	if (ch->state == CH_CLOSING)
		return;
	ch->state = CH_CLOSING;
	ch->status = status;
	snprintf(ch->reason, sizeof(ch->reason), "%s",
	         reason && reason[0] ? reason : status_reason(status));
	for (c = ch->reason; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

void channel_hs_done(struct channel *ch)
{
	if (!ch->hs)
		return;
	hs_release(ch->hs);
	free(ch->hs);
	ch->hs = NULL;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct channel *ch = h->data;

	if (--ch->handles > 0)
		return;
	if (ch->returned && ch->cbs.on_close)
		ch->cbs.on_close(ch, ch->status, ch->reason);
	free(ch);
}

void channel_close(struct channel *ch, int status, const char *reason)
{
	if (ch->closed)
		return;
	channel_record(ch, status, reason);
	ch->closed = 1;
	channel_hs_done(ch);
	frame_decoder_release(&ch->dec); /* safe inside a feed: see frame.c */
	cipher_release(&ch->tx);
	cipher_release(&ch->rx);
	uv_timer_stop(&ch->timer);
	/* close_cb order is not ours to choose: free after the last one. */
	uv_close((uv_handle_t *)&ch->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&ch->timer, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct channel *ch = req->data;

	free(req);
	channel_close(ch, status, NULL); /* the recorded status wins */
}

/* Refusals are sent, then the stream is closed once the write has gone out,
 * so the peer learns the reason. The deadline still bounds the wait. */
int channel_close_after_write(struct channel *ch, int status, const char *reason)
{
	uv_shutdown_t *req;
	int rc;

	channel_record(ch, status, reason);
	uv_read_stop((uv_stream_t *)&ch->tcp);
	if (!(req = malloc(sizeof(*req))))
		return -ENOMEM;
	req->data = ch;
	if ((rc = uv_shutdown(req, (uv_stream_t *)&ch->tcp, on_shutdown)) < 0)
		free(req);
	return rc;
}

static void on_write(uv_write_t *req, int status)
{
	struct channel *ch = req->data;

	ch->wreqs--;
	free(req); /* first member of struct channel_wreq */
	if (status < 0 && status != UV_ECANCELED)
		channel_close(ch, status, NULL);
}

/* Sends one frame: payload as is (hellos) or sealed with the tx cipher.
 * Most frames fit the socket buffer, so the frame is built in write_buf and
 * tried at once: no request, no allocation, and no write callback whose
 * drain makes libuv re-arm epoll (one epoll_ctl per frame otherwise). Only
 * what the socket did not take is copied into a request and queued;
 * uv_try_write refuses while anything is queued, so order is kept. */
int channel_write(struct channel *ch, const uint8_t *payload, size_t len, int sealed)
{
	uv_stream_t *s = (uv_stream_t *)&ch->tcp;
	size_t plen = sealed ? len + CIPHER_TAG : len;
	size_t total = FRAME_HDR + plen, done = 0;
	struct channel_wreq *w;
	uv_buf_t b;
	int rc;

	/* A queued request holds ~200 bytes besides its frame's: counted, so
	 * a queue of small replies is bounded in memory, not only in bytes. */
	if (uv_stream_get_write_queue_size(s) + ch->wreqs * sizeof(*w) + total >
	    CHANNEL_MAX_QUEUED)
		return -ENOBUFS;
	if (total > sizeof(write_buf))
		return -EMSGSIZE;
	if ((rc = frame_header(write_buf, plen)) < 0)
		return rc;
	if (!sealed)
		memcpy(write_buf + FRAME_HDR, payload, len);
	else if ((rc = cipher_seal(&ch->tx, payload, len, write_buf + FRAME_HDR, plen)) < 0)
		return rc;
	b = uv_buf_init((char *)write_buf, (unsigned int)total);
	if ((rc = uv_try_write(s, &b, 1)) > 0)
		done = (size_t)rc; /* errors: the queued write below reports them */
	if (done < total) {
		if (!(w = malloc(sizeof(*w) + total - done)))
			return -ENOMEM;
		memcpy(w->buf, write_buf + done, total - done);
		b = uv_buf_init((char *)w->buf, (unsigned int)(total - done));
		w->req.data = ch;
		if ((rc = uv_write(&w->req, s, &b, 1, on_write)) < 0) {
			free(w);
			return rc;
		}
		ch->wreqs++;
	}
	ch->st.tx_bytes += total;
	ch->st.tx_frames++;
	return 0;
}

/* Opens a sealed frame into plain_buf; returns the plaintext length. */
int channel_unseal(struct channel *ch, const uint8_t *p, size_t len, const uint8_t **plain)
{
	int n = cipher_open(&ch->rx, p, len, plain_buf, sizeof(plain_buf));

	*plain = plain_buf;
	if (n == 0)
		return -EPROTO; /* authentic but empty: application frames are 1.. bytes */
	return n;
}

int channel_opened(struct channel *ch)
{
	ch->state = CH_OPEN;
	uv_timer_stop(&ch->timer);
	if (ch->cbs.on_open)
		ch->cbs.on_open(ch);
	return 0;
}

void channel_keys(struct channel *ch)
{
	cipher_init(&ch->tx, ch->hs->keys.tx);
	cipher_init(&ch->rx, ch->hs->keys.rx);
}

static int open_frame(struct channel *ch, const uint8_t *p, size_t len)
{
	const uint8_t *plain;
	int n;

	if ((n = channel_unseal(ch, p, len, &plain)) < 0)
		return n;
	if (ch->cbs.on_message)
		ch->cbs.on_message(ch, plain, (size_t)n);
	return 0;
}

/* A peer that hangs up mid-handshake is reported as a reset, not as the
 * orderly close (status 0) that only an open channel can have. */
static int hs_eof(struct channel *ch, const uint8_t *p, size_t len)
{
	return -ECONNRESET;
}

static int open_eof(struct channel *ch, const uint8_t *p, size_t len)
{
	channel_close(ch, 0, "peer_closed");
	return 0;
}

static int hs_timeout(struct channel *ch, const uint8_t *p, size_t len)
{
	return -ETIMEDOUT;
}

static int ignore(struct channel *ch, const uint8_t *p, size_t len)
{
	return 0;
}

typedef int (*channel_step_fn)(struct channel *ch, const uint8_t *p, size_t len);

/* state x event; a NULL entry is an event the state cannot see. */
static const channel_step_fn steps[CH_CLOSING + 1][EV_COUNT] = {
	[CH_CLIENT_HELLO] = { channel_hs_client_hello, channel_hs_client_finish, hs_eof, hs_timeout },
	[CH_SERVER_HELLO] = { NULL, channel_hs_server_hello, hs_eof, hs_timeout },
	[CH_CLIENT_AUTH] = { NULL, channel_hs_client_auth, hs_eof, hs_timeout },
	[CH_SERVER_AUTH] = { NULL, channel_hs_server_auth, hs_eof, hs_timeout },
	[CH_OPEN] = { NULL, open_frame, open_eof, ignore },
	/* waiting for a refusal to be written; the deadline still applies */
	[CH_CLOSING] = { NULL, ignore, ignore, hs_timeout },
};

/* Runs one event; any error closes the channel with that status. */
static void channel_event(struct channel *ch, enum channel_event ev,
                          const uint8_t *p, size_t len)
{
	channel_step_fn fn = steps[ch->state][ev];
	int rc = fn ? fn(ch, p, len) : -EPROTO;

	if (rc < 0)
		channel_close(ch, rc, NULL);
}

/* Per whole frame; returns 1 to stop decoding once the channel closes. */
static int on_frame(void *arg, const uint8_t *p, size_t len)
{
	struct channel *ch = arg;

	ch->st.rx_frames++;
	ch->last_rx_ms = uv_now(ch->loop);
	if (ch->state != CH_OPEN && len > HS_FRAME_MAX)
		channel_close(ch, -EPROTO, NULL);
	else
		channel_event(ch, EV_FRAME, p, len);
	return ch->state == CH_CLOSING;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct channel *ch = s->data;
	int rc;

	if (nread == 0 || ch->state == CH_CLOSING)
		return;
	if (nread == UV_EOF) {
		channel_event(ch, EV_EOF, NULL, 0);
		return;
	}
	if (nread < 0) {
		channel_close(ch, (int)nread, NULL);
		return;
	}
	ch->st.rx_bytes += (uint64_t)nread;
	rc = frame_decoder_feed(&ch->dec, (const uint8_t *)buf->base, (size_t)nread,
	                        on_frame, ch);
	if (rc < 0)
		channel_close(ch, rc, NULL);
	else if (ch->state != CH_OPEN && ch->state != CH_CLOSING && ch->dec.need > HS_FRAME_MAX)
		channel_close(ch, -EPROTO, NULL); /* see HS_FRAME_MAX */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	buf->base = (char *)read_buf;
	buf->len = sizeof(read_buf);
}

int channel_read_start(struct channel *ch)
{
	return uv_read_start((uv_stream_t *)&ch->tcp, on_alloc, on_read);
}

static void on_deadline(uv_timer_t *t)
{
	channel_event(t->data, EV_TIMEOUT, NULL, 0);
}

/* See CHANNEL_SNDBUF; only a socket that exists (accepted or connected). */
static int channel_sndbuf(struct channel *ch)
{
	int size = CHANNEL_SNDBUF;

	return uv_send_buffer_size((uv_handle_t *)&ch->tcp, &size);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct channel *ch = req->data;

	free(req);
	if (ch->closed)
		return; /* UV_ECANCELED: closed before the connect finished */
	if (status == 0)
		status = channel_sndbuf(ch);
	if (status < 0)
		channel_close(ch, status, NULL);
	else
		channel_event(ch, EV_CONNECTED, NULL, 0);
}

static int channel_new(uv_loop_t *loop, const struct channel_cbs *cbs, void *data,
                       uint32_t handshake_ms, struct channel **out)
{
	struct channel *ch;
	int rc;

	if (!(ch = calloc(1, sizeof(*ch))))
		return -ENOMEM;
	ch->hs = aligned_alloc(alignof(struct hs_state), sizeof(struct hs_state));
	if (!ch->hs) {
		free(ch);
		return -ENOMEM;
	}
	memset(ch->hs, 0, sizeof(*ch->hs));
	if ((rc = uv_tcp_init(loop, &ch->tcp)) < 0) {
		free(ch->hs);
		free(ch);
		return rc;
	}
	uv_timer_init(loop, &ch->timer);
	ch->handles = 2;
	ch->tcp.data = ch;
	ch->timer.data = ch;
	ch->loop = loop;
	ch->cbs = *cbs;
	ch->data = data;
	ch->handshake_ms = handshake_ms ? handshake_ms : HS_DEADLINE_MS;
	frame_decoder_init(&ch->dec);
	*out = ch;
	return 0;
}

static int channel_client_opts(struct channel *ch, const struct channel_client_opts *o)
{
	ch->id = o->id;
	ch->role = o->role;
	if (o->pinned_server_id) {
		memcpy(ch->pinned, o->pinned_server_id, ID_PK_LEN);
		ch->has_pinned = 1;
	}
	if (o->wg_pubkey) {
		memcpy(ch->wg_pubkey, o->wg_pubkey, sizeof(ch->wg_pubkey));
		ch->has_wg_pubkey = 1;
	}
	if (o->region && strlen(o->region) >= sizeof(ch->region))
		return -EINVAL;
	snprintf(ch->region, sizeof(ch->region), "%s", o->region ? o->region : "");
	return 0;
}

int channel_connect(uv_loop_t *loop, const struct sockaddr *addr,
                    const struct channel_client_opts *opts, const struct channel_cbs *cbs,
                    void *data, struct channel **out)
{
	struct channel *ch;
	uv_connect_t *req;
	int rc;

	if (!opts || !opts->id || !cbs || !addr)
		return -EINVAL;
	if ((rc = channel_new(loop, cbs, data, opts->handshake_ms, &ch)) < 0)
		return rc;
	ch->state = CH_CLIENT_HELLO;
	if ((rc = channel_client_opts(ch, opts)) < 0)
		goto out;
	if (!(req = malloc(sizeof(*req)))) {
		rc = -ENOMEM;
		goto out;
	}
	req->data = ch;
	if ((rc = uv_tcp_connect(req, &ch->tcp, addr, on_connect)) < 0) {
		free(req);
		goto out;
	}
	/* After this, a failure closes the handle, which cancels the connect. */
	if ((rc = uv_timer_start(&ch->timer, on_deadline, ch->handshake_ms, 0)) < 0)
		goto out;
	ch->returned = 1;
	*out = ch;
	return 0;
out:
	channel_close(ch, rc, NULL); /* not returned: no on_close */
	return rc;
}

int channel_accept(uv_stream_t *listener, const struct channel_server_opts *opts,
                   const struct channel_cbs *cbs, void *data, struct channel **out)
{
	struct channel *ch;
	int rc;

	if (!opts || !opts->id || !cbs)
		return -EINVAL;
	if ((rc = channel_new(listener->loop, cbs, data, opts->handshake_ms, &ch)) < 0)
		return rc;
	ch->is_server = 1;
	ch->id = opts->id;
	ch->state = CH_SERVER_HELLO;
	if ((rc = uv_accept(listener, (uv_stream_t *)&ch->tcp)) < 0)
		goto out;
	uv_tcp_nodelay(&ch->tcp, 1);
	if ((rc = channel_sndbuf(ch)) < 0 || (rc = channel_read_start(ch)) < 0)
		goto out;
	if ((rc = uv_timer_start(&ch->timer, on_deadline, ch->handshake_ms, 0)) < 0)
		goto out;
	ch->returned = 1;
	*out = ch;
	return 0;
out:
	channel_close(ch, rc, NULL);
	return rc;
}

/* Any failure here leaves the tx counter unusable or the peer stuck, so the
 * channel is closed with that status. */
int channel_send(struct channel *ch, const uint8_t *data, size_t len)
{
	int rc;

	if (ch->state != CH_OPEN)
		return -ENOTCONN;
	if (len == 0 || len > FRAME_MAX - CIPHER_TAG)
		return -EMSGSIZE;
	if ((rc = channel_write(ch, data, len, 1)) < 0)
		channel_close(ch, rc, NULL);
	return rc;
}

void *channel_data(const struct channel *ch)
{
	return ch->data;
}

void channel_set_data(struct channel *ch, void *data)
{
	ch->data = data;
}

enum channel_state channel_state(const struct channel *ch)
{
	return ch->state;
}

const struct hs_auth *channel_peer(const struct channel *ch)
{
	return ch->is_server && ch->has_peer ? &ch->peer : NULL;
}

const uint8_t *channel_server_id(const struct channel *ch)
{
	return ch->server_id;
}

const uint8_t *channel_session_id(const struct channel *ch)
{
	return ch->session_id;
}

uint32_t channel_heartbeat_s(const struct channel *ch)
{
	return ch->heartbeat_s;
}

int channel_peer_addr(const struct channel *ch, struct sockaddr_storage *ss)
{
	int len = (int)sizeof(*ss);

	return uv_tcp_getpeername(&ch->tcp, (struct sockaddr *)ss, &len);
}

int channel_local_addr(const struct channel *ch, struct sockaddr_storage *ss)
{
	int len = (int)sizeof(*ss);

	return uv_tcp_getsockname(&ch->tcp, (struct sockaddr *)ss, &len);
}

uint64_t channel_last_rx_ms(const struct channel *ch)
{
	return ch->last_rx_ms;
}

void channel_get_stats(const struct channel *ch, struct channel_stats *st)
{
	*st = ch->st;
}
