/* libmicrohttpd driven from the daemon's own libuv loop: routes, bounded
 * bodies, and the listening socket (TCP or UNIX) made here.
 *
 * Why no MHD thread: every daemon is one thread on one loop (DESIGN 1), and
 * handlers read the daemon's state and metrics without locks. MHD runs in
 * its "external" epoll mode instead: its one epoll fd is watched with a
 * uv_poll, MHD_run() is called when it is readable, and a uv_timer follows
 * MHD_get_timeout() (connection timeouts, data already buffered). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>
#include <microhttpd.h>
#include "httpd.h"

#define DEF_CLIENTS 32
#define DEF_TIMEOUT_S 10
#define TIMER_CAP_MS 1000 /* re-ask MHD at least this often while it has work */

struct httpd {
	uv_loop_t *loop;
	struct MHD_Daemon *mhd;
	uv_poll_t poll;
	uv_timer_t timer;
	int nopen;
	const struct httpd_route *routes;
	void *ctx;
	size_t max_body;
	uint16_t port;
	char *unix_path;
};

/* One request's body as it arrives. */
struct body {
	char *buf;
	size_t len;
	int too_big;
};

int httpd_error(struct httpd_resp *rs, int status, const char *msg)
{
	json_t *j = json_pack("{s:s}", "error", msg ? msg : "");

	free(rs->body);
	rs->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	rs->status = status;
	rs->content_type = "application/json";
	rs->body_len = rs->body ? strlen(rs->body) : 0;
	return rs->body ? 0 : -ENOMEM;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct httpd_resp *rs,
                                 const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(rs->body_len, rs->body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(rs->body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type",
	                        rs->content_type ? rs->content_type : "application/json");
	if (allow)
		MHD_add_response_header(r, "Allow", allow);
	ret = MHD_queue_response(c, (unsigned)(rs->status ? rs->status : 200), r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *msg,
                                  const char *allow)
{
	struct httpd_resp rs = { 0 };

	if (httpd_error(&rs, status, msg) < 0)
		return MHD_NO;
	return send_resp(c, &rs, allow);
}

/* The methods a path takes, "GET, POST", for 405's Allow; 0 if none. */
static size_t path_methods(const struct httpd *h, const char *path, char *buf, size_t size)
{
	const struct httpd_route *r;
	size_t n = 0, len = 0;

	buf[0] = '\0';
	for (r = h->routes; r->method; r++) {
		if (strcmp(r->path, path))
			continue;
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", n++ ? ", " : "", r->method);
	}
	return n;
}

static enum MHD_Result dispatch(struct httpd *h, struct MHD_Connection *c, const char *path,
                                const char *method, struct body *b)
{
	struct httpd_req rq = { method, path, b->buf ? b->buf : "", b->len };
	struct httpd_resp rs = { 0 };
	const struct httpd_route *r;
	char allow[128];

	for (r = h->routes; r->method; r++)
		if (!strcmp(r->path, path) && !strcmp(r->method, method))
			break;
	if (!r->method) {
		if (path_methods(h, path, allow, sizeof(allow)))
			return send_error(c, 405, "method not allowed", allow);
		return send_error(c, 404, "not found", NULL);
	}
	if (b->too_big)
		return send_error(c, 413, "request body too large", NULL);
	if (r->fn(h->ctx, &rq, &rs) < 0) {
		free(rs.body);
		return send_error(c, 500, "internal error", NULL);
	}
	return send_resp(c, &rs, NULL);
}

/* A declared length over the limit is refused before reading the body. */
static int length_too_big(struct MHD_Connection *c, size_t max)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n;
	char *end;

	if (!cl)
		return 0;
	errno = 0;
	n = strtoull(cl, &end, 10);
	return errno || end == cl || *end || n > max;
}

static void body_add(struct body *b, const char *data, size_t len, size_t max)
{
	char *p;

	if (b->too_big || len > max - b->len) {
		b->too_big = 1;
		return;
	}
	if (!(p = realloc(b->buf, b->len + len + 1))) {
		b->too_big = 1; /* cannot hold it: refused like a large one */
		return;
	}
	memcpy(p + b->len, data, len);
	b->len += len;
	p[b->len] = '\0';
	b->buf = p;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct httpd *h = cls;
	struct body *b = *con_cls;

	if (!b) {
		if (!(b = calloc(1, sizeof(*b))))
			return MHD_NO;
		*con_cls = b;
		if (length_too_big(c, h->max_body)) {
			b->too_big = 1;
			return dispatch(h, c, url, method, b); /* the body is never read */
		}
		return MHD_YES;
	}
	if (*upload_size) {
		body_add(b, upload_data, *upload_size, h->max_body);
		*upload_size = 0;
		return MHD_YES;
	}
	return dispatch(h, c, url, method, b);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;

	if (b)
		free(b->buf);
	free(b);
	*con_cls = NULL;
}

static void on_timer(uv_timer_t *t);

/* Lets MHD do what is ready, then arms the timer for its next deadline. */
static void pump(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(h->mhd);
	/* MHD_NO: no connection to time out and nothing pending, so an idle
	 * daemon sleeps until the epoll fd wakes it. */
	if (MHD_get_timeout(h->mhd, &ms) != MHD_YES) {
		uv_timer_stop(&h->timer);
		return;
	}
	uv_timer_start(&h->timer, on_timer, ms > TIMER_CAP_MS ? TIMER_CAP_MS : (uint64_t)ms, 0);
}

static void on_timer(uv_timer_t *t)
{
	pump(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	pump(p->data);
}

/* Numeric "IPv4:port" or "[IPv6]:port"; port 0 (any) allowed, unlike
 * daemon_parse_sockaddr, so tests and operators can let the kernel pick. */
static int parse_listen(const char *text, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	size_t hlen;
	char *end;
	long port;

	if (!colon || !colon[1])
		return -EINVAL;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 0 || port > 65535 || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	hlen = (size_t)(colon - text);
	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		if (hlen < 3 || text[hlen - 1] != ']' || hlen - 2 >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(hlen - 2), text + 1);
		return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) ? -EINVAL : 0;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)hlen, text);
	return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) ? -EINVAL : 0;
}

