/* The blacklist table in SQLite: one table, WAL mode, prepared statements.
 * Everything here survives a restart; nothing else in basenoded does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "clock.h"
#include "store.h"

struct store {
	sqlite3 *db;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS blacklist ("
	" id BLOB PRIMARY KEY CHECK (length(id) = 32),"
	" added_ms INTEGER NOT NULL);";

int store_open(const char *path, struct store **out, char *err, size_t err_size)
{
	struct store *s;
	char *msg = NULL;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	/* Another basenoded on the same file is a mistake, but wait briefly
	 * rather than fail an admin command on a transient lock. */
	sqlite3_busy_timeout(s->db, 1000);
	if (sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	*out = s;
	return 0;
fail:
	snprintf(err, err_size, "%s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	sqlite3_close(s->db);
	free(s);
	return -EIO;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

const char *store_errmsg(const struct store *s)
{
	return sqlite3_errmsg(s->db);
}

/* Runs one statement binding id as ?1 and now as ?2 (if present). */
static int exec_id(struct store *s, const char *sql, const uint8_t id[ID_PK_LEN])
{
	sqlite3_stmt *st = NULL;
	int ret = -EIO;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_bind_blob(st, 1, id, ID_PK_LEN, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	if (sqlite3_bind_parameter_count(st) >= 2 &&
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)clock_wall_ms()) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_DONE)
		ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int store_blacklist_add(struct store *s, const uint8_t id[ID_PK_LEN])
{
	return exec_id(s, "INSERT OR IGNORE INTO blacklist (id, added_ms) VALUES (?1, ?2)", id);
}

int store_blacklist_del(struct store *s, const uint8_t id[ID_PK_LEN])
{
	return exec_id(s, "DELETE FROM blacklist WHERE id = ?1", id);
}

int store_blacklist_load(struct store *s,
                         int (*cb)(void *arg, const uint8_t id[ID_PK_LEN]), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -EIO;

	if (sqlite3_prepare_v2(s->db, "SELECT id FROM blacklist ORDER BY added_ms", -1, &st,
	                       NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* The CHECK constraint holds for rows we wrote; a file edited
		 * by hand could still hold junk, so check again. */
		if (sqlite3_column_bytes(st, 0) != ID_PK_LEN)
			continue;
		ret = cb(arg, sqlite3_column_blob(st, 0));
		if (ret != 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : -EIO;
out:
	sqlite3_finalize(st);
	return ret;
}
