/* The blocking handshake client behind t/tools/hostile.c: TCP to the
 * daemon (from a chosen source address), frames, and the DESIGN section 2
 * handshake through lib/handshake, with hooks to mangle the AuthRequest.
 * Included by hostile.c only, so its functions are plain statics. */
#ifndef SM_HOSTILE_CONN_H
#define SM_HOSTILE_CONN_H

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "cipher.h"
#include "clock.h"
#include "frame.h"
#include "handshake.h"
#include "handshake.pb-c.h"
#include "keys.h"

#define BUF 2048
#define IO_MS 8000 /* longer than the 5 s handshake deadline */

struct conn {
	int fd;
	struct hs_state hs;
	struct cipher_dir tx, rx;
};

static struct sockaddr_in dst;
static const char *src_ip;   /* -b: bind here first */
static int nonblock;         /* connect without waiting (loris) */
static uint32_t role = SUPERMESH__ROLE__ROLE_SUPERNODE;
static struct identity me;
static uint8_t pin[ID_PK_LEN];
static int has_pin;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int parse_addr(const char *text, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

static long num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0) {
		fprintf(stderr, "hostile: bad number %s\n", s);
		exit(2);
	}
	return v;
}

static int tcp_open(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	struct timeval stall = { .tv_sec = IO_MS / 1000 };
	int one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A daemon that stops reading without closing must not hang us. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &stall, sizeof(stall));
	if (src_ip) {
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		inet_pton(AF_INET, src_ip, &sa.sin_addr);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto out;
	}
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0 ||
	    (nonblock && errno == EINPROGRESS))
		return fd;
out:
	one = -errno;
	close(fd);
	return one;
}

static void tcp_reset(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static int send_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	ssize_t n;

	while (len) {
		if ((n = send(fd, b, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(int fd, const uint8_t *p, size_t len)
{
	uint8_t hdr[FRAME_HDR];
	int rc;

	if ((rc = frame_header(hdr, len)) < 0 || (rc = send_all(fd, hdr, sizeof(hdr))) < 0)
		return rc;
	return send_all(fd, p, len);
}

/* Exactly len bytes by the deadline: 0, -ECONNRESET on EOF, -ETIMEDOUT. */
static int read_full(int fd, uint8_t *p, size_t len, uint64_t deadline)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	uint64_t t;
	ssize_t n;

	while (len) {
		if ((t = now_ms()) >= deadline)
			return -ETIMEDOUT;
		if (poll(&pf, 1, (int)(deadline - t)) <= 0)
			continue;
		if ((n = recv(fd, p, len, 0)) == 0)
			return -ECONNRESET;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno == -ECONNRESET ? -ECONNRESET : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One frame into buf: its length, or a negative errno. */
static int recv_frame(int fd, uint8_t *buf, size_t size, uint32_t ms)
{
	uint64_t deadline = now_ms() + ms;
	uint8_t hdr[FRAME_HDR];
	uint32_t len;
	int rc;

	if ((rc = read_full(fd, hdr, sizeof(hdr), deadline)) < 0)
		return rc;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > size)
		return -EPROTO;
	if ((rc = read_full(fd, buf, len, deadline)) < 0)
		return rc;
	return (int)len;
}

/* Waits for the daemon to close: ms it took, or -ETIMEDOUT. Data before
 * the close (a refusal) is read and dropped. */
static long wait_closed(int fd, uint32_t ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	uint64_t start = now_ms(), end = start + ms, t;
	uint8_t junk[4096];
	ssize_t n;

	while ((t = now_ms()) < end) {
		if (poll(&pf, 1, (int)(end - t)) <= 0)
			continue;
		n = recv(fd, junk, sizeof(junk), 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return (long)(now_ms() - start);
	}
	return -ETIMEDOUT;
}

static int conn_hello(struct conn *c)
{
	uint8_t buf[BUF];
	int n;

	memset(c, 0, sizeof(*c));
	if ((c->fd = tcp_open()) < 0)
		return c->fd;
	if ((n = hs_client_hello(&c->hs, buf, sizeof(buf))) < 0 ||
	    (n = send_frame(c->fd, buf, (size_t)n)) < 0 ||
	    (n = recv_frame(c->fd, buf, sizeof(buf), IO_MS)) < 0 ||
	    (n = hs_client_finish(&c->hs, has_pin ? pin : NULL, buf, (size_t)n)) < 0)
		return n;
	cipher_init(&c->tx, c->hs.keys.tx);
	cipher_init(&c->rx, c->hs.keys.rx);
	return 0;
}

static void conn_close(struct conn *c)
{
	hs_release(&c->hs);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int conn_send(struct conn *c, const uint8_t *p, size_t len)
{
	uint8_t sealed[BUF + CIPHER_TAG];
	int n = cipher_seal(&c->tx, p, len, sealed, sizeof(sealed));

	return n < 0 ? n : send_frame(c->fd, sealed, (size_t)n);
}

/* Reads the AuthResponse: 1 accepted, 0 refused (reason copied), or a
 * negative errno (closed without an answer, timeout). */
static int conn_auth_reply(struct conn *c, char *reason, size_t size)
{
	uint8_t buf[BUF], plain[BUF];
	Supermesh__AuthResponse *r;
	int n, ok;

	snprintf(reason, size, "none");
	if ((n = recv_frame(c->fd, buf, sizeof(buf), IO_MS)) < 0)
		return n;
	if ((n = cipher_open(&c->rx, buf, (size_t)n, plain, sizeof(plain))) < 0)
		return n;
	if (!(r = supermesh__auth_response__unpack(NULL, (size_t)n, plain)))
		return -EPROTO;
	ok = r->ok ? 1 : 0;
	snprintf(reason, size, "%s", r->reason && r->reason[0] ? r->reason : "-");
	supermesh__auth_response__free_unpacked(r, NULL);
	return ok;
}

/* A whole handshake; how mangles the AuthRequest: 0 none, 1 flip a
 * signature byte (sig is the last field), 2 timestamp two minutes old.
 * The plaintext AuthRequest is copied to rec when not NULL. */
static int conn_auth(struct conn *c, int how, uint8_t *rec, int *rec_len,
                     char *reason, size_t size)
{
	uint8_t req[BUF];
	uint64_t ts = clock_wall_ms() - (how == 2 ? 120000 : 0);
	int n, rc;

	if ((rc = conn_hello(c)) < 0)
		return rc;
	n = hs_auth_request(&c->hs, &me, role, "test", ts, NULL, req, sizeof(req));
	if (n < 0)
		return n;
	if (how == 1)
		req[n - 1] ^= 0x01;
	if (rec) {
		memcpy(rec, req, (size_t)n);
		*rec_len = n;
	}
	if ((rc = conn_send(c, req, (size_t)n)) < 0)
		return rc;
	return conn_auth_reply(c, reason, size);
}
#endif
