/* Policy routing rules as raw RTM_*RULE messages through libnl-3: libnl's
 * rtnl_rule has no "not" (FIB_RULE_INVERT) and no suppress-prefixlength,
 * which a full-tunnel client needs. The kernel adds duplicate rules when no
 * priority is given, so add first looks for an identical rule; del removes
 * only a rule identical to the one described, never a wider match. */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <string.h>
#include "netlink.h"
#include "netlink_int.h"

static uint32_t rule_table(const struct net_rule *r)
{
	return r->has_table ? r->table : RT_TABLE_MAIN;
}

/* The mask the kernel stores: an explicit one, else all bits when marked. */
static uint32_t rule_mask(const struct net_rule *r)
{
	if (!r->has_fwmark)
		return 0;
	return r->fwmask;
}

static int rule_msg(int add, const struct net_rule *r, struct nl_msg **out)
{
	struct fib_rule_hdr frh;
	struct nl_msg *msg;
	int alen = r->family == AF_INET ? 4 : 16;
	int ret = 0;

	msg = nlmsg_alloc_simple(add ? RTM_NEWRULE : RTM_DELRULE,
	                         add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	if (!msg)
		return -ENOMEM;
	memset(&frh, 0, sizeof(frh));
	frh.family = (uint8_t)r->family;
	frh.action = FR_ACT_TO_TBL;
	frh.flags = r->invert ? FIB_RULE_INVERT : 0;
	frh.dst_len = r->has_to ? r->to.len : 0;
	if (nlmsg_append(msg, &frh, sizeof(frh), NLMSG_ALIGNTO) < 0)
		ret = -EMSGSIZE;
	if (ret == 0)
		ret = nla_put_u32(msg, FRA_TABLE, rule_table(r));
	if (ret == 0 && r->has_priority)
		ret = nla_put_u32(msg, FRA_PRIORITY, r->priority);
	if (ret == 0 && r->has_fwmark) {
		ret = nla_put_u32(msg, FRA_FWMARK, r->fwmark);
		if (ret == 0)
			ret = nla_put_u32(msg, FRA_FWMASK, rule_mask(r));
	}
	if (ret == 0 && r->has_to)
		ret = nla_put(msg, FRA_DST, alen, &r->to.addr);
	if (ret == 0 && r->has_suppress)
		ret = nla_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, r->suppress);
	if (ret < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	*out = msg;
	return 0;
}

static uint32_t attr_u32(struct nlattr **tb, int type, uint32_t def)
{
	return tb[type] ? nla_get_u32(tb[type]) : def;
}

/* Whether a dumped rule is exactly the one r would add. */
static int rule_same(struct nlmsghdr *nlh, const struct net_rule *r)
{
	static const int foreign[] = { FRA_SRC, FRA_IIFNAME, FRA_OIFNAME, FRA_GOTO,
		FRA_L3MDEV, FRA_UID_RANGE, FRA_IP_PROTO, FRA_SPORT_RANGE, FRA_DPORT_RANGE };
	struct fib_rule_hdr *frh = nlmsg_data(nlh);
	struct nlattr *tb[FRA_MAX + 1];
	size_t i;

	if (nlmsg_parse(nlh, sizeof(*frh), tb, FRA_MAX, NULL) < 0)
		return 0;
	for (i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		if (tb[foreign[i]])
			return 0;
	if (frh->family != r->family || frh->action != FR_ACT_TO_TBL || frh->src_len ||
	    frh->tos || !!(frh->flags & FIB_RULE_INVERT) != !!r->invert ||
	    attr_u32(tb, FRA_TABLE, frh->table) != rule_table(r) ||
	    attr_u32(tb, FRA_FWMARK, 0) != (r->has_fwmark ? r->fwmark : 0) ||
	    attr_u32(tb, FRA_FWMASK, 0) != rule_mask(r) ||
	    attr_u32(tb, FRA_SUPPRESS_PREFIXLEN, UINT32_MAX) !=
	            (r->has_suppress ? r->suppress : UINT32_MAX))
		return 0;
	if (r->has_priority && attr_u32(tb, FRA_PRIORITY, 0) != r->priority)
		return 0;
	if (frh->dst_len != (r->has_to ? r->to.len : 0))
		return 0;
	if (r->has_to && (!tb[FRA_DST] ||
	                  nla_len(tb[FRA_DST]) != (r->family == AF_INET ? 4 : 16) ||
	                  memcmp(nla_data(tb[FRA_DST]), &r->to.addr, nla_len(tb[FRA_DST]))))
		return 0;
	return 1;
}

struct rule_search {
	const struct net_rule *want;
	int found;
	uint32_t priority;
};

static int rule_dump_cb(struct nl_msg *msg, void *arg)
{
	struct rule_search *s = arg;

	struct nlattr *prio;

	if (!s->found && rule_same(nlmsg_hdr(msg), s->want)) {
		s->found = 1;
		prio = nlmsg_find_attr(nlmsg_hdr(msg), sizeof(struct fib_rule_hdr), FRA_PRIORITY);
		s->priority = prio ? nla_get_u32(prio) : 0;
	}
	return NL_OK;
}

/* 1 and its priority if the rule exists, 0 if not, or a negative errno. */
static int rule_find(struct nl_sock *sk, const struct net_rule *r, uint32_t *priority)
{
	struct rule_search s = { r, 0, 0 };
	struct fib_rule_hdr frh;
	int ret;

	memset(&frh, 0, sizeof(frh));
	frh.family = (uint8_t)r->family;
	ret = nl_send_simple(sk, RTM_GETRULE, NLM_F_DUMP, &frh, sizeof(frh));
	if (ret < 0)
		return netlink_errno(ret);
	ret = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, rule_dump_cb, &s);
	if (ret == 0)
		ret = nl_recvmsgs_default(sk);
	if (ret < 0)
		return netlink_errno(ret);
	*priority = s.priority;
	return s.found;
}

int netlink_rule(int add, const struct net_rule *r)
{
	struct nl_sock *sk = NULL;
	struct nl_msg *msg;
	struct net_rule exact = *r;
	int ret = netlink_open(&sk);

	if (ret < 0)
		return ret;
	ret = rule_find(sk, r, &exact.priority);
	if (ret < 0 || (add && ret == 1) || (!add && ret == 0)) {
		ret = ret < 0 ? ret : (add ? -EEXIST : -ENOENT);
		goto out;
	}
	/* Delete by the found priority too, so only that very rule goes. */
	exact.has_priority = 1;
	ret = rule_msg(add, add ? r : &exact, &msg);
	if (ret == 0)
		ret = netlink_errno(nl_send_sync(sk, msg));
out:
	nl_socket_free(sk);
	return ret;
}
