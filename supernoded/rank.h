/* Exit candidates and their ranking (pure): live first, then a public
 * endpoint (unless every path is relayed), then lower load, then lower RTT. */
#ifndef SN_RANK_H
#define SN_RANK_H

#include <stddef.h>
#include <stdint.h>
#include "keys.h"

#define RANK_HOST_MAX 128
#define RANK_RTT_UNKNOWN UINT32_MAX

struct rank_cand {
	uint8_t exit_id[ID_PK_LEN];
	uint8_t wg_pubkey[32];
	char endpoint[RANK_HOST_MAX]; /* public host:port, "" if none */
	int behind_nat;
	int live;
	uint32_t load_pct;
	uint32_t rtt_ms;              /* RANK_RTT_UNKNOWN sorts last */
	uint64_t bandwidth_bps;       /* 0: unknown */
	char observed[RANK_HOST_MAX]; /* reflectors' view of its WireGuard port, "" none */
	int nat_class;                /* enum nat_class of that view (NAT_UNKNOWN: none) */
};

/* What the client asked for; 0 fields mean "no limit". */
struct rank_want {
	uint64_t min_bw;
	uint32_t max_latency_ms;
	int force_relay;
};

/* 1 when the exit can be reached directly: a public endpoint, not NATed. */
int rank_is_public(const struct rank_cand *c);

/* Negative, 0 or positive like strcmp: a before b means a is better. */
int rank_cmp(const struct rank_cand *a, const struct rank_cand *b, int force_relay);

/*
 * Drops candidates that are dead or miss the wanted bandwidth or latency
 * (unknown values pass), then sorts the rest best first. Returns how many
 * remain at the front of c.
 */
size_t rank_sort(struct rank_cand *c, size_t n, const struct rank_want *want);

#endif
