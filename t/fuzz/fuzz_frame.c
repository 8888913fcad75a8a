/* Fuzzes the frame decoder: the input (after its first byte) is decoded in
 * one feed and again split where the first byte says; both must agree. */
#include <stdint.h>
#include <stdlib.h>
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct digest {
	size_t frames;
	uint64_t h; /* FNV-1a over every frame's length and bytes */
};

static void mix(struct digest *d, uint8_t b)
{
	d->h = (d->h ^ b) * 0x100000001b3ULL;
}

static int digest_cb(void *arg, const uint8_t *payload, size_t len)
{
	struct digest *d = arg;
	size_t i;

	if (len == 0 || len > FRAME_MAX)
		abort();
	d->frames++;
	for (i = 0; i < sizeof(len); i++)
		mix(d, (uint8_t)(len >> (8 * i)));
	for (i = 0; i < len; i++)
		mix(d, payload[i]);
	return 0;
}

/* Feeds data in pieces cut at `cut`; returns the first non-zero result. */
static int decode(const uint8_t *data, size_t size, size_t cut, struct digest *d)
{
	struct frame_decoder dec;
	int r;

	d->frames = 0;
	d->h = 0xcbf29ce484222325ULL;
	frame_decoder_init(&dec);
	r = frame_decoder_feed(&dec, data, cut, digest_cb, d);
	if (r == 0)
		r = frame_decoder_feed(&dec, data + cut, size - cut, digest_cb, d);
	/* After a failure, every later feed fails as well. */
	if (r != 0 && frame_decoder_feed(&dec, data, size, digest_cb, d) == 0)
		abort();
	frame_decoder_release(&dec);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct digest whole, split;
	size_t cut;
	int r1, r2;

	if (size < 1)
		return 0;
	cut = (size - 1) * data[0] / 255;
	data++;
	size--;
	r1 = decode(data, size, size, &whole);
	r2 = decode(data, size, cut, &split);
	if (r1 != r2 || whole.frames != split.frames || whole.h != split.h)
		abort();
	return 0;
}
