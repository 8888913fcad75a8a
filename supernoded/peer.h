/* The registry of peers keyed by id: clients, exits and other supernodes.
 * A peer outlives its streams: a new stream from the same id replaces the
 * old one and takes over the peer's role state (sessions, exit info). */
#ifndef SN_PEER_H
#define SN_PEER_H

#include <stdint.h>
#include "control.pb-c.h"
#include "natclass.h"
#include "supernoded.h"

struct sn_stream;
struct peerlink;

/* What an exit last said about itself in InfoResponse. */
struct exit_info {
	int valid;
	char endpoint[SN_HOST_MAX];   /* public host:port, "" if none */
	int behind_nat;
	uint32_t load_pct;
	uint64_t bandwidth_bps;
	uint32_t sessions;
};

struct sn_peer {
	struct sn_peer *next, *prev;
	struct sn_peer *exit_next, *exit_prev;  /* sn->exits, while role is EXIT */
	struct supernoded *sn;
	uint8_t id[ID_PK_LEN];
	char hex[2 * ID_PK_LEN + 1];
	uint32_t role;                /* Role of handshake.proto; set with peer_set_role */
	int on_exits;
	uint64_t seq;                 /* creation order: sn->exits keeps sn->peers' order */
	size_t nsessions;             /* sessions it holds as client (session.c) */
	char region[SN_REGION_MAX];
	uint8_t wg_pubkey[32];
	int has_wg;
	struct sn_stream *stream;     /* inbound stream now held, or NULL */
	struct peerlink *pl;          /* outbound pooled stream (supernodes) */
	char address[SN_HOST_MAX];    /* remote supernode's control address */
	uint64_t away_since_ms;       /* loop time it lost its stream; 0: here */
	int synced;                   /* first InfoResponse of this stream seen */
	struct exit_info exit;
	/* endpoint discovery (reflect.c) */
	char seen[2][NATCLASS_EP_MAX];  /* public ip:port each reflector saw, "" none */
	char wg_local[NATCLASS_EP_MAX]; /* its WireGuard port at its own address, "" none;
	                                 * only ever compared with seen[] */
	int wg_local_bad;               /* the last one it sent was refused (logged) */
	enum nat_class nat;
	int reflected;                  /* added to the reflectors, ReflectorInfo sent */
};

struct sn_peer *peer_find(struct supernoded *sn, const uint8_t id[ID_PK_LEN]);
/* Finds or adds (away, role unknown). NULL on ENOMEM. */
struct sn_peer *peer_get(struct supernoded *sn, const uint8_t id[ID_PK_LEN]);
/* Sets the role, keeping sn->exits (the peers whose role is EXIT) current. */
void peer_set_role(struct sn_peer *p, uint32_t role);
/* Frees p if nothing holds it: no stream, no link, no session. */
void peer_maybe_free(struct sn_peer *p);
/* Frees every peer (core shutdown, after streams and links are gone). */
void peer_free_all(struct supernoded *sn);

int peer_is_up(const struct sn_peer *p);
/* Sends on the peer's current stream (inbound, else its pooled link). 0,
 * -ENOTCONN or msg_send's errors. */
int peer_send(struct sn_peer *p, const Supermesh__ControlMessage *m);
/* cmd_transmit_fn: target is a struct sn_peer, looked up anew per attempt
 * so a resend goes down whatever stream the peer has by then. */
int peer_transmit(void *target, const Supermesh__ControlMessage *m);

size_t peer_count(struct supernoded *sn, uint32_t role, int up_only);

#endif
