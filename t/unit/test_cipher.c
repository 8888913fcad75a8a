/* Cipher: round trip, documented nonce layout, and every forged, replayed,
 * reordered, dropped or reflected frame fails to open. */
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cipher.h"

static uint8_t key_a[32], key_b[32];

static void pair(struct cipher_dir *tx, struct cipher_dir *rx)
{
	cipher_init(tx, key_a);
	cipher_init(rx, key_a);
}

START_TEST(round_trip)
{
	struct cipher_dir tx, rx;
	uint8_t msg[100], sealed[100 + CIPHER_TAG], out[100];
	size_t len;

	pair(&tx, &rx);
	for (len = 0; len <= sizeof(msg); len += 7) {
		randombytes_buf(msg, len);
		ck_assert_int_eq(cipher_seal(&tx, msg, len, sealed, sizeof(sealed)),
		                 (int)(len + CIPHER_TAG));
		ck_assert_int_eq(cipher_open(&rx, sealed, len + CIPHER_TAG, out, sizeof(out)),
		                 (int)len);
		ck_assert_mem_eq(out, msg, len);
	}
	ck_assert_uint_eq(tx.counter, rx.counter);
	ck_assert_uint_eq(tx.counter, 15);
	cipher_release(&tx);
	cipher_release(&rx);
	ck_assert_uint_eq(tx.counter, 0);
	ck_assert_int_eq(sodium_is_zero(tx.key, sizeof(tx.key)), 1);
}
END_TEST

/* Nonce = 4 zero bytes || counter little-endian, as documented in cipher.c. */
START_TEST(nonce_layout)
{
	struct cipher_dir tx;
	uint8_t nonce[12] = { 0, 0, 0, 0, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01 };
	uint8_t a[5 + CIPHER_TAG], b[5 + CIPHER_TAG];
	unsigned long long blen;

	cipher_init(&tx, key_a);
	tx.counter = 0x0102030405060708ULL;
	ck_assert_int_eq(cipher_seal(&tx, (const uint8_t *)"hello", 5, a, sizeof(a)),
	                 5 + CIPHER_TAG);
	crypto_aead_chacha20poly1305_ietf_encrypt(b, &blen, (const uint8_t *)"hello", 5,
	                                          NULL, 0, NULL, nonce, key_a);
	ck_assert_mem_eq(a, b, sizeof(a));
	cipher_release(&tx);
}
END_TEST

START_TEST(every_bit_flip_fails)
{
	struct cipher_dir tx, rx;
	uint8_t msg[40], sealed[40 + CIPHER_TAG], out[40];
	size_t bit;

	pair(&tx, &rx);
	randombytes_buf(msg, sizeof(msg));
	ck_assert_int_eq(cipher_seal(&tx, msg, sizeof(msg), sealed, sizeof(sealed)),
	                 (int)sizeof(sealed));
	for (bit = 0; bit < 8 * sizeof(sealed); bit++) {
		sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_eq(cipher_open(&rx, sealed, sizeof(sealed), out, sizeof(out)),
		                 -EBADMSG);
		sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_uint_eq(rx.counter, 0);
	}
	/* Truncated frames fail too. */
	ck_assert_int_eq(cipher_open(&rx, sealed, sizeof(sealed) - 1, out, sizeof(out)),
	                 -EBADMSG);
	ck_assert_int_eq(cipher_open(&rx, sealed, CIPHER_TAG - 1, out, sizeof(out)),
	                 -EBADMSG);
	ck_assert_int_eq(cipher_open(&rx, sealed, sizeof(sealed), out, sizeof(out)),
	                 (int)sizeof(msg));
	ck_assert_mem_eq(out, msg, sizeof(msg));
}
END_TEST

START_TEST(replay_fails)
{
	struct cipher_dir tx, rx;
	uint8_t s1[3 + CIPHER_TAG], out[3];

	pair(&tx, &rx);
	cipher_seal(&tx, (const uint8_t *)"one", 3, s1, sizeof(s1));
	ck_assert_int_eq(cipher_open(&rx, s1, sizeof(s1), out, sizeof(out)), 3);
	ck_assert_int_eq(cipher_open(&rx, s1, sizeof(s1), out, sizeof(out)), -EBADMSG);
}
END_TEST

