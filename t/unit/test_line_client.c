/* Tests for lib/line_client.c against a real lib/line_server.c (fixture in
 * line_server_fixture.h): async client errors, the blocking client, and the
 * stdin and argv drivers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "line_server_fixture.h"

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

static Suite *line_client_suite(void)
{
	Suite *s = suite_create("line_client");
	TCase *tc = tcase_create("client");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, client_errors);
	tcase_add_test(tc, blocking_client);
	tcase_add_test(tc, run_file);
	tcase_add_test(tc, run_argv);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(line_client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
