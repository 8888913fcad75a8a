/* The outbound persistent stream: one secure channel at a time, reconnected
 * with backoff, kept alive with Ping/Pong and declared dead when silent. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <uv.h>
#include "backoff.h"
#include "channel.h"
#include "msg.h"
#include "netaddr.h"
#include "peerlink.h"

#define DEFAULT_PING_MS 10000
#define DEFAULT_DEAD_MS 30000
#define PL_TIMERS 3

/*
 * CONNECTING --open--> UP --close--> WAITING --retry timer--> CONNECTING
 * CONNECTING --close (a failed attempt)--> WAITING
 * any --peerlink_free--> FREEING (handles closing, no more callbacks)
 */
enum pl_state { PL_CONNECTING, PL_UP, PL_WAITING, PL_FREEING };

struct peerlink {
	uv_loop_t *loop;
	enum pl_state state;
	struct channel *ch;         /* non-NULL in CONNECTING and UP */
	uv_timer_t retry, ping, dead;
	int pending;                /* handles (and the channel) still closing */
	struct peerlink_cbs cbs;
	void *data;
	struct backoff bo;
	const struct identity *id;
	uint8_t pinned[ID_PK_LEN], wg_pubkey[32];
	int has_pinned, has_wg_pubkey;
	uint32_t role;
	char *region;
	struct sockaddr_storage addr;
	uint32_t ping_ms, dead_ms, handshake_ms;
	uint64_t up_at;             /* uv_now when the stream opened */
	int dead_grace;             /* on_dead found it silent once already */
	int64_t rtt_ms;
	uint64_t connects;
};

static void pl_on_open(struct channel *ch);
static void pl_on_message(struct channel *ch, const uint8_t *data, size_t len);
static void pl_on_close(struct channel *ch, int status, const char *reason);

static const struct channel_cbs pl_channel_cbs = {
	.on_open = pl_on_open,
	.on_message = pl_on_message,
	.on_close = pl_on_close,
};

static void pl_release(struct peerlink *pl)
{
	if (--pl->pending > 0)
		return;
	free(pl->region);
	free(pl);
}

static void on_timer_closed(uv_handle_t *h)
{
	pl_release(h->data);
}

static void on_retry(uv_timer_t *t);

/* Down, either from an open stream or from a failed attempt: wait, retry. */
static void pl_down(struct peerlink *pl, int status, const char *reason)
{
	uint64_t now = uv_now(pl->loop);

	uv_timer_stop(&pl->ping);
	uv_timer_stop(&pl->dead);
	backoff_down(&pl->bo, now);
	pl->state = PL_WAITING;
	uv_timer_start(&pl->retry, on_retry, backoff_next(&pl->bo), 0);
	/* Last: the callback may call peerlink_free. */
	if (pl->cbs.on_down)
		pl->cbs.on_down(pl, status, reason);
}

/* One attempt. A synchronous failure is returned without any callback. */
static int pl_connect(struct peerlink *pl)
{
	struct channel_client_opts o = {
		.id = pl->id,
		.pinned_server_id = pl->has_pinned ? pl->pinned : NULL,
		.role = pl->role,
		.region = pl->region,
		.wg_pubkey = pl->has_wg_pubkey ? pl->wg_pubkey : NULL,
		.handshake_ms = pl->handshake_ms,
	};
	int rc;

	rc = channel_connect(pl->loop, (const struct sockaddr *)&pl->addr, &o,
	                     &pl_channel_cbs, pl, &pl->ch);
	if (rc < 0) {
		pl->ch = NULL;
		return rc;
	}
	pl->state = PL_CONNECTING;
	return 0;
}

static void on_retry(uv_timer_t *t)
{
	struct peerlink *pl = t->data;
	int rc;

	if (pl->state != PL_WAITING)
		return;
	if ((rc = pl_connect(pl)) < 0)
		pl_down(pl, rc, "connect_failed");
}

static void on_ping(uv_timer_t *t)
{
	struct peerlink *pl = t->data;
	Supermesh__ControlMessage m;
	Supermesh__Ping ping;

	if (pl->state != PL_UP)
		return;
	supermesh__control_message__init(&m);
	supermesh__ping__init(&ping);
	ping.timestamp_ms = uv_now(pl->loop);
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PING;
	m.ping = &ping;
	msg_send(pl->ch, &m); /* a failed send closes the channel itself */
}

