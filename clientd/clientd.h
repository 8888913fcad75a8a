/* clientd's core: one per process, made by main.c or by a test with
 * clientd_new, holding the stream to the supernode, the session state
 * machine, what is configured through wgrelay, and the admin socket. */
#ifndef CD_CLIENTD_H
#define CD_CLIENTD_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "backoff.h"
#include "keys.h"
#include "metrics_http.h"
#include "plan.h"
#include "session.h"
#include "state.h"

#define CD_MAX_CANDS 16
#include "verb.h"
#include "wgconf.h"

struct peerlink;
struct cmd_sender;
struct line_server;
struct tunnel_run;
struct httpd;
struct stats_req;
struct probe_run;
struct cmd_outcome;

/* Everything from the config; strings must outlive the clientd. */
struct clientd_opts {
	const struct identity *id;
	const char *supernode;          /* numeric "IP:port" */
	const uint8_t *supernode_key;   /* 32 bytes, NULL: not pinned (tests) */
	const char *region;             /* own region, sent at auth */
	const char *state_path;         /* SQLite file; NULL: nothing persisted */
	const char *wgrelay_socket;
	const char *admin_socket;       /* NULL: no admin socket */
	unsigned admin_mode;            /* 0: 0660 */
	const char *api_socket;         /* HTTP/JSON API on a UNIX socket; NULL: none */
	unsigned api_mode;              /* 0: 0660 */
	const char *api_listen;         /* and/or loopback "IP:port"; NULL/"": none */
	const char *metrics_listen;     /* GET /metrics at "IP:port"; NULL/"": none */
	const char *wg_iface;
	unsigned wg_port;               /* 0: wgrelay picks */
	int full_tunnel;
	const char *allowed_ips;        /* NULL or "": 0.0.0.0/0 (full) or the exit's */
	uint32_t table, fwmark, rule_priority;
	const char *connect_region;     /* "" or NULL: wait for an admin connect */
	uint32_t heartbeat_ms, dead_ms;
	uint32_t exit_timeout_ms;       /* 0: 30000 */
	uint32_t retry_base_ms, retry_cap_ms; /* ExitRequest and start retries */
	uint32_t backoff_base_ms;       /* stream reconnects; 0: lib default */
	uint32_t cmd_timeout_ms;        /* 0: 5000 */
	int helper_timeout_ms;          /* one wgrelay request; 0: 5000 */
};

/* clientd's series in its metrics registry (observe.c). */
struct cd_metrics {
	struct metrics *reg;
	struct metric *streams, *auth_failures, *rtt_ms, *cmd_latency;
	struct metric *cmd_ok, *cmd_fail, *sent_ok, *sent_fail;
	struct metric *wg_peers, *exit_requests, *connected;
};

/* The WireGuard peer as wgrelay last reported it (observe.c polls it). */
struct cd_peer_stats {
	int valid;
	uint8_t key[32];
	uint64_t rx_bytes, tx_bytes;
	int64_t last_handshake_s;       /* unix seconds, 0: never */
};

/* What a command received from the supernode is waiting for. */
struct cmd_inflight {
	int active;
	uint8_t id[16];
	enum cs_event ok_ev, fail_ev;
	struct tunnel_conf after; /* installed once the plan succeeds */
	struct session next;      /* the session once the plan succeeds */
};

struct clientd {
	uv_loop_t *loop;
	struct clientd_opts o;
	struct plan_opts po;
	struct wgc_opts wo;
	struct sockaddr_storage sn_addr;
	char bypass_sn[WGC_CIDR_MAX];
	struct state st;
	struct session s;
	struct tunnel_conf installed;   /* what wgrelay has now */
	struct tunnel_conf pending;     /* being installed by run */
	uint8_t wg_pub[32];
	int have_wg;
	unsigned wg_listen_port;        /* from iface ensure's port=; 0 unknown */
	/* the ranked candidates of the last ExitResponse, for GET /exits */
	struct cd_cand {
		uint8_t id[32], wg_pubkey[32];
		char endpoint[WGC_EP_MAX];
		int behind_nat;
		uint32_t load_pct, rtt_ms;
		uint64_t bandwidth_bps;
	} cands[CD_MAX_CANDS];
	size_t ncands;
	int have_cands;                 /* 1: the list came from the supernode */
	struct peerlink *link;
	struct cmd_sender *cmds;
	struct line_server *admin;
	struct httpd *api_unix, *api_tcp;
	struct metrics_http mhttp;
	struct cd_metrics met;
	struct cd_peer_stats stats;
	struct stats_req *stats_req;    /* peer list in flight, or NULL */
	uv_timer_t observe_timer;       /* RTT sample and peer stats, per heartbeat */
	uint64_t cmd_started_ns;        /* when the command being applied arrived */
	uint64_t want_min_bw;           /* bits/s, the connect's (0: any) */
	uint32_t want_max_latency_ms;   /* 0: any */
	struct tunnel_run *run;         /* plan in flight, NULL when idle */
	void (*plan_done)(struct clientd *cd, int status, const char *msg);
	struct cmd_inflight cmd;
	struct probe_run *probe;        /* PROBE_PATH test in flight (probe.c), or NULL */
	uint8_t probe_cmd[16];          /* its command id */
	uv_timer_t exit_timer;          /* ExitRequest deadline, or the retry delay */
	uv_timer_t start_timer;         /* retries iface ensure while wgrelay is down */
	int timers_open;
	int exit_waiting;               /* 1: a request is out, timer is its deadline */
	uint8_t request_id[16];
	struct backoff retry;
	struct backoff start_retry;
	int auto_connect_done;
	int disconnect_pending;         /* user disconnect while a plan ran */
	int closing;
	/* counters, for status and tests */
	uint64_t exit_requests, plans_ok, plans_failed, cmds_applied;
};