START_TEST(reorder_fails)
{
	struct cipher_dir tx, rx;
	uint8_t s1[3 + CIPHER_TAG], s2[3 + CIPHER_TAG], out[3];

	pair(&tx, &rx);
	cipher_seal(&tx, (const uint8_t *)"one", 3, s1, sizeof(s1));
	cipher_seal(&tx, (const uint8_t *)"two", 3, s2, sizeof(s2));
	ck_assert_int_eq(cipher_open(&rx, s2, sizeof(s2), out, sizeof(out)), -EBADMSG);
	/* In order they open. */
	ck_assert_int_eq(cipher_open(&rx, s1, sizeof(s1), out, sizeof(out)), 3);
	ck_assert_int_eq(cipher_open(&rx, s2, sizeof(s2), out, sizeof(out)), 3);
	ck_assert_mem_eq(out, "two", 3);
}
END_TEST

START_TEST(drop_detected)
{
	struct cipher_dir tx, rx;
	uint8_t s1[3 + CIPHER_TAG], s2[3 + CIPHER_TAG], s3[3 + CIPHER_TAG], out[3];

	pair(&tx, &rx);
	cipher_seal(&tx, (const uint8_t *)"one", 3, s1, sizeof(s1));
	cipher_seal(&tx, (const uint8_t *)"two", 3, s2, sizeof(s2));
	cipher_seal(&tx, (const uint8_t *)"thr", 3, s3, sizeof(s3));
	ck_assert_int_eq(cipher_open(&rx, s1, sizeof(s1), out, sizeof(out)), 3);
	ck_assert_int_eq(cipher_open(&rx, s3, sizeof(s3), out, sizeof(out)), -EBADMSG);
}
END_TEST

/* A frame reflected back to its sender (other direction's key) fails. */
START_TEST(directions_differ)
{
	struct cipher_dir a_tx, a_rx;
	uint8_t s[3 + CIPHER_TAG], out[3];

	cipher_init(&a_tx, key_a);
	cipher_init(&a_rx, key_b);
	cipher_seal(&a_tx, (const uint8_t *)"one", 3, s, sizeof(s));
	ck_assert_int_eq(cipher_open(&a_rx, s, sizeof(s), out, sizeof(out)), -EBADMSG);
}
END_TEST

START_TEST(sizes_and_exhaustion)
{
	struct cipher_dir tx, rx;
	uint8_t s[3 + CIPHER_TAG], out[3];

	pair(&tx, &rx);
	ck_assert_int_eq(cipher_seal(&tx, (const uint8_t *)"one", 3, s, sizeof(s) - 1),
	                 -EMSGSIZE);
	ck_assert_uint_eq(tx.counter, 0);
	tx.counter = rx.counter = UINT64_MAX - 1;
	ck_assert_int_eq(cipher_seal(&tx, (const uint8_t *)"one", 3, s, sizeof(s)),
	                 (int)sizeof(s));
	ck_assert_int_eq(cipher_open(&rx, s, sizeof(s), out, sizeof(out) - 1), -EMSGSIZE);
	ck_assert_int_eq(cipher_open(&rx, s, sizeof(s), out, sizeof(out)), 3);
	ck_assert_uint_eq(tx.counter, UINT64_MAX);
	ck_assert_int_eq(cipher_seal(&tx, (const uint8_t *)"one", 3, s, sizeof(s)),
	                 -EOVERFLOW);
	ck_assert_int_eq(cipher_open(&rx, s, sizeof(s), out, sizeof(out)), -EOVERFLOW);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cipher");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(key_a, sizeof(key_a));
	memcpy(key_b, key_a, sizeof(key_b));
	key_b[0] ^= 1;
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, nonce_layout);
	tcase_add_test(tc, every_bit_flip_fails);
	tcase_add_test(tc, replay_fails);
	tcase_add_test(tc, reorder_fails);
	tcase_add_test(tc, drop_detected);
	tcase_add_test(tc, directions_differ);
	tcase_add_test(tc, sizes_and_exhaustion);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
