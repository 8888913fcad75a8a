/* Config: syntax, per-type checks with file:line errors, atomicity,
 * overrides, dump output, address parsing, file loading. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

static const struct config_key keys[] = {
	{ "name", CFG_STR, "node", 0, 0, "instance name" },
	{ "port", CFG_INT, "7000", 1, 65535, "TCP port" },
	{ "offset", CFG_INT, NULL, 0, 0, "any long" },
	{ "verbose", CFG_BOOL, "no", 0, 0, "chatty" },
	{ "listen", CFG_ADDR, "0.0.0.0:7000", 0, 0, "listen address" },
	{ "state_dir", CFG_PATH, NULL, 0, 0, "state directory" },
	{ NULL },
};

static struct config c;
static char err[256];

static void setup(void)
{
	ck_assert_int_eq(config_init(&c, keys), 0);
	err[0] = '\0';
}

static void teardown(void)
{
	config_release(&c);
}

static int parse(const char *text)
{
	return config_parse_buf(&c, text, strlen(text), "t.conf", err, sizeof(err));
}

START_TEST(defaults)
{
	ck_assert_uint_eq(c.nkeys, 6);
	ck_assert_str_eq(config_get(&c, "name"), "node");
	ck_assert_int_eq(config_get_int(&c, "port"), 7000);
	ck_assert_int_eq(config_get_bool(&c, "verbose"), 0);
	ck_assert_ptr_null(config_get(&c, "state_dir"));
	ck_assert_int_eq(config_get_int(&c, "offset"), 0);
	ck_assert_ptr_null(config_get(&c, "nosuch"));
	ck_assert_str_eq(c.origin[1], "default");
}
END_TEST

START_TEST(syntax)
{
	const char *text =
		"# full-line comment\n"
		"\n"
		"   \t\n"
		"  name   =   alpha beta   # trailing comment\n"
		"port=8080\n"
		"verbose = on\r\n"
		"state_dir = /var/lib/x#y\n"
		"offset = -42\n"
		"listen = [::1]:9000";
	ck_assert_int_eq(parse(text), 0);
	ck_assert_str_eq(config_get(&c, "name"), "alpha beta");
	ck_assert_int_eq(config_get_int(&c, "port"), 8080);
	ck_assert_int_eq(config_get_bool(&c, "verbose"), 1);
	/* '#' not after whitespace is part of the value. */
	ck_assert_str_eq(config_get(&c, "state_dir"), "/var/lib/x#y");
	ck_assert_int_eq(config_get_int(&c, "offset"), -42);
	ck_assert_str_eq(config_get(&c, "listen"), "[::1]:9000");
	ck_assert_str_eq(c.origin[0], "t.conf:4");
	ck_assert_str_eq(c.origin[4], "t.conf:9");
}
END_TEST

START_TEST(quoted_values)
{
	ck_assert_int_eq(parse("name = \"  # not a comment \\\"q\\\" \\\\ \"   # comment\n"), 0);
	ck_assert_str_eq(config_get(&c, "name"), "  # not a comment \"q\" \\ ");
	ck_assert_int_eq(parse("name = \"\"\n"), 0);
	ck_assert_str_eq(config_get(&c, "name"), "");
	ck_assert_int_eq(parse("name = # only a comment\n"), 0);
	ck_assert_str_eq(config_get(&c, "name"), "");
}
END_TEST

START_TEST(later_wins)
{
	ck_assert_int_eq(parse("port = 1\nport = 2\n"), 0);
	ck_assert_int_eq(config_get_int(&c, "port"), 2);
	ck_assert_str_eq(c.origin[1], "t.conf:2");
}
END_TEST

