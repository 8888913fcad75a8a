/* Auth policy: the per-IP token bucket first (cheapest, and it must count
 * every attempt), then role, revocation and the allow-list. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "handshake.pb-c.h"
#include "policy.h"

#define ALLOW_FILE_MAX (1024 * 1024)

void policy_init(struct auth_policy *p, int allowlist, double rate_per_s, double burst)
{
	memset(p, 0, sizeof(*p));
	p->allowlist = allowlist;
	p->rate_per_s = rate_per_s;
	p->burst = burst < 1 ? 1 : burst;
	randombytes_buf(p->hash_key, sizeof(p->hash_key));
}

void policy_release(struct auth_policy *p)
{
	free(p->revoked.ids);
	free(p->allow.ids);
	memset(&p->revoked, 0, sizeof(p->revoked));
	memset(&p->allow, 0, sizeof(p->allow));
}

int id_set_has(const struct id_set *s, const uint8_t id[ID_PK_LEN])
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (memcmp(s->ids[i], id, ID_PK_LEN) == 0)
			return 1;
	return 0;
}

int id_set_add(struct id_set *s, const uint8_t id[ID_PK_LEN])
{
	uint8_t (*grown)[ID_PK_LEN];

	if (id_set_has(s, id))
		return -EEXIST;
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
	int rc;

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
	rc = id_set_add(set, id);
	return rc == -EEXIST ? 0 : rc;
}

int policy_parse_allow(struct auth_policy *p, const char *buf, size_t len, char *err,
                       size_t err_size)
{
	struct id_set set = { 0 };
	const char *s = buf, *end = buf + len, *nl;
	unsigned line = 0;
	int ret;

	while (s < end) {
		line++;
		nl = memchr(s, '\n', (size_t)(end - s));
		ret = allow_line(s, nl ? nl : end, &set);
		if (ret < 0) {
			snprintf(err, err_size, "line %u: %s", line,
			         ret == -ENOMEM ? "out of memory" : "not a base64 or hex key");
			free(set.ids);
			return ret;
		}
		s = nl ? nl + 1 : end;
	}
	free(p->allow.ids);
	p->allow = set;
	return 0;
}

int policy_load_allow(struct auth_policy *p, const char *path, char *err, size_t err_size)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, ret = -ENOMEM;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		ret = -errno;
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (!(buf = malloc(ALLOW_FILE_MAX + 1)))
		goto out;
	ret = 0;
	while (len <= ALLOW_FILE_MAX) {
		r = read(fd, buf + len, ALLOW_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : 0;
			break;
		}
		len += (size_t)r;
	}
	if (ret == 0)
		ret = len > ALLOW_FILE_MAX ? -EFBIG : policy_parse_allow(p, buf, len, err, err_size);
out:
	if (ret < 0 && ret != -EINVAL)
		snprintf(err, err_size, "%s: %s", path, strerror(-ret));
	free(buf);
	close(fd);
	return ret;
}

/* The bucket for bytes in table; keyed, so no one can aim a collision at
 * someone else's bucket. */
static struct rate_bucket *bucket_for(struct auth_policy *p, struct rate_bucket *table,
                                      const uint8_t *bytes, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, bytes, len, p->hash_key);
	memcpy(&v, h, sizeof(v));
	return &table[v % POLICY_BUCKETS];
}

/* addr's IP bytes (v4-mapped v6 counts as v4). */
static size_t ip_bytes(const struct sockaddr_storage *ss, const uint8_t **ip)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

	*ip = (const uint8_t *)"";
	if (ss->ss_family == AF_INET) {
		*ip = (const uint8_t *)&s4->sin_addr;
		return 4;
	}
	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		*ip = s6->sin6_addr.s6_addr + 12;
		return 4;
	}
	if (ss->ss_family == AF_INET6) {
		*ip = s6->sin6_addr.s6_addr;
		return 16;
	}
	return 0;
}

static int rate_take(struct auth_policy *p, struct rate_bucket *b, uint64_t now_ms)
{
	if (b->at_ms == 0)
		b->tokens = p->burst;
	else if (now_ms > b->at_ms)
		b->tokens += (double)(now_ms - b->at_ms) * p->rate_per_s / 1000.0;
	if (b->tokens > p->burst)
		b->tokens = p->burst;
	b->at_ms = now_ms ? now_ms : 1;
	if (b->tokens < 1)
		return -EAGAIN;
	b->tokens -= 1;
	return 0;
}

static int rate_ok(struct auth_policy *p, const struct hs_auth *auth,
                   const struct sockaddr_storage *addr, uint64_t now_ms)
{
	const uint8_t *ip;
	size_t len = ip_bytes(addr, &ip);

	if (p->rate_per_s <= 0)
		return 1;
	if (rate_take(p, bucket_for(p, p->buckets, ip, len), now_ms) < 0)
		return 0;
	return rate_take(p, bucket_for(p, p->peer_buckets, auth->peer_id, ID_PK_LEN),
	                 now_ms) == 0;
}

static int role_ok(uint32_t role)
{
	return role == SUPERMESH__ROLE__ROLE_CLIENT || role == SUPERMESH__ROLE__ROLE_EXIT ||
	       role == SUPERMESH__ROLE__ROLE_SUPERNODE;
}

int policy_check(struct auth_policy *p, const struct hs_auth *auth,
                 const struct sockaddr_storage *addr, uint64_t now_ms, const char **reason)
{
	if (!rate_ok(p, auth, addr, now_ms))
		*reason = "rate";
	else if (!role_ok(auth->role))
		*reason = "role";
	else if (id_set_has(&p->revoked, auth->peer_id))
		*reason = "revoked";
	else if (p->allowlist && !id_set_has(&p->allow, auth->peer_id))
		*reason = "not_allowed";
	else
		return 0;
	return -EACCES;
}
