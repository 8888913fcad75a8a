/* Metrics: exposition text for each type, cumulative buckets, escaping,
 * name and label validation, family grouping. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

static struct metrics *m;

static void setup(void)
{
	m = metrics_new();
	ck_assert_ptr_nonnull(m);
}

static void teardown(void)
{
	metrics_free(m);
}

static void expect_render(const char *golden)
{
	char *out;
	size_t len;

	ck_assert_int_eq(metrics_render(m, &out, &len), 0);
	ck_assert_str_eq(out, golden);
	ck_assert_uint_eq(len, strlen(golden));
	free(out);
}

START_TEST(counter_golden)
{
	struct metric *c = metrics_counter_new(m, "frames_total", "Frames received.");

	ck_assert_ptr_nonnull(c);
	expect_render("# HELP frames_total Frames received.\n"
	              "# TYPE frames_total counter\n"
	              "frames_total 0\n");
	metrics_counter_add(c, 3);
	metrics_counter_add(c, 18446744073709551000ull);
	ck_assert_uint_eq(metrics_counter_value(c), 18446744073709551003ull);
	expect_render("# HELP frames_total Frames received.\n"
	              "# TYPE frames_total counter\n"
	              "frames_total 18446744073709551003\n");
}
END_TEST

START_TEST(gauge_golden)
{
	struct metric *g = metrics_gauge_new(m, "peers", "Connected peers.");

	metrics_gauge_set(g, 7);
	metrics_gauge_add(g, -2.5);
	ck_assert(metrics_gauge_value(g) == 4.5);
	expect_render("# HELP peers Connected peers.\n"
	              "# TYPE peers gauge\n"
	              "peers 4.5\n");
	metrics_gauge_set(g, 0.1);
	expect_render("# HELP peers Connected peers.\n# TYPE peers gauge\npeers 0.1\n");
	metrics_gauge_set(g, INFINITY);
	expect_render("# HELP peers Connected peers.\n# TYPE peers gauge\npeers +Inf\n");
	metrics_gauge_set(g, NAN);
	expect_render("# HELP peers Connected peers.\n# TYPE peers gauge\npeers NaN\n");
}
END_TEST

START_TEST(histogram_golden)
{
	static const double b[] = { 0.005, 0.1, 1, 10 };
	static const char *const lab[] = { "peer", "a", NULL };
	struct metric *h = metrics_histogram_new_labels(m, "rtt_seconds", "RTT.", b, 4, lab);

	ck_assert_ptr_nonnull(h);
	metrics_histogram_observe(h, 0.001);
	metrics_histogram_observe(h, 0.005); /* on a bound: counts in that bucket */
	metrics_histogram_observe(h, 0.5);
	metrics_histogram_observe(h, 0.5);
	metrics_histogram_observe(h, 100);
	expect_render("# HELP rtt_seconds RTT.\n"
	              "# TYPE rtt_seconds histogram\n"
	              "rtt_seconds_bucket{peer=\"a\",le=\"0.005\"} 2\n"
	              "rtt_seconds_bucket{peer=\"a\",le=\"0.1\"} 2\n"
	              "rtt_seconds_bucket{peer=\"a\",le=\"1\"} 4\n"
	              "rtt_seconds_bucket{peer=\"a\",le=\"10\"} 4\n"
	              "rtt_seconds_bucket{peer=\"a\",le=\"+Inf\"} 5\n"
	              "rtt_seconds_sum{peer=\"a\"} 101.006\n"
	              "rtt_seconds_count{peer=\"a\"} 5\n");
}
END_TEST

START_TEST(histogram_unlabelled)
{
	static const double b[] = { 1, 2 };
	struct metric *h = metrics_histogram_new(m, "x", "h", b, 2);

	metrics_histogram_observe(h, 3);
	expect_render("# HELP x h\n# TYPE x histogram\n"
	              "x_bucket{le=\"1\"} 0\n"
	              "x_bucket{le=\"2\"} 0\n"
	              "x_bucket{le=\"+Inf\"} 1\n"
	              "x_sum 3\n"
	              "x_count 1\n");
}
END_TEST

START_TEST(escaping)
{
	static const char *const lab[] = { "path", "a\\b\"c\nd", "k2", "plain", NULL };
	struct metric *c = metrics_counter_new_labels(m, "e_total", "Help \\ with\nnewline \"q\".", lab);

	ck_assert_ptr_nonnull(c);
	metrics_counter_add(c, 1);
	expect_render("# HELP e_total Help \\\\ with\\nnewline \"q\".\n"
	              "# TYPE e_total counter\n"
	              "e_total{path=\"a\\\\b\\\"c\\nd\",k2=\"plain\"} 1\n");
}
END_TEST

