/* Tests for lib/channel.c over libuv on 127.0.0.1 (fixture in
 * channel_fixture.h): handshake and messages, key pinning, policy, deadlines,
 * garbage and a peer that stops reading. */
#include <check.h>
#include <errno.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "channel_fixture.h"

START_TEST(test_open)
{
	struct sockaddr_storage addr;
	const struct hs_auth *peer;
	uint8_t one = 1;
	struct channel *c, *s;

	setup_env();
	connect_client(&E.srv_addr);
	ck_assert_int_eq(channel_send(E.cli.ch, &one, 1), -ENOTCONN);
	ck_assert_int_eq(channel_state(E.cli.ch), CH_CLIENT_HELLO);
	RUN_UNTIL(E.cli.opened && E.srv[0].opened, 5000);
	c = E.cli.ch;
	s = E.srv[0].ch;
	ck_assert_int_eq(channel_state(c), CH_OPEN);
	ck_assert_int_eq(channel_state(s), CH_OPEN);
	ck_assert_int_eq(E.auth_calls, 1);
	ck_assert_ptr_null(channel_peer(c));
	ck_assert_ptr_nonnull(peer = channel_peer(s));
	ck_assert_mem_eq(peer->peer_id, E.cid.pk, ID_PK_LEN);
	ck_assert_mem_eq(E.seen.peer_id, E.cid.pk, ID_PK_LEN);
	ck_assert_uint_eq(peer->role, 2);
	ck_assert_str_eq(peer->region, "eu-west");
	ck_assert(peer->has_wg_pubkey);
	ck_assert_mem_eq(peer->wg_pubkey, E.wg, 32);
	ck_assert_mem_eq(channel_server_id(c), E.sid.pk, ID_PK_LEN);
	ck_assert_mem_eq(channel_server_id(s), E.sid.pk, ID_PK_LEN);
	ck_assert_mem_eq(channel_session_id(c), channel_session_id(s), CHANNEL_SESSION_ID_LEN);
	ck_assert(!sodium_is_zero(channel_session_id(c), CHANNEL_SESSION_ID_LEN));
	ck_assert_uint_eq(channel_heartbeat_s(c), 17);
	ck_assert_int_eq(channel_peer_addr(s, &addr), 0);
	ck_assert_int_eq(addr.ss_family, AF_INET);
	ck_assert_uint_eq(((struct sockaddr_in *)&addr)->sin_addr.s_addr, htonl(0x7f000001));
	finish();
}
END_TEST

START_TEST(test_messages)
{
	static uint8_t big[BIG + 1];
	struct channel_stats cs, ss;
	struct channel *c, *s;
	uint32_t i;

	setup_env();
	open_pair(&E.srv_addr);
	c = E.cli.ch;
	s = E.srv[0].ch;
	for (i = 0; i < BIG + 1; i++)
		big[i] = pattern(i);
	ck_assert_int_eq(channel_send(c, big, BIG + 1), -EMSGSIZE);
	ck_assert_int_eq(channel_send(c, big, 0), -EMSGSIZE);
	ck_assert_int_eq(channel_send(c, big, BIG), 0);
	ck_assert_int_eq(channel_send(s, big, BIG), 0);
	for (i = 0; i < NSMALL; i++) {
		send_small(c, i);
		send_small(s, i);
	}
	RUN_UNTIL(E.srv[0].nmsg == NSMALL + 1 && E.cli.nmsg == NSMALL + 1, 10000);
	ck_assert_uint_eq(E.srv[0].nbig + E.cli.nbig, 2);
	ck_assert_uint_eq(E.srv[0].bad + E.cli.bad, 0);
	ck_assert_uint_eq(E.srv[0].next_seq, NSMALL);
	ck_assert_uint_eq(E.cli.next_seq, NSMALL);

	channel_get_stats(c, &cs);
	channel_get_stats(s, &ss);
	ck_assert_uint_eq(cs.tx_frames, 2 + 1 + NSMALL); /* hello, auth, messages */
	ck_assert_uint_eq(ss.rx_frames, cs.tx_frames);
	ck_assert_uint_eq(ss.rx_bytes, cs.tx_bytes);
	ck_assert_uint_eq(cs.rx_frames, ss.tx_frames);
	ck_assert_uint_eq(cs.rx_bytes, ss.tx_bytes);
	ck_assert_uint_gt(cs.tx_bytes, BIG + NSMALL * (5 + CIPHER_TAG));
	ck_assert_uint_gt(channel_last_rx_ms(s), 0);
	ck_assert_uint_gt(channel_last_rx_ms(c), 0);
	finish();
}
END_TEST

