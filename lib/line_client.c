/* Client of the helpers' line protocol: send one request line on a UNIX
 * socket, wait for its one reply line; blocking (poll) and libuv forms. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include "line_client.h"

/* Checks the request and builds "request\n" into buf (LINE_MAX_LEN + 1). */
static int request_line(const char *request, char *buf, size_t *len)
{
	size_t n = strlen(request);

	if (n > 0 && request[n - 1] == '\n')
		n--;
	if (memchr(request, '\n', n))
		return -EINVAL; /* two requests would get two replies */
	if (n + 1 > LINE_MAX_LEN)
		return -EMSGSIZE;
	memcpy(buf, request, n);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	*len = n + 1;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline for poll(); -1 waits forever. */
static int left_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	return left > 0 ? (int)left : 0;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int rc;

	do
		rc = poll(&pfd, 1, left_ms(deadline));
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	return rc == 0 ? -ETIMEDOUT : 0;
}

/* Blocking connect bounded by SO_SNDTIMEO: a UNIX socket whose backlog is
 * full makes connect wait, and that wait honours the send timeout. */
static int client_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	size_t n = strlen(path);
	int fd, rc;

	if (n >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (timeout_ms > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (rc < 0) {
		rc = (errno == EAGAIN || errno == EINPROGRESS) ? -ETIMEDOUT : -errno;
		close(fd);
		return rc;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		int rc;

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n < 0) {
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads up to the first '\n'; the newline may take the last byte of reply. */
static int recv_line(int fd, char *reply, size_t size, int64_t deadline)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = recv(fd, reply + got, size - got, 0);
		char *nl;
		int rc;

		if (n == 0)
			return -EPROTO; /* closed without a whole reply */
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n < 0) {
			rc = wait_fd(fd, POLLIN, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		nl = memchr(reply + got, '\n', (size_t)n);
		got += (size_t)n;
		if (nl) {
			if (nl > reply && nl[-1] == '\r')
				nl--;
			*nl = '\0';
			return 0;
		}
	}
	return -EMSGSIZE;
}

int line_request(const char *path, const char *request, char *reply,
                 size_t reply_size, int timeout_ms)
{
	char line[LINE_MAX_LEN + 1];
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	size_t len;
	int fd, rc;

	if (reply_size == 0)
		return -EMSGSIZE;
	reply[0] = '\0';
	rc = request_line(request, line, &len);
	if (rc < 0)
		return rc;
	fd = client_connect(path, timeout_ms);
	if (fd < 0)
		return fd;
	rc = send_all(fd, line, len, deadline);
	/* A server that refuses us (perm, busy) answers before reading and may
	 * have closed already: its reply line is still worth reading. */
	if (rc == 0)
		rc = recv_line(fd, reply, reply_size, deadline);
	else if (recv_line(fd, reply, reply_size, deadline) == 0)
		rc = 0;
	close(fd);
	if (rc < 0)
		reply[0] = '\0';
	return rc;
}

/* One asynchronous request: both handles closed before it is freed. */
struct line_areq {
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_connect_t connect;
	uv_write_t write;
	line_request_cb cb;
	void *arg;
	int done;
	int write_status;   /* a failed write still lets a refusal line in */
	int open_handles;
	size_t out_len;
	char out[LINE_MAX_LEN + 1];
	char in[LINE_MAX_LEN];
	struct line_reader lr;
};

static void areq_close_cb(uv_handle_t *h)
{
	struct line_areq *r = h->data;

	if (--r->open_handles == 0)
		free(r);
}

/* Calls cb once; later events (cancelled connect, write...) are ignored. */
static void areq_finish(struct line_areq *r, int status, const char *reply)
{
	if (r->done)
		return;
	r->done = 1;
	r->cb(r->arg, status, status == 0 ? reply : NULL);
	uv_close((uv_handle_t *)&r->pipe, areq_close_cb);
	uv_close((uv_handle_t *)&r->timer, areq_close_cb);
}

static void areq_timeout_cb(uv_timer_t *t)
{
	areq_finish(t->data, -ETIMEDOUT, NULL);
}

static int areq_line(void *arg, char *line, size_t len)
{
	struct line_areq *r = arg;

	areq_finish(r, line ? 0 : -EMSGSIZE, line);
	return 1;
}

static void areq_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct line_areq *r = h->data;

	*buf = uv_buf_init(r->in, sizeof(r->in));
}

static void areq_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct line_areq *r = s->data;

	if (r->done)
		return;
	if (nread > 0)
		line_reader_feed(&r->lr, buf->base, (size_t)nread, areq_line, r);
	else if (nread == UV_EOF)
		areq_finish(r, r->write_status ? r->write_status : -EPROTO, NULL);
	else if (nread < 0)
		areq_finish(r, (int)nread, NULL);
}

static void areq_write_cb(uv_write_t *req, int status)
{
	struct line_areq *r = req->data;

	/* The read side reports: a refusal line, or EOF with this status. */
	if (status < 0)
		r->write_status = status;
}

static void areq_connect_cb(uv_connect_t *req, int status)
{
	struct line_areq *r = req->data;
	uv_buf_t buf = uv_buf_init(r->out, (unsigned int)r->out_len);

	if (r->done)
		return;
	if (status < 0) {
		areq_finish(r, status, NULL);
		return;
	}
	r->write.data = r;
	status = uv_write(&r->write, (uv_stream_t *)&r->pipe, &buf, 1, areq_write_cb);
	if (status == 0)
		status = uv_read_start((uv_stream_t *)&r->pipe, areq_alloc_cb, areq_read_cb);
	if (status < 0)
		areq_finish(r, status, NULL);
}

int line_request_async(uv_loop_t *loop, const char *path, const char *request,
                       int timeout_ms, line_request_cb cb, void *arg)
{
	struct line_areq *r;
	int rc;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = request_line(request, r->out, &r->out_len);
	if (rc == 0)
		rc = uv_pipe_init(loop, &r->pipe, 0);
	if (rc < 0) {
		free(r);
		return rc;
	}
	uv_timer_init(loop, &r->timer);
	r->pipe.data = r->timer.data = r->connect.data = r;
	r->open_handles = 2;
	r->cb = cb;
	r->arg = arg;
	line_reader_init(&r->lr);
	if (timeout_ms >= 0)
		uv_timer_start(&r->timer, areq_timeout_cb, (uint64_t)timeout_ms, 0);
	/* Errors, ENOENT included, come back through areq_connect_cb. */
	uv_pipe_connect(&r->connect, &r->pipe, path, areq_connect_cb);
	return 0;
}
