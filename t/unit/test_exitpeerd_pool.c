/* Tests for exitpeerd's address pool (pool.c) and its persistence through
 * the sessions table (store.c): CIDR edges, no double allocation,
 * exhaustion, free and reuse, and a reload after a restart. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "command.h"
#include "../../exitpeerd/pool.h"
#include "../../exitpeerd/store.h"

static uint32_t ip(const char *text)
{
	uint32_t a;

	ck_assert_int_eq(exit_pool_addr_parse(text, &a), 0);
	return a;
}

START_TEST(init_edges)
{
	static const char *const bad[] = {
		"", "10.200.0.0", "10.200.0.0/", "/24", "10.200.0.1/24", "10.200.0.0/22",
		"10.200.0.0/31", "10.200.0.0/32", "10.200.0/24", "10.200.0.0/24x", "10.200.0.0/+24",
		"10.200.0.0/ 24", "fd00::/120", "10.200.0.0/024x", "10.200.0.256/24",
	};
	struct exit_pool p;
	char a[POOL_ADDR_LEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(exit_pool_init(&p, bad[i]) == -EINVAL, "accepted '%s'", bad[i]);
	ck_assert_int_eq(exit_pool_init(&p, NULL), -EINVAL);
	ck_assert_int_eq(exit_pool_init(&p, "10.200.0.0/24"), 0);
	ck_assert_uint_eq(p.size, 253); /* minus network, exit and broadcast */
	ck_assert_uint_eq(exit_pool_free_count(&p), 253);
	exit_pool_addr_str(exit_pool_exit_addr(&p), a);
	ck_assert_str_eq(a, "10.200.0.1");
	exit_pool_release(&p);
	ck_assert_int_eq(exit_pool_init(&p, "192.168.4.0/23"), 0);
	ck_assert_uint_eq(p.size, 509);
	exit_pool_release(&p);
}
END_TEST

START_TEST(alloc_all_distinct_then_full)
{
	struct exit_pool p;
	uint8_t seen[256] = { 0 };
	uint32_t a, i;

	ck_assert_int_eq(exit_pool_init(&p, "10.200.0.0/24"), 0);
	ck_assert_int_eq(exit_pool_alloc(&p, &a), 0);
	ck_assert_uint_eq(a, ip("10.200.0.2")); /* lowest first, after the exit */
	seen[a & 0xff] = 1;
	for (i = 1; i < 253; i++) {
		ck_assert_int_eq(exit_pool_alloc(&p, &a), 0);
		ck_assert_uint_eq(a >> 8, ip("10.200.0.0") >> 8);
		ck_assert_msg(!seen[a & 0xff], "allocated twice: .%u", a & 0xff);
		ck_assert_uint_ge(a & 0xff, 2);
		ck_assert_uint_le(a & 0xff, 254);
		seen[a & 0xff] = 1;
	}
	ck_assert_uint_eq(exit_pool_free_count(&p), 0);
	ck_assert_int_eq(exit_pool_alloc(&p, &a), -ENOSPC);
	/* Freeing one makes exactly that one available again. */
	ck_assert_int_eq(exit_pool_free(&p, ip("10.200.0.77")), 0);
	ck_assert_int_eq(exit_pool_alloc(&p, &a), 0);
	ck_assert_uint_eq(a, ip("10.200.0.77"));
	ck_assert_int_eq(exit_pool_alloc(&p, &a), -ENOSPC);
	exit_pool_release(&p);
}
END_TEST

START_TEST(free_and_mark)
{
	struct exit_pool p;
	uint32_t a;

	ck_assert_int_eq(exit_pool_init(&p, "10.200.0.0/24"), 0);
	ck_assert_int_eq(exit_pool_alloc(&p, &a), 0);
	ck_assert_int_eq(exit_pool_free(&p, a), 0);
	ck_assert_int_eq(exit_pool_free(&p, a), -ENOENT);
	ck_assert_int_eq(exit_pool_free(&p, ip("10.200.0.1")), -ERANGE);   /* the exit */
	ck_assert_int_eq(exit_pool_free(&p, ip("10.200.0.255")), -ERANGE); /* broadcast */
	ck_assert_int_eq(exit_pool_free(&p, ip("10.201.0.2")), -ERANGE);
	ck_assert_int_eq(exit_pool_mark(&p, ip("10.200.0.0")), -ERANGE);
	ck_assert_int_eq(exit_pool_mark(&p, ip("10.200.0.1")), -ERANGE);
	ck_assert_int_eq(exit_pool_mark(&p, ip("10.200.0.5")), 0);
	ck_assert_int_eq(exit_pool_mark(&p, ip("10.200.0.5")), -EEXIST);
	ck_assert_uint_eq(exit_pool_free_count(&p), 252);
	/* Allocation goes around a marked address. */
	ck_assert_int_eq(exit_pool_mark(&p, ip("10.200.0.2")), 0);
	ck_assert_int_eq(exit_pool_alloc(&p, &a), 0);
	ck_assert_uint_eq(a, ip("10.200.0.3"));
	exit_pool_release(&p);
}
END_TEST