START_TEST(bools)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True" };
	static const char *const no[] = { "no", "false", "off", "0", "Off" };
	char line[64];
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(line, sizeof(line), "verbose = %s\n", yes[i]);
		ck_assert_int_eq(parse(line), 0);
		ck_assert_int_eq(config_get_bool(&c, "verbose"), 1);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(line, sizeof(line), "verbose = %s\n", no[i]);
		ck_assert_int_eq(parse(line), 0);
		ck_assert_int_eq(config_get_bool(&c, "verbose"), 0);
	}
}
END_TEST

static void expect_error(const char *text, const char *msg)
{
	ck_assert_int_eq(parse(text), -EINVAL);
	ck_assert_str_eq(err, msg);
}

START_TEST(error_classes)
{
	char line[5000];

	expect_error("# c\nbogus = 1\n", "t.conf:2: unknown key 'bogus'");
	expect_error("\n\nport\n", "t.conf:3: expected 'key = value'");
	expect_error("= 5\n", "t.conf:1: expected 'key = value'");
	expect_error("port = abc\n", "t.conf:1: 'port' must be an integer in 1..65535");
	expect_error("port = 0\n", "t.conf:1: 'port' must be an integer in 1..65535");
	expect_error("port = 65536\n", "t.conf:1: 'port' must be an integer in 1..65535");
	expect_error("port = 80x\n", "t.conf:1: 'port' must be an integer in 1..65535");
	expect_error("port = \" 80\"\n", "t.conf:1: 'port' must be an integer in 1..65535");
	expect_error("port = +80\n", "t.conf:1: 'port' must be an integer in 1..65535");
	expect_error("port =\n", "t.conf:1: 'port' must be an integer in 1..65535");
	expect_error("offset = 99999999999999999999\n",
	             "t.conf:1: 'offset' must be an integer in "
	             "-9223372036854775808..9223372036854775807");
	expect_error("verbose = maybe\n",
	             "t.conf:1: 'verbose' must be yes/no, true/false, on/off or 1/0");
	expect_error("listen = 7000\n",
	             "t.conf:1: 'listen' must be host:port or [v6]:port, port 1..65535");
	expect_error("state_dir = \"\"\n", "t.conf:1: 'state_dir' must be a non-empty path");
	expect_error("state_dir = \"a\tb\"\n", "t.conf:1: 'state_dir' must be a non-empty path");
	expect_error("name = \"open\n", "t.conf:1: unterminated quote");
	expect_error("name = \"a\" b\n", "t.conf:1: unexpected text after closing quote");

	memset(line, 'x', sizeof(line));
	memcpy(line, "name = ", 7);
	line[7 + CONFIG_VALUE_MAX + 1] = '\0';
	expect_error(line, "t.conf:1: value of 'name' too long (max 512)");
	line[7 + CONFIG_VALUE_MAX] = '\0';
	ck_assert_int_eq(parse(line), 0);
	ck_assert_uint_eq(strlen(config_get(&c, "name")), CONFIG_VALUE_MAX);

	memset(line, ' ', sizeof(line));
	memcpy(line, "name = x", 8);
	line[4097] = '\0';
	expect_error(line, "t.conf:1: line too long (max 4096)");
	line[4096] = '\0';
	ck_assert_int_eq(parse(line), 0);

	ck_assert_int_eq(config_parse_buf(&c, "name = a\0b\n", 11, "t.conf", err, sizeof(err)),
	                 -EINVAL);
	ck_assert_str_eq(err, "t.conf:1: NUL byte in line");
}
END_TEST

START_TEST(atomic_on_error)
{
	ck_assert_int_eq(parse("port = 1234\n"), 0);
	expect_error("port = 4321\nname = changed\nverbose = yes\nport = nope\n",
	             "t.conf:4: 'port' must be an integer in 1..65535");
	ck_assert_int_eq(config_get_int(&c, "port"), 1234);
	ck_assert_str_eq(c.origin[1], "t.conf:1");
	ck_assert_str_eq(config_get(&c, "name"), "node");
	ck_assert_str_eq(c.origin[0], "default");
	ck_assert_int_eq(config_get_bool(&c, "verbose"), 0);
}
END_TEST

