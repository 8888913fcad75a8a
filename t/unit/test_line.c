/* Tests for lib/line.c: tokenizer edges, escape round trip, reply building
 * and parsing, and the incremental reader over every split of its input. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "line.h"

static char *argv_[LINE_MAX_ARGS + 2];
static const char *err_;

/* Splits a copy of s (which line_split edits in place). */
static int split(char *buf, size_t size, const char *s, size_t len)
{
	ck_assert_uint_lt(len, size);
	memcpy(buf, s, len);
	buf[len] = '\0';
	err_ = NULL;
	return line_split(buf, len, argv_, LINE_MAX_ARGS, &err_);
}

#define SPLIT(s) split(buf, sizeof(buf), (s), strlen(s))

START_TEST(split_spaces)
{
	char buf[128];

	ck_assert_int_eq(SPLIT("peer add  wg0   key"), 4);
	ck_assert_str_eq(argv_[0], "peer");
	ck_assert_str_eq(argv_[1], "add");
	ck_assert_str_eq(argv_[2], "wg0");
	ck_assert_str_eq(argv_[3], "key");
	ck_assert_int_eq(SPLIT("   list   "), 1);
	ck_assert_str_eq(argv_[0], "list");
	ck_assert_int_eq(SPLIT("a"), 1);
	ck_assert_str_eq(argv_[0], "a");
}
END_TEST

START_TEST(split_escapes)
{
	char buf[128];

	ck_assert_int_eq(SPLIT("x a\\x20b c\\\\d \\x41\\x7e\\xff"), 4);
	ck_assert_str_eq(argv_[1], "a b");
	ck_assert_str_eq(argv_[2], "c\\d");
	ck_assert_str_eq(argv_[3], "A~\xff");
	/* An escaped newline is a byte of the word, not a line end. */
	ck_assert_int_eq(SPLIT("x \\x0a\\x0D"), 2);
	ck_assert_str_eq(argv_[1], "\n\r");
	/* Bytes >= 0x80 (UTF-8) pass as they are. */
	ck_assert_int_eq(SPLIT("x h\xc3\xa9"), 2);
	ck_assert_str_eq(argv_[1], "h\xc3\xa9");
}
END_TEST

START_TEST(split_bad_escapes)
{
	static const char *bad[] = {
		"x \\x0", "x \\xZZ", "x \\x00", "x a\\", "x \\", "x \\n", "x \\x",
		"x \\x4", "x \\x4 1", "x \\ y", "x \\X41", "x \\xg1",
	};
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(SPLIT(bad[i]) == -EINVAL, "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(err_);
	}
}
END_TEST

START_TEST(split_control_bytes)
{
	char buf[128];
	int c;

	for (c = 0; c < 0x20; c++) {
		char line[8] = { 'a', ' ', 'b', (char)c, 'c' };

		ck_assert_int_eq(split(buf, sizeof(buf), line, 5), -EINVAL);
	}
	ck_assert_int_eq(SPLIT("a\tb"), -EINVAL); /* tab is not a separator */
	ck_assert_int_eq(SPLIT("a \x7f"), -EINVAL);
	/* A NUL inside the length is a control byte, not an end. */
	ck_assert_int_eq(split(buf, sizeof(buf), "ab\0cd", 5), -EINVAL);
}
END_TEST

START_TEST(split_length)
{
	static char buf[LINE_MAX_LEN + 8];
	char *line = malloc(LINE_MAX_LEN + 2);

	memset(line, 'a', LINE_MAX_LEN + 1);
	line[LINE_MAX_LEN + 1] = '\0';
	ck_assert_int_eq(split(buf, sizeof(buf), line, LINE_MAX_LEN), 1);
	ck_assert_uint_eq(strlen(argv_[0]), LINE_MAX_LEN);
	ck_assert_int_eq(split(buf, sizeof(buf), line, LINE_MAX_LEN + 1), -EMSGSIZE);
	ck_assert_str_eq(err_, "line too long");
	free(line);
}
END_TEST

START_TEST(split_words)
{
	char buf[LINE_MAX_LEN];
	char line[LINE_MAX_LEN];
	size_t len = 0;
	int i;

	for (i = 0; i < LINE_MAX_ARGS; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "w%d ", i);
	ck_assert_int_eq(split(buf, sizeof(buf), line, len), LINE_MAX_ARGS);
	ck_assert_str_eq(argv_[LINE_MAX_ARGS - 1], "w63");
	len += (size_t)snprintf(line + len, sizeof(line) - len, "one-more");
	ck_assert_int_eq(split(buf, sizeof(buf), line, len), -EMSGSIZE);
	ck_assert_str_eq(err_, "too many words");
	/* The caller's smaller argv bounds it too. */
	memcpy(buf, "a b c", 6);
	ck_assert_int_eq(line_split(buf, 5, argv_, 2, &err_), -EMSGSIZE);
	memcpy(buf, "a b", 4);
	ck_assert_int_eq(line_split(buf, 3, argv_, 2, &err_), 2);
}
END_TEST