static int listen_tcp(const char *text, int *fd, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1, s, rc;

	if (parse_listen(text, &ss) < 0)
		return -EINVAL;
	if ((s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&ss, ss.ss_family == AF_INET ?
	         sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) < 0 ||
	    listen(s, 16) < 0 || getsockname(s, (struct sockaddr *)&ss, &len) < 0) {
		rc = -errno;
		close(s);
		return rc;
	}
	*port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
	              ((struct sockaddr_in6 *)&ss)->sin6_port);
	*fd = s;
	return 0;
}

/* Binds path, replacing a stale socket file (never another kind of file). */
static int listen_unix(const char *path, mode_t mode, int *fd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int s, rc;

	if (!path[0] || strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rc = -errno;
		close(s);
		return rc;
	}
	if (chmod(path, mode) < 0 || listen(s, 16) < 0) {
		rc = -errno;
		close(s);
		unlink(path);
		return rc;
	}
	*fd = s;
	return 0;
}

static int open_listener(struct httpd *h, const struct httpd_opts *o, int *fd)
{
	if ((o->listen && o->listen[0]) == (o->unix_path && o->unix_path[0]))
		return -EINVAL; /* exactly one */
	if (o->listen && o->listen[0])
		return listen_tcp(o->listen, fd, &h->port);
	if (!(h->unix_path = strdup(o->unix_path)))
		return -ENOMEM;
	return listen_unix(o->unix_path, o->unix_mode ? o->unix_mode : 0660, fd);
}

static int start_mhd(struct httpd *h, const struct httpd_opts *o, int fd)
{
	const union MHD_DaemonInfo *info;

	h->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, h,
	                          MHD_OPTION_LISTEN_SOCKET, fd,
	                          MHD_OPTION_CONNECTION_LIMIT,
	                          o->max_clients ? o->max_clients : DEF_CLIENTS,
	                          MHD_OPTION_CONNECTION_TIMEOUT,
	                          o->timeout_s ? o->timeout_s : DEF_TIMEOUT_S,
	                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	                          MHD_OPTION_END);
	if (!h->mhd) {
		close(fd);
		return -EIO;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || uv_poll_init(h->loop, &h->poll, info->epoll_fd) < 0) {
		MHD_stop_daemon(h->mhd); /* closes fd too */
		return -EIO;
	}
	return 0;
}

int httpd_new(uv_loop_t *loop, const struct httpd_opts *o, const struct httpd_route *routes,
              void *ctx, struct httpd **out)
{
	struct httpd *h = calloc(1, sizeof(*h));
	int fd = -1, rc;

	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->routes = routes;
	h->ctx = ctx;
	h->max_body = o->max_body ? o->max_body : HTTPD_DEF_MAX_BODY;
	if ((rc = open_listener(h, o, &fd)) < 0)
		goto fail;
	if ((rc = start_mhd(h, o, fd)) < 0) {
		if (h->unix_path)
			unlink(h->unix_path);
		goto fail;
	}
	h->poll.data = h;
	uv_poll_start(&h->poll, UV_READABLE, on_poll);
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	h->nopen = 2;
	uv_timer_start(&h->timer, on_timer, 0, 0);
	*out = h;
	return 0;
fail:
	free(h->unix_path);
	free(h);
	return rc;
}

static void on_closed(uv_handle_t *hd)
{
	struct httpd *h = hd->data;

	if (--h->nopen == 0) {
		free(h->unix_path);
		free(h);
	}
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	/* uv_close stops watching the epoll fd before MHD closes it. */
	uv_close((uv_handle_t *)&h->poll, on_closed);
	uv_close((uv_handle_t *)&h->timer, on_closed);
	MHD_stop_daemon(h->mhd);
	h->mhd = NULL;
	if (h->unix_path)
		unlink(h->unix_path);
}

int httpd_check_listen(const char *text)
{
	struct sockaddr_storage ss;

	return !text || !text[0] ? 0 : parse_listen(text, &ss);
}

uint16_t httpd_port(const struct httpd *h)
{
	return h->port;
}
