/* Fixture of lib/line_server.c's and lib/line_client.c's tests: a real
 * server on a temp socket with a small verb table, driven step by step on
 * one loop; raw and async clients, a socket nobody serves. Static
 * functions: include once per test program. */
#ifndef LINE_SERVER_FIXTURE_H
#define LINE_SERVER_FIXTURE_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "line_client.h"
#include "line_server.h"

static uv_loop_t loop;
static uv_timer_t tick; /* keeps UV_RUN_ONCE returning while we poll */
static char dir[64], path[128];

struct ctx {
	struct line_server *srv;
	int calls;
};

static void v_list(void *c, int argc, char **argv, struct line_reply *r)
{
	struct ctx *ctx = c;

	line_reply_kvf(r, "calls", "%d", ++ctx->calls);
}

static void v_echo(void *c, int argc, char **argv, struct line_reply *r)
{
	int i;

	for (i = 0; i < argc; i++)
		line_reply_kv(r, "w", argv[i]);
}

static void v_big(void *c, int argc, char **argv, struct line_reply *r)
{
	static char pad[4001];

	memset(pad, 'p', sizeof(pad) - 1);
	line_reply_kv(r, "seq", argv[0]);
	line_reply_kv(r, "pad", pad);
}

static void v_quit(void *c, int argc, char **argv, struct line_reply *r)
{
	struct ctx *ctx = c;

	line_server_free(ctx->srv);
	ctx->srv = NULL;
}

static void v_fail(void *c, int argc, char **argv, struct line_reply *r)
{
	line_reply_err(r, LINE_EINVAL, "nope");
}

static const struct verb table[] = {
	{ "list", 0, 0, v_list, "" },
	{ "echo", 0, -1, v_echo, "[WORD...]" },
	{ "big", 1, 2, v_big, "SEQ [PAD]" },
	{ "quit", 0, 0, v_quit, "" },
	{ "fail", 0, 0, v_fail, "" },
	{ NULL, 0, 0, NULL, NULL },
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tick_cb(uv_timer_t *t)
{
}

static void start(void)
{
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, tick_cb, 5, 5);
	snprintf(dir, sizeof(dir), "/tmp/test_line_server.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
}

/* Runs the loop until cond(arg) holds; fails the test after 5 s. */
static void spin(int (*cond)(void *), void *arg)
{
	int64_t deadline = now_ms() + 5000;

	while (!cond(arg)) {
		ck_assert_msg(now_ms() < deadline, "timed out");
		uv_run(&loop, UV_RUN_ONCE);
	}
}

static void finish(void)
{
	int i;

	uv_close((uv_handle_t *)&tick, NULL);
	for (i = 0; i < 10; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);
}

static struct line_server *serve(struct ctx *ctx, int max_clients)
{
	struct line_server_opts o = {
		.path = path, .mode = 0660, .allow_uid = getuid(),
		.allow_gid = (gid_t)-1, .max_clients = max_clients,
	};

	ck_assert_int_eq(line_server_new(&loop, &o, table, ctx, &ctx->srv), 0);
	return ctx->srv;
}

/* A raw, non-blocking client socket; its replies joined as "line|". */
struct raw {
	int fd;
	int eof;
	int nlines;
	char text[16384];
	size_t len;
	struct line_reader lr;
	line_cb on_line; /* NULL: collect into text */
	void *arg;
};

static int raw_collect(void *arg, char *line, size_t len)
{
	struct raw *r = arg;

	ck_assert_ptr_nonnull(line);
	ck_assert_uint_lt(r->len + len + 2, sizeof(r->text));
	memcpy(r->text + r->len, line, len);
	r->len += len;
	r->text[r->len++] = '|';
	r->text[r->len] = '\0';
	return 0;
}

static int raw_line(void *arg, char *line, size_t len)
{
	struct raw *r = arg;

	r->nlines++;
	return r->on_line ? r->on_line(r->arg, line, len) : raw_collect(r, line, len);
}

static void raw_open(struct raw *r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(r, 0, sizeof(*r));
	line_reader_init(&r->lr);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(r->fd, 0);
	ck_assert_int_eq(connect(r->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
}

static void raw_send(struct raw *r, const char *s, size_t n)
{
	ck_assert_int_eq(send(r->fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads whatever is there; for spin(). */
static void raw_pump(struct raw *r)
{
	char buf[65536];
	ssize_t n;

	while (!r->eof && (n = recv(r->fd, buf, sizeof(buf), 0)) != 0) {
		if (n < 0) {
			ck_assert_msg(errno == EAGAIN, "recv: %s", strerror(errno));
			return;
		}
		line_reader_feed(&r->lr, buf, (size_t)n, raw_line, r);
	}
	r->eof = 1;
}

static int want_lines;

static int raw_has_lines(void *arg)
{
	struct raw *r = arg;

	raw_pump(r);
	return r->nlines >= want_lines || r->eof;
}

static int raw_at_eof(void *arg)
{
	struct raw *r = arg;

	raw_pump(r);
	return r->eof;
}

static void raw_wait(struct raw *r, int lines)
{
	want_lines = lines;
	spin(raw_has_lines, r);
	ck_assert_int_eq(r->nlines, lines);
}

struct areply {
	int done;
	int status;
	char text[LINE_MAX_LEN + 1];
};

static void areply_cb(void *arg, int status, const char *reply)
{
	struct areply *a = arg;

	ck_assert_int_eq(a->done, 0); /* exactly once */
	a->done = 1;
	a->status = status;
	if (reply)
		snprintf(a->text, sizeof(a->text), "%s", reply);
	else
		ck_assert_int_ne(status, 0);
}

static int areply_done(void *arg)
{
	return ((struct areply *)arg)->done;
}

static int all_done(void *arg)
{
	struct areply *a = arg;
	int i;

	for (i = 0; i < 5; i++)
		if (!a[i].done)
			return 0;
	return 1;
}

/* A bound socket nobody listens on: what a killed server leaves behind. */
static int dead_socket(int do_listen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (do_listen)
		ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

#endif
