/* natctl's verb table and the pure parsers of its words, shared by the three
 * ways natctl runs (argv, stdin, UNIX socket). */
#ifndef NATCTL_VERBS_H
#define NATCTL_VERBS_H

#include <stdint.h>
#include "nft.h"
#include "verb.h"

#define NATCTL_IP_FORWARD "/proc/sys/net/ipv4/ip_forward"

/* What every verb handler gets as ctx. */
struct natctl {
	const char *uplink;             /* NULL: not configured (add refuses) */
	const char *ip_forward;         /* path of the ip_forward sysctl */
	const struct nat_backend *nft;  /* &nat_nft, or a fake in tests */
	int log_changes;                /* server mode: one log line per change */
};

extern const struct verb natctl_verbs[];

/* A unicast IPv4 address in dotted quad (inet_pton), not in 0/8, 127/8 or
 * 224/3. Returns 0 and the address in network byte order, or -EINVAL. */
int natctl_parse_ipv4(const char *s, uint32_t *addr_be);
/* A decimal port 1..65535, digits only. Returns 0 or -EINVAL. */
int natctl_parse_port(const char *s, uint16_t *port);
/* "on" or "off". Returns 0 and *on, or -EINVAL. */
int natctl_parse_onoff(const char *s, int *on);
/* An interface name: 1..15 bytes of [A-Za-z0-9._-], not "." or "..".
 * Returns 0 or -EINVAL. */
int natctl_parse_ifname(const char *s);

#endif
