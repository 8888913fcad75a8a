/* The helpers' UNIX socket server on libuv (peer check, one reply per line,
 * bounded output per client), plus the stdin and one-shot argv drivers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "line_server.h"

#define DEFAULT_MAX_CLIENTS 64
/* Unsent reply bytes a client may have queued before we stop reading it. */
#define CONN_QUEUE_MAX (64 * 1024)
#define CONN_READ_SIZE 4096

/*
 * A connection's life: READING requests; PAUSED while its replies pile up
 * unread (input left in `in` waits for the queue to drain); DRAINING after
 * EOF or a refusal (pending replies go out, then shutdown); CLOSING once
 * uv_close was called (freed in conn_close_cb).
 */
enum conn_state { CONN_READING, CONN_PAUSED, CONN_DRAINING, CONN_CLOSING };

struct line_conn {
	uv_pipe_t pipe;
	uv_shutdown_t shutdown;
	struct line_server *srv;
	struct line_conn *next, **pprev;
	enum conn_state state;
	int counted;        /* holds one of max_clients */
	size_t queued;      /* reply bytes handed to uv_write, not yet done */
	size_t in_off, in_len;
	char in[CONN_READ_SIZE];
	struct line_reader lr;
};

struct line_server {
	uv_loop_t *loop;
	uv_pipe_t listener;
	const struct verb *table;
	void *ctx;
	struct line_server_opts opts;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;          /* the socket file we made, so free unlinks only it */
	ino_t ino;
	int bound;
	int nclients;
	struct line_conn *conns;
	int closing;
	int listener_closed;
};

struct conn_write {
	uv_write_t req;
	struct line_conn *conn;
	size_t len;
	char data[];
};

int line_peer_allowed(uid_t uid, gid_t gid, const struct line_server_opts *opts)
{
	if (uid == 0)
		return 1;
	if (opts->allow_uid != (uid_t)-1 && uid == opts->allow_uid)
		return 1;
	if (opts->allow_gid != (gid_t)-1 && gid == opts->allow_gid)
		return 1;
	return 0;
}

/* A member of allow_gid through a supplementary group may also pass: the
 * socket's group permission already lets it connect. */
static int peer_in_group(int fd, gid_t want)
{
#ifdef SO_PEERGROUPS
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	size_t i;

	if (want == (gid_t)-1)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return 0;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == want)
			return 1;
#endif
	return 0;
}

static int peer_check(struct line_conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	return line_peer_allowed(cred.uid, cred.gid, &c->srv->opts) ||
	       peer_in_group(fd, c->srv->opts.allow_gid);
}

static void server_maybe_free(struct line_server *srv)
{
	if (srv->closing && srv->listener_closed && !srv->conns)
		free(srv);
}

static void conn_close_cb(uv_handle_t *h)
{
	struct line_conn *c = h->data;
	struct line_server *srv = c->srv;

	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	if (c->counted)
		srv->nclients--;
	free(c);
	server_maybe_free(srv);
}

static void conn_close(struct line_conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	c->state = CONN_CLOSING;
	uv_close((uv_handle_t *)&c->pipe, conn_close_cb);
}

static void conn_shutdown_cb(uv_shutdown_t *req, int status)
{
	conn_close(req->data);
}

/* No more requests: let queued replies go out, then close. */
static void conn_drain(struct line_conn *c)
{
	if (c->state == CONN_CLOSING || c->state == CONN_DRAINING)
		return;
	uv_read_stop((uv_stream_t *)&c->pipe);
	c->state = CONN_DRAINING;
	c->shutdown.data = c;
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->pipe, conn_shutdown_cb) < 0)
		conn_close(c);
}

static void conn_process(struct line_conn *c);

static void conn_write_cb(uv_write_t *req, int status)
{
	struct conn_write *w = (struct conn_write *)req;
	struct line_conn *c = w->conn;

	c->queued -= w->len;
	free(w);
	if (status < 0)
		conn_close(c);
	else if (c->state == CONN_PAUSED && c->queued < CONN_QUEUE_MAX)
		conn_process(c);
}

