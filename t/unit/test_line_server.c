/* Tests for lib/line_server.c (fixture in line_server_fixture.h): a real
 * server on a temp socket, driven step by step on one loop while raw or
 * libuv clients talk to it: peers allowed and denied, async verbs, order,
 * overlong lines, limits, backpressure, binding. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "line_server_fixture.h"

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
