/* clientd's HTTP/JSON API (fixture in clientd_api_fixture.h). Proves: bad
 * bodies are 400 with an error document (every parser case:
 * test_clientd_api_parse.c), wrong methods 405; each endpoint's JSON shape;
 * connect carries min_bw and max_latency_ms to the ExitRequest. */
#include <check.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "clientd_api_fixture.h"

static uint8_t id_1[32], id_2[32], wg_1[32];

static void cand_init(Supermesh__ExitCandidate *c, uint8_t *id, uint8_t *wg,
                      const char *ep, uint32_t rtt)
{
	supermesh__exit_candidate__init(c);
	c->exit_id.data = id;
	c->exit_id.len = 32;
	c->wg_pubkey.data = wg;
	c->wg_pubkey.len = 32;
	c->endpoint = (char *)(uintptr_t)ep;
	c->behind_nat = !*ep;
	c->load_pct = 40;
	c->rtt_ms = rtt;
	c->bandwidth_bps = 100000000;
}

/* Connects with the ExitResponse carrying cands (n of them). */
static void connect_with(Supermesh__ExitCandidate **cands, size_t n)
{
	json_decref(api_json("POST", "/connect", "{\"region\":\"eu\"}", 202));
	RUN_UNTIL(E.n_exit_req == 1, 3000);
	send_exit_response_c(cands, n);
	RUN_UNTIL(E.cd->s.state == CS_CONNECTED, 3000);
}

/* ---- over the socket ---- */

static void expect_400(const char *path, const char *body, const char *why)
{
	json_t *j = api_json("POST", path, body, 400);
	json_t *e = json_object_get(j, "error");

	ck_assert_msg(json_is_string(e) && strstr(json_string_value(e), why),
	              "%s: no error with \"%s\"", body, why);
	ck_assert_uint_eq(json_object_size(j), 1);
	json_decref(j);
}

START_TEST(api_errors)
{
	struct hf_call *c;
	char hdr[64];

	start_clientd();
	expect_400("/connect", "{\"region\": ", "bad JSON");
	expect_400("/connect", "{\"region\": 7}", "must be a string");
	expect_400("/connect", "{\"region\": \"eu\", \"color\": 1}", "unknown field");
	expect_400("/disconnect", "{\"force\": true}", "unknown field");
	c = api("GET", "/connect", NULL);
	ck_assert_int_eq(c->status, 405);
	ck_assert_str_eq(hf_header(c, "Allow", hdr, sizeof(hdr)), "POST");
	ck_assert_str_eq(c->body, "{\"error\":\"method not allowed\"}");
	hf_free(c);
	c = api("POST", "/status", "{}");
	ck_assert_int_eq(c->status, 405);
	hf_free(c);
	c = api("GET", "/", NULL);
	ck_assert_int_eq(c->status, 404);
	hf_free(c);
	ck_assert_uint_eq(E.n_exit_req, 0); /* nothing was acted on */
	ck_assert_int_eq(E.cd->s.state, CS_DISCONNECTED);
}
END_TEST

static void expect_keys(json_t *j, const char *const *keys)
{
	size_t i;

	for (i = 0; keys[i]; i++)
		ck_assert_msg(json_object_get(j, keys[i]) != NULL, "no key %s", keys[i]);
	ck_assert_uint_eq(json_object_size(j), i);
}

static const char *const status_keys[] = { "state", "region", "session", "exit", "path",
	"address", "endpoint", "stream", "fail_closed", "rx_bytes", "tx_bytes",
	"handshake_age_s", "last_error", NULL };

START_TEST(api_connect_status_disconnect)
{
	json_t *j, *e;

	start_clientd();
	j = api_json("GET", "/status", NULL, 200);
	expect_keys(j, status_keys);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "disconnected");
	ck_assert(json_is_null(json_object_get(j, "exit")));
	ck_assert(json_is_null(json_object_get(j, "rx_bytes")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "stream")), "up");
	json_decref(j);
	j = api_json("POST", "/connect", "{\"region\":\"eu\",\"min_bw\":5000000,"
	             "\"max_latency_ms\":80}", 202);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "connecting");
	ck_assert_str_eq(json_string_value(json_object_get(j, "region")), "eu");
	json_decref(j);
	RUN_UNTIL(E.n_exit_req == 1, 3000);
	ck_assert_str_eq(E.region, "eu");
	ck_assert_uint_eq(E.min_bw, 5000000);
	ck_assert_uint_eq(E.max_lat, 80);
	send_exit_response();
	RUN_UNTIL(E.cd->s.state == CS_CONNECTED, 3000);
	/* Another region while connected: a conflict, nothing sent. */
	j = api_json("POST", "/connect", "{\"region\":\"us\"}", 409);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")),
	                             "connected to eu"));
	json_decref(j);
	/* wgrelay's peer counters arrive with the next poll. */
	RUN_UNTIL(E.cd->stats.valid, 3000);
	j = api_json("GET", "/status", NULL, 200);
	expect_keys(j, status_keys);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "connected");
	ck_assert_str_eq(json_string_value(json_object_get(j, "exit")), a64);
	ck_assert_str_eq(json_string_value(json_object_get(j, "path")), "direct");
	ck_assert_str_eq(json_string_value(json_object_get(j, "address")), "10.200.0.5/32");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "rx_bytes")), 4096);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "tx_bytes")), 2048);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "handshake_age_s")), 7);
	ck_assert(json_is_null(json_object_get(j, "last_error")));
	json_decref(j);
	j = api_json("GET", "/exits", NULL, 200);
	e = json_array_get(json_object_get(j, "exits"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "key")), a64);
	ck_assert(json_is_true(json_object_get(e, "current")));
	ck_assert(json_is_false(json_object_get(j, "complete")));
	json_decref(j);
	j = api_json("POST", "/disconnect", "", 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "disconnected");
	json_decref(j);
	j = api_json("GET", "/exits", NULL, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "exits")), 0);
	json_decref(j);
}
END_TEST