START_TEST(split_empty)
{
	char buf[16];

	ck_assert_int_eq(SPLIT(""), -ENODATA);
	ck_assert_str_eq(err_, "empty line");
	ck_assert_int_eq(SPLIT("     "), -ENODATA);
}
END_TEST

START_TEST(escape_basic)
{
	char buf[32] = "pre ";

	ck_assert_int_eq(line_escape(buf, sizeof(buf), "a b\\c\n\x7f"), 0);
	ck_assert_str_eq(buf, "pre a\\x20b\\\\c\\x0a\\x7f");
	/* Overflow leaves buf as it was: no half word. */
	memcpy(buf, "abc", 4);
	ck_assert_int_eq(line_escape(buf, 8, "defgh"), -EMSGSIZE);
	ck_assert_str_eq(buf, "abc");
	ck_assert_int_eq(line_escape(buf, 8, "defg"), 0);
	ck_assert_str_eq(buf, "abcdefg");
	memcpy(buf, "abc", 4);
	ck_assert_int_eq(line_escape(buf, 8, "  "), -EMSGSIZE);
	ck_assert_str_eq(buf, "abc");
}
END_TEST

/* Random words (every byte but NUL) escape, join and split back equal. */
START_TEST(escape_round_trip)
{
	char words[8][40], line[LINE_MAX_LEN + 1];
	char *av[LINE_MAX_ARGS];
	const char *err;
	int round, i, n;

	srand(1234);
	for (round = 0; round < 2000; round++) {
		int nw = 1 + rand() % 8;

		line[0] = '\0';
		for (i = 0; i < nw; i++) {
			int len = 1 + rand() % 39, j;

			for (j = 0; j < len; j++)
				words[i][j] = (char)(1 + rand() % 255);
			words[i][len] = '\0';
			if (i) /* a raw separator, not an escaped space */
				memcpy(line + strlen(line), " ", 2);
			ck_assert_int_eq(line_escape(line, sizeof(line), words[i]), 0);
		}
		n = line_split(line, strlen(line), av, LINE_MAX_ARGS, &err);
		ck_assert_int_eq(n, nw);
		for (i = 0; i < nw; i++)
			ck_assert_str_eq(av[i], words[i]);
	}
}
END_TEST

START_TEST(reply_ok_kv)
{
	struct line_reply r;

	line_reply_ok(&r);
	ck_assert_str_eq(line_reply_finish(&r), "ok\n");
	ck_assert_int_eq(r.is_err, 0);
	line_reply_ok(&r);
	line_reply_kv(&r, "name", "wg0");
	line_reply_kvf(&r, "port", "%d", 51820);
	line_reply_kv(&r, "note", "a b\n");
	ck_assert_str_eq(line_reply_finish(&r), "ok name=wg0 port=51820 note=a\\x20b\\x0a\n");
	ck_assert_uint_eq(r.len, strlen(r.buf));
	/* finish twice is harmless */
	ck_assert_str_eq(line_reply_finish(&r), "ok name=wg0 port=51820 note=a\\x20b\\x0a\n");
}
END_TEST

START_TEST(reply_err)
{
	struct line_reply r;

	line_reply_ok(&r);
	line_reply_kv(&r, "a", "b");
	line_reply_err(&r, LINE_EINVAL, "bad key '%s'", "x\ny\\z");
	line_reply_kv(&r, "ignored", "yes");
	/* Free text keeps spaces and backslashes; control bytes are escaped. */
	ck_assert_str_eq(line_reply_finish(&r), "err inval bad key 'x\\x0ay\\z'\n");
	ck_assert_int_eq(r.is_err, 1);
	line_reply_err(&r, LINE_ESYS, "%s", "");
	ck_assert_str_eq(line_reply_finish(&r), "err system\n");
}
END_TEST

