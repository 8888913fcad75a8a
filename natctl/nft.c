/* natctl's nftables table through libnftnl and libmnl: every change is one
 * netlink batch, so the kernel applies all of it or none; sets are read back
 * with element dumps. The only file that talks to the kernel's nf_tables. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include "nft.h"

#define FAMILY NFPROTO_IPV4
#define CHAIN_NAT "postrouting"
#define CHAIN_FWD "forward"
#define SET_MASQ "masq"
#define SET_BLOCK "block"
/* Batch-local ids let rules refer to sets created in the same batch. */
#define SET_MASQ_ID 1
#define SET_BLOCK_ID 2
/* nft's datatype numbers, so `nft list` prints elements as addresses/ports. */
#define TYPE_IPADDR 7
#define TYPE_INET_SERVICE 13
/* libmnl wants twice the limit in the buffer so the last message can spill. */
#define BATCH_LIMIT (16 * 1024)
/* The kernel fills dump messages up to 32 KiB; a smaller buffer truncates. */
#define DUMP_BUF (32 * 1024)

struct batch {
	struct mnl_nlmsg_batch *b;
	uint32_t seq;
	int err; /* first failure while building: the batch is never sent */
	char buf[2 * BATCH_LIMIT];
};

static struct nlmsghdr *batch_hdr(struct batch *bt, uint16_t type, uint16_t flags)
{
	/* An ack per message: the reader counts nothing, it drains them all. */
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, FAMILY,
	                             flags | NLM_F_ACK, bt->seq++);
}

static void batch_next(struct batch *bt)
{
	if (!mnl_nlmsg_batch_next(bt->b) && !bt->err)
		bt->err = -EMSGSIZE;
}

static struct batch *batch_new(void)
{
	struct batch *bt = calloc(1, sizeof(*bt));

	if (!bt)
		return NULL;
	bt->b = mnl_nlmsg_batch_start(bt->buf, BATCH_LIMIT);
	if (!bt->b) {
		free(bt);
		return NULL;
	}
	bt->seq = 1;
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	batch_next(bt);
	return bt;
}

static void batch_free(struct batch *bt)
{
	mnl_nlmsg_batch_stop(bt->b);
	free(bt);
}

static void put_table(struct batch *bt, uint16_t type)
{
	struct nftnl_table *t;

	if (bt->err || !(t = nftnl_table_alloc())) {
		bt->err = bt->err ? bt->err : -ENOMEM;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NAT_TABLE_NAME);
	nftnl_table_nlmsg_build_payload(
		batch_hdr(bt, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0), t);
	nftnl_table_free(t);
	batch_next(bt);
}

/* A base chain; without NLM_F_EXCL an existing one is left as it is. */
static void put_chain(struct batch *bt, const char *name, const char *type,
                      uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c;

	if (bt->err || !(c = nftnl_chain_alloc())) {
		bt->err = bt->err ? bt->err : -ENOMEM;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NAT_TABLE_NAME);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_nlmsg_build_payload(batch_hdr(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
	nftnl_chain_free(c);
	batch_next(bt);
}

static struct nftnl_set *set_ref(const char *name, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NAT_TABLE_NAME);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	return s;
}

static void put_set(struct batch *bt, const char *name, uint32_t id,
                    uint32_t key_type, uint32_t key_len)
{
	struct nftnl_set *s;

	if (bt->err || !(s = set_ref(name, id))) {
		bt->err = bt->err ? bt->err : -ENOMEM;
		return;
	}
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
	nftnl_set_nlmsg_build_payload(batch_hdr(bt, NFT_MSG_NEWSET, NLM_F_CREATE), s);
	nftnl_set_free(s);
	batch_next(bt);
}

/* type NFT_MSG_NEWSETELEM or NFT_MSG_DELSETELEM, one element. */
static void put_elem(struct batch *bt, uint16_t type, const char *set, uint32_t id,
                     const void *key, uint32_t len)
{
	struct nftnl_set_elem *e;
	struct nftnl_set *s;

	if (bt->err || !(s = set_ref(set, id))) {
		bt->err = bt->err ? bt->err : -ENOMEM;
		return;
	}
	if (!(e = nftnl_set_elem_alloc())) {
		nftnl_set_free(s);
		bt->err = -ENOMEM;
		return;
	}
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len);
	nftnl_set_elem_add(s, e); /* s owns e now */
	nftnl_set_elems_nlmsg_build_payload(
		batch_hdr(bt, type, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0), s);
	nftnl_set_free(s);
	batch_next(bt);
}

/* DELRULE naming only the chain removes every rule in it ("flush chain"). */
static void put_chain_flush(struct batch *bt, const char *chain)
{
	struct nftnl_rule *r;

	if (bt->err || !(r = nftnl_rule_alloc())) {
		bt->err = bt->err ? bt->err : -ENOMEM;
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NAT_TABLE_NAME);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_nlmsg_build_payload(batch_hdr(bt, NFT_MSG_DELRULE, 0), r);
	nftnl_rule_free(r);
	batch_next(bt);
}

