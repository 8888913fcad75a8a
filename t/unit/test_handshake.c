/* Handshake: both sides agree on H and keys, a tampered or foreign ServerHello
 * is refused, AuthRequests are bound to H, fresh in time and well formed. */
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cipher.h"
#include "handshake.h"
#include "handshake.pb-c.h"

static struct identity server_id, client_id, other_id;
static const uint64_t now = 1790000000000ULL;

struct pair {
	struct hs_state c, s;
	uint8_t ch[128], sh[256];
	int ch_len, sh_len;
};

/* Runs both hellos; the client has not finished yet. */
static void hellos(struct pair *p)
{
	p->ch_len = hs_client_hello(&p->c, p->ch, sizeof(p->ch));
	ck_assert_int_gt(p->ch_len, 0);
	p->sh_len = hs_server_reply(&p->s, &server_id, p->ch, (size_t)p->ch_len,
	                            p->sh, sizeof(p->sh));
	ck_assert_int_gt(p->sh_len, 0);
}

static void handshake(struct pair *p)
{
	hellos(p);
	ck_assert_int_eq(hs_client_finish(&p->c, server_id.pk, p->sh, (size_t)p->sh_len), 0);
}

static void release(struct pair *p)
{
	hs_release(&p->c);
	hs_release(&p->s);
}

START_TEST(full_exchange)
{
	struct pair p;
	uint8_t h[HS_HASH_LEN], msg[64];
	crypto_generichash_state st;
	struct cipher_dir ctx, srx;
	uint8_t sealed[2 + CIPHER_TAG], out[2];
	size_t pre;

	handshake(&p);
	ck_assert_int_eq(p.ch_len, 70);
	ck_assert_int_eq(p.sh_len, 170);
	ck_assert_mem_eq(p.c.hash, p.s.hash, HS_HASH_LEN);
	ck_assert_mem_eq(p.c.keys.tx, p.s.keys.rx, HS_KEY_LEN);
	ck_assert_mem_eq(p.c.keys.rx, p.s.keys.tx, HS_KEY_LEN);
	ck_assert_int_ne(memcmp(p.c.keys.tx, p.c.keys.rx, HS_KEY_LEN), 0);
	ck_assert_mem_eq(p.c.server_id, server_id.pk, ID_PK_LEN);
	ck_assert_int_eq(sodium_is_zero(p.c.eph_sk, sizeof(p.c.eph_sk)), 1);
	ck_assert_int_eq(sodium_is_zero(p.s.eph_sk, sizeof(p.s.eph_sk)), 1);

	/* H = BLAKE2b-256(ClientHello || ServerHello up to the sig field), and
	 * the sig field (tag 15, length 64) is last and signs label || H. */
	pre = (size_t)p.sh_len - 2 - 64;
	ck_assert_int_eq(p.sh[pre], (15 << 3) | 2);
	ck_assert_int_eq(p.sh[pre + 1], 64);
	crypto_generichash_init(&st, NULL, 0, HS_HASH_LEN);
	crypto_generichash_update(&st, p.ch, (size_t)p.ch_len);
	crypto_generichash_update(&st, p.sh, pre);
	crypto_generichash_final(&st, h, sizeof(h));
	ck_assert_mem_eq(h, p.c.hash, HS_HASH_LEN);
	memcpy(msg, HS_SERVER_LABEL, 18);
	memcpy(msg + 18, h, HS_HASH_LEN);
	ck_assert_int_eq(crypto_sign_verify_detached(p.sh + pre + 2, msg, 50, server_id.pk), 0);

	/* The keys work as a channel. */
	cipher_init(&ctx, p.c.keys.tx);
	cipher_init(&srx, p.s.keys.rx);
	ck_assert_int_eq(cipher_seal(&ctx, (const uint8_t *)"hi", 2, sealed, sizeof(sealed)),
	                 (int)sizeof(sealed));
	ck_assert_int_eq(cipher_open(&srx, sealed, sizeof(sealed), out, sizeof(out)), 2);
	release(&p);
	ck_assert_int_eq(sodium_is_zero((const uint8_t *)&p.c, sizeof(p.c)), 1);
	ck_assert_int_eq(sodium_is_zero((const uint8_t *)&p.s, sizeof(p.s)), 1);
}
END_TEST

