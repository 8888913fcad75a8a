/* The exit's live sessions in memory: a small array (bounded by the pool),
 * looked up by session id or by client key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "exitpeerd.h"

struct exit_session *ep_session_find(struct exitpeer *ep, const uint8_t id[SESSION_ID_LEN])
{
	size_t i;

	for (i = 0; i < ep->nsessions; i++)
		if (!memcmp(ep->sessions[i].id, id, SESSION_ID_LEN))
			return &ep->sessions[i];
	return NULL;
}

struct exit_session *ep_session_find_key(struct exitpeer *ep, const uint8_t key[WG_KEY_LEN])
{
	size_t i;

	for (i = 0; i < ep->nsessions; i++)
		if (!memcmp(ep->sessions[i].client_key, key, WG_KEY_LEN))
			return &ep->sessions[i];
	return NULL;
}

int ep_session_add(struct exitpeer *ep, const struct exit_session *s)
{
	struct exit_session *n;
	size_t cap;

	if (ep->nsessions == ep->cap) {
		cap = ep->cap ? ep->cap * 2 : 16;
		if (!(n = realloc(ep->sessions, cap * sizeof(*n))))
			return -ENOMEM;
		ep->sessions = n;
		ep->cap = cap;
	}
	ep->sessions[ep->nsessions++] = *s;
	return 0;
}

void ep_session_remove(struct exitpeer *ep, const uint8_t id[SESSION_ID_LEN])
{
	struct exit_session *s = ep_session_find(ep, id);

	if (!s)
		return;
	/* Order does not matter: move the last one into the hole. */
	*s = ep->sessions[--ep->nsessions];
}

void ep_session_cidr(const struct exit_session *s, char *out, size_t size)
{
	char a[POOL_ADDR_LEN];

	exit_pool_addr_str(s->addr, a);
	snprintf(out, size, "%s/32", a);
}