/*
 * Fires dead_ms after the last frame we knew of; a frame since then moves
 * the deadline instead of closing. libuv runs timers before polling I/O,
 * so after the loop itself stalled, frames may be waiting unread: the
 * verdict waits for one more poll (a 1 ms grace) before it closes.
 */
static void on_dead(uv_timer_t *t)
{
	struct peerlink *pl = t->data;
	uint64_t now = uv_now(pl->loop), last, idle;

	if (pl->state != PL_UP)
		return;
	last = channel_last_rx_ms(pl->ch);
	if (last < pl->up_at)
		last = pl->up_at;
	idle = now > last ? now - last : 0;
	if (idle < pl->dead_ms) {
		pl->dead_grace = 0;
		uv_timer_start(&pl->dead, on_dead, pl->dead_ms - idle, 0);
	} else if (!pl->dead_grace) {
		pl->dead_grace = 1;
		uv_timer_start(&pl->dead, on_dead, 1, 0);
	} else {
		channel_close(pl->ch, -ETIMEDOUT, "heartbeat_timeout");
	}
}

static void pl_on_open(struct channel *ch)
{
	struct peerlink *pl = channel_data(ch);
	uint64_t now = uv_now(pl->loop);

	if (pl->state != PL_CONNECTING)
		return;
	pl->state = PL_UP;
	pl->up_at = now;
	pl->dead_grace = 0;
	pl->connects++;
	backoff_up(&pl->bo, now);
	uv_timer_start(&pl->ping, on_ping, pl->ping_ms, pl->ping_ms);
	uv_timer_start(&pl->dead, on_dead, pl->dead_ms, 0);
	if (pl->cbs.on_up)
		pl->cbs.on_up(pl);
}

static void pl_answer_ping(struct peerlink *pl, const Supermesh__Ping *ping)
{
	Supermesh__ControlMessage m;
	Supermesh__Pong pong;

	supermesh__control_message__init(&m);
	supermesh__pong__init(&pong);
	pong.timestamp_ms = ping->timestamp_ms;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PONG;
	m.pong = &pong;
	msg_send(pl->ch, &m);
}

static void pl_on_message(struct channel *ch, const uint8_t *data, size_t len)
{
	struct peerlink *pl = channel_data(ch);
	Supermesh__ControlMessage *m;
	uint64_t now = uv_now(pl->loop);

	if (pl->state != PL_UP)
		return;
	if (!(m = msg_unpack(data, len))) {
		channel_close(ch, -EPROTO, "bad_message");
		return;
	}
	switch (m->body_case) {
	case SUPERMESH__CONTROL_MESSAGE__BODY_PING:
		pl_answer_ping(pl, m->ping);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_PONG:
		/* Only our own timestamps come back; one from the future is not. */
		if (m->pong->timestamp_ms <= now)
			pl->rtt_ms = (int64_t)(now - m->pong->timestamp_ms);
		break;
	default:
		if (pl->cbs.on_message)
			pl->cbs.on_message(pl, m); /* pl outlives a peerlink_free here */
	}
	msg_free(m);
}

static void pl_on_close(struct channel *ch, int status, const char *reason)
{
	struct peerlink *pl = channel_data(ch);

	pl->ch = NULL;
	if (pl->state == PL_FREEING) {
		pl_release(pl);
		return;
	}
	pl_down(pl, status, reason);
}

static int pl_copy_opts(struct peerlink *pl, const struct peerlink_opts *o)
{
	socklen_t alen;

	if (!o->id || !o->addr)
		return -EINVAL;
	if (o->addr->sa_family == AF_INET)
		alen = sizeof(struct sockaddr_in);
	else if (o->addr->sa_family == AF_INET6)
		alen = sizeof(struct sockaddr_in6);
	else
		return -EAFNOSUPPORT;
	memcpy(&pl->addr, o->addr, alen);
	if (!(pl->region = strdup(o->region ? o->region : "")))
		return -ENOMEM;
	if (o->pinned_server_id) {
		memcpy(pl->pinned, o->pinned_server_id, ID_PK_LEN);
		pl->has_pinned = 1;
	}
	if (o->wg_pubkey) {
		memcpy(pl->wg_pubkey, o->wg_pubkey, sizeof(pl->wg_pubkey));
		pl->has_wg_pubkey = 1;
	}
	pl->id = o->id;
	pl->role = o->role;
	pl->ping_ms = o->ping_ms ? o->ping_ms : DEFAULT_PING_MS;
	pl->dead_ms = o->dead_ms ? o->dead_ms : DEFAULT_DEAD_MS;
	pl->handshake_ms = o->handshake_ms;
	backoff_init(&pl->bo, o->backoff_base_ms ? o->backoff_base_ms : BACKOFF_BASE_MS,
	             o->backoff_cap_ms ? o->backoff_cap_ms : BACKOFF_CAP_MS, BACKOFF_RESET_MS);
	return 0;
}

