/* exitpeerd's core: one per process, made by main.c (or a test) from checked
 * config values. It owns the state database, the address pool, the sessions,
 * the stream to the supernode and the admin socket. */
#ifndef EP_EXITPEERD_H
#define EP_EXITPEERD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <uv.h>
#include "backoff.h"
#include "keys.h"
#include "metrics_http.h"
#include "pool.h"
#include "state.h"
#include "store.h"

struct peerlink;
struct line_server;
struct ep_op;

#define EP_HELPER_TIMEOUT_MS 5000

/* Checked values; strings must outlive the exitpeer. */
struct exitpeer_conf {
	const struct identity *id;
	struct sockaddr_storage supernode;
	const char *supernode_text;     /* for logs and status */
	const uint8_t *supernode_key;   /* 32 bytes, copied; NULL: insecure_no_pin */
	const char *region;
	const char *state_path;         /* the database file */
	const char *wgrelay_socket;
	const char *natctl_socket;
	const char *admin_socket;       /* NULL: no admin socket (tests) */
	mode_t admin_mode;
	const char *wg_iface;
	uint16_t wg_port;
	const char *pool;               /* CIDR */
	const char *public_endpoint;    /* "": behind NAT */
	uint32_t keepalive_s;
	uint32_t heartbeat_s;
	uint32_t dead_after_s;
	uint32_t helper_timeout_ms;     /* 0: EP_HELPER_TIMEOUT_MS */
	uint32_t retry_base_ms;         /* startup retries; 0: BACKOFF_BASE_MS */
};

/* STARTING: bringing the interface, address and forwarding up (retried with
 * backoff until the helpers answer); LINKED: the peerlink exists and is up
 * or reconnecting; STOPPING: exitpeer_stop was called. */
enum ep_phase { EP_STARTING, EP_LINKED, EP_STOPPING };

struct exitpeer {
	uv_loop_t *loop;
	struct exitpeer_conf conf;
	uint8_t supernode_key[ID_PK_LEN];
	struct state st;
	struct exit_pool pool;
	struct exit_session *sessions;
	size_t nsessions, cap;
	uint8_t wg_pubkey[WG_KEY_LEN];
	enum ep_phase phase;
	int start_step;                 /* position in the startup chain */
	size_t start_idx;               /* session being re-applied */
	struct backoff bo;
	uv_timer_t retry, heartbeat;
	struct peerlink *pl;
	struct line_server *admin;
	struct ep_op *ops;              /* commands being applied */
	uint64_t applied, duplicates, rejected;
	struct metrics *metrics;        /* observe.c */
	struct metrics_http mhttp;
	struct metric *m_streams, *m_auth, *m_rtt, *m_cmd_lat, *m_cmd_ok, *m_cmd_fail;
	struct metric *m_wg_peers, *m_load;
};

/* Opens the state, reloads sessions into the pool, opens the admin socket
 * and starts the startup chain. Returns 0 and *out, or a negative errno
 * with a reason in err (nothing left on the loop). */
int exitpeer_new(uv_loop_t *loop, const struct exitpeer_conf *conf, struct exitpeer **out,
                 char *err, size_t err_size);
/* Closes the stream, timers and admin socket; commands in flight finish
 * (their answers are journaled). Run the loop until it returns, then
 * exitpeer_free. */
void exitpeer_stop(struct exitpeer *ep);
void exitpeer_free(struct exitpeer *ep);

/* Sends InfoResponse (sessions, peers, load, endpoint) if the stream is up. */
int exitpeer_send_info(struct exitpeer *ep);
int exitpeer_is_up(const struct exitpeer *ep);
/* Milliseconds to wait for a helper's reply. */
int exitpeer_helper_timeout(const struct exitpeer *ep);
/* Load in percent of the pool's client addresses. */
unsigned exitpeer_load_pct(const struct exitpeer *ep);

/* ---- sessions in memory (session.c) ---- */
struct exit_session *ep_session_find(struct exitpeer *ep, const uint8_t id[SESSION_ID_LEN]);
struct exit_session *ep_session_find_key(struct exitpeer *ep, const uint8_t key[WG_KEY_LEN]);
int ep_session_add(struct exitpeer *ep, const struct exit_session *s);
void ep_session_remove(struct exitpeer *ep, const uint8_t id[SESSION_ID_LEN]);
/* "10.200.0.2/32" */
void ep_session_cidr(const struct exit_session *s, char *out, size_t size);

/* ---- observe.c: metrics and GET /metrics ---- */
/* The registry (exitpeer_new makes it): 0 or -ENOMEM with err filled. */
int ep_observe_new(struct exitpeer *ep, char *err, size_t err_size);
/* Serves it on listen ("IP:port", "": not at all), after exitpeer_new;
 * exitpeer_stop stops it. 0 or a negative errno. */
int exitpeer_metrics_start(struct exitpeer *ep, const char *listen);
void ep_observe_stop(struct exitpeer *ep);
void ep_observe_release(struct exitpeer *ep);
void ep_observe_down(struct exitpeer *ep, int status);
void ep_observe_rtt(struct exitpeer *ep);
/* A command answered: ok or not, started_ns its arrival (0: not applied). */
void ep_observe_command(struct exitpeer *ep, int ok, uint64_t started_ns);

#endif
