/* Config files and -o overrides: line parser, per-type value checks, dump.
 * Syntax: "key = value", '#' comments (whole line, or after whitespace),
 * blank lines; a value in "double quotes" keeps '#', surrounding spaces and,
 * written as \" and \\, quotes and backslashes. Pure: no I/O but load_file. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"

#define CONFIG_LINE_MAX 4096
#define CONFIG_FILE_MAX (1024 * 1024)

/* Changes parsed but not yet applied, so an error leaves the config as it was. */
struct config_stage {
	char *values[CONFIG_MAX_KEYS];
	char origin[CONFIG_MAX_KEYS][80];
};

static void config_err(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void config_err(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (!err || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

int config_init(struct config *c, const struct config_key *keys)
{
	size_t i, n = 0;

	memset(c, 0, sizeof(*c));
	while (keys[n].name)
		n++;
	if (n > CONFIG_MAX_KEYS)
		return -E2BIG;
	c->keys = keys;
	c->nkeys = n;
	for (i = 0; i < n; i++) {
		if (keys[i].def && !(c->values[i] = strdup(keys[i].def))) {
			config_release(c);
			return -ENOMEM;
		}
		snprintf(c->origin[i], sizeof(c->origin[i]), "default");
	}
	return 0;
}

void config_release(struct config *c)
{
	size_t i;

	for (i = 0; i < CONFIG_MAX_KEYS; i++) {
		free(c->values[i]);
		c->values[i] = NULL;
	}
}

static int config_find(const struct config *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i].name, key) == 0)
			return (int)i;
	return -1;
}

