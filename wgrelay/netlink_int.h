/* What netlink.c shares with netlink_rule.c: libnl sockets and errors. */
#ifndef WGRELAY_NETLINK_INT_H
#define WGRELAY_NETLINK_INT_H

#include <netlink/addr.h>
#include <netlink/socket.h>
#include "parse.h"

/* A libnl error (-NLE_*) as a negative errno. */
int netlink_errno(int nle);
/* A connected NETLINK_ROUTE socket; nl_socket_free it. */
int netlink_open(struct nl_sock **out);
int netlink_nl_addr(const struct cidr *c, struct nl_addr **out);

#endif
