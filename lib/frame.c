/* Length-prefixed frame decoder and header writer (DESIGN section 2). Pure:
 * a claimed length is checked before anything is allocated for it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"

void frame_decoder_init(struct frame_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void frame_decoder_release(struct frame_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->hdr_len = 0;
	d->need = 0;
	d->have = 0;
}

int frame_header(uint8_t out[FRAME_HDR], size_t len)
{
	if (len == 0 || len > FRAME_MAX)
		return -EMSGSIZE;
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	return 0;
}

/* Parses a header; 0 and oversized lengths are refused before any use. */
static int frame_length(const uint8_t *hdr, size_t *len)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	             (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3];

	if (n == 0 || n > FRAME_MAX)
		return -EPROTO;
	*len = n;
	return 0;
}

static int frame_fail(struct frame_decoder *d, int err)
{
	frame_decoder_release(d);
	d->failed = err;
	return err;
}

/* Starts gathering a frame of n bytes that does not fit in this chunk. */
static int frame_start(struct frame_decoder *d, size_t n)
{
	d->buf = malloc(n);
	if (!d->buf)
		return frame_fail(d, -ENOMEM);
	d->need = n;
	d->have = 0;
	d->hdr_len = 0;
	return 0;
}

/* Hands out the gathered frame. The buffer is detached first so that a
 * callback that releases the decoder cannot cause a double free. */
static int frame_deliver(struct frame_decoder *d, frame_cb cb, void *arg)
{
	uint8_t *buf = d->buf;
	size_t n = d->need;
	int r;

	d->buf = NULL;
	d->need = 0;
	d->have = 0;
	r = cb(arg, buf, n);
	free(buf);
	return r;
}

/* Consumes header bytes or payload bytes of a frame spanning chunks. */
static int frame_gather(struct frame_decoder *d, const uint8_t **p, size_t *left,
                        frame_cb cb, void *arg)
{
	size_t take, n;
	int r;

	if (!d->buf) {
		take = FRAME_HDR - d->hdr_len;
		if (take > *left)
			take = *left;
		memcpy(d->hdr + d->hdr_len, *p, take);
		d->hdr_len += take;
		*p += take;
		*left -= take;
		if (d->hdr_len < FRAME_HDR)
			return 0;
		if ((r = frame_length(d->hdr, &n)) < 0)
			return frame_fail(d, r);
		return frame_start(d, n);
	}
	take = d->need - d->have;
	if (take > *left)
		take = *left;
	memcpy(d->buf + d->have, *p, take);
	d->have += take;
	*p += take;
	*left -= take;
	if (d->have < d->need)
		return 0;
	return frame_deliver(d, cb, arg);
}

int frame_decoder_feed(struct frame_decoder *d, const uint8_t *data, size_t len,
                       frame_cb cb, void *arg)
{
	const uint8_t *p = data;
	size_t left = len, n;
	int r;

	if (d->failed)
		return d->failed;
	while (left > 0) {
		if (d->buf || d->hdr_len > 0) {
			if ((r = frame_gather(d, &p, &left, cb, arg)) != 0)
				return r;
			continue;
		}
		if (left < FRAME_HDR) {
			memcpy(d->hdr, p, left);
			d->hdr_len = left;
			return 0;
		}
		if ((r = frame_length(p, &n)) < 0)
			return frame_fail(d, r);
		if (left - FRAME_HDR < n) {
			if ((r = frame_start(d, n)) < 0)
				return r;
			p += FRAME_HDR;
			left -= FRAME_HDR;
			continue;
		}
		/* Whole frame in this chunk: no copy. */
		r = cb(arg, p + FRAME_HDR, n);
		p += FRAME_HDR + n;
		left -= FRAME_HDR + n;
		if (r != 0)
			return r;
	}
	return 0;
}
