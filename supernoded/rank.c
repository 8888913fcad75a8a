/* Ranking of exit candidates: pure, no clock, no sockets, so every order
 * decision is a unit test. */
#include <stdlib.h>
#include <string.h>
#include "rank.h"

int rank_is_public(const struct rank_cand *c)
{
	return c->endpoint[0] != '\0' && !c->behind_nat;
}

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

int rank_cmp(const struct rank_cand *a, const struct rank_cand *b, int force_relay)
{
	int d;

	if (a->live != b->live)
		return a->live ? -1 : 1;
	/* With force_relay every path is relayed, so being public buys nothing. */
	if (!force_relay && rank_is_public(a) != rank_is_public(b))
		return rank_is_public(a) ? -1 : 1;
	if ((d = cmp_u32(a->load_pct, b->load_pct)) != 0)
		return d;
	if ((d = cmp_u32(a->rtt_ms, b->rtt_ms)) != 0)
		return d;
	/* Ties by id so the order never depends on arrival order. */
	return memcmp(a->exit_id, b->exit_id, ID_PK_LEN);
}

static int fits(const struct rank_cand *c, const struct rank_want *w)
{
	if (!c->live)
		return 0;
	if (w->min_bw && c->bandwidth_bps && c->bandwidth_bps < w->min_bw)
		return 0;
	if (w->max_latency_ms && c->rtt_ms != RANK_RTT_UNKNOWN && c->rtt_ms > w->max_latency_ms)
		return 0;
	return 1;
}

size_t rank_sort(struct rank_cand *c, size_t n, const struct rank_want *want)
{
	struct rank_cand tmp;
	size_t i, j, kept = 0;

	for (i = 0; i < n; i++) {
		if (!fits(&c[i], want))
			continue;
		if (kept != i)
			c[kept] = c[i];
		kept++;
	}
	/* Insertion sort: lists are a few dozen exits at most. */
	for (i = 1; i < kept; i++) {
		tmp = c[i];
		for (j = i; j > 0 && rank_cmp(&tmp, &c[j - 1], want->force_relay) < 0; j--)
			c[j] = c[j - 1];
		c[j] = tmp;
	}
	return kept;
}
