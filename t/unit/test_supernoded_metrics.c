/* supernoded's /metrics registry on loopback (core without main(), fake
 * peers from sn_fake.h): commands applied and unanswered are counted and
 * timed, a refused auth is counted, the scrape refresh fills streams, paths
 * and NAT classes, and the heartbeat samples the namespace's byte counters. */
/* protobuf-c's __INIT macros and string literals in messages cast const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"
/* sn_fake.h is shared: this test uses part of it. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "../../supernoded/admin.h"
#include "../../supernoded/peer.h"
#include "../../supernoded/session.h"
#include "../../supernoded/supernoded.h"
#include "handshake.pb-c.h"
#include "line_server.h"
#include "log.h"
#include "msg.h"
#include "peerlink.h"

#include "sn_fake.h"

static struct supernoded *sn;
static struct fake_wgr wgr;
static char tmpdir[64];
static uint8_t sn_pk[ID_PK_LEN];
static struct identity sn_id;
static struct fake e1, c1;
static char *page;

static void setup(void)
{
	struct sn_settings set;
	char err[256];

	ck_assert_int_eq(keys_init(), 0);
	log_init("test", LOG_LVL_ERROR);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sn_metrics_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	fake_wgr_start(&wgr, tmpdir, "wgrelay.sock", "40001", "40002");
	memset(&e1, 0, sizeof(e1));
	memset(&c1, 0, sizeof(c1));
	ck_assert_int_eq(identity_generate(&sn_id), 0);
	sn_settings_default(&set);
	uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&set.listen);
	snprintf(set.region, sizeof(set.region), "r1");
	snprintf(set.wgrelay_socket, sizeof(set.wgrelay_socket), "%s", wgr.path);
	set.cmd_timeout_ms = 200;
	set.cmd_retries = 1;
	set.auth_rate = 0;
	memcpy(sn_pk, sn_id.pk, ID_PK_LEN);
	ck_assert_msg(sn_core_new(&loop, &set, &sn_id, NULL, &sn, err, sizeof(err)) == 0, "%s",
	              err);
	/* Served for real, on any port: start and stop are part of the test. */
	ck_assert_int_eq(sn_metrics_start(sn, "127.0.0.1:0"), 0);
	ck_assert_ptr_nonnull(sn->mhttp.httpd);
	ck_assert_uint_ne(httpd_port(sn->mhttp.httpd), 0);
	page = NULL;
}

