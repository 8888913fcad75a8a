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
#include "plan.h"
#include "session.h"
#include "state.h"
#include "verb.h"
#include "wgconf.h"

struct peerlink;
struct cmd_sender;
struct line_server;
struct tunnel_run;

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
	struct peerlink *link;
	struct cmd_sender *cmds;
	struct line_server *admin;
	struct tunnel_run *run;         /* plan in flight, NULL when idle */
	void (*plan_done)(struct clientd *cd, int status, const char *msg);
	struct cmd_inflight cmd;
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
/* Admin disconnect: ends the session (DISCONNECT to the supernode) and
 * removes peer, routes and rules. 0 (maybe deferred behind a plan). */
int clientd_disconnect(struct clientd *cd);
void exit_send_request(struct clientd *cd);
void exit_on_response(struct clientd *cd, const Supermesh__ExitResponse *r);
void exit_on_link_up(struct clientd *cd);
void exit_on_link_down(struct clientd *cd);
/* Sends Command DISCONNECT {id} to the supernode, fire and forget. */
void exit_send_disconnect(struct clientd *cd, const uint8_t id[16], const char *reason);
/* A plan ended; runs what waited for it (a deferred user disconnect). */
void exit_after_plan(struct clientd *cd);

/* ---- commands.c: commands from the supernode ---- */
void commands_on_command(struct clientd *cd, const Supermesh__Command *c);

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

#endif
