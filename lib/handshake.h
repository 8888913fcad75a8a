/* The control channel's handshake (DESIGN section 2) as pure functions over
 * bytes: hello frames, transcript hash, session keys, AuthRequest signature.
 * lib/channel.c drives these over libuv; tests and fuzzers call them directly. */
#ifndef SM_HANDSHAKE_H
#define SM_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>
#include "keys.h"

#define HS_VERSION 1
#define HS_HASH_LEN 32 /* BLAKE2b-256 transcript hash */
#define HS_KEY_LEN crypto_aead_chacha20poly1305_ietf_KEYBYTES
#define HS_NONCE_LEN 32
#define HS_TIME_SKEW_MS 60000 /* AuthRequest timestamp tolerance */
#define HS_DEADLINE_MS 5000   /* whole handshake, including auth */
#define HS_SERVER_LABEL "supermesh/1 server"
#define HS_AUTH_LABEL "supermesh/1 auth"

struct hs_keys {
	uint8_t tx[HS_KEY_LEN];
	uint8_t rx[HS_KEY_LEN];
};

/*
 * One side's handshake state. Fields are filled in step by step; everything
 * secret is wiped by hs_release().
 */
struct hs_state {
	int is_server;
	uint8_t eph_pk[crypto_scalarmult_BYTES];
	uint8_t eph_sk[crypto_scalarmult_SCALARBYTES];
	uint8_t nonce[HS_NONCE_LEN];
	uint8_t peer_eph_pk[crypto_scalarmult_BYTES];
	uint8_t server_id[ID_PK_LEN];  /* server: own; client: verified */
	crypto_generichash_state transcript;
	uint8_t hash[HS_HASH_LEN];     /* H, once both hellos are seen */
	struct hs_keys keys;
};

void hs_release(struct hs_state *hs);

/* Client: makes its ephemeral and nonce and encodes ClientHello into out.
 * Returns the encoded length or a negative errno. */
int hs_client_hello(struct hs_state *hs, uint8_t *out, size_t size);

/* Server: checks a received ClientHello, answers with a signed ServerHello in
 * out, computes H and the session keys. Returns the encoded length or -EPROTO
 * (bad hello: wrong version, bad key lengths, low-order point). */
int hs_server_reply(struct hs_state *hs, const struct identity *id,
                    const uint8_t *client_hello, size_t ch_len,
                    uint8_t *out, size_t size);

/* Client: checks a received ServerHello against the pinned server key (NULL:
 * accept any key and record it in hs->server_id, for tests and directory
 * bootstrap only), checks the signature over H, computes the session keys.
 * Returns 0, -EPROTO (malformed), -EKEYREJECTED (wrong key or bad sig). */
int hs_client_finish(struct hs_state *hs, const uint8_t pinned[ID_PK_LEN],
                     const uint8_t *server_hello, size_t sh_len);

/*
 * The bytes an AuthRequest signs: "supermesh/1 auth" || H || peer_id (32) ||
 * role (4, big-endian) || region length (2, big-endian) || region ||
 * timestamp_ms (8, big-endian). Writes them to out and returns their length,
 * or -EMSGSIZE.
 */
int hs_auth_signed_bytes(const uint8_t hash[HS_HASH_LEN], const uint8_t peer_id[ID_PK_LEN],
                         uint32_t role, const char *region, uint64_t timestamp_ms,
                         uint8_t *out, size_t size);

/* Client: encodes a signed AuthRequest. Returns its length or a negative errno. */
int hs_auth_request(const struct hs_state *hs, const struct identity *id, uint32_t role,
                    const char *region, uint64_t now_ms, const uint8_t wg_pubkey[32],
                    uint8_t *out, size_t size);

/* What the server learned from a verified AuthRequest. */
struct hs_auth {
	uint8_t peer_id[ID_PK_LEN];
	uint32_t role;
	char region[64];
	uint64_t timestamp_ms;
	uint8_t wg_pubkey[32];
	int has_wg_pubkey;
};

/* Server: decodes and verifies an AuthRequest (signature over this
 * connection's H, timestamp within HS_TIME_SKEW_MS of now_ms). Returns 0,
 * -EPROTO (malformed), -EKEYREJECTED (bad signature), -ETIME (timestamp). */
int hs_auth_verify(const struct hs_state *hs, const uint8_t *req, size_t len,
                   uint64_t now_ms, struct hs_auth *out);

#endif
