/* supernoded's path choice: direct first, relay after 5 s without a
 * handshake, retries from the relay at 60 s doubling to 1 h, reset on an
 * address change but never sooner than the hold-down, and the counters;
 * with can_test, retries tested out of band before anything moves. */
#include <check.h>
#include "../../supernoded/pathsel.h"

#define S 1000ULL

static struct pathsel ps;

static void setup(void)
{
	pathsel_init(&ps, NULL);
}

START_TEST(defaults)
{
	ck_assert_uint_eq(ps.o.probe_ms, 5 * S);
	ck_assert_uint_eq(ps.o.retry_base_ms, 60 * S);
	ck_assert_uint_eq(ps.o.retry_cap_ms, 3600 * S);
	ck_assert_int_eq(ps.state, PS_IDLE);
	ck_assert_uint_eq(pathsel_due(&ps), 0);
	ck_assert_int_eq(pathsel_tick(&ps, 1), PA_NONE);
}
END_TEST

START_TEST(unpunchable_goes_to_relay_and_stays)
{
	ck_assert_int_eq(pathsel_start(&ps, 100, 0), PA_USE_RELAY);
	ck_assert_int_eq(ps.state, PS_RELAY);
	ck_assert_uint_eq(pathsel_due(&ps), 0);
	ck_assert_int_eq(pathsel_tick(&ps, 100 + 10000 * S), PA_NONE);
	ck_assert_int_eq(pathsel_handshake(&ps, 200), PA_NONE); /* not probing: ignored */
	ck_assert_int_eq(ps.state, PS_RELAY);
	ck_assert_uint_eq(ps.fallbacks + ps.failed_punches + ps.upgrades, 0);
}
END_TEST

START_TEST(direct_when_handshake_in_time)
{
	ck_assert_int_eq(pathsel_start(&ps, 1000, 1), PA_TRY_DIRECT);
	ck_assert_int_eq(ps.state, PS_PROBING);
	ck_assert_uint_eq(pathsel_due(&ps), 1000 + 5 * S);
	ck_assert_int_eq(pathsel_tick(&ps, 1000 + 5 * S - 1), PA_NONE);
	ck_assert_int_eq(pathsel_handshake(&ps, 1000 + 4 * S), PA_NONE);
	ck_assert_int_eq(ps.state, PS_DIRECT);
	ck_assert_int_eq(pathsel_tick(&ps, 1000 + 6 * S), PA_NONE);
	ck_assert_uint_eq(pathsel_due(&ps), 0);
	/* Direct from the start is not an upgrade. */
	ck_assert_uint_eq(ps.upgrades, 0);
	ck_assert_uint_eq(ps.fallbacks, 0);
}
END_TEST

START_TEST(relay_after_five_seconds)
{
	pathsel_start(&ps, 0, 1);
	ck_assert_int_eq(pathsel_tick(&ps, 4999), PA_NONE);
	ck_assert_int_eq(pathsel_tick(&ps, 5000), PA_USE_RELAY);
	ck_assert_int_eq(ps.state, PS_RELAY);
	ck_assert_uint_eq(ps.failed_punches, 1);
	ck_assert_uint_eq(ps.fallbacks, 1);
	/* A handshake arriving late does not flip the path. */
	ck_assert_int_eq(pathsel_handshake(&ps, 5001), PA_NONE);
	ck_assert_int_eq(ps.state, PS_RELAY);
	ck_assert_uint_eq(pathsel_due(&ps), 5000 + 60 * S);
}
END_TEST

/* 60, 120, 240, ... 3600 s between tries, then 3600 s forever. */
START_TEST(backoff_doubles_to_cap)
{
	uint64_t now = 0, want = 60 * S, waits[] = { 60, 120, 240, 480, 960, 1920, 3600, 3600 };
	size_t i;

	pathsel_start(&ps, now, 1);
	now = 5 * S;
	ck_assert_int_eq(pathsel_tick(&ps, now), PA_USE_RELAY);
	for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		want = waits[i] * S;
		ck_assert_uint_eq(pathsel_due(&ps), now + want);
		ck_assert_int_eq(pathsel_tick(&ps, now + want - 1), PA_NONE);
		now += want;
		ck_assert_int_eq(pathsel_tick(&ps, now), PA_TRY_DIRECT);
		ck_assert_int_eq(ps.state, PS_PROBING);
		now += 5 * S;
		ck_assert_int_eq(pathsel_tick(&ps, now), PA_USE_RELAY);
	}
	ck_assert_uint_eq(ps.failed_punches, 1 + i);
	ck_assert_uint_eq(ps.fallbacks, 1 + i);
	ck_assert_uint_eq(ps.upgrades, 0);
}
END_TEST

