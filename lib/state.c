/* A daemon's SQLite state: open with WAL, busy timeout and foreign keys, the
 * file private to its owner, schema applied in one transaction. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "state.h"

#define STATE_BUSY_MS 2000

/* SQLite result codes that have an obvious errno; the rest become -EIO. */
static const struct {
	int rc;
	int err;
} sqlite_errnos[] = {
	{ SQLITE_NOMEM, ENOMEM },
	{ SQLITE_BUSY, EBUSY },
	{ SQLITE_LOCKED, EBUSY },
	{ SQLITE_READONLY, EROFS },
	{ SQLITE_FULL, ENOSPC },
	{ SQLITE_PERM, EACCES },
	{ SQLITE_AUTH, EACCES },
	{ SQLITE_CANTOPEN, EACCES },
	{ SQLITE_ERROR, EINVAL }, /* bad SQL: in a schema, the caller's mistake */
};

static int state_errno(sqlite3 *db, int rc)
{
	size_t i;

	/* An OS error under SQLite (ENOENT, EACCES, ...) says the most. */
	if (rc == SQLITE_CANTOPEN || rc == SQLITE_IOERR) {
		int e = db ? sqlite3_system_errno(db) : 0;

		if (e > 0)
			return -e;
	}
	for (i = 0; i < sizeof(sqlite_errnos) / sizeof(sqlite_errnos[0]); i++)
		if (sqlite_errnos[i].rc == (rc & 0xff))
			return -sqlite_errnos[i].err;
	return -EIO;
}

static void set_err(char *err, size_t err_size, const char *what, const char *why)
{
	if (err && err_size > 0)
		snprintf(err, err_size, "%s: %s", what, why);
}

/* SQLite creates new files 0644 minus umask; state holds keys, so create it
 * ourselves 0600 (the WAL and shm files copy the database's mode) and tighten
 * an existing file that is group or world accessible. */
static int create_private(const char *path, char *err, size_t err_size)
{
	struct stat sb;
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		ret = -errno;
		set_err(err, err_size, path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &sb) < 0 || ((sb.st_mode & 077) && fchmod(fd, 0600) < 0)) {
		ret = -errno;
		set_err(err, err_size, path, strerror(-ret));
	}
	close(fd);
	return ret;
}

/* Runs sql, keeping SQLite's message, after what, for the caller. */
static int exec_err(sqlite3 *db, const char *what, const char *sql, char *err,
                    size_t err_size)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return 0;
	set_err(err, err_size, what, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return state_errno(db, rc);
}

/* journal_mode answers with the mode in force: a database that cannot do WAL
 * (in memory, or on a file system without shared memory) says otherwise. */
static int set_wal(sqlite3 *db, char *err, size_t err_size)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		set_err(err, err_size, "journal_mode", sqlite3_errmsg(db));
		ret = state_errno(db, rc);
		goto out;
	}
	mode = sqlite3_column_text(st, 0);
	if (!mode || strcmp((const char *)mode, "wal") != 0) {
		set_err(err, err_size, "journal_mode is not wal",
		        mode ? (const char *)mode : "(null)");
		ret = -ENOTSUP;
	}
out:
	sqlite3_finalize(st);
	return ret;
}

static int apply_schema(sqlite3 *db, const char *schema, char *err, size_t err_size)
{
	int ret;

	ret = exec_err(db, "begin", "BEGIN IMMEDIATE", err, err_size);
	if (ret < 0)
		return ret;
	ret = exec_err(db, "schema", schema, err, err_size);
	if (ret == 0)
		ret = exec_err(db, "commit", "COMMIT", err, err_size);
	if (ret < 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int state_open(struct state *st, const char *path, const char *schema,
               char *err, size_t err_size)
{
	sqlite3 *db = NULL;
	int rc, ret;

	if (err && err_size > 0)
		err[0] = '\0';
	st->db = NULL;
	if (!path || !*path || !schema) {
		set_err(err, err_size, "state_open", "no path or schema");
		return -EINVAL;
	}
	/* No WAL in memory; and without this check we would create a file so named. */
	if (strcmp(path, ":memory:") == 0) {
		set_err(err, err_size, path, "state needs a file for WAL");
		return -ENOTSUP;
	}
	ret = create_private(path, err, err_size);
	if (ret < 0)
		return ret;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		set_err(err, err_size, path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		ret = state_errno(db, rc);
		goto out;
	}
	sqlite3_busy_timeout(db, STATE_BUSY_MS);
	ret = set_wal(db, err, err_size);
	if (ret == 0)
		ret = exec_err(db, "synchronous", "PRAGMA synchronous=NORMAL", err, err_size);
	if (ret == 0)
		ret = exec_err(db, "foreign_keys", "PRAGMA foreign_keys=ON", err, err_size);
	if (ret == 0)
		ret = apply_schema(db, schema, err, err_size);
out:
	if (ret < 0) {
		sqlite3_close(db); /* NULL is fine */
		return ret;
	}
	st->db = db;
	return 0;
}

void state_close(struct state *st)
{
	if (!st || !st->db)
		return;
	sqlite3_close(st->db);
	st->db = NULL;
}

int state_exec(struct state *st, const char *sql)
{
	if (!st || !st->db || !sql)
		return -EIO;
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}
