/* A small HTTP/1.1 server on a libuv loop (libmicrohttpd underneath): one
 * listener, loopback TCP or a UNIX socket, a table of routes by method and
 * path, bounded request bodies. For /metrics and clientd's local API. */
#ifndef SM_HTTPD_H
#define SM_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#define HTTPD_DEF_MAX_BODY (16 * 1024)

struct httpd;

struct httpd_req {
	const char *method;   /* "GET", "POST", ... */
	const char *path;     /* without the query string */
	const char *body;     /* NUL-terminated copy of the body ("" if none) */
	size_t body_len;
};

/* What a handler fills. status 0 is taken as 200; body is malloc'd and taken
 * by the server (NULL: empty); content_type NULL: application/json. */
struct httpd_resp {
	int status;
	const char *content_type;
	char *body;
	size_t body_len;
};

/* Runs on the loop thread, inside the server's own callback: it must answer
 * at once (no waiting on the loop). Returns 0, or a negative errno to answer
 * 500 (a body already set is freed). */
typedef int (*httpd_handler)(void *ctx, const struct httpd_req *rq, struct httpd_resp *rs);

struct httpd_route {
	const char *method;
	const char *path;     /* exact match */
	httpd_handler fn;
};

struct httpd_opts {
	const char *listen;   /* numeric "IP:port" (port 0: any), or NULL */
	const char *unix_path; /* or a UNIX socket path (a stale socket is replaced) */
	mode_t unix_mode;     /* 0: 0660 */
	size_t max_body;      /* 0: HTTPD_DEF_MAX_BODY; larger answers 413 */
	unsigned max_clients; /* 0: 32 */
	unsigned timeout_s;   /* idle connection timeout; 0: 10 */
};

/*
 * Binds exactly one of listen / unix_path and starts serving routes (table
 * ends with {NULL}) on loop. An unknown path answers 404, a known path with
 * another method 405 (with Allow), a body over max_body 413; error bodies
 * are {"error": "..."}. Returns 0 and *out, or a negative errno (-EINVAL for
 * bad options, -EADDRINUSE, ...) with nothing left behind.
 */
int httpd_new(uv_loop_t *loop, const struct httpd_opts *opts, const struct httpd_route *routes,
              void *ctx, struct httpd **out);
/* Stops serving, closes every connection, unlinks the UNIX socket; the
 * handles are freed from close callbacks, so run the loop afterwards. */
void httpd_free(struct httpd *h);

/* The bound TCP port (for listen with port 0), 0 for a UNIX socket. */
uint16_t httpd_port(const struct httpd *h);

/* 0 if text is a listen address httpd_new takes ("IP:port", "[IPv6]:port",
 * port 0 allowed) or empty/NULL (disabled); -EINVAL if not. For -n. */
int httpd_check_listen(const char *text);

/* Sets rs to a JSON {"error": msg} with status; 0 or -ENOMEM. */
int httpd_error(struct httpd_resp *rs, int status, const char *msg);

#endif
