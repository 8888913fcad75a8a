/* Tests for lib/msg.c: every body type survives pack and unpack, empty and
 * unknown bodies, garbage and oversized messages are refused. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "msg.h"

#define NBODY 17

static const char *const expect_names[NBODY + 1] = {
	"none", "ping", "pong", "command", "command_response", "info_request",
	"info_response", "exit_request", "exit_response", "register_supernode",
	"load_report", "exit_region_request", "exit_region_response",
	"exit_peer_request", "exit_peer_response", "error", "reflector_info", "path_update",
};

/* Storage for one body of each type, filled with non-default values. */
static struct {
	uint8_t id[MSG_ID_LEN], key[32];
	char *ips[2];
	ProtobufCBinaryData peers[1];
	Supermesh__Ping ping;
	Supermesh__Pong pong;
	Supermesh__Command command;
	Supermesh__CommandResponse command_response;
	Supermesh__InfoRequest info_request;
	Supermesh__SessionInfo session, *sessions[1];
	Supermesh__InfoResponse info_response;
	Supermesh__ExitRequest exit_request;
	Supermesh__WireguardConfig wg;
	Supermesh__ExitResponse exit_response;
	Supermesh__RegisterSupernode register_supernode;
	Supermesh__LoadReport load_report;
	Supermesh__ExitRegionRequest exit_region_request;
	Supermesh__SupernodeEntry sn, *sns[1];
	Supermesh__ExitRegionResponse exit_region_response;
	Supermesh__ExitPeerRequest exit_peer_request;
	Supermesh__ExitCandidate cand, *cands[1];
	Supermesh__ExitPeerResponse exit_peer_response;
	Supermesh__Error error;
	Supermesh__Reflector refl, *refls[1];
	Supermesh__ReflectorInfo reflector_info;
	Supermesh__PathUpdate path_update;
} B;

static ProtobufCBinaryData bin(uint8_t *p, size_t n)
{
	ProtobufCBinaryData b = { n, p };

	return b;
}