static void teardown(void)
{
	char cmd[128];

	free(page);
	fake_release(&e1);
	fake_release(&c1);
	sn_core_stop(sn);
	sn_metrics_stop(sn);
	line_server_free(wgr.srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	sn_metrics_release(sn);
	ck_assert_ptr_null(sn->metrics);
	sn_core_destroy(sn);
	sn = NULL;
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	identity_release(&sn_id);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* What a scrape serves: the refresh hook, then the page. */
static void scrape(void)
{
	size_t len;

	free(page);
	page = NULL;
	ck_assert_ptr_nonnull(sn->mhttp.refresh);
	sn->mhttp.refresh(sn->mhttp.arg);
	ck_assert_int_eq(metrics_http_render(sn->metrics, &page, &len), 0);
	ck_assert_uint_eq(strlen(page), len);
}

/* The value of series (name with its labels) on the page; fails if absent. */
static double value(const char *series)
{
	const char *p = page;
	size_t n = strlen(series);

	while ((p = strstr(p, series))) {
		if ((p == page || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	ck_abort_msg("no series %s in\n%s", series, page);
	return -1;
}

static int e1_ready(void)
{
	const struct sn_peer *p;

	for (p = sn->peers; p; p = p->next)
		if (p->role == SUPERMESH__ROLE__ROLE_EXIT && p->stream && p->exit.valid)
			return 1;
	return 0;
}

static int c1_up(void) { return c1.up > 0; }
static int c1_answered(void) { return c1.responses > 0; }
static int c1_down(void) { return c1.downs > 0; }

static void exit_request(void)
{
	fake_start_at(&e1, SUPERMESH__ROLE__ROLE_EXIT, sn, sn_pk);
	ck_assert(run_until(e1_ready));
	fake_start_at(&c1, SUPERMESH__ROLE__ROLE_CLIENT, sn, sn_pk);
	ck_assert(run_until(c1_up));
	request_exit(&c1, "r1");
	ck_assert(run_until(c1_answered));
}

START_TEST(command_success_counted)
{
	e1.endpoint = "192.0.2.10:51820";
	exit_request();
	ck_assert(c1.resp->ok);
	scrape();
	/* SETUP_EXIT applied by the exit: one success, timed. */
	ck_assert_double_eq(value("command_success_total"), 1);
	ck_assert_double_eq(value("command_failure_total"), 0);
	ck_assert_double_eq(value("command_latency_seconds_count"), 1);
	ck_assert_double_eq(value("active_streams_total"), 2);
	ck_assert_double_eq(value("supernode_sessions_by_path{path=\"direct\"}"), 1);
	ck_assert_double_eq(value("supernode_sessions_by_path{path=\"relay\"}"), 0);
	ck_assert_double_eq(value("supernode_sessions_by_path{path=\"relay_chain\"}"), 0);
	ck_assert_double_eq(value("stream_auth_failures_total"), 0);
	/* The process series come with it. */
	ck_assert_double_gt(value("process_resident_memory_bytes"), 0);
}
END_TEST

START_TEST(command_failure_counted)
{
	e1.endpoint = "192.0.2.10:51820";
	e1.silent = 1;
	exit_request();
	ck_assert(!c1.resp->ok);
	scrape();
	/* The exit never answered SETUP_EXIT: a failure, and no latency sample
	 * (only answered commands, such as the rollback's DISCONNECT, have one). */
	ck_assert_double_eq(value("command_failure_total"), 1);
	ck_assert_double_eq(value("command_latency_seconds_count"),
	                    value("command_success_total"));
	ck_assert_double_eq(value("supernode_sessions_by_path{path=\"direct\"}"), 0);
}
END_TEST

START_TEST(auth_refusal_counted)
{
	char hex[2 * ID_PK_LEN + 1], *argv[2] = { "revoke", hex };
	struct line_reply r;

	ck_assert_int_eq(identity_generate(&c1.id), 0);
	bytes_to_hex(c1.id.pk, ID_PK_LEN, hex);
	line_reply_ok(&r);
	verb_dispatch(admin_verbs, sn, 2, argv, &r);
	ck_assert_int_eq(r.is_err, 0);
	c1.stop_on_down = 1;
	fake_start_at(&c1, SUPERMESH__ROLE__ROLE_CLIENT, sn, sn_pk);
	ck_assert(run_until(c1_down));
	scrape();
	ck_assert_double_eq(value("stream_auth_failures_total"), 1);
	ck_assert_double_eq(value("active_streams_total"), 0);
}
END_TEST

START_TEST(refresh_mirrors_totals)
{
	sn->path_upgrades = 3;
	sn->path_fallbacks = 2;
	sn->punch_failed = 1;
	sn->relays_active = 4;
	scrape();
	ck_assert_double_eq(value("supernode_path_upgrades_total"), 3);
	ck_assert_double_eq(value("supernode_path_fallbacks_total"), 2);
	ck_assert_double_eq(value("supernode_punch_failed_total"), 1);
	ck_assert_double_eq(value("relay_sessions_active"), 4);
	ck_assert_double_eq(value("supernode_peers_by_nat{nat=\"unknown\"}"), 0);
	ck_assert_double_ge(value("supernode_cpu_pct"), 0);
	ck_assert_double_ge(value("supernode_net_tx_mbps"), 0);
	/* A second scrape adds nothing new. */
	scrape();
	ck_assert_double_eq(value("supernode_path_upgrades_total"), 3);
	/* The heartbeat reads the namespace's byte counters. */
	sn_observe_heartbeat(sn);
	ck_assert_uint_ne(sn->net_at_ms, 0);
	ck_assert_double_eq(value("peer_heartbeat_latency_ms_count"), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, command_success_counted);
	tcase_add_test(tc, command_failure_counted);
	tcase_add_test(tc, auth_refusal_counted);
	tcase_add_test(tc, refresh_mirrors_totals);
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
