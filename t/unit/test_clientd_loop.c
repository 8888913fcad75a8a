/* clientd on loopback (fixture in clientd_fixture.h). Proves the requests
 * clientd makes and their order: tunnel up, rotation (new peer before old),
 * fail-closed drop, user disconnect, rollback on a wgrelay error, malformed
 * answers, resync after reconnect and after a restart. */
#include <check.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "clientd_fixture.h"

/* ---- cases ---- */

START_TEST(connect_brings_tunnel_up)
{
	const char *want[] = {
		"addr add smc0 10.200.0.5/32", peer_a,
		"route add 0.0.0.0/0 dev smc0 table 51820",
		"rule add not fwmark 51820 table 51820 priority 101",
		"rule add table main suppress-prefixlength 0 priority 100",
		"rule add to 127.0.0.1/32 table main priority 99",
		"rule add to 198.51.100.7/32 table main priority 99", NULL,
	};
	struct line_reply r;
	char line[] = "status", hex[33];
	size_t mark = connect_up();

	expect_reqs(mark, want);
	ck_assert_str_eq(E.cd->s.address, "10.200.0.5/32");
	/* The supernode hears the session named once it is up. */
	RUN_UNTIL(E.info_sessions == 1, 2000);
	ck_assert_mem_eq(E.info_sid, sess, 16);
	/* The port iface ensure answered, at the stream's local address. */
	ck_assert_str_eq(E.info_wg_local, "127.0.0.1:41414");
	verb_dispatch_line(clientd_admin_verbs, E.cd, line, strlen(line), &r);
	line_reply_finish(&r);
	bytes_to_hex(sess, 16, hex);
	ck_assert_ptr_nonnull(strstr(r.buf, "ok state=connected region=eu session="));
	ck_assert_ptr_nonnull(strstr(r.buf, hex));
	ck_assert_ptr_nonnull(strstr(r.buf, a64));
	ck_assert_ptr_nonnull(strstr(r.buf, "path=direct address=10.200.0.5/32 "
	                                    "endpoint=198.51.100.7:51820"));
	ck_assert_ptr_nonnull(strstr(r.buf, "error=-"));
}
END_TEST

START_TEST(rotate_adds_new_before_old)
{
	uint8_t id[16];
	size_t mark, n;
	int add_b, del_a_at;

	connect_up();
	mark = E.nreq;
	memset(id, 0x21, 16);
	send_rotate(id);
	RUN_UNTIL(E.n_resp == 1, 3000);
	ck_assert_int_eq(E.resp_ok, 1);
	ck_assert_mem_eq(E.resp_id, id, 16);
	ck_assert_int_eq(E.cd->s.state, CS_CONNECTED);
	ck_assert_int_eq(E.cd->s.path, CP_RELAY);
	add_b = find_req(mark, peer_b);
	del_a_at = find_req(mark, del_a);
	ck_assert_int_ge(add_b, 0);
	ck_assert_int_ge(del_a_at, 0);
	ck_assert_int_lt(add_b, del_a_at);
	ck_assert_int_lt(find_req(mark, "addr add smc0 10.201.0.9/32"), add_b);
	ck_assert_int_gt(find_req(mark, "addr del smc0 10.200.0.5/32"), del_a_at);
	ck_assert_int_ge(find_req(mark, "rule add to 203.0.113.4/32 table main priority 99"), 0);
	ck_assert_int_ge(find_req(mark, "rule del to 198.51.100.7/32 table main priority 99"), 0);
	ck_assert_int_lt(find_req(mark, "route del 0.0.0.0/0 dev smc0 table 51820"), 0);
	/* The same command again is answered from the journal, not applied. */
	n = E.nreq;
	send_rotate(id);
	RUN_UNTIL(E.n_resp == 2, 3000);
	ck_assert_int_eq(E.resp_ok, 1);
	run_for(50);
	ck_assert_uint_eq(E.nreq, n);
}
END_TEST

/* A full tunnel dropped by the supernode keeps routes and rules: traffic
 * goes into a peerless interface and is dropped, not leaked. */
