/* Out-of-band direct-path probes: datagrams sent from a WireGuard
 * interface's own listen port (so through WireGuard's NAT mapping) and the
 * peer's probes seen arriving at that port, without touching the tunnel. */
#ifndef WGRELAY_PROBE_H
#define WGRELAY_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>
#include "line.h"
#include "wg.h"

#define PROBE_MAGIC "SMPROBE1"
#define PROBE_MAGIC_LEN 8
#define PROBE_TOKEN_LEN 16
#define PROBE_PAYLOAD_LEN (PROBE_MAGIC_LEN + PROBE_TOKEN_LEN)
#define PROBE_UDP_LEN (8 + PROBE_PAYLOAD_LEN)
#define PROBE_INTERVAL_MS 100
#define PROBE_MS_DEFAULT 3000
#define PROBE_MS_MIN 100
#define PROBE_MS_MAX 10000
#define PROBE_RUNNING_MAX 64   /* probes sending at once; more is "err busy" */
#define PROBE_KEPT_MAX 256     /* running + finished kept for status */
#define PROBE_KEEP_MS 30000    /* how long a finished probe answers status */

struct probe_table;

/*
 * The raw socket layer, a struct so unit tests can run probes without
 * CAP_NET_RAW (probe_raw.c is the real one). open gives a nonblocking socket
 * for one family (-EPERM without CAP_NET_RAW); filter makes it pass only
 * probes to one of ports; send writes one probe from sport to dst with the
 * device's fwmark (0: none); recv reads one datagram as the family's raw
 * socket gives it (IPv4: from the IP header; IPv6: from the UDP header).
 */
struct probe_io {
	int (*open)(int family, int *fd);
	int (*filter)(int fd, int family, const uint16_t *ports, size_t n);
	int (*send)(int fd, const union wg_endpoint *dst, uint16_t sport, uint32_t mark,
	            const uint8_t *payload, size_t len);
	ssize_t (*recv)(int fd, uint8_t *buf, size_t size, union wg_endpoint *from);
};

extern const struct probe_io probe_raw_io;

/* What a probe is and what it saw, for status. */
struct probe_info {
	int running;
	int seen;
	union wg_endpoint from; /* valid when seen */
	uint64_t sent;
};

int probe_table_new(uv_loop_t *loop, const struct probe_io *io, uint64_t keep_ms,
                    struct probe_table **out);
/* Stops every probe and closes the sockets; memory goes in close callbacks,
 * so run the loop afterwards. NULL is fine. */
void probe_table_free(struct probe_table *t);

/* 32 hex digits into 16 bytes; 0 or -EINVAL. */
int probe_token_parse(const char *s, uint8_t token[PROBE_TOKEN_LEN]);

/*
 * Starts sending to dst from sport for ms milliseconds. 0: started, or
 * already there with the same arguments (not restarted); -EEXIST: token in
 * use with other arguments; -EBUSY: too many; -EPERM etc. from the socket.
 */
int probe_start(struct probe_table *t, const uint8_t token[PROBE_TOKEN_LEN],
                const union wg_endpoint *dst, uint16_t sport, uint32_t mark, uint64_t ms);
/* 0 with info, or -ENOENT. */
int probe_status(const struct probe_table *t, const uint8_t token[PROBE_TOKEN_LEN],
                 struct probe_info *info);
/* Stops and forgets it; 0 (absent is fine). */
int probe_stop(struct probe_table *t, const uint8_t token[PROBE_TOKEN_LEN]);
/* Probes currently sending. */
size_t probe_running(const struct probe_table *t);

/* One datagram as the family's raw socket gave it: records the probe's
 * source if it carries a running probe's token to that probe's port.
 * Returns 1 if it matched a probe, else 0 (not a probe, or not ours). */
int probe_table_input(struct probe_table *t, int family, const uint8_t *buf, size_t len,
                      const union wg_endpoint *from);

/* The classic BPF program the raw sockets carry (probe_raw.c): passes UDP
 * datagrams (IPv4: unfragmented) to one of ports starting with the magic.
 * prog must have room for PROBE_BPF_MAX instructions; returns the count. */
#define PROBE_BPF_MAX (12 + PROBE_RUNNING_MAX)
struct sock_filter;
size_t probe_bpf_build(int family, const uint16_t *ports, size_t n, struct sock_filter *prog);

/* Verbs (probe_verbs.c); ctx is struct wgrelay *. */
void verb_probe_start(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_probe_status(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_probe_stop(void *ctx, int argc, char **argv, struct line_reply *r);

#endif