static void fill_bodies(void)
{
	memset(&B, 0, sizeof(B));
	msg_new_id(B.id);
	randombytes_buf(B.key, sizeof(B.key));
	B.ips[0] = "0.0.0.0/0";
	B.ips[1] = "::/0";
	B.peers[0] = bin(B.key, 32);
	supermesh__ping__init(&B.ping);
	B.ping.timestamp_ms = 1234567890123ULL;
	supermesh__pong__init(&B.pong);
	B.pong.timestamp_ms = 42;
	supermesh__command__init(&B.command);
	B.command.command_id = bin(B.id, MSG_ID_LEN);
	B.command.type = SUPERMESH__COMMAND_TYPE__ROTATE_PEER;
	B.command.deadline_ms = 99;
	B.command.payload = bin(B.key, 7);
	supermesh__command_response__init(&B.command_response);
	B.command_response.command_id = bin(B.id, MSG_ID_LEN);
	B.command_response.ok = 1;
	B.command_response.error = "none at all";
	supermesh__info_request__init(&B.info_request);
	supermesh__session_info__init(&B.session);
	B.session.session_id = bin(B.id, MSG_ID_LEN);
	B.session.address = "10.200.0.5/32";
	B.session.rx_bytes = 1ULL << 40;
	B.sessions[0] = &B.session;
	supermesh__info_response__init(&B.info_response);
	B.info_response.n_sessions = 1;
	B.info_response.sessions = B.sessions;
	B.info_response.n_wg_peers = 1;
	B.info_response.wg_peers = B.peers;
	B.info_response.behind_nat = 1;
	supermesh__exit_request__init(&B.exit_request);
	B.exit_request.request_id = bin(B.id, MSG_ID_LEN);
	B.exit_request.region = "eu-west";
	B.exit_request.min_bw = 1000000;
	supermesh__wireguard_config__init(&B.wg);
	B.wg.exit_pubkey = bin(B.key, 32);
	B.wg.endpoint = "192.0.2.1:51820";
	B.wg.n_allowed_ips = 2;
	B.wg.allowed_ips = B.ips;
	supermesh__exit_response__init(&B.exit_response);
	B.exit_response.request_id = bin(B.id, MSG_ID_LEN);
	B.exit_response.ok = 1;
	B.exit_response.path = SUPERMESH__PATH_KIND__PATH_RELAY;
	B.exit_response.wireguard = &B.wg;
	supermesh__register_supernode__init(&B.register_supernode);
	B.register_supernode.region = "us-east";
	B.register_supernode.capacity = 500;
	supermesh__load_report__init(&B.load_report);
	B.load_report.streams = 3;
	B.load_report.net_rx_bps = 1ULL << 33;
	supermesh__exit_region_request__init(&B.exit_region_request);
	B.exit_region_request.request_id = bin(B.id, MSG_ID_LEN);
	B.exit_region_request.region = "ap-south";
	supermesh__supernode_entry__init(&B.sn);
	B.sn.supernode_id = bin(B.key, 32);
	B.sn.public_address = "198.51.100.7:7100";
	B.sns[0] = &B.sn;
	supermesh__exit_region_response__init(&B.exit_region_response);
	B.exit_region_response.n_supernodes = 1;
	B.exit_region_response.supernodes = B.sns;
	supermesh__exit_peer_request__init(&B.exit_peer_request);
	B.exit_peer_request.max_latency_ms = 80;
	supermesh__exit_candidate__init(&B.cand);
	B.cand.exit_id = bin(B.key, 32);
	B.cand.rtt_ms = 12;
	B.cands[0] = &B.cand;
	supermesh__exit_peer_response__init(&B.exit_peer_response);
	B.exit_peer_response.n_candidates = 1;
	B.exit_peer_response.candidates = B.cands;
	supermesh__error__init(&B.error);
	B.error.code = 7;
	B.error.message = "bad thing";
	supermesh__reflector__init(&B.refl);
	B.refl.pubkey = bin(B.key, 32);
	B.refl.endpoint = "198.51.100.7:51900";
	B.refls[0] = &B.refl;
	supermesh__reflector_info__init(&B.reflector_info);
	B.reflector_info.n_reflectors = 1;
	B.reflector_info.reflectors = B.refls;
	B.reflector_info.keepalive_s = 25;
	supermesh__path_update__init(&B.path_update);
	B.path_update.session_id = bin(B.id, MSG_ID_LEN);
	B.path_update.exit_endpoint = "203.0.113.1:40999";
	B.path_update.nat_class = 2;
}

/* Sets body case c (1..NBODY) of m to its filled body. */
static void set_body(Supermesh__ControlMessage *m, int c)
{
	void *const bodies[NBODY + 1] = {
		NULL, &B.ping, &B.pong, &B.command, &B.command_response,
		&B.info_request, &B.info_response, &B.exit_request, &B.exit_response,
		&B.register_supernode, &B.load_report, &B.exit_region_request,
		&B.exit_region_response, &B.exit_peer_request, &B.exit_peer_response,
		&B.error, &B.reflector_info, &B.path_update,
	};

	supermesh__control_message__init(m);
	m->body_case = (Supermesh__ControlMessage__BodyCase)c;
	m->ping = bodies[c]; /* every member of the union is a pointer */
}

static uint8_t buf1[MSG_MAX + 64], buf2[MSG_MAX + 64];

START_TEST(test_round_trip)
{
	Supermesh__ControlMessage m, *u;
	int c = _i, n, n2;

	fill_bodies();
	set_body(&m, c);
	ck_assert_str_eq(msg_name(&m), expect_names[c]);
	n = msg_pack(&m, buf1, sizeof(buf1));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(u = msg_unpack(buf1, (size_t)n));
	ck_assert_int_eq(u->body_case, c);
	ck_assert_ptr_nonnull(u->ping);
	ck_assert_str_eq(msg_name(u), expect_names[c]);
	/* protobuf-c packs fields in order: equal bytes mean equal messages. */
	n2 = msg_pack(u, buf2, sizeof(buf2));
	ck_assert_int_eq(n2, n);
	ck_assert_mem_eq(buf1, buf2, (size_t)n);
	msg_free(u);
}
END_TEST

