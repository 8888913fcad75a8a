/* The control channel handshake (DESIGN section 2) over bytes: hello frames,
 * transcript hash H, directional session keys, AuthRequest signatures. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "handshake.h"
#include "handshake.pb-c.h"

#define SERVER_LABEL_LEN (sizeof(HS_SERVER_LABEL) - 1)
#define AUTH_LABEL_LEN (sizeof(HS_AUTH_LABEL) - 1)
#define SIG_LEN crypto_sign_BYTES
#define X_LEN crypto_scalarmult_BYTES
#define REGION_MAX 63 /* bytes, so it fits struct hs_auth's region[64] */
#define AUTH_SIGNED_MAX (AUTH_LABEL_LEN + HS_HASH_LEN + ID_PK_LEN + 4 + 2 + REGION_MAX + 8)
#define SERVER_HELLO_MAX 256 /* a canonical one is 170 bytes */

static ProtobufCBinaryData bin(uint8_t *data, size_t len)
{
	return (ProtobufCBinaryData){ .len = len, .data = data };
}

void hs_release(struct hs_state *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

static void hs_ephemeral(struct hs_state *hs)
{
	randombytes_buf(hs->eph_sk, sizeof(hs->eph_sk));
	crypto_scalarmult_base(hs->eph_pk, hs->eph_sk);
	randombytes_buf(hs->nonce, sizeof(hs->nonce));
}

/* One direction's key: BLAKE2b-256 keyed with the X25519 secret over
 * H || label, so keys are bound to this transcript and differ per direction. */
static void hs_kdf(const uint8_t shared[X_LEN], const uint8_t hash[HS_HASH_LEN],
                   const char *label, uint8_t out[HS_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, shared, X_LEN, HS_KEY_LEN);
	crypto_generichash_update(&st, hash, HS_HASH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_final(&st, out, HS_KEY_LEN);
	sodium_memzero(&st, sizeof(st));
}

/* Needs hs->hash and hs->peer_eph_pk. The ephemeral secret is wiped either
 * way: it is never needed again (forward secrecy). */
static int hs_derive(struct hs_state *hs)
{
	uint8_t shared[X_LEN], c2s[HS_KEY_LEN], s2c[HS_KEY_LEN];
	int r = -EPROTO;

	/* A low-order peer point gives an all-zero secret; libsodium reports it
	 * and the explicit check keeps that guarantee visible here. */
	if (crypto_scalarmult(shared, hs->eph_sk, hs->peer_eph_pk) != 0 ||
	    sodium_is_zero(shared, sizeof(shared)))
		goto out;
	hs_kdf(shared, hs->hash, "c2s", c2s);
	hs_kdf(shared, hs->hash, "s2c", s2c);
	memcpy(hs->keys.tx, hs->is_server ? s2c : c2s, HS_KEY_LEN);
	memcpy(hs->keys.rx, hs->is_server ? c2s : s2c, HS_KEY_LEN);
	r = 0;
out:
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(c2s, sizeof(c2s));
	sodium_memzero(s2c, sizeof(s2c));
	sodium_memzero(hs->eph_sk, sizeof(hs->eph_sk));
	return r;
}

/* "supermesh/1 server" || H: what the server's ServerHello signature covers. */
static void hs_server_signed(const uint8_t hash[HS_HASH_LEN],
                             uint8_t out[SERVER_LABEL_LEN + HS_HASH_LEN])
{
	memcpy(out, HS_SERVER_LABEL, SERVER_LABEL_LEN);
	memcpy(out + SERVER_LABEL_LEN, hash, HS_HASH_LEN);
}

/* The transcript starts with the ClientHello frame payload (the protobuf
 * bytes, without the 4-byte frame header). */
int hs_client_hello(struct hs_state *hs, uint8_t *out, size_t size)
{
	Supermesh__ClientHello ch = SUPERMESH__CLIENT_HELLO__INIT;
	size_t n;

	hs_release(hs);
	hs_ephemeral(hs);
	ch.version = HS_VERSION;
	ch.eph_pk = bin(hs->eph_pk, sizeof(hs->eph_pk));
	ch.nonce = bin(hs->nonce, sizeof(hs->nonce));
	n = supermesh__client_hello__get_packed_size(&ch);
	if (n > size) {
		hs_release(hs);
		return -EMSGSIZE;
	}
	supermesh__client_hello__pack(&ch, out);
	crypto_generichash_init(&hs->transcript, NULL, 0, HS_HASH_LEN);
	crypto_generichash_update(&hs->transcript, out, n);
	return (int)n;
}

static int hs_read_client_hello(struct hs_state *hs, const uint8_t *data, size_t len)
{
	Supermesh__ClientHello *ch;
	int r = -EPROTO;

	ch = supermesh__client_hello__unpack(NULL, len, data);
	if (!ch)
		return -EPROTO;
	if (ch->version != HS_VERSION || ch->eph_pk.len != X_LEN ||
	    ch->nonce.len != HS_NONCE_LEN)
		goto out;
	memcpy(hs->peer_eph_pk, ch->eph_pk.data, X_LEN);
	r = 0;
out:
	supermesh__client_hello__free_unpacked(ch, NULL);
	return r;
}

/*
 * protobuf-c packs fields in field-number order and sig (15) is the last
 * one, so the ServerHello is packed without sig, hashed into H, then packed
 * again with sig: the first pack is a prefix of the second.
 */
int hs_server_reply(struct hs_state *hs, const struct identity *id,
                    const uint8_t *client_hello, size_t ch_len,
                    uint8_t *out, size_t size)
{
	Supermesh__ServerHello sh = SUPERMESH__SERVER_HELLO__INIT;
	uint8_t msg[SERVER_LABEL_LEN + HS_HASH_LEN], sig[SIG_LEN];
	size_t n0, n;
	int r;

	hs_release(hs);
	hs->is_server = 1;
	if ((r = hs_read_client_hello(hs, client_hello, ch_len)) < 0)
		goto out;
	hs_ephemeral(hs);
	memcpy(hs->server_id, id->pk, ID_PK_LEN);
	sh.version = HS_VERSION;
	sh.server_id = bin(hs->server_id, ID_PK_LEN);
	sh.eph_pk = bin(hs->eph_pk, X_LEN);
	sh.nonce = bin(hs->nonce, HS_NONCE_LEN);
	n0 = supermesh__server_hello__get_packed_size(&sh);
	sh.sig = bin(sig, SIG_LEN);
	n = supermesh__server_hello__get_packed_size(&sh);
	r = -EMSGSIZE;
	if (n > size)
		goto out;
	sh.sig = bin(NULL, 0);
	supermesh__server_hello__pack(&sh, out);
	crypto_generichash_init(&hs->transcript, NULL, 0, HS_HASH_LEN);
	crypto_generichash_update(&hs->transcript, client_hello, ch_len);
	crypto_generichash_update(&hs->transcript, out, n0);
	crypto_generichash_final(&hs->transcript, hs->hash, HS_HASH_LEN);
	if ((r = hs_derive(hs)) < 0)
		goto out;
	hs_server_signed(hs->hash, msg);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), id->sk);
	sh.sig = bin(sig, SIG_LEN);
	supermesh__server_hello__pack(&sh, out);
	r = (int)n;
out:
	if (r < 0)
		hs_release(hs);
	return r;
}

