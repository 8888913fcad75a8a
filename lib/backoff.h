/* Reconnect delays: exponential backoff with full jitter (DESIGN section 3). */
#ifndef SM_BACKOFF_H
#define SM_BACKOFF_H

#include <stdint.h>

#define BACKOFF_BASE_MS 500
#define BACKOFF_CAP_MS 30000
#define BACKOFF_RESET_MS 60000

struct backoff {
	uint64_t base_ms;
	uint64_t cap_ms;
	uint64_t reset_ms;    /* a stream that lived this long resets the attempts */
	unsigned attempt;
	uint64_t up_since_ms; /* 0 while down */
};

void backoff_init(struct backoff *b, uint64_t base_ms, uint64_t cap_ms, uint64_t reset_ms);
/* Delay before the next attempt: uniform in [0, min(cap, base * 2^attempt)]. */
uint64_t backoff_next(struct backoff *b);
/* The stream came up at now_ms. */
void backoff_up(struct backoff *b, uint64_t now_ms);
/* The stream went down at now_ms; resets the attempts if it lived reset_ms. */
void backoff_down(struct backoff *b, uint64_t now_ms);

#endif