START_TEST(reply_overflow)
{
	struct line_reply r;
	char big[LINE_MAX_LEN];
	size_t fit;

	/* "ok k=" + value + "\n" exactly LINE_MAX_LEN bytes fits. */
	fit = LINE_MAX_LEN - strlen("ok k=") - 1;
	memset(big, 'v', fit);
	big[fit] = '\0';
	line_reply_ok(&r);
	line_reply_kv(&r, "k", big);
	line_reply_finish(&r);
	ck_assert_uint_eq(r.len, LINE_MAX_LEN);
	ck_assert_int_eq(r.buf[LINE_MAX_LEN - 1], '\n');
	ck_assert_int_eq(r.is_err, 0);
	/* One byte more does not. */
	big[fit] = 'v';
	big[fit + 1] = '\0';
	line_reply_ok(&r);
	line_reply_kv(&r, "k", big);
	ck_assert_str_eq(line_reply_finish(&r), "err toolong reply too long\n");
	ck_assert_int_eq(r.is_err, 1);
	/* Many small pairs overflow too; later pairs do not undo it. */
	line_reply_ok(&r);
	for (fit = 0; fit < 1000; fit++)
		line_reply_kvf(&r, "key", "%zu", fit);
	ck_assert_str_eq(line_reply_finish(&r), "err toolong reply too long\n");
	/* A long err message as well. */
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	line_reply_err(&r, LINE_EINVAL, "%s", big);
	ck_assert_str_eq(line_reply_finish(&r), "err toolong reply too long\n");
	/* Escaping can overflow a value that fits raw. */
	memset(big, '\n', 1100);
	big[1100] = '\0';
	line_reply_ok(&r);
	line_reply_kv(&r, "k", big);
	ck_assert_str_eq(line_reply_finish(&r), "err toolong reply too long\n");
}
END_TEST

START_TEST(reply_parse)
{
	char code[16], msg[64];

	ck_assert_int_eq(line_reply_parse("ok\n", code, sizeof(code), msg, sizeof(msg)), 1);
	ck_assert_int_eq(line_reply_parse("ok", NULL, 0, NULL, 0), 1);
	ck_assert_int_eq(line_reply_parse("ok a=b c=d", NULL, 0, NULL, 0), 1);
	ck_assert_int_eq(line_reply_parse("err usage unknown verb 'x'\n", code,
	                                  sizeof(code), msg, sizeof(msg)), 0);
	ck_assert_str_eq(code, "usage");
	ck_assert_str_eq(msg, "unknown verb 'x'");
	ck_assert_int_eq(line_reply_parse("err system\r\n", code, sizeof(code),
	                                  msg, sizeof(msg)), 0);
	ck_assert_str_eq(code, "system");
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(line_reply_parse("err inval x", NULL, 0, NULL, 0), 0);
	/* Truncated copies stay terminated. */
	ck_assert_int_eq(line_reply_parse("err verylongcodeword m", code, 5, msg, 2), 0);
	ck_assert_str_eq(code, "very");
	ck_assert_str_eq(msg, "m");
	ck_assert_int_eq(line_reply_parse("okay", NULL, 0, NULL, 0), -EPROTO);
	ck_assert_int_eq(line_reply_parse("err", NULL, 0, NULL, 0), -EPROTO);
	ck_assert_int_eq(line_reply_parse("err ", NULL, 0, NULL, 0), -EPROTO);
	ck_assert_int_eq(line_reply_parse("err  x", NULL, 0, NULL, 0), -EPROTO);
	ck_assert_int_eq(line_reply_parse("", NULL, 0, NULL, 0), -EPROTO);
	ck_assert_int_eq(line_reply_parse("hello", NULL, 0, NULL, 0), -EPROTO);
	ck_assert_int_eq(line_reply_parse("\nok", NULL, 0, NULL, 0), -EPROTO);
}
END_TEST

/* What the reader gave back, joined as "<line>|" and "<TOOLONG>|". */
struct seen {
	char text[3 * LINE_MAX_LEN];
	size_t len;
	int calls;
	int stop_after;
};

static int seen_cb(void *arg, char *line, size_t len)
{
	struct seen *s = arg;
	const char *p = line ? line : "<TOOLONG>";
	size_t n = line ? len : strlen(p);

	ck_assert(!line || strlen(line) == len);
	ck_assert_uint_lt(s->len + n + 1, sizeof(s->text));
	memcpy(s->text + s->len, p, n);
	s->len += n;
	s->text[s->len++] = '|';
	s->text[s->len] = '\0';
	s->calls++;
	return s->stop_after && s->calls == s->stop_after ? 7 : 0;
}

START_TEST(reader_every_split)
{
	static const char in[] = "add 10.0.0.1\nlist\r\n\n  del x \nlast\n";
	static const char want[] = "add 10.0.0.1|list||  del x |last|";
	size_t a, b, n = sizeof(in) - 1;

	/* Three chunks, cut at every pair of offsets. */
	for (a = 0; a <= n; a++)
		for (b = a; b <= n; b++) {
			struct line_reader lr;
			struct seen s = { .len = 0 };

			line_reader_init(&lr);
			ck_assert_int_eq(line_reader_feed(&lr, in, a, seen_cb, &s), 0);
			ck_assert_int_eq(line_reader_feed(&lr, in + a, b - a, seen_cb, &s), 0);
			ck_assert_int_eq(line_reader_feed(&lr, in + b, n - b, seen_cb, &s), 0);
			ck_assert_str_eq(s.text, want);
		}
}
END_TEST