START_TEST(upgrade_from_relay_counts_and_resets_backoff)
{
	pathsel_start(&ps, 0, 1);
	pathsel_tick(&ps, 5 * S);                    /* relay, next at 65 s */
	ck_assert_int_eq(pathsel_tick(&ps, 65 * S), PA_TRY_DIRECT);
	pathsel_tick(&ps, 70 * S);                   /* fails, next wait 120 s */
	ck_assert_uint_eq(pathsel_due(&ps), 190 * S);
	ck_assert_int_eq(pathsel_tick(&ps, 190 * S), PA_TRY_DIRECT);
	ck_assert_int_eq(pathsel_handshake(&ps, 191 * S), PA_NONE);
	ck_assert_int_eq(ps.state, PS_DIRECT);
	ck_assert_uint_eq(ps.upgrades, 1);
	/* Direct breaks: relay at once, retry after the base wait again. */
	ck_assert_int_eq(pathsel_direct_lost(&ps, 500 * S), PA_USE_RELAY);
	ck_assert_int_eq(ps.state, PS_RELAY);
	ck_assert_uint_eq(ps.fallbacks, 3);
	ck_assert_uint_eq(ps.failed_punches, 2);
	ck_assert_uint_eq(pathsel_due(&ps), 560 * S);
	/* Losing a path one is not on does nothing. */
	ck_assert_int_eq(pathsel_direct_lost(&ps, 501 * S), PA_NONE);
	ck_assert_uint_eq(ps.fallbacks, 3);
}
END_TEST

START_TEST(addr_change_resets_with_holddown)
{
	pathsel_start(&ps, 0, 1);
	pathsel_tick(&ps, 5 * S);
	pathsel_tick(&ps, 65 * S);
	pathsel_tick(&ps, 70 * S);                   /* second failure at 70 s */
	ck_assert_uint_eq(ps.retry_ms, 240 * S);
	/* Right after a failure: not at once, at the end of the hold-down. */
	ck_assert_int_eq(pathsel_addr_change(&ps, 72 * S, 1), PA_NONE);
	ck_assert_uint_eq(pathsel_due(&ps), 80 * S);
	ck_assert_uint_eq(ps.retry_ms, 60 * S);
	ck_assert_int_eq(pathsel_tick(&ps, 80 * S), PA_TRY_DIRECT);
	pathsel_tick(&ps, 85 * S);                   /* fails: back to 60 s waits */
	ck_assert_uint_eq(pathsel_due(&ps), 145 * S);
	/* Long after the failure: at once. */
	ck_assert_int_eq(pathsel_addr_change(&ps, 100 * S, 1), PA_TRY_DIRECT);
	ck_assert_int_eq(ps.state, PS_PROBING);
}
END_TEST

START_TEST(addr_change_to_unpunchable_stops_tries)
{
	pathsel_start(&ps, 0, 1);
	pathsel_tick(&ps, 5 * S);
	ck_assert_int_eq(pathsel_addr_change(&ps, 6 * S, 0), PA_NONE);
	ck_assert_uint_eq(pathsel_due(&ps), 0);
	ck_assert_int_eq(pathsel_tick(&ps, 7200 * S), PA_NONE);
	/* And punchable again: tried after the hold-down. */
	ck_assert_int_eq(pathsel_addr_change(&ps, 7201 * S, 1), PA_TRY_DIRECT);
}
END_TEST

START_TEST(addr_change_while_direct_or_probing_only_resets)
{
	pathsel_start(&ps, 0, 1);
	ck_assert_int_eq(pathsel_addr_change(&ps, 1 * S, 1), PA_NONE);
	ck_assert_int_eq(ps.state, PS_PROBING);
	pathsel_handshake(&ps, 2 * S);
	ck_assert_int_eq(pathsel_addr_change(&ps, 3 * S, 1), PA_NONE);
	ck_assert_int_eq(ps.state, PS_DIRECT);
}
END_TEST

