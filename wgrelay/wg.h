/* WireGuard devices as plain structs, and the two backends that read and
 * write them (kernel generic netlink, userspace UAPI socket), like
 * wireguard-tools' containers.h and ipc.h. */
#ifndef WGRELAY_WG_H
#define WGRELAY_WG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define WG_KEY_LEN 32

/* Which fields of a device are set (get) or to be applied (set). */
enum {
	WGDEV_REPLACE_PEERS = 1U << 0,
	WGDEV_HAS_PRIVATE_KEY = 1U << 1,
	WGDEV_HAS_PUBLIC_KEY = 1U << 2,
	WGDEV_HAS_LISTEN_PORT = 1U << 3,
	WGDEV_HAS_FWMARK = 1U << 4,
};

enum {
	WGPEER_REMOVE_ME = 1U << 0,
	WGPEER_REPLACE_ALLOWEDIPS = 1U << 1,
	WGPEER_HAS_KEEPALIVE = 1U << 2,
	WGPEER_HAS_ENDPOINT = 1U << 3,
};

struct wg_allowedip {
	uint16_t family; /* AF_INET or AF_INET6 */
	uint8_t cidr;
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
};

union wg_endpoint {
	struct sockaddr addr;
	struct sockaddr_in addr4;
	struct sockaddr_in6 addr6;
};

struct wg_peer {
	uint32_t flags;
	uint8_t public_key[WG_KEY_LEN];
	union wg_endpoint endpoint;
	int64_t last_handshake_sec; /* unix time; 0: never */
	int64_t last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes;
	uint16_t keepalive;
	struct wg_allowedip *allowedips;
	size_t n_allowedips;
};

struct wg_device {
	char name[IFNAMSIZ];
	uint32_t flags;
	uint8_t public_key[WG_KEY_LEN];
	uint8_t private_key[WG_KEY_LEN];
	uint32_t fwmark;
	uint16_t listen_port;
	struct wg_peer *peers;
	size_t n_peers;
};

/* Wipes the private key and frees the device (NULL is fine). */
void wg_device_free(struct wg_device *dev);
/* Appends a zeroed peer; returns it or NULL (-ENOMEM). */
struct wg_peer *wg_device_add_peer(struct wg_device *dev);
/* Appends an allowed ip to a peer; 0 or -ENOMEM. */
int wg_peer_add_allowedip(struct wg_peer *peer, const struct wg_allowedip *a);
/* New private key (clamped Curve25519) and its public key. */
void wg_key_generate(uint8_t private_key[WG_KEY_LEN], uint8_t public_key[WG_KEY_LEN]);
void wg_key_public(const uint8_t private_key[WG_KEY_LEN], uint8_t public_key[WG_KEY_LEN]);
/* "1.2.3.4:5" or "[v6]:5" (or "-" when unset) into buf. */
void wg_endpoint_format(const union wg_endpoint *e, char *buf, size_t size);

/*
 * A backend. Every function returns 0 or a negative errno; -ENODEV means the
 * interface does not exist. create makes a WireGuard interface (it must not
 * exist: -EEXIST) and brings it up, or leaves nothing; destroy removes it and anything that
 * ran it; get allocates *out (wg_device_free it); set applies what dev's and
 * its peers' flags say, nothing else.
 */
struct wg_backend {
	const char *name; /* "kernel" or "userspace" */
	int (*create)(const struct wg_backend *be, const char *ifname);
	int (*destroy)(const struct wg_backend *be, const char *ifname);
	int (*get)(const struct wg_backend *be, const char *ifname, struct wg_device **out);
	int (*set)(const struct wg_backend *be, const struct wg_device *dev);
	const char *program;  /* userspace: wireguard-go to start */
	const char *sock_dir; /* userspace: where the UAPI sockets live */
	int timeout_ms;       /* userspace: how long to wait for wireguard-go */
	void *priv;           /* for tests' fake backends */
};

/* The kernel backend; wg_kernel_available() says whether the module answers. */
extern const struct wg_backend wg_kernel_backend;
int wg_kernel_available(void);
/* A userspace backend starting `program` (NULL: "wireguard-go"). */
void wg_uapi_backend_init(struct wg_backend *be, const char *program);

/*
 * The UAPI text protocol, pure so it is testable with canned text.
 * wg_uapi_format_set writes a whole "set=1" request (ending in the empty
 * line) into a malloc'ed string (wipe and free it: it may hold the private
 * key). wg_uapi_parse_get parses the reply to "get=1" up to and including
 * "errno=N" into a new device; -EPROTO on malformed text, -N for errno=N.
 */
int wg_uapi_format_set(const struct wg_device *dev, char **out, size_t *len);
int wg_uapi_parse_get(const char *text, size_t len, struct wg_device **out);
/* Parses the "errno=N" reply to a set; 0, -N or -EPROTO. */
int wg_uapi_parse_errno(const char *text, size_t len);

#endif
