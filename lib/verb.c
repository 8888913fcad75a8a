/* Verb tables: finds a request's verb (one or two words), checks its word
 * count and calls its handler, so every helper gets the same usage errors. */
#include <errno.h>
#include <string.h>
#include "verb.h"

/* Number of words in a verb name: 1 or 2. */
static int name_words(const char *name)
{
	return strchr(name, ' ') ? 2 : 1;
}

/* Does the two-word `name` match argv[0] argv[1]? */
static int match2(const char *name, char **argv)
{
	const char *sp = strchr(name, ' ');
	size_t n;

	if (!sp)
		return 0;
	n = (size_t)(sp - name);
	return strlen(argv[0]) == n && !strncmp(name, argv[0], n) &&
	       !strcmp(sp + 1, argv[1]);
}

static const struct verb *verb_find(const struct verb *table, int argc, char **argv)
{
	const struct verb *v;

	/* Two-word names first, so "peer add" wins over a plain "peer". */
	if (argc >= 2)
		for (v = table; v->name; v++)
			if (match2(v->name, argv))
				return v;
	for (v = table; v->name; v++)
		if (name_words(v->name) == 1 && !strcmp(v->name, argv[0]))
			return v;
	return NULL;
}

/* Is argv0 the first word of some two-word verb? Then name both words. */
static int is_prefix(const struct verb *table, const char *argv0)
{
	const struct verb *v;
	size_t n = strlen(argv0);

	for (v = table; v->name; v++)
		if (name_words(v->name) == 2 && !strncmp(v->name, argv0, n) &&
		    v->name[n] == ' ')
			return 1;
	return 0;
}

static void reply_unknown(const struct verb *table, int argc, char **argv,
                          struct line_reply *reply)
{
	char w0[LINE_MAX_LEN / 2] = "", w1[LINE_MAX_LEN / 2] = "";

	/* The verb is echoed escaped, so hostile bytes cannot break the line. */
	if (line_escape(w0, sizeof(w0), argv[0]) < 0 ||
	    (argc >= 2 && is_prefix(table, argv[0]) &&
	     line_escape(w1, sizeof(w1), argv[1]) < 0)) {
		line_reply_err(reply, LINE_EUSAGE, "unknown verb (too long to show)");
		return;
	}
	line_reply_err(reply, LINE_EUSAGE, "unknown verb '%s%s%s'", w0, *w1 ? " " : "", w1);
}

void verb_dispatch(const struct verb *table, void *ctx, int argc, char **argv,
                   struct line_reply *reply)
{
	const struct verb *v;
	int nargs;

	if (argc < 1) {
		line_reply_err(reply, LINE_EUSAGE, "no verb");
		return;
	}
	v = verb_find(table, argc, argv);
	if (!v) {
		reply_unknown(table, argc, argv, reply);
		return;
	}
	nargs = argc - name_words(v->name);
	/* max_args < 0: no upper limit. */
	if (nargs < v->min_args || (v->max_args >= 0 && nargs > v->max_args)) {
		line_reply_err(reply, LINE_EUSAGE, "%s%s%s", v->name,
		               v->usage && *v->usage ? " " : "",
		               v->usage ? v->usage : "");
		return;
	}
	/* A handler that forgets to fill the reply answers "ok". */
	line_reply_ok(reply);
	v->fn(ctx, nargs, argv + name_words(v->name), reply);
}

void verb_dispatch_line(const struct verb *table, void *ctx, char *line, size_t len,
                        struct line_reply *reply)
{
	char *argv[LINE_MAX_ARGS];
	const char *err = "";
	int argc;

	argc = line_split(line, len, argv, LINE_MAX_ARGS, &err);
	if (argc == -EMSGSIZE && len > LINE_MAX_LEN)
		line_reply_err(reply, LINE_ETOOLONG, "line over %d bytes", LINE_MAX_LEN);
	else if (argc == -EINVAL)
		line_reply_err(reply, LINE_EINVAL, "%s", err);
	else if (argc < 0)
		line_reply_err(reply, LINE_EUSAGE, "%s", err);
	else
		verb_dispatch(table, ctx, argc, argv, reply);
}

void verb_print_usage(const struct verb *table, FILE *f)
{
	const struct verb *v;

	for (v = table; v->name; v++)
		fprintf(f, "  %s%s%s\n", v->name, v->usage && *v->usage ? " " : "",
		        v->usage ? v->usage : "");
}
