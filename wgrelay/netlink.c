/* Links, addresses and routes through libnl-route-3 (rules: netlink_rule.c).
 * One short-lived rtnetlink socket per call: verbs are rare. */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <string.h>
#include "netlink.h"
#include "netlink_int.h"

int netlink_errno(int nle)
{
	static const struct { int nle, err; } map[] = {
		{ NLE_EXIST, EEXIST }, { NLE_OBJ_NOTFOUND, ENOENT },
		{ NLE_NOADDR, ENOENT }, { NLE_NODEV, ENODEV },
		{ NLE_PERM, EPERM }, { NLE_NOACCESS, EACCES },
		{ NLE_INVAL, EINVAL }, { NLE_NOMEM, ENOMEM },
		{ NLE_RANGE, ERANGE }, { NLE_OPNOTSUPP, EOPNOTSUPP },
		{ NLE_BUSY, EBUSY }, { NLE_AGAIN, EAGAIN },
		{ NLE_AF_NOSUPPORT, EAFNOSUPPORT }, { NLE_MSGSIZE, EMSGSIZE },
		{ NLE_NOATTR, ENOENT },
	};
	size_t i;

	if (nle >= 0)
		return nle;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].nle == -nle)
			return -map[i].err;
	return -EIO;
}

int netlink_open(struct nl_sock **out)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ret;

	if (!sk)
		return -ENOMEM;
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (ret < 0) {
		nl_socket_free(sk);
		return netlink_errno(ret);
	}
	*out = sk;
	return 0;
}

/* The kernel's link named `name` into *out (rtnl_link_put it). */
static int link_get(struct nl_sock *sk, const char *name, struct rtnl_link **out)
{
	int ret = rtnl_link_get_kernel(sk, 0, name, out);

	if (ret == -NLE_OBJ_NOTFOUND || ret == -NLE_NODEV)
		return -ENODEV;
	return netlink_errno(ret);
}

int netlink_link_index(const char *name)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	int ret = netlink_open(&sk);

	if (ret < 0)
		return ret;
	ret = link_get(sk, name, &link);
	if (ret == 0)
		ret = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}

int netlink_link_kind(const char *name, char *kind, size_t size)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	int ret = netlink_open(&sk);

	if (ret < 0)
		return ret;
	ret = link_get(sk, name, &link);
	if (ret == 0) {
		const char *t = rtnl_link_get_type(link);

		snprintf(kind, size, "%s", t ? t : "");
	}
	rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}

int netlink_link_add(const char *name, const char *kind)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = rtnl_link_alloc();
	int ret;

	if (!link)
		return -ENOMEM;
	ret = netlink_open(&sk);
	if (ret < 0)
		goto out;
	rtnl_link_set_name(link, name);
	ret = netlink_errno(rtnl_link_set_type(link, kind));
	if (ret == 0)
		ret = netlink_errno(rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL));
	nl_socket_free(sk);
out:
	rtnl_link_put(link);
	return ret;
}

int netlink_link_del(const char *name)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	int ret = netlink_open(&sk);

	if (ret < 0)
		return ret;
	ret = link_get(sk, name, &link);
	if (ret == 0)
		ret = netlink_errno(rtnl_link_delete(sk, link));
	if (ret == -ENOENT)
		ret = -ENODEV;
	rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}

int netlink_link_up(const char *name)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL, *change = rtnl_link_alloc();
	int ret;

	if (!change)
		return -ENOMEM;
	ret = netlink_open(&sk);
	if (ret < 0)
		goto out;
	ret = link_get(sk, name, &link);
	if (ret == 0) {
		rtnl_link_set_flags(change, IFF_UP);
		ret = netlink_errno(rtnl_link_change(sk, link, change, 0));
	}
	rtnl_link_put(link);
	nl_socket_free(sk);
out:
	rtnl_link_put(change);
	return ret;
}

int netlink_nl_addr(const struct cidr *c, struct nl_addr **out)
{
	*out = nl_addr_build(c->family, &c->addr, c->family == AF_INET ? 4 : 16);
	if (!*out)
		return -ENOMEM;
	nl_addr_set_prefixlen(*out, c->len);
	return 0;
}

int netlink_addr(int add, const char *ifname, const struct cidr *c)
{
	struct nl_sock *sk = NULL;
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = NULL;
	int ret, ifindex;

	if (!a)
		return -ENOMEM;
	ret = ifindex = netlink_link_index(ifname);
	if (ret < 0)
		goto out;
	ret = netlink_nl_addr(c, &local);
	if (ret < 0)
		goto out;
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, c->family);
	ret = netlink_errno(rtnl_addr_set_local(a, local));
	if (ret < 0 || (ret = netlink_open(&sk)) < 0)
		goto out;
	if (add)
		ret = netlink_errno(rtnl_addr_add(sk, a, NLM_F_EXCL));
	else
		ret = netlink_errno(rtnl_addr_delete(sk, a, 0));
out:
	nl_socket_free(sk);
	nl_addr_put(local);
	rtnl_addr_put(a);
	return ret;
}

static int route_build(const struct net_route *r, int ifindex, struct rtnl_route *rt)
{
	struct rtnl_nexthop *nh;
	struct nl_addr *dst;
	int ret = netlink_nl_addr(&r->dst, &dst);

	if (ret < 0)
		return ret;
	rtnl_route_set_family(rt, (uint8_t)r->dst.family);
	rtnl_route_set_table(rt, r->table ? r->table : RT_TABLE_MAIN);
	ret = netlink_errno(rtnl_route_set_dst(rt, dst));
	nl_addr_put(dst);
	if (ret < 0)
		return ret;
	/* What `ip route add CIDR dev NAME` sends: a link-scope unicast route. */
	rtnl_route_set_scope(rt, r->dst.family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
	rtnl_route_set_protocol(rt, RTPROT_BOOT);
	rtnl_route_set_type(rt, RTN_UNICAST);
	nh = rtnl_route_nh_alloc();
	if (!nh)
		return -ENOMEM;
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(rt, nh);
	return 0;
}

int netlink_route(int add, const struct net_route *r)
{
	struct nl_sock *sk = NULL;
	struct rtnl_route *rt = rtnl_route_alloc();
	int ret, ifindex;

	if (!rt)
		return -ENOMEM;
	ret = ifindex = netlink_link_index(r->dev);
	if (ret < 0)
		goto out;
	ret = route_build(r, ifindex, rt);
	if (ret < 0 || (ret = netlink_open(&sk)) < 0)
		goto out;
	if (add)
		ret = netlink_errno(rtnl_route_add(sk, rt, NLM_F_EXCL));
	else
		ret = netlink_errno(rtnl_route_delete(sk, rt, 0));
out:
	nl_socket_free(sk);
	rtnl_route_put(rt);
	return ret;
}
