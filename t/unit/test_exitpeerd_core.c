/* Loopback tests of exitpeerd's core (fixture in exitpeerd_fixture.h):
 * startup, InfoResponse, SETUP_EXIT, duplicates, DISCONNECT, rollback,
 * malformed payloads, pool exhaustion, restart, helpers late at boot. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "exitpeerd_fixture.h"

/* ---- tests ---- */

START_TEST(startup_and_info)
{
	char b64[KEY_B64_LEN], line[512];

	up();
	ck_assert_int_eq(E.wg.n, 2);
	ck_assert_str_eq(E.wg.calls[0], "iface ensure smexit0 port 51820");
	ck_assert_str_eq(E.wg.calls[1], "addr add smexit0 10.200.0.1/24");
	ck_assert_int_eq(E.nat.n, 1);
	ck_assert_str_eq(E.nat.calls[0], "forward on");
	/* Auth says who we are: an exit of its region with the helper's key. */
	ck_assert_mem_eq(E.auth.peer_id, E.eid.pk, ID_PK_LEN);
	ck_assert_uint_eq(E.auth.role, SUPERMESH__ROLE__ROLE_EXIT);
	ck_assert_str_eq(E.auth.region, "eu-west");
	ck_assert_mem_eq(E.auth.wg_pubkey, fake_wg_pub, 32);
	ck_assert_uint_eq(E.info->n_sessions, 0);
	ck_assert_uint_eq(E.info->load_pct, 0);
	ck_assert(E.info->behind_nat);
	ck_assert_str_eq(E.info->public_endpoint, "");
	/* wg_port at the stream's local address, for the reflectors. */
	ck_assert_str_eq(E.info->wg_local_endpoint, "127.0.0.1:51820");
	/* Resent every heartbeat as the load report. */
	RUN_UNTIL(E.ninfo >= 2, 3000);
	admin("status", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "ok state=up "));
	ck_assert_ptr_nonnull(strstr(line, " sessions=0 pool_free=253 "));
	key_to_base64(fake_wg_pub, b64);
	ck_assert_ptr_nonnull(strstr(line, b64));
}
END_TEST

