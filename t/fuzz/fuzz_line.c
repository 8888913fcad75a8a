/* Fuzzes the line protocol: the reader over the input cut in two at a point
 * the input chooses, split and dispatch of every line over a tiny table, and
 * the reply builder and parser on what comes back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "line.h"
#include "verb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void v_echo(void *ctx, int argc, char **argv, struct line_reply *r)
{
	int i;

	for (i = 0; i < argc; i++)
		line_reply_kv(r, "w", argv[i]);
}

static void v_fail(void *ctx, int argc, char **argv, struct line_reply *r)
{
	line_reply_err(r, LINE_EINVAL, "bad '%s'", argv[0]);
}

static const struct verb table[] = {
	{ "echo", 0, -1, v_echo, "[WORD...]" },
	{ "peer add", 1, 3, v_echo, "NAME [KEY [PORT]]" },
	{ "peer", 1, 1, v_fail, "NAME" },
	{ "fail", 1, 1, v_fail, "THING" },
	{ NULL, 0, 0, NULL, NULL },
};

static void check_reply(struct line_reply *r)
{
	const char *text = line_reply_finish(r);
	char code[32], msg[LINE_MAX_LEN + 1];
	size_t len = strlen(text);
	int rc;

	/* One line, newline-terminated, never over the limit. */
	if (len != r->len || len == 0 || len > LINE_MAX_LEN || text[len - 1] != '\n' ||
	    memchr(text, '\n', len - 1))
		abort();
	rc = line_reply_parse(text, code, sizeof(code), msg, sizeof(msg));
	if (rc != (r->is_err ? 0 : 1))
		abort();
}

static int on_line(void *arg, char *line, size_t len)
{
	struct line_reply reply;
	char copy[LINE_MAX_LEN + 1], code[8];
	char *argv[LINE_MAX_ARGS];
	const char *err;
	int argc, i;

	if (!line)
		return 0;
	if (len > LINE_MAX_LEN || line[len] != '\0')
		abort();
	/* Words that split gives back escape and split to the same words. */
	memcpy(copy, line, len + 1);
	argc = line_split(copy, len, argv, LINE_MAX_ARGS, &err);
	for (i = 0; i < argc; i++) {
		char esc[4 * LINE_MAX_LEN + 1] = "", *av2[2];

		if (line_escape(esc, sizeof(esc), argv[i]) < 0)
			abort();
		if (strlen(esc) > LINE_MAX_LEN)
			continue; /* fine, but too long to be a line again */
		if (line_split(esc, strlen(esc), av2, 2, &err) != 1 ||
		    strcmp(av2[0], argv[i]))
			abort();
	}
	line_reply_parse(line, code, sizeof(code), NULL, 0); /* any line */
	verb_dispatch_line(table, arg, line, len, &reply);
	check_reply(&reply);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line_reader lr;
	size_t cut;

	if (size == 0)
		return 0;
	cut = data[0] % size;
	line_reader_init(&lr);
	line_reader_feed(&lr, (const char *)data + 1, cut, on_line, NULL);
	line_reader_feed(&lr, (const char *)data + 1 + cut, size - 1 - cut, on_line, NULL);
	return 0;
}