/* Field shapes, then canonical encoding: the received bytes must be exactly
 * what packing the decoded message gives, so "the bytes up to sig" is
 * well defined. Returns the length of that prefix or -EPROTO. */
static int hs_check_server_hello(const Supermesh__ServerHello *sh,
                                 const uint8_t *data, size_t len)
{
	Supermesh__ServerHello nosig = SUPERMESH__SERVER_HELLO__INIT;
	uint8_t canon[SERVER_HELLO_MAX];
	size_t n0;

	if (sh->version != HS_VERSION || sh->server_id.len != ID_PK_LEN ||
	    sh->eph_pk.len != X_LEN || sh->nonce.len != HS_NONCE_LEN ||
	    sh->sig.len != SIG_LEN)
		return -EPROTO;
	/* protobuf-c keeps unknown fields and packs them after sig, where the
	 * signature would not cover them. */
	if (sh->base.n_unknown_fields != 0)
		return -EPROTO;
	if (supermesh__server_hello__get_packed_size(sh) != len || len > sizeof(canon))
		return -EPROTO;
	supermesh__server_hello__pack(sh, canon);
	if (memcmp(canon, data, len) != 0)
		return -EPROTO;
	nosig.version = sh->version;
	nosig.server_id = sh->server_id;
	nosig.eph_pk = sh->eph_pk;
	nosig.nonce = sh->nonce;
	/* Exactly pack(without sig) || tag 15, length 64, sig. */
	n0 = supermesh__server_hello__get_packed_size(&nosig);
	if (n0 + 2 + SIG_LEN != len || data[n0] != (15 << 3 | 2) || data[n0 + 1] != SIG_LEN)
		return -EPROTO;
	return (int)n0;
}