START_TEST(setup_duplicate_disconnect)
{
	Supermesh__SetupExitResult *res;
	struct setup_args a;
	const struct resp *r, *r2;
	char want[256], key[KEY_B64_LEN], line[1024], hex[33];
	int i;

	E.conf.public_endpoint = "198.51.100.1:51820";
	up();
	ck_assert(!E.info->behind_nat);
	ck_assert_str_eq(E.info->public_endpoint, "198.51.100.1:51820");
	args_init(&a, 7);
	a.endpoint = "192.0.2.7:4000";
	r = wait_resp(send_setup(0xa1, &a));
	ck_assert_msg(r->ok, "error: %s", r->error);
	res = supermesh__setup_exit_result__unpack(NULL, r->result_len, r->result);
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(res->client_address, "10.200.0.2/32");
	ck_assert_mem_eq(res->exit_pubkey.data, fake_wg_pub, 32);
	ck_assert_str_eq(res->exit_endpoint, "198.51.100.1:51820");
	supermesh__setup_exit_result__free_unpacked(res, NULL);
	key_b64(7, key);
	snprintf(want, sizeof(want), "peer add smexit0 %s allowed-ips 10.200.0.2/32 "
	         "endpoint 192.0.2.7:4000 keepalive 25", key);
	ck_assert_int_eq(E.wg.n, 3);
	ck_assert_str_eq(E.wg.calls[2], want);
	ck_assert_int_eq(E.nat.n, 2);
	ck_assert_str_eq(E.nat.calls[1], "add 10.200.0.2");

	/* The same command id again: the same answer, nothing re-applied. */
	r2 = wait_resp(send_setup(0xa1, &a));
	ck_assert_int_eq(r2->ok, 1);
	ck_assert_uint_eq(r2->result_len, r->result_len);
	ck_assert_mem_eq(r2->result, r->result, r->result_len);
	ck_assert_mem_eq(r2->id, r->id, MSG_ID_LEN);
	/* A new id for the session already served: its result, no new calls. */
	r2 = wait_resp(send_setup(0xa2, &a));
	ck_assert_int_eq(r2->ok, 1);
	ck_assert_mem_eq(r2->result, r->result, r->result_len);
	ck_assert_int_eq(E.wg.n, 3);
	ck_assert_int_eq(E.nat.n, 2);

	admin("sessions", line, sizeof(line));
	bytes_to_hex(a.sid, 16, hex);
	snprintf(want, sizeof(want), "ok count=1 session=%s,10.200.0.2/32,%s\n", hex, key);
	ck_assert_str_eq(line, want);
	admin("status", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, " sessions=1 pool_free=252 "));
	/* The next load report lists the session. */
	i = E.ninfo;
	RUN_UNTIL(E.ninfo > i, 3000);
	ck_assert_uint_eq(E.info->n_sessions, 1);
	ck_assert_str_eq(E.info->sessions[0]->address, "10.200.0.2/32");
	ck_assert_mem_eq(E.info->sessions[0]->session_id.data, a.sid, 16);
	ck_assert_uint_eq(E.info->n_wg_peers, 1);
	ck_assert_mem_eq(E.info->wg_peers[0].data, a.key, 32);

	r2 = wait_resp(send_disconnect(0xb1, a.sid));
	ck_assert_msg(r2->ok, "error: %s", r2->error);
	ck_assert_int_eq(E.wg.n, 4);
	snprintf(want, sizeof(want), "peer del smexit0 %s", key);
	ck_assert_str_eq(E.wg.calls[3], want);
	ck_assert_int_eq(E.nat.n, 3);
	ck_assert_str_eq(E.nat.calls[2], "del 10.200.0.2");
	admin("status", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, " sessions=0 pool_free=253 "));
	/* Unknown session: ok, nothing to do. */
	r2 = wait_resp(send_disconnect(0xb2, a.sid));
	ck_assert_int_eq(r2->ok, 1);
	ck_assert_int_eq(E.wg.n, 4);
	ck_assert_int_eq(E.nat.n, 3);
	/* A roaming client (no endpoint) gets no endpoint or keepalive. */
	args_init(&a, 8);
	r2 = wait_resp(send_setup(0xa3, &a));
	ck_assert_int_eq(r2->ok, 1);
	key_b64(8, key);
	snprintf(want, sizeof(want), "peer add smexit0 %s allowed-ips 10.200.0.2/32", key);
	ck_assert_str_eq(E.wg.calls[4], want);
}
END_TEST

START_TEST(rollback_on_helper_error)
{
	struct setup_args a;
	const struct resp *r;
	char key[KEY_B64_LEN], want[256], line[512];
	Supermesh__SetupExitResult *res;

	up();
	args_init(&a, 9);
	key_b64(9, key);
	E.nat.fail = "add";
	r = wait_resp(send_setup(0xc1, &a));
	ck_assert_int_eq(r->ok, 0);
	ck_assert_ptr_nonnull(strstr(r->error, "natctl"));
	/* peer add, then its rollback; nat add failed so nothing to undo there. */
	ck_assert_int_eq(E.wg.n, 4);
	snprintf(want, sizeof(want), "peer del smexit0 %s", key);
	ck_assert_str_eq(E.wg.calls[3], want);
	ck_assert_int_eq(E.nat.n, 2);
	admin("status", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, " sessions=0 pool_free=253 "));
	/* The failure is the journaled answer for that id. */
	r = wait_resp(send_setup(0xc1, &a));
	ck_assert_int_eq(r->ok, 0);
	ck_assert_int_eq(E.wg.n, 4);

	E.nat.fail = NULL;
	E.wg.fail = "peer add";
	r = wait_resp(send_setup(0xc2, &a));
	ck_assert_int_eq(r->ok, 0);
	ck_assert_ptr_nonnull(strstr(r->error, "wgrelay"));
	ck_assert_int_eq(E.wg.n, 5); /* the failed add only */
	ck_assert_int_eq(E.nat.n, 2);

	/* Helpers fine again: the freed address is handed out. */
	E.wg.fail = NULL;
	r = wait_resp(send_setup(0xc3, &a));
	ck_assert_int_eq(r->ok, 1);
	res = supermesh__setup_exit_result__unpack(NULL, r->result_len, r->result);
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(res->client_address, "10.200.0.2/32");
	supermesh__setup_exit_result__free_unpacked(res, NULL);

	/* A failed peer del on DISCONNECT keeps the session for a retry. */
	E.wg.fail = "peer del";
	r = wait_resp(send_disconnect(0xc4, a.sid));
	ck_assert_int_eq(r->ok, 0);
	admin("status", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, " sessions=1 "));
}
END_TEST

