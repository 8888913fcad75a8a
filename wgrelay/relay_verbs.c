/* The relay verbs: `relay add|del|list`. Every word is checked here before
 * relay.c is asked to change anything, so a bad request changes nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "relay.h"
#include "wgrelay.h"

/* Digits in UINT64_MAX: anything longer overflows for sure. */
#define RATE_DIGITS_MAX 20

static struct relay_table *relay_ctx_table(void *ctx, struct line_reply *r)
{
	struct wgrelay *w = ctx;

	if (!w->serving || w->relays == NULL) {
		line_reply_err(r, LINE_EUSAGE, "relay verbs need the server (-l)");
		return NULL;
	}
	return w->relays;
}

/* 1..64 of [A-Za-z0-9_-]: safe in a reply line and a log line as it is. */
static int relay_id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++) {
		if (i >= RELAY_ID_MAX)
			return 0;
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '-'))
			return 0;
	}
	return i > 0;
}

/* Decimal digits only: strtoull alone would take "-1", " 5" and "+5". */
static int relay_parse_rate(const char *text, uint64_t *out)
{
	unsigned long long v;
	char *end;
	size_t i;

	for (i = 0; text[i] != '\0'; i++)
		if (text[i] < '0' || text[i] > '9' || i >= RATE_DIGITS_MAX)
			return -EINVAL;
	if (i == 0)
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0')
		return -ERANGE;
	*out = v;
	return 0;
}

/* HOST:PORT or [V6]:PORT, numeric only: a relay never resolves names. */
static int relay_parse_to(const char *text, struct relay_opts *o)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&o->to;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&o->to;
	char host[INET6_ADDRSTRLEN];
	uint16_t port;

	if (config_parse_addr(text, host, sizeof(host), &port) < 0 || port == 0)
		return -EINVAL;
	memset(&o->to, 0, sizeof(o->to));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		o->to_len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		o->to_len = sizeof(*s6);
	} else {
		return -EINVAL;
	}
	o->has_to = 1;
	return 0;
}

/* One option and its value; fills the err reply and returns -1 if bad. */
static int relay_parse_opt(const char *key, const char *val, struct relay_opts *o,
                           int *seen_rate, struct line_reply *r)
{
	if (!strcmp(key, "rate") && !*seen_rate) {
		*seen_rate = 1;
		if (relay_parse_rate(val, &o->rate) == 0)
			return 0;
		line_reply_err(r, LINE_EINVAL, "rate must be bits/s, 0..%llu",
		               (unsigned long long)UINT64_MAX);
		return -1;
	}
	if (!strcmp(key, "to") && !o->has_to) {
		if (relay_parse_to(val, o) == 0)
			return 0;
		line_reply_err(r, LINE_EINVAL, "to must be IP:PORT or [IPv6]:PORT, port 1..65535");
		return -1;
	}
	line_reply_err(r, LINE_EUSAGE, "relay add ID [rate BPS] [to HOST:PORT]");
	return -1;
}

static int relay_parse_add(int argc, char **argv, struct relay_opts *o, struct line_reply *r)
{
	int i, seen_rate = 0;

	memset(o, 0, sizeof(*o));
	if (argc < 1 || argc % 2 == 0) {
		line_reply_err(r, LINE_EUSAGE, "relay add ID [rate BPS] [to HOST:PORT]");
		return -1;
	}
	if (!relay_id_valid(argv[0])) {
		line_reply_err(r, LINE_EINVAL, "relay id must be 1..%d of A-Z a-z 0-9 _ -",
		               RELAY_ID_MAX);
		return -1;
	}
	for (i = 1; i + 1 < argc; i += 2)
		if (relay_parse_opt(argv[i], argv[i + 1], o, &seen_rate, r) < 0)
			return -1;
	return 0;
}

void verb_relay_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct relay_table *t = relay_ctx_table(ctx, r);
	struct relay_opts o;
	uint16_t cport, eport;
	int rc;

	if (t == NULL || relay_parse_add(argc, argv, &o, r) < 0)
		return;
	rc = relay_session_add(t, argv[0], &o, &cport, &eport);
	if (rc == -EEXIST) {
		line_reply_err(r, LINE_EINVAL, "relay %s exists with other options", argv[0]);
		return;
	}
	if (rc == -EAFNOSUPPORT) {
		line_reply_err(r, LINE_EINVAL, "to is IPv6 but relay ports bind IPv4");
		return;
	}
	if (rc < 0) {
		line_reply_err(r, LINE_ESYS, "relay %s: %s", argv[0], strerror(-rc));
		return;
	}
	line_reply_ok(r);
	line_reply_kv(r, "id", argv[0]);
	line_reply_kvf(r, "client_port", "%u", (unsigned)cport);
	line_reply_kvf(r, "exit_port", "%u", (unsigned)eport);
}

void verb_relay_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct relay_table *t = relay_ctx_table(ctx, r);

	if (t == NULL)
		return;
	if (argc != 1) {
		line_reply_err(r, LINE_EUSAGE, "relay del ID");
		return;
	}
	if (!relay_id_valid(argv[0])) {
		line_reply_err(r, LINE_EINVAL, "relay id must be 1..%d of A-Z a-z 0-9 _ -",
		               RELAY_ID_MAX);
		return;
	}
	/* Deleting what is not there is ok: verbs are idempotent. */
	(void)relay_session_del(t, argv[0]);
	line_reply_ok(r);
}

static void relay_list_one(void *arg, const struct relay_info *i)
{
	/* New fields go at the end: readers split on commas by position. */
	line_reply_kvf(arg, "relay", "%s,%u,%u,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu",
	               i->id, (unsigned)i->client_port, (unsigned)i->exit_port,
	               (unsigned long long)i->bytes[RELAY_C2E],
	               (unsigned long long)i->packets[RELAY_C2E],
	               (unsigned long long)i->bytes[RELAY_E2C],
	               (unsigned long long)i->packets[RELAY_E2C],
	               (unsigned long long)i->drops_total, (unsigned long long)i->rate,
	               (unsigned long long)i->held, (unsigned long long)i->flushed,
	               (unsigned long long)i->expired);
}

/*
 * `relay list [ID]`: one line, count first. A reply line holds fifteen
 * sessions at worst (64-character ids, 20-digit counters), usually many
 * more; past that the reply is "err toolong", so ask per ID.
 */
void verb_relay_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct relay_table *t = relay_ctx_table(ctx, r);
	struct relay_info info;
	struct relay_totals tot;

	if (t == NULL)
		return;
	if (argc > 1) {
		line_reply_err(r, LINE_EUSAGE, "relay list [ID]");
		return;
	}
	line_reply_ok(r);
	if (argc == 0) {
		relay_table_totals(t, &tot);
		line_reply_kvf(r, "count", "%llu", (unsigned long long)tot.sessions);
		relay_table_walk(t, relay_list_one, r);
		return;
	}
	if (!relay_id_valid(argv[0]) || relay_session_info(t, argv[0], &info) < 0) {
		line_reply_err(r, LINE_ENOENT, "no relay with that id");
		return;
	}
	line_reply_kvf(r, "count", "1");
	relay_list_one(r, &info);
}
