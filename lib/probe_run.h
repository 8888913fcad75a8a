/* PROBE_PATH on a client or exit: the checks on the command, and the one
 * out-of-band path test through wgrelay ("probe start", "probe status"
 * every 100 ms until the other side's probe was seen or the probe is done,
 * then "probe stop") that clientd and exitpeerd both run. */
#ifndef SM_PROBE_RUN_H
#define SM_PROBE_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "control.pb-c.h"

#define PROBE_TOKEN_LEN 16
#define PROBE_MIN_MS 100
#define PROBE_MAX_MS 5000
#define PROBE_POLL_MS 100
/* After the first probe from the other side, keep sending a little longer:
 * ours may still be on the way out of a NAT that only just opened. */
#define PROBE_LINGER_MS 300

/* NULL if p is a well-formed ProbePath (16-byte session id and token,
 * numeric IP:port, duration 100..5000 ms), else a static reason. */
const char *probe_path_check(const Supermesh__ProbePath *p);

struct probe_run_req {
	const char *wgrelay_socket;
	int timeout_ms;                 /* per helper request */
	const char *iface;              /* the WireGuard interface the session's peer is on */
	const uint8_t *token;           /* PROBE_TOKEN_LEN bytes */
	const char *peer_endpoint;
	uint32_t duration_ms;
};

struct probe_run_result {
	int ok;                         /* 1: the test ran; seen says how it went */
	int seen;
	char from[64];                  /* where the other side's probe came from */
	char code[32];                  /* !ok: wgrelay's err code, or "io" */
	char error[256];                /* !ok: "code: message" */
};

typedef void (*probe_run_cb)(void *arg, const struct probe_run_result *r);

struct probe_run;

/* Starts the test; cb runs exactly once on the loop (unless cancelled).
 * 0 and *out, or a negative errno without calling cb. */
int probe_run_start(uv_loop_t *loop, const struct probe_run_req *req, probe_run_cb cb,
                    void *arg, struct probe_run **out);
/* cb will not run; the probe is still stopped and the runner frees itself
 * once its request in flight is answered (run the loop). */
void probe_run_cancel(struct probe_run *r);

struct cmd_outcome;
/* The CommandResponse for r: ok with an encoded ProbePathResult, or not ok
 * with wgrelay's "code: message" (so "perm: ..." says it cannot test). */
void probe_run_outcome(const struct probe_run_result *r, struct cmd_outcome *out);

/* The wgrelay words of a "probe status" reply: 0, or -EPROTO. */
int probe_status_parse(const char *line, int *done, int *seen, char *from, size_t from_size);

#endif
