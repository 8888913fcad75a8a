/* clientd's HTTP/JSON API: the bodies it accepts, parsed strictly (pure, so
 * fuzzed), and the documents it answers with. */
#ifndef CD_API_H
#define CD_API_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "session.h"

struct clientd;

#define API_MAX_BODY 16384

/* POST /connect {"region": "eu", "min_bw": 10000000, "max_latency_ms": 80} */
struct api_connect {
	char region[SESSION_REGION_MAX];
	uint64_t min_bw;          /* bits/s, 0: any */
	uint32_t max_latency_ms;  /* 0: any */
};

/* Exactly one object: region (string, 1-63 printable, required), min_bw
 * (integer >= 0), max_latency_ms (integer 0..2^32-1); anything else, a
 * duplicate key, or trailing bytes is an error. 0, or -EINVAL with a
 * one-line reason in err. */
int api_parse_connect(const char *body, size_t len, struct api_connect *c, char *err,
                      size_t err_size);

/* A body that must say nothing: empty, or the empty object. 0 or -EINVAL. */
int api_parse_empty(const char *body, size_t len, char *err, size_t err_size);

/* The documents of GET /status, /health, /exits (new references). */
json_t *api_status_json(const struct clientd *cd);
json_t *api_health_json(const struct clientd *cd, int *healthy);
json_t *api_exits_json(const struct clientd *cd);

#endif
