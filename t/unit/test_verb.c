/* Tests for lib/verb.c: one- and two-word verbs, word counts, unknown verbs,
 * the line form, and the usage listing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "verb.h"

/* Each handler records its name and arguments as "name:arg,arg". */
struct calls {
	char last[256];
	int n;
};

static void record(void *ctx, const char *name, int argc, char **argv)
{
	struct calls *c = ctx;
	size_t len;
	int i;

	len = (size_t)snprintf(c->last, sizeof(c->last), "%s:", name);
	for (i = 0; i < argc; i++)
		len += (size_t)snprintf(c->last + len, sizeof(c->last) - len, "%s%s",
		                        i ? "," : "", argv[i]);
	c->n++;
}

static void do_peer(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "peer", argc, argv);
	line_reply_ok(r);
	line_reply_kv(r, "who", "peer");
}

static void do_peer_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "peer add", argc, argv);
	line_reply_ok(r);
	line_reply_kv(r, "who", "peer-add");
}

static void do_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "list", argc, argv);
	/* fills nothing: the reply stays plain "ok" */
}

static void do_fail(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "fail", argc, argv);
	line_reply_err(r, LINE_ENOENT, "no such %s", argv[0]);
}

static void do_iface_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "iface del", argc, argv);
}

static void do_echo(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "echo", argc, argv);
}

/* "peer" is listed before "peer add" on purpose: longest match must win. */
static const struct verb table[] = {
	{ "peer", 1, 1, do_peer, "NAME" },
	{ "peer add", 2, 3, do_peer_add, "NAME KEY [PORT]" },
	{ "list", 0, 0, do_list, "" },
	{ "fail", 1, 1, do_fail, "THING" },
	{ "echo", 0, -1, do_echo, "[WORD...]" },
	{ "iface del", 1, 1, do_iface_del, "NAME" },
	{ NULL, 0, 0, NULL, NULL },
};

static const char *dispatch(struct calls *c, const char *line)
{
	static struct line_reply r;
	char buf[LINE_MAX_LEN + 1];
	size_t n = strlen(line);

	memcpy(buf, line, n + 1);
	verb_dispatch_line(table, c, buf, n, &r);
	return line_reply_finish(&r);
}

START_TEST(two_words_first)
{
	struct calls c = { .n = 0 };

	ck_assert_str_eq(dispatch(&c, "peer add wg0 KEY"), "ok who=peer-add\n");
	ck_assert_str_eq(c.last, "peer add:wg0,KEY");
	ck_assert_str_eq(dispatch(&c, "peer add wg0 KEY 51820"), "ok who=peer-add\n");
	ck_assert_str_eq(c.last, "peer add:wg0,KEY,51820");
	/* One word after "peer" that is not "add": the one-word verb. */
	ck_assert_str_eq(dispatch(&c, "peer wg0"), "ok who=peer\n");
	ck_assert_str_eq(c.last, "peer:wg0");
	/* "peer add" alone is "peer add" short of words, not "peer add". */
	ck_assert_str_eq(dispatch(&c, "peer add"), "err usage peer add NAME KEY [PORT]\n");
	ck_assert_int_eq(c.n, 3);
	ck_assert_str_eq(dispatch(&c, "iface del wg0"), "ok\n");
	ck_assert_str_eq(c.last, "iface del:wg0");
}
END_TEST

START_TEST(counts)
{
	struct calls c = { .n = 0 };

	ck_assert_str_eq(dispatch(&c, "peer add wg0"),
	                 "err usage peer add NAME KEY [PORT]\n");
	ck_assert_str_eq(dispatch(&c, "peer add wg0 k 1 extra"),
	                 "err usage peer add NAME KEY [PORT]\n");
	ck_assert_str_eq(dispatch(&c, "list x"), "err usage list\n");
	ck_assert_str_eq(dispatch(&c, "fail"), "err usage fail THING\n");
	ck_assert_int_eq(c.n, 0); /* no handler ran */
	ck_assert_str_eq(dispatch(&c, "list"), "ok\n");
	ck_assert_str_eq(c.last, "list:");
	ck_assert_str_eq(dispatch(&c, "echo"), "ok\n");
	ck_assert_str_eq(dispatch(&c, "echo 1 2 3 4 5 6 7 8 9"), "ok\n");
	ck_assert_str_eq(c.last, "echo:1,2,3,4,5,6,7,8,9");
	ck_assert_str_eq(dispatch(&c, "fail wg9"), "err notfound no such wg9\n");
}
END_TEST

