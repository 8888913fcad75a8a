/* Helper line protocol: the tokenizer, reply builder, reply parser and the
 * incremental line reader. Pure byte handling, so it is fuzzed directly. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "line.h"

#define REPLY_TOOLONG "err " LINE_ETOOLONG " reply too long\n"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Decodes one escape at line[*r] (a backslash) into *out; advances *r. */
static int unescape(const char *line, size_t len, size_t *r, char *out)
{
	size_t i = *r;
	int hi, lo;

	if (i + 1 < len && line[i + 1] == '\\') {
		*out = '\\';
		*r = i + 2;
		return 0;
	}
	if (i + 3 >= len || line[i + 1] != 'x')
		return -EINVAL;
	hi = hexval(line[i + 2]);
	lo = hexval(line[i + 3]);
	if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
		return -EINVAL;
	*out = (char)(hi << 4 | lo);
	*r = i + 4;
	return 0;
}

/*
 * Words are decoded in place: an escape only ever shrinks, so the write
 * position never passes the read position. The terminating NUL of the last
 * word may land on line[len], so line must have len + 1 bytes (as the line
 * reader's NUL-terminated lines do).
 */
int line_split(char *line, size_t len, char **argv, int max_args, const char **err)
{
	size_t r = 0, w = 0;
	int argc = 0;

	if (len > LINE_MAX_LEN) {
		*err = "line too long";
		return -EMSGSIZE;
	}
	while (r < len) {
		while (r < len && line[r] == ' ')
			r++;
		if (r == len)
			break;
		if (argc >= max_args || argc >= LINE_MAX_ARGS) {
			*err = "too many words";
			return -EMSGSIZE;
		}
		argv[argc++] = line + w;
		while (r < len && line[r] != ' ') {
			unsigned char c = (unsigned char)line[r];

			if (is_ctl(c)) {
				*err = "control byte in line";
				return -EINVAL;
			}
			if (c != '\\') {
				line[w++] = line[r++];
				continue;
			}
			if (unescape(line, len, &r, &line[w]) < 0) {
				*err = "bad escape";
				return -EINVAL;
			}
			w++;
		}
		/* Step over the space we stopped on first: w may equal r. */
		if (r < len)
			r++;
		line[w++] = '\0';
	}
	if (argc == 0) {
		*err = "empty line";
		return -ENODATA;
	}
	return argc;
}

/* Appends bytes of `word`; `all` also escapes spaces and backslashes (words),
 * otherwise only control bytes (free text that must stay on one line). */
static int append_escaped(char *buf, size_t size, size_t *pos, const char *word, int all)
{
	static const char hex[] = "0123456789abcdef";
	size_t p = *pos;
	const unsigned char *s;

	for (s = (const unsigned char *)word; *s; s++) {
		char esc[4];
		size_t n = 1;

		esc[0] = (char)*s;
		if (is_ctl(*s) || (all && *s == ' ')) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[*s >> 4];
			esc[3] = hex[*s & 0xf];
			n = 4;
		} else if (all && *s == '\\') {
			esc[1] = '\\';
			n = 2;
		}
		if (p + n >= size)
			return -EMSGSIZE;
		memcpy(buf + p, esc, n);
		p += n;
	}
	buf[p] = '\0';
	*pos = p;
	return 0;
}

int line_escape(char *buf, size_t size, const char *word)
{
	size_t start, pos;

	if (size == 0)
		return -EMSGSIZE;
	start = strnlen(buf, size);
	if (start == size)
		return -EMSGSIZE;
	pos = start;
	if (append_escaped(buf, size, &pos, word, 1) < 0) {
		buf[start] = '\0'; /* no half word */
		return -EMSGSIZE;
	}
	return 0;
}

/* Room for the text: one byte is kept for the '\n' that finish adds. */
#define REPLY_ROOM LINE_MAX_LEN

static void reply_append(struct line_reply *r, const char *s, int all)
{
	if (r->overflow)
		return;
	if (append_escaped(r->buf, REPLY_ROOM, &r->len, s, all) < 0) {
		r->overflow = 1;
		r->buf[r->len] = '\0';
	}
}

void line_reply_ok(struct line_reply *r)
{
	memcpy(r->buf, "ok", 3);
	r->len = 2;
	r->is_err = 0;
	r->overflow = 0;
}

void line_reply_kv(struct line_reply *r, const char *key, const char *value)
{
	if (r->is_err)
		return;
	reply_append(r, " ", 0);
	reply_append(r, key, 1);
	reply_append(r, "=", 0);
	reply_append(r, value, 1);
}

