/* Tests for lib/line_server.c and lib/line_client.c: a real server on a temp
 * socket, driven step by step on one loop while raw or libuv clients talk to
 * it; plus the stdin and argv drivers. */
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

START_TEST(peer_allowed)
{
	struct line_server_opts o = { .allow_uid = 1000, .allow_gid = 2000 };

	ck_assert_int_eq(line_peer_allowed(0, 0, &o), 1);
	ck_assert_int_eq(line_peer_allowed(0, 99, &o), 1);
	ck_assert_int_eq(line_peer_allowed(1000, 99, &o), 1);
	ck_assert_int_eq(line_peer_allowed(99, 2000, &o), 1);
	ck_assert_int_eq(line_peer_allowed(99, 99, &o), 0);
	ck_assert_int_eq(line_peer_allowed(1001, 2001, &o), 0);
	o.allow_uid = (uid_t)-1;
	o.allow_gid = (gid_t)-1;
	ck_assert_int_eq(line_peer_allowed(0, 0, &o), 1);
	ck_assert_int_eq(line_peer_allowed(1000, 2000, &o), 0);
	/* -1 never matches a peer that is itself "-1" (nobody's overflow id) */
	ck_assert_int_eq(line_peer_allowed((uid_t)-1, (gid_t)-1, &o), 0);
}
END_TEST

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

START_TEST(serve_async)
{
	static const char *req[5] = { "list", "echo a b", "fail", "frob", "echo a\\x20b\n" };
	static const char *want[5] = {
		"ok calls=1", "ok w=a w=b", "err inval nope",
		"err usage unknown verb 'frob'", "ok w=a\\x20b",
	};
	struct areply a[5];
	struct ctx ctx = { 0 };
	struct stat st;
	int i;

	start();
	serve(&ctx, 0);
	memset(a, 0, sizeof(a));
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(line_request_async(&loop, path, req[i], 2000,
		                                    areply_cb, &a[i]), 0);
	spin(all_done, a);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(a[i].status, 0);
		ck_assert_str_eq(a[i].text, want[i]);
	}
	/* The socket's mode is its access control. */
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	line_server_free(ctx.srv);
	ck_assert_int_eq(lstat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	finish();
}
END_TEST

START_TEST(pipelined_in_order)
{
	static const char in[] = "list\nfrob\necho x\n\nlist\r\nfail\nlist";
	struct ctx ctx = { 0 };
	struct raw r;
	size_t i;

	start();
	serve(&ctx, 0);
	raw_open(&r);
	raw_send(&r, in, 10); /* "list\nfrob\n" in one write */
	raw_wait(&r, 2);
	/* The rest a byte at a time, the last line without its newline. */
	for (i = 10; i < sizeof(in) - 1; i++)
		raw_send(&r, in + i, 1);
	shutdown(r.fd, SHUT_WR);
	spin(raw_at_eof, &r);
	ck_assert_str_eq(r.text, "ok calls=1|err usage unknown verb 'frob'|ok w=x|"
	                 "err usage empty line|ok calls=2|err inval nope|ok calls=3|");
	close(r.fd);
	line_server_free(ctx.srv);
	finish();
}
END_TEST

START_TEST(overlong_then_serves)
{
	static char big[3 * LINE_MAX_LEN];
	struct ctx ctx = { 0 };
	struct raw r;

	start();
	serve(&ctx, 0);
	raw_open(&r);
	memset(big, 'a', sizeof(big));
	raw_send(&r, big, sizeof(big));
	raw_send(&r, "\nlist\n", 6);
	raw_wait(&r, 2);
	ck_assert_str_eq(r.text, "err toolong line over 4096 bytes|ok calls=1|");
	/* Exactly 4096 bytes is a line, not too long. */
	memset(big, ' ', LINE_MAX_LEN);
	memcpy(big, "list", 4);
	big[LINE_MAX_LEN] = '\n';
	raw_send(&r, big, LINE_MAX_LEN + 1);
	raw_wait(&r, 3);
	ck_assert_str_eq(r.text, "err toolong line over 4096 bytes|ok calls=1|ok calls=2|");
	close(r.fd);
	line_server_free(ctx.srv);
	finish();
}
END_TEST

