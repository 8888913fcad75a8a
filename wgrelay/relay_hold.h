/* A relay session's hold queue: the last few datagrams that arrived for a side
 * with no peer yet, kept in order until it latches or they grow too old. */
#ifndef WGRELAY_RELAY_HOLD_H
#define WGRELAY_RELAY_HOLD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bounds per session and direction. 8 datagrams / 16 KiB hold a few
 * WireGuard handshake initiations (148 bytes) and the first data packets
 * behind them; 2 s is well under WireGuard's 5 s handshake retry, and older
 * ones are stale to the peer anyway.
 */
#define RELAY_HOLD_MAX 8
#define RELAY_HOLD_BYTES (16 * 1024)
#define RELAY_HOLD_MS 2000
#define RELAY_HOLD_NS ((uint64_t)RELAY_HOLD_MS * 1000000)

struct relay_hold;

/*
 * Appends a copy of the datagram, received at now_ns; *q is allocated on the
 * first one. Returns how many of the oldest were dropped to make room (>= 0),
 * or -ENOMEM (the datagram is not held then).
 */
int relay_hold_push(struct relay_hold **q, const void *data, size_t len, uint64_t now_ns);
/* Drops the datagrams held RELAY_HOLD_NS or longer; frees *q (NULL) when it
 * is left empty. Returns how many were dropped. */
unsigned relay_hold_expire(struct relay_hold **q, uint64_t now_ns);
/* How many are held; 0 for NULL. */
unsigned relay_hold_count(const struct relay_hold *q);
/* The i-th held datagram, oldest first (i < count). */
void *relay_hold_get(struct relay_hold *q, unsigned i, size_t *len);
/* Arrival time of the oldest; q must hold one. */
uint64_t relay_hold_oldest(const struct relay_hold *q);
/* Frees the queue and what it holds; *q becomes NULL. */
void relay_hold_free(struct relay_hold **q);

#endif