/* Opens state, asks wgrelay for the interface, then connects to the
 * supernode. Returns 0 and *out, or a negative errno with err filled (run
 * the loop afterwards either way: handles may be closing). */
int clientd_new(uv_loop_t *loop, const struct clientd_opts *o, struct clientd **out,
                char *err, size_t err_size);
/* The checks clientd_new makes of the options (for -n). 0 or -EINVAL. */
int clientd_check_opts(const struct clientd_opts *o, char *err, size_t err_size);
/* Closes everything; memory is freed from close callbacks (and an in-flight
 * wgrelay request's reply), so run the loop afterwards. */
void clientd_free(struct clientd *cd);

/* ---- exit.c: the session's life as seen from the user ---- */
/* Admin connect: 0, -EBUSY (connected or busy), -EINVAL (bad region). */
int clientd_connect(struct clientd *cd, const char *region);
/* The same with the ExitRequest's wishes (0: any), as the API's connect. */
int clientd_connect_opts(struct clientd *cd, const char *region, uint64_t min_bw,
                         uint32_t max_latency_ms);
/* Admin disconnect: ends the session (DISCONNECT to the supernode) and
 * removes peer, routes and rules. 0 (maybe deferred behind a plan). */
int clientd_disconnect(struct clientd *cd);
void exit_send_request(struct clientd *cd);
void exit_on_response(struct clientd *cd, const Supermesh__ExitResponse *r);
/* Keeps r's candidates for GET /exits; a malformed list is dropped whole. */
int exit_take_candidates(struct clientd *cd, const Supermesh__ExitResponse *r);
void exit_on_link_up(struct clientd *cd);
void exit_on_link_down(struct clientd *cd);
/* Sends Command DISCONNECT {id} to the supernode, fire and forget. */
void exit_send_disconnect(struct clientd *cd, const uint8_t id[16], const char *reason);
/* A plan ended; runs what waited for it (a deferred user disconnect). */
void exit_after_plan(struct clientd *cd);

/* ---- commands.c: commands from the supernode ---- */
void commands_on_command(struct clientd *cd, const Supermesh__Command *c);
/* Journals o for command id (a resend is answered from it) and answers. */
void commands_finish(struct clientd *cd, const uint8_t id[16], const struct cmd_outcome *o);
/* probe.c: PROBE_PATH, the out-of-band test of a direct path (lib/probe_run). */
void probe_on_command(struct clientd *cd, const uint8_t id[16], const uint8_t *data,
                      size_t len);
/* A resend of the probe in flight: its answer is coming. */
int probe_in_flight(const struct clientd *cd, const uint8_t id[16]);

/* ---- core.c helpers shared by the files above ---- */
/* Starts a plan (taken); done runs when it ends. 0 or a negative errno. */
int clientd_run_plan(struct clientd *cd, struct plan *p,
                     void (*done)(struct clientd *cd, int status, const char *msg));
void clientd_save(struct clientd *cd);
/* Moves the state machine, logging the transition. */
int clientd_event(struct clientd *cd, enum cs_event ev);
int clientd_send(struct clientd *cd, const Supermesh__ControlMessage *m);
void clientd_send_info(struct clientd *cd);

/* ---- admin.c ---- */
extern const struct verb clientd_admin_verbs[];

/* ---- api.c: the HTTP/JSON API (api_socket, api_listen) ---- */
int api_start(struct clientd *cd, char *err, size_t err_size);
void api_stop(struct clientd *cd);

/* ---- observe.c: metrics and the peer stats from wgrelay ---- */
/* Makes the registry and starts /metrics: 0 or a negative errno with err. */
int observe_start(struct clientd *cd, char *err, size_t err_size);
/* Stops /metrics, the timer (counted in timers_open) and a pending poll. */
void observe_stop(struct clientd *cd);
/* Frees the registry: once nothing can touch it (the last close). */
void observe_release(struct clientd *cd);
void observe_stream_down(struct clientd *cd, int status);
/* A command from the supernode answered (not a journal replay). */
void observe_command_done(struct clientd *cd, int ok);
/* Our own command (DISCONNECT) acked or not. */
void observe_sent_done(struct clientd *cd, int ok);
/* The handshake's age in seconds, -1 if none known. */
int64_t observe_handshake_age(const struct clientd *cd);
/* Reads the peer's counters now (an InfoResponse follows if they moved). */
void observe_poll_now(struct clientd *cd);

#endif
