/* Sessions: one client's use of one exit, from ExitRequest to DISCONNECT,
 * with its ranked fallbacks. session.c owns the list, persistence and the
 * reactions to peers coming and going; setup.c the setup sequence, rollback
 * and rotation; remote.c the cross-region parts; relay.c wgrelay. */
#ifndef SN_SESSION_H
#define SN_SESSION_H

#include <stdint.h>
#include "command.h"
#include "control.pb-c.h"
#include "pathsel.h"
#include "rank.h"
#include "store.h"
#include "supernoded.h"

#define SESS_MAX_CANDS 16
#define SESS_REQ_ID_MAX 64
#define SESS_PER_CLIENT_MAX 4 /* sessions one client may hold or be setting up */

struct sn_peer;

enum sess_state {
	SS_LOOKUP,  /* asking basenoded or a remote supernode for candidates */
	SS_SETUP,   /* setting up cands[tried - 1] */
	SS_ACTIVE,
	SS_ENDED,   /* unlinked; freed when no operation is in flight */
};

struct sn_session {
	struct sn_session *next, *prev;
	struct supernoded *sn;
	struct sess_rec rec;
	char hex[2 * MSG_ID_LEN + 1];
	enum sess_state state;
	int ops;                        /* holds: the list, callbacks in flight */
	int mark;                       /* scratch for scans that change the list */
	int counted;                    /* in its client peer's nsessions */
	/* the client's request */
	uint8_t request_id[SESS_REQ_ID_MAX];
	size_t request_id_len;
	char region[SN_REGION_MAX];
	struct rank_want want;
	/* candidates, best first; cands[tried - 1] is being set up */
	struct rank_cand cands[SESS_MAX_CANDS];
	size_t ncands, tried;
	int rotating;                   /* the client gets ROTATE_PEER, not ExitResponse */
	uint8_t old_exit_wg[32];
	/* lookups (ORIGIN) */
	uint8_t lookup_id[MSG_ID_LEN];
	uint64_t lookup_deadline;
	int lookup_wait_link;           /* ExitPeerRequest waits for the pooled link */
	/* SERVE: the origin's SETUP_EXIT being answered */
	uint8_t origin_cmd[MSG_ID_LEN];
	int want_relay;
	/* path choice (punch.c): LOCAL or ORIGIN sessions between two punchable NATs */
	int punch;                      /* set up with each other's public endpoint */
	struct pathsel ps;
	char client_pub[SN_HOST_MAX];   /* what the reflectors saw of each side */
	char exit_pub[SN_HOST_MAX];
	uint64_t hs_base_ms;            /* client's last handshake when the probe began */
	uint64_t client_hs_ms;          /* the last one the client reported */
	uint64_t client_rx;             /* its WireGuard rx bytes, last report */
	uint64_t rx_at_ms;              /* loop time rx last grew (or direct began) */
	uint64_t tx_mark;               /* the client's tx bytes when rx last grew */
	uint64_t unanswered_ms;         /* data sent since then first seen; 0: none */
	uint64_t asked_ms;              /* last InfoRequest to the client while probing */
	int moving;                     /* a path change is in flight */
	/* cross-region punching (punch_remote.c) */
	char relay_ep[SN_HOST_MAX];     /* ORIGIN: B's relay, the client's fallback */
	int serve_punch;                /* SERVE: the origin punches and moves the exit */
	/* SERVE: the origin's PROBE_PATH at our exit (probe_remote.c) */
	uint8_t serve_probe_cmd[MSG_ID_LEN]; /* the last one taken */
	int serve_probing;                   /* it is at the exit now */
};

