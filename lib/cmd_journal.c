/* Receiver's journal of applied commands (DESIGN section 4): the response
 * given for each command id, kept in the daemon's SQLite state so that a
 * resent command is answered again, not applied again. */
#include <errno.h>
#include <string.h>
#include "clock.h"
#include "command.h"

const char CMD_JOURNAL_SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS applied_commands ("
	"id BLOB PRIMARY KEY, ok INTEGER, error TEXT, result BLOB, at INTEGER);";

static int64_t now_s(void)
{
	return (int64_t)(clock_wall_ms() / 1000);
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence:
 * the text goes back out in a protobuf string. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return n;
	n = max;
	/* Back off continuation bytes, then the lead byte they belonged to. */
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

static int prepare(struct state *st, const char *sql, sqlite3_stmt **stmt)
{
	if (!st || !st->db)
		return -EINVAL;
	return sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* Copies a stored row into out; a row too big for it is corrupt. */
static int row_to_outcome(sqlite3_stmt *stmt, struct cmd_outcome *out)
{
	const unsigned char *err = sqlite3_column_text(stmt, 1);
	int err_len = sqlite3_column_bytes(stmt, 1);
	const void *res = sqlite3_column_blob(stmt, 2);
	int res_len = sqlite3_column_bytes(stmt, 2);
	size_t n;

	if (res_len < 0 || (size_t)res_len > sizeof(out->result) || (res_len && !res))
		return -EIO;
	memset(out, 0, sizeof(*out));
	out->ok = sqlite3_column_int(stmt, 0) != 0;
	if (err && err_len > 0) {
		n = utf8_cut((const char *)err, sizeof(out->error) - 1);
		memcpy(out->error, err, n);
	}
	if (res_len)
		memcpy(out->result, res, (size_t)res_len);
	out->result_len = (size_t)res_len;
	return 0;
}

int cmd_journal_find(struct state *st, const uint8_t id[MSG_ID_LEN], struct cmd_outcome *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc, ret;

	if (!id || !out)
		return -EINVAL;
	ret = prepare(st, "SELECT ok, error, result FROM applied_commands WHERE id = ?", &stmt);
	if (ret < 0)
		return ret;
	if (sqlite3_bind_blob(stmt, 1, id, MSG_ID_LEN, SQLITE_STATIC) != SQLITE_OK) {
		ret = -EIO;
		goto out;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		ret = 0;
	else if (rc == SQLITE_ROW)
		ret = row_to_outcome(stmt, out) < 0 ? -EIO : 1;
	else
		ret = -EIO;
out:
	sqlite3_finalize(stmt);
	return ret;
}

int cmd_journal_store(struct state *st, const uint8_t id[MSG_ID_LEN],
                      const struct cmd_outcome *o)
{
	sqlite3_stmt *stmt = NULL;
	int ret;

	if (!id || !o || o->result_len > sizeof(o->result))
		return -EINVAL;
	ret = prepare(st, "INSERT OR REPLACE INTO applied_commands (id, ok, error, result, at) "
	                  "VALUES (?, ?, ?, ?, ?)", &stmt);
	if (ret < 0)
		return ret;
	/* The error need not be terminated: it is cut inside its array. */
	if (sqlite3_bind_blob(stmt, 1, id, MSG_ID_LEN, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(stmt, 2, o->ok ? 1 : 0) != SQLITE_OK ||
	    sqlite3_bind_text(stmt, 3, o->error, (int)utf8_cut(o->error, sizeof(o->error) - 1),
	                      SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(stmt, 4, o->result, (int)o->result_len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 5, now_s()) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_DONE)
		ret = -EIO;
	sqlite3_finalize(stmt);
	return ret;
}

int cmd_journal_expire(struct state *st, int64_t max_age_s)
{
	sqlite3_stmt *stmt = NULL;
	int ret;

	if (max_age_s < 0)
		return -EINVAL;
	ret = prepare(st, "DELETE FROM applied_commands WHERE at < ?", &stmt);
	if (ret < 0)
		return ret;
	if (sqlite3_bind_int64(stmt, 1, now_s() - max_age_s) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_DONE)
		ret = -EIO;
	sqlite3_finalize(stmt);
	return ret;
}
