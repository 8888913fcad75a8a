/* natctl's one kernel object, the nftables table "ip supermesh": what the verbs
 * may change and read, each change one atomic netlink batch (nft.c). */
#ifndef NATCTL_NFT_H
#define NATCTL_NFT_H

#include <stddef.h>
#include <stdint.h>

#define NAT_TABLE_NAME "supermesh"
#define NAT_LIST_MAX 1024 /* elements read back per set; a reply holds fewer */

/* The table's contents as `list` reports them. */
struct nat_listing {
	uint32_t masq[NAT_LIST_MAX];  /* masqueraded sources, network byte order */
	size_t nmasq;
	uint16_t block[NAT_LIST_MAX]; /* blocked destination ports, host order */
	size_t nblock;
};

/*
 * The kernel side of the verbs. Behind pointers only so unit tests and the
 * fuzzer can run every verb against a recording fake and prove that bad input
 * never reaches the kernel. Each function returns 0 or a negative errno.
 *
 * masq/block first make sure the table, its chains, sets and rules exist
 * (uplink NULL: the masquerade rule is left as it is), then add or remove one
 * element, all in one batch. Adding what is there and removing what is not
 * both succeed. flush removes the table, absent or not. list of an absent
 * table is empty.
 */
struct nat_backend {
	int (*masq)(const char *uplink, uint32_t addr_be, int add);
	int (*block)(const char *uplink, uint16_t port, int add);
	int (*flush)(void);
	int (*list)(struct nat_listing *out);
};

extern const struct nat_backend nat_nft;

#endif