START_TEST(reader_overlong)
{
	static char in[3 * LINE_MAX_LEN];
	size_t n = 0, step, i;

	/* A 4096-byte line passes, 4097 is too long, then a good line. */
	memset(in, 'a', LINE_MAX_LEN);
	n = LINE_MAX_LEN;
	in[n++] = '\n';
	memset(in + n, 'b', LINE_MAX_LEN + 1);
	n += LINE_MAX_LEN + 1;
	memcpy(in + n, "\nok\n", 4);
	n += 4;
	for (step = 1; step <= n; step = step < 64 ? step + 1 : step * 3) {
		struct line_reader lr;
		struct seen s = { .len = 0 };

		line_reader_init(&lr);
		for (i = 0; i < n; i += step)
			line_reader_feed(&lr, in + i, n - i < step ? n - i : step, seen_cb, &s);
		ck_assert_int_eq(s.calls, 3);
		ck_assert_uint_eq(s.len, LINE_MAX_LEN + strlen("|<TOOLONG>|ok|"));
		ck_assert_str_eq(s.text + LINE_MAX_LEN, "|<TOOLONG>|ok|");
	}
}
END_TEST

START_TEST(reader_overlong_no_newline_yet)
{
	static char in[2 * LINE_MAX_LEN];
	struct line_reader lr;
	struct seen s = { .len = 0 };

	/* Reported once as soon as it is too long, however much more comes. */
	memset(in, 'x', sizeof(in));
	line_reader_init(&lr);
	line_reader_feed(&lr, in, sizeof(in), seen_cb, &s);
	line_reader_feed(&lr, in, sizeof(in), seen_cb, &s);
	ck_assert_str_eq(s.text, "<TOOLONG>|");
	line_reader_feed(&lr, "tail\nnext\n", 10, seen_cb, &s);
	ck_assert_str_eq(s.text, "<TOOLONG>|next|");
}
END_TEST

START_TEST(reader_stop)
{
	struct line_reader lr;
	struct seen s = { .len = 0, .stop_after = 2 };

	line_reader_init(&lr);
	ck_assert_int_eq(line_reader_feed(&lr, "a\nb\nc\n", 6, seen_cb, &s), 7);
	ck_assert_str_eq(s.text, "a|b|");
	s.stop_after = 0;
	ck_assert_int_eq(line_reader_feed(&lr, "d\n", 2, seen_cb, &s), 0);
	ck_assert_str_eq(s.text, "a|b|d|");
}
END_TEST

START_TEST(reply_value)
{
	char v[8];

	ck_assert_int_eq(line_reply_value("ok pubkey=abc port=51820", "port", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "51820");
	ck_assert_int_eq(line_reply_value("ok pubkey=abc port=1", "pubkey", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "abc");
	/* a word, not a substring: "xport=" is not "port=" */
	ck_assert_int_eq(line_reply_value("ok xport=1", "port", v, sizeof(v)), -ENOENT);
	/* the first word is the status, never a key */
	ck_assert_int_eq(line_reply_value("port=1 a=b", "port", v, sizeof(v)), -ENOENT);
	/* escaped values come back unescaped; too long for out is absent */
	ck_assert_int_eq(line_reply_value("ok msg=a\\x20b", "msg", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "a b");
	ck_assert_int_eq(line_reply_value("ok k=12345678", "k", v, sizeof(v)), -ENOENT);
	ck_assert_int_eq(line_reply_value("ok k=", "k", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "");
}
END_TEST

static Suite *line_suite(void)
{
	Suite *s = suite_create("line");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, reply_value);
	tcase_add_test(tc, split_spaces);
	tcase_add_test(tc, split_escapes);
	tcase_add_test(tc, split_bad_escapes);
	tcase_add_test(tc, split_control_bytes);
	tcase_add_test(tc, split_length);
	tcase_add_test(tc, split_words);
	tcase_add_test(tc, split_empty);
	tcase_add_test(tc, escape_basic);
	tcase_add_test(tc, escape_round_trip);
	tcase_add_test(tc, reply_ok_kv);
	tcase_add_test(tc, reply_err);
	tcase_add_test(tc, reply_overflow);
	tcase_add_test(tc, reply_parse);
	tcase_add_test(tc, reader_every_split);
	tcase_add_test(tc, reader_overlong);
	tcase_add_test(tc, reader_overlong_no_newline_yet);
	tcase_add_test(tc, reader_stop);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(line_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
