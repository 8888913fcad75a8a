/* The probe table: each probe a timer sending from a WireGuard listen port
 * every 100 ms, raw sockets (one per family) open only while probes run,
 * and finished probes kept a while so their caller can read the result. */
#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "probe.h"

/* Datagrams read per readiness callback; the poll is level-triggered. */
#define PROBE_READS 64

struct probe_sock {
	uv_poll_t poll;
	int fd;
	int family;
	struct probe_table *t;
};

struct probe {
	struct probe *next;
	struct probe_table *t;
	uint8_t token[PROBE_TOKEN_LEN];
	union wg_endpoint dst;
	uint16_t sport;
	uint32_t mark;
	uint64_t ms, started;
	int running, seen;
	union wg_endpoint from;
	uint64_t sent;
	uv_timer_t timer;
};

struct probe_table {
	uv_loop_t *loop;
	const struct probe_io *io;
	uint64_t keep_ms;
	struct probe *head;       /* oldest first */
	size_t running, kept;     /* kept counts running ones too */
	struct probe_sock *sock[2]; /* by family: 0 IPv4, 1 IPv6; NULL: closed */
	uint8_t buf[2048];
};

static int fam_idx(int family)
{
	return family == AF_INET ? 0 : 1;
}

int probe_token_parse(const char *s, uint8_t token[PROBE_TOKEN_LEN])
{
	size_t i, n = 0;

	for (i = 0; s[i]; i++)
		if (i >= 2 * PROBE_TOKEN_LEN || !((s[i] >= '0' && s[i] <= '9') ||
		                                  (s[i] >= 'a' && s[i] <= 'f') ||
		                                  (s[i] >= 'A' && s[i] <= 'F')))
			return -EINVAL;
	if (i != 2 * PROBE_TOKEN_LEN ||
	    sodium_hex2bin(token, PROBE_TOKEN_LEN, s, i, NULL, &n, NULL) != 0 ||
	    n != PROBE_TOKEN_LEN)
		return -EINVAL;
	return 0;
}

int probe_table_new(uv_loop_t *loop, const struct probe_io *io, uint64_t keep_ms,
                    struct probe_table **out)
{
	struct probe_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->loop = loop;
	t->io = io;
	t->keep_ms = keep_ms;
	*out = t;
	return 0;
}

static void sock_on_close(uv_handle_t *h)
{
	struct probe_sock *s = h->data;

	close(s->fd);
	free(s);
}

static void sock_close(struct probe_table *t, int idx)
{
	struct probe_sock *s = t->sock[idx];

	if (!s)
		return;
	t->sock[idx] = NULL;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, sock_on_close);
}

static void sock_on_readable(uv_poll_t *h, int status, int events)
{
	struct probe_sock *s = h->data;
	union wg_endpoint from;
	ssize_t n;
	int i;

	(void)events;
	if (status < 0)
		return;
	for (i = 0; i < PROBE_READS && s->t->sock[fam_idx(s->family)] == s; i++) {
		memset(&from, 0, sizeof(from));
		n = s->t->io->recv(s->fd, s->t->buf, sizeof(s->t->buf), &from);
		if (n < 0)
			break; /* -EAGAIN: drained; anything else: try next time */
		probe_table_input(s->t, s->family, s->t->buf, (size_t)n, &from);
	}
}

/* Opens the family's socket if it is not open yet. */
static int sock_open(struct probe_table *t, int family)
{
	struct probe_sock *s;
	int fd, ret;

	if (t->sock[fam_idx(family)])
		return 0;
	if ((ret = t->io->open(family, &fd)) < 0)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->fd = fd;
	s->family = family;
	s->t = t;
	if ((ret = uv_poll_init(t->loop, &s->poll, fd)) < 0) {
		close(fd);
		free(s);
		return ret;
	}
	s->poll.data = s;
	t->sock[fam_idx(family)] = s;
	ret = uv_poll_start(&s->poll, UV_READABLE, sock_on_readable);
	if (ret < 0)
		sock_close(t, fam_idx(family));
	return ret;
}

/* Points the family's filter at the running probes' ports, or closes the
 * socket when none of that family runs. */
