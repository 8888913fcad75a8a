/* A token-bucket policer in bits per second, with time passed in so it is
 * pure and testable: the relay's per-session rate limit (DESIGN section 6). */
#ifndef WGRELAY_TOKEN_BUCKET_H
#define WGRELAY_TOKEN_BUCKET_H

#include <stddef.h>
#include <stdint.h>

/*
 * Burst: 50 ms of traffic at the rate, but never under 64 KiB. 50 ms is about
 * one WAN round trip, so a TCP flow inside the tunnel can fill its window
 * without being cut on every burst; the 64 KiB floor lets one receive batch of
 * full-size datagrams through at low rates.
 */
#define TOKEN_BUCKET_BURST_DIV 20                  /* rate / 20 = 50 ms */
#define TOKEN_BUCKET_BURST_MIN_BITS (64 * 1024 * 8)

struct token_bucket {
	uint64_t rate;      /* bits/s; 0: unlimited */
	uint64_t burst;     /* bits the bucket holds at most */
	uint64_t tokens;    /* whole bits available */
	uint64_t frac;      /* remainder in bit-nanoseconds, < 1e9 */
	uint64_t last_ns;   /* time of the last refill */
};

/* Starts full at now_ns. */
void token_bucket_init(struct token_bucket *tb, uint64_t rate_bps, uint64_t now_ns);

/* Burst in bits for a rate (0 for unlimited). */
uint64_t token_bucket_burst(uint64_t rate_bps);

/*
 * Refills for the time since the last call and takes bytes * 8 bits if
 * available. Returns 1 if the datagram may pass, 0 if it is over the budget
 * (a policer: nothing is taken then). Time going backwards refills nothing.
 */
int token_bucket_take(struct token_bucket *tb, size_t bytes, uint64_t now_ns);

#endif
