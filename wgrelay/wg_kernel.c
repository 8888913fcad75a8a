/* The kernel backend: the "wireguard" generic netlink family through libmnl
 * (linux/wireguard.h), links made with rtnetlink (netlink.c). */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "netlink.h"
#include "wg.h"

/* Our requests carry one peer with at most a line's worth of allowed ips. */
#define KBUF_SIZE (64 * 1024)

struct kconn {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	uint16_t family;
	char *buf;
};

static void kconn_close(struct kconn *k)
{
	if (k->nl)
		mnl_socket_close(k->nl);
	if (k->buf) {
		sodium_memzero(k->buf, KBUF_SIZE);
		free(k->buf);
	}
}

/* Sends the message in k->buf and runs cb on every reply until the ack or
 * the end of the dump. */
static int kconn_talk(struct kconn *k, mnl_cb_t cb, void *data)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)k->buf;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(k->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(k->nl, k->buf, KBUF_SIZE);
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(k->buf, (size_t)n, k->seq, k->portid, cb, data);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}

static struct nlmsghdr *kconn_msg(struct kconn *k, uint16_t type, uint16_t flags,
                                  uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	/* libmnl leaves attribute padding as it finds it: send no stale bytes. */
	memset(k->buf, 0, KBUF_SIZE);
	nlh = mnl_nlmsg_put_header(k->buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = k->seq = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

static int family_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
		*(uint16_t *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb, data);
}

static int kconn_open(struct kconn *k)
{
	struct nlmsghdr *nlh;
	int ret;

	memset(k, 0, sizeof(*k));
	k->buf = malloc(KBUF_SIZE);
	k->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!k->buf || !k->nl) {
		ret = k->buf ? -errno : -ENOMEM;
		goto fail;
	}
	if (mnl_socket_bind(k->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto fail;
	}
	k->portid = mnl_socket_get_portid(k->nl);
	nlh = kconn_msg(k, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	ret = kconn_talk(k, family_cb, &k->family);
	if (ret == 0 && k->family == 0)
		ret = -EPROTO;
	if (ret == 0)
		return 0;
	if (ret == -ENOENT)
		ret = -EAFNOSUPPORT; /* no wireguard module */
fail:
	kconn_close(k);
	return ret;
}

int wg_kernel_available(void)
{
	struct kconn k;

	if (kconn_open(&k) < 0)
		return access("/sys/module/wireguard", F_OK) == 0;
	kconn_close(&k);
	return 1;
}

/* Errors for "this name is no WireGuard device" become -ENODEV. */
static int kernel_errno(int ret)
{
	return ret == -EOPNOTSUPP ? -ENODEV : ret;
}

/* Allowed ips of one peer: nests of family, address, prefix length. */
static int allowedip_cb(const struct nlattr *a, void *data)
{
	struct wg_allowedip *ip = data;

	switch (mnl_attr_get_type(a)) {
	case WGALLOWEDIP_A_FAMILY:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			ip->family = mnl_attr_get_u16(a);
		break;
	case WGALLOWEDIP_A_IPADDR:
		if (mnl_attr_get_payload_len(a) == 4 || mnl_attr_get_payload_len(a) == 16)
			memcpy(&ip->ip6, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
		break;
	case WGALLOWEDIP_A_CIDR_MASK:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			ip->cidr = mnl_attr_get_u8(a);
		break;
	}
	return MNL_CB_OK;
}

static int allowedips_parse(const struct nlattr *nest, struct wg_peer *p)
{
	struct nlattr *a; /* not const: libmnl's iteration macro casts it */

	mnl_attr_for_each_nested(a, nest) {
		struct wg_allowedip ip;

		memset(&ip, 0, sizeof(ip));
		if (mnl_attr_parse_nested(a, allowedip_cb, &ip) < 0)
			return MNL_CB_ERROR;
		if ((ip.family == AF_INET && ip.cidr <= 32) ||
		    (ip.family == AF_INET6 && ip.cidr <= 128))
			if (wg_peer_add_allowedip(p, &ip) < 0)
				return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static void endpoint_parse(const struct nlattr *a, struct wg_peer *p)
{
	size_t len = mnl_attr_get_payload_len(a);
	const struct sockaddr *sa = mnl_attr_get_payload(a);

	if ((len == sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) ||
	    (len == sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6)) {
		memcpy(&p->endpoint, sa, len);
		p->flags |= WGPEER_HAS_ENDPOINT;
	}
}

static int peer_cb(const struct nlattr *a, void *data)
{
	struct wg_peer *p = data;
	/* struct __kernel_timespec: two 64-bit fields. */
	int64_t ts[2];

	switch (mnl_attr_get_type(a)) {
	case WGPEER_A_ENDPOINT:
		endpoint_parse(a, p);
		break;
	case WGPEER_A_LAST_HANDSHAKE_TIME:
		if (mnl_attr_get_payload_len(a) == sizeof(ts)) {
			memcpy(ts, mnl_attr_get_payload(a), sizeof(ts));
			p->last_handshake_sec = ts[0];
			p->last_handshake_nsec = ts[1];
		}
		break;
	case WGPEER_A_RX_BYTES:
		if (mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			p->rx_bytes = mnl_attr_get_u64(a);
		break;
	case WGPEER_A_TX_BYTES:
		if (mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			p->tx_bytes = mnl_attr_get_u64(a);
		break;
	case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == 0) {
			p->keepalive = mnl_attr_get_u16(a);
			p->flags |= WGPEER_HAS_KEEPALIVE;
		}
		break;
	case WGPEER_A_ALLOWEDIPS:
		return allowedips_parse(a, p);
	}
	return MNL_CB_OK;
}

/* One peer nest. A dump may split a peer over two messages: the second part
 * repeats the public key, so a peer equal to the last one continues it. */
static int peer_parse(const struct nlattr *nest, struct wg_device *dev)
{
	struct nlattr *a;
	const uint8_t *key = NULL;
	struct wg_peer *p;

	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) == WGPEER_A_PUBLIC_KEY &&
		    mnl_attr_get_payload_len(a) == WG_KEY_LEN)
			key = mnl_attr_get_payload(a);
	if (!key)
		return MNL_CB_ERROR;
	if (dev->n_peers && !memcmp(dev->peers[dev->n_peers - 1].public_key, key, WG_KEY_LEN)) {
		p = &dev->peers[dev->n_peers - 1];
	} else {
		p = wg_device_add_peer(dev);
		if (!p)
			return MNL_CB_ERROR;
		memcpy(p->public_key, key, WG_KEY_LEN);
	}
	return mnl_attr_parse_nested(nest, peer_cb, p);
}

static void device_key(const struct nlattr *a, uint8_t key[WG_KEY_LEN], uint32_t *flags,
                       uint32_t flag)
{
	if (mnl_attr_get_payload_len(a) != WG_KEY_LEN)
		return;
	memcpy(key, mnl_attr_get_payload(a), WG_KEY_LEN);
	if (!sodium_is_zero(key, WG_KEY_LEN))
		*flags |= flag;
}

static int device_cb(const struct nlattr *a, void *data)
{
	struct wg_device *dev = data;
	struct nlattr *p;

	switch (mnl_attr_get_type(a)) {
	case WGDEVICE_A_PRIVATE_KEY:
		device_key(a, dev->private_key, &dev->flags, WGDEV_HAS_PRIVATE_KEY);
		break;
	case WGDEVICE_A_PUBLIC_KEY:
		device_key(a, dev->public_key, &dev->flags, WGDEV_HAS_PUBLIC_KEY);
		break;
	case WGDEVICE_A_LISTEN_PORT:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == 0) {
			dev->listen_port = mnl_attr_get_u16(a);
			dev->flags |= WGDEV_HAS_LISTEN_PORT;
		}
		break;
	case WGDEVICE_A_FWMARK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
			dev->fwmark = mnl_attr_get_u32(a);
			dev->flags |= WGDEV_HAS_FWMARK;
		}
		break;
	case WGDEVICE_A_PEERS:
		mnl_attr_for_each_nested(p, a)
			if (peer_parse(p, dev) != MNL_CB_OK)
				return MNL_CB_ERROR;
		break;
	}
	return MNL_CB_OK;
}

static int device_parse(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), device_cb, data);
}

