/* Relay internals shared by relay.c (sessions, forwarding) and relay_flush.c
 * (holding datagrams for a side with no peer yet). */
#ifndef WGRELAY_RELAY_INT_H
#define WGRELAY_RELAY_INT_H

#include "relay.h"
#include "relay_hold.h"
#include "token_bucket.h"

enum { SIDE_CLIENT, SIDE_EXIT };

struct relay_side {
	uv_poll_t poll;
	int fd;              /* -1 once closed */
	int polling;         /* poll initialised: must be uv_close()d */
	uint16_t port;
	int has_peer;        /* latched, or fixed by `to` */
	struct sockaddr_storage peer;
	socklen_t peer_len;
};

struct relay_session {
	struct relay_session *next;
	struct relay_table *table;          /* not used once closing */
	char id[RELAY_ID_MAX + 1];
	struct relay_opts opts;
	struct relay_side side[2];          /* SIDE_CLIENT, SIDE_EXIT */
	struct token_bucket bucket[2];      /* by enum relay_dir */
	uint64_t bytes[2], packets[2];      /* forwarded, by enum relay_dir */
	struct relay_drops drops;
	struct relay_hold *hold[2];         /* by enum relay_dir; NULL: none */
	uint64_t held, flushed, expired;
	int handles;                        /* open uv handles; free at 0 */
};

struct relay_table {
	uv_loop_t *loop;
	struct sockaddr_storage bind;
	socklen_t bind_len;
	struct relay_session *head;
	uint64_t nsessions;
	struct relay_totals gone; /* counters of deleted sessions */
	uv_timer_t *sweep;        /* expires held datagrams; freed on close */
	/* One set of batch buffers for all sessions: callbacks never overlap. */
	struct mmsghdr rx[RELAY_BATCH], tx[RELAY_BATCH];
	struct iovec rxiov[RELAY_BATCH], txiov[RELAY_BATCH];
	struct sockaddr_storage from[RELAY_BATCH];
	unsigned char buf[RELAY_BATCH][RELAY_DGRAM_MAX];
};

/* relay.c: sends t->tx[0..m) to dst, counting what went and what was dropped. */
void relay_send_batch(struct relay_table *t, struct relay_session *s,
                      struct relay_side *dst, enum relay_dir dir, int m);
/* relay_flush.c: a datagram for a side with no peer yet (held or dropped). */
void relay_nodest(struct relay_table *t, struct relay_session *s, enum relay_dir dir,
                  const void *data, size_t len, uint64_t now);
/* relay_flush.c: whether datagrams younger than the hold time wait for side
 * `to` (older ones are expired now). */
int relay_held_for(struct relay_session *s, int to, uint64_t now);
/* relay_flush.c: side `to` has just latched; sends on what was held for it. */
void relay_flush(struct relay_table *t, struct relay_session *s, int to);

#endif