START_TEST(override_precedence)
{
	ck_assert_int_eq(parse("port = 1\nname = file\n"), 0);
	ck_assert_int_eq(config_set_override(&c, "port=2", err, sizeof(err)), 0);
	ck_assert_int_eq(config_set_override(&c, " name =  a # b ", err, sizeof(err)), 0);
	ck_assert_int_eq(config_get_int(&c, "port"), 2);
	ck_assert_str_eq(config_get(&c, "name"), "a # b");
	ck_assert_str_eq(c.origin[1], "-o");

	ck_assert_int_eq(config_set_override(&c, "port=0", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "-o: 'port' must be an integer in 1..65535");
	ck_assert_int_eq(config_set_override(&c, "nope=1", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "-o: unknown key 'nope'");
	ck_assert_int_eq(config_set_override(&c, "port", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "-o port: expected key=value");
	ck_assert_int_eq(config_set_override(&c, "=3", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(config_set_override(&c, "name=a\nb", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "-o: newline in value of 'name'");
	ck_assert_int_eq(config_get_int(&c, "port"), 2);
	ck_assert_str_eq(config_get(&c, "name"), "a # b");
}
END_TEST

static char *dump(size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	ck_assert_ptr_nonnull(f);
	config_dump(&c, f);
	fclose(f);
	return out;
}

START_TEST(dump_golden)
{
	size_t len;
	char *out;

	ck_assert_int_eq(parse("port = 7100\n# x\nname = \" a#b \\\"c\\\" \"\n"), 0);
	ck_assert_int_eq(config_set_override(&c, "verbose=yes", err, sizeof(err)), 0);
	out = dump(&len);
	ck_assert_str_eq(out,
		"name = \" a#b \\\"c\\\" \"  # t.conf:3\n"
		"port = 7100  # t.conf:1\n"
		"# offset (unset)\n"
		"verbose = yes  # -o\n"
		"listen = 0.0.0.0:7000  # default\n"
		"# state_dir (unset)\n");
	/* The dump parses back to the same values. */
	ck_assert_int_eq(parse(out), 0);
	ck_assert_str_eq(config_get(&c, "name"), " a#b \"c\" ");
	free(out);
}
END_TEST

static int addr(const char *text, char *host, uint16_t *port)
{
	return config_parse_addr(text, host, 64, port);
}

START_TEST(addr_edges)
{
	char host[64], tiny[4];
	uint16_t port;

	ck_assert_int_eq(addr("example.org:443", host, &port), 0);
	ck_assert_str_eq(host, "example.org");
	ck_assert_uint_eq(port, 443);
	ck_assert_int_eq(addr("10.0.0.1:1", host, &port), 0);
	ck_assert_str_eq(host, "10.0.0.1");
	ck_assert_uint_eq(port, 1);
	ck_assert_int_eq(addr("[fe80::1]:65535", host, &port), 0);
	ck_assert_str_eq(host, "fe80::1");
	ck_assert_uint_eq(port, 65535);
	ck_assert_int_eq(addr("[::]:7000", host, &port), 0);
	ck_assert_str_eq(host, "::");

	ck_assert_int_eq(addr("host", host, &port), -EINVAL);
	ck_assert_int_eq(addr("host:", host, &port), -EINVAL);
	ck_assert_int_eq(addr(":80", host, &port), -EINVAL);
	ck_assert_int_eq(addr("host:0", host, &port), -EINVAL);
	ck_assert_int_eq(addr("host:65536", host, &port), -EINVAL);
	ck_assert_int_eq(addr("host:99999999999", host, &port), -EINVAL);
	ck_assert_int_eq(addr("host:-1", host, &port), -EINVAL);
	ck_assert_int_eq(addr("host:+80", host, &port), -EINVAL);
	ck_assert_int_eq(addr("host:80x", host, &port), -EINVAL);
	ck_assert_int_eq(addr("host: 80", host, &port), -EINVAL);
	ck_assert_int_eq(addr("ho st:80", host, &port), -EINVAL);
	ck_assert_int_eq(addr("::1:80", host, &port), -EINVAL);
	ck_assert_int_eq(addr("[::1]", host, &port), -EINVAL);
	ck_assert_int_eq(addr("[::1]80", host, &port), -EINVAL);
	ck_assert_int_eq(addr("[]:80", host, &port), -EINVAL);
	ck_assert_int_eq(addr("[not-v6]:80", host, &port), -EINVAL);
	ck_assert_int_eq(addr("[::1:80", host, &port), -EINVAL);
	ck_assert_int_eq(addr("", host, &port), -EINVAL);
	ck_assert_int_eq(config_parse_addr("abcd:80", tiny, sizeof(tiny), &port), -EINVAL);
	ck_assert_int_eq(config_parse_addr("abc:80", tiny, sizeof(tiny), &port), 0);
	ck_assert_str_eq(tiny, "abc");
}
END_TEST

static char *write_tmp(const char *data, size_t len)
{
	char *path = strdup("/tmp/test_config.XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

START_TEST(load_file)
{
	size_t big = 1024 * 1024;
	char *data, *path, msg[600];

	ck_assert_int_eq(config_load_file(&c, "/nonexistent/x.conf", err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "/nonexistent/x.conf: No such file or directory");

	path = write_tmp("port = 9\nbad = 1\n", 17);
	ck_assert_int_eq(config_load_file(&c, path, err, sizeof(err)), -EINVAL);
	snprintf(msg, sizeof(msg), "%s:2: unknown key 'bad'", path);
	ck_assert_str_eq(err, msg);
	ck_assert_int_eq(config_get_int(&c, "port"), 7000);
	unlink(path);
	free(path);

	/* Exactly 1 MiB of comments is fine; one byte more is not. */
	data = malloc(big + 1);
	memset(data, '#', big + 1);
	memcpy(data, "port = 9\n", 9);
	for (size_t i = 9 + 1000; i < big; i += 1000)
		data[i] = '\n';
	path = write_tmp(data, big);
	ck_assert_int_eq(config_load_file(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(config_get_int(&c, "port"), 9);
	unlink(path);
	free(path);
	path = write_tmp(data, big + 1);
	ck_assert_int_eq(config_load_file(&c, path, err, sizeof(err)), -EFBIG);
	snprintf(msg, sizeof(msg), "%s: file too large (max 1048576 bytes)", path);
	ck_assert_str_eq(err, msg);
	unlink(path);
	free(path);
	free(data);
}
END_TEST

START_TEST(too_many_keys)
{
	struct config_key many[CONFIG_MAX_KEYS + 2];
	struct config c2;
	int i;

	for (i = 0; i < CONFIG_MAX_KEYS + 1; i++)
		many[i] = (struct config_key){ "k", CFG_STR, "v", 0, 0, "h" };
	many[CONFIG_MAX_KEYS + 1] = (struct config_key){ NULL };
	ck_assert_int_eq(config_init(&c2, many), -E2BIG);
	many[CONFIG_MAX_KEYS] = (struct config_key){ NULL };
	ck_assert_int_eq(config_init(&c2, many), 0);
	ck_assert_uint_eq(c2.nkeys, CONFIG_MAX_KEYS);
	config_release(&c2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, syntax);
	tcase_add_test(tc, quoted_values);
	tcase_add_test(tc, later_wins);
	tcase_add_test(tc, bools);
	tcase_add_test(tc, error_classes);
	tcase_add_test(tc, atomic_on_error);
	tcase_add_test(tc, override_precedence);
	tcase_add_test(tc, dump_golden);
	tcase_add_test(tc, addr_edges);
	tcase_add_test(tc, load_file);
	tcase_add_test(tc, too_many_keys);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
