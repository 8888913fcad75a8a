/* clientd's CLI (`clientd ctl`) and its /metrics (fixture in
 * clientd_api_fixture.h): the CLI's output and exit statuses, including
 * "not running"; the counters /metrics renders. */
#include <check.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "clientd_api_fixture.h"

/* ---- the CLI, run in a thread while the loop serves ---- */

struct ctl_run {
	int argc;
	char *argv[4];
	const char *sock;
	char *out, *err;
	size_t out_len, err_len;
	int rc;
	atomic_int done;
	pthread_t th;
};

static void *ctl_thread(void *arg)
{
	struct ctl_run *r = arg;
	FILE *out = open_memstream(&r->out, &r->out_len);
	FILE *err = open_memstream(&r->err, &r->err_len);

	r->rc = ctl_main(r->sock, r->argc, r->argv, out, err);
	fclose(out);
	fclose(err);
	atomic_store(&r->done, 1);
	return NULL;
}

static struct ctl_run *ctl(const char *sock, const char *a0, const char *a1)
{
	struct ctl_run *r = calloc(1, sizeof(*r));

	r->sock = sock;
	r->argv[r->argc++] = (char *)(uintptr_t)a0;
	if (a1)
		r->argv[r->argc++] = (char *)(uintptr_t)a1;
	pthread_create(&r->th, NULL, ctl_thread, r);
	RUN_UNTIL(atomic_load(&r->done), 8000);
	pthread_join(r->th, NULL);
	return r;
}

static void ctl_free(struct ctl_run *r)
{
	free(r->out);
	free(r->err);
	free(r);
}

START_TEST(cli_not_running)
{
	char want[160];
	struct ctl_run *r = ctl(E.api_sock, "status", NULL);

	ck_assert_int_eq(r->rc, 111);
	snprintf(want, sizeof(want), "clientd is not running (no socket at %s)\n", E.api_sock);
	ck_assert_str_eq(r->err, want);
	ctl_free(r);
	r = ctl(E.api_sock, "frobnicate", NULL);
	ck_assert_int_eq(r->rc, 100);
	ck_assert_ptr_nonnull(strstr(r->err, "usage:"));
	ctl_free(r);
	r = ctl(E.api_sock, "connect", NULL);
	ck_assert_int_eq(r->rc, 100);
	ctl_free(r);
}
END_TEST

START_TEST(cli_commands)
{
	struct ctl_run *r;
	json_t *j;

	start_clientd();
	r = ctl(E.api_sock, "status", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_ptr_nonnull(strstr(r->out, "state       disconnected\n"));
	ck_assert_ptr_nonnull(strstr(r->out, "stream      up\n"));
	ck_assert_ptr_nonnull(strstr(r->out, "rx          -\n"));
	ctl_free(r);
	r = ctl(E.api_sock, "connect", "eu");
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, "connecting eu\n");
	ctl_free(r);
	RUN_UNTIL(E.n_exit_req == 1, 3000);
	send_exit_response();
	RUN_UNTIL(E.cd->s.state == CS_CONNECTED && E.cd->stats.valid, 3000);
	r = ctl(E.api_sock, "status", "--json");
	ck_assert_int_eq(r->rc, 0);
	j = json_loads(r->out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "connected");
	json_decref(j);
	ctl_free(r);
	r = ctl(E.api_sock, "status", NULL);
	ck_assert_ptr_nonnull(strstr(r->out, "rx          4.0 KiB (4096 bytes)\n"));
	ck_assert_ptr_nonnull(strstr(r->out, "address     10.200.0.5/32\n"));
	ctl_free(r);
	/* An error answer: exit 1, the server's reason on stderr. */
	r = ctl(E.api_sock, "connect", "us");
	ck_assert_int_eq(r->rc, 1);
	ck_assert_str_eq(r->err, "clientd: connected to eu; disconnect first\n");
	ctl_free(r);
	r = ctl(E.api_sock, "health", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_ptr_nonnull(strstr(r->out, "healthy"));
	ctl_free(r);
	r = ctl(E.api_sock, "disconnect", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, "disconnected\n");
	ctl_free(r);
}
END_TEST

/* ---- /metrics ---- */

/* clientd's registry as text, valid until the next call. */
static const char *render(void)
{
	static char *text;
	size_t len;

	free(text);
	text = NULL;
	ck_assert_int_eq(metrics_render(E.cd->met.reg, &text, &len), 0);
	return text;
}

START_TEST(metrics_counts)
{
	struct hf_call *c;

	start_clientd();
	/* The fake answers Pings: one sample per heartbeat (100 ms here). */
	RUN_UNTIL(peerlink_rtt_ms(E.cd->link) >= 0, 3000);
	RUN_UNTIL(!strstr(render(), "peer_heartbeat_latency_ms_count 0\n"), 3000);
	c = hf_start(NULL, httpd_port(E.cd->mhttp.httpd), "GET", "/metrics", NULL);
	RUN_UNTIL(atomic_load(&c->done), 5000);
	ck_assert_int_eq(c->status, 200);
	ck_assert_ptr_nonnull(strstr(c->body, "\nactive_streams_total 1\n"));
	ck_assert_ptr_nonnull(strstr(c->body, "# TYPE peer_heartbeat_latency_ms histogram\n"));
	ck_assert_ptr_nonnull(strstr(c->body, "command_success_total{role=\"receiver\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(c->body, "\nwg_peers_count 0\n"));
	ck_assert_ptr_nonnull(strstr(c->body, "\nprocess_open_fds "));
	ck_assert_ptr_null(strstr(c->body, "peer_heartbeat_latency_ms_count 0\n"));
	ck_assert_ptr_nonnull(strstr(c->body, "peer_heartbeat_latency_ms_bucket{le=\"+Inf\"} "));
	hf_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("clientd_cli");
	TCase *tc = tcase_create("cli");
	SRunner *sr;
	int failed;

	keys_init();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, cli_not_running);
	tcase_add_test(tc, cli_commands);
	tcase_add_test(tc, metrics_counts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
