/* State: a private WAL database, idempotent schema, clean failures that
 * leave nothing open. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "state.h"
#include "fixture.h"

#define SCHEMA "CREATE TABLE IF NOT EXISTS t (a INTEGER);"

static char dir[64];
static char path[128];

static void mk_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_state.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.db", dir);
}

static void rm_dir(void)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[160];
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}

/* First column of the first row of sql, as text. */
static void query_text(struct state *st, const char *sql, char *out, size_t size)
{
	sqlite3_stmt *stmt;
	const unsigned char *v;

	ck_assert_int_eq(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_text(stmt, 0);
	snprintf(out, size, "%s", v ? (const char *)v : "");
	sqlite3_finalize(stmt);
}

static mode_t file_mode(const char *p)
{
	struct stat sb;

	ck_assert_int_eq(stat(p, &sb), 0);
	return sb.st_mode & 07777;
}

/* Under a permissive umask the database and its WAL are still 0600, and the
 * connection has the pragmas DESIGN section 8 asks for. */
START_TEST(test_open_private_wal)
{
	struct state st;
	char err[256], v[32], wal[160];
	mode_t old = umask(022);

	mk_dir();
	ck_assert_int_eq(state_open(&st, path, SCHEMA, err, sizeof(err)), 0);
	umask(old);
	ck_assert_ptr_nonnull(st.db);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(file_mode(path), 0600);
	query_text(&st, "PRAGMA journal_mode", v, sizeof(v));
	ck_assert_str_eq(v, "wal");
	query_text(&st, "PRAGMA synchronous", v, sizeof(v));
	ck_assert_str_eq(v, "1"); /* NORMAL */
	query_text(&st, "PRAGMA foreign_keys", v, sizeof(v));
	ck_assert_str_eq(v, "1");
	query_text(&st, "PRAGMA busy_timeout", v, sizeof(v));
	ck_assert_str_eq(v, "2000");
	ck_assert_int_eq(state_exec(&st, "INSERT INTO t VALUES (1)"), 0);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ck_assert_uint_eq(file_mode(wal), 0600);
	state_close(&st);
	ck_assert_ptr_null(st.db);
	state_close(&st); /* twice is harmless */
	rm_dir();
}
END_TEST

/* An existing state file readable by others is made private. */
START_TEST(test_open_tightens_mode)
{
	struct state st;
	FILE *f;

	mk_dir();
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(state_open(&st, path, SCHEMA, NULL, 0), 0);
	ck_assert_uint_eq(file_mode(path), 0600);
	state_close(&st);
	rm_dir();
}
END_TEST

START_TEST(test_schema_idempotent)
{
	struct state st;
	char err[256], v[32];

	mk_dir();
	ck_assert_int_eq(state_open(&st, path, SCHEMA, err, sizeof(err)), 0);
	ck_assert_int_eq(state_exec(&st, "INSERT INTO t VALUES (42)"), 0);
	state_close(&st);
	ck_assert_int_eq(state_open(&st, path, SCHEMA, err, sizeof(err)), 0);
	query_text(&st, "SELECT a FROM t", v, sizeof(v));
	ck_assert_str_eq(v, "42");
	query_text(&st, "PRAGMA journal_mode", v, sizeof(v));
	ck_assert_str_eq(v, "wal");
	state_close(&st);
	rm_dir();
}
END_TEST

START_TEST(test_bad_path)
{
	struct state st;
	char err[256];
	int fds = open_fds();

	st.db = (sqlite3 *)&st; /* must be reset */
	ck_assert_int_eq(state_open(&st, "/nonexistent-sm-dir/x/state.db", SCHEMA,
	                            err, sizeof(err)), -ENOENT);
	ck_assert_ptr_null(st.db);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-sm-dir/x/state.db"));
	ck_assert_ptr_nonnull(strstr(err, strerror(ENOENT)));
	ck_assert_int_eq(state_open(&st, "", SCHEMA, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(state_open(&st, NULL, SCHEMA, NULL, 0), -EINVAL);
	ck_assert_int_eq(state_open(&st, ":memory:", SCHEMA, err, sizeof(err)), -ENOTSUP);
	ck_assert_int_eq(access(":memory:", F_OK), -1);
	ck_assert_int_eq(open_fds(), fds);
}
END_TEST

/* A failing schema is rolled back as a whole and the handle is closed: no
 * descriptor stays open and the statement before the error left no table. */
START_TEST(test_bad_schema)
{
	struct state st;
	char err[256], v[32];
	int fds;

	mk_dir();
	fds = open_fds();
	ck_assert_int_eq(state_open(&st, path, "CREATE TABLE u (a INTEGER); CREAT TABLE oops;",
	                            err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(st.db);
	ck_assert_ptr_nonnull(strstr(err, "schema"));
	ck_assert_ptr_nonnull(strstr(err, "syntax error"));
	ck_assert_int_eq(open_fds(), fds);
	ck_assert_int_eq(state_open(&st, path, SCHEMA, err, sizeof(err)), 0);
	query_text(&st, "SELECT count(*) FROM sqlite_master WHERE name = 'u'", v, sizeof(v));
	ck_assert_str_eq(v, "0");
	state_close(&st);
	ck_assert_int_eq(open_fds(), fds);
	rm_dir();
}
END_TEST

/* A file that is not a database fails with a message, nothing left open. */
START_TEST(test_not_a_database)
{
	struct state st;
	char err[256];
	FILE *f;
	int fds;

	mk_dir();
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("this is not an SQLite database, not even close, but long enough\n", f);
	fclose(f);
	fds = open_fds();
	ck_assert_int_lt(state_open(&st, path, SCHEMA, err, sizeof(err)), 0);
	ck_assert_ptr_null(st.db);
	ck_assert_str_ne(err, "");
	ck_assert_int_eq(open_fds(), fds);
	rm_dir();
}
END_TEST

START_TEST(test_exec_and_foreign_keys)
{
	struct state st;

	mk_dir();
	ck_assert_int_eq(state_open(&st, path,
	                            "CREATE TABLE IF NOT EXISTS p (id INTEGER PRIMARY KEY);"
	                            "CREATE TABLE IF NOT EXISTS c (p INTEGER REFERENCES p(id));",
	                            NULL, 0), 0);
	ck_assert_int_eq(state_exec(&st, "INSERT INTO p VALUES (1)"), 0);
	ck_assert_int_eq(state_exec(&st, "INSERT INTO c VALUES (1)"), 0);
	ck_assert_int_eq(state_exec(&st, "INSERT INTO c VALUES (2)"), -EIO);
	ck_assert_int_eq(state_exec(&st, "BOGUS"), -EIO);
	ck_assert_int_eq(state_exec(&st, "BEGIN; DELETE FROM c; ROLLBACK"), 0);
	state_close(&st);
	ck_assert_int_eq(state_exec(&st, "SELECT 1"), -EIO);
	rm_dir();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_open_private_wal);
	tcase_add_test(tc, test_open_tightens_mode);
	tcase_add_test(tc, test_schema_idempotent);
	tcase_add_test(tc, test_bad_path);
	tcase_add_test(tc, test_bad_schema);
	tcase_add_test(tc, test_not_a_database);
	tcase_add_test(tc, test_exec_and_foreign_keys);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