static void conn_send(struct line_conn *c, const char *text, size_t len)
{
	struct conn_write *w;
	uv_buf_t buf;

	if (c->state == CONN_CLOSING)
		return;
	w = malloc(sizeof(*w) + len);
	if (!w) {
		conn_close(c);
		return;
	}
	w->conn = c;
	w->len = len;
	memcpy(w->data, text, len);
	buf = uv_buf_init(w->data, (unsigned int)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, conn_write_cb) < 0) {
		free(w);
		conn_close(c);
		return;
	}
	c->queued += len;
}

static int conn_line(void *arg, char *line, size_t len)
{
	struct line_conn *c = arg;
	struct line_reply reply;

	if (!line)
		line_reply_err(&reply, LINE_ETOOLONG, "line over %d bytes", LINE_MAX_LEN);
	else
		verb_dispatch_line(c->srv->table, c->srv->ctx, line, len, &reply);
	line_reply_finish(&reply);
	conn_send(c, reply.buf, reply.len);
	/* A handler may have freed the server: stop at once. */
	return c->state == CONN_CLOSING;
}

static void conn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct line_conn *c = h->data;

	/* Reading only resumes once `in` is used up; else UV_ENOBUFS closes. */
	*buf = uv_buf_init(c->in, c->in_off == c->in_len ? sizeof(c->in) : 0);
}

static void conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct line_conn *c = s->data;

	if (nread > 0) {
		c->in_off = 0;
		c->in_len = (size_t)nread;
		conn_process(c);
	} else if (nread == UV_EOF) {
		/* A last request without its newline still gets its reply. */
		if (c->lr.len > 0 && !c->lr.skipping)
			line_reader_feed(&c->lr, "\n", 1, conn_line, c);
		conn_drain(c);
	} else if (nread < 0) {
		conn_close(c);
	}
}

/* Feeds buffered input one line at a time, so that a client which never
 * reads its replies is paused with at most one reply over the limit. */
static void conn_process(struct line_conn *c)
{
	while (c->in_off < c->in_len) {
		const char *p = c->in + c->in_off;
		size_t n = c->in_len - c->in_off;
		const char *nl;

		if (c->state != CONN_READING && c->state != CONN_PAUSED)
			return;
		if (c->queued >= CONN_QUEUE_MAX) {
			if (c->state == CONN_READING)
				uv_read_stop((uv_stream_t *)&c->pipe);
			c->state = CONN_PAUSED;
			return;
		}
		nl = memchr(p, '\n', n);
		if (nl)
			n = (size_t)(nl - p) + 1;
		c->in_off += n;
		line_reader_feed(&c->lr, p, n, conn_line, c);
	}
	if (c->state == CONN_PAUSED) {
		c->state = CONN_READING;
		if (uv_read_start((uv_stream_t *)&c->pipe, conn_alloc_cb, conn_read_cb) < 0)
			conn_close(c);
	}
}