START_TEST(smallest_pool)
{
	struct exit_pool p;
	uint32_t a;

	ck_assert_int_eq(exit_pool_init(&p, "10.9.9.4/30"), 0);
	ck_assert_uint_eq(p.size, 1);
	ck_assert_int_eq(exit_pool_alloc(&p, &a), 0);
	ck_assert_uint_eq(a, ip("10.9.9.6"));
	ck_assert_int_eq(exit_pool_alloc(&p, &a), -ENOSPC);
	exit_pool_release(&p);
}
END_TEST

static void session(struct exit_session *s, uint8_t tag, const char *addr, const char *ep)
{
	memset(s, 0, sizeof(*s));
	memset(s->id, tag, SESSION_ID_LEN);
	memset(s->client_key, tag + 1, WG_KEY_LEN);
	s->addr = ip(addr);
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", ep);
	s->keepalive_s = ep[0] ? 25 : 0;
}

struct loaded {
	struct exit_pool *p;
	struct exit_session s[4];
	int n;
};

static int load_cb(void *arg, const struct exit_session *s)
{
	struct loaded *l = arg;

	ck_assert_int_lt(l->n, 4);
	l->s[l->n++] = *s;
	return exit_pool_mark(l->p, s->addr);
}

/* What the pool gave out survives a restart: the sessions table is reloaded
 * into a fresh pool, which then allocates around them. */
START_TEST(persisted_across_restart)
{
	char dir[] = "/tmp/test_exitpeerd_pool_XXXXXX", path[128], err[256];
	struct exit_session a, b;
	struct exit_pool p;
	struct loaded l;
	struct cmd_outcome out;
	struct state st;
	uint32_t addr;

	memset(&l, 0, sizeof(l));
	l.p = &p;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/exitpeerd.db", dir);
	ck_assert_int_eq(exit_store_open(&st, path, err, sizeof(err)), 0);
	session(&a, 1, "10.200.0.2", "");
	session(&b, 2, "10.200.0.3", "192.0.2.1:4000");
	ck_assert_int_eq(exit_store_session_put(&st, &a), 0);
	ck_assert_int_eq(exit_store_session_put(&st, &b), 0);
	ck_assert_int_eq(exit_store_session_put(&st, &b), 0); /* replace, not twice */
	state_close(&st);

	ck_assert_int_eq(exit_store_open(&st, path, err, sizeof(err)), 0);
	ck_assert_int_eq(exit_pool_init(&p, "10.200.0.0/24"), 0);
	ck_assert_int_eq(exit_store_session_load(&st, load_cb, &l), 0);
	ck_assert_int_eq(l.n, 2);
	ck_assert_mem_eq(&l.s[0], &a, sizeof(a));
	ck_assert_mem_eq(&l.s[1], &b, sizeof(b));
	ck_assert_int_eq(exit_pool_alloc(&p, &addr), 0);
	ck_assert_uint_eq(addr, ip("10.200.0.4"));
	/* A deleted session frees nothing by itself, but is gone next time. */
	ck_assert_int_eq(exit_store_session_del(&st, a.id), 0);
	ck_assert_int_eq(exit_store_session_del(&st, a.id), 0);
	l.n = 0;
	exit_pool_release(&p);
	ck_assert_int_eq(exit_pool_init(&p, "10.200.0.0/24"), 0);
	ck_assert_int_eq(exit_store_session_load(&st, load_cb, &l), 0);
	ck_assert_int_eq(l.n, 1);
	ck_assert_int_eq(exit_pool_alloc(&p, &addr), 0);
	ck_assert_uint_eq(addr, ip("10.200.0.2"));
	/* The journal lives in the same database. */
	ck_assert_int_eq(cmd_journal_find(&st, a.id, &out), 0);
	exit_pool_release(&p);
	state_close(&st);
	unlink(path);
	snprintf(path, sizeof(path), "%s/exitpeerd.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/exitpeerd.db-shm", dir);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static int count_cb(void *arg, const struct exit_session *s)
{
	(*(int *)arg)++;
	return 0;
}

/* Rows are checked like wire input: a short key is refused, not loaded. */
START_TEST(corrupt_row_refused)
{
	char dir[] = "/tmp/test_exitpeerd_pool_XXXXXX", path[128], err[256];
	struct state st;
	int n = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.db", dir);
	ck_assert_int_eq(exit_store_open(&st, path, err, sizeof(err)), 0);
	ck_assert_int_eq(state_exec(&st, "INSERT INTO sessions VALUES "
	                                  "(x'00112233445566778899aabbccddeeff', x'0102', "
	                                  "167903234, '', 0)"), 0);
	ck_assert_int_eq(exit_store_session_load(&st, count_cb, &n), -EIO);
	ck_assert_int_eq(n, 0);
	state_close(&st);
	unlink(path);
	snprintf(path, sizeof(path), "%s/x.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/x.db-shm", dir);
	unlink(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exitpeerd_pool");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, init_edges);
	tcase_add_test(tc, alloc_all_distinct_then_full);
	tcase_add_test(tc, free_and_mark);
	tcase_add_test(tc, smallest_pool);
	tcase_add_test(tc, persisted_across_restart);
	tcase_add_test(tc, corrupt_row_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
