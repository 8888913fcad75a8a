/* Tests for lib/daemon.c: flag combinations and their errors, reading the
 * config file (missing default vs explicit) then -o in order, numeric socket
 * addresses, creating a file's parent directory, socket modes, the -s
 * request. main()'s plumbing is in test_daemon_setup.c. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "daemon.h"
#include "line.h"
#include "daemon_args.h"

static int parse_argv(char **words)
{
	int argc;
	char **argv = argv_of(words, &argc);

	return daemon_parse_flags(argc, argv, DEF_CONF, &f, err, sizeof(err));
}

#define PARSE(...) parse_argv((char *[]){ __VA_ARGS__, NULL })

START_TEST(flags_none)
{
	ck_assert_int_eq(parse_argv((char *[]){ NULL }), 0);
	ck_assert_str_eq(f.conf, DEF_CONF);
	ck_assert_int_eq(f.conf_explicit, 0);
	ck_assert_int_eq(f.foreground + f.check + f.verbose + f.help + f.print_key, 0);
	ck_assert_ptr_null(f.client);
	ck_assert_int_eq(f.noverrides, 0);
	ck_assert_int_eq(f.nwords, 0);
}
END_TEST

START_TEST(flags_all)
{
	ck_assert_int_eq(PARSE("-dnv", "-k", "-c", "/tmp/x.conf", "-o", "a=1"), 0);
	ck_assert_str_eq(f.conf, "/tmp/x.conf");
	ck_assert_int_eq(f.conf_explicit, 1);
	ck_assert_int_eq(f.foreground, 1);
	ck_assert_int_eq(f.check, 1);
	ck_assert_int_eq(f.verbose, 1);
	ck_assert_int_eq(f.print_key, 1);
	ck_assert_int_eq(f.help, 0);
	ck_assert_int_eq(f.noverrides, 1);
	ck_assert_str_eq(f.overrides[0], "a=1");
	/* Glued arguments work as getopt allows. */
	ck_assert_int_eq(PARSE("-c/tmp/y.conf", "-ob=2"), 0);
	ck_assert_str_eq(f.conf, "/tmp/y.conf");
	ck_assert_str_eq(f.overrides[0], "b=2");
	/* A second call starts from a clean struct and a reset getopt. */
	ck_assert_int_eq(PARSE("-v"), 0);
	ck_assert_int_eq(f.foreground, 0);
	ck_assert_int_eq(f.verbose, 1);
	ck_assert_str_eq(f.conf, DEF_CONF);
}
END_TEST

START_TEST(flags_client_words)
{
	ck_assert_int_eq(PARSE("-o", "x=1", "-s", "-", "status"), 0);
	ck_assert_str_eq(f.client, "-");
	ck_assert_int_eq(f.nwords, 1);
	ck_assert_str_eq(f.words[0], "status");
	/* '+': flags stop at the first word, so words may look like flags. */
	ck_assert_int_eq(PARSE("-s", "/run/x.sock", "peer", "-v", "del"), 0);
	ck_assert_int_eq(f.verbose, 0);
	ck_assert_int_eq(f.nwords, 3);
	ck_assert_str_eq(f.words[1], "-v");
	ck_assert_str_eq(f.words[2], "del");
}
END_TEST

START_TEST(flags_errors)
{
	ck_assert_int_eq(PARSE("-x"), EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "-x"));
	ck_assert_int_eq(PARSE("-c"), EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "argument"));
	ck_assert_int_eq(PARSE("-d", "-o"), EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "-o"));
	ck_assert_int_eq(PARSE("status"), EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "status"));
	ck_assert_int_eq(PARSE("-s", "-"), EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "-s"));
}
END_TEST

START_TEST(flags_help)
{
	ck_assert_int_eq(PARSE("-h"), 0);
	ck_assert_int_eq(f.help, 1);
	/* -h wins over word checks: main prints usage and exits 0. */
	ck_assert_int_eq(PARSE("-h", "stray"), 0);
	ck_assert_int_eq(f.help, 1);
}
END_TEST

START_TEST(flags_override_limit)
{
	static char *argv[DAEMON_MAX_OVERRIDES * 2 + 8];
	int i;

	for (i = 0; i < DAEMON_MAX_OVERRIDES; i++) {
		argv[2 * i] = (char *)"-o";
		argv[2 * i + 1] = (char *)"k=v";
	}
	argv[2 * i] = NULL;
	ck_assert_int_eq(parse_argv(argv), 0);
	ck_assert_int_eq(f.noverrides, DAEMON_MAX_OVERRIDES);
	argv[2 * i] = (char *)"-o";
	argv[2 * i + 1] = (char *)"k=v";
	argv[2 * i + 2] = NULL;
	ck_assert_int_eq(parse_argv(argv), EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "too many"));
}
END_TEST


