/* The path choice state machine (pathsel.h): one switch per event on the
 * state, all times from the caller, so every transition is unit-tested. */
#include <string.h>
#include "pathsel.h"

void pathsel_init(struct pathsel *p, const struct pathsel_opts *o)
{
	memset(p, 0, sizeof(*p));
	if (o)
		p->o = *o;
	if (!p->o.probe_ms)
		p->o.probe_ms = PATHSEL_PROBE_MS;
	if (!p->o.retry_base_ms)
		p->o.retry_base_ms = PATHSEL_RETRY_BASE_MS;
	if (!p->o.retry_cap_ms)
		p->o.retry_cap_ms = PATHSEL_RETRY_CAP_MS;
	if (!p->o.holddown_ms)
		p->o.holddown_ms = PATHSEL_HOLDDOWN_MS;
	if (!p->o.test_ms)
		p->o.test_ms = PATHSEL_TEST_MS;
	p->retry_ms = p->o.retry_base_ms;
}

static enum ps_action probe(struct pathsel *p, uint64_t now, int from_relay)
{
	p->state = PS_PROBING;
	p->from_relay = from_relay;
	p->probe_deadline_ms = now + p->o.probe_ms;
	p->next_try_ms = 0;
	return PA_TRY_DIRECT;
}

/* Direct failed (or its test did): schedule the next try and double. */
static void back_off(struct pathsel *p, uint64_t now)
{
	p->state = PS_RELAY;
	p->failed_at_ms = now;
	p->next_try_ms = p->punchable ? now + p->retry_ms : 0;
	p->retry_ms *= 2;
	if (p->retry_ms > p->o.retry_cap_ms)
		p->retry_ms = p->o.retry_cap_ms;
}

/* Onto the relay after direct failed. */
static enum ps_action to_relay(struct pathsel *p, uint64_t now)
{
	back_off(p, now);
	p->fallbacks++;
	return PA_USE_RELAY;
}

/* A retry from the relay: tested out of band first when both sides can. */
static enum ps_action retry(struct pathsel *p, uint64_t now)
{
	if (!p->o.can_test)
		return probe(p, now, 1);
	p->state = PS_TESTING;
	p->test_deadline_ms = now + p->o.test_ms;
	p->next_try_ms = 0;
	p->tests++;
	return PA_TEST_DIRECT;
}

/* Nothing was moved, so a failed test is no fallback: only the backoff. */
static enum ps_action test_failed(struct pathsel *p, uint64_t now)
{
	p->failed_punches++;
	p->test_deadline_ms = 0;
	back_off(p, now);
	return PA_NONE;
}

enum ps_action pathsel_test_result(struct pathsel *p, uint64_t now_ms, enum ps_test r)
{
	if (p->state != PS_TESTING)
		return PA_NONE;
	p->test_deadline_ms = 0;
	if (r == PT_FAILED)
		return test_failed(p, now_ms);
	if (!p->punchable) { /* an address changed meanwhile: direct cannot work */
		p->state = PS_RELAY;
		p->next_try_ms = 0;
		return PA_NONE;
	}
	if (r == PT_UNSUPPORTED)
		p->o.can_test = 0;
	return probe(p, now_ms, 1);
}

enum ps_action pathsel_start(struct pathsel *p, uint64_t now_ms, int punchable)
{
	p->punchable = punchable;
	if (punchable)
		return probe(p, now_ms, 0);
	p->state = PS_RELAY;
	p->next_try_ms = 0;
	return PA_USE_RELAY;
}

enum ps_action pathsel_handshake(struct pathsel *p, uint64_t now_ms)
{
	if (p->state != PS_PROBING)
		return PA_NONE;
	p->state = PS_DIRECT;
	if (p->from_relay)
		p->upgrades++;
	p->retry_ms = p->o.retry_base_ms;
	p->probe_deadline_ms = 0;
	return PA_NONE;
}

enum ps_action pathsel_direct_lost(struct pathsel *p, uint64_t now_ms)
{
	if (p->state != PS_DIRECT)
		return PA_NONE;
	return to_relay(p, now_ms);
}

enum ps_action pathsel_addr_change(struct pathsel *p, uint64_t now_ms, int punchable)
{
	uint64_t earliest;

	p->punchable = punchable;
	p->retry_ms = p->o.retry_base_ms;
	if (p->state != PS_RELAY)
		return PA_NONE;
	if (!punchable) {
		p->next_try_ms = 0;
		return PA_NONE;
	}
	/* New addresses deserve a prompt try, but not a flap right after a failure. */
	earliest = p->failed_at_ms ? p->failed_at_ms + p->o.holddown_ms : now_ms;
	p->next_try_ms = earliest > now_ms ? earliest : now_ms;
	return pathsel_tick(p, now_ms);
}

enum ps_action pathsel_tick(struct pathsel *p, uint64_t now_ms)
{
	switch (p->state) {
	case PS_PROBING:
		if (now_ms < p->probe_deadline_ms)
			return PA_NONE;
		p->failed_punches++;
		p->probe_deadline_ms = 0;
		return to_relay(p, now_ms);
	case PS_RELAY:
		if (!p->punchable || !p->next_try_ms || now_ms < p->next_try_ms)
			return PA_NONE;
		return retry(p, now_ms);
	case PS_TESTING:
		if (now_ms < p->test_deadline_ms)
			return PA_NONE;
		return test_failed(p, now_ms);
	default:
		return PA_NONE;
	}
}

uint64_t pathsel_due(const struct pathsel *p)
{
	if (p->state == PS_PROBING)
		return p->probe_deadline_ms;
	if (p->state == PS_RELAY && p->punchable)
		return p->next_try_ms;
	if (p->state == PS_TESTING)
		return p->test_deadline_ms;
	return 0;
}

const char *pathsel_state_name(enum ps_state s)
{
	static const char *const names[] = { "idle", "probing", "direct", "relay", "testing" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