/* ---- session.c ---- */
/* An empty session list and index (sodium_init first). */
void session_list_init(struct supernoded *sn);
struct sn_session *session_new(struct supernoded *sn, const uint8_t id[MSG_ID_LEN], int kind);
struct sn_session *session_find(struct supernoded *sn, const uint8_t id[MSG_ID_LEN]);
struct sn_session *session_find_lookup(struct supernoded *sn, const uint8_t id[MSG_ID_LEN]);
void session_hold(struct sn_session *s);
/* Drops a hold; frees an ended session with no hold left. */
void session_release(struct sn_session *s);
/* Writes the session to the store (if any). */
void session_save(struct sn_session *s);
/* Marks ended (store too) and unlinks; memory goes with the last hold. */
void session_end(struct sn_session *s, const char *reason);
/* DISCONNECT everything the session holds (exit or remote, relays), end it. */
void session_teardown(struct sn_session *s, const char *reason);
int session_refs_peer(struct supernoded *sn, const uint8_t id[ID_PK_LEN]);
int session_load_all(struct supernoded *sn);
void session_free_all(struct supernoded *sn);
size_t session_count(struct supernoded *sn, int active_only);
/* Sessions (any state) of one client. */
size_t session_count_client(struct supernoded *sn, const uint8_t id[ID_PK_LEN]);
/* Sets rec.client_id; a LOCAL or ORIGIN session then counts for the client. */
void session_set_client(struct sn_session *s, struct sn_peer *client);

/* Peer events. */
void session_peer_down(struct sn_peer *p);
void session_exit_lost(struct sn_peer *exit, const char *reason);
void session_exit_resync(struct sn_peer *exit, const Supermesh__InfoResponse *info);
void session_client_resync(struct sn_peer *client, const Supermesh__InfoResponse *info);
/* Periodic: absent clients past grace, absent exits, lookup deadlines. */
void session_sweep(struct supernoded *sn, uint64_t now);

/* Packs payload and sends it as a command to `to` through lib/command.
 * 0, or a negative errno without calling done (-ESHUTDOWN when stopping). */
int sn_command_send(struct supernoded *sn, Supermesh__CommandType type,
                    const ProtobufCMessage *payload, struct sn_peer *to, cmd_done_fn done,
                    void *arg);
/* A command with no session waiting on it (teardown, resync). */
void session_send_disconnect(struct supernoded *sn, struct sn_peer *to,
                             const uint8_t id[MSG_ID_LEN], const char *reason);

/* ---- setup.c ---- */
/* Tries cands[tried], then the ones after it, until one is set up. */
void setup_try_next(struct sn_session *s);
/* The setup of cands[tried - 1] failed: undo it and go on. */
void setup_fail_attempt(struct sn_session *s, const char *why);
/* The exit is set up (rec filled): finish per kind. */
void setup_done(struct sn_session *s);
/* No candidate left. */
void setup_exhausted(struct sn_session *s, const char *why);
/* The current exit is gone: set up the next one, then ROTATE_PEER. */
void setup_rotate(struct sn_session *s, const char *why);
/* Local exits as candidates (excluding `skip`, may be NULL). */
size_t setup_local_cands(struct supernoded *sn, struct rank_cand *out, size_t max,
                         const uint8_t *skip);
void setup_fill_wireguard(struct sn_session *s, Supermesh__WireguardConfig *wg,
                          char **allowed, char **dns);

/* Sends ROTATE_PEER for rec (exit key, endpoint, path) to the client;
 * old_exit_wg names the peer it replaces (the same key for a path change). */
void setup_send_rotate(struct sn_session *s);

/* ---- punch.c: hole punching and the path choice of LOCAL and ORIGIN sessions ---- */
/* 1 when both sides' NATs can be punched and reflectors saw both (ORIGIN:
 * the exit as B's reflectors saw it, from its candidate). */
int punch_possible(struct sn_session *s, const struct rank_cand *c);
/* The session went active on punched endpoints: start the probe. */
void punch_started(struct sn_session *s);
/* A client's InfoResponse: handshakes of its sessions. */
void punch_client_info(struct sn_peer *client, const Supermesh__InfoResponse *info);
/* Periodic: probe deadlines, retries, a direct path gone silent. */
void punch_sweep(struct supernoded *sn, uint64_t now);
/* The reflectors saw a peer at a new public endpoint. */
void punch_peer_moved(struct sn_peer *p);
/* Does what pathsel asked (probe.c's test results come back this way). */
void punch_act(struct sn_session *s, enum ps_action a);
/* The client's WireGuard rx/tx bytes for the session, as reported at now. */
void punch_note_counters(struct sn_session *s, uint64_t rx, uint64_t tx, uint64_t now);
/* Why a direct path looks broken at now ("idle": keepalives missed,
 * "unanswered": data sent and nothing back), or NULL. */
