/* Tests for lib/daemon.c's main() plumbing: the key file and its exit codes,
 * signals, daemon_setup (flags, signals, config, exit codes) and
 * daemon_oneshot (-k, -s). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "daemon.h"
#include "line.h"
#include "daemon_args.h"

START_TEST(identity_file)
{
	char base[] = "/tmp/test_daemon_key_XXXXXX", dir[128], path[256];
	struct identity a, b;

	ck_assert_int_eq(keys_init(), 0);
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/keys", base);
	snprintf(path, sizeof(path), "%s/id.key", dir);
	/* The directory is made, the key created, then loaded the same. */
	ck_assert_int_eq(daemon_load_identity(&a, path), 0);
	ck_assert_int_eq(daemon_load_identity(&b, path), 0);
	ck_assert_mem_eq(a.pk, b.pk, ID_PK_LEN);
	identity_release(&a);
	identity_release(&b);
	/* A key others may read is the operator's error, not a retry. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(daemon_load_identity(&a, path), -EACCES);
	ck_assert_int_eq(daemon_key_exit(-EACCES), EXIT_USAGE);
	unlink(path);
	rmdir(dir);
	/* A file where the directory should be. */
	ck_assert_int_eq(close(open(dir, O_CREAT | O_WRONLY, 0600)), 0);
	ck_assert_int_eq(daemon_load_identity(&a, path), -ENOTDIR);
	unlink(dir);
	rmdir(base);
}
END_TEST

START_TEST(key_exit_codes)
{
	ck_assert_int_eq(daemon_key_exit(-EACCES), EXIT_USAGE);
	ck_assert_int_eq(daemon_key_exit(-EINVAL), EXIT_USAGE);
	ck_assert_int_eq(daemon_key_exit(-ENOENT), EXIT_TEMP);
	ck_assert_int_eq(daemon_key_exit(-EIO), EXIT_TEMP);
	ck_assert_int_eq(daemon_key_exit(-ENOSPC), EXIT_TEMP);
}
END_TEST

static int got[2];

static void on_sig(uv_signal_t *h, int signum)
{
	got[h->data == &got[0] ? 0 : 1] = signum;
}

