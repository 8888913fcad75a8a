/* Auth policy for supernode streams: per-IP token bucket first (it is the
 * cheapest check and must count every attempt), then role, blacklist and
 * allow-list. Pure but for reading the allow-list file. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "policy.h"

#define ALLOW_FILE_MAX (1024 * 1024)

void policy_init(struct auth_policy *p, const struct directory *dir, double rate_per_s,
                 double burst)
{
	memset(p, 0, sizeof(*p));
	p->dir = dir;
	p->rate_per_s = rate_per_s;
	p->burst = burst < 1 ? 1 : burst;
	randombytes_buf(p->hash_key, sizeof(p->hash_key));
}

void policy_release(struct auth_policy *p)
{
	free(p->allow);
	p->allow = NULL;
	p->nallow = 0;
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

/* One allow-list line [p, end) into *list; blank and comment lines add nothing. */
static int allow_line(const char *p, const char *end, uint8_t (**list)[ID_PK_LEN],
                      size_t *n, size_t *cap)
{
	char word[128];
	uint8_t (*grown)[ID_PK_LEN];
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
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		grown = realloc(*list, *cap * sizeof(**list));
		if (!grown)
			return -ENOMEM;
		*list = grown;
	}
	if (id_parse(word, (*list)[*n]) < 0)
		return -EINVAL;
	(*n)++;
	return 0;
}

int policy_parse_allow(struct auth_policy *p, const char *buf, size_t len, char *err,
                       size_t err_size)
{
	uint8_t (*list)[ID_PK_LEN] = NULL;
	const char *s = buf, *end = buf + len, *nl;
	size_t n = 0, cap = 0;
	unsigned line = 0;
	int ret = 0;

	while (s < end) {
		line++;
		nl = memchr(s, '\n', (size_t)(end - s));
		ret = allow_line(s, nl ? nl : end, &list, &n, &cap);
		if (ret < 0) {
			snprintf(err, err_size, "line %u: %s", line,
			         ret == -ENOMEM ? "out of memory" : "not a base64 or hex key");
			free(list);
			return ret;
		}
		s = nl ? nl + 1 : end;
	}
	free(p->allow);
	/* An empty file still means "allow-list on": nobody gets in. */
	p->allow = list ? list : malloc(ID_PK_LEN);
	p->nallow = n;
	return p->allow ? 0 : -ENOMEM;
}

int policy_load_allow(struct auth_policy *p, const char *path, char *err, size_t err_size)
{
	char *buf;
	size_t len = 0;
	ssize_t r;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return ret;
	}
	buf = malloc(ALLOW_FILE_MAX + 1);
	ret = -ENOMEM;
	if (!buf)
		goto out;
	while (len <= ALLOW_FILE_MAX) {
		r = read(fd, buf + len, ALLOW_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	ret = -EFBIG;
	if (len > ALLOW_FILE_MAX)
		goto out;
	ret = policy_parse_allow(p, buf, len, err, err_size);
out:
	if (ret < 0 && ret != -EINVAL)
		snprintf(err, err_size, "%s: %s", path, strerror(-ret));
	free(buf);
	close(fd);
	return ret;
}

/* The bucket for addr's IP (v4-mapped v6 counts as v4). */
static struct rate_bucket *bucket_for(struct auth_policy *p, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const uint8_t *ip = NULL;
	size_t len = 0;
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	if (ss->ss_family == AF_INET) {
		ip = (const uint8_t *)&s4->sin_addr;
		len = 4;
	} else if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		ip = s6->sin6_addr.s6_addr + 12;
		len = 4;
	} else if (ss->ss_family == AF_INET6) {
		ip = s6->sin6_addr.s6_addr;
		len = 16;
	}
	crypto_shorthash(h, ip ? ip : (const uint8_t *)"", len, p->hash_key);
	memcpy(&v, h, sizeof(v));
	return &p->buckets[v % POLICY_BUCKETS];
}

/* Takes one token from addr's bucket; 0 if there was one, else -EAGAIN. */
static int rate_take(struct auth_policy *p, const struct sockaddr_storage *addr,
                     uint64_t now_ms)
{
	struct rate_bucket *b;

	if (p->rate_per_s <= 0)
		return 0;
	b = bucket_for(p, addr);
	if (b->at_ms == 0)
		b->tokens = p->burst;
	else if (now_ms > b->at_ms)
		b->tokens += (double)(now_ms - b->at_ms) * p->rate_per_s / 1000.0;
	if (b->tokens > p->burst)
		b->tokens = p->burst;
	/* at_ms 0 means unused, so a loop clock at 0 counts as 1. */
	b->at_ms = now_ms ? now_ms : 1;
	if (b->tokens < 1)
		return -EAGAIN;
	b->tokens -= 1;
	return 0;
}

static int allowed(const struct auth_policy *p, const uint8_t id[ID_PK_LEN])
{
	size_t i;

	if (!p->allow)
		return 1;
	for (i = 0; i < p->nallow; i++)
		if (memcmp(p->allow[i], id, ID_PK_LEN) == 0)
			return 1;
	return 0;
}

int policy_check(struct auth_policy *p, const struct hs_auth *auth,
                 const struct sockaddr_storage *addr, uint64_t now_ms, const char **reason)
{
	if (rate_take(p, addr, now_ms) < 0)
		*reason = "rate";
	else if (auth->role != SUPERMESH__ROLE__ROLE_SUPERNODE)
		*reason = "role";
	else if (directory_is_blacklisted(p->dir, auth->peer_id))
		*reason = "blacklisted";
	else if (!allowed(p, auth->peer_id))
		*reason = "not_allowed";
	else
		return 0;
	return -EACCES;
}
