/* The SQLite tables of supernoded: revoked, sessions, applied_commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "command.h"
#include "store.h"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS revoked ("
	" id BLOB PRIMARY KEY CHECK (length(id) = 32), added_ms INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS sessions ("
	" session_id BLOB PRIMARY KEY CHECK (length(session_id) = 16),"
	" kind INTEGER NOT NULL, client_id BLOB, client_wg BLOB, exit_id BLOB, exit_wg BLOB,"
	" remote_id BLOB, path INTEGER, relay INTEGER, client_port INTEGER,"
	" exit_port INTEGER, client_address TEXT, endpoint TEXT, remote_addr TEXT,"
	" state TEXT NOT NULL, updated_ms INTEGER NOT NULL);";

int store_open(const char *path, struct sn_store **out, char *err, size_t err_size)
{
	struct sn_store *s;
	char *sql;
	size_t len = sizeof(schema) + strlen(CMD_JOURNAL_SCHEMA);
	int rc = -ENOMEM;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	sql = malloc(len);
	if (!s || !sql)
		goto out;
	snprintf(sql, len, "%s%s", schema, CMD_JOURNAL_SCHEMA);
	rc = state_open(&s->st, path, sql, err, err_size);
	if (rc == 0) {
		*out = s;
		s = NULL;
	}
out:
	free(sql);
	free(s);
	return rc;
}

void store_close(struct sn_store *s)
{
	if (!s)
		return;
	state_close(&s->st);
	free(s);
}

static int prep(struct sn_store *s, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(s->st.db, sql, -1, st, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_revoke(struct sn_store *s, const uint8_t id[ID_PK_LEN], int revoked)
{
	sqlite3_stmt *st;

	if (prep(s, revoked ? "INSERT OR IGNORE INTO revoked (id, added_ms) VALUES (?1, ?2)"
	                    : "DELETE FROM revoked WHERE id = ?1 AND ?2 = ?2", &st) < 0)
		return -EIO;
	sqlite3_bind_blob(st, 1, id, ID_PK_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)clock_wall_ms());
	return step_done(st);
}

int store_revoked_load(struct sn_store *s,
                       int (*cb)(void *arg, const uint8_t id[ID_PK_LEN]), void *arg)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (prep(s, "SELECT id FROM revoked", &st) < 0)
		return -EIO;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_bytes(st, 0) == ID_PK_LEN)
			ret = cb(arg, sqlite3_column_blob(st, 0));
	if (ret == 0 && rc != SQLITE_DONE)
		ret = -EIO;
	sqlite3_finalize(st);
	return ret;
}

int store_session_put(struct sn_store *s, const struct sess_rec *r)
{
	sqlite3_stmt *st;

	if (prep(s, "INSERT OR REPLACE INTO sessions VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	            " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)", &st) < 0)
		return -EIO;
	sqlite3_bind_blob(st, 1, r->id, MSG_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, r->kind);
	sqlite3_bind_blob(st, 3, r->client_id, ID_PK_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, r->client_wg, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, r->exit_id, ID_PK_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, r->exit_wg, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, r->remote_id, ID_PK_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, (int)r->path);
	sqlite3_bind_int(st, 9, r->relay);
	sqlite3_bind_int(st, 10, r->client_port);
	sqlite3_bind_int(st, 11, r->exit_port);
	sqlite3_bind_text(st, 12, r->client_address, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, r->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, r->remote_addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 15, r->active ? "active" : "setup", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 16, (sqlite3_int64)clock_wall_ms());
	return step_done(st);
}

int store_session_end(struct sn_store *s, const uint8_t id[MSG_ID_LEN])
{
	sqlite3_stmt *st;

	if (prep(s, "UPDATE sessions SET state = 'ended', updated_ms = ?2"
	            " WHERE session_id = ?1", &st) < 0)
		return -EIO;
	sqlite3_bind_blob(st, 1, id, MSG_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)clock_wall_ms());
	return step_done(st);
}

/* Copies a blob column of exactly len bytes; anything else stays zero. */
static void col_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
	if (sqlite3_column_bytes(st, col) == (int)len)
		memcpy(out, sqlite3_column_blob(st, col), len);
}

static void col_text(sqlite3_stmt *st, int col, char *out, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, size, "%s", t ? (const char *)t : "");
}

static void row_to_rec(sqlite3_stmt *st, struct sess_rec *r)
{
	memset(r, 0, sizeof(*r));
	col_blob(st, 0, r->id, MSG_ID_LEN);
	r->kind = sqlite3_column_int(st, 1);
	col_blob(st, 2, r->client_id, ID_PK_LEN);
	col_blob(st, 3, r->client_wg, 32);
	col_blob(st, 4, r->exit_id, ID_PK_LEN);
	col_blob(st, 5, r->exit_wg, 32);
	col_blob(st, 6, r->remote_id, ID_PK_LEN);
	r->path = (uint32_t)sqlite3_column_int(st, 7);
	r->relay = sqlite3_column_int(st, 8);
	r->client_port = (uint16_t)sqlite3_column_int(st, 9);
	r->exit_port = (uint16_t)sqlite3_column_int(st, 10);
	col_text(st, 11, r->client_address, sizeof(r->client_address));
	col_text(st, 12, r->endpoint, sizeof(r->endpoint));
	col_text(st, 13, r->remote_addr, sizeof(r->remote_addr));
	r->active = 1;
}

int store_sessions_load(struct sn_store *s, int (*cb)(void *arg, const struct sess_rec *r),
                        void *arg)
{
	struct sess_rec rec;
	sqlite3_stmt *st;
	int rc, ret = 0;

	/* A session still in setup was never answered: the client asks again. */
	if (prep(s, "SELECT * FROM sessions WHERE state = 'active'", &st) < 0)
		return -EIO;
	while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != MSG_ID_LEN)
			continue;
		row_to_rec(st, &rec);
		if (rec.kind < SESS_LOCAL || rec.kind > SESS_SERVE)
			continue;
		ret = cb(arg, &rec);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = -EIO;
	sqlite3_finalize(st);
	return ret;
}