static int sock_refresh(struct probe_table *t, int family)
{
	uint16_t ports[PROBE_RUNNING_MAX];
	struct probe *p;
	size_t n = 0, i;

	for (p = t->head; p; p = p->next) {
		if (!p->running || p->dst.addr.sa_family != family)
			continue;
		for (i = 0; i < n && ports[i] != p->sport; i++)
			;
		if (i == n && n < PROBE_RUNNING_MAX)
			ports[n++] = p->sport;
	}
	if (n == 0) {
		sock_close(t, fam_idx(family));
		return 0;
	}
	if (!t->sock[fam_idx(family)])
		return 0;
	return t->io->filter(t->sock[fam_idx(family)]->fd, family, ports, n);
}

static void probe_on_close(uv_handle_t *h)
{
	free(h->data);
}

/* Unlinks p, stops it and frees it (in the timer's close callback). */
static void probe_forget(struct probe *p)
{
	struct probe_table *t = p->t;
	struct probe **pp;

	for (pp = &t->head; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	t->kept--;
	if (p->running) {
		p->running = 0;
		t->running--;
		sock_refresh(t, p->dst.addr.sa_family);
	}
	uv_timer_stop(&p->timer);
	uv_close((uv_handle_t *)&p->timer, probe_on_close);
}

static void probe_on_expire(uv_timer_t *h)
{
	probe_forget(h->data);
}

static void probe_finish(struct probe *p)
{
	char ep[INET6_ADDRSTRLEN + 16] = "-";

	p->running = 0;
	p->t->running--;
	sock_refresh(p->t, p->dst.addr.sa_family);
	uv_timer_stop(&p->timer);
	uv_timer_start(&p->timer, probe_on_expire, p->t->keep_ms, 0);
	if (p->seen)
		wg_endpoint_format(&p->from, ep, sizeof(ep));
	log_debug("event=probe_done port=%u seen=%d from=%s sent=%llu", p->sport, p->seen, ep,
	          (unsigned long long)p->sent);
}

static void probe_on_tick(uv_timer_t *h)
{
	struct probe *p = h->data;
	struct probe_table *t = p->t;
	uint8_t payload[PROBE_PAYLOAD_LEN];
	struct probe_sock *s = t->sock[fam_idx(p->dst.addr.sa_family)];
	int ret;

	if (uv_now(t->loop) - p->started >= p->ms || !s) {
		probe_finish(p);
		return;
	}
	memcpy(payload, PROBE_MAGIC, PROBE_MAGIC_LEN);
	memcpy(payload + PROBE_MAGIC_LEN, p->token, PROBE_TOKEN_LEN);
	ret = t->io->send(s->fd, &p->dst, p->sport, p->mark, payload, sizeof(payload));
	if (ret == 0)
		p->sent++;
	else
		log_debug("event=probe_send_failed port=%u err=\"%s\"", p->sport, strerror(-ret));
}

static struct probe *probe_find(const struct probe_table *t, const uint8_t *token)
{
	struct probe *p;

	for (p = t->head; p; p = p->next)
		if (!memcmp(p->token, token, PROBE_TOKEN_LEN))
			return p;
	return NULL;
}

static int same_endpoint(const union wg_endpoint *a, const union wg_endpoint *b)
{
	if (a->addr.sa_family != b->addr.sa_family)
		return 0;
	if (a->addr.sa_family == AF_INET)
		return a->addr4.sin_port == b->addr4.sin_port &&
		       a->addr4.sin_addr.s_addr == b->addr4.sin_addr.s_addr;
	return a->addr6.sin6_port == b->addr6.sin6_port &&
	       !memcmp(&a->addr6.sin6_addr, &b->addr6.sin6_addr, sizeof(struct in6_addr));
}

/* Room for one more: -EBUSY at the running bound; the oldest finished one
 * goes when the table is full. */
static int probe_make_room(struct probe_table *t)
{
	struct probe *p;

	if (t->running >= PROBE_RUNNING_MAX)
		return -EBUSY;
	if (t->kept < PROBE_KEPT_MAX)
		return 0;
	for (p = t->head; p && p->running; p = p->next)
		;
	if (!p)
		return -EBUSY;
	probe_forget(p);
	return 0;
}

static void probe_link(struct probe_table *t, struct probe *p)
{
	struct probe **pp;

	for (pp = &t->head; *pp; pp = &(*pp)->next)
		;
	*pp = p;
	t->kept++;
	t->running++;
}

int probe_start(struct probe_table *t, const uint8_t token[PROBE_TOKEN_LEN],
                const union wg_endpoint *dst, uint16_t sport, uint32_t mark, uint64_t ms)
{
	struct probe *p = probe_find(t, token);
	int ret;

	if (p)
		return same_endpoint(&p->dst, dst) && p->sport == sport ? 0 : -EEXIST;
	if ((ret = probe_make_room(t)) < 0 || (ret = sock_open(t, dst->addr.sa_family)) < 0)
		return ret;
	p = calloc(1, sizeof(*p));
	if (!p) {
		sock_refresh(t, dst->addr.sa_family);
		return -ENOMEM;
	}
	p->t = t;
	memcpy(p->token, token, PROBE_TOKEN_LEN);
	p->dst = *dst;
	p->sport = sport;
	p->mark = mark;
	p->ms = ms;
	p->running = 1;
	p->started = uv_now(t->loop);
	uv_timer_init(t->loop, &p->timer);
	p->timer.data = p;
	probe_link(t, p);
	if ((ret = sock_refresh(t, dst->addr.sa_family)) < 0) {
		probe_forget(p);
		return ret;
	}
	uv_timer_start(&p->timer, probe_on_tick, 0, PROBE_INTERVAL_MS);
	return 0;
}

int probe_status(const struct probe_table *t, const uint8_t token[PROBE_TOKEN_LEN],
                 struct probe_info *info)
{
	const struct probe *p = probe_find(t, token);

	if (!p)
		return -ENOENT;
	info->running = p->running;
	info->seen = p->seen;
	info->from = p->from;
	info->sent = p->sent;
	return 0;
}

int probe_stop(struct probe_table *t, const uint8_t token[PROBE_TOKEN_LEN])
{
	struct probe *p = probe_find(t, token);

	if (p)
		probe_forget(p);
	return 0;
}

size_t probe_running(const struct probe_table *t)
{
	return t->running;
}

void probe_table_free(struct probe_table *t)
{
	if (!t)
		return;
	while (t->head)
		probe_forget(t->head);
	sock_close(t, 0);
	sock_close(t, 1);
	free(t);
}

/* The UDP header and the source of a datagram as the family's raw socket
 * gives it; NULL if it cannot hold a whole unfragmented probe. */
static const uint8_t *probe_udp(int family, const uint8_t *buf, size_t len,
                                const union wg_endpoint *from, union wg_endpoint *src)
{
	size_t ihl;

	memset(src, 0, sizeof(*src));
	if (family == AF_INET6) {
		if (len < PROBE_UDP_LEN || from->addr.sa_family != AF_INET6)
			return NULL;
		src->addr6.sin6_family = AF_INET6;
		src->addr6.sin6_addr = from->addr6.sin6_addr;
		memcpy(&src->addr6.sin6_port, buf, 2);
		return buf;
	}
	if (len < 20 || buf[0] >> 4 != 4)
		return NULL;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	/* A fragment (more-fragments flag or an offset) is never a whole probe. */
	if (ihl < 20 || len < ihl + PROBE_UDP_LEN || (buf[6] & 0x3f) || buf[7])
		return NULL;
	src->addr4.sin_family = AF_INET;
	memcpy(&src->addr4.sin_addr, buf + 12, 4);
	memcpy(&src->addr4.sin_port, buf + ihl, 2);
	return buf + ihl;
}

int probe_table_input(struct probe_table *t, int family, const uint8_t *buf, size_t len,
                      const union wg_endpoint *from)
{
	char ep[INET6_ADDRSTRLEN + 16];
	union wg_endpoint src;
	const uint8_t *udp = probe_udp(family, buf, len, from, &src);
	struct probe *p;
	uint16_t dport;

	if (!udp || memcmp(udp + 8, PROBE_MAGIC, PROBE_MAGIC_LEN))
		return 0;
	dport = (uint16_t)(udp[2] << 8 | udp[3]);
	p = probe_find(t, udp + 8 + PROBE_MAGIC_LEN);
	if (!p || !p->running || p->sport != dport || p->dst.addr.sa_family != family)
		return 0;
	if (!p->seen) {
		/* The first one counts: that is the path the peer's NAT opened. */
		p->seen = 1;
		p->from = src;
		wg_endpoint_format(&src, ep, sizeof(ep));
		log_debug("event=probe_seen port=%u from=%s", dport, ep);
	}
	return 1;
}
