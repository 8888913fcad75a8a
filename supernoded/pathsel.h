/* Path choice for one session (pure, injected clock): direct first where it
 * can work, the relay when no handshake comes within probe_ms, direct
 * retried from the relay on a doubling backoff, with a hold-down so a path
 * that just failed is not tried again at once. With can_test, a retry from
 * the relay is first tested out of band (PROBE_PATH) and the peers are only
 * moved when the test passed, so a failed retry never stalls the traffic. */
#ifndef SN_PATHSEL_H
#define SN_PATHSEL_H

#include <stdint.h>

#define PATHSEL_PROBE_MS 5000
#define PATHSEL_RETRY_BASE_MS 60000
#define PATHSEL_RETRY_CAP_MS 3600000
#define PATHSEL_HOLDDOWN_MS 10000
#define PATHSEL_TEST_MS 30000 /* a test with no result by then failed */

enum ps_state {
	PS_IDLE,     /* not started */
	PS_PROBING,  /* both sides told each other's endpoint; waiting for a handshake */
	PS_DIRECT,   /* a handshake went over the direct path */
	PS_RELAY,    /* on the relay; direct retried at next_try_ms (0: never) */
	PS_TESTING,  /* still on the relay; both sides probe each other out of band */
};

/* What the owner must do now. */
enum ps_action {
	PA_NONE,
	PA_TRY_DIRECT, /* give both sides each other's public endpoint, keepalive */
	PA_USE_RELAY,  /* point both sides at the relay */
	PA_TEST_DIRECT, /* ask both sides to probe each other; pathsel_test_result */
};

struct pathsel_opts {
	uint64_t probe_ms, retry_base_ms, retry_cap_ms, holddown_ms; /* 0: defaults */
	int can_test;                /* retries from the relay test first */
	uint64_t test_ms;            /* deadline of a test; 0: PATHSEL_TEST_MS */
};

struct pathsel {
	struct pathsel_opts o;
	enum ps_state state;
	int punchable;           /* both sides' NAT allows a direct path */
	int from_relay;          /* the probe started while on the relay */
	uint64_t probe_deadline_ms;
	uint64_t next_try_ms;
	uint64_t retry_ms;       /* the next backoff step */
	uint64_t failed_at_ms;   /* last time direct failed; 0: never */
	uint64_t upgrades;       /* relay -> direct */
	uint64_t fallbacks;      /* direct (or a direct attempt) -> relay */
	uint64_t failed_punches; /* probes that saw no handshake in time, failed tests */
	uint64_t test_deadline_ms;
	uint64_t tests;          /* tests started */
};

void pathsel_init(struct pathsel *p, const struct pathsel_opts *o);
/* The session starts; punchable: direct can work. PA_TRY_DIRECT or PA_USE_RELAY. */
enum ps_action pathsel_start(struct pathsel *p, uint64_t now_ms, int punchable);
/* A handshake completed over the direct endpoints (only meaningful while
 * probing; ignored otherwise). */
enum ps_action pathsel_handshake(struct pathsel *p, uint64_t now_ms);
/* The direct path stopped working (handshakes stale). PA_USE_RELAY if direct. */
enum ps_action pathsel_direct_lost(struct pathsel *p, uint64_t now_ms);
/* A side's public endpoint or NAT class changed: the backoff starts over
 * (still no sooner than the hold-down after the last failure). */
enum ps_action pathsel_addr_change(struct pathsel *p, uint64_t now_ms, int punchable);
/* How a test ended: both sides saw each other's probes, not, or a side
 * cannot test (no privilege, an older peer: testing is off for good). */
enum ps_test { PT_OK, PT_FAILED, PT_UNSUPPORTED };
/* The test's outcome (ignored unless testing): PT_OK and PT_UNSUPPORTED
 * give PA_TRY_DIRECT, PT_FAILED stays on the relay with the backoff doubled. */
enum ps_action pathsel_test_result(struct pathsel *p, uint64_t now_ms, enum ps_test r);
/* Timers: the probe and test deadlines, and the retry time. */
enum ps_action pathsel_tick(struct pathsel *p, uint64_t now_ms);
/* When pathsel_tick next has something to do; 0: nothing pending. */
uint64_t pathsel_due(const struct pathsel *p);

const char *pathsel_state_name(enum ps_state s);

#endif