/* Writes text into a fresh temp file; its path goes into path. */
static void write_conf(char *path, size_t size, const char *text)
{
	FILE *fp;
	int fd;

	snprintf(path, size, "/tmp/test_daemon_XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

START_TEST(config_missing)
{
	struct config c;

	ck_assert_int_eq(config_init(&c, keys), 0);
	/* The default file may be absent: defaults and -o apply. */
	ck_assert_int_eq(PARSE("-o", "port=1"), 0);
	ck_assert_int_eq(daemon_read_config(&c, &f, err, sizeof(err)), 0);
	ck_assert_int_eq(config_get_int(&c, "port"), 1);
	/* A file named with -c must exist. */
	ck_assert_int_eq(PARSE("-c", "/nonexistent/x.conf"), 0);
	ck_assert_int_eq(daemon_read_config(&c, &f, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.conf"));
	config_release(&c);
}
END_TEST

START_TEST(config_overrides_order)
{
	char path[64];
	struct config c;

	write_conf(path, sizeof(path), "name = fromfile\nport = 10\n");
	ck_assert_int_eq(config_init(&c, keys), 0);
	ck_assert_int_eq(PARSE("-c", path, "-o", "port=20", "-o", "port=30"), 0);
	ck_assert_int_eq(daemon_read_config(&c, &f, err, sizeof(err)), 0);
	ck_assert_str_eq(config_get(&c, "name"), "fromfile");
	/* -o beats the file, and the last -o wins. */
	ck_assert_int_eq(config_get_int(&c, "port"), 30);
	/* A bad -o is an error naming it; the good ones before it applied. */
	ck_assert_int_eq(PARSE("-c", path, "-o", "port=40", "-o", "nokey=1"), 0);
	ck_assert_int_lt(daemon_read_config(&c, &f, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "nokey"));
	ck_assert_int_eq(config_get_int(&c, "port"), 40);
	config_release(&c);
	unlink(path);
}
END_TEST

START_TEST(config_bad_file)
{
	char path[64];
	struct config c;

	write_conf(path, sizeof(path), "name = a\nport = 99999\n");
	ck_assert_int_eq(config_init(&c, keys), 0);
	ck_assert_int_eq(PARSE("-c", path, "-o", "port=5"), 0);
	ck_assert_int_eq(daemon_read_config(&c, &f, err, sizeof(err)), -EINVAL);
	/* "<file>:2: ..." and no override applied after a bad file. */
	ck_assert_ptr_nonnull(strstr(err, ":2:"));
	ck_assert_int_eq(config_get_int(&c, "port"), 7000);
	config_release(&c);
	unlink(path);
}
END_TEST

START_TEST(sockaddr_edges)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	ck_assert_int_eq(daemon_parse_sockaddr("127.0.0.1:7000", &ss), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_int_eq(ntohs(in->sin_port), 7000);
	ck_assert_uint_eq(ntohl(in->sin_addr.s_addr), 0x7f000001);
	ck_assert_int_eq(daemon_parse_sockaddr("0.0.0.0:65535", &ss), 0);
	ck_assert_int_eq(ntohs(in->sin_port), 65535);
	ck_assert_int_eq(daemon_parse_sockaddr("[::1]:1", &ss), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_int_eq(ntohs(in6->sin6_port), 1);
	ck_assert_int_eq(in6->sin6_addr.s6_addr[15], 1);
	ck_assert_int_eq(daemon_parse_sockaddr("[fd00::5]:51820", &ss), 0);
	ck_assert_int_eq(ntohs(in6->sin6_port), 51820);

	/* No DNS: names are config_parse_addr-valid but not sockaddrs. */
	ck_assert_int_eq(daemon_parse_sockaddr("localhost:7000", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("1.2.3:80", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("256.1.1.1:80", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("1.2.3.4", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("1.2.3.4:", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("1.2.3.4:0", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("1.2.3.4:65536", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("1.2.3.4:80x", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("::1:80", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("[::1]80", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("[1.2.3.4]:80", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("[]:80", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr(":80", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr("", &ss), -EINVAL);
	ck_assert_int_eq(daemon_parse_sockaddr(NULL, &ss), -EINVAL);
}
END_TEST

START_TEST(mkdir_parent)
{
	char base[] = "/tmp/test_daemon_dir_XXXXXX", path[256], dir[256];
	struct stat st;
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(path, sizeof(path), "%s/a/b/file.db", base);
	ck_assert_int_eq(daemon_mkdir_parent(path), 0);
	snprintf(dir, sizeof(dir), "%s/a/b", base);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	/* The file itself is not created; a second call is fine. */
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(daemon_mkdir_parent(path), 0);
	/* A plain name or a file in / needs nothing. */
	ck_assert_int_eq(daemon_mkdir_parent("file.db"), 0);
	ck_assert_int_eq(daemon_mkdir_parent("/file.db"), 0);
	ck_assert_int_eq(daemon_mkdir_parent(""), -EINVAL);
	/* A file where a directory should be. */
	snprintf(path, sizeof(path), "%s/a/b/file.db/x", base);
	snprintf(dir, sizeof(dir), "%s/a/b/file.db", base);
	fp = fopen(dir, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	ck_assert_int_eq(daemon_mkdir_parent(path), -ENOTDIR);
	unlink(dir);
	snprintf(dir, sizeof(dir), "%s/a/b", base);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/a", base);
	rmdir(dir);
	rmdir(base);
}
END_TEST

START_TEST(mode_text)
{
	mode_t m = 1;

	ck_assert_int_eq(daemon_parse_mode("0660", &m), 0);
	ck_assert_uint_eq(m, 0660);
	ck_assert_int_eq(daemon_parse_mode("600", &m), 0);
	ck_assert_uint_eq(m, 0600);
	ck_assert_int_eq(daemon_parse_mode("0", &m), 0);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(daemon_parse_mode("0777", &m), 0);
	ck_assert_uint_eq(m, 0777);
	m = 0640;
	ck_assert_int_eq(daemon_parse_mode("01000", &m), -EINVAL);
	ck_assert_int_eq(daemon_parse_mode("0680", &m), -EINVAL);
	ck_assert_int_eq(daemon_parse_mode("", &m), -EINVAL);
	ck_assert_int_eq(daemon_parse_mode(" 660", &m), -EINVAL);
	ck_assert_int_eq(daemon_parse_mode("+660", &m), -EINVAL);
	ck_assert_int_eq(daemon_parse_mode("660 ", &m), -EINVAL);
	ck_assert_int_eq(daemon_parse_mode("99999999999999999999999", &m), -EINVAL);
	/* Nothing written on error. */
	ck_assert_uint_eq(m, 0640);
}
END_TEST

/* A one-shot admin socket: reads one request line, answers `answer`. */
struct one_shot {
	int fd;
	const char *answer;
	char got[LINE_MAX_LEN + 1];
};

static void *one_shot_serve(void *arg)
{
	struct one_shot *o = arg;
	size_t n = 0;
	ssize_t r;
	int c = accept(o->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	while (n < sizeof(o->got) - 1 && (r = read(c, o->got + n, 1)) == 1 && o->got[n] != '\n')
		n++;
	o->got[n] = '\0';
	if (write(c, o->answer, strlen(o->answer)) < 0)
		o->got[0] = '\0';
	close(c);
	return NULL;
}

static int client_against(const char *answer, int argc, char **argv, char *got,
                          char *out, size_t out_size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct one_shot o = { .answer = answer };
	char dir[] = "/tmp/test_daemon_sock_XXXXXX";
	pthread_t th;
	int rc;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/admin.sock", dir);
	o.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(o.fd, 0);
	ck_assert_int_eq(bind(o.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(o.fd, 1), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, one_shot_serve, &o), 0);
	rc = daemon_client("testd", sa.sun_path, argc, argv, 5000, out, out_size);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	close(o.fd);
	unlink(sa.sun_path);
	rmdir(dir);
	snprintf(got, LINE_MAX_LEN + 1, "%s", o.got);
	return rc;
}

START_TEST(client_request)
{
	char *words[] = { "peer", "add", "a b\\c" };
	char got[LINE_MAX_LEN + 1], out[LINE_MAX_LEN + 1];

	/* One line: words escaped, the spaces between them not. */
	ck_assert_int_eq(client_against("ok n=1\n", 3, words, got, out, sizeof(out)), 0);
	ck_assert_str_eq(got, "peer add a\\x20b\\\\c");
	ck_assert_str_eq(out, "ok n=1");
	ck_assert_int_eq(client_against("err usage nope\n", 1, words, got, out, sizeof(out)),
	                 EXIT_ERR);
	ck_assert_str_eq(got, "peer");
	ck_assert_str_eq(out, "err usage nope");
	/* Neither ok nor err is not a success either. */
	ck_assert_int_eq(client_against("what\n", 1, words, got, out, sizeof(out)), EXIT_ERR);
	ck_assert_str_eq(out, "what");
}
END_TEST

START_TEST(client_failures)
{
	static char big[LINE_MAX_LEN];
	char *words[] = { "x", big };
	char out[256];

	/* 4095 bytes fit: the newline is the line's last byte. */
	memset(big, 'a', LINE_MAX_LEN - 3);
	ck_assert_int_eq(daemon_client("testd", "/nonexistent/admin.sock", 2, words, 1000, out,
	                               sizeof(out)), EXIT_TEMP);
	ck_assert_str_eq(out, "testd: /nonexistent/admin.sock: No such file or directory");
	memset(big, 'a', LINE_MAX_LEN - 2);
	ck_assert_int_eq(daemon_client("testd", "/nonexistent/admin.sock", 2, words, 1000, out,
	                               sizeof(out)), EXIT_USAGE);
	ck_assert_str_eq(out, "testd: request longer than 4095 bytes");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, flags_none);
	tcase_add_test(tc, flags_all);
	tcase_add_test(tc, flags_client_words);
	tcase_add_test(tc, flags_errors);
	tcase_add_test(tc, flags_help);
	tcase_add_test(tc, flags_override_limit);
	tcase_add_test(tc, config_missing);
	tcase_add_test(tc, config_overrides_order);
	tcase_add_test(tc, config_bad_file);
	tcase_add_test(tc, sockaddr_edges);
	tcase_add_test(tc, mkdir_parent);
	tcase_add_test(tc, mode_text);
	tcase_add_test(tc, client_request);
	tcase_add_test(tc, client_failures);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
