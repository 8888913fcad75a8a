/* Helper line protocol (DESIGN section 7): tokenizer, reply formatting and an
 * incremental line reader. Pure: no I/O, no allocation beyond what is passed. */
#ifndef SM_LINE_H
#define SM_LINE_H

#include <stddef.h>

#define LINE_MAX_LEN 4096 /* bytes per request or reply line, newline included */
#define LINE_MAX_ARGS 64

/* Reply error codes: the word after "err". */
#define LINE_EUSAGE "usage"       /* unknown verb, missing or extra words */
#define LINE_EINVAL "inval"       /* a word is not a valid address, key, port... */
#define LINE_ENOENT "notfound"    /* the named object does not exist */
#define LINE_ETOOLONG "toolong"   /* line over LINE_MAX_LEN */
#define LINE_EPERM "perm"         /* caller not allowed */
#define LINE_EBUSY "busy"         /* try again later */
#define LINE_ESYS "system"        /* the kernel or a library refused */

/*
 * Splits one line (without its newline; line[len] must be writable, as in a
 * NUL-terminated line) in place into words separated by one
 * or more spaces. A word may hold escapes: "\\" for a backslash, "\xHH" for a
 * byte (not NUL, two hex digits). Control bytes (below 0x20, and 0x7f) are
 * refused; tabs are not separators. An empty line, or one of only spaces, has no
 * verb and is refused. Returns the number of words (>= 1) or a negative errno
 * with *err set to a static text: -EMSGSIZE over LINE_MAX_LEN or more than
 * LINE_MAX_ARGS words, -EINVAL bad escape or control byte, -ENODATA no verb.
 */
int line_split(char *line, size_t len, char **argv, int max_args, const char **err);

/* Appends `word` to buf with spaces, backslashes and control bytes escaped so
 * line_split gives it back. Returns 0 or -EMSGSIZE (buf left NUL-terminated). */
int line_escape(char *buf, size_t size, const char *word);

/*
 * Reply building. A reply starts with line_reply_ok() or line_reply_err() and
 * may get key=value pairs (ok only). The result is always one line ending in
 * '\n' and NUL-terminated; if it would overflow, it is replaced by
 * "err toolong reply too long\n". Values are escaped with line_escape().
 */
struct line_reply {
	char buf[LINE_MAX_LEN + 1];
	size_t len;
	int is_err;
	int overflow;
};

void line_reply_ok(struct line_reply *r);
void line_reply_kv(struct line_reply *r, const char *key, const char *value);
void line_reply_kvf(struct line_reply *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void line_reply_err(struct line_reply *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Finishes the reply (adds '\n'); returns the text to send. */
const char *line_reply_finish(struct line_reply *r);

/* Parses a reply line: returns 1 for ok, 0 for err (code and message copied
 * out when non-NULL), negative errno when it is neither. */
int line_reply_parse(const char *line, char *code, size_t code_size,
                     char *msg, size_t msg_size);
/* The value of the first key=value word of a reply line (after its first
 * word), unescaped, into out: 0, or -ENOENT (absent, or too long). */
int line_reply_value(const char *line, const char *key, char *out, size_t size);

/*
 * Incremental line reader over a byte stream split anywhere. Calls cb once per
 * whole line (without the '\n', NUL-terminated, a trailing '\r' removed). A
 * line longer than LINE_MAX_LEN calls cb with line == NULL and len == 0 once,
 * then is skipped up to its newline. cb returning non-zero stops the feed and
 * line_reader_feed returns that value.
 */
typedef int (*line_cb)(void *arg, char *line, size_t len);

struct line_reader {
	char buf[LINE_MAX_LEN + 1];
	size_t len;
	int skipping;
};

void line_reader_init(struct line_reader *lr);
int line_reader_feed(struct line_reader *lr, const char *data, size_t len,
                     line_cb cb, void *arg);

#endif