START_TEST(unknown)
{
	struct calls c = { .n = 0 };

	ck_assert_str_eq(dispatch(&c, "frob"), "err usage unknown verb 'frob'\n");
	ck_assert_str_eq(dispatch(&c, "frob x y"), "err usage unknown verb 'frob'\n");
	/* Escapes come back escaped: the reply stays one line. */
	ck_assert_str_eq(dispatch(&c, "a\\x0ab\\x20c\\\\"),
	                 "err usage unknown verb 'a\\x0ab\\x20c\\\\'\n");
	ck_assert_str_eq(dispatch(&c, "LIST"), "err usage unknown verb 'LIST'\n");
	/* First word of a two-word verb: both words named. */
	ck_assert_str_eq(dispatch(&c, "iface frob wg0"),
	                 "err usage unknown verb 'iface frob'\n");
	ck_assert_str_eq(dispatch(&c, "iface"), "err usage unknown verb 'iface'\n");
	ck_assert_int_eq(c.n, 0);
}
END_TEST

START_TEST(unknown_long)
{
	struct calls c = { .n = 0 };
	char line[LINE_MAX_LEN + 1];

	/* 1024 escaped bytes (4 KiB escaped) cannot be echoed but still get one
	 * short err line. */
	memset(line, 0, sizeof(line));
	for (int i = 0; i < 1024; i++)
		memcpy(line + 4 * i, "\\x01", 4);
	ck_assert_str_eq(dispatch(&c, line), "err usage unknown verb (too long to show)\n");
	ck_assert_int_eq(c.n, 0);
}
END_TEST

START_TEST(bad_lines)
{
	struct calls c = { .n = 0 };
	char *big = malloc(LINE_MAX_LEN + 2);
	struct line_reply r;

	ck_assert_str_eq(dispatch(&c, ""), "err usage empty line\n");
	ck_assert_str_eq(dispatch(&c, "   "), "err usage empty line\n");
	ck_assert_str_eq(dispatch(&c, "list \\q"), "err inval bad escape\n");
	ck_assert_str_eq(dispatch(&c, "list\ta"), "err inval control byte in line\n");
	memset(big, 'a', LINE_MAX_LEN + 1);
	big[LINE_MAX_LEN + 1] = '\0';
	verb_dispatch_line(table, &c, big, LINE_MAX_LEN + 1, &r);
	ck_assert_str_eq(line_reply_finish(&r), "err toolong line over 4096 bytes\n");
	ck_assert_int_eq(c.n, 0);
	/* argv form with no words */
	verb_dispatch(table, &c, 0, NULL, &r);
	ck_assert_str_eq(line_reply_finish(&r), "err usage no verb\n");
	free(big);
}
END_TEST

START_TEST(print_usage)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	verb_print_usage(table, f);
	fclose(f);
	ck_assert_str_eq(text, "  peer NAME\n  peer add NAME KEY [PORT]\n  list\n"
	                       "  fail THING\n  echo [WORD...]\n  iface del NAME\n");
	free(text);
}
END_TEST

static Suite *verb_suite(void)
{
	Suite *s = suite_create("verb");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, two_words_first);
	tcase_add_test(tc, counts);
	tcase_add_test(tc, unknown);
	tcase_add_test(tc, unknown_long);
	tcase_add_test(tc, bad_lines);
	tcase_add_test(tc, print_usage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(verb_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
