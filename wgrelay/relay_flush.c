/* Holding datagrams for a side with no peer yet (relay_hold.h), sending them
 * on when it latches, and the table's sweep that expires the old ones. */
#include <stdint.h>
#include "relay_int.h"

/* The expiry sweep runs at most this often, so a trickle of held datagrams
 * does not wake the loop for each one; a flush checks ages exactly anyway. */
#define RELAY_SWEEP_MIN_MS 100

/*
 * Only datagrams for the exit side are held: the client's first one is its
 * WireGuard handshake initiation, which can beat the exit's first keepalive
 * to the relay, and losing it costs WireGuard's 5 s handshake retry. The
 * client side needs no queue: the client speaks first once it connects, and
 * what the exit sent before that are keepalives it repeats anyway.
 */
static int relay_holds(enum relay_dir dir)
{
	return dir == RELAY_C2E;
}

static void relay_on_sweep(uv_timer_t *h);

/* Wakes the sweep when the oldest held datagram comes of age. */
static void relay_sweep_arm(struct relay_table *t, uint64_t oldest, uint64_t now)
{
	uint64_t due = oldest + RELAY_HOLD_NS, ms = 0;

	if (due > now)
		ms = (due - now + 999999) / 1000000;
	if (ms < RELAY_SWEEP_MIN_MS)
		ms = RELAY_SWEEP_MIN_MS;
	uv_update_time(t->loop);
	uv_timer_start(t->sweep, relay_on_sweep, ms, 0);
}

static void relay_expire(struct relay_session *s, int dir, uint64_t now)
{
	unsigned n = relay_hold_expire(&s->hold[dir], now);

	s->expired += n;
	s->drops.nodest += n;
}

static void relay_on_sweep(uv_timer_t *h)
{
	struct relay_table *t = h->data;
	struct relay_session *s;
	uint64_t now = uv_hrtime(), oldest = UINT64_MAX;
	int d;

	for (s = t->head; s != NULL; s = s->next)
		for (d = 0; d < 2; d++) {
			relay_expire(s, d, now);
			if (s->hold[d] != NULL && relay_hold_oldest(s->hold[d]) < oldest)
				oldest = relay_hold_oldest(s->hold[d]);
		}
	if (oldest != UINT64_MAX)
		relay_sweep_arm(t, oldest, now);
}

/* A datagram for a side with no peer yet: held if that side holds. */
void relay_nodest(struct relay_table *t, struct relay_session *s, enum relay_dir dir,
                         const void *data, size_t len, uint64_t now)
{
	int rc;

	if (!relay_holds(dir)) {
		s->drops.nodest++;
		return;
	}
	rc = relay_hold_push(&s->hold[dir], data, len, now);
	if (rc < 0) {
		s->drops.nodest++;
		return;
	}
	s->held++;
	s->drops.nodest += (unsigned)rc; /* the oldest, pushed out of a full queue */
	if (!uv_is_active((uv_handle_t *)t->sweep))
		relay_sweep_arm(t, now, now);
}

/*
 * Called as side `to` latches. If datagrams wait for it, the datagram that
 * latches it is not forwarded: the relay replays the usual order, exit first
 * (its opener dropped, the client unknown yet), then the client's held ones.
 * Forwarding both openers crosses two WireGuard handshake initiations, and
 * wireguard-go keeps one handshake per peer, so each side drops the other's
 * response and both wait out the 5 s retry: the very delay holding avoids.
 */
int relay_held_for(struct relay_session *s, int to, uint64_t now)
{
	enum relay_dir dir = to == SIDE_EXIT ? RELAY_C2E : RELAY_E2C;

	relay_expire(s, dir, now);
	return relay_hold_count(s->hold[dir]) > 0;
}

/* Side `to` has just latched: sends on what was held for it, oldest first,
 * through the same rate limit, then frees the queue. */
void relay_flush(struct relay_table *t, struct relay_session *s, int to)
{
	enum relay_dir dir = to == SIDE_EXIT ? RELAY_C2E : RELAY_E2C;
	struct relay_side *dst = &s->side[to];
	uint64_t now = uv_hrtime();
	unsigned i, n;
	size_t len;
	int m = 0;

	relay_expire(s, dir, now);
	n = relay_hold_count(s->hold[dir]);
	for (i = 0; i < n; i++) {
		t->txiov[m].iov_base = relay_hold_get(s->hold[dir], i, &len);
		if (!token_bucket_take(&s->bucket[dir], len, now)) {
			s->drops.rate++;
			continue;
		}
		t->txiov[m].iov_len = len;
		t->tx[m].msg_hdr.msg_name = &dst->peer;
		t->tx[m].msg_hdr.msg_namelen = dst->peer_len;
		m++;
	}
	s->flushed += (unsigned)m;
	if (m > 0)
		relay_send_batch(t, s, dst, dir, m);
	relay_hold_free(&s->hold[dir]);
}