static int kernel_get(const struct wg_backend *be, const char *ifname, struct wg_device **out)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));
	struct nlmsghdr *nlh;
	struct kconn k;
	int ret;

	if (!dev)
		return -ENOMEM;
	ret = kconn_open(&k);
	if (ret < 0) {
		free(dev);
		return ret;
	}
	nlh = kconn_msg(&k, k.family, NLM_F_DUMP, WG_CMD_GET_DEVICE, WG_GENL_VERSION);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	ret = kernel_errno(kconn_talk(&k, device_parse, dev));
	kconn_close(&k);
	if (ret < 0) {
		wg_device_free(dev);
		return ret;
	}
	snprintf(dev->name, sizeof(dev->name), "%s", ifname);
	*out = dev;
	return 0;
}

static int put_allowedips(struct nlmsghdr *nlh, const struct wg_peer *p)
{
	struct nlattr *ips, *ip;
	size_t i;

	ips = mnl_attr_nest_start_check(nlh, KBUF_SIZE, WGPEER_A_ALLOWEDIPS);
	if (!ips)
		return -EMSGSIZE;
	for (i = 0; i < p->n_allowedips; i++) {
		const struct wg_allowedip *a = &p->allowedips[i];

		ip = mnl_attr_nest_start_check(nlh, KBUF_SIZE, 0);
		if (!ip || !mnl_attr_put_u16_check(nlh, KBUF_SIZE, WGALLOWEDIP_A_FAMILY, a->family) ||
		    !mnl_attr_put_check(nlh, KBUF_SIZE, WGALLOWEDIP_A_IPADDR,
		                        a->family == AF_INET ? 4 : 16, &a->ip6) ||
		    !mnl_attr_put_u8_check(nlh, KBUF_SIZE, WGALLOWEDIP_A_CIDR_MASK, a->cidr))
			return -EMSGSIZE;
		mnl_attr_nest_end(nlh, ip);
	}
	mnl_attr_nest_end(nlh, ips);
	return 0;
}