START_TEST(fresh_keys_each_time)
{
	struct pair a, b;

	handshake(&a);
	handshake(&b);
	ck_assert_int_ne(memcmp(a.c.hash, b.c.hash, HS_HASH_LEN), 0);
	ck_assert_int_ne(memcmp(a.c.keys.tx, b.c.keys.tx, HS_KEY_LEN), 0);
	release(&a);
	release(&b);
}
END_TEST

START_TEST(pinning)
{
	struct pair p;

	hellos(&p);
	ck_assert_int_eq(hs_client_finish(&p.c, other_id.pk, p.sh, (size_t)p.sh_len),
	                 -EKEYREJECTED);
	/* No pin: accepted, key recorded. */
	ck_assert_int_eq(hs_client_finish(&p.c, NULL, p.sh, (size_t)p.sh_len), 0);
	ck_assert_mem_eq(p.c.server_id, server_id.pk, ID_PK_LEN);
	ck_assert_mem_eq(p.c.keys.tx, p.s.keys.rx, HS_KEY_LEN);
	release(&p);
}
END_TEST

START_TEST(every_bit_flip_refused)
{
	struct pair p;
	size_t bit;
	int r, pinned;

	hellos(&p);
	for (pinned = 0; pinned < 2; pinned++) {
		for (bit = 0; bit < 8 * (size_t)p.sh_len; bit++) {
			p.sh[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			r = hs_client_finish(&p.c, pinned ? server_id.pk : NULL, p.sh,
			                     (size_t)p.sh_len);
			p.sh[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			ck_assert_msg(r == -EPROTO || r == -EKEYREJECTED,
			              "bit %zu pinned %d: %d", bit, pinned, r);
		}
	}
	ck_assert_int_eq(hs_client_finish(&p.c, server_id.pk, p.sh, (size_t)p.sh_len), 0);
	release(&p);
}
END_TEST

START_TEST(truncated_or_extended_refused)
{
	struct pair p;
	uint8_t longer[300];
	size_t n;

	hellos(&p);
	for (n = 0; n < (size_t)p.sh_len; n++)
		ck_assert_int_lt(hs_client_finish(&p.c, NULL, p.sh, n), 0);
	/* A repeated field decodes (last wins) but is not canonical. */
	memcpy(longer, p.sh, (size_t)p.sh_len);
	longer[p.sh_len] = 0x08;
	longer[p.sh_len + 1] = 0x01;
	ck_assert_int_eq(hs_client_finish(&p.c, NULL, longer, (size_t)p.sh_len + 2), -EPROTO);
	/* An unknown field appended. */
	longer[p.sh_len] = 0x80 | 0x08;
	longer[p.sh_len + 1] = 0x01;
	longer[p.sh_len + 2] = 0x00;
	ck_assert_int_eq(hs_client_finish(&p.c, NULL, longer, (size_t)p.sh_len + 3), -EPROTO);
	/* Same fields, other order (version after server_id): decodes, same
	 * length, but not the canonical encoding. */
	ck_assert_int_eq(p.sh[0], 0x08);
	ck_assert_int_eq(p.sh[2], 0x12);
	memcpy(longer, p.sh + 2, 34);
	memcpy(longer + 34, p.sh, 2);
	memcpy(longer + 36, p.sh + 36, (size_t)p.sh_len - 36);
	ck_assert_int_eq(hs_client_finish(&p.c, NULL, longer, (size_t)p.sh_len), -EPROTO);
	ck_assert_int_eq(hs_client_finish(&p.c, NULL, p.sh, (size_t)p.sh_len), 0);
	release(&p);
}
END_TEST

/* A ServerHello made for one ClientHello fails for another client (H). */
START_TEST(server_hello_bound_to_client_hello)
{
	struct pair a, b;

	hellos(&a);
	hellos(&b);
	ck_assert_int_eq(hs_client_finish(&b.c, server_id.pk, a.sh, (size_t)a.sh_len),
	                 -EKEYREJECTED);
	release(&a);
	release(&b);
}
END_TEST

static int pack_client_hello(uint32_t version, const uint8_t *pk, size_t pk_len,
                             size_t nonce_len, uint8_t *out)
{
	Supermesh__ClientHello ch = SUPERMESH__CLIENT_HELLO__INIT;
	uint8_t k[64], nonce[64];

	memcpy(k, pk, pk_len);
	randombytes_buf(nonce, sizeof(nonce));
	ch.version = version;
	ch.eph_pk.data = k;
	ch.eph_pk.len = pk_len;
	ch.nonce.data = nonce;
	ch.nonce.len = nonce_len;
	return (int)supermesh__client_hello__pack(&ch, out);
}

START_TEST(bad_client_hello_refused)
{
	struct hs_state s;
	uint8_t pk[64], zero[32] = { 0 }, one[32] = { 1 }, ch[256], sh[256];
	int n;

	randombytes_buf(pk, sizeof(pk));
	crypto_scalarmult_base(pk, pk + 32);
	/* The control: a hand-built good hello is accepted. */
	n = pack_client_hello(HS_VERSION, pk, 32, 32, ch);
	ck_assert_int_gt(hs_server_reply(&s, &server_id, ch, (size_t)n, sh, sizeof(sh)), 0);
	n = pack_client_hello(2, pk, 32, 32, ch);
	ck_assert_int_eq(hs_server_reply(&s, &server_id, ch, (size_t)n, sh, sizeof(sh)), -EPROTO);
	n = pack_client_hello(0, pk, 32, 32, ch);
	ck_assert_int_eq(hs_server_reply(&s, &server_id, ch, (size_t)n, sh, sizeof(sh)), -EPROTO);
	n = pack_client_hello(HS_VERSION, pk, 31, 32, ch);
	ck_assert_int_eq(hs_server_reply(&s, &server_id, ch, (size_t)n, sh, sizeof(sh)), -EPROTO);
	n = pack_client_hello(HS_VERSION, pk, 33, 32, ch);
	ck_assert_int_eq(hs_server_reply(&s, &server_id, ch, (size_t)n, sh, sizeof(sh)), -EPROTO);
	n = pack_client_hello(HS_VERSION, pk, 32, 31, ch);
	ck_assert_int_eq(hs_server_reply(&s, &server_id, ch, (size_t)n, sh, sizeof(sh)), -EPROTO);
	/* Low-order points: all-zero, and u = 1. */
	n = pack_client_hello(HS_VERSION, zero, 32, 32, ch);
	ck_assert_int_eq(hs_server_reply(&s, &server_id, ch, (size_t)n, sh, sizeof(sh)), -EPROTO);
	n = pack_client_hello(HS_VERSION, one, 32, 32, ch);
	ck_assert_int_eq(hs_server_reply(&s, &server_id, ch, (size_t)n, sh, sizeof(sh)), -EPROTO);
	ck_assert_int_eq(sodium_is_zero((const uint8_t *)&s, sizeof(s)), 1);
	ck_assert_int_eq(hs_server_reply(&s, &server_id, (const uint8_t *)"\xff\xff", 2,
	                                 sh, sizeof(sh)), -EPROTO);
	ck_assert_int_eq(hs_server_reply(&s, &server_id, ch, 0, sh, sizeof(sh)), -EPROTO);
	/* Output too small. */
	n = pack_client_hello(HS_VERSION, pk, 32, 32, ch);
	ck_assert_int_eq(hs_server_reply(&s, &server_id, ch, (size_t)n, sh, 169), -EMSGSIZE);
	hs_release(&s);
}
END_TEST

START_TEST(auth_verifies)
{
	struct pair p;
	struct hs_auth a;
	uint8_t req[512], wg[32];
	int n;

	handshake(&p);
	randombytes_buf(wg, sizeof(wg));
	n = hs_auth_request(&p.c, &client_id, SUPERMESH__ROLE__ROLE_EXIT, "eu-west 1", now,
	                    wg, req, sizeof(req));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), 0);
	ck_assert_mem_eq(a.peer_id, client_id.pk, ID_PK_LEN);
	ck_assert_uint_eq(a.role, SUPERMESH__ROLE__ROLE_EXIT);
	ck_assert_str_eq(a.region, "eu-west 1");
	ck_assert_uint_eq(a.timestamp_ms, now);
	ck_assert_int_eq(a.has_wg_pubkey, 1);
	ck_assert_mem_eq(a.wg_pubkey, wg, 32);

	n = hs_auth_request(&p.c, &client_id, SUPERMESH__ROLE__ROLE_CLIENT, NULL, now,
	                    NULL, req, sizeof(req));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), 0);
	ck_assert_int_eq(a.has_wg_pubkey, 0);
	ck_assert_str_eq(a.region, "");
	ck_assert_int_eq(hs_auth_request(&p.c, &client_id, SUPERMESH__ROLE__ROLE_CLIENT, NULL,
	                                 now, NULL, req, 10), -EMSGSIZE);
	release(&p);
}
END_TEST

