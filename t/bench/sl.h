/* streamload's shared parts: one authenticated stream to supernoded as a
 * load generator drives it (sl_conn.c), and the counters each worker shares
 * with the parent through one MAP_SHARED region (streamload.c). */
#ifndef SL_H
#define SL_H

#include <stdint.h>
#include <netinet/in.h>
#include <uv.h>
#include "cipher.h"
#include "control.pb-c.h"
#include "frame.h"
#include "handshake.h"

#define SL_SAMPLES 65536  /* latency samples kept per worker and kind */
#define SL_SEED_LEN 24    /* run seed; the stream index fills the rest */

/* One worker's counters, written by it, read by the parent (relaxed). */
struct sl_stats {
	uint64_t attempts, up, failed, refused, dropped, pings, pongs;
	uint64_t first_us, last_up_us;   /* first connect, last stream up */
	uint32_t nhs, nrtt;
	uint32_t hs_us[SL_SAMPLES];      /* connect to AuthResponse ok */
	uint32_t rtt_us[SL_SAMPLES];     /* Ping to Pong, while recording */
	char refuse_reason[64];          /* the first refusal's reason */
};

struct sl_conn;

/* What every stream of one process shares. */
struct sl_conf {
	struct sockaddr_in server;
	uint8_t server_key[ID_PK_LEN];
	uint8_t seed[SL_SEED_LEN];
	uint32_t nsrc;                   /* source addresses 127.0.0.2 .. 2+nsrc-1 */
	struct sl_stats *st;
	const volatile int *recording;   /* Pong RTTs are kept while set */
	void (*on_up)(struct sl_conn *c);
	void (*on_down)(struct sl_conn *c);
	void (*on_message)(struct sl_conn *c, const Supermesh__ControlMessage *m);
};

enum sl_state { SL_IDLE, SL_CONNECTING, SL_HELLO, SL_AUTH, SL_UP, SL_CLOSING, SL_CLOSED };

struct sl_conn {
	uv_tcp_t tcp;
	const struct sl_conf *cf;
	uint32_t index;                  /* identity and source address */
	uint32_t role;                   /* Role of handshake.proto */
	enum sl_state state;
	struct hs_state *hs;             /* during the handshake only */
	struct frame_decoder dec;
	struct cipher_dir tx, rx;
	uint64_t t0_us;                  /* connect started */
	uint64_t next_ping_ms;
	uint32_t heartbeat_ms;
	void *data;
};

uint64_t sl_now_us(void);
/* The stream's Ed25519 identity and WireGuard key, derived from the seed. */
void sl_identity(const struct sl_conf *cf, uint32_t index, struct identity *id,
                 uint8_t wg[32]);
/* c: zeroed but for cf, index, role, data. 0 or a negative errno (then
 * counted as failed, no callback). */
int sl_conn_start(uv_loop_t *loop, struct sl_conn *c);
int sl_conn_send(struct sl_conn *c, const Supermesh__ControlMessage *m);
/* Sends a Ping now (if up); sl_conn_tick sends one if one is due. */
void sl_conn_ping(struct sl_conn *c);
void sl_conn_tick(struct sl_conn *c, uint64_t now_ms);
void sl_conn_close(struct sl_conn *c);

#endif