START_TEST(signals_started)
{
	static const int signums[2] = { SIGUSR1, SIGUSR2 };
	uv_signal_t sigs[2];
	uv_loop_t loop;
	uint64_t end;

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(daemon_signals(&loop, sigs, signums, 2, on_sig), 0);
	sigs[0].data = &got[0];
	sigs[1].data = &got[1];
	ck_assert_int_eq(raise(SIGUSR2), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	end = uv_hrtime() + 5000000000ULL;
	while ((!got[0] || !got[1]) && uv_hrtime() < end)
		uv_run(&loop, UV_RUN_NOWAIT);
	ck_assert_int_eq(got[0], SIGUSR1);
	ck_assert_int_eq(got[1], SIGUSR2);
	uv_close((uv_handle_t *)&sigs[0], NULL);
	uv_close((uv_handle_t *)&sigs[1], NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* daemon_setup and daemon_oneshot: what main does before its own work. */
static int setup_argv(const struct daemon_spec *spec, struct config *c, char **words)
{
	int argc;
	char **argv = argv_of(words, &argc);

	snprintf(err, sizeof(err), "stale");
	return daemon_setup(argc, argv, spec, &f, c, err, sizeof(err));
}

#define SETUP(spec, c, ...) setup_argv(spec, c, (char *[]){ __VA_ARGS__, NULL })

START_TEST(setup_flags_signals_config)
{
	struct daemon_spec spec = { .default_conf = DEF_CONF, .keys = keys, .hup_reloads = 1 };
	struct config c;

	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	ck_assert_int_eq(SETUP(&spec, &c, "-o", "port=5"), DAEMON_GO);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(f.usage, 0);
	ck_assert_int_eq(config_get_int(&c, "port"), 5);
	config_release(&c);
	ck_assert(signal(SIGPIPE, SIG_DFL) == SIG_IGN);
	/* A program that reloads on SIGHUP keeps it; the others ignore it. */
	ck_assert(signal(SIGHUP, SIG_DFL) == SIG_DFL);
	spec.hup_reloads = 0;
	ck_assert_int_eq(SETUP(&spec, &c, "-n"), DAEMON_GO);
	config_release(&c);
	ck_assert(signal(SIGHUP, SIG_DFL) == SIG_IGN);
}
END_TEST

START_TEST(setup_exit_codes)
{
	struct daemon_spec spec = { .default_conf = DEF_CONF, .keys = keys };
	struct config c;

	ck_assert_int_eq(SETUP(&spec, &c, "-h"), 0);
	ck_assert_int_eq(f.usage, DAEMON_USAGE_FULL);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(SETUP(&spec, &c, "-Z"), EXIT_USAGE);
	ck_assert_str_eq(err, "unknown option -Z");
	ck_assert_int_eq(SETUP(&spec, &c, "ctl", "status"), EXIT_USAGE);
	ck_assert_int_eq(f.usage, DAEMON_USAGE_SHORT);
	/* Words without -s after the program's verb. */
	spec.verb = "ctl";
	ck_assert_int_eq(SETUP(&spec, &c, "ctl", "status"), DAEMON_GO);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(f.nwords, 2);
	config_release(&c);
	/* A config error: no usage, the reason, c already released. */
	ck_assert_int_eq(SETUP(&spec, &c, "-o", "nokey=1"), EXIT_USAGE);
	ck_assert_int_eq(f.usage, 0);
	ck_assert_ptr_nonnull(strstr(err, "nokey"));
}
END_TEST

START_TEST(oneshot_key_and_request)
{
	struct daemon_spec spec = { .default_conf = DEF_CONF, .keys = keys };
	char base[] = "/tmp/test_daemon_os_XXXXXX", kf[128], opt[160], out[LINE_MAX_LEN + 1];
	char b64[KEY_B64_LEN];
	struct identity id;
	struct config c;

	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(kf, sizeof(kf), "%s/id.key", base);
	snprintf(opt, sizeof(opt), "key_file=%s", kf);
	/* -k makes the key, then prints that key. */
	ck_assert_int_eq(SETUP(&spec, &c, "-k", "-o", opt), DAEMON_GO);
	ck_assert_int_eq(daemon_oneshot("testd", &f, &c, 1000, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), KEY_B64_LEN - 1);
	memcpy(b64, out, sizeof(b64)); /* the length checked above */
	ck_assert_int_eq(daemon_oneshot("testd", &f, &c, 1000, out, sizeof(out)), 0);
	ck_assert_str_eq(out, b64);
	/* A key others may read: the operator's error, said as key_failed. */
	ck_assert_int_eq(chmod(kf, 0644), 0);
	ck_assert_int_eq(daemon_oneshot("testd", &f, &c, 1000, out, sizeof(out)), EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(out, "testd: event=key_failed path="));
	ck_assert_ptr_nonnull(strstr(out, " hint=\"must be ours, mode 0600\""));
	ck_assert_int_eq(daemon_identity(&id, "/dev/null/key", err, sizeof(err)), EXIT_TEMP);
	ck_assert_ptr_nonnull(strstr(err, "event=key_failed path=/dev/null/key err=\""));
	config_release(&c);
	/* -s -: the configured admin socket, which is not there. */
	ck_assert_int_eq(SETUP(&spec, &c, "-s", "-", "status"), DAEMON_GO);
	ck_assert_int_eq(daemon_oneshot("testd", &f, &c, 1000, out, sizeof(out)), EXIT_TEMP);
	ck_assert_ptr_nonnull(strstr(out, "testd: /nonexistent/supermesh/admin.sock: "));
	config_release(&c);
	unlink(kf);
	rmdir(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon_setup");
	TCase *tc = tcase_create("setup");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, identity_file);
	tcase_add_test(tc, key_exit_codes);
	tcase_add_test(tc, signals_started);
	tcase_add_test(tc, setup_flags_signals_config);
	tcase_add_test(tc, setup_exit_codes);
	tcase_add_test(tc, oneshot_key_and_request);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
