/* natctl verbs: the pure word parsers at their edges, and dispatch through the
 * verb table against a recording fake kernel, proving that every class of bad
 * input gets one err reply and never reaches the kernel or the sysctl. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../natctl/verbs.h" /* tests see lib/ only on -I */

/* The fake kernel: records calls, answers with fake_ret and fake_list. */
static int calls, last_add, fake_ret;
static uint32_t last_addr;
static uint16_t last_port;
static const char *last_uplink;
static struct nat_listing fake_list;

static int fake_masq(const char *uplink, uint32_t addr_be, int add)
{
	calls++;
	last_uplink = uplink;
	last_addr = addr_be;
	last_add = add;
	return fake_ret;
}

static int fake_block(const char *uplink, uint16_t port, int add)
{
	calls++;
	last_uplink = uplink;
	last_port = port;
	last_add = add;
	return fake_ret;
}

static int fake_flush(void)
{
	calls++;
	return fake_ret;
}

static int fake_listing(struct nat_listing *out)
{
	calls++;
	*out = fake_list;
	return fake_ret;
}

static const struct nat_backend fake = { fake_masq, fake_block, fake_flush, fake_listing };
static char fwd_path[] = "/tmp/test_natctl_fwd.XXXXXX";
static struct natctl ctx;

static void setup(void)
{
	int fd = mkstemp(fwd_path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "0\n", 2), 2);
	close(fd);
	calls = last_add = fake_ret = 0;
	last_addr = 0;
	last_port = 0;
	last_uplink = NULL;
	memset(&fake_list, 0, sizeof(fake_list));
	ctx = (struct natctl){ "eth0", fwd_path, &fake, 0 };
}

static void teardown(void)
{
	unlink(fwd_path);
	memcpy(fwd_path + strlen(fwd_path) - 6, "XXXXXX", 6);
}

/* Dispatches one request line; returns the reply text (static). */
static const char *req(const char *text)
{
	static struct line_reply r;
	static char line[8192];
	size_t n = strlen(text);

	ck_assert_uint_lt(n, sizeof(line));
	memcpy(line, text, n + 1);
	verb_dispatch_line(natctl_verbs, &ctx, line, n, &r);
	return line_reply_finish(&r);
}

static void assert_prefix(const char *s, const char *prefix)
{
	ck_assert_msg(!strncmp(s, prefix, strlen(prefix)), "'%s' does not start with '%s'",
	              s, prefix);
}

