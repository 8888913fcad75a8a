/* basenoded's SQLite store: the blacklist survives close and reopen, add and
 * del are idempotent, and a bad path is an error, not a crash. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../basenoded/store.h"

struct seen {
	uint8_t ids[8][ID_PK_LEN];
	int n;
};

static int collect(void *arg, const uint8_t id[ID_PK_LEN])
{
	struct seen *s = arg;

	if (s->n < 8)
		memcpy(s->ids[s->n], id, ID_PK_LEN);
	s->n++;
	return 0;
}

static int stop_at_first(void *arg, const uint8_t id[ID_PK_LEN])
{
	return -ECANCELED;
}

static char dir[] = "/tmp/test_bn_storeXXXXXX";
static char path[sizeof(dir) + 32];

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/basenoded.db", dir);
}

static void teardown(void)
{
	char p[sizeof(path) + 8];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

START_TEST(blacklist_persists)
{
	struct store *s;
	struct seen seen = { .n = 0 };
	uint8_t a[ID_PK_LEN], b[ID_PK_LEN];
	char err[256];

	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	ck_assert_int_eq(store_open(path, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(store_blacklist_add(s, a), 0);
	ck_assert_int_eq(store_blacklist_add(s, a), 0);
	ck_assert_int_eq(store_blacklist_add(s, b), 0);
	ck_assert_int_eq(store_blacklist_del(s, b), 0);
	ck_assert_int_eq(store_blacklist_del(s, b), 0);
	store_close(s);

	ck_assert_int_eq(store_open(path, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(store_blacklist_load(s, collect, &seen), 0);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_mem_eq(seen.ids[0], a, ID_PK_LEN);
	ck_assert_int_eq(store_blacklist_load(s, stop_at_first, NULL), -ECANCELED);
	store_close(s);
}
END_TEST

START_TEST(bad_path_fails)
{
	struct store *s = (struct store *)&s;
	char err[256] = "";

	ck_assert_int_eq(store_open("/nonexistent-dir/x/basenoded.db", &s, err, sizeof(err)),
	                 -EIO);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x/basenoded.db"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("basenoded_store");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, blacklist_persists);
	tcase_add_test(tc, bad_path_fails);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