START_TEST(remote_disconnect_fails_closed)
{
	const char *want_peer[] = { del_a, NULL };
	struct line_reply r;
	char line[] = "status";
	uint8_t id[16];
	size_t mark;

	connect_up();
	mark = E.nreq;
	memset(id, 0x31, 16);
	send_disconnect(id, "admin");
	RUN_UNTIL(E.n_resp == 1, 3000);
	ck_assert_int_eq(E.resp_ok, 1);
	ck_assert_int_eq(E.cd->s.state, CS_DISCONNECTED);
	expect_reqs(mark, want_peer);
	run_for(50);
	ck_assert_uint_eq(E.n_exit_req, 1); /* not exit_lost: no new request */
	verb_dispatch_line(clientd_admin_verbs, E.cd, line, strlen(line), &r);
	line_reply_finish(&r);
	ck_assert_ptr_nonnull(strstr(r.buf, "state=disconnected"));
	ck_assert_ptr_nonnull(strstr(r.buf, "fail_closed=yes"));
	/* The user's disconnect then opens it: rules, routes, address go. */
	mark = E.nreq;
	ck_assert_int_eq(clientd_disconnect(E.cd), 0);
	RUN_UNTIL(E.nreq >= mark + 6 && !E.cd->run, 3000);
	ck_assert_int_ge(find_req(mark, "route del 0.0.0.0/0 dev smc0 table 51820"), 0);
	ck_assert_int_ge(find_req(mark, "rule del not fwmark 51820 table 51820 priority 101"), 0);
	ck_assert_int_ge(find_req(mark, "addr del smc0 10.200.0.5/32"), 0);
	ck_assert_uint_eq(E.n_cmd, 0); /* no session left to end */
}
END_TEST

/* Every reason but an operator's "admin" or "ended" keeps the user's wish
 * for a tunnel: the client asks again, fail-closed meanwhile. */
static const char *const lost_reasons[] = { "exit_lost", "no_exit", "unknown_session" };

START_TEST(exit_lost_asks_again)
{
	uint8_t id[16];

	connect_up();
	memset(id, 0x41, 16);
	send_disconnect(id, lost_reasons[_i]);
	RUN_UNTIL(E.n_resp == 1 && E.n_exit_req == 2, 3000);
	ck_assert_int_eq(E.cd->s.state, CS_CONNECTING);
	ck_assert_str_eq(E.region, "eu");
	ck_assert_int_lt(find_req(0, "route del 0.0.0.0/0 dev smc0 table 51820"), 0);
}
END_TEST

START_TEST(user_disconnect_ends_session)
{
	const char *want[] = {
		del_a, "rule del to 127.0.0.1/32 table main priority 99",
		"rule del to 198.51.100.7/32 table main priority 99",
		"rule del table main suppress-prefixlength 0 priority 100",
		"rule del not fwmark 51820 table 51820 priority 101",
		"route del 0.0.0.0/0 dev smc0 table 51820", "addr del smc0 10.200.0.5/32", NULL,
	};
	size_t mark;

	connect_up();
	mark = E.nreq;
	ck_assert_int_eq(clientd_disconnect(E.cd), 0);
	RUN_UNTIL(E.n_cmd == 1 && E.nreq == mark + 7, 3000);
	ck_assert_int_eq(E.cmd_type, SUPERMESH__COMMAND_TYPE__DISCONNECT);
	ck_assert_mem_eq(E.cmd_sid, sess, 16);
	expect_reqs(mark, want);
	ck_assert_int_eq(E.cd->s.state, CS_DISCONNECTED);
	ck_assert_int_eq(E.cd->s.has_id, 0);
}
END_TEST

START_TEST(wgrelay_error_rolls_back)
{
	const char *want[] = {
		"addr add smc0 10.200.0.5/32", peer_a, "route add 0.0.0.0/0 dev smc0 table 51820",
		del_a, "addr del smc0 10.200.0.5/32", NULL,
	};
	size_t mark;

	make_peer_texts();
	E.fail_on = "route add";
	start_clientd();
	ck_assert_int_eq(clientd_connect(E.cd, "eu"), 0);
	RUN_UNTIL(E.n_exit_req == 1, 3000);
	mark = E.nreq;
	send_exit_response(1, 32, "10.200.0.5/32");
	RUN_UNTIL(E.cd->s.state == CS_ERROR && E.n_cmd == 1, 3000);
	expect_reqs(mark, want);
	ck_assert_ptr_nonnull(strstr(E.cd->s.last_error, "route add"));
	/* The supernode is told to free the exit it set up. */
	ck_assert_int_eq(E.cmd_type, SUPERMESH__COMMAND_TYPE__DISCONNECT);
	ck_assert_mem_eq(E.cmd_sid, sess, 16);
	ck_assert_int_eq(E.cd->installed.has_peer, 0);
}
END_TEST

