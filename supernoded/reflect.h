/* Endpoint discovery (architecture.md "Path choice"): two reflector
 * WireGuard interfaces through wgrelay, every client and exit kept on both
 * as a keepalive peer, `peer list` read back for the public endpoint of each
 * peer's WireGuard port and its NAT class. */
#ifndef SN_REFLECT_H
#define SN_REFLECT_H

#include <stdint.h>
#include "natclass.h"
#include "supernoded.h"

#define REFLECT_N 2
#define REFLECT_POLL_MS 1000
#define REFLECT_RETRY_MS 2000

struct sn_peer;

/* Ensures the interfaces (reflector_port and the next port) and starts
 * polling; 0 also when reflector_port is 0 (off). */
int reflect_start(struct supernoded *sn);
void reflect_stop(struct supernoded *sn);
/* A client or exit stream is synced: add its key to the reflectors and send
 * it ReflectorInfo (once the interfaces are up; else when they are). */
void reflect_peer_up(struct sn_peer *p);
/* The peer's InfoResponse wg_local_endpoint ("" none): kept if a numeric
 * ip:port, else dropped with a log; only ever compared with what the
 * reflectors see, and the peer is classified again when it changes. */
void reflect_peer_local(struct sn_peer *p, const char *ep);
/* The peer is freed: its key leaves the reflectors. */
void reflect_peer_gone(struct sn_peer *p);
/* 1 if the reflectors are up. */
int reflect_ready(const struct supernoded *sn);
/* Counts of up peers per class, for status. */
void reflect_counts(struct supernoded *sn, size_t counts[4]);

#endif
