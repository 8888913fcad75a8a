/* Each daemon's persistent state: one SQLite database in its state directory,
 * WAL mode, schema created or upgraded at open (DESIGN section 8). */
#ifndef SM_STATE_H
#define SM_STATE_H

#include <sqlite3.h>

struct state {
	sqlite3 *db;
};

/* Opens (creating) path with WAL journaling, busy timeout and foreign keys,
 * then runs `schema` (SQL statements, CREATE ... IF NOT EXISTS) in one
 * transaction. The file is made mode 0600. Returns 0 or a negative errno
 * (-ENOTSUP if WAL is refused, e.g. ":memory:"); err gets the message and
 * nothing is left open. */
int state_open(struct state *st, const char *path, const char *schema,
               char *err, size_t err_size);
void state_close(struct state *st);

/* Runs SQL with no result rows (BEGIN, COMMIT, DDL). 0 or -EIO. */
int state_exec(struct state *st, const char *sql);

#endif
