/* The plan runner: requests go out one by one with line_request_async; a run
 * always has exactly one request in flight, so its memory is freed from the
 * reply callback and an abandoned run needs no handle of its own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "line_client.h"
#include "log.h"
#include "tunnel.h"

enum run_phase { PH_MAIN, PH_UNDO };

struct tunnel_run {
	uv_loop_t *loop;
	char sock[256];
	int timeout_ms;
	struct plan *p;
	size_t i;           /* PH_MAIN: step in flight; PH_UNDO: steps left to undo */
	enum run_phase phase;
	int status;
	char msg[LINE_MAX_LEN + 64];
	tunnel_done_fn done;
	void *arg;
	int abandoned;
};

static void send_next(struct tunnel_run *r);

static void finish(struct tunnel_run *r)
{
	if (!r->abandoned)
		r->done(r->arg, r->status, r->msg);
	free(r->p);
	free(r);
}

/* The reply's verdict: 0 for ok, else -EIO (err) or the transport's errno. */
static int verdict(int status, const char *reply)
{
	if (status < 0)
		return status;
	return line_reply_parse(reply, NULL, 0, NULL, 0) == 1 ? 0 : -EIO;
}

static void on_reply(void *arg, int status, const char *reply)
{
	struct tunnel_run *r = arg;
	struct plan_step *s;
	int rc = verdict(status, reply);

	if (r->abandoned) {
		finish(r);
		return;
	}
	if (r->phase == PH_UNDO) {
		if (rc < 0)
			log_warnx("event=undo_failed request=\"%s\" reply=\"%s\"",
			          r->p->steps[r->i].undo, reply ? reply : strerror(-rc));
		send_next(r);
		return;
	}
	s = &r->p->steps[r->i];
	if (rc == 0 && !s->cleanup)
		snprintf(r->msg, sizeof(r->msg), "%s", reply);
	if (rc < 0 && s->cleanup) {
		log_warnx("event=cleanup_failed request=\"%s\" reply=\"%s\"", s->req,
		          reply ? reply : strerror(-rc));
	} else if (rc < 0) {
		r->status = rc;
		snprintf(r->msg, sizeof(r->msg), "%s: %s", s->req, reply ? reply : strerror(-rc));
		r->phase = PH_UNDO; /* undo steps i-1 .. 0 */
	}
	if (r->phase == PH_MAIN)
		r->i++;
	send_next(r);
}

/* Issues the next request, skipping steps with nothing to undo. */
static void send_next(struct tunnel_run *r)
{
	const char *req = NULL;
	int rc;

	if (r->phase == PH_MAIN && r->i < r->p->n) {
		req = r->p->steps[r->i].req;
	} else if (r->phase == PH_UNDO) {
		while (r->i > 0 && !req) {
			r->i--;
			if (r->p->steps[r->i].undo[0] && !r->p->steps[r->i].cleanup)
				req = r->p->steps[r->i].undo;
		}
	}
	if (!req) {
		finish(r);
		return;
	}
	rc = line_request_async(r->loop, r->sock, req, r->timeout_ms, on_reply, r);
	if (rc < 0)
		on_reply(r, rc, NULL);
}

int tunnel_run_start(uv_loop_t *loop, const char *socket_path, int timeout_ms,
                     struct plan *p, tunnel_done_fn done, void *arg,
                     struct tunnel_run **out)
{
	struct tunnel_run *r;

	if (strlen(socket_path) >= sizeof(r->sock) || !(r = calloc(1, sizeof(*r)))) {
		free(p);
		return -EINVAL;
	}
	r->loop = loop;
	snprintf(r->sock, sizeof(r->sock), "%s", socket_path);
	r->timeout_ms = timeout_ms;
	r->p = p;
	r->done = done;
	r->arg = arg;
	*out = r;
	send_next(r);
	return 0;
}

void tunnel_run_abandon(struct tunnel_run *r)
{
	if (r)
		r->abandoned = 1;
}
