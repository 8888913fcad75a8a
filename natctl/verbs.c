/* natctl's verbs: one static table for the CLI, stdin and the socket, and the
 * strict parsing of every word, done before anything reaches the kernel. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "verbs.h"

#define ECHO_MAX 40 /* bytes of a bad word echoed back in an err reply */

int natctl_parse_ipv4(const char *s, uint32_t *addr_be)
{
	struct in_addr a;
	uint32_t h;

	/* inet_pton takes exactly a.b.c.d in decimal: no "1.2.3", no octal. */
	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	h = ntohl(a.s_addr);
	/* Not a client's source: "this network", loopback, multicast and up. */
	if ((h >> 24) == 0 || (h >> 24) == 127 || (h >> 29) == 7)
		return -EINVAL;
	*addr_be = a.s_addr;
	return 0;
}

int natctl_parse_port(const char *s, uint16_t *port)
{
	size_t i, len = strlen(s);
	char *end;
	long v;

	/* Digits only: strtol alone would take spaces, '+' and '-'. */
	if (len == 0 || len > 5)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int natctl_parse_onoff(const char *s, int *on)
{
	if (!strcmp(s, "on"))
		*on = 1;
	else if (!strcmp(s, "off"))
		*on = 0;
	else
		return -EINVAL;
	return 0;
}

int natctl_parse_ifname(const char *s)
{
	size_t i, len = strnlen(s, 16);

	/* IFNAMSIZ is 16 with the NUL; the kernel refuses "." and "..". */
	if (len == 0 || len > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return -EINVAL;
	return 0;
}

/* The reply text escapes control bytes; the echo is cut so it stays short. */
static void reply_bad(struct line_reply *r, const char *what, const char *word)
{
	line_reply_err(r, LINE_EINVAL, "bad %s '%.*s%s'", what, ECHO_MAX, word,
	               strlen(word) > ECHO_MAX ? "..." : "");
}

/* Ends a verb that changed (or tried to change) the kernel. */
static void reply_done(const struct natctl *n, struct line_reply *r, const char *verb,
                       const char *arg, int err)
{
	if (err < 0) {
		line_reply_err(r, LINE_ESYS, "%s: %s", verb, strerror(-err));
		if (n->log_changes)
			log_warnx("event=verb_failed verb=%s arg=%s err=\"%s\"", verb, arg,
			          strerror(-err));
		return;
	}
	line_reply_ok(r);
	if (n->log_changes)
		log_info("event=%s arg=%s", verb, arg);
}

static void masq_change(void *ctx, char **argv, struct line_reply *r, int add)
{
	struct natctl *n = ctx;
	uint32_t addr;

	if (natctl_parse_ipv4(argv[0], &addr) < 0) {
		reply_bad(r, "IPv4 address", argv[0]);
		return;
	}
	/* Only add needs the rule that names the uplink; del works without. */
	if (add && !n->uplink) {
		line_reply_err(r, LINE_EINVAL, "no uplink configured (config key uplink)");
		return;
	}
	reply_done(n, r, add ? "add" : "del", argv[0], n->nft->masq(n->uplink, addr, add));
}

static void verb_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	masq_change(ctx, argv, r, 1);
}

static void verb_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	masq_change(ctx, argv, r, 0);
}

static void block_change(void *ctx, char **argv, struct line_reply *r, int add)
{
	struct natctl *n = ctx;
	uint16_t port;

	if (natctl_parse_port(argv[0], &port) < 0) {
		reply_bad(r, "port (1..65535)", argv[0]);
		return;
	}
	reply_done(n, r, add ? "block" : "unblock", argv[0],
	           n->nft->block(n->uplink, port, add));
}

static void verb_block(void *ctx, int argc, char **argv, struct line_reply *r)
{
	block_change(ctx, argv, r, 1);
}

static void verb_unblock(void *ctx, int argc, char **argv, struct line_reply *r)
{
	block_change(ctx, argv, r, 0);
}

static void verb_flush(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct natctl *n = ctx;

	reply_done(n, r, "flush", "-", n->nft->flush());
}

static int sysctl_write(const char *path, int on)
{
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, on ? "1\n" : "0\n", 2) != 2)
		err = errno ? -errno : -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

static int sysctl_read(const char *path, int *on)
{
	char buf[16];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	if (n == 0 || !isdigit((unsigned char)buf[0]))
		return -EPROTO;
	*on = buf[0] != '0';
	return 0;
}

static void verb_forward(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct natctl *n = ctx;
	int on;

	if (natctl_parse_onoff(argv[0], &on) < 0) {
		reply_bad(r, "forward state (on|off)", argv[0]);
		return;
	}
	reply_done(n, r, "forward", argv[0], sysctl_write(n->ip_forward, on));
}

static int cmp_addr(const void *a, const void *b)
{
	uint32_t x = ntohl(*(const uint32_t *)a), y = ntohl(*(const uint32_t *)b);

	return x < y ? -1 : x > y;
}

static int cmp_port(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* "a,b,c" from the listing, sorted so replies are stable. -EMSGSIZE if long. */
static int join_listing(char *buf, size_t size, struct nat_listing *l, int masq)
{
	size_t i, n = masq ? l->nmasq : l->nblock, pos = 0;
	char one[INET_ADDRSTRLEN];
	int w;

	if (masq)
		qsort(l->masq, n, sizeof(l->masq[0]), cmp_addr);
	else
		qsort(l->block, n, sizeof(l->block[0]), cmp_port);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (masq)
			inet_ntop(AF_INET, &l->masq[i], one, sizeof(one));
		else
			snprintf(one, sizeof(one), "%u", (unsigned)l->block[i]);
		w = snprintf(buf + pos, size - pos, "%s%s", i ? "," : "", one);
		if (w < 0 || (size_t)w >= size - pos)
			return -EMSGSIZE;
		pos += (size_t)w;
	}
	return 0;
}

static void verb_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct natctl *n = ctx;
	char masq[LINE_MAX_LEN], block[LINE_MAX_LEN];
	struct nat_listing *l;
	int err, on = 0;

	if (!(l = malloc(sizeof(*l)))) {
		line_reply_err(r, LINE_ESYS, "list: %s", strerror(ENOMEM));
		return;
	}
	err = n->nft->list(l);
	if (err == 0)
		err = sysctl_read(n->ip_forward, &on);
	if (err < 0)
		line_reply_err(r, LINE_ESYS, "list: %s", strerror(-err));
	else if (join_listing(masq, sizeof(masq), l, 1) < 0 ||
	         join_listing(block, sizeof(block), l, 0) < 0)
		line_reply_err(r, LINE_ETOOLONG, "list: too many elements for one line");
	else {
		line_reply_ok(r);
		line_reply_kv(r, "masq", masq);
		line_reply_kv(r, "blocked", block);
		line_reply_kv(r, "forward", on ? "on" : "off");
		line_reply_kv(r, "uplink", n->uplink ? n->uplink : "");
	}
	free(l);
}

/* usage texts double as the -h listing and the man page's verb list. */
const struct verb natctl_verbs[] = {
	{ "add", 1, 1, verb_add, "IP" },
	{ "del", 1, 1, verb_del, "IP" },
	{ "list", 0, 0, verb_list, "" },
	{ "forward", 1, 1, verb_forward, "on|off" },
	{ "block", 1, 1, verb_block, "PORT" },
	{ "unblock", 1, 1, verb_unblock, "PORT" },
	{ "flush", 0, 0, verb_flush, "" },
	{ NULL, 0, 0, NULL, NULL },
};