START_TEST(malformed_commands)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x0f, 0x01 };
	struct setup_args a;
	const struct resp *r;
	uint8_t id[MSG_ID_LEN];
	int calls;

	up();
	calls = E.wg.n + E.nat.n;
	memset(id, 0xd0, sizeof(id));
	send_command(id, sizeof(id), SUPERMESH__COMMAND_TYPE__SETUP_EXIT, junk, sizeof(junk));
	r = wait_resp(0);
	ck_assert_int_eq(r->ok, 0);
	ck_assert_str_eq(r->error, "bad payload");
	ck_assert_mem_eq(r->id, id, MSG_ID_LEN);

	args_init(&a, 1);
	a.key_len = 31;
	ck_assert_str_eq(wait_resp(send_setup(0xd1, &a))->error, "bad client_wg_pubkey");
	args_init(&a, 1);
	a.sid_len = 15;
	ck_assert_str_eq(wait_resp(send_setup(0xd2, &a))->error, "bad session_id");
	args_init(&a, 1);
	a.endpoint = "example.com:51820";
	ck_assert_str_eq(wait_resp(send_setup(0xd3, &a))->error, "bad client_endpoint");
	args_init(&a, 1);
	a.keepalive = 70000;
	ck_assert_str_eq(wait_resp(send_setup(0xd4, &a))->error, "bad keepalive_s");

	send_command(id, 3, SUPERMESH__COMMAND_TYPE__SETUP_EXIT, NULL, 0);
	r = wait_resp(E.nresp);
	ck_assert_int_eq(r->ok, 0);
	ck_assert_str_eq(r->error, "bad command_id");
	memset(id, 0xd5, sizeof(id));
	send_command(id, sizeof(id), SUPERMESH__COMMAND_TYPE__ROTATE_PEER, NULL, 0);
	ck_assert_str_eq(wait_resp(E.nresp)->error, "unsupported");
	send_command(id, sizeof(id), SUPERMESH__COMMAND_TYPE__DISCONNECT, junk, sizeof(junk));
	ck_assert_str_eq(wait_resp(E.nresp)->error, "bad payload");
	ck_assert_int_eq(E.wg.n + E.nat.n, calls);

	/* Same stream, still up, still serving. */
	args_init(&a, 2);
	r = wait_resp(send_setup(0xd6, &a));
	ck_assert_int_eq(r->ok, 1);
	ck_assert_int_eq(E.accepts, 1);
	ck_assert_int_eq(E.closes, 0);
}
END_TEST

START_TEST(pool_full)
{
	struct setup_args a;
	const struct resp *r;

	E.conf.pool = "10.9.9.4/30";
	up();
	ck_assert_str_eq(E.wg.calls[1], "addr add smexit0 10.9.9.5/30");
	args_init(&a, 3);
	ck_assert_int_eq(wait_resp(send_setup(0xe1, &a))->ok, 1);
	args_init(&a, 4);
	r = wait_resp(send_setup(0xe2, &a));
	ck_assert_int_eq(r->ok, 0);
	ck_assert_str_eq(r->error, "pool_full");
	/* A second session for the same client key is refused too. */
	args_init(&a, 3);
	memset(a.sid, 0x77, sizeof(a.sid));
	ck_assert_str_eq(wait_resp(send_setup(0xe3, &a))->error, "key_in_use");
	ck_assert_uint_eq(exitpeer_load_pct(E.ep), 100);
}
END_TEST