static int put_peer(struct nlmsghdr *nlh, const struct wg_peer *p)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, KBUF_SIZE, 0);
	uint32_t flags = 0;
	size_t eplen = p->endpoint.addr.sa_family == AF_INET ? sizeof(struct sockaddr_in)
	                                                     : sizeof(struct sockaddr_in6);

	if (p->flags & WGPEER_REMOVE_ME)
		flags |= WGPEER_F_REMOVE_ME;
	if (p->flags & WGPEER_REPLACE_ALLOWEDIPS)
		flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (!nest || !mnl_attr_put_check(nlh, KBUF_SIZE, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN,
	                                 p->public_key) ||
	    (flags && !mnl_attr_put_u32_check(nlh, KBUF_SIZE, WGPEER_A_FLAGS, flags)))
		return -EMSGSIZE;
	if (!(p->flags & WGPEER_REMOVE_ME)) {
		if ((p->flags & WGPEER_HAS_ENDPOINT) &&
		    !mnl_attr_put_check(nlh, KBUF_SIZE, WGPEER_A_ENDPOINT, eplen, &p->endpoint))
			return -EMSGSIZE;
		if ((p->flags & WGPEER_HAS_KEEPALIVE) &&
		    !mnl_attr_put_u16_check(nlh, KBUF_SIZE, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
		                            p->keepalive))
			return -EMSGSIZE;
		if ((p->n_allowedips || (p->flags & WGPEER_REPLACE_ALLOWEDIPS)) &&
		    put_allowedips(nlh, p) < 0)
			return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

static int put_device(struct nlmsghdr *nlh, const struct wg_device *dev)
{
	struct nlattr *peers;
	size_t i;

	if (!mnl_attr_put_strz_check(nlh, KBUF_SIZE, WGDEVICE_A_IFNAME, dev->name))
		return -EMSGSIZE;
	if ((dev->flags & WGDEV_HAS_PRIVATE_KEY) &&
	    !mnl_attr_put_check(nlh, KBUF_SIZE, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN,
	                        dev->private_key))
		return -EMSGSIZE;
	if ((dev->flags & WGDEV_HAS_LISTEN_PORT) &&
	    !mnl_attr_put_u16_check(nlh, KBUF_SIZE, WGDEVICE_A_LISTEN_PORT, dev->listen_port))
		return -EMSGSIZE;
	if ((dev->flags & WGDEV_HAS_FWMARK) &&
	    !mnl_attr_put_u32_check(nlh, KBUF_SIZE, WGDEVICE_A_FWMARK, dev->fwmark))
		return -EMSGSIZE;
	if ((dev->flags & WGDEV_REPLACE_PEERS) &&
	    !mnl_attr_put_u32_check(nlh, KBUF_SIZE, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS))
		return -EMSGSIZE;
	if (dev->n_peers == 0)
		return 0;
	peers = mnl_attr_nest_start_check(nlh, KBUF_SIZE, WGDEVICE_A_PEERS);
	if (!peers)
		return -EMSGSIZE;
	for (i = 0; i < dev->n_peers; i++)
		if (put_peer(nlh, &dev->peers[i]) < 0)
			return -EMSGSIZE;
	mnl_attr_nest_end(nlh, peers);
	return 0;
}

static int ack_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static int kernel_set(const struct wg_backend *be, const struct wg_device *dev)
{
	struct nlmsghdr *nlh;
	struct kconn k;
	int ret = kconn_open(&k);

	if (ret < 0)
		return ret;
	nlh = kconn_msg(&k, k.family, 0, WG_CMD_SET_DEVICE, WG_GENL_VERSION);
	ret = put_device(nlh, dev);
	if (ret == 0)
		ret = kernel_errno(kconn_talk(&k, ack_cb, NULL));
	kconn_close(&k);
	return ret;
}

static int kernel_create(const struct wg_backend *be, const char *ifname)
{
	int ret = netlink_link_add(ifname, "wireguard");

	if (ret == 0)
		ret = netlink_link_up(ifname);
	if (ret < 0 && ret != -EEXIST)
		netlink_link_del(ifname);
	return ret;
}

static int kernel_destroy(const struct wg_backend *be, const char *ifname)
{
	return netlink_link_del(ifname);
}

const struct wg_backend wg_kernel_backend = {
	.name = "kernel",
	.create = kernel_create,
	.destroy = kernel_destroy,
	.get = kernel_get,
	.set = kernel_set,
};
