/* The routing verbs: addr, route and rule add|del, enough for a wg-quick
 * style full tunnel. Adding what exists and deleting what is absent are ok. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "log.h"
#include "netlink.h"
#include "parse.h"
#include "verbs.h"
#include "wgrelay.h"

static void reply_result(struct line_reply *r, int add, int ret, const char *what,
                         const char *name)
{
	if (ret == 0 || (add && ret == -EEXIST) || (!add && ret == -ENOENT)) {
		if (ret == 0)
			log_info("event=%s_%s target=%s", what, add ? "added" : "deleted", name);
		line_reply_ok(r);
		return;
	}
	verb_reply_errno(r, ret, add ? "add" : "del", name);
}

static void addr_change(int add, int argc, char **argv, struct line_reply *r)
{
	struct cidr c;

	if (parse_ifname(argv[0]) < 0) {
		line_reply_err(r, LINE_EINVAL, "bad interface name (1-15 of a-z A-Z 0-9 _ . -)");
		return;
	}
	if (parse_cidr(argv[1], CIDR_HOST_BITS | CIDR_BARE, &c) < 0) {
		line_reply_err(r, LINE_EINVAL, "bad address (IPv4 or IPv6 with /prefix)");
		return;
	}
	reply_result(r, add, netlink_addr(add, argv[0], &c), "addr", argv[0]);
}

void verb_addr_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	addr_change(1, argc, argv, r);
}

void verb_addr_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	addr_change(0, argc, argv, r);
}

static void route_change(int add, int argc, char **argv, struct line_reply *r)
{
	struct verb_opt opts[] = { { "dev", 1, 1, NULL }, { "table", 1, 0, NULL }, { NULL, 0, 0, NULL } };
	struct net_route rt;

	memset(&rt, 0, sizeof(rt));
	if (parse_cidr(argv[0], CIDR_BARE, &rt.dst) < 0) {
		line_reply_err(r, LINE_EINVAL, "bad destination (CIDR without host bits)");
		return;
	}
	if (verb_opts_parse(opts, argc - 1, argv + 1, r) < 0)
		return;
	if (parse_ifname(opts[0].value) < 0) {
		line_reply_err(r, LINE_EINVAL, "bad interface name (1-15 of a-z A-Z 0-9 _ . -)");
		return;
	}
	if (opts[1].value && parse_table(opts[1].value, &rt.table) < 0) {
		line_reply_err(r, LINE_EINVAL, "bad table (main, local, default or 1..4294967295)");
		return;
	}
	snprintf(rt.dev, sizeof(rt.dev), "%s", opts[0].value);
	reply_result(r, add, netlink_route(add, &rt), "route", argv[0]);
}

void verb_route_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	route_change(1, argc, argv, r);
}

void verb_route_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	route_change(0, argc, argv, r);
}

/* "M" or "M/MASK"; without a mask the kernel matches every bit of a non-zero mark. */
static int parse_fwmark_mask(const char *s, struct net_rule *rule)
{
	char buf[32];
	char *slash;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (parse_mark(buf, &rule->fwmark) < 0)
		return -EINVAL;
	if (slash)
		return parse_mark(slash, &rule->fwmask);
	rule->fwmask = rule->fwmark ? UINT32_MAX : 0;
	return 0;
}

enum { R_NOT, R_FWMARK, R_TO, R_TABLE, R_PRIO, R_SUPPRESS, R_FAMILY };

static int rule_family(const char *fam, struct net_rule *rule, struct line_reply *r)
{
	int want = rule->has_to ? rule->to.family : AF_INET;

	if (fam && strcmp(fam, "inet") && strcmp(fam, "inet6")) {
		line_reply_err(r, LINE_EINVAL, "bad family (inet or inet6)");
		return -EINVAL;
	}
	if (fam)
		want = strcmp(fam, "inet6") ? AF_INET : AF_INET6;
	if (rule->has_to && rule->to.family != want) {
		line_reply_err(r, LINE_EINVAL, "'to' is not of family %s", fam);
		return -EINVAL;
	}
	rule->family = want;
	return 0;
}

/* Parses the rule words into rule; an err reply and -EINVAL on bad input. */
static int rule_parse(int argc, char **argv, struct net_rule *rule, struct line_reply *r)
{
	struct verb_opt o[] = { { "not", 0, 0, NULL }, { "fwmark", 1, 0, NULL },
		{ "to", 1, 0, NULL }, { "table", 1, 0, NULL }, { "priority", 1, 0, NULL },
		{ "suppress-prefixlength", 1, 0, NULL }, { "family", 1, 0, NULL }, { NULL, 0, 0, NULL } };
	uint64_t prio = 0, sup = 0;
	const char *bad = NULL;

	memset(rule, 0, sizeof(*rule));
	if (verb_opts_parse(o, argc, argv, r) < 0)
		return -EINVAL;
	rule->invert = o[R_NOT].value != NULL;
	if ((rule->has_fwmark = o[R_FWMARK].value != NULL) &&
	    parse_fwmark_mask(o[R_FWMARK].value, rule) < 0)
		bad = "bad fwmark (M or M/MASK, decimal or 0x hex)";
	else if ((rule->has_to = o[R_TO].value != NULL) &&
	         parse_cidr(o[R_TO].value, CIDR_BARE, &rule->to) < 0)
		bad = "bad 'to' (CIDR without host bits)";
	else if ((rule->has_table = o[R_TABLE].value != NULL) &&
	         parse_table(o[R_TABLE].value, &rule->table) < 0)
		bad = "bad table (main, local, default or 1..4294967295)";
	else if ((rule->has_priority = o[R_PRIO].value != NULL) &&
	         (parse_ulong(o[R_PRIO].value, UINT32_MAX, &prio) < 0 || prio == 0))
		bad = "bad priority (1..4294967295)";
	else if ((rule->has_suppress = o[R_SUPPRESS].value != NULL) &&
	         parse_ulong(o[R_SUPPRESS].value, 128, &sup) < 0)
		bad = "bad suppress-prefixlength (0..128)";
	if (bad) {
		line_reply_err(r, LINE_EINVAL, "%s", bad);
		return -EINVAL;
	}
	rule->priority = (uint32_t)prio;
	rule->suppress = (uint32_t)sup;
	if (rule_family(o[R_FAMILY].value, rule, r) < 0)
		return -EINVAL;
	if (rule->family == AF_INET && rule->suppress > 32) {
		line_reply_err(r, LINE_EINVAL, "bad suppress-prefixlength (0..32 for inet)");
		return -EINVAL;
	}
	return 0;
}

static void rule_change(int add, int argc, char **argv, struct line_reply *r)
{
	struct net_rule rule;

	if (rule_parse(argc, argv, &rule, r) < 0)
		return;
	reply_result(r, add, netlink_rule(add, &rule), "rule",
	             rule.family == AF_INET ? "inet" : "inet6");
}

void verb_rule_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	rule_change(1, argc, argv, r);
}

void verb_rule_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	rule_change(0, argc, argv, r);
}