START_TEST(malformed_exit_response)
{
	size_t mark;

	start_clientd();
	ck_assert_int_eq(clientd_connect(E.cd, "eu"), 0);
	RUN_UNTIL(E.n_exit_req == 1, 3000);
	mark = E.nreq;
	send_exit_response(1, 31, "10.200.0.5/32"); /* short key */
	RUN_UNTIL(E.cd->s.state == CS_ERROR, 3000);
	ck_assert_ptr_nonnull(strstr(E.cd->s.last_error, "32 bytes"));
	ck_assert_int_eq(clientd_connect(E.cd, "eu"), 0);
	RUN_UNTIL(E.n_exit_req == 2, 3000);
	send_exit_response(1, 32, "10.200.0.5/33"); /* bad CIDR */
	RUN_UNTIL(E.cd->s.state == CS_ERROR, 3000);
	ck_assert_ptr_nonnull(strstr(E.cd->s.last_error, "client address"));
	run_for(50);
	ck_assert_uint_eq(E.nreq, mark); /* nothing configured */
	ck_assert_int_eq(E.cd->s.has_id, 0);
}
END_TEST

/* An answer that arrives after the user gave up is not configured; the
 * supernode is told to free the exit it set up for it. */
START_TEST(late_exit_response_released)
{
	size_t mark;

	start_clientd();
	ck_assert_int_eq(clientd_connect(E.cd, "eu"), 0);
	RUN_UNTIL(E.n_exit_req == 1, 3000);
	ck_assert_int_eq(clientd_disconnect(E.cd), 0);
	mark = E.nreq;
	send_exit_response(1, 32, "10.200.0.5/32");
	RUN_UNTIL(E.n_cmd == 1, 3000);
	ck_assert_int_eq(E.cmd_type, SUPERMESH__COMMAND_TYPE__DISCONNECT);
	ck_assert_mem_eq(E.cmd_sid, sess, 16);
	ck_assert_int_eq(E.cd->s.state, CS_DISCONNECTED);
	run_for(50);
	ck_assert_uint_eq(E.nreq, mark);
}
END_TEST

START_TEST(refused_exit_retries)
{
	start_clientd();
	ck_assert_int_eq(clientd_connect(E.cd, "eu"), 0);
	RUN_UNTIL(E.n_exit_req == 1, 3000);
	send_exit_response(0, 32, "10.200.0.5/32");
	RUN_UNTIL(E.n_exit_req == 2, 3000);
	ck_assert_int_eq(E.cd->s.state, CS_CONNECTING);
	ck_assert_ptr_nonnull(strstr(E.cd->s.last_error, "no exit"));
}
END_TEST

/* The stream drops and comes back: the new stream's InfoResponse names the
 * session, so the supernode keeps it. */
START_TEST(reconnect_resyncs)
{
	connect_up();
	RUN_UNTIL(E.info_sessions == 1, 2000);
	E.n_info = 0;
	E.info_sessions = 0;
	memset(E.info_sid, 0, 16);
	channel_close(E.ch, 0, "bye");
	RUN_UNTIL(E.accepted == 2 && E.n_info >= 1, 5000);
	ck_assert_uint_eq(E.info_sessions, 1);
	ck_assert_mem_eq(E.info_sid, sess, 16);
	ck_assert_int_eq(E.cd->s.state, CS_CONNECTED);
}
END_TEST

/* The session survives a restart of clientd: state from SQLite, the tunnel
 * re-applied (idempotent verbs), the session named on the new stream. */
START_TEST(restart_keeps_session)
{
	size_t mark;

	connect_up();
	stop_clientd();
	E.n_info = 0;
	E.info_sessions = 0;
	mark = E.nreq;
	start_clientd();
	ck_assert_uint_eq(E.info_sessions, 1);
	ck_assert_mem_eq(E.info_sid, sess, 16);
	RUN_UNTIL(E.cd->s.state == CS_CONNECTED, 3000);
	ck_assert_int_ge(find_req(mark, peer_a), 0);
	ck_assert_int_ge(find_req(mark, "rule add table main suppress-prefixlength 0 priority 100"),
	                 0);
	ck_assert_uint_eq(E.n_exit_req, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("clientd_loop");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	keys_init();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, connect_brings_tunnel_up);
	tcase_add_test(tc, rotate_adds_new_before_old);
	tcase_add_test(tc, remote_disconnect_fails_closed);
	tcase_add_loop_test(tc, exit_lost_asks_again, 0,
	                    (int)(sizeof(lost_reasons) / sizeof(lost_reasons[0])));
	tcase_add_test(tc, user_disconnect_ends_session);
	tcase_add_test(tc, wgrelay_error_rolls_back);
	tcase_add_test(tc, malformed_exit_response);
	tcase_add_test(tc, late_exit_response_released);
	tcase_add_test(tc, refused_exit_retries);
	tcase_add_test(tc, reconnect_resyncs);
	tcase_add_test(tc, restart_keeps_session);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