/* The transcript state is copied, so a refused ServerHello leaves hs as it
 * was (fuzzers and tests try many on one ClientHello). */
int hs_client_finish(struct hs_state *hs, const uint8_t pinned[ID_PK_LEN],
                     const uint8_t *server_hello, size_t sh_len)
{
	Supermesh__ServerHello *sh;
	crypto_generichash_state st;
	uint8_t hash[HS_HASH_LEN], msg[SERVER_LABEL_LEN + HS_HASH_LEN];
	int n0, r = -EPROTO;

	if (hs->is_server || sh_len > SERVER_HELLO_MAX)
		return -EPROTO;
	sh = supermesh__server_hello__unpack(NULL, sh_len, server_hello);
	if (!sh)
		return -EPROTO;
	if ((n0 = hs_check_server_hello(sh, server_hello, sh_len)) < 0)
		goto out;
	memcpy(&st, &hs->transcript, sizeof(st));
	crypto_generichash_update(&st, server_hello, (size_t)n0);
	crypto_generichash_final(&st, hash, sizeof(hash));
	r = -EKEYREJECTED;
	if (pinned && sodium_memcmp(pinned, sh->server_id.data, ID_PK_LEN) != 0)
		goto out;
	hs_server_signed(hash, msg);
	if (crypto_sign_verify_detached(sh->sig.data, msg, sizeof(msg),
	                                sh->server_id.data) != 0)
		goto out;
	memcpy(hs->server_id, sh->server_id.data, ID_PK_LEN);
	memcpy(hs->peer_eph_pk, sh->eph_pk.data, X_LEN);
	memcpy(hs->hash, hash, HS_HASH_LEN);
	r = hs_derive(hs);
out:
	supermesh__server_hello__free_unpacked(sh, NULL);
	sodium_memzero(&st, sizeof(st));
	return r;
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	while (bytes-- > 0) {
		p[bytes] = (uint8_t)v;
		v >>= 8;
	}
}

int hs_auth_signed_bytes(const uint8_t hash[HS_HASH_LEN], const uint8_t peer_id[ID_PK_LEN],
                         uint32_t role, const char *region, uint64_t timestamp_ms,
                         uint8_t *out, size_t size)
{
	size_t rlen = region ? strnlen(region, 65536) : 0;
	size_t n = AUTH_LABEL_LEN + HS_HASH_LEN + ID_PK_LEN + 4 + 2 + rlen + 8;
	uint8_t *p = out;

	if (rlen > UINT16_MAX || n > size)
		return -EMSGSIZE;
	memcpy(p, HS_AUTH_LABEL, AUTH_LABEL_LEN);
	p += AUTH_LABEL_LEN;
	memcpy(p, hash, HS_HASH_LEN);
	p += HS_HASH_LEN;
	memcpy(p, peer_id, ID_PK_LEN);
	p += ID_PK_LEN;
	put_be(p, role, 4);
	p += 4;
	put_be(p, rlen, 2);
	p += 2;
	if (rlen > 0)
		memcpy(p, region, rlen);
	p += rlen;
	put_be(p, timestamp_ms, 8);
	return (int)n;
}

/* ROLE_UNSPECIFIED is proto3's "not set", so it is refused like any
 * unknown value. */