/* A recorded AuthRequest replayed onto another connection fails (H differs). */
START_TEST(auth_replay_other_connection)
{
	struct pair a, b;
	struct hs_auth au;
	uint8_t req[512];
	int n;

	handshake(&a);
	handshake(&b);
	n = hs_auth_request(&a.c, &client_id, SUPERMESH__ROLE__ROLE_CLIENT, "x", now, NULL,
	                    req, sizeof(req));
	ck_assert_int_eq(hs_auth_verify(&a.s, req, (size_t)n, now, &au), 0);
	ck_assert_int_eq(hs_auth_verify(&b.s, req, (size_t)n, now, &au), -EKEYREJECTED);
	release(&a);
	release(&b);
}
END_TEST

static int auth_at(struct pair *p, int64_t offset)
{
	struct hs_auth a;
	uint8_t req[512];
	int n;

	n = hs_auth_request(&p->c, &client_id, SUPERMESH__ROLE__ROLE_SUPERNODE, "r",
	                    (uint64_t)((int64_t)now + offset), NULL, req, sizeof(req));
	ck_assert_int_gt(n, 0);
	return hs_auth_verify(&p->s, req, (size_t)n, now, &a);
}

START_TEST(auth_timestamps)
{
	struct pair p;

	handshake(&p);
	ck_assert_int_eq(auth_at(&p, -120000), -ETIME);
	ck_assert_int_eq(auth_at(&p, 120000), -ETIME);
	ck_assert_int_eq(auth_at(&p, -60001), -ETIME);
	ck_assert_int_eq(auth_at(&p, 60001), -ETIME);
	ck_assert_int_eq(auth_at(&p, -59000), 0);
	ck_assert_int_eq(auth_at(&p, 59000), 0);
	ck_assert_int_eq(auth_at(&p, -60000), 0);
	ck_assert_int_eq(auth_at(&p, 60000), 0);
	release(&p);
}
END_TEST

