/* exitpeerd's SQLite state: the sessions table (what a restart must keep
 * serving) next to lib/command's journal of applied commands. */
#include <errno.h>
#include <string.h>
#include "command.h"
#include "store.h"

static const char SESSIONS_SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS sessions ("
	"id BLOB PRIMARY KEY, client_key BLOB NOT NULL, address INTEGER NOT NULL UNIQUE, "
	"endpoint TEXT NOT NULL, keepalive INTEGER NOT NULL);";

int exit_store_open(struct state *st, const char *path, char *err, size_t err_size)
{
	char schema[sizeof(SESSIONS_SCHEMA) + 256];
	size_t n = strlen(CMD_JOURNAL_SCHEMA);

	if (n + sizeof(SESSIONS_SCHEMA) > sizeof(schema))
		return -E2BIG;
	memcpy(schema, SESSIONS_SCHEMA, sizeof(SESSIONS_SCHEMA) - 1);
	memcpy(schema + sizeof(SESSIONS_SCHEMA) - 1, CMD_JOURNAL_SCHEMA, n + 1);
	return state_open(st, path, schema, err, err_size);
}

static int prepare(struct state *st, const char *sql, sqlite3_stmt **stmt)
{
	if (!st || !st->db)
		return -EIO;
	return sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) == SQLITE_OK ? 0 : -EIO;
}

int exit_store_session_put(struct state *st, const struct exit_session *s)
{
	sqlite3_stmt *stmt = NULL;
	int ret;

	ret = prepare(st, "INSERT OR REPLACE INTO sessions (id, client_key, address, endpoint, "
	                  "keepalive) VALUES (?, ?, ?, ?, ?)", &stmt);
	if (ret < 0)
		return ret;
	if (sqlite3_bind_blob(stmt, 1, s->id, SESSION_ID_LEN, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(stmt, 2, s->client_key, WG_KEY_LEN, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 3, s->addr) != SQLITE_OK ||
	    sqlite3_bind_text(stmt, 4, s->endpoint, (int)strnlen(s->endpoint, ENDPOINT_MAX - 1),
	                      SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 5, s->keepalive_s) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_DONE)
		ret = -EIO;
	sqlite3_finalize(stmt);
	return ret;
}

int exit_store_session_del(struct state *st, const uint8_t id[SESSION_ID_LEN])
{
	sqlite3_stmt *stmt = NULL;
	int ret;

	ret = prepare(st, "DELETE FROM sessions WHERE id = ?", &stmt);
	if (ret < 0)
		return ret;
	if (sqlite3_bind_blob(stmt, 1, id, SESSION_ID_LEN, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_DONE)
		ret = -EIO;
	sqlite3_finalize(stmt);
	return ret;
}

/* A row is trusted no more than the wire: lengths and ranges checked. */
static int row_to_session(sqlite3_stmt *stmt, struct exit_session *s)
{
	const void *id = sqlite3_column_blob(stmt, 0), *key = sqlite3_column_blob(stmt, 1);
	const unsigned char *ep = sqlite3_column_text(stmt, 3);
	sqlite3_int64 addr = sqlite3_column_int64(stmt, 2), ka = sqlite3_column_int64(stmt, 4);
	int eplen = sqlite3_column_bytes(stmt, 3);

	if (!id || sqlite3_column_bytes(stmt, 0) != SESSION_ID_LEN || !key ||
	    sqlite3_column_bytes(stmt, 1) != WG_KEY_LEN || addr < 0 || addr > UINT32_MAX ||
	    ka < 0 || ka > 65535 || eplen < 0 || eplen >= ENDPOINT_MAX)
		return -EIO;
	memset(s, 0, sizeof(*s));
	memcpy(s->id, id, SESSION_ID_LEN);
	memcpy(s->client_key, key, WG_KEY_LEN);
	s->addr = (uint32_t)addr;
	if (ep && eplen)
		memcpy(s->endpoint, ep, (size_t)eplen);
	s->keepalive_s = (uint32_t)ka;
	return 0;
}

int exit_store_session_load(struct state *st,
                            int (*cb)(void *arg, const struct exit_session *s), void *arg)
{
	sqlite3_stmt *stmt = NULL;
	struct exit_session s;
	int rc, ret;

	ret = prepare(st, "SELECT id, client_key, address, endpoint, keepalive FROM sessions "
	                  "ORDER BY address", &stmt);
	if (ret < 0)
		return ret;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((ret = row_to_session(stmt, &s)) < 0 || (ret = cb(arg, &s)) != 0)
			goto out;
	}
	ret = rc == SQLITE_DONE ? 0 : -EIO;
out:
	sqlite3_finalize(stmt);
	return ret;
}