/* Refuses a client with one err line, before reading anything from it. */
static void conn_refuse(struct line_conn *c, const char *code, const char *msg)
{
	struct line_reply reply;

	line_reply_err(&reply, code, "%s", msg);
	line_reply_finish(&reply);
	conn_send(c, reply.buf, reply.len);
	conn_drain(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct line_server *srv = listener->data;
	struct line_conn *c;

	if (status < 0 || srv->closing)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	uv_pipe_init(srv->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->srv = srv;
	c->state = CONN_READING;
	line_reader_init(&c->lr);
	c->next = srv->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &srv->conns;
	srv->conns = c;
	if (uv_accept(listener, (uv_stream_t *)&c->pipe) < 0) {
		conn_close(c);
		return;
	}
	if (!peer_check(c)) {
		conn_refuse(c, LINE_EPERM, "not allowed");
		return;
	}
	if (srv->nclients >= srv->opts.max_clients) {
		conn_refuse(c, LINE_EBUSY, "too many clients");
		return;
	}
	c->counted = 1;
	srv->nclients++;
	if (uv_read_start((uv_stream_t *)&c->pipe, conn_alloc_cb, conn_read_cb) < 0)
		conn_close(c);
}

/* A socket file nobody answers on is left over from a dead server: remove
 * it. A live server, or a path that is not a socket, is refused. */
static int clear_stale(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (rc == 0)
		rc = -EADDRINUSE;
	else if (errno != ECONNREFUSED)
		rc = -errno;
	else if (unlink(path) < 0)
		rc = -errno;
	else
		rc = 0;
	close(fd);
	return rc;
}

static void listener_close_cb(uv_handle_t *h)
{
	struct line_server *srv = h->data;

	srv->listener_closed = 1;
	server_maybe_free(srv);
}

static int server_listen(struct line_server *srv)
{
	struct stat st;
	int rc;

	rc = uv_pipe_bind(&srv->listener, srv->path);
	if (rc < 0)
		return rc;
	srv->bound = 1;
	if (lstat(srv->path, &st) < 0)
		return -errno;
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	/* Before listen: until then every connect is refused, whatever the umask. */
	if (chmod(srv->path, srv->opts.mode ? srv->opts.mode : 0660) < 0)
		return -errno;
	return uv_listen((uv_stream_t *)&srv->listener, 16, on_connection);
}

int line_server_new(uv_loop_t *loop, const struct line_server_opts *opts,
                    const struct verb *table, void *ctx, struct line_server **out)
{
	struct line_server *srv;
	size_t n;
	int rc;

	if (!opts->path || !*opts->path)
		return -EINVAL;
	n = strlen(opts->path);
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	if (n >= sizeof(srv->path)) {
		free(srv);
		return -ENAMETOOLONG;
	}
	memcpy(srv->path, opts->path, n + 1);
	srv->loop = loop;
	srv->table = table;
	srv->ctx = ctx;
	srv->opts = *opts;
	srv->opts.path = srv->path;
	if (srv->opts.max_clients <= 0)
		srv->opts.max_clients = DEFAULT_MAX_CLIENTS;
	rc = clear_stale(srv->path);
	if (rc < 0 || (rc = uv_pipe_init(loop, &srv->listener, 0)) < 0) {
		free(srv);
		return rc;
	}
	srv->listener.data = srv;
	rc = server_listen(srv);
	if (rc < 0) {
		if (srv->bound)
			unlink(srv->path);
		srv->closing = 1;
		uv_close((uv_handle_t *)&srv->listener, listener_close_cb);
		return rc;
	}
	*out = srv;
	return 0;
}

void line_server_free(struct line_server *srv)
{
	struct line_conn *c;
	struct stat st;

	if (!srv || srv->closing)
		return;
	srv->closing = 1;
	for (c = srv->conns; c; c = c->next)
		conn_close(c);
	/* Unlink only our own socket file, not a successor's. */
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	uv_close((uv_handle_t *)&srv->listener, listener_close_cb);
}

struct file_run {
	const struct verb *table;
	void *ctx;
	FILE *out;
	int nerr;
};

static int file_line(void *arg, char *line, size_t len)
{
	struct file_run *run = arg;
	struct line_reply reply;

	/* Blank lines in a script are not requests: no reply. */
	if (line && strspn(line, " ") == len)
		return 0;
	if (!line)
		line_reply_err(&reply, LINE_ETOOLONG, "line over %d bytes", LINE_MAX_LEN);
	else
		verb_dispatch_line(run->table, run->ctx, line, len, &reply);
	fputs(line_reply_finish(&reply), run->out);
	fflush(run->out);
	if (reply.is_err)
		run->nerr++;
	return 0;
}

int line_run_file(const struct verb *table, void *ctx, FILE *f, FILE *out)
{
	struct file_run run = { table, ctx, out, 0 };
	struct line_reader lr;
	char chunk[512];
	size_t n = 0;
	int ch;

	line_reader_init(&lr);
	/* getc, not fread: a reply must go out as soon as its line is in, even
	 * when the other end of a pipe waits for it before writing more. */
	while ((ch = getc(f)) != EOF) {
		chunk[n++] = (char)ch;
		if (ch == '\n' || n == sizeof(chunk)) {
			line_reader_feed(&lr, chunk, n, file_line, &run);
			n = 0;
		}
	}
	line_reader_feed(&lr, chunk, n, file_line, &run);
	if (lr.len > 0 && !lr.skipping)
		line_reader_feed(&lr, "\n", 1, file_line, &run);
	return run.nerr;
}

int line_run_argv(const struct verb *table, void *ctx, int argc, char **argv,
                  FILE *out, FILE *err)
{
	struct line_reply reply;

	verb_dispatch(table, ctx, argc, argv, &reply);
	line_reply_finish(&reply);
	fputs(reply.buf, reply.is_err ? err : out);
	return reply.is_err ? 1 : 0;
}
