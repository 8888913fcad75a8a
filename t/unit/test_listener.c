/* Tests for lib/listener.c on 127.0.0.1: a channel accepted through the
 * listener opens and names its peer, the bound port is known, a taken port is an error the caller can
 * close, and the per-IP handshake slots. */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <uv.h>
#include "channel.h"
#include "connlimit.h"
#include "keys.h"
#include "listener.h"

static struct {
	uv_loop_t loop;
	uv_timer_t guard;
	uv_tcp_t tcp;
	struct identity sid, cid;
	struct channel *srv, *cli;
	struct sockaddr_storage ss;
	char addr[64];
	int accepted, accept_rc, opened, closed;
} E;

#define FIXTURE_LOOP (&E.loop)
#define FIXTURE_GUARD (&E.guard)
#include "fixture.h"

static void cb_auth(struct channel *ch, const struct hs_auth *a, struct channel_verdict *v)
{
	(void)ch;
	(void)a;
	v->accept = 1;
}

static void cb_open(struct channel *ch)
{
	(void)ch;
	E.opened++;
}

static void cb_message(struct channel *ch, const uint8_t *data, size_t len)
{
	(void)ch;
	(void)data;
	(void)len;
}

static void cb_close(struct channel *ch, int status, const char *reason)
{
	(void)ch;
	(void)status;
	(void)reason;
	E.closed++;
}

static const struct channel_cbs cbs = {
	.on_auth = cb_auth,
	.on_open = cb_open,
	.on_message = cb_message,
	.on_close = cb_close,
};

static void on_conn(uv_stream_t *l, int status)
{
	struct channel_server_opts opts = { .id = &E.sid };

	ck_assert_int_eq(status, 0);
	ck_assert_ptr_eq(l->data, &E);
	E.accept_rc = listener_accept(l, &opts, &cbs, &E, &E.srv, &E.ss, E.addr,
	                              sizeof(E.addr));
	E.accepted++;
}

static void setup(void)
{
	memset(&E, 0, sizeof(E));
	ck_assert_int_eq(keys_init(), 0);
	ck_assert_int_eq(uv_loop_init(&E.loop), 0);
	ck_assert_int_eq(uv_timer_init(&E.loop, &E.guard), 0);
}

static void teardown_loop(void)
{
	uv_close((uv_handle_t *)&E.guard, NULL);
	uv_run(&E.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&E.loop), 0);
}

START_TEST(accepted_channel_opens_and_names_its_peer)
{
	struct channel_client_opts copts = {
		.id = &E.cid, .pinned_server_id = E.sid.pk, .role = 2, .region = "eu-west",
	};
	struct sockaddr_storage bound;
	struct sockaddr_in a;

	setup();
	ck_assert_int_eq(identity_generate(&E.sid), 0);
	ck_assert_int_eq(identity_generate(&E.cid), 0);
	ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &a), 0);
	ck_assert_int_eq(listener_open(&E.loop, &E.tcp, (const struct sockaddr *)&a,
	                               on_conn, &E), 0);
	ck_assert_int_eq(listener_addr(&E.tcp, &bound), 0);
	ck_assert_int_eq(bound.ss_family, AF_INET);
	ck_assert_int_ne(((struct sockaddr_in *)&bound)->sin_port, 0);
	ck_assert_int_eq(channel_connect(&E.loop, (const struct sockaddr *)&bound, &copts, &cbs,
	                                 NULL, &E.cli), 0);
	RUN_UNTIL(E.opened == 2 || E.closed, 5000);
	ck_assert_int_eq(E.opened, 2);
	ck_assert_int_eq(E.accepted, 1);
	ck_assert_int_eq(E.accept_rc, 0);
	ck_assert_ptr_eq(channel_data(E.srv), &E);
	ck_assert_int_eq(E.ss.ss_family, AF_INET);
	ck_assert_msg(strncmp(E.addr, "127.0.0.1:", 10) == 0, "addr=%s", E.addr);
	channel_close(E.cli, 0, "done");
	channel_close(E.srv, 0, "done");
	RUN_UNTIL(E.closed == 2, 5000);
	uv_close((uv_handle_t *)&E.tcp, NULL);
	identity_release(&E.sid);
	identity_release(&E.cid);
	teardown_loop();
}
END_TEST

START_TEST(taken_port_is_an_error_and_closes)
{
	uv_tcp_t other;
	struct sockaddr_in a;
	int len = (int)sizeof(a);

	setup();
	ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &a), 0);
	ck_assert_int_eq(listener_open(&E.loop, &other, (const struct sockaddr *)&a,
	                               on_conn, &E), 0);
	ck_assert_int_eq(uv_tcp_getsockname(&other, (struct sockaddr *)&a, &len), 0);
	ck_assert_int_eq(listener_open(&E.loop, &E.tcp, (const struct sockaddr *)&a,
	                               on_conn, &E), UV_EADDRINUSE);
	ck_assert_ptr_eq(E.tcp.data, &E);
	uv_close((uv_handle_t *)&E.tcp, NULL);
	uv_close((uv_handle_t *)&other, NULL);
	teardown_loop();
}
END_TEST

static void ip4(struct sockaddr_storage *ss, const char *ip)
{
	memset(ss, 0, sizeof(*ss));
	ck_assert_int_eq(uv_ip4_addr(ip, 1000, (struct sockaddr_in *)ss), 0);
}

START_TEST(slots_per_ip)
{
	static struct connlimit cl;
	struct sockaddr_storage a, b;
	int s1, s2, s3;

	ck_assert_int_eq(keys_init(), 0);
	connlimit_init(&cl, 1);
	ip4(&a, "10.0.0.1");
	ip4(&b, "10.0.0.2");
	ck_assert_int_eq(listener_slot_take(&cl, &a, &s1), 0);
	ck_assert_int_ge(s1, 0);
	ck_assert_int_eq(listener_slot_take(&cl, &a, &s2), -EBUSY);
	ck_assert_int_eq(s2, -1);
	ck_assert_int_eq(listener_slot_take(&cl, &b, &s3), 0);
	listener_slot_put(&cl, &s2); /* not held: nothing given back */
	ck_assert_int_eq(listener_slot_take(&cl, &a, &s2), -EBUSY);
	listener_slot_put(&cl, &s1);
	ck_assert_int_eq(s1, -1);
	listener_slot_put(&cl, &s1); /* twice: still only one given back */
	ck_assert_int_eq(listener_slot_take(&cl, &a, &s1), 0);
	ck_assert_int_eq(listener_slot_take(&cl, &a, &s2), -EBUSY);
	listener_slot_put(&cl, &s1);
	listener_slot_put(&cl, &s3);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("listener");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, accepted_channel_opens_and_names_its_peer);
	tcase_add_test(tc, taken_port_is_an_error_and_closes);
	tcase_add_test(tc, slots_per_ip);
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
