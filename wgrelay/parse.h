/* wgrelay's parsers for hostile words: interface names, numbers, CIDRs,
 * numeric endpoints, routing tables. Pure; each returns 0 or -EINVAL. */
#ifndef WGRELAY_PARSE_H
#define WGRELAY_PARSE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include "wg.h"

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t len;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
};

#define CIDR_HOST_BITS 1 /* accept bits set past the prefix (an address) */
#define CIDR_BARE 2      /* accept a bare address as /32 or /128 */
#define CIDR_STRLEN (INET6_ADDRSTRLEN + 4)

/* 1..15 bytes of [a-zA-Z0-9_.-], not "." or "..". */
int parse_ifname(const char *s);
/* Decimal digits only (no sign, space or leading zeros), value <= max. */
int parse_ulong(const char *s, uint64_t max, uint64_t *out);
/* A fwmark: decimal or 0x hex, 0..0xffffffff. */
int parse_mark(const char *s, uint32_t *out);
/* A routing table: main, local, default or 1..4294967295. */
int parse_table(const char *s, uint32_t *out);
int parse_cidr(const char *s, int flags, struct cidr *out);
/* Comma-separated CIDRs, at least one, no empty item: malloc'ed array. */
int parse_cidr_list(const char *s, int flags, struct cidr **out, size_t *n);
/* Numeric "1.2.3.4:P" or "[v6]:P", P 1..65535; no name lookups. */
int parse_endpoint(const char *s, union wg_endpoint *out);
void cidr_format(const struct cidr *c, char *buf, size_t size);

#endif