static bool parse_long(const char *s, long *out)
{
	char *end;

	/* strtol alone would take leading spaces and '+'. */
	if (!(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
		return false;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* 1 true, 0 false, -1 not a boolean. */
static int parse_bool(const char *s)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static bool valid_hostname(const char *h, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
			return false;
	return true;
}

static int parse_port(const char *s, uint16_t *port)
{
	long v;
	size_t i, len = strlen(s);

	if (len == 0 || len > 5)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
	if (!parse_long(s, &v) || v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int config_parse_addr(const char *text, char *host, size_t host_size, uint16_t *port)
{
	const char *h = text, *colon, *close;
	struct in6_addr a6;
	char v6[INET6_ADDRSTRLEN];
	size_t hlen;

	if (text[0] == '[') {
		close = strchr(text, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		h = text + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
		if (hlen == 0 || hlen >= sizeof(v6))
			return -EINVAL;
		memcpy(v6, h, hlen);
		v6[hlen] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1)
			return -EINVAL;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - text);
		/* Unbracketed v6 ("::1:80") is ambiguous: refuse it. */
		if (!valid_hostname(text, hlen))
			return -EINVAL;
	}
	if (hlen >= host_size || parse_port(colon + 1, port) < 0)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return 0;
}

/* Checks text against key k's type; on error writes what is wrong to why. */
static bool config_check(const struct config_key *k, const char *v, char *why, size_t size)
{
	char host[256];
	uint16_t port;
	long n, min = k->min, max = k->max;
	size_t i;

	switch (k->type) {
	case CFG_STR:
		return true;
	case CFG_INT:
		if (min == 0 && max == 0) {
			min = LONG_MIN;
			max = LONG_MAX;
		}
		if (parse_long(v, &n) && n >= min && n <= max)
			return true;
		snprintf(why, size, "'%s' must be an integer in %ld..%ld", k->name, min, max);
		return false;
	case CFG_BOOL:
		if (parse_bool(v) >= 0)
			return true;
		snprintf(why, size, "'%s' must be yes/no, true/false, on/off or 1/0", k->name);
		return false;
	case CFG_ADDR:
		if (config_parse_addr(v, host, sizeof(host), &port) == 0)
			return true;
		snprintf(why, size, "'%s' must be host:port or [v6]:port, port 1..65535", k->name);
		return false;
	case CFG_PATH:
		for (i = 0; v[i]; i++)
			if ((unsigned char)v[i] < 0x20)
				break;
		if (i > 0 && v[i] == '\0')
			return true;
		snprintf(why, size, "'%s' must be a non-empty path", k->name);
		return false;
	}
	snprintf(why, size, "'%s' has an unknown type", k->name);
	return false;
}

/* Checks and stages key=value; 0, -EINVAL (why says what) or -ENOMEM. */
static int config_stage_set(const struct config *c, struct config_stage *st, const char *key,
                            const char *value, const char *origin, char *why, size_t size)
{
	int i = config_find(c, key);
	char *copy;

	if (i < 0) {
		snprintf(why, size, "unknown key '%.64s'", key);
		return -EINVAL;
	}
	if (strlen(value) > CONFIG_VALUE_MAX) {
		snprintf(why, size, "value of '%s' too long (max %d)", key, CONFIG_VALUE_MAX);
		return -EINVAL;
	}
	/* Only -o can carry one; a file could not, and dump would break. */
	if (strchr(value, '\n')) {
		snprintf(why, size, "newline in value of '%s'", key);
		return -EINVAL;
	}
	if (!config_check(&c->keys[i], value, why, size))
		return -EINVAL;
	if (!(copy = strdup(value))) {
		snprintf(why, size, "out of memory");
		return -ENOMEM;
	}
	free(st->values[i]);
	st->values[i] = copy;
	snprintf(st->origin[i], sizeof(st->origin[i]), "%s", origin);
	return 0;
}

/* Applies staged values (ret == 0) or drops them; frees the stage either way. */
static void config_stage_end(struct config *c, struct config_stage *st, int ret)
{
	size_t i;

	for (i = 0; i < CONFIG_MAX_KEYS; i++) {
		if (!st->values[i])
			continue;
		if (ret == 0) {
			free(c->values[i]);
			c->values[i] = st->values[i];
			memcpy(c->origin[i], st->origin[i], sizeof(c->origin[i]));
		} else {
			free(st->values[i]);
		}
	}
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* A quoted value from *p (just past the opening quote) into out. */
static int parse_quoted(const char *p, const char *end, char *out, size_t out_size,
                        char *why, size_t size)
{
	size_t n = 0;

	for (; p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
			p++;
		if (n + 1 >= out_size) {
			snprintf(why, size, "value too long (max %d)", CONFIG_VALUE_MAX);
			return -EINVAL;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
	if (p == end) {
		snprintf(why, size, "unterminated quote");
		return -EINVAL;
	}
	for (p++; p < end && is_blank(*p); p++)
		;
	if (p < end && *p != '#') {
		snprintf(why, size, "unexpected text after closing quote");
		return -EINVAL;
	}
	return 0;
}

/* The value part of a line, [p, end), into out: quotes and comments handled. */
static int parse_value(const char *p, const char *end, char *out, size_t out_size,
                       char *why, size_t size)
{
	const char *q;
	size_t n;

	while (p < end && is_blank(*p))
		p++;
	if (p < end && *p == '"')
		return parse_quoted(p + 1, end, out, out_size, why, size);
	/* A '#' starts a comment only at the start or after whitespace, so
	 * "key = a#b" keeps its '#'. */
	for (q = p; q < end; q++)
		if (*q == '#' && (q == p || is_blank(q[-1])))
			break;
	while (q > p && is_blank(q[-1]))
		q--;
	n = (size_t)(q - p);
	if (n >= out_size) {
		snprintf(why, size, "value too long (max %d)", CONFIG_VALUE_MAX);
		return -EINVAL;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* One line [p, end) without its newline; blank and comment lines stage nothing. */
static int config_parse_line(const struct config *c, struct config_stage *st, const char *p,
                             const char *end, const char *origin, char *why, size_t size)
{
	char key[128], value[CONFIG_VALUE_MAX + 2];
	const char *eq, *kend;
	int ret;

	if ((size_t)(end - p) > CONFIG_LINE_MAX) {
		snprintf(why, size, "line too long (max %d)", CONFIG_LINE_MAX);
		return -EINVAL;
	}
	if (memchr(p, '\0', (size_t)(end - p))) {
		snprintf(why, size, "NUL byte in line");
		return -EINVAL;
	}
	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p == '#')
		return 0;
	eq = memchr(p, '=', (size_t)(end - p));
	for (kend = eq ? eq : p; kend > p && is_blank(kend[-1]); kend--)
		;
	if (!eq || kend == p) {
		snprintf(why, size, "expected 'key = value'");
		return -EINVAL;
	}
	if ((size_t)(kend - p) >= sizeof(key)) {
		snprintf(why, size, "unknown key '%.64s'", p);
		return -EINVAL;
	}
	memcpy(key, p, (size_t)(kend - p));
	key[kend - p] = '\0';
	ret = parse_value(eq + 1, end, value, sizeof(value), why, size);
	if (ret == 0)
		ret = config_stage_set(c, st, key, value, origin, why, size);
	return ret;
}

int config_parse_buf(struct config *c, const char *buf, size_t len, const char *file,
                     char *err, size_t err_size)
{
	struct config_stage st = { 0 };
	const char *p = buf, *end = buf + len, *nl, *lend;
	char origin[sizeof(st.origin[0])], why[256];
	unsigned line = 0;
	int ret = 0;

	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		lend = nl ? nl : end;
		/* CRLF files parse the same as LF ones. */
		if (lend > p && lend[-1] == '\r')
			lend--;
		snprintf(origin, sizeof(origin), "%s:%u", file, line);
		ret = config_parse_line(c, &st, p, lend, origin, why, sizeof(why));
		if (ret < 0) {
			config_err(err, err_size, "%s:%u: %s", file, line, why);
			break;
		}
		p = nl ? nl + 1 : end;
	}
	config_stage_end(c, &st, ret);
	return ret == -ENOMEM ? ret : ret < 0 ? -EINVAL : 0;
}

/* Reads at most CONFIG_FILE_MAX bytes; -EFBIG if there are more. */
static int read_capped(int fd, char *buf, size_t *len)
{
	size_t n = 0;
	ssize_t r;

	for (;;) {
		r = read(fd, buf + n, CONFIG_FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CONFIG_FILE_MAX)
			return -EFBIG;
	}
	*len = n;
	return 0;
}

int config_load_file(struct config *c, const char *path, char *err, size_t err_size)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	/* One byte more than the cap tells "too big" from "exactly the cap". */
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	ret = read_capped(fd, buf, &len);
	if (ret == 0)
		ret = config_parse_buf(c, buf, len, path, err, err_size);
	else if (ret == -EFBIG)
		config_err(err, err_size, "%s: file too large (max %d bytes)", path, CONFIG_FILE_MAX);
out:
	if (ret < 0 && ret != -EINVAL && ret != -EFBIG)
		config_err(err, err_size, "%s: %s", path, strerror(-ret));
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* "key=value" as typed after -o: whitespace around key and value is trimmed,
 * nothing else is interpreted, since the shell already did the quoting. */
int config_set_override(struct config *c, const char *kv, char *err, size_t err_size)
{
	struct config_stage st = { 0 };
	char key[128], why[256];
	const char *eq = strchr(kv, '='), *v, *p = kv, *kend, *vend;
	char *value = NULL;
	int ret = -EINVAL;

	while (is_blank(*p))
		p++;
	for (kend = eq ? eq : p; kend > p && is_blank(kend[-1]); kend--)
		;
	if (!eq || kend == p || (size_t)(kend - p) >= sizeof(key)) {
		config_err(err, err_size, "-o %.64s: expected key=value", kv);
		goto out;
	}
	memcpy(key, p, (size_t)(kend - p));
	key[kend - p] = '\0';
	for (v = eq + 1; is_blank(*v); v++)
		;
	for (vend = v + strlen(v); vend > v && is_blank(vend[-1]); vend--)
		;
	value = strndup(v, (size_t)(vend - v));
	if (!value) {
		ret = -ENOMEM;
		goto out;
	}
	ret = config_stage_set(c, &st, key, value, "-o", why, sizeof(why));
	if (ret < 0)
		config_err(err, err_size, "-o: %s", why);
	config_stage_end(c, &st, ret);
out:
	free(value);
	return ret;
}

const char *config_get(const struct config *c, const char *key)
{
	int i = config_find(c, key);

	return i < 0 ? NULL : c->values[i];
}

long config_get_int(const struct config *c, const char *key)
{
	const char *v = config_get(c, key);
	long n;

	return v && parse_long(v, &n) ? n : 0;
}

int config_get_bool(const struct config *c, const char *key)
{
	const char *v = config_get(c, key);

	return v && parse_bool(v) == 1;
}

/* Plain when the value reads back the same unquoted, else "quoted". */
static void dump_value(const char *v, FILE *f)
{
	size_t len = strlen(v);
	bool plain = len > 0 && !is_blank(v[0]) && !is_blank(v[len - 1]) && v[0] != '"' &&
	             !strchr(v, '#');

	if (plain) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', f);
		fputc(*v, f);
	}
	fputc('"', f);
}

void config_dump(const struct config *c, FILE *f)
{
	size_t i;

	for (i = 0; i < c->nkeys; i++) {
		if (!c->values[i]) {
			fprintf(f, "# %s (unset)\n", c->keys[i].name);
			continue;
		}
		fprintf(f, "%s = ", c->keys[i].name);
		dump_value(c->values[i], f);
		fprintf(f, "  # %s\n", c->origin[i]);
	}
}
