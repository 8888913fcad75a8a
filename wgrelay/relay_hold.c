/* The relay's hold queue: a ring of malloc'd datagram copies, allocated only
 * while something is held, so an idle session costs one NULL pointer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "relay_hold.h"

struct held {
	uint64_t at_ns;
	size_t len;
	unsigned char data[];
};

struct relay_hold {
	struct held *ring[RELAY_HOLD_MAX];
	unsigned head, count;
	size_t bytes;
};

static struct held *hold_at(const struct relay_hold *q, unsigned i)
{
	return q->ring[(q->head + i) % RELAY_HOLD_MAX];
}

static void hold_drop_oldest(struct relay_hold *q)
{
	struct held *h = q->ring[q->head];

	q->bytes -= h->len;
	free(h);
	q->ring[q->head] = NULL;
	q->head = (q->head + 1) % RELAY_HOLD_MAX;
	q->count--;
}

int relay_hold_push(struct relay_hold **q, const void *data, size_t len, uint64_t now_ns)
{
	struct relay_hold *r = *q;
	struct held *h;
	int dropped = 0;

	if (len > RELAY_HOLD_BYTES)
		return -EMSGSIZE;
	h = malloc(sizeof(*h) + len);
	if (h == NULL)
		return -ENOMEM;
	if (r == NULL && (r = calloc(1, sizeof(*r))) == NULL) {
		free(h);
		return -ENOMEM;
	}
	*q = r;
	while (r->count > 0 && (r->count == RELAY_HOLD_MAX || r->bytes + len > RELAY_HOLD_BYTES)) {
		hold_drop_oldest(r);
		dropped++;
	}
	h->at_ns = now_ns;
	h->len = len;
	memcpy(h->data, data, len);
	r->ring[(r->head + r->count) % RELAY_HOLD_MAX] = h;
	r->count++;
	r->bytes += len;
	return dropped;
}

unsigned relay_hold_expire(struct relay_hold **q, uint64_t now_ns)
{
	struct relay_hold *r = *q;
	unsigned n = 0;

	if (r == NULL)
		return 0;
	/* Oldest first: the first young one ends the sweep. */
	while (r->count > 0 && now_ns - hold_at(r, 0)->at_ns >= RELAY_HOLD_NS) {
		hold_drop_oldest(r);
		n++;
	}
	if (r->count == 0)
		relay_hold_free(q);
	return n;
}

unsigned relay_hold_count(const struct relay_hold *q)
{
	return q == NULL ? 0 : q->count;
}

void *relay_hold_get(struct relay_hold *q, unsigned i, size_t *len)
{
	struct held *h = hold_at(q, i);

	*len = h->len;
	return h->data;
}

uint64_t relay_hold_oldest(const struct relay_hold *q)
{
	return hold_at(q, 0)->at_ns;
}

void relay_hold_free(struct relay_hold **q)
{
	struct relay_hold *r = *q;

	if (r == NULL)
		return;
	while (r->count > 0)
		hold_drop_oldest(r);
	free(r);
	*q = NULL;
}
