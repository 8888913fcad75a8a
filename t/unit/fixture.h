/* Helpers shared by the unit tests: counting open fds (leak checks) and,
 * for libuv tests, a ms clock, polling the loop until a condition holds
 * (with a deadline, never a bare sleep), running it for a while, and a
 * listener on 127.0.0.1. The loop helpers need FIXTURE_LOOP and
 * FIXTURE_GUARD (the test's uv_loop_t * and an initialised uv_timer_t *)
 * defined before including. Static inline, so a test need not use them all. */
#ifndef T_FIXTURE_H
#define T_FIXTURE_H

#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <uv.h>

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

static inline uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* Polls cond with a deadline; the guard timer keeps UV_RUN_ONCE from blocking. */
#define RUN_UNTIL(cond, ms) do { \
	uint64_t end_ = now_ms() + (ms); \
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

#endif /* FIXTURE_LOOP */

#endif
