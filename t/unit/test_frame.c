/* Frame decoder: identical output for every chunking, refused lengths never
 * allocate, a failed decoder stays failed, callbacks can stop a feed. */
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"

static const size_t sizes[] = { 1, 2, 1000, FRAME_MAX, 1 };
#define NFRAMES (sizeof(sizes) / sizeof(sizes[0]))

static uint8_t *stream;
static size_t stream_len;
static size_t offsets[NFRAMES]; /* where each payload starts in stream */

static uint8_t pattern(size_t frame, size_t i)
{
	return (uint8_t)(frame * 31 + i * 7 + (i >> 8));
}

static void make_stream(void)
{
	size_t k, i, off = 0;

	stream_len = 0;
	for (k = 0; k < NFRAMES; k++)
		stream_len += FRAME_HDR + sizes[k];
	stream = malloc(stream_len);
	ck_assert_ptr_nonnull(stream);
	for (k = 0; k < NFRAMES; k++) {
		ck_assert_int_eq(frame_header(stream + off, sizes[k]), 0);
		off += FRAME_HDR;
		offsets[k] = off;
		for (i = 0; i < sizes[k]; i++)
			stream[off + i] = pattern(k, i);
		off += sizes[k];
	}
}

static void free_stream(void)
{
	free(stream);
	stream = NULL;
}

struct seen {
	size_t next;   /* index of the frame expected next */
	int bad;       /* a frame differed from the expected one */
	int stop_at;   /* return 7 when this frame arrives; -1 never */
};

static int check_cb(void *arg, const uint8_t *payload, size_t len)
{
	struct seen *s = arg;

	if (s->next >= NFRAMES || len != sizes[s->next] ||
	    memcmp(payload, stream + offsets[s->next], len) != 0) {
		s->bad = 1;
		return 0;
	}
	s->next++;
	return (int)s->next - 1 == s->stop_at ? 7 : 0;
}

/* Feeds the stream cut at the given offsets (sorted, within the stream). */
static void feed_cuts(const size_t *cuts, size_t ncuts)
{
	struct frame_decoder d;
	struct seen s = { 0, 0, -1 };
	size_t prev = 0, i, end;

	frame_decoder_init(&d);
	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts ? cuts[i] : stream_len;
		ck_assert_int_eq(frame_decoder_feed(&d, stream + prev, end - prev,
		                                    check_cb, &s), 0);
		prev = end;
	}
	ck_assert_int_eq(s.bad, 0);
	ck_assert_uint_eq(s.next, NFRAMES);
	/* An idle stream holds no buffer. */
	ck_assert_ptr_null(d.buf);
	ck_assert_uint_eq(d.hdr_len, 0);
	frame_decoder_release(&d);
}

/* Every cut through headers and small frames; inside the FRAME_MAX payload
 * every cut takes the same path, so only every 97th and those near its ends
 * are tried, which keeps the valgrind run short. */
START_TEST(split_at_every_offset)
{
	size_t cut, big_lo, big_hi;

	make_stream();
	big_lo = offsets[3] + 16;
	big_hi = offsets[3] + FRAME_MAX - 16;
	for (cut = 0; cut <= stream_len; cut++) {
		if (cut > big_lo && cut < big_hi && (cut - big_lo) % 97 != 0)
			continue;
		feed_cuts(&cut, 1);
	}
	free_stream();
}
END_TEST

START_TEST(random_chunkings)
{
	size_t cuts[64], n, pos, i;
	int round;

	make_stream();
	for (round = 0; round < 200; round++) {
		n = 1 + randombytes_uniform(63);
		for (i = 0; i < n; i++)
			cuts[i] = randombytes_uniform((uint32_t)stream_len + 1);
		/* insertion sort: cuts must be ascending */
		for (i = 1; i < n; i++) {
			pos = cuts[i];
			size_t j = i;
			while (j > 0 && cuts[j - 1] > pos) {
				cuts[j] = cuts[j - 1];
				j--;
			}
			cuts[j] = pos;
		}
		feed_cuts(cuts, n);
	}
	free_stream();
}
END_TEST

START_TEST(byte_by_byte)
{
	struct frame_decoder d;
	struct seen s = { 0, 0, -1 };
	size_t i;

	make_stream();
	frame_decoder_init(&d);
	for (i = 0; i < stream_len; i++) {
		ck_assert_int_eq(frame_decoder_feed(&d, stream + i, 1, check_cb, &s), 0);
		/* A buffer exists only while a frame's payload is being gathered. */
		if (d.hdr_len > 0)
			ck_assert_ptr_null(d.buf);
	}
	ck_assert_int_eq(s.bad, 0);
	ck_assert_uint_eq(s.next, NFRAMES);
	ck_assert_ptr_null(d.buf);
	frame_decoder_release(&d);
	free_stream();
}
END_TEST

static int never_cb(void *arg, const uint8_t *payload, size_t len)
{
	(*(int *)arg)++;
	return 0;
}

/* Every bad length, whole or split into single bytes, fails without a
 * buffer being allocated, and every later feed fails too. */
