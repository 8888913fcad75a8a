/* Table-driven verb dispatch for the helpers and every admin socket. */
#ifndef SM_VERB_H
#define SM_VERB_H

#include <stdio.h>
#include "line.h"

/*
 * One verb. `name` is one or two words ("list", "peer add"); min_args and
 * max_args count the words after the name (max_args -1: no limit); the handler
 * gets only those words (argv[0] is the first word after the name) and a reply
 * already set to plain "ok". The handler fills the reply
 * (line_reply_ok/line_reply_err) and returns 0, or a negative errno after
 * filling an err reply. A handler must leave nothing half-applied on error.
 */
struct verb {
	const char *name;
	int min_args;
	int max_args;
	void (*fn)(void *ctx, int argc, char **argv, struct line_reply *reply);
	const char *usage; /* words after the name, e.g. "NAME PUBKEY [keepalive S]" */
};

/* Finds the verb for argv (matching one- or two-word names, longest first),
 * checks the word count and calls it. Unknown verbs and bad counts get an
 * "err usage ..." reply naming the verb's usage. Table ends with {NULL}. */
void verb_dispatch(const struct verb *table, void *ctx, int argc, char **argv,
                   struct line_reply *reply);

/* Splits `line` and dispatches it: the one call a server makes per line. */
void verb_dispatch_line(const struct verb *table, void *ctx, char *line, size_t len,
                        struct line_reply *reply);

/* Prints "  name usage" for each verb, for -h output. */
void verb_print_usage(const struct verb *table, FILE *f);

#endif
