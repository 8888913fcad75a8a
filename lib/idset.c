/* Peer id sets and the allow-list text parser (idset.h). Pure but for
 * reading the allow-list file. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "idset.h"

#define ALLOW_FILE_MAX (1024 * 1024)

int id_set_has(const struct id_set *s, const uint8_t id[ID_PK_LEN])
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (memcmp(s->ids[i], id, ID_PK_LEN) == 0)
			return 1;
	return 0;
}

/* Appends id, duplicate or not. */
static int id_set_push(struct id_set *s, const uint8_t id[ID_PK_LEN])
{
	uint8_t (*grown)[ID_PK_LEN];

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		if (!(grown = realloc(s->ids, cap * sizeof(*grown))))
			return -ENOMEM;
		s->ids = grown;
		s->cap = cap;
	}
	memcpy(s->ids[s->n++], id, ID_PK_LEN);
	return 0;
}

int id_set_add(struct id_set *s, const uint8_t id[ID_PK_LEN])
{
	if (id_set_has(s, id))
		return -EEXIST;
	return id_set_push(s, id);
}

int id_set_del(struct id_set *s, const uint8_t id[ID_PK_LEN])
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (memcmp(s->ids[i], id, ID_PK_LEN) != 0)
			continue;
		memmove(s->ids[i], s->ids[i + 1], (s->n - i - 1) * ID_PK_LEN);
		s->n--;
		return 0;
	}
	return -ENOENT;
}

void id_set_release(struct id_set *s)
{
	free(s->ids);
	memset(s, 0, sizeof(*s));
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int id_parse(const char *text, uint8_t id[ID_PK_LEN])
{
	size_t i;
	int hi, lo;

	if (strlen(text) != 2 * ID_PK_LEN)
		return key_from_base64(text, id);
	for (i = 0; i < ID_PK_LEN; i++) {
		hi = hex_nibble(text[2 * i]);
		lo = hex_nibble(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* One line [p, end); blank and comment lines add nothing. */
static int allow_line(const char *p, const char *end, struct id_set *set)
{
	char word[128];
	uint8_t id[ID_PK_LEN];
	size_t len;

	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (p == end || *p == '#')
		return 0;
	len = (size_t)(end - p);
	if (len >= sizeof(word))
		return -EINVAL;
	memcpy(word, p, len);
	word[len] = '\0';
	if (id_parse(word, id) < 0)
		return -EINVAL;
	return id_set_push(set, id);
}

int id_set_parse(struct id_set *s, const char *buf, size_t len, char *err,
                 size_t err_size)
{
	struct id_set set = { 0 };
	const char *p = buf, *end = buf + len, *nl;
	unsigned line = 0;
	int ret;

	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		ret = allow_line(p, nl ? nl : end, &set);
		if (ret < 0) {
			snprintf(err, err_size, "line %u: %s", line,
			         ret == -ENOMEM ? "out of memory" : "not a base64 or hex key");
			free(set.ids);
			return ret;
		}
		p = nl ? nl + 1 : end;
	}
	free(s->ids);
	*s = set;
	return 0;
}

/* Reads all of fd into buf (ALLOW_FILE_MAX + 1 bytes); -EFBIG if more. */
static int read_all(int fd, char *buf, size_t *len)
{
	ssize_t r;

	*len = 0;
	while (*len <= ALLOW_FILE_MAX) {
		r = read(fd, buf + *len, ALLOW_FILE_MAX + 1 - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		*len += (size_t)r;
	}
	return -EFBIG;
}

int id_set_load(struct id_set *s, const char *path, char *err, size_t err_size)
{
	char *buf;
	size_t len;
	int fd, ret = -ENOMEM;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		ret = -errno;
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (!(buf = malloc(ALLOW_FILE_MAX + 1)))
		goto out;
	if ((ret = read_all(fd, buf, &len)) == 0)
		ret = id_set_parse(s, buf, len, err, err_size);
out:
	if (ret < 0 && ret != -EINVAL)
		snprintf(err, err_size, "%s: %s", path, strerror(-ret));
	free(buf);
	close(fd);
	return ret;
}