START_TEST(bad_lengths_refused_without_alloc)
{
	static const uint8_t bad[][FRAME_HDR] = {
		{ 0, 0, 0, 0 },
		{ 0, 1, 0, 1 },           /* FRAME_MAX + 1 */
		{ 0xff, 0xff, 0xff, 0xff },
	};
	static const uint8_t good[] = { 0, 0, 0, 1, 'x' };
	struct frame_decoder d;
	size_t k, i;
	int calls = 0, r = 0;

	ck_assert_uint_eq(FRAME_MAX + 1, 0x00010001);
	for (k = 0; k < 3; k++) {
		frame_decoder_init(&d);
		ck_assert_int_eq(frame_decoder_feed(&d, bad[k], FRAME_HDR, never_cb, &calls),
		                 -EPROTO);
		ck_assert_ptr_null(d.buf);
		ck_assert_int_eq(frame_decoder_feed(&d, good, sizeof(good), never_cb, &calls),
		                 -EPROTO);
		frame_decoder_release(&d);

		frame_decoder_init(&d);
		for (i = 0; i < FRAME_HDR; i++)
			r = frame_decoder_feed(&d, bad[k] + i, 1, never_cb, &calls);
		ck_assert_int_eq(r, -EPROTO);
		ck_assert_ptr_null(d.buf);
		ck_assert_int_eq(frame_decoder_feed(&d, good, sizeof(good), never_cb, &calls),
		                 -EPROTO);
		frame_decoder_release(&d);
	}
	ck_assert_int_eq(calls, 0);
}
END_TEST

/* A bad header after good frames fails, and the good frames came out. */
START_TEST(bad_length_after_good_frame)
{
	static const uint8_t data[] = { 0, 0, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 1, 'b' };
	struct frame_decoder d;
	int calls = 0;

	frame_decoder_init(&d);
	ck_assert_int_eq(frame_decoder_feed(&d, data, sizeof(data), never_cb, &calls),
	                 -EPROTO);
	ck_assert_int_eq(calls, 1);
	ck_assert_ptr_null(d.buf);
	frame_decoder_release(&d);
}
END_TEST

/* A partial frame's buffer has its checked size and is freed by release
 * (valgrind and ASan runs catch a leak). */
START_TEST(release_frees_partial_frame)
{
	struct frame_decoder d;
	uint8_t hdr[FRAME_HDR + 3] = { 0, 0, 0x10, 0, 1, 2, 3 };
	int calls = 0;

	frame_decoder_init(&d);
	ck_assert_int_eq(frame_decoder_feed(&d, hdr, sizeof(hdr), never_cb, &calls), 0);
	ck_assert_ptr_nonnull(d.buf);
	ck_assert_uint_eq(d.need, 0x1000);
	ck_assert_uint_eq(d.have, 3);
	frame_decoder_release(&d);
	ck_assert_ptr_null(d.buf);
	ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(cb_stops_feed)
{
	struct frame_decoder d;
	struct seen s = { 0, 0, 1 };
	size_t cut;

	make_stream();
	/* In place: frames 0 and 1 are in the first chunk, stop at frame 1. */
	frame_decoder_init(&d);
	ck_assert_int_eq(frame_decoder_feed(&d, stream, stream_len, check_cb, &s), 7);
	ck_assert_uint_eq(s.next, 2);
	ck_assert_int_eq(s.bad, 0);
	frame_decoder_release(&d);

	/* Gathered: stop at the FRAME_MAX frame, split across two chunks. */
	s = (struct seen){ 0, 0, 3 };
	cut = stream_len - 100;
	frame_decoder_init(&d);
	ck_assert_int_eq(frame_decoder_feed(&d, stream, cut, check_cb, &s), 0);
	ck_assert_uint_eq(s.next, 3);
	ck_assert_int_eq(frame_decoder_feed(&d, stream + cut, stream_len - cut,
	                                    check_cb, &s), 7);
	ck_assert_uint_eq(s.next, 4);
	ck_assert_ptr_null(d.buf);
	frame_decoder_release(&d);
	free_stream();
}
END_TEST

static int where_cb(void *arg, const uint8_t *payload, size_t len)
{
	const uint8_t **last = arg;

	*last = payload;
	return 0;
}

/* A frame wholly inside a chunk is not copied; a split one is gathered. */
START_TEST(whole_frame_in_place)
{
	static const uint8_t data[] = { 0, 0, 0, 2, 'a', 'b', 0, 0, 0, 1, 'c' };
	struct frame_decoder d;
	const uint8_t *last = NULL;

	frame_decoder_init(&d);
	ck_assert_int_eq(frame_decoder_feed(&d, data, 6, where_cb, &last), 0);
	ck_assert_ptr_eq(last, data + 4);
	ck_assert_int_eq(frame_decoder_feed(&d, data + 6, 4, where_cb, &last), 0);
	ck_assert_ptr_nonnull(d.buf);
	ck_assert_int_eq(frame_decoder_feed(&d, data + 10, 1, where_cb, &last), 0);
	ck_assert_ptr_ne(last, data + 10);
	ck_assert_ptr_null(d.buf);
	frame_decoder_release(&d);
}
END_TEST

START_TEST(header_bounds)
{
	uint8_t h[FRAME_HDR];

	ck_assert_int_eq(frame_header(h, 0), -EMSGSIZE);
	ck_assert_int_eq(frame_header(h, FRAME_MAX + 1), -EMSGSIZE);
	ck_assert_int_eq(frame_header(h, (size_t)-1), -EMSGSIZE);
	ck_assert_int_eq(frame_header(h, 1), 0);
	ck_assert_mem_eq(h, "\0\0\0\1", 4);
	ck_assert_int_eq(frame_header(h, 0x0102), 0);
	ck_assert_mem_eq(h, "\0\0\1\2", 4);
	ck_assert_int_eq(frame_header(h, FRAME_MAX), 0);
	ck_assert_mem_eq(h, "\0\1\0\0", 4);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	tcase_add_test(tc, split_at_every_offset);
	tcase_add_test(tc, random_chunkings);
	tcase_add_test(tc, byte_by_byte);
	tcase_add_test(tc, bad_lengths_refused_without_alloc);
	tcase_add_test(tc, bad_length_after_good_frame);
	tcase_add_test(tc, release_frees_partial_frame);
	tcase_add_test(tc, cb_stops_feed);
	tcase_add_test(tc, whole_frame_in_place);
	tcase_add_test(tc, header_bounds);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