START_TEST(test_peer_close_after_open)
{
	setup_env();
	E.copts.wg_pubkey = NULL;
	open_pair(&E.srv_addr);
	ck_assert(!channel_peer(E.srv[0].ch)->has_wg_pubkey);
	channel_close(E.cli.ch, 0, NULL);
	channel_close(E.cli.ch, -EIO, NULL); /* idempotent: the first status stays */
	RUN_UNTIL(E.cli.closed && E.srv[0].closed, 5000);
	ck_assert_int_eq(E.cli.status, 0);
	ck_assert_int_eq(E.srv[0].status, 0);
	finish();
}
END_TEST

START_TEST(test_wrong_server_key)
{
	uint8_t other[ID_PK_LEN];

	setup_env();
	randombytes_buf(other, sizeof(other));
	E.copts.pinned_server_id = other;
	connect_client(&E.srv_addr);
	RUN_UNTIL(E.cli.closed && E.srv[0].closed, 5000);
	ck_assert_int_eq(E.cli.status, -EKEYREJECTED);
	ck_assert_int_eq(E.srv[0].status, -ECONNRESET);
	ck_assert(!E.cli.opened && !E.srv[0].opened);
	ck_assert_int_eq(E.auth_calls, 0);
	finish();
}
END_TEST

START_TEST(test_policy_refusal)
{
	setup_env();
	E.refuse = 1;
	connect_client(&E.srv_addr);
	RUN_UNTIL(E.cli.closed && E.srv[0].closed, 5000);
	ck_assert_int_eq(E.auth_calls, 1);
	ck_assert_int_eq(E.cli.status, -EACCES);
	ck_assert_str_eq(E.cli.reason, "revoked");
	ck_assert_int_eq(E.srv[0].status, -EACCES);
	ck_assert(!E.cli.opened && !E.srv[0].opened);
	finish();
}
END_TEST

/* _i: 0 sends nothing, 1 sends one byte, 2 a hello's header and two bytes,
 * 3 a whole ClientHello but no AuthRequest: the deadline covers auth too. */
START_TEST(test_server_deadline)
{
	static const uint8_t partial[] = { 0, 0, 0, 40, 1, 2 };
	uint64_t start;

	setup_env();
	E.sopts.handshake_ms = 200;
	E.raw.first = partial;
	E.raw.first_len = _i == 0 || _i == 3 ? 0 : _i == 1 ? 1 : sizeof(partial);
	E.raw.play = E.raw.hold_auth = _i == 3;
	uv_update_time(&E.loop);
	start = uv_now(&E.loop);
	raw_start(&E.raw, &E.srv_addr);
	RUN_UNTIL(E.srv[0].closed && E.raw.eof, 3000);
	ck_assert_int_eq(E.srv[0].status, -ETIMEDOUT);
	ck_assert_uint_ge(E.srv[0].closed_at - start, 190);
	ck_assert_int_eq(E.raw.frames, _i == 3); /* the ServerHello */
	finish();
}
END_TEST

START_TEST(test_client_deadline)
{
	uint64_t start;

	setup_env();
	listen_mute(&E.mute_listener, &E.mute_conn, &E.mute_addr);
	E.copts.handshake_ms = 200;
	uv_update_time(&E.loop);
	start = uv_now(&E.loop);
	connect_client(&E.mute_addr);
	RUN_UNTIL(E.cli.closed, 3000);
	ck_assert_int_eq(E.cli.status, -ETIMEDOUT);
	ck_assert_uint_ge(E.cli.closed_at - start, 190);
	finish();
}
END_TEST