START_TEST(custom_opts_and_names)
{
	struct pathsel_opts o = { 100, 1000, 3000, 50, 0, 0 };

	pathsel_init(&ps, &o);
	pathsel_start(&ps, 0, 1);
	ck_assert_int_eq(pathsel_tick(&ps, 100), PA_USE_RELAY);
	ck_assert_uint_eq(pathsel_due(&ps), 1100);
	pathsel_tick(&ps, 1100);
	pathsel_tick(&ps, 1200);
	ck_assert_uint_eq(pathsel_due(&ps), 3200);
	pathsel_tick(&ps, 3200);
	pathsel_tick(&ps, 3300);
	ck_assert_uint_eq(pathsel_due(&ps), 6300);  /* capped at 3000 */
	ck_assert_str_eq(pathsel_state_name(PS_IDLE), "idle");
	ck_assert_str_eq(pathsel_state_name(PS_PROBING), "probing");
	ck_assert_str_eq(pathsel_state_name(PS_DIRECT), "direct");
	ck_assert_str_eq(pathsel_state_name(PS_RELAY), "relay");
	ck_assert_str_eq(pathsel_state_name((enum ps_state)9), "?");
}
END_TEST

/* ---- retries tested out of band first (can_test) ---- */

static void setup_test(void)
{
	struct pathsel_opts o = { 0, 0, 0, 0, 1, 0 };

	pathsel_init(&ps, &o);
	pathsel_start(&ps, 0, 1);
	pathsel_tick(&ps, 5 * S);                    /* relay, next at 65 s */
}

START_TEST(retry_from_relay_tests_first)
{
	setup_test();
	ck_assert_uint_eq(ps.o.test_ms, 30 * S);
	ck_assert_int_eq(pathsel_tick(&ps, 65 * S - 1), PA_NONE);
	ck_assert_int_eq(pathsel_tick(&ps, 65 * S), PA_TEST_DIRECT);
	ck_assert_int_eq(ps.state, PS_TESTING);
	ck_assert_uint_eq(ps.tests, 1);
	ck_assert_uint_eq(pathsel_due(&ps), 95 * S);
	/* Not probing: a handshake or a lost direct path mean nothing. */
	ck_assert_int_eq(pathsel_handshake(&ps, 66 * S), PA_NONE);
	ck_assert_int_eq(pathsel_direct_lost(&ps, 66 * S), PA_NONE);
	ck_assert_int_eq(pathsel_tick(&ps, 94 * S), PA_NONE);
	ck_assert_int_eq(ps.state, PS_TESTING);
	ck_assert_str_eq(pathsel_state_name(PS_TESTING), "testing");
}
END_TEST

START_TEST(test_ok_probes_and_counts_upgrade)
{
	setup_test();
	pathsel_tick(&ps, 65 * S);
	ck_assert_int_eq(pathsel_test_result(&ps, 68 * S, PT_OK), PA_TRY_DIRECT);
	ck_assert_int_eq(ps.state, PS_PROBING);
	ck_assert_int_eq(ps.from_relay, 1);
	ck_assert_uint_eq(pathsel_due(&ps), 73 * S);
	ck_assert_int_eq(pathsel_handshake(&ps, 69 * S), PA_NONE);
	ck_assert_int_eq(ps.state, PS_DIRECT);
	ck_assert_uint_eq(ps.upgrades, 1);
	ck_assert_uint_eq(ps.fallbacks, 1);
	/* A late or repeated result changes nothing. */
	ck_assert_int_eq(pathsel_test_result(&ps, 70 * S, PT_FAILED), PA_NONE);
	ck_assert_int_eq(ps.state, PS_DIRECT);
}
END_TEST

START_TEST(test_ok_but_no_handshake_falls_back)
{
	setup_test();
	pathsel_tick(&ps, 65 * S);
	pathsel_test_result(&ps, 68 * S, PT_OK);
	ck_assert_int_eq(pathsel_tick(&ps, 73 * S), PA_USE_RELAY);
	ck_assert_uint_eq(ps.fallbacks, 2);
	ck_assert_uint_eq(ps.failed_punches, 2);
	/* And the next retry is tested again. */
	ck_assert_uint_eq(pathsel_due(&ps), 193 * S);
	ck_assert_int_eq(pathsel_tick(&ps, 193 * S), PA_TEST_DIRECT);
}
END_TEST