/* A verb that frees the server mid-batch: no use after free, no more replies. */
START_TEST(free_from_handler)
{
	struct ctx ctx = { 0 };
	struct raw r;

	start();
	serve(&ctx, 0);
	raw_open(&r);
	raw_send(&r, "list\nquit\nlist\n", 15);
	spin(raw_at_eof, &r);
	ck_assert_str_eq(r.text, "ok calls=1|");
	ck_assert_ptr_null(ctx.srv);
	ck_assert_int_eq(access(path, F_OK), -1);
	close(r.fd);
	finish();
}
END_TEST

START_TEST(max_clients)
{
	struct ctx ctx = { 0 };
	struct raw r[3];
	int i, tries = 0;

	start();
	serve(&ctx, 2);
	for (i = 0; i < 2; i++) {
		raw_open(&r[i]);
		raw_send(&r[i], "list\n", 5);
		raw_wait(&r[i], 1);
	}
	raw_open(&r[2]);
	spin(raw_at_eof, &r[2]);
	ck_assert_str_eq(r[2].text, "err busy too many clients|");
	close(r[2].fd);
	/* A slot freed is a slot for the next client. */
	close(r[0].fd);
	raw_send(&r[1], "list\n", 5);
	raw_wait(&r[1], 2); /* the server has seen r[0] go by now, or soon */
	for (;;) {
		raw_open(&r[2]);
		raw_send(&r[2], "list\n", 5);
		want_lines = 1;
		spin(raw_has_lines, &r[2]);
		close(r[2].fd);
		if (strncmp(r[2].text, "ok", 2) == 0)
			break;
		ck_assert_str_eq(r[2].text, "err busy too many clients|");
		ck_assert_int_lt(++tries, 100);
	}
	close(r[1].fd);
	line_server_free(ctx.srv);
	finish();
}
END_TEST

/* Not allowed: the reply is "err perm" and no request is run. As root we
 * need a child that drops to nobody; as anyone else, a server that allows
 * some other uid and gid. */
static int child_exited(void *arg)
{
	int *st = arg;

	return waitpid((pid_t)st[0], &st[1], WNOHANG) == (pid_t)st[0];
}

START_TEST(peer_denied)
{
	struct line_server_opts o = {
		.path = path, .mode = 0666, .allow_uid = (uid_t)-1, .allow_gid = (gid_t)-1,
	};
	struct ctx ctx = { 0 };
	int st[2];

	start();
	if (getuid() != 0)
		o.allow_gid = getgid() + 1;
	ck_assert_int_eq(line_server_new(&loop, &o, table, &ctx, &ctx.srv), 0);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	st[0] = fork();
	ck_assert_int_ge(st[0], 0);
	if (st[0] == 0) {
		char reply[128];
		int rc;

		if (getuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
		                      setuid(65534) < 0))
			_exit(2);
		rc = line_request(path, "list", reply, sizeof(reply), 3000);
		_exit(rc == 0 && !strcmp(reply, "err perm not allowed") ? 0 : 3);
	}
	spin(child_exited, st);
	ck_assert(WIFEXITED(st[1]));
	ck_assert_int_eq(WEXITSTATUS(st[1]), 0);
	ck_assert_int_eq(ctx.calls, 0);
	line_server_free(ctx.srv);
	finish();
}
END_TEST

/*
 * A client that writes requests and never reads: the server must stop
 * reading it once its unsent replies pass the cap, so the client's writes
 * block, and resume once they drain. Every reply then arrives, in order.
 */
struct seq {
	int next;
};

static int seq_line(void *arg, char *line, size_t len)
{
	struct seq *s = arg;
	char want[32];

	snprintf(want, sizeof(want), "ok seq=%d pad=", s->next++);
	ck_assert_msg(!strncmp(line, want, strlen(want)), "got %.40s", line);
	ck_assert_uint_eq(len, strlen(want) + 4000);
	return 0;
}

/* The writer: a partly sent line is finished once the server reads again. */
struct writer {
	struct raw *r;
	char line[1100];
	size_t len, off;
	int sent;
};

static int writer_push(struct writer *w)
{
	ssize_t n = send(w->r->fd, w->line + w->off, w->len - w->off, MSG_NOSIGNAL);

	if (n < 0) {
		ck_assert_int_eq(errno, EAGAIN);
		return 0;
	}
	w->off += (size_t)n;
	if (w->off == w->len) {
		w->sent++;
		w->off = w->len = 0;
	}
	return 1;
}

static int drained(void *arg)
{
	struct writer *w = arg;

	if (w->len)
		writer_push(w);
	raw_pump(w->r);
	return !w->len && w->r->nlines >= w->sent;
}

