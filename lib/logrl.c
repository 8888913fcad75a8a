/* Refusal log limiter (logrl.h): a fixed table of reasons, one window of
 * one second each. */
#include <stdio.h>
#include <string.h>
#include "logrl.h"

void logrl_init(struct logrl *l, uint32_t per_s)
{
	memset(l, 0, sizeof(*l));
	l->per_s = per_s;
}

static struct logrl_slot *slot_for(struct logrl *l, const char *reason)
{
	size_t i;

	for (i = 0; i < LOGRL_REASONS - 1 && l->slot[i].reason[0]; i++)
		if (strncmp(l->slot[i].reason, reason, LOGRL_REASON_MAX - 1) == 0)
			return &l->slot[i];
	if (!l->slot[i].reason[0])
		snprintf(l->slot[i].reason, sizeof(l->slot[i].reason), "%s",
		         i == LOGRL_REASONS - 1 ? "other" : reason);
	return &l->slot[i];
}

/* Starts sec's window, owing what the old one dropped. */
static void roll(struct logrl_slot *s, uint64_t sec)
{
	if (s->sec == sec)
		return;
	s->due += s->suppressed;
	s->suppressed = 0;
	s->n = 0;
	s->sec = sec;
}

int logrl_allow(struct logrl *l, const char *reason, uint64_t now_ms)
{
	struct logrl_slot *s;

	if (!l->per_s)
		return 1;
	s = slot_for(l, reason[0] ? reason : "-");
	roll(s, now_ms / 1000);
	if (s->n < l->per_s) {
		s->n++;
		return 1;
	}
	s->suppressed++;
	return 0;
}

int logrl_summary(struct logrl *l, uint64_t now_ms, const char **reason, uint64_t *count)
{
	size_t i;

	for (i = 0; i < LOGRL_REASONS && l->slot[i].reason[0]; i++) {
		struct logrl_slot *s = &l->slot[i];

		roll(s, now_ms / 1000);
		if (!s->due)
			continue;
		*reason = s->reason;
		*count = s->due;
		s->due = 0;
		return 1;
	}
	return 0;
}
