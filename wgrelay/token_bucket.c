/* Token-bucket policer with exact integer math: whole bits plus a remainder in
 * bit-nanoseconds, so no rounding drift however often it is called. */
#include "token_bucket.h"

#define NS_PER_S 1000000000ULL

uint64_t token_bucket_burst(uint64_t rate_bps)
{
	uint64_t b = rate_bps / TOKEN_BUCKET_BURST_DIV;

	if (rate_bps == 0)
		return 0;
	return b > TOKEN_BUCKET_BURST_MIN_BITS ? b : TOKEN_BUCKET_BURST_MIN_BITS;
}

void token_bucket_init(struct token_bucket *tb, uint64_t rate_bps, uint64_t now_ns)
{
	tb->rate = rate_bps;
	tb->burst = token_bucket_burst(rate_bps);
	tb->tokens = tb->burst;
	tb->frac = 0;
	tb->last_ns = now_ns;
}

/* Adds the tokens earned since last_ns; full when they reach the burst. */
static void token_bucket_refill(struct token_bucket *tb, uint64_t now_ns)
{
	uint64_t dt, add, whole;

	if (now_ns <= tb->last_ns)
		return;
	dt = now_ns - tb->last_ns;
	tb->last_ns = now_ns;
	/* dt * rate in bit-ns; if that overflows, far more than a burst accrued. */
	if (dt > (UINT64_MAX - tb->frac) / tb->rate)
		goto full;
	add = dt * tb->rate + tb->frac;
	whole = add / NS_PER_S;
	tb->frac = add % NS_PER_S;
	if (whole >= tb->burst - tb->tokens)
		goto full;
	tb->tokens += whole;
	return;
full:
	tb->tokens = tb->burst;
	tb->frac = 0;
}

int token_bucket_take(struct token_bucket *tb, size_t bytes, uint64_t now_ns)
{
	uint64_t need;

	if (tb->rate == 0)
		return 1;
	token_bucket_refill(tb, now_ns);
	if (bytes > UINT64_MAX / 8)
		return 0;
	need = (uint64_t)bytes * 8;
	if (need > tb->tokens)
		return 0;
	tb->tokens -= need;
	return 1;
}
