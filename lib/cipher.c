/* Per-direction ChaCha20-Poly1305 (IETF) frame sealing with an implicit
 * counter nonce (DESIGN section 2, step 4). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "cipher.h"

/*
 * The 12-byte IETF nonce is 4 zero bytes followed by the 64-bit counter in
 * little-endian order (the WireGuard layout). Both sides count frames
 * independently, so the nonce is never sent; a replayed, reordered or
 * dropped frame is opened with the wrong nonce and fails authentication.
 */
static void cipher_nonce(uint64_t counter,
                         uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES])
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

void cipher_init(struct cipher_dir *c, const uint8_t key[crypto_aead_chacha20poly1305_ietf_KEYBYTES])
{
	memcpy(c->key, key, sizeof(c->key));
	c->counter = 0;
}

void cipher_release(struct cipher_dir *c)
{
	sodium_memzero(c, sizeof(*c));
}

int cipher_seal(struct cipher_dir *c, const uint8_t *plain, size_t len,
                uint8_t *out, size_t size)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	unsigned long long clen;

	if (len > (size_t)INT_MAX - CIPHER_TAG || size < len + CIPHER_TAG)
		return -EMSGSIZE;
	/* The last counter value is never used, so a nonce never repeats. */
	if (c->counter == UINT64_MAX)
		return -EOVERFLOW;
	cipher_nonce(c->counter, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, plain, len, NULL, 0,
	                                          NULL, nonce, c->key);
	c->counter++;
	return (int)clen;
}

int cipher_open(struct cipher_dir *c, const uint8_t *sealed, size_t len,
                uint8_t *out, size_t size)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	unsigned long long plen;

	if (len < CIPHER_TAG)
		return -EBADMSG;
	if (len > (size_t)INT_MAX || size < len - CIPHER_TAG)
		return -EMSGSIZE;
	if (c->counter == UINT64_MAX)
		return -EOVERFLOW;
	cipher_nonce(c->counter, nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, NULL, sealed, len,
	                                              NULL, 0, nonce, c->key) != 0)
		return -EBADMSG;
	/* Only a frame that opened advances the counter: the caller closes
	 * the connection on failure anyway, and this keeps state consistent. */
	c->counter++;
	return (int)plen;
}
