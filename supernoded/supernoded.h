/* supernoded's shared state: one per process, made by core.c (from main.c
 * or a test), holding the settings, the peers, the sessions and the links. */
#ifndef SN_SUPERNODED_H
#define SN_SUPERNODED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "command.h"
#include "connlimit.h"
#include "keys.h"
#include "metrics_http.h"
#include "peer_index.h"
#include "policy.h"

#define SN_REGION_MAX 64
#define SN_HOST_MAX 128
#define SN_MAX_LIST 16     /* allowed_ips, dns, basenodeds */
#define SN_LIST_ITEM 64

struct cmd_sender;
struct peerlink;
struct sn_store;
struct stream_server;
struct sn_peer;
struct sn_session;
struct sn_directory;
struct sn_reflect;

/* The config, checked and converted (main.c fills it; tests set it). */
struct sn_settings {
	struct sockaddr_storage listen;
	char region[SN_REGION_MAX];
	char public_address[SN_HOST_MAX];
	char relay_host[64];      /* host part only: ports are added */
	char wgrelay_socket[256];
	int force_relay, relay_chain;
	uint32_t heartbeat_s, dead_after_s, keepalive_s;
	size_t max_streams;
	unsigned max_handshakes_per_ip; /* 0: no limit */
	int allowlist;            /* admission = allowlist */
	char allow_file[256];     /* its keys, one per line */
	double auth_rate, auth_burst;
	uint32_t max_msgs_per_s;  /* per stream, burst twice that; 0: no limit */
	uint32_t max_msgs_per_s_supernode; /* the same for other supernodes' streams */
	char allowed_ips[SN_MAX_LIST][SN_LIST_ITEM];
	size_t nallowed_ips;
	char dns[SN_MAX_LIST][SN_LIST_ITEM];
	size_t ndns;
	/* basenoded links: address and pinned key, same order */
	struct sockaddr_storage bn_addr[SN_MAX_LIST];
	uint8_t bn_key[SN_MAX_LIST][ID_PK_LEN];
	size_t nbn;
	uint32_t cmd_timeout_ms;  /* 0: 5000 (tests shorten it) */
	unsigned cmd_retries;     /* resends after the first try */
	uint32_t lookup_ms;       /* wait for basenoded / supernode answers */
	uint16_t reflector_port;  /* reflectors on this port and the next; 0: off */
	uint32_t reflect_poll_ms; /* peer list period; 0: REFLECT_POLL_MS */
	uint32_t path_retry_s;    /* first retry of direct from the relay; 0: 60 */
};

struct supernoded {
	uv_loop_t *loop;
	struct identity id;
	char id_hex[2 * ID_PK_LEN + 1];
	struct sn_settings set;
	struct auth_policy policy;
	struct connlimit pending;        /* handshakes in progress per source IP */
	struct sn_store *store;          /* NULL: nothing persisted */
	struct stream_server *streams;
	struct cmd_sender *cmds;
	struct sn_directory *dir;        /* basenoded links */
	struct sn_reflect *refl;         /* endpoint discovery, NULL: off */
	struct sn_peer *peers;           /* every known peer, list, newest first */
	struct peer_index peer_ix;       /* the same peers by id */
	struct sn_peer *exits;           /* those with role EXIT, in the same order */
	uint64_t peer_seq;
	struct sn_session *sessions;     /* every live session, list */
	struct peer_index session_ix;    /* the same sessions by session id */
	uv_timer_t tick;                 /* sweeps: silent streams, absent peers */
	int tick_open;
	uv_timer_t path_tick;            /* path choice: probe deadlines, retries */
	int path_tick_open;
	int stopping;
	uint64_t relays_active;
	/* path choice totals (punch.c) */
	uint64_t path_direct, path_upgrades, path_fallbacks, punch_failed;
	uint64_t path_tests[3];          /* probe.c: by enum ps_test (ok, failed, unsupported) */
	uint64_t journal_expired_ms;     /* loop time of the last journal expiry */
	/* refusals before any crypto (per-IP rate) and streams cut for flooding */
	uint64_t refused_rate, streams_flooded;
	/* observe.c; NULL metrics (tests): every update is a no-op */
	struct metrics *metrics;
	struct metrics_http mhttp;
	struct metric *m_streams, *m_auth, *m_rtt, *m_cmd_lat, *m_cmd_ok, *m_cmd_fail;
	struct metric *m_relays, *m_cpu, *m_tx, *m_rx, *m_upgrades, *m_fallbacks;
	struct metric *m_punch_failed, *m_refused_rate, *m_flooded, *m_path[3], *m_nat[4];
	struct metric *m_tests[3];       /* supernode_path_tests_total by result */
	uint64_t net_tx, net_rx, net_at_ms; /* last /proc/self/net/dev sample */
};

/* core.c: makes the whole daemon core on loop with settings s (copied) and
 * identity id (copied), state at db_path (NULL: none). Listens at once. */
int sn_core_new(uv_loop_t *loop, const struct sn_settings *s, const struct identity *id,
                const char *db_path, struct supernoded **out, char *err, size_t err_size);
/* Closes every stream, link and timer; run the loop afterwards, then
 * sn_core_destroy frees the rest. */
void sn_core_stop(struct supernoded *sn);
void sn_core_destroy(struct supernoded *sn);
/* Sets the defaults of every setting (the config table's defaults). */
void sn_settings_default(struct sn_settings *s);
/* Splits "a,b,c" into list (trimmed items). 0 or -EINVAL (too many, too long). */
int sn_split_list(const char *text, char list[][SN_LIST_ITEM], size_t max, size_t *n);

/* observe.c: the registry and GET /metrics on listen ("": registry only),
 * after sn_core_new; sn_metrics_stop with sn_core_stop, sn_metrics_release
 * after the loop's last run and before sn_core_destroy. */
int sn_metrics_start(struct supernoded *sn, const char *listen);
void sn_metrics_stop(struct supernoded *sn);
void sn_metrics_release(struct supernoded *sn);
/* Wraps a command's done callback (*done, *arg) to count and time it;
 * sn_observe_unwrap undoes it when the command was never sent. */
int sn_observe_wrap(struct supernoded *sn, cmd_done_fn *done, void **arg);
void sn_observe_unwrap(void *arg);
/* Once per heartbeat (directory.c): RTT of every supernode link, net rates. */
void sn_observe_heartbeat(struct supernoded *sn);
/* One heartbeat RTT sample from an outbound link (NULL or down: none). */
void sn_observe_rtt(struct supernoded *sn, const struct peerlink *pl);

/* The WireGuard keepalive peers are told (keepalive_s, 25 s when unset):
 * short enough to hold a NAT mapping open (UDP timeouts are often 30 s). */
uint32_t sn_keepalive_s(const struct supernoded *sn);

/* The bound listen address (for port 0 in tests). */
int sn_listen_addr(struct supernoded *sn, struct sockaddr_storage *ss);

#endif