START_TEST(test_garbage)
{
	uint8_t g[68];

	setup_env();
	randombytes_buf(g, sizeof(g));
	switch (_i) {
	case 0: memset(g, 0xff, FRAME_HDR); break;            /* 0xFFFFFFFF length */
	case 1: memset(g, 0, FRAME_HDR); break;               /* zero length */
	case 2: memcpy(g, "\x00\x01\x00\x01", FRAME_HDR); break; /* FRAME_MAX + 1 */
	case 3: memcpy(g, "\x00\x00\x00\x40", FRAME_HDR); break; /* junk ClientHello */
	case 4: memcpy(g, "\x00\x00\xea\x60", FRAME_HDR); break; /* 60000: no hello is that big */
	default: g[0] |= 0x01; break;                           /* random, > 16 MiB */
	}
	E.raw.first = g;
	E.raw.first_len = sizeof(g);
	raw_start(&E.raw, &E.srv_addr);
	RUN_UNTIL(E.srv[0].closed && E.raw.eof, 3000);
	ck_assert_int_eq(E.srv[0].status, -EPROTO);
	finish();
}
END_TEST

START_TEST(test_peer_not_reading)
{
	static uint8_t big[BIG];
	int i, rc = 0;

	setup_env();
	E.raw.play = 1;
	E.raw.stop_reading = 1;
	raw_start(&E.raw, &E.srv_addr);
	RUN_UNTIL(E.srv[0].opened && E.raw.frames == 2, 5000);
	/* Kernel buffers take a few MiB first; then the queue cap must trip. */
	for (i = 0; i < 2000 && rc == 0; i++)
		rc = channel_send(E.srv[0].ch, big, sizeof(big));
	ck_assert_int_eq(rc, -ENOBUFS);
	RUN_UNTIL(E.srv[0].closed, 5000);
	ck_assert_int_eq(E.srv[0].status, -ENOBUFS);
	finish();
}
END_TEST

/* A Ping flood's replies: Pong-sized frames to a peer that never reads
 * (its receive buffer held small, so only our side is measured). The cap
 * must trip within its own budget: frames the kernel took count for
 * nothing, nor did each queued request's ~200 bytes, so it used to take
 * 160k replies (5 MB, tens of seconds for a starved daemon), not 1 MiB. */
START_TEST(test_small_frames_not_reading)
{
	static const uint8_t pong[11] = { 0x42, 9, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t frames = 0, per = FRAME_HDR + sizeof(pong) + CIPHER_TAG;
	int rc = 0, rcvbuf = 64 * 1024;

	setup_env();
	E.raw.play = 1;
	E.raw.stop_reading = 1;
	raw_start(&E.raw, &E.srv_addr);
	ck_assert_int_eq(uv_recv_buffer_size((uv_handle_t *)&E.raw.tcp, &rcvbuf), 0);
	RUN_UNTIL(E.srv[0].opened && E.raw.frames == 2, 5000);
	while (rc == 0 && frames < 1000000)
		if ((rc = channel_send(E.srv[0].ch, pong, sizeof(pong))) == 0)
			frames++;
	ck_assert_int_eq(rc, -ENOBUFS);
	ck_assert_uint_gt(frames, 1000);
	ck_assert_uint_le(frames * per, CHANNEL_MAX_QUEUED);
	RUN_UNTIL(E.srv[0].closed, 5000);
	ck_assert_int_eq(E.srv[0].status, -ENOBUFS);
	finish();
}
END_TEST

static Suite *channel_suite(void)
{
	Suite *s = suite_create("channel");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_open);
	tcase_add_test(tc, test_messages);
	tcase_add_test(tc, test_peer_close_after_open);
	tcase_add_test(tc, test_wrong_server_key);
	tcase_add_test(tc, test_policy_refusal);
	tcase_add_loop_test(tc, test_server_deadline, 0, 4);
	tcase_add_test(tc, test_client_deadline);
	tcase_add_loop_test(tc, test_garbage, 0, 6);
	tcase_add_test(tc, test_peer_not_reading);
	tcase_add_test(tc, test_small_frames_not_reading);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return keys_init() < 0 ? 1 : run_suite(channel_suite());
}
