/* Relay sessions: two UDP sockets each, latching the first source on each
 * side and forwarding opaque datagrams between them in batches. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "relay_int.h"

/* Batches per readiness callback before yielding to other sessions; the
 * poll is level-triggered, so what is left is read on the next turn. */
#define RELAY_ROUNDS 8

static uint64_t drops_sum(const struct relay_drops *d)
{
	return d->stranger + d->nodest + d->rate + d->oversize + d->send;
}

/* Same peer: family, address and port; padding and flow labels ignored. */
static int sockaddr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
	return 0;
}

static void relay_table_init_batch(struct relay_table *t)
{
	int i;

	for (i = 0; i < RELAY_BATCH; i++) {
		t->rxiov[i].iov_base = t->buf[i];
		t->rxiov[i].iov_len = sizeof(t->buf[i]);
		t->rx[i].msg_hdr.msg_iov = &t->rxiov[i];
		t->rx[i].msg_hdr.msg_iovlen = 1;
		t->rx[i].msg_hdr.msg_name = &t->from[i];
		t->tx[i].msg_hdr.msg_iov = &t->txiov[i];
		t->tx[i].msg_hdr.msg_iovlen = 1;
	}
}

static int relay_parse_bind(struct relay_table *t, const char *host)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&t->bind;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->bind;

	if (host == NULL || host[0] == '\0')
		host = "0.0.0.0";
	memset(&t->bind, 0, sizeof(t->bind));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		t->bind_len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		t->bind_len = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

int relay_table_new(uv_loop_t *loop, const char *bind_host, struct relay_table **out)
{
	struct relay_table *t;
	int rc;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	rc = relay_parse_bind(t, bind_host);
	if (rc < 0) {
		free(t);
		return rc;
	}
	t->sweep = malloc(sizeof(*t->sweep));
	if (t->sweep == NULL) {
		free(t);
		return -ENOMEM;
	}
	rc = uv_timer_init(loop, t->sweep);
	if (rc < 0) {
		free(t->sweep);
		free(t);
		return rc;
	}
	t->sweep->data = t;
	t->loop = loop;
	relay_table_init_batch(t);
	*out = t;
	return 0;
}

static void relay_free_handle(uv_handle_t *h)
{
	free(h);
}

static void relay_on_close(uv_handle_t *h)
{
	struct relay_session *s = h->data;

	if (--s->handles == 0)
		free(s);
}

/*
 * Stops and closes both sockets now, so the ports are free when the verb
 * replies; uv_close() has already taken each fd out of epoll, so closing it
 * at once is safe. The memory goes in the last close callback.
 */
static void relay_session_close(struct relay_session *s)
{
	int i, handles = s->handles;

	for (i = 0; i < 2; i++) {
		relay_hold_free(&s->hold[i]);
		if (s->side[i].polling)
			uv_close((uv_handle_t *)&s->side[i].poll, relay_on_close);
		if (s->side[i].fd >= 0)
			close(s->side[i].fd);
		s->side[i].fd = -1;
	}
	if (handles == 0)
		free(s);
}

void relay_table_free(struct relay_table *t)
{
	struct relay_session *s, *next;

	if (t == NULL)
		return;
	for (s = t->head; s != NULL; s = next) {
		next = s->next;
		relay_session_close(s);
	}
	uv_close((uv_handle_t *)t->sweep, relay_free_handle);
	free(t);
}

/* Adds one session's counters into tot. */
static void totals_add(struct relay_totals *tot, const struct relay_session *s)
{
	int d;

	for (d = 0; d < 2; d++) {
		tot->bytes += s->bytes[d];
		tot->packets += s->packets[d];
		tot->dir_bytes[d] += s->bytes[d];
		tot->dir_packets[d] += s->packets[d];
	}
	tot->drops += drops_sum(&s->drops);
	tot->why.stranger += s->drops.stranger;
	tot->why.nodest += s->drops.nodest;
	tot->why.rate += s->drops.rate;
	tot->why.oversize += s->drops.oversize;
	tot->why.send += s->drops.send;
	tot->held += s->held;
	tot->flushed += s->flushed;
	tot->expired += s->expired;
}

static void relay_add_gone(struct relay_table *t, const struct relay_session *s)
{
	totals_add(&t->gone, s);
}

void relay_table_totals(const struct relay_table *t, struct relay_totals *out)
{
	const struct relay_session *s;

	*out = t->gone;
	out->sessions = t->nsessions;
	for (s = t->head; s != NULL; s = s->next)
		totals_add(out, s);
}

/*
 * First source wins: latch it, then hear only from it. This is the hijack
 * defence: once a session carries a tunnel, nobody who learns the port can
 * take it over. The price is roaming: a client whose address changes gets
 * nothing forwarded until its control plane asks for a new session.
 */
