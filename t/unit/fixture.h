/* Helpers shared by the unit tests: running a suite, counting open fds
 * (leak checks) and, for libuv tests, starting and finishing the loop, a ms
 * clock, polling the loop until a condition holds (with a deadline, never a
 * bare sleep), running it for a while, a listener on 127.0.0.1 and a mute
 * one. The loop helpers need FIXTURE_LOOP and
 * FIXTURE_GUARD (the test's uv_loop_t * and an initialised uv_timer_t *)
 * defined before including. Static inline, so a test need not use them all. */
#ifndef T_FIXTURE_H
#define T_FIXTURE_H

#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <uv.h>

/* A test binary's main: runs s; 0 when every test passed, else 1. */
static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

/* Descriptors this process holds (the one reading them included). */
static inline int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#ifdef FIXTURE_LOOP

static inline void on_guard(uv_timer_t *t)
{
	(void)t;
}

/* The test's loop and its guard timer. */
static inline void loop_start(void)
{
	ck_assert_int_eq(uv_loop_init(FIXTURE_LOOP), 0);
	ck_assert_int_eq(uv_timer_init(FIXTURE_LOOP, FIXTURE_GUARD), 0);
}

/* Closes h unless it was never initialised or is closing already. */
static inline void close_if(uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h))
		uv_close(h, NULL);
}

/* Closes the guard, runs the loop until its handles are gone, and fails
 * the test if any is left (a leaked handle). */
static inline void loop_finish(void)
{
	close_if((uv_handle_t *)FIXTURE_GUARD);
	uv_run(FIXTURE_LOOP, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(FIXTURE_LOOP), 0);
}

static inline uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* Deadlines only bound a wait, so they may be generous: t/run.sh sets
 * SM_TEST_SLOW (a factor, 1..50) under valgrind, which runs ~20x slower. */
static inline uint64_t fixture_slow(void)
{
	const char *v = getenv("SM_TEST_SLOW");
	long f = v ? strtol(v, NULL, 10) : 1;

	return f >= 1 && f <= 50 ? (uint64_t)f : 1;
}

/* Polls cond with a deadline; the guard timer keeps UV_RUN_ONCE from blocking. */
#define RUN_UNTIL(cond, ms) do { \
	uint64_t end_ = now_ms() + (uint64_t)(ms) * fixture_slow(); \
	uv_timer_start(FIXTURE_GUARD, on_guard, 5, 5); \
	while (!(cond) && now_ms() < end_) \
		uv_run(FIXTURE_LOOP, UV_RUN_ONCE); \
	uv_timer_stop(FIXTURE_GUARD); \
	ck_assert_msg(cond, "timed out waiting for: " #cond); \
} while (0)

/* Runs the loop for ms: the time over which behaviour is observed, or to
 * show that nothing more happens. */
static inline void run_for(uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	uv_timer_start(FIXTURE_GUARD, on_guard, 5, 5);
	while (now_ms() < end)
		uv_run(FIXTURE_LOOP, UV_RUN_ONCE);
	uv_timer_stop(FIXTURE_GUARD);
}

/* Listens on 127.0.0.1:port (0: the kernel picks) and says where in *out. */
static inline void listen_on(uv_tcp_t *l, uint16_t port, struct sockaddr_in *out,
                             uv_connection_cb cb)
{
	struct sockaddr_in a;
	int len = (int)sizeof(*out);

	ck_assert_int_eq(uv_ip4_addr("127.0.0.1", port, &a), 0);
	ck_assert_int_eq(uv_tcp_init(FIXTURE_LOOP, l), 0);
	ck_assert_int_eq(uv_tcp_bind(l, (const struct sockaddr *)&a, 0), 0);
	ck_assert_int_eq(uv_listen((uv_stream_t *)l, 16, cb), 0);
	ck_assert_int_eq(uv_tcp_getsockname(l, (struct sockaddr *)out, &len), 0);
}

/* A mute server's accept: into the uv_tcp_t at l->data, then silence. */
static inline void mute_accept(uv_stream_t *l, int status)
{
	uv_tcp_t *conn = l->data;

	(void)status;
	ck_assert_int_eq(uv_tcp_init(FIXTURE_LOOP, conn), 0);
	ck_assert_int_eq(uv_accept(l, (uv_stream_t *)conn), 0);
}

/* A server on 127.0.0.1 (address in *out) that accepts one connection into
 * conn and never says a word: for handshake deadlines. conn->loop is set
 * once it accepted. */
static inline void listen_mute(uv_tcp_t *l, uv_tcp_t *conn, struct sockaddr_in *out)
{
	listen_on(l, 0, out, mute_accept);
	l->data = conn;
}

#endif /* FIXTURE_LOOP */

#endif