START_TEST(api_exits_candidates)
{
	Supermesh__ExitCandidate c[2], *cp[2] = { &c[0], &c[1] };
	char b64[KEY_B64_LEN];
	json_t *j, *l, *e;

	memset(id_1, 0x11, 32);
	memset(id_2, 0x22, 32);
	memset(wg_1, 0x33, 32);
	cand_init(&c[0], id_1, wg_1, "", 12);
	cand_init(&c[1], id_2, key_a, "198.51.100.7:51820", 30);
	start_clientd();
	connect_with(cp, 2);
	j = api_json("GET", "/exits", NULL, 200);
	ck_assert(json_is_true(json_object_get(j, "complete")));
	l = json_object_get(j, "exits");
	ck_assert_uint_eq(json_array_size(l), 2);
	e = json_array_get(l, 0);
	key_to_base64(id_1, b64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "id")), b64);
	key_to_base64(wg_1, b64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "wg_pubkey")), b64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "endpoint")), "");
	ck_assert(json_is_true(json_object_get(e, "behind_nat")));
	ck_assert(json_is_false(json_object_get(e, "in_use")));
	ck_assert_int_eq(json_integer_value(json_object_get(e, "rtt_ms")), 12);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "load_pct")), 40);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "bandwidth_bps")), 100000000);
	e = json_array_get(l, 1);
	key_to_base64(id_2, b64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "id")), b64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "wg_pubkey")), a64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "endpoint")), "198.51.100.7:51820");
	ck_assert(json_is_false(json_object_get(e, "behind_nat")));
	ck_assert(json_is_true(json_object_get(e, "in_use")));
	json_decref(j);
}
END_TEST

/* A malformed list is dropped, the tunnel still comes up. */
START_TEST(api_exits_bad_candidates)
{
	Supermesh__ExitCandidate c[2], *cp[2] = { &c[0], &c[1] };
	json_t *j, *e;

	cand_init(&c[0], id_1, wg_1, "", 12);
	cand_init(&c[1], id_2, key_a, "exit.example:51820", 30);
	start_clientd();
	connect_with(cp, 2);
	j = api_json("GET", "/exits", NULL, 200);
	ck_assert(json_is_false(json_object_get(j, "complete")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "exits")), 1);
	e = json_array_get(json_object_get(j, "exits"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "key")), a64);
	ck_assert(json_is_true(json_object_get(e, "current")));
	json_decref(j);
}
END_TEST

START_TEST(api_health)
{
	json_t *j;
	const char *const keys[] = { "ok", "state", "stream", "interface", "last_error", NULL };

	start_clientd();
	j = api_json("GET", "/health", NULL, 200);
	expect_keys(j, keys);
	ck_assert(json_is_true(json_object_get(j, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "interface")), "ready");
	json_decref(j);
	/* The supernode goes away: unhealthy, 503. */
	uv_close((uv_handle_t *)&E.listener, NULL);
	channel_close(E.ch, 0, "bye");
	RUN_UNTIL(!peerlink_is_up(E.cd->link), 3000);
	j = api_json("GET", "/health", NULL, 503);
	ck_assert(json_is_false(json_object_get(j, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "stream")), "down");
	json_decref(j);
	uv_tcp_init(&E.loop, &E.listener); /* teardown closes it again */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("clientd_api");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	keys_init();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, api_errors);
	tcase_add_test(tc, api_connect_status_disconnect);
	tcase_add_test(tc, api_exits_candidates);
	tcase_add_test(tc, api_exits_bad_candidates);
	tcase_add_test(tc, api_health);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