/* A correctly signed AuthRequest with the given fields, bypassing the
 * client-side checks of hs_auth_request. */
static int forge(const struct pair *p, size_t peer_len, uint32_t role, const char *region,
                 size_t wg_len, size_t sig_len, uint8_t *out)
{
	Supermesh__AuthRequest req;
	uint8_t msg[512], sig[80] = { 0 }, peer[40] = { 0 }, wg[40] = { 0 };
	char reg[128];
	int m;

	supermesh__auth_request__init(&req);
	memcpy(peer, client_id.pk, ID_PK_LEN);
	snprintf(reg, sizeof(reg), "%s", region);
	m = hs_auth_signed_bytes(p->c.hash, peer, role, reg, now, msg, sizeof(msg));
	ck_assert_int_gt(m, 0);
	crypto_sign_detached(sig, NULL, msg, (size_t)m, client_id.sk);
	req.peer_id.data = peer;
	req.peer_id.len = peer_len;
	req.role = (Supermesh__Role)role;
	req.region = reg;
	req.timestamp_ms = now;
	req.wg_pubkey.data = wg;
	req.wg_pubkey.len = wg_len;
	req.sig.data = sig;
	req.sig.len = sig_len;
	return (int)supermesh__auth_request__pack(&req, out);
}

START_TEST(auth_malformed)
{
	struct pair p;
	struct hs_auth a;
	uint8_t req[512], junk[200];
	char long_region[70];
	int n, i;

	handshake(&p);
	/* The control: forge() with good fields verifies. */
	n = forge(&p, 32, 1, "ok", 32, 64, req);
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), 0);
	n = forge(&p, 32, 0, "ok", 0, 64, req);               /* unspecified role */
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), -EPROTO);
	n = forge(&p, 32, 4, "ok", 0, 64, req);               /* unknown role */
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), -EPROTO);
	n = forge(&p, 31, 1, "ok", 0, 64, req);
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), -EPROTO);
	n = forge(&p, 33, 1, "ok", 0, 64, req);
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), -EPROTO);
	n = forge(&p, 32, 1, "ok", 0, 63, req);
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), -EPROTO);
	n = forge(&p, 32, 1, "ok", 31, 64, req);
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), -EPROTO);
	n = forge(&p, 32, 1, "tab\there", 0, 64, req);
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), -EPROTO);
	n = forge(&p, 32, 1, "\xc3\xa9t\xc3\xa9", 0, 64, req);
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), -EPROTO);
	memset(long_region, 'a', 64);
	long_region[64] = '\0';
	n = forge(&p, 32, 1, long_region, 0, 64, req);
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), -EPROTO);
	long_region[63] = '\0';
	n = forge(&p, 32, 1, long_region, 0, 64, req);
	ck_assert_int_eq(hs_auth_verify(&p.s, req, (size_t)n, now, &a), 0);
	ck_assert_uint_eq(strlen(a.region), 63);

	/* Client side refuses the same inputs. */
	ck_assert_int_eq(hs_auth_request(&p.c, &client_id, 0, "ok", now, NULL, req, sizeof(req)),
	                 -EINVAL);
	ck_assert_int_eq(hs_auth_request(&p.c, &client_id, 9, "ok", now, NULL, req, sizeof(req)),
	                 -EINVAL);
	long_region[63] = 'a';
	ck_assert_int_eq(hs_auth_request(&p.c, &client_id, 1, long_region, now, NULL, req,
	                                 sizeof(req)), -EINVAL);

	/* Garbage. */
	ck_assert_int_eq(hs_auth_verify(&p.s, req, 0, now, &a), -EPROTO);
	ck_assert_int_eq(hs_auth_verify(&p.s, (const uint8_t *)"\xff", 1, now, &a), -EPROTO);
	for (i = 0; i < 2000; i++) {
		randombytes_buf(junk, sizeof(junk));
		n = (int)randombytes_uniform(sizeof(junk) + 1);
		ck_assert_int_eq(hs_auth_verify(&p.s, junk, (size_t)n, now, &a), -EPROTO);
	}
	release(&p);
}
END_TEST