/* Sessions and the journal survive a restart: the peers are re-applied
 * before the stream comes up, and an old command id is still answered. */
START_TEST(restart_keeps_sessions)
{
	struct setup_args a;
	const struct resp *r;
	char key[KEY_B64_LEN], want[256];
	Supermesh__SetupExitResult *res;
	int wg0, nat0;

	up();
	args_init(&a, 5);
	ck_assert_int_eq(wait_resp(send_setup(0xf1, &a))->ok, 1);
	ep_stop();
	E.ninfo = 0;
	wg0 = E.wg.n;
	nat0 = E.nat.n;
	up();
	key_b64(5, key);
	snprintf(want, sizeof(want), "peer add smexit0 %s allowed-ips 10.200.0.2/32", key);
	ck_assert_int_eq(E.wg.n, wg0 + 3);
	ck_assert_str_eq(E.wg.calls[wg0 + 2], want);
	ck_assert_int_eq(E.nat.n, nat0 + 2);
	ck_assert_str_eq(E.nat.calls[nat0 + 1], "add 10.200.0.2");
	ck_assert_uint_eq(E.info->n_sessions, 1);
	ck_assert_mem_eq(E.info->sessions[0]->session_id.data, a.sid, 16);

	r = wait_resp(send_setup(0xf1, &a));
	ck_assert_int_eq(r->ok, 1);
	ck_assert_int_eq(E.wg.n, wg0 + 3);
	args_init(&a, 6);
	r = wait_resp(send_setup(0xf2, &a));
	res = supermesh__setup_exit_result__unpack(NULL, r->result_len, r->result);
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(res->client_address, "10.200.0.3/32");
	supermesh__setup_exit_result__free_unpacked(res, NULL);
}
END_TEST

/* A resend while the command is still being applied is not applied twice
 * (its one answer is coming), and another command for the same session
 * meanwhile is told to retry. The three frames arrive in one read. */
START_TEST(inflight_duplicates)
{
	struct setup_args a;
	int i, busy = 0, ok = 0;

	up();
	args_init(&a, 10);
	send_setup(0x11, &a);
	send_setup(0x11, &a);
	send_setup(0x12, &a);
	RUN_UNTIL(E.nresp >= 2, 5000);
	run_for(100);
	ck_assert_int_eq(E.nresp, 2);
	for (i = 0; i < 2; i++) {
		if (E.resp[i].id[0] == 0x12 && !E.resp[i].ok && !strcmp(E.resp[i].error, "busy"))
			busy++;
		if (E.resp[i].id[0] == 0x11 && E.resp[i].ok)
			ok++;
	}
	ck_assert_int_eq(busy, 1);
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(E.wg.n, 3);
	ck_assert_int_eq(E.nat.n, 2);
}
END_TEST

/* Helpers not there yet at boot: the startup chain retries until they are. */
START_TEST(waits_for_helpers)
{
	line_server_free(E.wg.srv);
	E.wg.srv = NULL;
	ep_start();
	run_for(150);
	ck_assert_int_eq(E.ninfo, 0);
	ck_assert_int_eq(E.accepts, 0);
	fake_start(&E.wg, "wg", wg_verbs);
	RUN_UNTIL(E.ninfo >= 1, 5000);
	ck_assert_str_eq(E.wg.calls[0], "iface ensure smexit0 port 51820");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exitpeerd_core");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, startup_and_info);
	tcase_add_test(tc, setup_duplicate_disconnect);
	tcase_add_test(tc, rollback_on_helper_error);
	tcase_add_test(tc, malformed_commands);
	tcase_add_test(tc, pool_full);
	tcase_add_test(tc, restart_keeps_sessions);
	tcase_add_test(tc, inflight_duplicates);
	tcase_add_test(tc, waits_for_helpers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