START_TEST(backpressure)
{
	static char pad[1001];
	struct ctx ctx = { 0 };
	struct seq seq = { 0 };
	struct writer w = { 0 };
	struct raw r;
	int again = 0;

	start();
	serve(&ctx, 0);
	raw_open(&r);
	r.on_line = seq_line;
	r.arg = &seq;
	w.r = &r;
	memset(pad, 'x', sizeof(pad) - 1);
	/* Write until the socket stays full while the server keeps running. */
	while (again < 50) {
		ck_assert_int_lt(w.sent, 3000); /* unbounded reading would get here */
		if (!w.len)
			w.len = (size_t)snprintf(w.line, sizeof(w.line), "big %d %s\n",
			                         w.sent, pad);
		again = writer_push(&w) ? 0 : again + 1;
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	ck_assert_int_gt(w.sent, 16); /* the cap is well above one reply */
	/* Now read: everything comes, in order, and the writes complete. */
	spin(drained, &w);
	ck_assert_int_eq(seq.next, w.sent);
	ck_assert_int_eq(r.nlines, w.sent);
	close(r.fd);
	line_server_free(ctx.srv);
	finish();
}
END_TEST

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

START_TEST(bind_cases)
{
	struct line_server_opts o = {
		.path = path, .mode = 0600, .allow_uid = getuid(), .allow_gid = (gid_t)-1,
	};
	struct ctx ctx = { 0 }, ctx2 = { 0 };
	struct line_server *srv2 = NULL;
	struct stat st;
	int fd;

	start();
	/* A regular file is not ours to remove. */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(line_server_new(&loop, &o, table, &ctx, &ctx.srv), -ENOTSOCK);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	unlink(path);
	/* A stale socket file is replaced. */
	close(dead_socket(0));
	ck_assert_int_eq(line_server_new(&loop, &o, table, &ctx, &ctx.srv), 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	/* A live server is not. */
	ck_assert_int_eq(line_server_new(&loop, &o, table, &ctx2, &srv2), -EADDRINUSE);
	ck_assert_ptr_null(srv2);
	line_server_free(ctx.srv);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* Nor is any other live listener. */
	fd = dead_socket(1);
	ck_assert_int_eq(line_server_new(&loop, &o, table, &ctx, &ctx.srv), -EADDRINUSE);
	close(fd);
	ck_assert_int_eq(access(path, F_OK), 0);
	unlink(path);
	/* A path too long for sun_path. */
	o.path = "/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	ck_assert_int_eq(line_server_new(&loop, &o, table, &ctx, &ctx.srv), -ENAMETOOLONG);
	finish();
}
END_TEST

START_TEST(client_errors)
{
	struct areply a[3];
	char reply[8];
	int fd;

	start();
	memset(a, 0, sizeof(a));
	/* Nothing there. */
	ck_assert_int_eq(line_request(path, "list", reply, sizeof(reply), 500), -ENOENT);
	ck_assert_int_eq(line_request_async(&loop, path, "list", 500, areply_cb, &a[0]), 0);
	spin(areply_done, &a[0]);
	ck_assert_int_eq(a[0].status, -ENOENT);
	/* A dead socket file. */
	fd = dead_socket(0);
	ck_assert_int_eq(line_request(path, "list", reply, sizeof(reply), 500), -ECONNREFUSED);
	ck_assert_int_eq(line_request_async(&loop, path, "list", 500, areply_cb, &a[1]), 0);
	spin(areply_done, &a[1]);
	ck_assert_int_eq(a[1].status, -ECONNREFUSED);
	close(fd);
	unlink(path);
	/* A listener that never answers. */
	fd = dead_socket(1);
	ck_assert_int_eq(line_request(path, "list", reply, sizeof(reply), 100), -ETIMEDOUT);
	ck_assert_int_eq(line_request_async(&loop, path, "list", 100, areply_cb, &a[2]), 0);
	spin(areply_done, &a[2]);
	ck_assert_int_eq(a[2].status, -ETIMEDOUT);
	close(fd);
	/* Refused before anything is sent: cb never runs. */
	ck_assert_int_eq(line_request_async(&loop, path, "a\nb", 100, areply_cb, &a[0]),
	                 -EINVAL);
	ck_assert_int_eq(line_request(path, "a\nb", reply, sizeof(reply), 100), -EINVAL);
	finish();
}
END_TEST

/* The blocking client needs the server on another thread. */
static uv_async_t stop_async;

static void stop_cb(uv_async_t *a)
{
	struct ctx *ctx = a->data;

	line_server_free(ctx->srv);
	uv_close((uv_handle_t *)a, NULL);
}

static void loop_thread(void *arg)
{
	uv_run(&loop, UV_RUN_DEFAULT);
}

START_TEST(blocking_client)
{
	struct ctx ctx = { 0 };
	char reply[LINE_MAX_LEN + 1], small[8];
	uv_thread_t th;

	start();
	uv_timer_stop(&tick);
	serve(&ctx, 0);
	stop_async.data = &ctx;
	uv_async_init(&loop, &stop_async, stop_cb);
	ck_assert_int_eq(uv_thread_create(&th, loop_thread, NULL), 0);
	ck_assert_int_eq(line_request(path, "list", reply, sizeof(reply), 2000), 0);
	ck_assert_str_eq(reply, "ok calls=1");
	ck_assert_int_eq(line_reply_parse(reply, NULL, 0, NULL, 0), 1);
	ck_assert_int_eq(line_request(path, "frob\n", reply, sizeof(reply), 2000), 0);
	ck_assert_str_eq(reply, "err usage unknown verb 'frob'");
	/* "ok calls=2" needs 11 bytes; "ok w=abc" fits 8 exactly with its '\n'
	 * taking the last byte. */
	ck_assert_int_eq(line_request(path, "list", small, sizeof(small), 2000), -EMSGSIZE);
	ck_assert_int_eq(line_request(path, "echo ab", small, sizeof(small), 2000), 0);
	ck_assert_str_eq(small, "ok w=ab");
	ck_assert_int_eq(line_request(path, "echo abc", small, sizeof(small), 2000),
	                 -EMSGSIZE);
	uv_async_send(&stop_async);
	uv_thread_join(&th);
	uv_timer_start(&tick, tick_cb, 5, 5);
	ck_assert_int_eq(access(path, F_OK), -1);
	finish();
}
END_TEST

START_TEST(run_file)
{
	static const char in[] = "list\n\nfrob\necho a\\x20b\n   \nfail\nlist";
	struct ctx ctx = { 0 };
	char *text = NULL;
	size_t size = 0;
	FILE *f = fmemopen((void *)(uintptr_t)in, sizeof(in) - 1, "r");
	FILE *out = open_memstream(&text, &size);

	/* Blank lines are skipped; the last line needs no newline. */
	ck_assert_int_eq(line_run_file(table, &ctx, f, out), 2);
	fclose(out);
	ck_assert_str_eq(text, "ok calls=1\nerr usage unknown verb 'frob'\n"
	                       "ok w=a\\x20b\nerr inval nope\nok calls=2\n");
	free(text);
	fclose(f);
}
END_TEST

START_TEST(run_argv)
{
	char *argv_ok[] = { "echo", "a b", NULL };
	char *argv_bad[] = { "list", "extra", NULL };
	char *otext = NULL, *etext = NULL;
	size_t osize = 0, esize = 0;
	struct ctx ctx = { 0 };
	FILE *out = open_memstream(&otext, &osize);
	FILE *err = open_memstream(&etext, &esize);

	/* Shell words are not re-split: "a b" stays one word. */
	ck_assert_int_eq(line_run_argv(table, &ctx, 2, argv_ok, out, err), 0);
	ck_assert_int_eq(line_run_argv(table, &ctx, 2, argv_bad, out, err), 1);
	ck_assert_int_eq(line_run_argv(table, &ctx, 0, argv_bad, out, err), 1);
	fclose(out);
	fclose(err);
	ck_assert_str_eq(otext, "ok w=a\\x20b\n");
	ck_assert_str_eq(etext, "err usage list\nerr usage no verb\n");
	free(otext);
	free(etext);
}
END_TEST

static Suite *line_server_suite(void)
{
	Suite *s = suite_create("line_server");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, peer_allowed);
	tcase_add_test(tc, serve_async);
	tcase_add_test(tc, pipelined_in_order);
	tcase_add_test(tc, overlong_then_serves);
	tcase_add_test(tc, free_from_handler);
	tcase_add_test(tc, max_clients);
	tcase_add_test(tc, peer_denied);
	tcase_add_test(tc, backpressure);
	tcase_add_test(tc, bind_cases);
	tcase_add_test(tc, client_errors);
	tcase_add_test(tc, blocking_client);
	tcase_add_test(tc, run_file);
	tcase_add_test(tc, run_argv);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(line_server_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
