/* One out-of-band path test over wgrelay's probe verbs (probe_run.h): a
 * small chain start -> status (every 100 ms) -> stop, each step one
 * line_request_async, the timer between polls owned here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "command.h"
#include "daemon.h"
#include "keys.h"
#include "line.h"
#include "line_client.h"
#include "probe_run.h"

enum pr_step { PR_START, PR_STATUS, PR_STOP };

struct probe_run {
	uv_loop_t *loop;
	uv_timer_t timer;
	char socket[256];
	char iface[64];
	char peer[64];
	char hex[2 * PROBE_TOKEN_LEN + 1];
	int timeout_ms;
	uint32_t duration_ms;
	uint64_t started_ms, seen_ms;   /* loop times; seen_ms 0: not yet */
	enum pr_step step;
	probe_run_cb cb;
	void *arg;
	int busy;                       /* a request in flight */
	struct probe_run_result res;
};

static int printable(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= max || (unsigned char)s[i] <= 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return i > 0;
}

const char *probe_path_check(const Supermesh__ProbePath *p)
{
	struct sockaddr_storage ss;

	if (p->session_id.len != 16)
		return "bad session_id";
	if (p->token.len != PROBE_TOKEN_LEN)
		return "bad token";
	if (p->duration_ms < PROBE_MIN_MS || p->duration_ms > PROBE_MAX_MS)
		return "bad duration_ms";
	if (!p->peer_endpoint || !printable(p->peer_endpoint, 63) ||
	    daemon_parse_sockaddr(p->peer_endpoint, &ss) < 0)
		return "bad peer_endpoint";
	return NULL;
}