/* Spot checks that the fields, not just the case, come back. */
START_TEST(test_fields)
{
	Supermesh__ControlMessage m, *u;
	int n;

	fill_bodies();
	set_body(&m, SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND);
	n = msg_pack(&m, buf1, sizeof(buf1));
	ck_assert_ptr_nonnull(u = msg_unpack(buf1, (size_t)n));
	ck_assert_uint_eq(u->command->command_id.len, MSG_ID_LEN);
	ck_assert_mem_eq(u->command->command_id.data, B.id, MSG_ID_LEN);
	ck_assert_int_eq(u->command->type, SUPERMESH__COMMAND_TYPE__ROTATE_PEER);
	ck_assert_uint_eq(u->command->deadline_ms, 99);
	msg_free(u);

	set_body(&m, SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_RESPONSE);
	n = msg_pack(&m, buf1, sizeof(buf1));
	ck_assert_ptr_nonnull(u = msg_unpack(buf1, (size_t)n));
	ck_assert_ptr_nonnull(u->exit_response->wireguard);
	ck_assert_uint_eq(u->exit_response->wireguard->n_allowed_ips, 2);
	ck_assert_str_eq(u->exit_response->wireguard->allowed_ips[1], "::/0");
	msg_free(u);

	set_body(&m, SUPERMESH__CONTROL_MESSAGE__BODY_PING);
	n = msg_pack(&m, buf1, sizeof(buf1));
	ck_assert_ptr_nonnull(u = msg_unpack(buf1, (size_t)n));
	ck_assert_uint_eq(u->ping->timestamp_ms, 1234567890123ULL);
	msg_free(u);
}
END_TEST

START_TEST(test_empty_body)
{
	Supermesh__ControlMessage m;
	static const uint8_t unknown_only[] = { 0xf8, 0x07, 0x05 }; /* field 127 = 5 */

	fill_bodies();
	supermesh__control_message__init(&m);
	ck_assert_int_eq(msg_pack(&m, buf1, sizeof(buf1)), -EINVAL);
	ck_assert_int_eq(msg_send(NULL, &m), -EINVAL); /* refused before the channel */
	ck_assert_int_eq(msg_pack(NULL, buf1, sizeof(buf1)), -EINVAL);
	ck_assert_str_eq(msg_name(&m), "none");
	ck_assert_str_eq(msg_name(NULL), "none");
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PING; /* case without body */
	ck_assert_int_eq(msg_pack(&m, buf1, sizeof(buf1)), -EINVAL);
	m.body_case = (Supermesh__ControlMessage__BodyCase)127;
	m.ping = &B.ping;
	ck_assert_int_eq(msg_pack(&m, buf1, sizeof(buf1)), -EINVAL);
	ck_assert_str_eq(msg_name(&m), "none");

	ck_assert_ptr_null(msg_unpack(buf1, 0));
	ck_assert_ptr_null(msg_unpack(NULL, 3));
	/* It parses as a ControlMessage, but with no known body. */
	ck_assert_ptr_null(msg_unpack(unknown_only, sizeof(unknown_only)));
}
END_TEST

START_TEST(test_garbage)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11 }, /* endless varint */
		{ "\x08\x01", 2 },             /* ping as a varint: wrong wire type */
		{ "\x0a\x05\x08\x01", 4 },     /* ping longer than the input */
		{ "\x0a\x02\x08\x80", 4 },     /* truncated varint inside ping */
		{ "\x00", 1 },                 /* field number 0 */
		{ "\x0f", 1 },                 /* wire type 7 */
	};
	Supermesh__ControlMessage m;
	size_t i;
	int n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(msg_unpack((const uint8_t *)bad[i].bytes, bad[i].len) == NULL,
		              "garbage %zu accepted", i);
	/* The body is one length-delimited field: every strict prefix is cut. */
	fill_bodies();
	set_body(&m, SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_RESPONSE);
	n = msg_pack(&m, buf1, sizeof(buf1));
	for (i = 1; i < (size_t)n; i++)
		ck_assert_ptr_null(msg_unpack(buf1, i));
}
END_TEST

