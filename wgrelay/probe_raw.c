/* The raw UDP sockets behind probes: WireGuard owns the listen port, so a
 * probe is written with our own UDP header (source = that port), and the
 * peer's probes are read as copies of every UDP datagram, a BPF filter
 * passing only probes to a probing port. Needs CAP_NET_RAW. */
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "probe.h"

#define MAGIC_HI 0x534d5052U /* "SMPR" */
#define MAGIC_LO 0x4f424531U /* "OBE1" */

static struct sock_filter insn(uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	struct sock_filter f = { code, jt, jf, k };

	return f;
}

/*
 * IPv4 raw sockets see the IP header first, IPv6 ones the UDP header: X is
 * where the UDP header starts, then both check the magic after it and the
 * destination port against ports. A load past the end drops the datagram.
 */
size_t probe_bpf_build(int family, const uint16_t *ports, size_t n, struct sock_filter *prog)
{
	size_t c = 0, i, drop;

	if (n > PROBE_RUNNING_MAX)
		n = PROBE_RUNNING_MAX;
	if (family == AF_INET) {
		prog[c++] = insn(BPF_LD | BPF_H | BPF_ABS, 0, 0, 6);
		/* more-fragments or an offset: jump to the final drop */
		prog[c++] = insn(BPF_JMP | BPF_JSET | BPF_K, 0, 0, 0x3fff);
		prog[c++] = insn(BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0);
	} else {
		prog[c++] = insn(BPF_LDX | BPF_IMM, 0, 0, 0);
	}
	prog[c++] = insn(BPF_LD | BPF_W | BPF_IND, 0, 0, 8);
	prog[c++] = insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, MAGIC_HI);
	prog[c++] = insn(BPF_LD | BPF_W | BPF_IND, 0, 0, 12);
	prog[c++] = insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, MAGIC_LO);
	prog[c++] = insn(BPF_LD | BPF_H | BPF_IND, 0, 0, 2);
	for (i = 0; i < n; i++) /* a match jumps to the accept after the drop */
		prog[c++] = insn(BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(n - i), 0, ports[i]);
	drop = c;
	prog[c++] = insn(BPF_RET | BPF_K, 0, 0, 0);
	prog[c++] = insn(BPF_RET | BPF_K, 0, 0, 0xffff);
	/* Now the failed checks know where the drop is. */
	for (i = 0; i < drop; i++) {
		uint16_t cls = prog[i].code;

		if (cls == (BPF_JMP | BPF_JSET | BPF_K))
			prog[i].jt = (uint8_t)(drop - i - 1);
		else if (cls == (BPF_JMP | BPF_JEQ | BPF_K) && prog[i].jt == 0)
			prog[i].jf = (uint8_t)(drop - i - 1);
	}
	return c;
}

static int raw_filter(int fd, int family, const uint16_t *ports, size_t n)
{
	struct sock_filter prog[PROBE_BPF_MAX];
	struct sock_fprog fp;

	fp.len = (unsigned short)probe_bpf_build(family, ports, n, prog);
	fp.filter = prog;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0)
		return -errno;
	return 0;
}

static int raw_open(int family, int *out)
{
	int fd, off = 6, ret;
	/* Until the real filter is on, pass nothing. */
	struct sock_filter none = { BPF_RET | BPF_K, 0, 0, 0 };
	struct sock_fprog fp = { 1, &none };

	fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0 ||
	    (family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof(off)) < 0)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

/* The port field of a raw socket's address is not a port: zero it. */
static int raw_send(int fd, const union wg_endpoint *dst, uint16_t sport, uint32_t mark,
                    const uint8_t *payload, size_t len)
{
	uint8_t pkt[8 + PROBE_PAYLOAD_LEN];
	union wg_endpoint to = *dst;
	uint16_t dport, ulen = (uint16_t)(8 + len);
	socklen_t tolen;

	if (len > PROBE_PAYLOAD_LEN)
		return -EMSGSIZE;
	dport = dst->addr.sa_family == AF_INET ? ntohs(dst->addr4.sin_port)
	                                      : ntohs(dst->addr6.sin6_port);
	pkt[0] = (uint8_t)(sport >> 8), pkt[1] = (uint8_t)sport;
	pkt[2] = (uint8_t)(dport >> 8), pkt[3] = (uint8_t)dport;
	pkt[4] = (uint8_t)(ulen >> 8), pkt[5] = (uint8_t)ulen;
	/* IPv4: no checksum is valid UDP; IPv6: the kernel fills it in. */
	pkt[6] = pkt[7] = 0;
	memcpy(pkt + 8, payload, len);
	if (to.addr.sa_family == AF_INET) {
		to.addr4.sin_port = 0;
		tolen = sizeof(to.addr4);
	} else {
		to.addr6.sin6_port = 0;
		tolen = sizeof(to.addr6);
	}
	/* The device's fwmark, so the probe is routed as WireGuard's packets are
	 * (around a tunnel that carries the default route). */
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0 && mark)
		return -errno;
	if (sendto(fd, pkt, ulen, 0, &to.addr, tolen) < 0)
		return -errno;
	return 0;
}

static ssize_t raw_recv(int fd, uint8_t *buf, size_t size, union wg_endpoint *from)
{
	socklen_t fl = sizeof(*from);
	ssize_t n = recvfrom(fd, buf, size, 0, &from->addr, &fl);

	return n < 0 ? -errno : n;
}

const struct probe_io probe_raw_io = { raw_open, raw_filter, raw_send, raw_recv };
