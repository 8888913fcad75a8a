/* Log-line limiter for refusals: at most per_s lines a second per reason,
 * the rest counted and reported as one summary per reason and second, so a
 * flood cannot fill the journal. Pure (time passed in); the caller logs. */
#ifndef SM_LOGRL_H
#define SM_LOGRL_H

#include <stdint.h>

#define LOGRL_REASONS 16   /* distinct reasons; more share the last slot */
#define LOGRL_REASON_MAX 24

struct logrl_slot {
	char reason[LOGRL_REASON_MAX]; /* "": unused */
	uint64_t sec;                  /* the second n and suppressed count in */
	uint32_t n;                    /* lines allowed in sec */
	uint64_t suppressed;           /* lines refused in sec */
	uint64_t due;                  /* refused in seconds that are over */
};

struct logrl {
	uint32_t per_s;                /* 0: no limit */
	struct logrl_slot slot[LOGRL_REASONS];
};

void logrl_init(struct logrl *l, uint32_t per_s);

/* One line for reason at now_ms: 1 to log it, 0 to drop it (counted). */
int logrl_allow(struct logrl *l, const char *reason, uint64_t now_ms);

/* A summary owed at now_ms: 1 with *reason (valid until the next call)
 * and *count of lines dropped in seconds already over, reset; else 0.
 * Call until 0, e.g. from a timer, then log "event=log_suppressed". */
int logrl_summary(struct logrl *l, uint64_t now_ms, const char **reason, uint64_t *count);

#endif
