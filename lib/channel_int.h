/* Internals shared by channel.c (stream, state table, close) and
 * channel_hs.c (the handshake steps). Not for use outside lib/channel*.c. */
#ifndef SM_CHANNEL_INT_H
#define SM_CHANNEL_INT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "channel.h"
#include "cipher.h"
#include "frame.h"
#include "handshake.h"

#define HS_BUF 1024            /* room for any handshake message */
/* Before auth no frame may exceed this: a peer that claims 64 KiB in a
 * header would otherwise hold a 64 KiB partial-frame buffer per stream
 * until the deadline (slow-loris amplification). */
#define HS_FRAME_MAX (HS_BUF + CIPHER_TAG)
#define DEFAULT_HEARTBEAT_S 10 /* DESIGN section 3, when on_auth sets none */
/* SO_SNDBUF of every stream (the kernel doubles it). Frames the socket took
 * do not count toward CHANNEL_MAX_QUEUED; left to autotuning, the kernel
 * takes up to tcp_wmem[2] (4 MiB) from a peer that never reads, which small
 * replies must fill before the cap can trip (160k Pongs, tens of seconds
 * for a starved daemon). Fixed, the kernel's share stays below the cap's. */
#define CHANNEL_SNDBUF (CHANNEL_MAX_QUEUED / 4)

enum channel_event {
	EV_CONNECTED, /* client: TCP connect finished */
	EV_FRAME,     /* one whole frame arrived */
	EV_EOF,       /* the peer closed its side */
	EV_TIMEOUT,   /* the handshake deadline passed */
	EV_COUNT,
};

struct channel {
	uv_tcp_t tcp;
	uv_timer_t timer;          /* handshake deadline */
	uv_loop_t *loop;
	enum channel_state state;
	int is_server;
	int returned;              /* the caller holds it, so on_close is owed */
	int closed;                /* uv_close was called on both handles */
	int handles;               /* handles whose close_cb has not run yet */
	int status;                /* the first close status wins */
	char reason[96];
	struct channel_cbs cbs;
	void *data;
	struct frame_decoder dec;
	struct hs_state *hs;       /* handshake only: wiped and freed after auth */
	struct cipher_dir tx, rx;
	const struct identity *id;
	uint8_t server_id[ID_PK_LEN];
	uint8_t pinned[ID_PK_LEN];
	int has_pinned;
	uint32_t role;
	char region[64];
	uint8_t wg_pubkey[32];
	int has_wg_pubkey;
	struct hs_auth peer;
	int has_peer;
	uint8_t session_id[CHANNEL_SESSION_ID_LEN];
	uint32_t heartbeat_s;
	uint32_t handshake_ms;
	uint64_t last_rx_ms;
	size_t wreqs;              /* queued write requests (see channel_write) */
	struct channel_stats st;
};

/* channel.c */
void channel_hs_done(struct channel *ch);
int channel_close_after_write(struct channel *ch, int status, const char *reason);
int channel_write(struct channel *ch, const uint8_t *payload, size_t len, int sealed);
int channel_unseal(struct channel *ch, const uint8_t *p, size_t len, const uint8_t **plain);
int channel_opened(struct channel *ch);
void channel_keys(struct channel *ch);
int channel_read_start(struct channel *ch);

/* channel_hs.c: steps of the state table, each (ch, frame payload, length) */
int channel_hs_client_hello(struct channel *ch, const uint8_t *p, size_t len);
int channel_hs_client_finish(struct channel *ch, const uint8_t *p, size_t len);
int channel_hs_client_auth(struct channel *ch, const uint8_t *p, size_t len);
int channel_hs_server_hello(struct channel *ch, const uint8_t *p, size_t len);
int channel_hs_server_auth(struct channel *ch, const uint8_t *p, size_t len);

#endif