int probe_status_parse(const char *line, int *done, int *seen, char *from, size_t from_size)
{
	char copy[LINE_MAX_LEN + 1], *argv[LINE_MAX_ARGS];
	const char *why;
	int n, i, have_state = 0, have_seen = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	n = line_split(copy, strlen(copy), argv, LINE_MAX_ARGS, &why);
	if (n < 1 || strcmp(argv[0], "ok"))
		return -EPROTO;
	from[0] = '\0';
	for (i = 1; i < n; i++) {
		if (!strcmp(argv[i], "state=running") || !strcmp(argv[i], "state=done")) {
			*done = argv[i][6] == 'd';
			have_state = 1;
		} else if (!strcmp(argv[i], "seen=0") || !strcmp(argv[i], "seen=1")) {
			*seen = argv[i][5] == '1';
			have_seen = 1;
		} else if (!strncmp(argv[i], "from=", 5) && printable(argv[i] + 5, from_size - 1)) {
			snprintf(from, from_size, "%s", argv[i] + 5);
		}
	}
	return have_state && have_seen ? 0 : -EPROTO;
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

/* The chain is over: answer (unless cancelled) and go. */
static void finish(struct probe_run *r)
{
	if (r->cb)
		r->cb(r->arg, &r->res);
	uv_close((uv_handle_t *)&r->timer, on_closed);
}

static void fail(struct probe_run *r, const char *code, const char *msg)
{
	r->res.ok = 0;
	r->res.seen = 0;
	r->res.from[0] = '\0';
	snprintf(r->res.code, sizeof(r->res.code), "%s", code);
	snprintf(r->res.error, sizeof(r->res.error), "%s: %s", code, msg);
}

static void on_timer(uv_timer_t *t);
static void send_step(struct probe_run *r);

static void on_reply(void *arg, int status, const char *line)
{
	struct probe_run *r = arg;
	char code[32], msg[256];
	int rc = 0, done = 0, seen = 0;

	r->busy = 0;
	if (r->step == PR_STOP) {
		finish(r); /* a stop that failed leaves a probe that ends by itself */
		return;
	}
	if (status < 0 || !line) {
		fail(r, "io", strerror(status < 0 ? -status : EPROTO));
		goto stop;
	}
	if ((rc = line_reply_parse(line, code, sizeof(code), msg, sizeof(msg))) != 1) {
		if (rc < 0)
			fail(r, "io", "malformed reply");
		else
			fail(r, code, msg);
		goto stop;
	}
	if (!r->cb)
		goto stop; /* cancelled */
	if (r->step == PR_STATUS) {
		if (probe_status_parse(line, &done, &seen, r->res.from, sizeof(r->res.from)) < 0) {
			fail(r, "io", "malformed probe status");
			goto stop;
		}
		r->res.ok = 1;
		r->res.seen = seen;
		if (seen && !r->seen_ms)
			r->seen_ms = uv_now(r->loop);
		/* A wgrelay that never says done must not keep us forever. */
		if (done || (r->seen_ms && uv_now(r->loop) - r->seen_ms >= PROBE_LINGER_MS) ||
		    uv_now(r->loop) - r->started_ms > r->duration_ms + 2000u)
			goto stop;
	}
	r->step = PR_STATUS;
	uv_timer_start(&r->timer, on_timer, PROBE_POLL_MS, 0);
	return;
stop:
	r->step = PR_STOP;
	send_step(r);
}

/* "probe start IFACE TOKEN PEER ms N", "probe status TOKEN", "probe stop TOKEN" */
static void build_line(const struct probe_run *r, char *line, size_t size)
{
	char ms[16];
	const char *w[8];
	size_t i = 2, len;

	w[0] = "probe";
	w[1] = r->step == PR_START ? "start" : r->step == PR_STATUS ? "status" : "stop";
	if (r->step == PR_START)
		w[i++] = r->iface;
	w[i++] = r->hex;
	if (r->step == PR_START) {
		snprintf(ms, sizeof(ms), "%u", r->duration_ms);
		w[i++] = r->peer;
		w[i++] = "ms";
		w[i++] = ms;
	}
	w[i] = NULL;
	line[0] = '\0';
	for (i = 0; w[i]; i++) {
		len = strlen(line);
		if (i > 0 && len + 1 < size) { /* the separator must not be escaped */
			line[len++] = ' ';
			line[len] = '\0';
		}
		line_escape(line, size, w[i]); /* bounded words: always fits */
	}
}

static int request(struct probe_run *r)
{
	char line[LINE_MAX_LEN];
	int rc;

	build_line(r, line, sizeof(line));
	r->busy = 1;
	if ((rc = line_request_async(r->loop, r->socket, line, r->timeout_ms, on_reply, r)) < 0)
		r->busy = 0;
	return rc;
}

/* A later step that cannot even be sent ends the chain like a lost reply. */
static void send_step(struct probe_run *r)
{
	int rc = request(r);

	if (rc >= 0)
		return;
	if (r->step != PR_STOP)
		fail(r, "io", strerror(-rc));
	finish(r);
}

static void on_timer(uv_timer_t *t)
{
	send_step(t->data);
}

int probe_run_start(uv_loop_t *loop, const struct probe_run_req *req, probe_run_cb cb,
                    void *arg, struct probe_run **out)
{
	struct probe_run *r;
	int rc;

	if (!req->wgrelay_socket || !req->iface || !req->token || !req->peer_endpoint || !cb ||
	    strlen(req->wgrelay_socket) >= sizeof(r->socket) ||
	    !printable(req->iface, sizeof(r->iface) - 1) ||
	    !printable(req->peer_endpoint, sizeof(r->peer) - 1))
		return -EINVAL;
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->loop = loop;
	snprintf(r->socket, sizeof(r->socket), "%s", req->wgrelay_socket);
	snprintf(r->iface, sizeof(r->iface), "%s", req->iface);
	snprintf(r->peer, sizeof(r->peer), "%s", req->peer_endpoint);
	bytes_to_hex(req->token, PROBE_TOKEN_LEN, r->hex);
	r->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 5000;
	r->duration_ms = req->duration_ms;
	r->started_ms = uv_now(loop);
	r->cb = cb;
	r->arg = arg;
	r->step = PR_START;
	if ((rc = uv_timer_init(loop, &r->timer)) < 0) {
		free(r);
		return rc;
	}
	r->timer.data = r;
	if ((rc = request(r)) < 0) {
		r->cb = NULL;
		uv_close((uv_handle_t *)&r->timer, on_closed);
		return rc;
	}
	*out = r;
	return 0;
}

void probe_run_cancel(struct probe_run *r)
{
	if (!r || !r->cb)
		return;
	r->cb = NULL;
	if (!r->busy && r->step == PR_STATUS && uv_is_active((uv_handle_t *)&r->timer)) {
		uv_timer_stop(&r->timer);
		r->step = PR_STOP;
		send_step(r);
	}
}

void probe_run_outcome(const struct probe_run_result *r, struct cmd_outcome *out)
{
	Supermesh__ProbePathResult pr;
	char from[sizeof(r->from)];

	memset(out, 0, sizeof(*out));
	if (!r->ok) {
		snprintf(out->error, sizeof(out->error), "%s", r->error);
		return;
	}
	supermesh__probe_path_result__init(&pr);
	snprintf(from, sizeof(from), "%s", r->from);
	pr.seen = r->seen != 0;
	pr.from = from;
	/* A bool and 63 bytes of text: always below the 4096 of result. */
	out->result_len = supermesh__probe_path_result__pack(&pr, out->result);
	out->ok = 1;
}
