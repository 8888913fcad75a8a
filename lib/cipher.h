/* Encrypted frame payloads after the handshake: ChaCha20-Poly1305 (IETF) with
 * an implicit 64-bit per-direction counter as nonce, never sent. Pure. */
#ifndef SM_CIPHER_H
#define SM_CIPHER_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#define CIPHER_TAG crypto_aead_chacha20poly1305_ietf_ABYTES

struct cipher_dir {
	uint8_t key[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
	uint64_t counter;
};

void cipher_init(struct cipher_dir *c, const uint8_t key[crypto_aead_chacha20poly1305_ietf_KEYBYTES]);
void cipher_release(struct cipher_dir *c);

/* Seals plain into out (len + CIPHER_TAG bytes) with the next counter.
 * Returns the sealed length or -EMSGSIZE / -EOVERFLOW (counter exhausted). */
int cipher_seal(struct cipher_dir *c, const uint8_t *plain, size_t len,
                uint8_t *out, size_t size);

/* Opens sealed into out (len - CIPHER_TAG bytes) with the next expected
 * counter. Any forged, replayed, reordered or dropped frame fails here with
 * -EBADMSG, and the caller must close the connection. */
int cipher_open(struct cipher_dir *c, const uint8_t *sealed, size_t len,
                uint8_t *out, size_t size);

#endif
