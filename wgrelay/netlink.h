/* Links, addresses, routes and policy rules over rtnetlink (libnl-route-3).
 * Every function returns 0 or a negative errno: adding what exists gives
 * -EEXIST and removing what is absent -ENOENT (callers treat both as done),
 * a missing interface -ENODEV. */
#ifndef WGRELAY_NETLINK_H
#define WGRELAY_NETLINK_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include "parse.h"

/* The interface's index, or -ENODEV. */
int netlink_link_index(const char *name);
/* The link's IFLA_INFO_KIND ("" when none) into kind. */
int netlink_link_kind(const char *name, char *kind, size_t size);
int netlink_link_add(const char *name, const char *kind);
int netlink_link_del(const char *name);
int netlink_link_up(const char *name);

int netlink_addr(int add, const char *ifname, const struct cidr *c);

struct net_route {
	struct cidr dst;
	char dev[IFNAMSIZ];
	uint32_t table; /* 0: main */
};
int netlink_route(int add, const struct net_route *r);

struct net_rule {
	int family;     /* AF_INET or AF_INET6 */
	int invert;     /* "not": the selector is negated */
	int has_fwmark;
	uint32_t fwmark, fwmask;
	int has_to;
	struct cidr to;
	int has_table;
	uint32_t table;
	int has_priority;
	uint32_t priority;
	int has_suppress;
	uint32_t suppress; /* suppress-prefixlength */
};
int netlink_rule(int add, const struct net_rule *r);

#endif