/* Appends an expression to r; NULL when out of memory. */
static struct nftnl_expr *expr_add(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

static int expr_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = expr_add(r, "meta");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	return 0;
}

static int expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = expr_add(r, "payload");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	return 0;
}

static int expr_cmp_eq(struct nftnl_rule *r, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_add(r, "cmp");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set_data(e, NFTNL_EXPR_CMP_DATA, data, len);
	return 0;
}

static int expr_lookup(struct nftnl_rule *r, const char *set, uint32_t id)
{
	struct nftnl_expr *e = expr_add(r, "lookup");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
	return 0;
}

static int expr_drop(struct nftnl_rule *r)
{
	struct nftnl_expr *e = expr_add(r, "immediate");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	return 0;
}

/* ip saddr @masq: the source is one of the clients natctl was told about. */
static int match_client(struct nftnl_rule *r)
{
	if (expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4) < 0)
		return -ENOMEM;
	return expr_lookup(r, SET_MASQ, SET_MASQ_ID);
}

/* oifname "<uplink>" ip saddr @masq masquerade */
static int rule_masq(struct nftnl_rule *r, const char *uplink)
{
	char ifname[IFNAMSIZ] = "";
	size_t n = strnlen(uplink, IFNAMSIZ);

	if (n == 0 || n >= IFNAMSIZ)
		return -EINVAL;
	/* The kernel compares the whole zero-padded name, as nft does. */
	memcpy(ifname, uplink, n);
	if (expr_meta(r, NFT_META_OIFNAME) < 0 || expr_cmp_eq(r, ifname, IFNAMSIZ) < 0 ||
	    match_client(r) < 0 || !expr_add(r, "masq"))
		return -ENOMEM;
	return 0;
}

/* ip saddr @masq meta l4proto <proto> th dport @block drop */
static int rule_block(struct nftnl_rule *r, uint8_t proto)
{
	if (match_client(r) < 0 || expr_meta(r, NFT_META_L4PROTO) < 0 ||
	    expr_cmp_eq(r, &proto, 1) < 0 ||
	    expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2) < 0 ||
	    expr_lookup(r, SET_BLOCK, SET_BLOCK_ID) < 0 || expr_drop(r) < 0)
		return -ENOMEM;
	return 0;
}

static struct nftnl_rule *rule_new(struct batch *bt, const char *chain)
{
	struct nftnl_rule *r;

	if (bt->err)
		return NULL;
	if (!(r = nftnl_rule_alloc())) {
		bt->err = -ENOMEM;
		return NULL;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NAT_TABLE_NAME);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

/* Appends r (built with result err) to its chain and frees it. */
static void put_rule(struct batch *bt, struct nftnl_rule *r, int err)
{
	if (err == 0)
		nftnl_rule_nlmsg_build_payload(
			batch_hdr(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), r);
	nftnl_rule_free(r);
	if (err)
		bt->err = err;
	else
		batch_next(bt);
}

static void put_rule_masq(struct batch *bt, const char *uplink)
{
	struct nftnl_rule *r = rule_new(bt, CHAIN_NAT);

	if (r)
		put_rule(bt, r, rule_masq(r, uplink));
}

static void put_rule_block(struct batch *bt, uint8_t proto)
{
	struct nftnl_rule *r = rule_new(bt, CHAIN_FWD);

	if (r)
		put_rule(bt, r, rule_block(r, proto));
}

/*
 * Makes sure the whole table is there. Rules cannot be added idempotently,
 * so each chain is flushed and refilled in the same batch: the result is the
 * same however often it runs, and no reader ever sees a chain half-filled.
 * Sets are only created, never flushed, so their elements survive.
 */
static void put_ensure(struct batch *bt, const char *uplink)
{
	put_table(bt, NFT_MSG_NEWTABLE);
	put_chain(bt, CHAIN_NAT, "nat", NF_INET_POST_ROUTING, 100);
	put_chain(bt, CHAIN_FWD, "filter", NF_INET_FORWARD, 0);
	put_set(bt, SET_MASQ, SET_MASQ_ID, TYPE_IPADDR, 4);
	put_set(bt, SET_BLOCK, SET_BLOCK_ID, TYPE_INET_SERVICE, 2);
	put_chain_flush(bt, CHAIN_FWD);
	put_rule_block(bt, IPPROTO_TCP);
	put_rule_block(bt, IPPROTO_UDP);
	/* Without an uplink we cannot write the rule; keep whatever is there. */
	if (uplink) {
		put_chain_flush(bt, CHAIN_NAT);
		put_rule_masq(bt, uplink);
	}
}

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int one = 1;

	if (!nl)
		return NULL;
	/* Acks without a copy of our request keep the receive queue small. */
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}

