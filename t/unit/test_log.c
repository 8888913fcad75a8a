/* Logging: line format, level filter, one line per event, safe truncation. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"

static int pfd[2];

static void setup(void)
{
	ck_assert_int_eq(pipe2(pfd, O_NONBLOCK), 0);
	/* Big enough that no test's output blocks the writer. */
	fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
	log_init("x", LOG_LVL_INFO);
	log_set_fd(pfd[1]);
}

static void teardown(void)
{
	log_set_fd(2);
	close(pfd[0]);
	close(pfd[1]);
}

/* Everything written so far; the caller frees it. */
static char *drain(size_t *lenp)
{
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap + 1);
	ssize_t n;

	ck_assert_ptr_nonnull(out);
	while ((n = read(pfd[0], out + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			cap *= 2;
			out = realloc(out, cap + 1);
			ck_assert_ptr_nonnull(out);
		}
	}
	out[len] = '\0';
	if (lenp)
		*lenp = len;
	return out;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, text, 0, NULL, 0) == 0, "'%s' !~ /%s/", text, pattern);
	regfree(&re);
}

#define TS "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "

START_TEST(format)
{
	char *out;

	log_warnx("event=auth_failed peer_id=%s reason=%s", "abc", "bad_sig");
	out = drain(NULL);
	assert_matches(out, TS "level=warn prog=x event=auth_failed peer_id=abc reason=bad_sig\n$");
	free(out);
	log_errorx("a=%d", 1);
	log_info("b=%d", 2);
	out = drain(NULL);
	assert_matches(out, TS "level=error prog=x a=1\nts=[^ ]+ level=info prog=x b=2\n$");
	free(out);
}
END_TEST

START_TEST(warn_appends_strerror)
{
	char *out;

	errno = ENOENT;
	log_warn("event=open path=%s", "/nope");
	ck_assert_int_eq(errno, ENOENT);
	out = drain(NULL);
	assert_matches(out, TS "level=warn prog=x event=open path=/nope "
	                    "err=\"No such file or directory\"\n$");
	free(out);
}
END_TEST

START_TEST(level_filter)
{
	char *out;

	log_debug("hidden=1");
	log_info("shown=1");
	log_set_level(LOG_LVL_WARN);
	log_info("hidden=2");
	log_warnx("shown=2");
	log_errorx("shown=3");
	log_set_level(LOG_LVL_DEBUG);
	log_debug("shown=4");
	out = drain(NULL);
	ck_assert_ptr_null(strstr(out, "hidden"));
	ck_assert_ptr_nonnull(strstr(out, "level=info prog=x shown=1\n"));
	ck_assert_ptr_nonnull(strstr(out, "level=warn prog=x shown=2\n"));
	ck_assert_ptr_nonnull(strstr(out, "level=error prog=x shown=3\n"));
	ck_assert_ptr_nonnull(strstr(out, "level=debug prog=x shown=4\n"));
	ck_assert_uint_eq(count_lines(out), 4);
	free(out);
}
END_TEST

START_TEST(level_parse)
{
	ck_assert_int_eq(log_level_parse("error"), LOG_LVL_ERROR);
	ck_assert_int_eq(log_level_parse("warn"), LOG_LVL_WARN);
	ck_assert_int_eq(log_level_parse("info"), LOG_LVL_INFO);
	ck_assert_int_eq(log_level_parse("debug"), LOG_LVL_DEBUG);
	ck_assert_int_eq(log_level_parse("WARN"), -1);
	ck_assert_int_eq(log_level_parse("warning"), -1);
	ck_assert_int_eq(log_level_parse(""), -1);
	ck_assert_int_eq(log_level_parse(NULL), -1);
}
END_TEST

START_TEST(newline_injection)
{
	char *out;

	log_warnx("user=%s", "bob\nts=forged level=error\r\x1b[2J\t\x7f end");
	out = drain(NULL);
	ck_assert_uint_eq(count_lines(out), 1);
	assert_matches(out, TS "level=warn prog=x user=bob ts=forged level=error  \\[2J   end\n$");
	free(out);
}
END_TEST

START_TEST(long_message_truncated)
{
	size_t big = 3 * LOG_LINE_MAX, len;
	char *msg = malloc(big + 1), *out;

	memset(msg, 'A', big);
	msg[big] = '\0';
	errno = EPERM;
	log_warn("m=%s", msg);
	out = drain(&len);
	ck_assert_uint_eq(len, LOG_LINE_MAX);
	ck_assert_uint_eq(count_lines(out), 1);
	ck_assert_int_eq(out[len - 1], '\n');
	/* Truncation is marked and the err field survives it. */
	assert_matches(out, TS "level=warn prog=x m=A+\\.\\.\\. err=\"Operation not permitted\"\n$");
	free(out);
	/* A short message after a long one is not marked. */
	log_info("%s", "short");
	out = drain(NULL);
	ck_assert_ptr_null(strstr(out, "..."));
	free(out);
	free(msg);
}
END_TEST

/* Each child writes lines of one letter; any interleaving mixes letters. */
static void log_child(int fd, char letter)
{
	char msg[3000];
	int i;

	memset(msg, letter, sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	log_set_fd(fd);
	for (i = 0; i < 100; i++)
		log_info("c=%c m=%s", letter, msg);
	_exit(0);
}

static void check_line(const char *line, size_t len)
{
	const char *m = memmem(line, len, " c=", 3);
	size_t i;

	ck_assert_msg(len > 4 && strncmp(line, "ts=", 3) == 0, "bad line start");
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m[4], ' ');
	for (i = (size_t)(m - line) + 7; i < len && line[i] == m[3]; i++)
		;
	ck_assert_uint_eq(i, len);
	ck_assert_uint_eq(len - (size_t)(m - line) - 7, 2999);
}

START_TEST(concurrent_writers_do_not_interleave)
{
	int fds[2], i, status, lines = 0;
	size_t len = 0, cap = 8 << 20;
	char *buf = malloc(cap), *p, *nl;
	pid_t pids[4];
	ssize_t n;

	ck_assert_int_eq(pipe(fds), 0);
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0)
			log_child(fds[1], (char)('a' + i));
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + len, cap - len)) > 0)
		len += (size_t)n;
	close(fds[0]);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (p = buf; p < buf + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + len - p));
		ck_assert_ptr_nonnull(nl);
		check_line(p, (size_t)(nl - p));
		lines++;
	}
	ck_assert_int_eq(lines, 4 * 100);
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, format);
	tcase_add_test(tc, warn_appends_strerror);
	tcase_add_test(tc, level_filter);
	tcase_add_test(tc, level_parse);
	tcase_add_test(tc, newline_injection);
	tcase_add_test(tc, long_message_truncated);
	tcase_add_test(tc, concurrent_writers_do_not_interleave);
	/* Forking writers under ASan on a busy machine can take seconds. */
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