const char *punch_silent_sign(const struct sn_session *s, uint64_t now);

/* ---- punch_remote.c: the cross-region half of punching ---- */
/* ORIGIN: fills se as the SETUP_EXIT { repoint } to B that moves the exit
 * (ep: storage for its client_endpoint, "" to_relay: B's relay) and cep with
 * the client's new endpoint; returns B, or NULL when there is no way. */
struct sn_peer *punch_remote_side(struct sn_session *s, Supermesh__SetupExit *se, int to_relay,
                                  char *ep, size_t ep_size, char *cep, size_t cep_size);
/* ORIGIN: B's answer to the punching setup; 0 when B points the exit at the
 * client (s->relay_ep set), -EPROTO when it relays only (punching off). */
int punch_remote_result(struct sn_session *s, uint32_t path, const char *relay_ep);
/* B: the exit of a session the origin punches was seen at a new endpoint
 * or class: PathUpdate to the origin. */
void punch_remote_exit_moved(struct sn_session *s, const struct sn_peer *exit);
/* SERVE: the origin's SETUP_EXIT { repoint } for an active served session. */
void punch_serve_repoint(struct sn_session *s, struct sn_peer *origin,
                         const Supermesh__Command *cmd, const Supermesh__SetupExit *se);

/* ---- probe.c: the out-of-band test before a relay -> direct move ---- */
/* PA_TEST_DIRECT: PROBE_PATH to client and exit with one token; both
 * answers go to pathsel_test_result, and a pass to the move. */
void probe_test_start(struct sn_session *s);
/* The error of a refused PROBE_PATH means the side cannot test at all. */
int probe_error_unsupported(const char *error);
/* How long a probe may run: well inside our command timeout. */
uint32_t probe_test_ms(const struct supernoded *sn);

/* ---- probe_remote.c: the exit side of an origin's test, on B ---- */
/* SERVE: the origin's PROBE_PATH for a session we serve, forwarded to our
 * exit; the exit's answer (or error) goes back to the origin. -EPROTO for
 * a malformed one, else 0 (a refusal is answered). */
int probe_serve(struct sn_peer *origin, const Supermesh__Command *cmd,
                const Supermesh__ProbePath *pp);

/* ---- remote.c ---- */
void remote_start_lookup(struct sn_session *s);
/* The pooled stream to supernode id at address (opened on first use);
 * NULL if the address is not numeric IP:port or on ENOMEM. */
struct sn_peer *remote_pool_get(struct supernoded *sn, const uint8_t id[ID_PK_LEN],
                                const char *address);
void remote_setup_attempt(struct sn_session *s);
void remote_region_answer(struct supernoded *sn, const Supermesh__ExitRegionResponse *r);
void remote_link_up(struct sn_peer *p);
/* B side: the origin asked us to set up one of our exits. */
void remote_serve_setup(struct sn_peer *origin, const Supermesh__Command *cmd,
                        const Supermesh__SetupExit *se);
/* B side: answer the origin's pending SETUP_EXIT. */
void remote_serve_answer(struct sn_session *s, int ok, const char *error);
void remote_free_links(struct supernoded *sn);

/* ---- relay.c ---- */
typedef void (*relay_done_fn)(struct sn_session *s, int status);
/* relay add <session hex> [to HOST:PORT]; on success rec.relay and the
 * ports are set. done runs once (not on a negative return). */
int relay_add(struct sn_session *s, const char *to, relay_done_fn done);
/* relay del, fire and forget: the verb is idempotent. */
void relay_del(struct supernoded *sn, const char *hex);

#endif
