/* clientd/session.c: the state machine's table, walked through the flows of
 * the control plane (connect, rotate, fail closed, errors) and its refusals. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "../../clientd/session.h"

/* Walks a list of events, checking each state reached. */
struct walk {
	enum cs_event ev;
	enum cs_state want;
};

static void run_walk(const struct walk *w, size_t n)
{
	struct session s;
	size_t i;

	session_init(&s);
	ck_assert_int_eq(s.state, CS_DISCONNECTED);
	for (i = 0; i < n; i++) {
		ck_assert_msg(session_apply(&s, w[i].ev) == 0, "step %zu: %s refused in %s", i,
		              session_event_name(w[i].ev), session_state_name(s.state));
		ck_assert_msg(s.state == w[i].want, "step %zu: %s, want %s", i,
		              session_state_name(s.state), session_state_name(w[i].want));
	}
}

START_TEST(connect_rotate_disconnect)
{
	const struct walk w[] = {
		{ CE_CONNECT, CS_CONNECTING }, { CE_EXIT_RETRY, CS_CONNECTING },
		{ CE_TUNNEL_UP, CS_CONNECTED }, { CE_ROTATE, CS_ROTATING },
		{ CE_ROTATE_DONE, CS_CONNECTED }, { CE_ROTATE, CS_ROTATING },
		{ CE_ROTATE_FAIL, CS_CONNECTED }, { CE_USER_DISCONNECT, CS_DISCONNECTED },
	};

	run_walk(w, sizeof(w) / sizeof(w[0]));
}
END_TEST

START_TEST(exit_lost_reconnects)
{
	const struct walk w[] = {
		{ CE_CONNECT, CS_CONNECTING }, { CE_TUNNEL_UP, CS_CONNECTED },
		{ CE_EXIT_LOST, CS_CONNECTING }, { CE_TUNNEL_UP, CS_CONNECTED },
		{ CE_DROPPED, CS_DISCONNECTED },
	};

	run_walk(w, sizeof(w) / sizeof(w[0]));
}
END_TEST

START_TEST(errors_and_recovery)
{
	const struct walk w[] = {
		{ CE_CONNECT, CS_CONNECTING }, { CE_EXIT_BAD, CS_ERROR },
		{ CE_CONNECT, CS_CONNECTING }, { CE_TUNNEL_FAIL, CS_ERROR },
		{ CE_USER_DISCONNECT, CS_DISCONNECTED }, { CE_TUNNEL_FAIL, CS_ERROR },
		{ CE_CONNECT, CS_CONNECTING }, { CE_USER_DISCONNECT, CS_DISCONNECTED },
		{ CE_RESTORED, CS_CONNECTED },
	};

	run_walk(w, sizeof(w) / sizeof(w[0]));
}
END_TEST

/* Events that make no sense in a state are refused and change nothing. */
START_TEST(refusals)
{
	static const struct { enum cs_state st; enum cs_event ev; } bad[] = {
		{ CS_DISCONNECTED, CE_TUNNEL_UP }, { CS_DISCONNECTED, CE_ROTATE },
		{ CS_DISCONNECTED, CE_EXIT_RETRY }, { CS_DISCONNECTED, CE_DROPPED },
		{ CS_CONNECTING, CE_ROTATE }, { CS_CONNECTING, CE_RESTORED },
		{ CS_CONNECTED, CE_CONNECT }, { CS_CONNECTED, CE_TUNNEL_UP },
		{ CS_CONNECTED, CE_EXIT_RETRY }, { CS_ROTATING, CE_ROTATE },
		{ CS_ROTATING, CE_USER_DISCONNECT }, { CS_ROTATING, CE_DROPPED },
		{ CS_ERROR, CE_TUNNEL_UP }, { CS_ERROR, CE_ROTATE },
	};
	struct session s;
	enum cs_state to = CS_NSTATES;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		session_init(&s);
		s.state = bad[i].st;
		ck_assert_msg(session_apply(&s, bad[i].ev) == -EINVAL, "%s accepted in %s",
		              session_event_name(bad[i].ev), session_state_name(bad[i].st));
		ck_assert_int_eq(s.state, bad[i].st);
	}
	ck_assert_int_eq(session_next(CS_NSTATES, CE_CONNECT, &to), -EINVAL);
	ck_assert_int_eq(session_next(CS_CONNECTED, CE_NEVENTS, &to), -EINVAL);
	ck_assert_int_eq(to, CS_NSTATES);
}
END_TEST

/* Every state has a name, every state can be left by a user disconnect or
 * is transient (rotating), and nothing maps outside the states. */
START_TEST(table_is_total)
{
	enum cs_state to;
	int st, ev;

	for (st = 0; st < CS_NSTATES; st++) {
		ck_assert_str_ne(session_state_name((enum cs_state)st), "unknown");
		for (ev = 0; ev < CE_NEVENTS; ev++)
			if (session_next((enum cs_state)st, (enum cs_event)ev, &to) == 0)
				ck_assert_int_lt(to, CS_NSTATES);
		if (st != CS_ROTATING)
			ck_assert_int_eq(session_next((enum cs_state)st, CE_USER_DISCONNECT, &to), 0);
	}
	ck_assert_str_eq(session_state_name(CS_NSTATES), "unknown");
	ck_assert_str_eq(session_path_name(CP_RELAY_CHAIN), "relay_chain");
}
END_TEST

START_TEST(clear_keeps_region_and_error)
{
	struct session s;

	session_init(&s);
	snprintf(s.region, sizeof(s.region), "eu");
	s.has_id = s.has_exit = 1;
	s.id[0] = 1;
	s.path = CP_RELAY;
	snprintf(s.address, sizeof(s.address), "10.0.0.2/32");
	session_set_error(&s, "x=%d", 5);
	session_clear(&s);
	ck_assert_int_eq(s.has_id, 0);
	ck_assert_int_eq(s.has_exit, 0);
	ck_assert_int_eq(s.id[0], 0);
	ck_assert_int_eq(s.path, CP_NONE);
	ck_assert_str_eq(s.address, "");
	ck_assert_str_eq(s.region, "eu");
	ck_assert_str_eq(s.last_error, "x=5");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("clientd_session");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, connect_rotate_disconnect);
	tcase_add_test(tc, exit_lost_reconnects);
	tcase_add_test(tc, errors_and_recovery);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, table_is_total);
	tcase_add_test(tc, clear_keeps_region_and_error);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
