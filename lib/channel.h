/* Secure control channel on a libuv TCP stream: frames, the handshake of
 * DESIGN section 2 (client and server sides), then encrypted frames. The
 * state machine lives in channel.c; crypto is in handshake.c and cipher.c. */
#ifndef SM_CHANNEL_H
#define SM_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "handshake.h"
#include "keys.h"

#define CHANNEL_SESSION_ID_LEN 16
#define CHANNEL_MAX_QUEUED (1024 * 1024) /* unsent bytes before the peer is cut off */

struct channel;

enum channel_state {
	CH_CLIENT_HELLO,  /* client: ClientHello sent, waiting for ServerHello */
	CH_SERVER_HELLO,  /* server: waiting for ClientHello */
	CH_CLIENT_AUTH,   /* client: AuthRequest sent, waiting for AuthResponse */
	CH_SERVER_AUTH,   /* server: ServerHello sent, waiting for AuthRequest */
	CH_OPEN,          /* authenticated; application frames flow */
	CH_CLOSING,       /* closed locally or by error; handle close pending */
};

/* What the server decides about a verified AuthRequest. */
struct channel_verdict {
	int accept;
	char reason[96];        /* sent to the peer when not accepted */
	uint32_t heartbeat_s;   /* sent to the peer when accepted */
};

struct channel_cbs {
	/* Server only: the AuthRequest's signature and timestamp were verified;
	 * apply policy (revocation, role, rate limits, capacity). */
	void (*on_auth)(struct channel *ch, const struct hs_auth *auth,
	                struct channel_verdict *verdict);
	/* Both sides: the channel is authenticated and open. */
	void (*on_open)(struct channel *ch);
	/* One decrypted application frame, valid only during the call. The
	 * callback may call channel_close(). */
	void (*on_message)(struct channel *ch, const uint8_t *data, size_t len);
	/* Exactly once per channel that was returned to the caller, when it is
	 * closed for any reason: status 0 for an orderly close by the peer or by
	 * channel_close(ch, 0, ..), else a negative errno (-ETIMEDOUT handshake
	 * deadline, -EBADMSG failed decryption, -EPROTO bad frame or message,
	 * -EKEYREJECTED wrong server key or bad signature, -EACCES auth refused,
	 * -ENOBUFS peer not reading). The channel's memory is freed after the
	 * callback returns; do not use ch afterwards. */
	void (*on_close)(struct channel *ch, int status, const char *reason);
};

struct channel_client_opts {
	const struct identity *id;
	const uint8_t *pinned_server_id; /* 32 bytes; NULL accepts any server (tests) */
	uint32_t role;                   /* Role enum of handshake.proto */
	const char *region;
	const uint8_t *wg_pubkey;        /* 32 bytes or NULL */
	uint32_t handshake_ms;           /* 0: HS_DEADLINE_MS */
};

struct channel_server_opts {
	const struct identity *id;
	uint32_t handshake_ms;           /* 0: HS_DEADLINE_MS */
};

/* Client: connects to addr and runs the handshake. Returns 0 and *out, or a
 * negative errno without calling any callback. */
int channel_connect(uv_loop_t *loop, const struct sockaddr *addr,
                    const struct channel_client_opts *opts, const struct channel_cbs *cbs,
                    void *data, struct channel **out);

/* Server: accepts one connection from a listening stream (call from its
 * connection callback). Returns 0 and *out, or a negative errno. */
int channel_accept(uv_stream_t *listener, const struct channel_server_opts *opts,
                   const struct channel_cbs *cbs, void *data, struct channel **out);

/* Encrypts and queues one application frame (1..FRAME_MAX - CIPHER_TAG bytes).
 * Returns 0, -ENOTCONN if not open, -EMSGSIZE, or -ENOBUFS (then the channel
 * is being closed because the peer does not read). */
int channel_send(struct channel *ch, const uint8_t *data, size_t len);

/* Closes the channel; on_close follows with status. Safe to call twice. */
void channel_close(struct channel *ch, int status, const char *reason);

void *channel_data(const struct channel *ch);
void channel_set_data(struct channel *ch, void *data);
enum channel_state channel_state(const struct channel *ch);
/* Server: the peer's verified AuthRequest; client: NULL. */
const struct hs_auth *channel_peer(const struct channel *ch);
/* Both: the server's Ed25519 id (verified on the client side). */
const uint8_t *channel_server_id(const struct channel *ch);
/* Both, once open: the session id the server gave this stream. */
const uint8_t *channel_session_id(const struct channel *ch);
/* Client, once open: heartbeat interval the server asked for. */
uint32_t channel_heartbeat_s(const struct channel *ch);
/* The remote address; 0 or a negative errno. */
int channel_peer_addr(const struct channel *ch, struct sockaddr_storage *ss);
/* The local address (getsockname); 0 or a negative errno. */
int channel_local_addr(const struct channel *ch, struct sockaddr_storage *ss);
/* Loop time (uv_now) of the last whole frame received, for liveness sweeps. */
uint64_t channel_last_rx_ms(const struct channel *ch);

struct channel_stats {
	uint64_t rx_bytes, tx_bytes, rx_frames, tx_frames;
};
void channel_get_stats(const struct channel *ch, struct channel_stats *st);

#endif