static void pl_timers_init(struct peerlink *pl)
{
	uv_timer_t *timers[PL_TIMERS] = { &pl->retry, &pl->ping, &pl->dead };
	int i;

	for (i = 0; i < PL_TIMERS; i++) {
		uv_timer_init(pl->loop, timers[i]); /* cannot fail */
		timers[i]->data = pl;
	}
	pl->pending = PL_TIMERS;
}

static void pl_timers_close(struct peerlink *pl)
{
	uv_close((uv_handle_t *)&pl->retry, on_timer_closed);
	uv_close((uv_handle_t *)&pl->ping, on_timer_closed);
	uv_close((uv_handle_t *)&pl->dead, on_timer_closed);
}

int peerlink_new(uv_loop_t *loop, const struct peerlink_opts *opts,
                 const struct peerlink_cbs *cbs, void *data, struct peerlink **out)
{
	struct peerlink *pl;
	int rc;

	if (!loop || !opts || !cbs || !out)
		return -EINVAL;
	if (!(pl = calloc(1, sizeof(*pl))))
		return -ENOMEM;
	pl->loop = loop;
	pl->cbs = *cbs;
	pl->data = data;
	pl->rtt_ms = -1;
	/* Bad options (a region too long, say) surface here, not as retries;
	 * no channel callback runs before the loop does, so the timers can
	 * follow, and a failure leaves nothing in the loop. */
	if ((rc = pl_copy_opts(pl, opts)) < 0 || (rc = pl_connect(pl)) < 0)
		goto out;
	pl_timers_init(pl);
	*out = pl;
	return 0;
out:
	free(pl->region);
	free(pl);
	return rc;
}

void peerlink_free(struct peerlink *pl)
{
	if (!pl || pl->state == PL_FREEING)
		return;
	pl->state = PL_FREEING;
	pl_timers_close(pl);
	if (pl->ch) {
		pl->pending++; /* released by pl_on_close, which then stays silent */
		channel_close(pl->ch, 0, "peerlink_free");
	}
}

int peerlink_send(struct peerlink *pl, const Supermesh__ControlMessage *m)
{
	if (pl->state != PL_UP)
		return -ENOTCONN;
	return msg_send(pl->ch, m);
}

int peerlink_is_up(const struct peerlink *pl)
{
	return pl->state == PL_UP;
}

void *peerlink_data(const struct peerlink *pl)
{
	return pl->data;
}

int64_t peerlink_rtt_ms(const struct peerlink *pl)
{
	return pl->rtt_ms;
}

const uint8_t *peerlink_session_id(const struct peerlink *pl)
{
	return pl->state == PL_UP ? channel_session_id(pl->ch) : NULL;
}

int peerlink_local_endpoint(const struct peerlink *pl, unsigned port, char *out, size_t size)
{
	struct sockaddr_storage ss;
	int rc;

	if (port == 0 || port > 65535 || size == 0)
		return -EINVAL;
	if (pl->state != PL_UP)
		return -ENOTCONN;
	if ((rc = channel_local_addr(pl->ch, &ss)) < 0)
		return rc;
	if (ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&ss)->sin6_addr)) {
		struct sockaddr_in s4; /* as a peer's IPv4 packets are seen */

		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		memcpy(&s4.sin_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr[12], 4);
		memcpy(&ss, &s4, sizeof(s4));
	}
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	return netaddr_text((const struct sockaddr *)&ss, out, size);
}

uint64_t peerlink_connects(const struct peerlink *pl)
{
	return pl->connects;
}