START_TEST(auth_signed_bytes_layout)
{
	uint8_t h[HS_HASH_LEN], id[ID_PK_LEN], out[200];
	size_t o = 0;

	memset(h, 0xaa, sizeof(h));
	memset(id, 0xbb, sizeof(id));
	ck_assert_int_eq(hs_auth_signed_bytes(h, id, 0x01020304, "ab", 0x1112131415161718ULL,
	                                      out, sizeof(out)), 16 + 32 + 32 + 4 + 2 + 2 + 8);
	ck_assert_mem_eq(out, "supermesh/1 auth", 16);
	o = 16;
	ck_assert_mem_eq(out + o, h, 32);
	o += 32;
	ck_assert_mem_eq(out + o, id, 32);
	o += 32;
	ck_assert_mem_eq(out + o, "\x01\x02\x03\x04\x00\x02" "ab", 8);
	o += 8;
	ck_assert_mem_eq(out + o, "\x11\x12\x13\x14\x15\x16\x17\x18", 8);
	ck_assert_int_eq(hs_auth_signed_bytes(h, id, 1, "ab", 0, out, 95), -EMSGSIZE);
	ck_assert_int_eq(hs_auth_signed_bytes(h, id, 1, "ab", 0, out, 96), 96);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("handshake");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	identity_generate(&server_id);
	identity_generate(&client_id);
	identity_generate(&other_id);
	tcase_add_test(tc, full_exchange);
	tcase_add_test(tc, fresh_keys_each_time);
	tcase_add_test(tc, pinning);
	tcase_add_test(tc, every_bit_flip_refused);
	tcase_add_test(tc, truncated_or_extended_refused);
	tcase_add_test(tc, server_hello_bound_to_client_hello);
	tcase_add_test(tc, bad_client_hello_refused);
	tcase_add_test(tc, auth_verifies);
	tcase_add_test(tc, auth_replay_other_connection);
	tcase_add_test(tc, auth_timestamps);
	tcase_add_test(tc, auth_malformed);
	tcase_add_test(tc, auth_signed_bytes_layout);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	identity_release(&server_id);
	identity_release(&client_id);
	identity_release(&other_id);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
