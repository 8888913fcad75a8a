/* Tests for lib/channel.c against tampering (fixture in channel_fixture.h):
 * bit flips, drops and swaps through a frame-aware proxy, its control, and
 * AuthRequest replay. */
#include <check.h>
#include <errno.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "channel_fixture.h"

static const struct {
	int dir;
	unsigned frame;
	size_t off;
	uint8_t mask;
	int expect; /* 0: any failure */
} flips[] = {
	{ 0, 2, 0, 0x80, -EPROTO },          /* length header: oversized */
	{ 0, 2, 3, 0x01, 0 },                /* length header: off by one */
	{ 0, 2, 4, 0x01, -EBADMSG },         /* first ciphertext byte */
	{ 0, 2, 60, 0x10, -EBADMSG },        /* inside the ciphertext */
	{ 0, 2, OFF_TAG, 0x01, -EBADMSG },   /* first tag byte */
	{ 0, 2, OFF_LAST, 0x80, -EBADMSG },  /* last tag byte */
	{ 1, 2, 10, 0x04, -EBADMSG },        /* server to client */
	{ 0, 1, 30, 0x01, -EBADMSG },        /* the AuthRequest */
	{ 1, 1, 8, 0x01, -EBADMSG },         /* the AuthResponse */
	{ 1, 0, 20, 0x01, -EKEYREJECTED },   /* the ServerHello's server_id */
};

/* Sends five 100-byte messages from the side that the proxy tampers with. */
static void send_five(int dir)
{
	uint8_t m[100];
	int i;

	memset(m, 'm', sizeof(m));
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(channel_send(dir == 0 ? E.cli.ch : E.srv[0].ch, m, sizeof(m)), 0);
}

static void tamper_run(int dir, unsigned frame, enum px_action action, size_t off,
                       uint8_t mask, int expect)
{
	struct side *victim = dir == 0 ? &E.srv[0] : &E.cli;

	setup_env();
	proxy_start(dir, frame, action, off, mask);
	connect_client(&E.px_addr);
	if (frame >= 2) {
		RUN_UNTIL(E.cli.opened && E.srv[0].opened, 5000);
		send_five(dir);
	}
	RUN_UNTIL(victim->closed, 5000);
	if (expect)
		ck_assert_int_eq(victim->status, expect);
	else
		ck_assert_int_ne(victim->status, 0);
	ck_assert_uint_eq(victim->nmsg, 0);
	finish();
}

START_TEST(test_tamper_bit)
{
	tamper_run(flips[_i].dir, flips[_i].frame, PX_FLIP, flips[_i].off, flips[_i].mask,
	           flips[_i].expect);
}
END_TEST

START_TEST(test_tamper_drop)
{
	tamper_run(0, 2, PX_DROP, 0, 0, -EBADMSG);
}
END_TEST

START_TEST(test_tamper_swap)
{
	tamper_run(0, 2, PX_SWAP, 0, 0, -EBADMSG);
}
END_TEST

/* A control: the proxy changing nothing delivers all five. */
START_TEST(test_proxy_control)
{
	setup_env();
	proxy_start(0, 2, PX_NONE, 0, 0);
	connect_client(&E.px_addr);
	RUN_UNTIL(E.cli.opened && E.srv[0].opened, 5000);
	send_five(0);
	RUN_UNTIL(E.srv[0].nmsg == 5, 5000);
	finish();
}
END_TEST

/* _i 0: a raw client's own fresh AuthRequest is accepted (the control);
 * _i 1: connection 1's recorded AuthRequest on connection 2 is not. */
START_TEST(test_replayed_auth)
{
	setup_env();
	E.raw.play = 1;
	if (_i == 0) {
		raw_start(&E.raw, &E.srv_addr);
		RUN_UNTIL(E.srv[0].opened && E.raw.frames == 2, 5000);
		ck_assert_str_eq(channel_peer(E.srv[0].ch)->region, "raw");
		finish();
		return;
	}
	proxy_start(0, 1, PX_RECORD, 0, 0);
	open_pair(&E.px_addr);
	ck_assert_uint_gt(E.recorded_len, CIPHER_TAG);
	channel_close(E.cli.ch, 0, NULL);
	RUN_UNTIL(E.srv[0].closed, 5000);
	E.raw.replay = 1;
	raw_start(&E.raw, &E.srv_addr);
	RUN_UNTIL(E.srv[1].closed, 5000);
	ck_assert_int_eq(E.srv[1].status, -EBADMSG);
	ck_assert(!E.srv[1].opened);
	ck_assert_int_eq(E.auth_calls, 1);
	ck_assert_int_eq(E.raw.frames, 1); /* ServerHello, then nothing */
	finish();
}
END_TEST

static Suite *channel_tamper_suite(void)
{
	Suite *s = suite_create("channel_tamper");
	TCase *tc = tcase_create("tamper");

	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_tamper_bit, 0, (int)(sizeof(flips) / sizeof(flips[0])));
	tcase_add_test(tc, test_tamper_drop);
	tcase_add_test(tc, test_tamper_swap);
	tcase_add_test(tc, test_proxy_control);
	tcase_add_loop_test(tc, test_replayed_auth, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return keys_init() < 0 ? 1 : run_suite(channel_tamper_suite());
}