START_TEST(families_group_series)
{
	static const char *const a[] = { "role", "client", NULL };
	static const char *const b[] = { "role", "exit", NULL };
	struct metric *ca = metrics_counter_new_labels(m, "auth_total", "Auths.", a);
	struct metric *g = metrics_gauge_new(m, "up", "Up.");
	struct metric *cb = metrics_counter_new_labels(m, "auth_total", "ignored", b);

	ck_assert_ptr_nonnull(ca);
	ck_assert_ptr_nonnull(cb);
	ck_assert_ptr_ne(ca, cb);
	/* Same name and labels: the same series. */
	ck_assert_ptr_eq(metrics_counter_new_labels(m, "auth_total", "Auths.", a), ca);
	metrics_counter_add(ca, 2);
	metrics_counter_add(cb, 5);
	metrics_gauge_set(g, 1);
	expect_render("# HELP auth_total Auths.\n"
	              "# TYPE auth_total counter\n"
	              "auth_total{role=\"client\"} 2\n"
	              "auth_total{role=\"exit\"} 5\n"
	              "# HELP up Up.\n"
	              "# TYPE up gauge\n"
	              "up 1\n");
	/* Updates of the wrong type do nothing. */
	metrics_gauge_set(ca, 9);
	metrics_histogram_observe(g, 9);
	ck_assert_uint_eq(metrics_counter_value(ca), 2);
}
END_TEST

static void expect_einval(struct metric *s)
{
	ck_assert_ptr_null(s);
	ck_assert_int_eq(errno, EINVAL);
}

START_TEST(validation)
{
	static const double good[] = { 1, 2 };
	static const double unsorted[] = { 2, 1 };
	static const double dup[] = { 1, 1 };
	static const double inf[] = { 1, INFINITY };
	static const char *const badkey[] = { "1x", "v", NULL };
	static const char *const colon[] = { "a:b", "v", NULL };
	static const char *const reserved[] = { "__x", "v", NULL };
	static const char *const le[] = { "le", "v", NULL };
	static const char *const odd[] = { "k", NULL };
	static const char *const twice[] = { "k", "1", "k", "2", NULL };
	static const char *const five[] = { "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", NULL };
	static const char *const four[] = { "a", "1", "b", "2", "c", "3", "d", "4", NULL };

	ck_assert_ptr_nonnull(metrics_counter_new(m, "ok:name_1", "h"));
	ck_assert_ptr_nonnull(metrics_counter_new(m, "_x", "h"));
	ck_assert_ptr_nonnull(metrics_counter_new(m, ":x", "h"));
	expect_einval(metrics_counter_new(m, "", "h"));
	expect_einval(metrics_counter_new(m, "1abc", "h"));
	expect_einval(metrics_counter_new(m, "a-b", "h"));
	expect_einval(metrics_counter_new(m, "a b", "h"));
	expect_einval(metrics_counter_new(m, "a\n", "h"));
	expect_einval(metrics_gauge_new(m, "ok:name_1", "h")); /* type clash */
	expect_einval(metrics_counter_new_labels(m, "l", "h", badkey));
	expect_einval(metrics_counter_new_labels(m, "l", "h", colon));
	expect_einval(metrics_counter_new_labels(m, "l", "h", reserved));
	expect_einval(metrics_counter_new_labels(m, "l", "h", odd));
	expect_einval(metrics_counter_new_labels(m, "l", "h", twice));
	expect_einval(metrics_counter_new_labels(m, "l", "h", five));
	ck_assert_ptr_nonnull(metrics_counter_new_labels(m, "l", "h", four));
	ck_assert_ptr_nonnull(metrics_counter_new_labels(m, "l2", "h", le));
	expect_einval(metrics_histogram_new_labels(m, "hh", "h", good, 2, le));
	expect_einval(metrics_histogram_new(m, "hh", "h", unsorted, 2));
	expect_einval(metrics_histogram_new(m, "hh", "h", dup, 2));
	expect_einval(metrics_histogram_new(m, "hh", "h", inf, 2));
	expect_einval(metrics_histogram_new(m, "hh", "h", good, 0));
	expect_einval(metrics_histogram_new(m, "hh", "h", good, METRICS_MAX_BUCKETS + 1));
	ck_assert_ptr_nonnull(metrics_histogram_new(m, "hh", "h", good, 2));
	expect_einval(metrics_histogram_new(m, "hh", "h", good, 1)); /* other bounds */
}
END_TEST

START_TEST(empty_registry)
{
	expect_render("");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, counter_golden);
	tcase_add_test(tc, gauge_golden);
	tcase_add_test(tc, histogram_golden);
	tcase_add_test(tc, histogram_unlabelled);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, families_group_series);
	tcase_add_test(tc, validation);
	tcase_add_test(tc, empty_registry);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
