/* One row of clientd state: the session it holds and the configuration it
 * installed through wgrelay. Rows read back are length-checked like input. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "command.h"
#include "store.h"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS current ("
	" k INTEGER PRIMARY KEY CHECK (k = 1),"
	" region TEXT, session_id BLOB, exit_key BLOB, path INTEGER,"
	" address TEXT, endpoint TEXT,"
	" t_address TEXT, t_peer BLOB, t_endpoint TEXT, t_allowed TEXT,"
	" t_keepalive INTEGER, t_routed TEXT, t_rules INTEGER,"
	" t_bypass_sn TEXT, t_bypass_ep TEXT);";

int store_open(struct state *st, const char *path, char *err, size_t err_size)
{
	char all[sizeof(schema) + 1024];

	if (snprintf(all, sizeof(all), "%s%s", schema, CMD_JOURNAL_SCHEMA) >= (int)sizeof(all))
		return -E2BIG;
	return state_open(st, path, all, err, err_size);
}

static void bind_text(sqlite3_stmt *q, int i, const char *s)
{
	sqlite3_bind_text(q, i, s, -1, SQLITE_TRANSIENT);
}

int store_save(struct state *st, const struct session *s, const struct tunnel_conf *t)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (!st || !st->db)
		return 0; /* tests may run without state */
	rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO current VALUES "
	                        "(1,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	bind_text(q, 1, s->region);
	if (s->has_id)
		sqlite3_bind_blob(q, 2, s->id, MSG_ID_LEN, SQLITE_TRANSIENT);
	if (s->has_exit)
		sqlite3_bind_blob(q, 3, s->exit_key, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 4, (int)s->path);
	bind_text(q, 5, s->address);
	bind_text(q, 6, s->endpoint);
	bind_text(q, 7, t->address);
	if (t->has_peer)
		sqlite3_bind_blob(q, 8, t->peer, 32, SQLITE_TRANSIENT);
	bind_text(q, 9, t->endpoint);
	bind_text(q, 10, t->allowed);
	sqlite3_bind_int(q, 11, (int)t->keepalive);
	bind_text(q, 12, t->routed);
	sqlite3_bind_int(q, 13, t->rules);
	bind_text(q, 14, t->bypass_sn);
	bind_text(q, 15, t->bypass_ep);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static void col_text(sqlite3_stmt *q, int i, char *out, size_t size)
{
	const unsigned char *v = sqlite3_column_text(q, i);

	snprintf(out, size, "%s", v ? (const char *)v : "");
}

/* A blob of exactly len bytes, else absent. */
static int col_blob(sqlite3_stmt *q, int i, uint8_t *out, size_t len)
{
	const void *v = sqlite3_column_blob(q, i);

	if (!v || sqlite3_column_bytes(q, i) != (int)len)
		return 0;
	memcpy(out, v, len);
	return 1;
}

static void row_read(sqlite3_stmt *q, struct session *s, struct tunnel_conf *t)
{
	int path = sqlite3_column_int(q, 3);

	col_text(q, 0, s->region, sizeof(s->region));
	s->has_id = col_blob(q, 1, s->id, MSG_ID_LEN);
	s->has_exit = col_blob(q, 2, s->exit_key, 32);
	s->path = path >= CP_NONE && path <= CP_RELAY_CHAIN ? (enum cs_path)path : CP_NONE;
	col_text(q, 4, s->address, sizeof(s->address));
	col_text(q, 5, s->endpoint, sizeof(s->endpoint));
	col_text(q, 6, t->address, sizeof(t->address));
	t->has_peer = col_blob(q, 7, t->peer, 32);
	col_text(q, 8, t->endpoint, sizeof(t->endpoint));
	col_text(q, 9, t->allowed, sizeof(t->allowed));
	t->keepalive = (unsigned)sqlite3_column_int(q, 10) & 0xffff;
	col_text(q, 11, t->routed, sizeof(t->routed));
	t->rules = sqlite3_column_int(q, 12) != 0;
	col_text(q, 13, t->bypass_sn, sizeof(t->bypass_sn));
	col_text(q, 14, t->bypass_ep, sizeof(t->bypass_ep));
}

int store_load(struct state *st, struct session *s, struct tunnel_conf *t)
{
	sqlite3_stmt *q = NULL;
	int rc, ret = -EIO;

	if (!st || !st->db)
		return 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT region, session_id, exit_key, path, address,"
	                        " endpoint, t_address, t_peer, t_endpoint, t_allowed,"
	                        " t_keepalive, t_routed, t_rules, t_bypass_sn, t_bypass_ep"
	                        " FROM current WHERE k = 1", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		row_read(q, s, t);
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	}
	sqlite3_finalize(q);
	return ret;
}
