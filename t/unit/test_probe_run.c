/* lib/probe_run: the ProbePath checks, the wgrelay sequence against a fake
 * line server (start, status every 100 ms until seen or done, one stop),
 * wgrelay errors kept as "code: message", cancel, and the packed outcome. */
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <check.h>
#include "fixture.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "command.h"
#include "line_server.h"
#include "probe_run.h"

#include "probe_fake.h"

static uv_loop_t loop;
static char dir[64];
static struct probe_fake pf;
static const uint8_t token[16] = { 0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff };
static const char *hex = "ab0102030405060708090a0b0c0d0eff";
static struct probe_run_result got;
static int calls;

static void on_done(void *arg, const struct probe_run_result *r)
{
	calls++;
	got = *r;
}

static void setup(void)
{
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	snprintf(dir, sizeof(dir), "/tmp/probe_run_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	pf_start_server(&pf, &loop, dir);
	memset(&got, 0, sizeof(got));
	calls = 0;
}

static void teardown(void)
{
	char cmd[128];

	line_server_free(pf.srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct probe_run *start(uint32_t ms)
{
	struct probe_run_req req = { pf.path, 1000, "wg0", token, "203.0.113.9:51820", ms };
	struct probe_run *r = NULL;

	ck_assert_int_eq(probe_run_start(&loop, &req, on_done, NULL, &r), 0);
	ck_assert_ptr_nonnull(r);
	return r;
}

/* Runs until the callback ran and the fake saw the stop (deadline 5 s). */
static void run_to_end(void)
{
	uint64_t end;

	uv_update_time(&loop);
	end = uv_now(&loop) + 5000;
	while ((!calls || !pf.stops) && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	ck_assert_int_eq(calls, 1);
}

START_TEST(seen_stops_after_linger)
{
	uint64_t t0;

	pf.seen_after = 3;
	uv_update_time(&loop);
	t0 = uv_now(&loop);
	start(3000);
	run_to_end();
	ck_assert_int_eq(got.ok, 1);
	ck_assert_int_eq(got.seen, 1);
	ck_assert_str_eq(got.from, "198.51.100.7:4500");
	pf_assert_sequence(&pf, "wg0", hex, "203.0.113.9:51820", "3000");
	/* Seen at the 3rd poll, then ~300 ms more of probes, not the full 3 s. */
	ck_assert_int_ge(pf.statuses, 3 + PROBE_LINGER_MS / PROBE_POLL_MS);
	ck_assert_uint_lt(uv_now(&loop) - t0, 2500);
}
END_TEST

START_TEST(done_without_seen)
{
	pf.done_after = 4;
	start(400);
	run_to_end();
	ck_assert_int_eq(got.ok, 1);
	ck_assert_int_eq(got.seen, 0);
	ck_assert_str_eq(got.from, "");
	ck_assert_int_eq(pf.statuses, 4);
	pf_assert_sequence(&pf, "wg0", hex, "203.0.113.9:51820", "400");
}
END_TEST

START_TEST(never_done_is_cut)
{
	/* A helper that never says done: given up 2 s after the duration. */
	start(100);
	run_to_end();
	ck_assert_int_eq(got.ok, 1);
	ck_assert_int_eq(got.seen, 0);
	ck_assert_int_eq(pf.stops, 1);
}
END_TEST

START_TEST(start_refused_keeps_code)
{
	pf.start_err = "perm";
	start(3000);
	run_to_end();
	ck_assert_int_eq(got.ok, 0);
	ck_assert_str_eq(got.code, "perm");
	ck_assert_str_eq(got.error, "perm: scripted failure");
	ck_assert_int_eq(pf.statuses, 0);
}
END_TEST

START_TEST(status_refused)
{
	pf.status_err = "notfound";
	start(3000);
	run_to_end();
	ck_assert_int_eq(got.ok, 0);
	ck_assert_str_eq(got.code, "notfound");
	ck_assert_int_eq(pf.statuses, 1);
	pf_assert_sequence(&pf, "wg0", hex, "203.0.113.9:51820", "3000");
}
END_TEST

START_TEST(no_helper_is_io)
{
	struct probe_run_req req = { "/nonexistent/wgrelay.sock", 500, "wg0", token,
	                             "203.0.113.9:51820", 1000 };
	struct probe_run *r;
	int rc = probe_run_start(&loop, &req, on_done, NULL, &r);

	/* Either refused at once or reported as io on the loop. */
	if (rc == 0) {
		uint64_t end;

		uv_update_time(&loop);
		end = uv_now(&loop) + 5000;
		while (!calls && uv_now(&loop) < end)
			uv_run(&loop, UV_RUN_ONCE);
		ck_assert_int_eq(calls, 1);
		ck_assert_int_eq(got.ok, 0);
		ck_assert_str_eq(got.code, "io");
	} else {
		ck_assert_int_lt(rc, 0);
		ck_assert_int_eq(calls, 0);
	}
}
END_TEST

START_TEST(cancel_still_stops)
{
	struct probe_run *r = start(3000);
	uint64_t end;

	uv_update_time(&loop);
	end = uv_now(&loop) + 5000;
	while (pf.statuses < 2 && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	probe_run_cancel(r);
	while (!pf.stops && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	ck_assert_int_eq(pf.stops, 1);
	ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(bad_requests)
{
	struct probe_run_req req = { pf.path, 1000, "wg 0", token, "203.0.113.9:51820", 100 };
	struct probe_run *r;

	ck_assert_int_eq(probe_run_start(&loop, &req, on_done, NULL, &r), -EINVAL);
	req.iface = "wg0";
	req.peer_endpoint = NULL;
	ck_assert_int_eq(probe_run_start(&loop, &req, on_done, NULL, &r), -EINVAL);
	ck_assert_int_eq(pf.n, 0);
}
END_TEST

START_TEST(checks)
{
	Supermesh__ProbePath p = SUPERMESH__PROBE_PATH__INIT;
	uint8_t sid[16] = { 1 };

	p.session_id.data = sid;
	p.session_id.len = 16;
	p.token.data = (uint8_t *)token;
	p.token.len = 16;
	p.peer_endpoint = "203.0.113.9:51820";
	p.duration_ms = 3000;
	ck_assert_ptr_null(probe_path_check(&p));
	p.peer_endpoint = "[2001:db8::1]:51820";
	ck_assert_ptr_null(probe_path_check(&p));
	p.peer_endpoint = "example.com:51820";
	ck_assert_str_eq(probe_path_check(&p), "bad peer_endpoint");
	p.peer_endpoint = "203.0.113.9:51820 x";
	ck_assert_str_eq(probe_path_check(&p), "bad peer_endpoint");
	p.peer_endpoint = "";
	ck_assert_str_eq(probe_path_check(&p), "bad peer_endpoint");
	p.peer_endpoint = "203.0.113.9:51820";
	p.duration_ms = 99;
	ck_assert_str_eq(probe_path_check(&p), "bad duration_ms");
	p.duration_ms = 5001;
	ck_assert_str_eq(probe_path_check(&p), "bad duration_ms");
	p.duration_ms = 5000;
	p.token.len = 15;
	ck_assert_str_eq(probe_path_check(&p), "bad token");
	p.token.len = 16;
	p.session_id.len = 17;
	ck_assert_str_eq(probe_path_check(&p), "bad session_id");
}
END_TEST

START_TEST(status_parse)
{
	char from[64];
	int done = -1, seen = -1;

	ck_assert_int_eq(probe_status_parse("ok state=running seen=0 sent=3", &done, &seen, from,
	                                    sizeof(from)), 0);
	ck_assert_int_eq(done, 0);
	ck_assert_int_eq(seen, 0);
	ck_assert_int_eq(probe_status_parse("ok state=done seen=1 from=[2001:db8::2]:9 sent=30",
	                                    &done, &seen, from, sizeof(from)), 0);
	ck_assert_int_eq(done, 1);
	ck_assert_int_eq(seen, 1);
	ck_assert_str_eq(from, "[2001:db8::2]:9");
	ck_assert_int_eq(probe_status_parse("ok seen=1", &done, &seen, from, sizeof(from)),
	                 -EPROTO);
	ck_assert_int_eq(probe_status_parse("ok state=maybe seen=1", &done, &seen, from,
	                                    sizeof(from)), -EPROTO);
	ck_assert_int_eq(probe_status_parse("err perm x", &done, &seen, from, sizeof(from)),
	                 -EPROTO);
}
END_TEST

START_TEST(outcome)
{
	struct probe_run_result r = { 1, 1, "198.51.100.7:4500", "", "" };
	struct cmd_outcome o;
	Supermesh__ProbePathResult *pr;

	probe_run_outcome(&r, &o);
	ck_assert_int_eq(o.ok, 1);
	pr = supermesh__probe_path_result__unpack(NULL, o.result_len, o.result);
	ck_assert_ptr_nonnull(pr);
	ck_assert_int_eq(pr->seen, 1);
	ck_assert_str_eq(pr->from, "198.51.100.7:4500");
	supermesh__probe_path_result__free_unpacked(pr, NULL);
	r.ok = 0;
	snprintf(r.error, sizeof(r.error), "perm: no CAP_NET_RAW");
	probe_run_outcome(&r, &o);
	ck_assert_int_eq(o.ok, 0);
	ck_assert_uint_eq(o.result_len, 0);
	ck_assert_str_eq(o.error, "perm: no CAP_NET_RAW");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("probe_run");
	TCase *tc = tcase_create("probe_run");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, seen_stops_after_linger);
	tcase_add_test(tc, done_without_seen);
	tcase_add_test(tc, never_done_is_cut);
	tcase_add_test(tc, start_refused_keeps_code);
	tcase_add_test(tc, status_refused);
	tcase_add_test(tc, no_helper_is_io);
	tcase_add_test(tc, cancel_still_stops);
	tcase_add_test(tc, bad_requests);
	tcase_add_test(tc, checks);
	tcase_add_test(tc, status_parse);
	tcase_add_test(tc, outcome);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