static char *sysctl_text(void)
{
	static char buf[16];
	ssize_t n;
	int fd = open(fwd_path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

START_TEST(parse_ipv4_edges)
{
	static const char *const bad[] = {
		"10.0.0.256", "1.2.3", "10.0.0.1x", "", " 10.0.0.1", "10.0.0.1 ",
		"1.2.3.4.5", "010.0.0.1", "0x0a.0.0.1", "::1", "10.0.0.-1",
		"0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.1", "239.1.1.1",
		"255.255.255.255", "240.0.0.1", "10..0.1",
	};
	uint32_t a = 0;
	size_t i;

	ck_assert_int_eq(natctl_parse_ipv4("10.200.0.5", &a), 0);
	ck_assert_uint_eq(a, htonl(0x0ac80005));
	ck_assert_int_eq(natctl_parse_ipv4("1.0.0.0", &a), 0);
	ck_assert_int_eq(natctl_parse_ipv4("223.255.255.254", &a), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = 12345;
		ck_assert_msg(natctl_parse_ipv4(bad[i], &a) == -EINVAL, "accepted '%s'", bad[i]);
		ck_assert_uint_eq(a, 12345);
	}
}
END_TEST

START_TEST(parse_port_edges)
{
	static const char *const bad[] = {
		"0", "65536", "abc", "-1", "+1", "", " 1", "1 ", "123456", "0x10",
		"99999", "1.5", "80a", "00000",
	};
	uint16_t p = 0;
	size_t i;

	ck_assert_int_eq(natctl_parse_port("1", &p), 0);
	ck_assert_uint_eq(p, 1);
	ck_assert_int_eq(natctl_parse_port("65535", &p), 0);
	ck_assert_uint_eq(p, 65535);
	ck_assert_int_eq(natctl_parse_port("5201", &p), 0);
	ck_assert_uint_eq(p, 5201);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = 7;
		ck_assert_msg(natctl_parse_port(bad[i], &p) == -EINVAL, "accepted '%s'", bad[i]);
		ck_assert_uint_eq(p, 7);
	}
}
END_TEST

START_TEST(parse_onoff_and_ifname)
{
	static const char *const bad_if[] = {
		"", ".", "..", "a/b", "a b", "a:b", "0123456789abcdef", "eth0\n", "é",
	};
	size_t i;
	int on = 5;

	ck_assert_int_eq(natctl_parse_onoff("on", &on), 0);
	ck_assert_int_eq(on, 1);
	ck_assert_int_eq(natctl_parse_onoff("off", &on), 0);
	ck_assert_int_eq(on, 0);
	ck_assert_int_eq(natctl_parse_onoff("ON", &on), -EINVAL);
	ck_assert_int_eq(natctl_parse_onoff("1", &on), -EINVAL);
	ck_assert_int_eq(natctl_parse_onoff("", &on), -EINVAL);
	ck_assert_int_eq(natctl_parse_ifname("eth0"), 0);
	ck_assert_int_eq(natctl_parse_ifname("v-smt123-inet"), 0);
	ck_assert_int_eq(natctl_parse_ifname("0123456789abcde"), 0); /* 15 bytes */
	ck_assert_int_eq(natctl_parse_ifname("wg_0.100"), 0);
	for (i = 0; i < sizeof(bad_if) / sizeof(bad_if[0]); i++)
		ck_assert_msg(natctl_parse_ifname(bad_if[i]) == -EINVAL, "accepted '%s'",
		              bad_if[i]);
}
END_TEST

/* Every class of bad input: one err line of the right code, no kernel call,
 * no sysctl write. */
START_TEST(bad_input_touches_nothing)
{
	static const struct {
		const char *line, *prefix;
	} cases[] = {
		{ "bogus", "err usage unknown verb 'bogus'" },
		{ "ADD 10.0.0.1", "err usage " },
		{ "add", "err usage add IP" },
		{ "del", "err usage del IP" },
		{ "block", "err usage block PORT" },
		{ "unblock", "err usage unblock PORT" },
		{ "forward", "err usage forward on|off" },
		{ "add 10.0.0.1 10.0.0.2", "err usage add IP" },
		{ "del 10.0.0.1 x", "err usage del IP" },
		{ "list x", "err usage list" },
		{ "flush now", "err usage flush" },
		{ "block 80 81", "err usage block PORT" },
		{ "forward on off", "err usage forward on|off" },
		{ "add 10.0.0.256", "err inval bad IPv4 address '10.0.0.256'" },
		{ "add 1.2.3", "err inval bad IPv4 address '1.2.3'" },
		{ "add 10.0.0.1x", "err inval bad IPv4 address '10.0.0.1x'" },
		{ "del 10.0.0.256", "err inval bad IPv4 address" },
		{ "add 127.0.0.1", "err inval bad IPv4 address" },
		{ "add 10.0.0.1\\x20", "err inval bad IPv4 address" },
		{ "add 10.0.0.1\\x0a", "err inval bad IPv4 address" },
		{ "block 0", "err inval bad port (1..65535) '0'" },
		{ "block 65536", "err inval bad port (1..65535) '65536'" },
		{ "block abc", "err inval bad port (1..65535) 'abc'" },
		{ "block -1", "err inval bad port (1..65535) '-1'" },
		{ "unblock 0", "err inval bad port" },
		{ "unblock 65536", "err inval bad port" },
		{ "forward yes", "err inval bad forward state (on|off) 'yes'" },
		{ "add\t10.0.0.1", "err inval " },
		{ "add 10.0.0.1\\", "err inval " },
		{ "", "err usage " },
		{ "   ", "err usage " },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *r = req(cases[i].line);

		assert_prefix(r, cases[i].prefix);
		ck_assert_msg(strchr(r, '\n') == r + strlen(r) - 1, "not one line: %s", r);
		ck_assert_msg(calls == 0, "'%s' reached the kernel", cases[i].line);
	}
	ck_assert_str_eq(sysctl_text(), "0\n");
}
END_TEST

START_TEST(overlong_line_and_word)
{
	char *line = malloc(LINE_MAX_LEN + 100);
	char *word = malloc(LINE_MAX_LEN);
	const char *r;

	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(word);
	memcpy(line, "add ", 4);
	memset(line + 4, '1', LINE_MAX_LEN + 50);
	line[LINE_MAX_LEN + 54] = '\0';
	assert_prefix(req(line), "err toolong ");
	/* A long but legal line: the echo of the bad word is cut short. */
	memset(word, '9', 3000);
	word[3000] = '\0';
	snprintf(line, LINE_MAX_LEN, "block %s", word);
	r = req(line);
	assert_prefix(r, "err inval bad port (1..65535) '9999");
	ck_assert_uint_lt(strlen(r), 100);
	ck_assert_int_eq(calls, 0);
	free(line);
	free(word);
}
END_TEST

START_TEST(add_needs_uplink)
{
	ctx.uplink = NULL;
	assert_prefix(req("add 10.200.0.5"), "err inval no uplink configured");
	ck_assert_int_eq(calls, 0);
	/* del and block do not name the uplink, so they work without one. */
	ck_assert_str_eq(req("del 10.200.0.5"), "ok\n");
	ck_assert_ptr_null(last_uplink);
	ck_assert_str_eq(req("block 22"), "ok\n");
	ck_assert_int_eq(calls, 2);
}
END_TEST

START_TEST(good_requests_reach_the_kernel)
{
	ck_assert_str_eq(req("add 10.200.0.5"), "ok\n");
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_eq(last_addr, htonl(0x0ac80005));
	ck_assert_int_eq(last_add, 1);
	ck_assert_str_eq(last_uplink, "eth0");
	ck_assert_str_eq(req("del  10.200.0.6"), "ok\n");
	ck_assert_uint_eq(last_addr, htonl(0x0ac80006));
	ck_assert_int_eq(last_add, 0);
	ck_assert_str_eq(req("block 5201"), "ok\n");
	ck_assert_uint_eq(last_port, 5201);
	ck_assert_int_eq(last_add, 1);
	ck_assert_str_eq(req("unblock 65535"), "ok\n");
	ck_assert_uint_eq(last_port, 65535);
	ck_assert_int_eq(last_add, 0);
	ck_assert_str_eq(req("flush"), "ok\n");
	ck_assert_int_eq(calls, 5);
}
END_TEST

START_TEST(kernel_error_is_err_system)
{
	fake_ret = -EPERM;
	ck_assert_str_eq(req("add 10.200.0.5"), "err system add: Operation not permitted\n");
	fake_ret = -ENOBUFS;
	ck_assert_str_eq(req("flush"), "err system flush: No buffer space available\n");
	assert_prefix(req("list"), "err system list: ");
}
END_TEST

START_TEST(forward_writes_sysctl)
{
	ck_assert_str_eq(req("forward on"), "ok\n");
	ck_assert_str_eq(sysctl_text(), "1\n");
	ck_assert_str_eq(req("forward on"), "ok\n");
	ck_assert_str_eq(sysctl_text(), "1\n");
	ck_assert_str_eq(req("forward off"), "ok\n");
	ck_assert_str_eq(sysctl_text(), "0\n");
	ctx.ip_forward = "/nonexistent/ip_forward";
	assert_prefix(req("forward on"), "err system forward: ");
	ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(list_is_sorted)
{
	fake_list.masq[0] = htonl(0x0ac8000a); /* 10.200.0.10 */
	fake_list.masq[1] = htonl(0x0ac80002);
	fake_list.masq[2] = htonl(0x0a000001);
	fake_list.nmasq = 3;
	fake_list.block[0] = 5201;
	fake_list.block[1] = 22;
	fake_list.nblock = 2;
	ck_assert_str_eq(req("list"),
	                 "ok masq=10.0.0.1,10.200.0.2,10.200.0.10 blocked=22,5201 "
	                 "forward=off uplink=eth0\n");
	req("forward on");
	memset(&fake_list, 0, sizeof(fake_list));
	ctx.uplink = NULL;
	ck_assert_str_eq(req("list"), "ok masq= blocked= forward=on uplink=\n");
}
END_TEST

START_TEST(list_too_long_for_a_line)
{
	size_t i;

	for (i = 0; i < NAT_LIST_MAX; i++)
		fake_list.masq[i] = htonl(0x0a000000 + 0x10000 + (uint32_t)i);
	fake_list.nmasq = NAT_LIST_MAX;
	assert_prefix(req("list"), "err toolong ");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("natctl_verbs");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse_ipv4_edges);
	tcase_add_test(tc, parse_port_edges);
	tcase_add_test(tc, parse_onoff_and_ifname);
	tcase_add_test(tc, bad_input_touches_nothing);
	tcase_add_test(tc, overlong_line_and_word);
	tcase_add_test(tc, add_needs_uplink);
	tcase_add_test(tc, good_requests_reach_the_kernel);
	tcase_add_test(tc, kernel_error_is_err_system);
	tcase_add_test(tc, forward_writes_sysctl);
	tcase_add_test(tc, list_is_sorted);
	tcase_add_test(tc, list_too_long_for_a_line);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