void line_reply_kvf(struct line_reply *r, const char *key, const char *fmt, ...)
{
	char value[LINE_MAX_LEN + 1];
	va_list ap;
	int n;

	if (r->is_err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(value)) {
		r->overflow = 1;
		return;
	}
	line_reply_kv(r, key, value);
}

void line_reply_err(struct line_reply *r, const char *code, const char *fmt, ...)
{
	char msg[LINE_MAX_LEN + 1];
	va_list ap;
	int n;

	memcpy(r->buf, "err ", 5);
	r->len = 4;
	r->is_err = 1;
	r->overflow = 0;
	reply_append(r, code, 1);
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		r->overflow = 1;
		return;
	}
	if (n > 0) {
		reply_append(r, " ", 0);
		reply_append(r, msg, 0);
	}
}

const char *line_reply_finish(struct line_reply *r)
{
	/* Text never holds a raw '\n', so a trailing one means already done. */
	if (r->len > 0 && r->buf[r->len - 1] == '\n' && !r->overflow)
		return r->buf;
	if (r->overflow) {
		r->len = sizeof(REPLY_TOOLONG) - 1;
		memcpy(r->buf, REPLY_TOOLONG, r->len + 1);
		r->is_err = 1;
		r->overflow = 0;
		return r->buf;
	}
	r->buf[r->len++] = '\n';
	r->buf[r->len] = '\0';
	return r->buf;
}

static void copy_out(char *dst, size_t size, const char *src, size_t n)
{
	if (!dst || size == 0)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int line_reply_value(const char *line, const char *key, char *out, size_t size)
{
	char copy[LINE_MAX_LEN + 1], *argv[LINE_MAX_ARGS];
	size_t klen = strlen(key);
	const char *why;
	int n, i;

	snprintf(copy, sizeof(copy), "%s", line);
	n = line_split(copy, strlen(copy), argv, LINE_MAX_ARGS, &why);
	for (i = 1; i < n; i++) {
		if (strncmp(argv[i], key, klen) || argv[i][klen] != '=')
			continue;
		if (snprintf(out, size, "%s", argv[i] + klen + 1) >= (int)size)
			return -ENOENT;
		return 0;
	}
	return -ENOENT;
}

int line_reply_parse(const char *line, char *code, size_t code_size,
                     char *msg, size_t msg_size)
{
	size_t n = strcspn(line, "\r\n"), c;
	const char *p;

	if (n >= 2 && !strncmp(line, "ok", 2) && (n == 2 || line[2] == ' '))
		return 1;
	if (n < 5 || strncmp(line, "err ", 4) != 0)
		return -EPROTO;
	p = line + 4;
	n -= 4;
	c = strcspn(p, " \r\n");
	if (c == 0)
		return -EPROTO;
	copy_out(code, code_size, p, c);
	if (c < n)
		copy_out(msg, msg_size, p + c + 1, n - c - 1);
	else
		copy_out(msg, msg_size, "", 0);
	return 0;
}

void line_reader_init(struct line_reader *lr)
{
	lr->len = 0;
	lr->skipping = 0;
	lr->buf[0] = '\0';
}

/* Adds n bytes of a line; on overflow reports it once and starts skipping. */
static int reader_add(struct line_reader *lr, const char *p, size_t n,
                      line_cb cb, void *arg)
{
	if (lr->skipping)
		return 0;
	if (lr->len + n > LINE_MAX_LEN) {
		lr->len = 0;
		lr->skipping = 1;
		return cb(arg, NULL, 0);
	}
	memcpy(lr->buf + lr->len, p, n);
	lr->len += n;
	return 0;
}

int line_reader_feed(struct line_reader *lr, const char *data, size_t len,
                     line_cb cb, void *arg)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		int rc;

		rc = reader_add(lr, data, n, cb, arg);
		if (rc)
			return rc;
		if (!nl)
			return 0;
		data += n + 1;
		len -= n + 1;
		if (lr->skipping) {
			/* The end of an overlong line: drop it, next line is fresh. */
			lr->skipping = 0;
			lr->len = 0;
			continue;
		}
		n = lr->len;
		if (n > 0 && lr->buf[n - 1] == '\r')
			n--;
		lr->buf[n] = '\0';
		lr->len = 0;
		rc = cb(arg, lr->buf, n);
		if (rc)
			return rc;
	}
	return 0;
}