/*
 * The kernel runs the whole batch inside sendto(), so every ack and error is
 * queued by the time it returns: drain without blocking and keep the first
 * error (the kernel reports errors of all messages, then aborts them all).
 */
static int batch_talk(struct batch *bt)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int portid;
	int err = 0;
	ssize_t n;

	if (bt->err)
		return bt->err;
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	batch_next(bt);
	if (bt->err)
		return bt->err;
	if (!(nl = nl_open()))
		return -errno;
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(bt->b),
	                      mnl_nlmsg_batch_size(bt->b)) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		n = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && !err)
				err = -errno;
			break;
		}
		if (mnl_cb_run(buf, (size_t)n, 0, portid, NULL, NULL) < 0 && !err)
			err = -errno;
	}
out:
	mnl_socket_close(nl);
	return err;
}

/* One element change; removal adds first so an absent element is no error
 * on any kernel (NFT_MSG_DESTROYSETELEM needs 6.3). */
static int elem_change(const char *uplink, const char *set, uint32_t id,
                       const void *key, uint32_t len, int add)
{
	struct batch *bt = batch_new();
	int err;

	if (!bt)
		return -ENOMEM;
	put_ensure(bt, uplink);
	put_elem(bt, NFT_MSG_NEWSETELEM, set, id, key, len);
	if (!add)
		put_elem(bt, NFT_MSG_DELSETELEM, set, id, key, len);
	err = batch_talk(bt);
	batch_free(bt);
	return err;
}

static int nft_masq(const char *uplink, uint32_t addr_be, int add)
{
	return elem_change(uplink, SET_MASQ, SET_MASQ_ID, &addr_be, 4, add);
}

static int nft_block(const char *uplink, uint16_t port, int add)
{
	uint16_t key = htons(port);

	return elem_change(uplink, SET_BLOCK, SET_BLOCK_ID, &key, 2, add);
}

/* Create-then-delete: removing an absent table is no error either. */
static int nft_flush(void)
{
	struct batch *bt = batch_new();
	int err;

	if (!bt)
		return -ENOMEM;
	put_table(bt, NFT_MSG_NEWTABLE);
	put_table(bt, NFT_MSG_DELTABLE);
	err = batch_talk(bt);
	batch_free(bt);
	return err;
}

struct dump {
	struct nat_listing *out;
	int is_masq;
};

static int elem_cb(struct nftnl_set_elem *e, void *arg)
{
	struct dump *d = arg;
	struct nat_listing *l = d->out;
	uint32_t len = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	uint16_t port;

	if (!key || len != (d->is_masq ? 4u : 2u))
		return -1;
	if (d->is_masq) {
		if (l->nmasq >= NAT_LIST_MAX)
			return -1;
		memcpy(&l->masq[l->nmasq++], key, 4);
	} else {
		if (l->nblock >= NAT_LIST_MAX)
			return -1;
		memcpy(&port, key, 2);
		l->block[l->nblock++] = ntohs(port);
	}
	return 0;
}

static int dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nftnl_set *s = nftnl_set_alloc();
	int ret = MNL_CB_OK;

	if (!s) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0 ||
	    nftnl_set_elem_foreach(s, elem_cb, arg) < 0) {
		/* Unexpected key or more elements than a reply could hold. */
		errno = EMSGSIZE;
		ret = MNL_CB_ERROR;
	}
	nftnl_set_free(s);
	return ret;
}

/* Reads one set's elements; an absent table or set reads as empty. */
static int dump_set(const char *set, struct dump *d)
{
	char buf[DUMP_BUF], req[512] = ""; /* zeroed: attribute padding is sent */
	struct nlmsghdr *nlh;
	struct mnl_socket *nl;
	struct nftnl_set *s;
	uint32_t seq = 1;
	int err = 0, ret = 0;
	ssize_t n;

	if (!(s = set_ref(set, 0)))
		return -ENOMEM;
	nftnl_set_unset(s, NFTNL_SET_ID);
	nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETSETELEM, FAMILY, NLM_F_DUMP, seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if (!(nl = nl_open()))
		return -errno;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			err = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), dump_cb, d);
		if (ret < 0)
			err = errno == ENOENT ? 0 : -errno;
	} while (ret > 0);
out:
	mnl_socket_close(nl);
	return err;
}

static int nft_list(struct nat_listing *out)
{
	struct dump d = { .out = out, .is_masq = 1 };
	int err;

	out->nmasq = 0;
	out->nblock = 0;
	err = dump_set(SET_MASQ, &d);
	if (err == 0) {
		d.is_masq = 0;
		err = dump_set(SET_BLOCK, &d);
	}
	return err;
}

const struct nat_backend nat_nft = {
	.masq = nft_masq,
	.block = nft_block,
	.flush = nft_flush,
	.list = nft_list,
};