static int role_known(uint32_t role)
{
	return role == SUPERMESH__ROLE__ROLE_CLIENT || role == SUPERMESH__ROLE__ROLE_EXIT ||
	       role == SUPERMESH__ROLE__ROLE_SUPERNODE;
}

/* Regions are short printable ASCII names (they end up in logs and JSON). */
static int region_ok(const char *region)
{
	size_t i, len;

	if (!region)
		return 1;
	len = strnlen(region, REGION_MAX + 1);
	if (len > REGION_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (region[i] < 0x20 || region[i] > 0x7e)
			return 0;
	return 1;
}

int hs_auth_request(const struct hs_state *hs, const struct identity *id, uint32_t role,
                    const char *region, uint64_t now_ms, const uint8_t wg_pubkey[32],
                    uint8_t *out, size_t size)
{
	Supermesh__AuthRequest req;
	uint8_t msg[AUTH_SIGNED_MAX], sig[SIG_LEN], peer_id[ID_PK_LEN], wg[32];
	char reg[REGION_MAX + 1];
	size_t n;
	int m;

	if (!role_known(role) || !region_ok(region))
		return -EINVAL;
	/* The function, not the INIT macro: the macro casts away const. */
	supermesh__auth_request__init(&req);
	snprintf(reg, sizeof(reg), "%s", region ? region : "");
	memcpy(peer_id, id->pk, ID_PK_LEN);
	m = hs_auth_signed_bytes(hs->hash, peer_id, role, reg, now_ms, msg, sizeof(msg));
	if (m < 0)
		return m;
	crypto_sign_detached(sig, NULL, msg, (size_t)m, id->sk);
	req.peer_id = bin(peer_id, ID_PK_LEN);
	req.role = (Supermesh__Role)role;
	req.region = reg;
	req.timestamp_ms = now_ms;
	if (wg_pubkey) {
		memcpy(wg, wg_pubkey, sizeof(wg));
		req.wg_pubkey = bin(wg, sizeof(wg));
	}
	req.sig = bin(sig, SIG_LEN);
	n = supermesh__auth_request__get_packed_size(&req);
	if (n > size)
		return -EMSGSIZE;
	supermesh__auth_request__pack(&req, out);
	return (int)n;
}

static int hs_auth_shape_ok(const Supermesh__AuthRequest *req)
{
	return req->peer_id.len == ID_PK_LEN && req->sig.len == SIG_LEN &&
	       (req->wg_pubkey.len == 0 || req->wg_pubkey.len == 32) &&
	       role_known((uint32_t)req->role) && region_ok(req->region);
}

int hs_auth_verify(const struct hs_state *hs, const uint8_t *data, size_t len,
                   uint64_t now_ms, struct hs_auth *out)
{
	Supermesh__AuthRequest *req;
	uint8_t msg[AUTH_SIGNED_MAX];
	uint64_t ts, skew;
	int m, r = -EPROTO;

	req = supermesh__auth_request__unpack(NULL, len, data);
	if (!req)
		return -EPROTO;
	if (!hs_auth_shape_ok(req))
		goto out;
	ts = req->timestamp_ms;
	m = hs_auth_signed_bytes(hs->hash, req->peer_id.data, (uint32_t)req->role,
	                         req->region, ts, msg, sizeof(msg));
	if (m < 0)
		goto out;
	r = -EKEYREJECTED;
	if (crypto_sign_verify_detached(req->sig.data, msg, (size_t)m, req->peer_id.data) != 0)
		goto out;
	skew = ts > now_ms ? ts - now_ms : now_ms - ts;
	r = -ETIME;
	if (skew > HS_TIME_SKEW_MS)
		goto out;
	memset(out, 0, sizeof(*out));
	memcpy(out->peer_id, req->peer_id.data, ID_PK_LEN);
	out->role = (uint32_t)req->role;
	snprintf(out->region, sizeof(out->region), "%s", req->region ? req->region : "");
	out->timestamp_ms = ts;
	if (req->wg_pubkey.len == 32) {
		memcpy(out->wg_pubkey, req->wg_pubkey.data, 32);
		out->has_wg_pubkey = 1;
	}
	r = 0;
out:
	supermesh__auth_request__free_unpacked(req, NULL);
	return r;
}