/* protobuf-c keeps field 0 behind a non-minimal tag as an unknown field,
 * at any depth, and would pack it into bytes it then refuses. */
START_TEST(test_field_zero)
{
	static const uint8_t top[] = { 0x2a, 0x00, 0x81, 0x00, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t deep[] = { 0x42, 0x05, 0x32, 0x03, 0x80, 0x00, 0x00 };
	/* A control: an unknown field 9 at the same depth is forward-compatible. */
	static const uint8_t field9[] = { 0x42, 0x04, 0x32, 0x02, 0x48, 0x00 };
	Supermesh__ControlMessage *u;

	ck_assert_ptr_null(msg_unpack(top, sizeof(top)));
	ck_assert_ptr_null(msg_unpack(deep, sizeof(deep)));
	ck_assert_ptr_nonnull(u = msg_unpack(field9, sizeof(field9)));
	ck_assert_ptr_nonnull(u->exit_response->wireguard);
	ck_assert_uint_eq(u->exit_response->wireguard->base.n_unknown_fields, 1);
	msg_free(u);
}
END_TEST

/* An InfoResponse whose one wg_peers entry is `len` bytes long. */
static size_t big_message(Supermesh__ControlMessage *m, Supermesh__InfoResponse *ir,
                          ProtobufCBinaryData *peer, uint8_t *data, size_t len)
{
	supermesh__info_response__init(ir);
	*peer = bin(data, len);
	ir->n_wg_peers = 1;
	ir->wg_peers = peer;
	supermesh__control_message__init(m);
	m->body_case = SUPERMESH__CONTROL_MESSAGE__BODY_INFO_RESPONSE;
	m->info_response = ir;
	return supermesh__control_message__get_packed_size(m);
}

START_TEST(test_oversize)
{
	static uint8_t data[MSG_MAX + 16];
	Supermesh__ControlMessage m, *u;
	Supermesh__InfoResponse ir;
	ProtobufCBinaryData peer;
	size_t len = MSG_MAX;
	int n;

	memset(data, 0xab, sizeof(data));
	while (big_message(&m, &ir, &peer, data, len) > MSG_MAX)
		len--;
	ck_assert_uint_eq(big_message(&m, &ir, &peer, data, len), MSG_MAX);
	ck_assert_int_eq(msg_pack(&m, buf1, MSG_MAX - 1), -EMSGSIZE); /* out too small */
	ck_assert_int_eq(msg_pack(&m, buf1, sizeof(buf1)), MSG_MAX);
	ck_assert_ptr_nonnull(u = msg_unpack(buf1, MSG_MAX));
	ck_assert_uint_eq(u->info_response->wg_peers[0].len, len);
	msg_free(u);

	big_message(&m, &ir, &peer, data, len + 1);
	ck_assert_int_eq(msg_pack(&m, buf1, sizeof(buf1)), -EMSGSIZE);
	/* A frame above MSG_MAX is refused before protobuf sees it. */
	n = (int)supermesh__control_message__pack(&m, buf1);
	ck_assert_int_eq(n, MSG_MAX + 1);
	ck_assert_ptr_null(msg_unpack(buf1, (size_t)n));
}
END_TEST

START_TEST(test_new_id)
{
	uint8_t a[MSG_ID_LEN], b[MSG_ID_LEN];

	msg_new_id(a);
	msg_new_id(b);
	ck_assert(!sodium_is_zero(a, sizeof(a)));
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

static Suite *msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_round_trip, 1, NBODY + 1);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_empty_body);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_field_zero);
	tcase_add_test(tc, test_oversize);
	tcase_add_test(tc, test_new_id);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	sr = srunner_create(msg_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
