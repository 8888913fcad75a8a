/* supernoded's ranking: live first, public endpoints before NATed ones
 * (unless force_relay), then load, then RTT; filters on bandwidth/latency. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include "../../supernoded/rank.h"

static struct rank_cand cand(uint8_t tag, int live, const char *ep, int nat, uint32_t load,
                             uint32_t rtt)
{
	struct rank_cand c;

	memset(&c, 0, sizeof(c));
	memset(c.exit_id, tag, sizeof(c.exit_id));
	c.live = live;
	snprintf(c.endpoint, sizeof(c.endpoint), "%s", ep);
	c.behind_nat = nat;
	c.load_pct = load;
	c.rtt_ms = rtt;
	return c;
}

START_TEST(dead_dropped_live_first)
{
	struct rank_cand c[3] = { cand(1, 0, "", 0, 0, 1), cand(2, 1, "", 1, 90, 50),
	                          cand(3, 1, "", 1, 10, 50) };
	struct rank_want w = { 0 };

	ck_assert_uint_eq(rank_sort(c, 3, &w), 2);
	ck_assert_uint_eq(c[0].exit_id[0], 3);
	ck_assert_uint_eq(c[1].exit_id[0], 2);
}
END_TEST

START_TEST(public_preferred_unless_force_relay)
{
	struct rank_cand a = cand(1, 1, "192.0.2.1:51820", 0, 80, 10);
	struct rank_cand b = cand(2, 1, "", 1, 5, 10);
	struct rank_cand nat_with_ep = cand(3, 1, "192.0.2.3:51820", 1, 5, 10);

	ck_assert_int_lt(rank_cmp(&a, &b, 0), 0);
	ck_assert_int_gt(rank_cmp(&a, &b, 1), 0);   /* then load decides */
	ck_assert_int_lt(rank_cmp(&a, &nat_with_ep, 0), 0);
	ck_assert_int_eq(rank_is_public(&nat_with_ep), 0);
}
END_TEST

START_TEST(load_then_rtt_then_id)
{
	struct rank_cand c[4] = { cand(4, 1, "", 1, 20, RANK_RTT_UNKNOWN),
	                          cand(3, 1, "", 1, 20, 30), cand(2, 1, "", 1, 20, 30),
	                          cand(1, 1, "", 1, 10, 99) };
	struct rank_want w = { 0 };

	ck_assert_uint_eq(rank_sort(c, 4, &w), 4);
	ck_assert_uint_eq(c[0].exit_id[0], 1);
	ck_assert_uint_eq(c[1].exit_id[0], 2);
	ck_assert_uint_eq(c[2].exit_id[0], 3);
	ck_assert_uint_eq(c[3].exit_id[0], 4);
}
END_TEST

START_TEST(filters_bandwidth_latency)
{
	struct rank_cand c[3] = { cand(1, 1, "", 1, 0, 200), cand(2, 1, "", 1, 0, 20),
	                          cand(3, 1, "", 1, 0, RANK_RTT_UNKNOWN) };
	struct rank_want w = { .min_bw = 1000, .max_latency_ms = 100 };

	c[1].bandwidth_bps = 10;    /* too slow */
	c[2].bandwidth_bps = 0;     /* unknown passes */
	ck_assert_uint_eq(rank_sort(c, 3, &w), 1);
	ck_assert_uint_eq(c[0].exit_id[0], 3);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_rank");
	TCase *tc = tcase_create("rank");

	tcase_add_test(tc, dead_dropped_live_first);
	tcase_add_test(tc, public_preferred_unless_force_relay);
	tcase_add_test(tc, load_then_rtt_then_id);
	tcase_add_test(tc, filters_bandwidth_latency);
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
