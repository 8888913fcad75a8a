/* NAT classification of a peer's WireGuard port (pure): what two reflectors
 * on the supernode saw as its source, against what the peer says it has. */
#ifndef SN_NATCLASS_H
#define SN_NATCLASS_H

#include <stddef.h>

#define NATCLASS_EP_MAX 64

enum nat_class {
	NAT_UNKNOWN,  /* fewer than two observations yet */
	NAT_NONE,     /* seen exactly at the endpoint it claims: public */
	NAT_EIM,      /* endpoint-independent mapping: one public ip:port for all */
	NAT_EDM,      /* endpoint-dependent mapping: a new port (or ip) per destination */
};

/*
 * Classifies from `local` (the endpoint the peer claims, e.g. an exit's
 * public_endpoint; "" or NULL when unknown) and the two reflectors'
 * observations obs1 and obs2 ("" or NULL: not seen). Endpoints are numeric
 * "IPv4:port" or "[IPv6]:port"; a malformed one counts as not seen.
 */
enum nat_class natclass_classify(const char *local, const char *obs1, const char *obs2);

/* 1 when a direct path can be opened by both sides sending (none or EIM). */
int natclass_punchable(enum nat_class c);

const char *natclass_name(enum nat_class c);

/* 0 if text is a numeric endpoint; host and port out (either may be NULL). */
int natclass_endpoint_split(const char *text, char *host, size_t host_size, unsigned *port);

#endif
