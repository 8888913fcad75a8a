/* A fake wgrelay for PROBE_PATH tests: the three probe verbs on a
 * lib/line_server, each request recorded as "start IFACE TOKEN PEER MS",
 * "status TOKEN" or "stop TOKEN", answers scripted per test. Static
 * functions: include once per test program (after check.h, line_server.h). */
#ifndef PROBE_FAKE_H
#define PROBE_FAKE_H

#include <unistd.h>

#define PF_REC 64

struct probe_fake {
	struct line_server *srv;
	char path[128];
	/* script */
	const char *start_err;  /* e.g. "perm": "probe start" answers err */
	const char *status_err; /* "probe status" answers err */
	int seen_after;         /* status says seen=1 from this poll on; 0: never */
	int done_after;         /* and state=done from this poll on; 0: never */
	/* record */
	char log[PF_REC][160];
	int n, starts, statuses, stops;
};

static void pf_rec(struct probe_fake *f, const char *fmt, const char *a, const char *b,
                   const char *c, const char *d)
{
	if (f->n < PF_REC)
		snprintf(f->log[f->n++], sizeof(f->log[0]), fmt, a, b, c, d);
}

static void pf_start(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct probe_fake *f = ctx;

	pf_rec(f, "start %s %s %s %s", argv[0], argv[1], argv[2], argc == 5 ? argv[4] : "-");
	f->starts++;
	if (f->start_err)
		line_reply_err(r, f->start_err, "scripted failure");
}

static void pf_status(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct probe_fake *f = ctx;
	int seen, done;

	pf_rec(f, "status %s%s%s%s", argv[0], "", "", "");
	f->statuses++;
	if (f->status_err) {
		line_reply_err(r, f->status_err, "scripted failure");
		return;
	}
	seen = f->seen_after && f->statuses >= f->seen_after;
	done = f->done_after && f->statuses >= f->done_after;
	line_reply_kv(r, "state", done ? "done" : "running");
	line_reply_kvf(r, "seen", "%d", seen);
	if (seen)
		line_reply_kv(r, "from", "198.51.100.7:4500");
	line_reply_kvf(r, "sent", "%d", f->statuses);
}

static void pf_stop(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct probe_fake *f = ctx;

	pf_rec(f, "stop %s%s%s%s", argv[0], "", "", "");
	f->stops++;
}

static const struct verb pf_verbs[] = {
	{ "probe start", 3, 5, pf_start, "NAME TOKEN HOST:PORT [ms M]" },
	{ "probe status", 1, 1, pf_status, "TOKEN" },
	{ "probe stop", 1, 1, pf_stop, "TOKEN" },
	{ NULL, 0, 0, NULL, NULL },
};

static void pf_start_server(struct probe_fake *f, uv_loop_t *l, const char *dir)
{
	struct line_server_opts lo = { 0 };

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s/wgrelay.sock", dir);
	lo.path = f->path;
	lo.allow_uid = getuid();
	lo.allow_gid = (gid_t)-1;
	ck_assert_int_eq(line_server_new(l, &lo, pf_verbs, f, &f->srv), 0);
}

/* The whole sequence one test must have produced: start, polls, one stop. */
static void pf_assert_sequence(const struct probe_fake *f, const char *iface,
                               const char *hex, const char *peer, const char *ms)
{
	char want[160];
	int i;

	ck_assert_int_ge(f->n, 2);
	snprintf(want, sizeof(want), "start %s %s %s %s", iface, hex, peer, ms);
	ck_assert_str_eq(f->log[0], want);
	snprintf(want, sizeof(want), "status %s", hex);
	for (i = 1; i < f->n - 1; i++)
		ck_assert_str_eq(f->log[i], want);
	snprintf(want, sizeof(want), "stop %s", hex);
	ck_assert_str_eq(f->log[f->n - 1], want);
	ck_assert_int_eq(f->stops, 1);
}

#endif
