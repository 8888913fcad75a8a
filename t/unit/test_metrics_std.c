/* Tests for lib/metrics_std.c: the standard series get their names, types,
 * buckets and help (the daemon's or the default), series not asked for stay
 * out, and a name taken by another type is an error. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "metrics_std.h"
#include "fixture.h"

static char *render(const struct metrics *m)
{
	char *out;
	size_t len;

	ck_assert_int_eq(metrics_render(m, &out, &len), 0);
	return out;
}

START_TEST(every_series_with_defaults)
{
	struct metric *st = NULL, *au = NULL, *fl = NULL, *rtt = NULL, *lat = NULL, *ok = NULL,
	              *fail = NULL;
	struct metrics_std s = {
		.streams = &st, .auth_failures = &au, .flood = &fl, .rtt_ms = &rtt,
		.cmd_latency = &lat, .cmd_ok = &ok, .cmd_fail = &fail,
	};
	struct metrics *m = metrics_new();
	char *text;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(metrics_std_new(m, &s), 0);
	ck_assert(st && au && fl && rtt && lat && ok && fail);
	metrics_counter_add(au, 2);
	metrics_gauge_set(st, 1);
	text = render(m);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE active_streams_total gauge\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE stream_auth_failures_total counter\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nstream_auth_failures_total 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE stream_flood_closed_total counter\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE peer_heartbeat_latency_ms histogram\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE command_latency_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(text, "command_latency_seconds_bucket{le=\"+Inf\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE command_success_total counter\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE command_failure_total counter\n"));
	ck_assert_ptr_nonnull(strstr(text, "# HELP command_success_total Commands applied "
	                                   "successfully.\n"));
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(only_what_is_asked_with_own_help)
{
	struct metric *st = NULL, *au = NULL;
	struct metrics_std s = {
		.streams = &st, .auth_failures = &au,
		.streams_help = "Supernode streams.", .auth_help = "Refused.",
	};
	struct metrics *m = metrics_new();
	char *text;

	ck_assert_int_eq(metrics_std_new(m, &s), 0);
	text = render(m);
	ck_assert_ptr_nonnull(strstr(text, "# HELP active_streams_total Supernode streams.\n"));
	ck_assert_ptr_nonnull(strstr(text, "# HELP stream_auth_failures_total Refused.\n"));
	ck_assert_ptr_null(strstr(text, "command_"));
	ck_assert_ptr_null(strstr(text, "peer_heartbeat_latency_ms"));
	ck_assert_ptr_null(strstr(text, "stream_flood_closed_total"));
	free(text);
	metrics_free(m);
}
END_TEST

START_TEST(name_of_another_type_refused)
{
	struct metric *fl = NULL;
	struct metrics_std s = { .flood = &fl };
	struct metrics *m = metrics_new();

	ck_assert_ptr_nonnull(metrics_gauge_new(m, "stream_flood_closed_total", "x"));
	ck_assert_int_eq(metrics_std_new(m, &s), -EINVAL);
	ck_assert_ptr_null(fl);
	metrics_free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics_std");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, every_series_with_defaults);
	tcase_add_test(tc, only_what_is_asked_with_own_help);
	tcase_add_test(tc, name_of_another_type_refused);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
