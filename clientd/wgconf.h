/* The WireGuard side of a session as clientd installs it through wgrelay,
 * and the one place where the supernode's WireguardConfig (hostile until
 * checked) becomes such a configuration. Pure. */
#ifndef CD_WGCONF_H
#define CD_WGCONF_H

#include <stddef.h>
#include <stdint.h>
#include "control.pb-c.h"
#include "keys.h"

#define WGC_CIDR_MAX 50      /* "ffff:...:ffff/128" fits */
#define WGC_EP_MAX 56        /* "[v6]:port" */
#define WGC_LIST_MAX 8       /* CIDRs in an allowed list */
#define WGC_LIST_LEN (WGC_LIST_MAX * WGC_CIDR_MAX)

/* What is (or should be) configured; "" and 0 mean absent. */
struct tunnel_conf {
	char address[WGC_CIDR_MAX];   /* the client's tunnel address */
	int has_peer;
	uint8_t peer[32];             /* the exit's WireGuard key */
	char endpoint[WGC_EP_MAX];
	char allowed[WGC_LIST_LEN];   /* peer allowed-ips, "CIDR,CIDR" */
	unsigned keepalive;
	char routed[WGC_LIST_LEN];    /* CIDRs routed into the interface */
	int rules;                    /* full-tunnel policy rules installed */
	char bypass_sn[WGC_CIDR_MAX]; /* "IP/32" rule to the supernode via main */
	char bypass_ep[WGC_CIDR_MAX]; /* the same for the exit or relay endpoint */
};

/* 0 if text is an IPv4 or IPv6 prefix: "a.b.c.d/n" or bare; host bits are
 * refused unless host_bits. *family gets AF_INET or AF_INET6 (may be NULL). */
int wgc_cidr_check(const char *text, int host_bits, int *family);
/* 0 if text is a list "CIDR[,CIDR...]" of at most WGC_LIST_MAX prefixes
 * without host bits; *families gets bit 1 for IPv4, bit 2 for IPv6. */
int wgc_list_check(const char *text, int *families);
/* 1 if cidr is one of the list's entries. */
int wgc_list_has(const char *list, const char *cidr);
/* Numeric "IPv4:port" or "[IPv6]:port", port 1..65535; the host as a /32
 * or /128 prefix into bypass (may be NULL). */
int wgc_endpoint_check(const char *text, char *bypass, size_t bypass_size);

struct wgc_opts {
	int full_tunnel;
	const char *allowed;   /* configured allowed_ips, NULL: default */
	const char *bypass_sn; /* "IP/32" of the supernode, may be "" */
};

/*
 * Checks a WireguardConfig from an ExitResponse or a RotatePeer and builds
 * the configuration to install: 32-byte key, numeric endpoint, address CIDR,
 * allowed CIDRs, keepalive <= 65535. Returns 0, or -EINVAL with a short
 * reason in err; out is then untouched.
 */
int wgc_from_proto(const Supermesh__WireguardConfig *wg, const struct wgc_opts *o,
                   struct tunnel_conf *out, char *err, size_t err_size);

/* Copies at most dst_size - 1 bytes of untrusted text, printable ASCII only
 * ('?' for anything else, '\'' for '"'), for logs and status. */
void wgc_clean_text(char *dst, size_t dst_size, const char *src, size_t src_len);

#endif