START_TEST(test_failed_stays_on_relay_and_doubles)
{
	setup_test();
	pathsel_tick(&ps, 65 * S);
	ck_assert_int_eq(pathsel_test_result(&ps, 68 * S, PT_FAILED), PA_NONE);
	ck_assert_int_eq(ps.state, PS_RELAY);
	ck_assert_uint_eq(ps.failed_punches, 2);
	ck_assert_uint_eq(ps.fallbacks, 1);          /* nothing moved: no fallback */
	ck_assert_uint_eq(pathsel_due(&ps), 188 * S); /* 120 s after the failure */
	ck_assert_uint_eq(ps.retry_ms, 240 * S);
	ck_assert_int_eq(pathsel_tick(&ps, 188 * S), PA_TEST_DIRECT);
	ck_assert_int_eq(pathsel_test_result(&ps, 189 * S, PT_FAILED), PA_NONE);
	ck_assert_uint_eq(pathsel_due(&ps), 429 * S);
	ck_assert_uint_eq(ps.tests, 2);
	ck_assert_uint_eq(ps.upgrades, 0);
}
END_TEST

START_TEST(test_without_result_fails_at_deadline)
{
	setup_test();
	pathsel_tick(&ps, 65 * S);
	ck_assert_int_eq(pathsel_tick(&ps, 95 * S), PA_NONE);
	ck_assert_int_eq(ps.state, PS_RELAY);
	ck_assert_uint_eq(ps.failed_punches, 2);
	ck_assert_uint_eq(ps.fallbacks, 1);
	ck_assert_uint_eq(pathsel_due(&ps), 215 * S);
	/* The result arriving after the deadline is ignored. */
	ck_assert_int_eq(pathsel_test_result(&ps, 96 * S, PT_OK), PA_NONE);
	ck_assert_int_eq(ps.state, PS_RELAY);
}
END_TEST

START_TEST(test_unsupported_turns_testing_off)
{
	setup_test();
	pathsel_tick(&ps, 65 * S);
	ck_assert_int_eq(pathsel_test_result(&ps, 66 * S, PT_UNSUPPORTED), PA_TRY_DIRECT);
	ck_assert_int_eq(ps.state, PS_PROBING);
	ck_assert_int_eq(ps.o.can_test, 0);
	ck_assert_int_eq(pathsel_tick(&ps, 71 * S), PA_USE_RELAY);
	/* The old behaviour from now on: the next retry moves the peers. */
	ck_assert_int_eq(pathsel_tick(&ps, 191 * S), PA_TRY_DIRECT);
	ck_assert_uint_eq(ps.tests, 1);
}
END_TEST

START_TEST(test_addr_change)
{
	setup_test();
	/* On the relay with testing on, a prompt retry is a test too. */
	ck_assert_int_eq(pathsel_addr_change(&ps, 30 * S, 1), PA_TEST_DIRECT);
	ck_assert_int_eq(ps.state, PS_TESTING);
	/* While testing: only the backoff resets. */
	ck_assert_int_eq(pathsel_addr_change(&ps, 31 * S, 1), PA_NONE);
	ck_assert_int_eq(ps.state, PS_TESTING);
	/* No longer punchable: a passed test moves nothing, no more tries. */
	ck_assert_int_eq(pathsel_addr_change(&ps, 32 * S, 0), PA_NONE);
	ck_assert_int_eq(pathsel_test_result(&ps, 33 * S, PT_OK), PA_NONE);
	ck_assert_int_eq(ps.state, PS_RELAY);
	ck_assert_uint_eq(pathsel_due(&ps), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_pathsel");
	TCase *tc = tcase_create("pathsel");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, unpunchable_goes_to_relay_and_stays);
	tcase_add_test(tc, direct_when_handshake_in_time);
	tcase_add_test(tc, relay_after_five_seconds);
	tcase_add_test(tc, backoff_doubles_to_cap);
	tcase_add_test(tc, upgrade_from_relay_counts_and_resets_backoff);
	tcase_add_test(tc, addr_change_resets_with_holddown);
	tcase_add_test(tc, addr_change_to_unpunchable_stops_tries);
	tcase_add_test(tc, addr_change_while_direct_or_probing_only_resets);
	tcase_add_test(tc, custom_opts_and_names);
	tcase_add_test(tc, retry_from_relay_tests_first);
	tcase_add_test(tc, test_ok_probes_and_counts_upgrade);
	tcase_add_test(tc, test_ok_but_no_handshake_falls_back);
	tcase_add_test(tc, test_failed_stays_on_relay_and_doubles);
	tcase_add_test(tc, test_without_result_fails_at_deadline);
	tcase_add_test(tc, test_unsupported_turns_testing_off);
	tcase_add_test(tc, test_addr_change);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