static int relay_side_accept(struct relay_side *side, const struct sockaddr_storage *from,
                             socklen_t len)
{
	if (side->has_peer)
		return sockaddr_same(&side->peer, from);
	if (len > sizeof(side->peer))
		return 0;
	memcpy(&side->peer, from, len);
	side->peer_len = len;
	side->has_peer = 1;
	return 1;
}

/* Reads up to one batch; returns how many datagrams, 0 when none is ready. */
static int relay_recv_batch(struct relay_table *t, int fd)
{
	int i, n;

	for (i = 0; i < RELAY_BATCH; i++) {
		t->rx[i].msg_hdr.msg_namelen = sizeof(t->from[i]);
		t->rx[i].msg_hdr.msg_flags = 0;
	}
	do
		n = recvmmsg(fd, t->rx, RELAY_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? 0 : n;
}

/*
 * Sends the m queued datagrams. A full socket buffer drops the rest, as a
 * router would; any other refusal (a firewall's EPERM) drops only that one.
 */
void relay_send_batch(struct relay_table *t, struct relay_session *s,
                      struct relay_side *dst, enum relay_dir dir, int m)
{
	int i = 0, k, j;

	while (i < m) {
		k = sendmmsg(dst->fd, &t->tx[i], m - i, MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			s->drops.send += m - i;
			return;
		}
		if (k <= 0) {
			s->drops.send++;
			i++;
			continue;
		}
		for (j = i; j < i + k; j++)
			s->bytes[dir] += t->tx[j].msg_len;
		s->packets[dir] += k;
		i += k;
	}
}

static void relay_forward_batch(struct relay_table *t, struct relay_session *s, int in, int n)
{
	struct relay_side *src = &s->side[in], *dst = &s->side[!in];
	enum relay_dir dir = in == SIDE_CLIENT ? RELAY_C2E : RELAY_E2C;
	uint64_t now = uv_hrtime();
	int i, m = 0, had_peer = src->has_peer;
	int replay = !had_peer && relay_held_for(s, in, now);
	unsigned len;

	for (i = 0; i < n; i++) {
		len = t->rx[i].msg_len;
		if (!relay_side_accept(src, &t->from[i], t->rx[i].msg_hdr.msg_namelen))
			s->drops.stranger++;
		else if (replay) {
			/* The latching datagram: dropped, see relay_held_for(). */
			replay = 0;
			s->drops.nodest++;
		} else if (t->rx[i].msg_hdr.msg_flags & MSG_TRUNC)
			s->drops.oversize++;
		else if (!dst->has_peer)
			relay_nodest(t, s, dir, t->buf[i], len, now);
		else if (!token_bucket_take(&s->bucket[dir], len, now))
			s->drops.rate++;
		else {
			t->txiov[m].iov_base = t->buf[i];
			t->txiov[m].iov_len = len;
			t->tx[m].msg_hdr.msg_name = &dst->peer;
			t->tx[m].msg_hdr.msg_namelen = dst->peer_len;
			m++;
		}
	}
	if (m > 0)
		relay_send_batch(t, s, dst, dir, m);
	/* After the batch: the flush reuses the send buffers. */
	if (!had_peer && src->has_peer)
		relay_flush(t, s, in);
}

static void relay_on_readable(uv_poll_t *h, int status, int events)
{
	struct relay_session *s = h->data;
	int in = h == &s->side[SIDE_CLIENT].poll ? SIDE_CLIENT : SIDE_EXIT;
	int round, n;

	if (status < 0)
		return;
	for (round = 0; round < RELAY_ROUNDS; round++) {
		n = relay_recv_batch(s->table, s->side[in].fd);
		if (n <= 0)
			return;
		relay_forward_batch(s->table, s, in, n);
		if (n < RELAY_BATCH)
			return;
	}
}

/* Asks for big buffers: the FORCE variants pass rmem_max when we hold
 * CAP_NET_ADMIN, as wgrelay does; otherwise the kernel caps the plain ones. */
static void relay_sockbuf(int fd)
{
	int size = RELAY_SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static int relay_side_bind(struct relay_table *t, struct relay_side *side)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	side->fd = socket(t->bind.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (side->fd < 0)
		return -errno;
	relay_sockbuf(side->fd);
	if (bind(side->fd, (const struct sockaddr *)&t->bind, t->bind_len) < 0 ||
	    getsockname(side->fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	side->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static int relay_side_open(struct relay_session *s, struct relay_side *side)
{
	int rc;

	rc = relay_side_bind(s->table, side);
	if (rc < 0)
		return rc;
	rc = uv_poll_init(s->table->loop, &side->poll, side->fd);
	if (rc < 0)
		return rc;
	side->polling = 1;
	s->handles++;
	side->poll.data = s;
	return uv_poll_start(&side->poll, UV_READABLE, relay_on_readable);
}

/*
 * `to` in the table's family: an IPv4 address becomes v4-mapped for a "::"
 * table; an IPv6 one cannot be reached from an IPv4 table.
 */
static int relay_to_family(const struct relay_table *t, const struct relay_opts *o,
                           struct relay_side *side)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&o->to;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&side->peer;

	memset(&side->peer, 0, sizeof(side->peer));
	if (o->to.ss_family == t->bind.ss_family) {
		memcpy(&side->peer, &o->to, o->to_len);
		side->peer_len = o->to_len;
		return 0;
	}
	if (o->to.ss_family != AF_INET || t->bind.ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = in4->sin_port;
	s6->sin6_addr.s6_addr[10] = 0xff;
	s6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&s6->sin6_addr.s6_addr[12], &in4->sin_addr, 4);
	side->peer_len = sizeof(*s6);
	return 0;
}

static struct relay_session *relay_find(const struct relay_table *t, const char *id)
{
	struct relay_session *s;

	for (s = t->head; s != NULL; s = s->next)
		if (!strcmp(s->id, id))
			return s;
	return NULL;
}

static int relay_opts_same(const struct relay_opts *a, const struct relay_opts *b)
{
	if (a->rate != b->rate || a->has_to != b->has_to)
		return 0;
	return !a->has_to || sockaddr_same(&a->to, &b->to);
}

static int relay_session_open(struct relay_table *t, const char *id,
                              const struct relay_opts *o, struct relay_session **out)
{
	struct relay_session *s;
	uint64_t now = uv_hrtime();
	int rc, i;

	if (strlen(id) > RELAY_ID_MAX)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->table = t;
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->opts = *o;
	s->side[SIDE_CLIENT].fd = s->side[SIDE_EXIT].fd = -1;
	if (o->has_to) {
		rc = relay_to_family(t, o, &s->side[SIDE_EXIT]);
		if (rc < 0)
			goto out;
		s->side[SIDE_EXIT].has_peer = 1; /* `to`: never latches */
	}
	for (i = 0; i < 2; i++)
		token_bucket_init(&s->bucket[i], o->rate, now);
	for (i = 0; i < 2; i++) {
		rc = relay_side_open(s, &s->side[i]);
		if (rc < 0)
			goto out;
	}
	*out = s;
	return 0;
out:
	relay_session_close(s);
	return rc;
}

int relay_session_add(struct relay_table *t, const char *id, const struct relay_opts *o,
                      uint16_t *client_port, uint16_t *exit_port)
{
	struct relay_session *s, **pp;
	int rc;

	s = relay_find(t, id);
	if (s != NULL && !relay_opts_same(&s->opts, o))
		return -EEXIST;
	if (s == NULL) {
		rc = relay_session_open(t, id, o, &s);
		if (rc < 0)
			return rc;
		/* Appended, so `relay list` shows sessions oldest first. */
		for (pp = &t->head; *pp != NULL; pp = &(*pp)->next)
			;
		*pp = s;
		t->nsessions++;
	}
	*client_port = s->side[SIDE_CLIENT].port;
	*exit_port = s->side[SIDE_EXIT].port;
	return 0;
}

int relay_session_del(struct relay_table *t, const char *id)
{
	struct relay_session *s, **pp;

	for (pp = &t->head; *pp != NULL; pp = &(*pp)->next) {
		s = *pp;
		if (strcmp(s->id, id))
			continue;
		*pp = s->next;
		t->nsessions--;
		/* Held datagrams die with the session: count them as drops. */
		s->drops.nodest += relay_hold_count(s->hold[RELAY_C2E]) +
		                   relay_hold_count(s->hold[RELAY_E2C]);
		relay_add_gone(t, s);
		relay_session_close(s);
		return 0;
	}
	return -ENOENT;
}

static void relay_fill_info(const struct relay_session *s, struct relay_info *info)
{
	int d;

	info->id = s->id;
	info->client_port = s->side[SIDE_CLIENT].port;
	info->exit_port = s->side[SIDE_EXIT].port;
	info->rate = s->opts.rate;
	for (d = 0; d < 2; d++) {
		info->bytes[d] = s->bytes[d];
		info->packets[d] = s->packets[d];
	}
	info->drops = s->drops;
	info->drops_total = drops_sum(&s->drops);
	info->held = s->held;
	info->flushed = s->flushed;
	info->expired = s->expired;
	info->queued = relay_hold_count(s->hold[RELAY_C2E]) + relay_hold_count(s->hold[RELAY_E2C]);
}

size_t relay_table_walk(const struct relay_table *t,
                        void (*fn)(void *arg, const struct relay_info *info), void *arg)
{
	const struct relay_session *s;
	struct relay_info info;
	size_t n = 0;

	for (s = t->head; s != NULL; s = s->next, n++) {
		relay_fill_info(s, &info);
		fn(arg, &info);
	}
	return n;
}

int relay_session_info(const struct relay_table *t, const char *id, struct relay_info *info)
{
	const struct relay_session *s = relay_find(t, id);

	if (s == NULL)
		return -ENOENT;
	relay_fill_info(s, info);
	return 0;
}
