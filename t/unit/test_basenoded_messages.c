/* basenoded's checks on supernode messages: decode, RegisterSupernode
 * fields at their limits, ExitRegionRequest limits, log-safe text. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "../../basenoded/msg_parse.h"

static char region[128], pub[512], relay[512];
static Supermesh__RegisterSupernode reg;

static void setup(void)
{
	supermesh__register_supernode__init(&reg);
	snprintf(region, sizeof(region), "eu-west.1_a");
	snprintf(pub, sizeof(pub), "203.0.113.7:7100");
	snprintf(relay, sizeof(relay), "203.0.113.7");
	reg.region = region;
	reg.public_address = pub;
	reg.relay_host = relay;
	reg.capacity = 500;
}

static int check_reg(const char *auth_region, const char **why)
{
	struct dir_info info;

	return msg_register_info(&reg, auth_region, &info, why);
}

START_TEST(register_copied)
{
	struct dir_info info;
	const char *why;

	ck_assert_int_eq(msg_register_info(&reg, "eu-west.1_a", &info, &why), 0);
	ck_assert_str_eq(info.region, "eu-west.1_a");
	ck_assert_str_eq(info.public_address, "203.0.113.7:7100");
	ck_assert_str_eq(info.relay_host, "203.0.113.7");
	ck_assert_uint_eq(info.capacity, 500);
	/* No region signed at auth: whatever it registers. */
	ck_assert_int_eq(msg_register_info(&reg, "", &info, &why), 0);
	/* v6 control address, empty relay host. */
	snprintf(pub, sizeof(pub), "[2001:db8::1]:7100");
	relay[0] = '\0';
	ck_assert_int_eq(msg_register_info(&reg, "", &info, &why), 0);
	ck_assert_str_eq(info.relay_host, "");
}
END_TEST

START_TEST(register_region_limits)
{
	const char *why;

	memset(region, 'r', DIR_REGION_MAX - 1);
	region[DIR_REGION_MAX - 1] = '\0';
	ck_assert_int_eq(check_reg("", &why), 0);
	memset(region, 'r', DIR_REGION_MAX);
	region[DIR_REGION_MAX] = '\0';
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	ck_assert_str_eq(why, "bad_register");
	region[0] = '\0';
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	snprintf(region, sizeof(region), "eu west");
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	snprintf(region, sizeof(region), "eu,west");
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	snprintf(region, sizeof(region), "eu=x");
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	snprintf(region, sizeof(region), "us");
	ck_assert_int_eq(check_reg("eu", &why), -EPROTO);
	ck_assert_str_eq(why, "region_mismatch");
}
END_TEST

START_TEST(register_address_limits)
{
	const char *why;

	snprintf(pub, sizeof(pub), "203.0.113.7");
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	snprintf(pub, sizeof(pub), "203.0.113.7:0");
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	snprintf(pub, sizeof(pub), "203.0.113.7:65536");
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	snprintf(pub, sizeof(pub), "a b:7100");
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	pub[0] = '\0';
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	/* Longest name that still fits, then one byte more. */
	memset(pub, 'h', DIR_HOST_MAX - 6);
	snprintf(pub + DIR_HOST_MAX - 6, 6, ":7100");
	ck_assert_uint_eq(strlen(pub), DIR_HOST_MAX - 1);
	ck_assert_int_eq(check_reg("", &why), 0);
	memset(pub, 'h', DIR_HOST_MAX - 5);
	snprintf(pub + DIR_HOST_MAX - 5, 6, ":7100");
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	snprintf(pub, sizeof(pub), "sn.example:7100");
	snprintf(relay, sizeof(relay), "relay host");
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
	memset(relay, 'h', DIR_HOST_MAX);
	relay[DIR_HOST_MAX] = '\0';
	ck_assert_int_eq(check_reg("", &why), -EPROTO);
}
END_TEST

START_TEST(exit_region_limits)
{
	Supermesh__ExitRegionRequest r;
	uint8_t rid[MSG_REQUEST_ID_MAX + 1] = { 0 };
	char reg_name[8] = "";

	supermesh__exit_region_request__init(&r);
	r.region = reg_name;
	r.request_id.data = rid;
	r.request_id.len = MSG_REQUEST_ID_MAX;
	ck_assert_int_eq(msg_exit_region_check(&r), 0);
	r.request_id.len++;
	ck_assert_int_eq(msg_exit_region_check(&r), -EPROTO);
	r.request_id.len = 0;
	snprintf(reg_name, sizeof(reg_name), "a\tb");
	ck_assert_int_eq(msg_exit_region_check(&r), -EPROTO);
	snprintf(reg_name, sizeof(reg_name), "asia");
	ck_assert_int_eq(msg_exit_region_check(&r), 0);
}
END_TEST

START_TEST(decode_round_trip_and_junk)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT, *back;
	Supermesh__Ping ping = SUPERMESH__PING__INIT;
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	uint8_t buf[64];
	size_t len;

	ping.timestamp_ms = 42;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PING;
	m.ping = &ping;
	len = supermesh__control_message__pack(&m, buf);
	back = msg_decode(buf, len);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(back->body_case, SUPERMESH__CONTROL_MESSAGE__BODY_PING);
	ck_assert_uint_eq(back->ping->timestamp_ms, 42);
	supermesh__control_message__free_unpacked(back, NULL);
	ck_assert_ptr_null(msg_decode(junk, sizeof(junk)));
	/* Truncated: the ping's length says more than is there. */
	ck_assert_ptr_null(msg_decode(buf, len - 1));
}
END_TEST

START_TEST(text_made_log_safe)
{
	char out[8];

	msg_text_clean(out, sizeof(out), "a b=c\"d\n");
	ck_assert_str_eq(out, "a_b_c_d");
	msg_text_clean(out, sizeof(out), "");
	ck_assert_str_eq(out, "");
	msg_text_clean(out, 3, "abcdef");
	ck_assert_str_eq(out, "ab");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("basenoded_messages");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, register_copied);
	tcase_add_test(tc, register_region_limits);
	tcase_add_test(tc, register_address_limits);
	tcase_add_test(tc, exit_region_limits);
	tcase_add_test(tc, decode_round_trip_and_junk);
	tcase_add_test(tc, text_made_log_safe);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
