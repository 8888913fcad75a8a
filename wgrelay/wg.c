/* The plain WireGuard device structs of wg.h: allocation, keys, endpoints.
 * Shared by both backends and the verbs. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netaddr.h"
#include "wg.h"

void wg_device_free(struct wg_device *dev)
{
	size_t i;

	if (!dev)
		return;
	for (i = 0; i < dev->n_peers; i++)
		free(dev->peers[i].allowedips);
	free(dev->peers);
	sodium_memzero(dev->private_key, sizeof(dev->private_key));
	free(dev);
}

struct wg_peer *wg_device_add_peer(struct wg_device *dev)
{
	struct wg_peer *p;

	p = realloc(dev->peers, (dev->n_peers + 1) * sizeof(*p));
	if (!p)
		return NULL;
	dev->peers = p;
	p = &dev->peers[dev->n_peers++];
	memset(p, 0, sizeof(*p));
	return p;
}

int wg_peer_add_allowedip(struct wg_peer *peer, const struct wg_allowedip *a)
{
	struct wg_allowedip *n;

	n = realloc(peer->allowedips, (peer->n_allowedips + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	peer->allowedips = n;
	n[peer->n_allowedips++] = *a;
	return 0;
}

void wg_key_public(const uint8_t private_key[WG_KEY_LEN], uint8_t public_key[WG_KEY_LEN])
{
	/* Only fails for a low-order result, impossible for a clamped scalar. */
	if (crypto_scalarmult_curve25519_base(public_key, private_key) != 0)
		memset(public_key, 0, WG_KEY_LEN);
}

void wg_key_generate(uint8_t private_key[WG_KEY_LEN], uint8_t public_key[WG_KEY_LEN])
{
	randombytes_buf(private_key, WG_KEY_LEN);
	/* Curve25519 clamping, as `wg genkey` stores it. */
	private_key[0] &= 248;
	private_key[31] = (private_key[31] & 127) | 64;
	wg_key_public(private_key, public_key);
}

void wg_endpoint_format(const union wg_endpoint *e, char *buf, size_t size)
{
	if (netaddr_text(&e->addr, buf, size) < 0)
		snprintf(buf, size, "-");
}
