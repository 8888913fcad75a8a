/* Tests' HTTP client: a blocking request from a thread while the test's
 * loop serves it, so the server under test stays single-threaded. Static
 * functions, included by test_httpd.c and (through clientd_api_fixture.h)
 * test_clientd_api.c and test_clientd_cli.c. */
#ifndef T_HTTP_FAKE_H
#define T_HTTP_FAKE_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#define HF_MAX 65536

struct hf_call {
	const char *unix_path;  /* or */
	uint16_t port;          /* 127.0.0.1:port */
	char req[HF_MAX];       /* raw request bytes */
	size_t req_len;
	char resp[HF_MAX];      /* raw response, NUL-terminated */
	size_t resp_len;
	int status;             /* parsed, -1 if none */
	const char *body;       /* into resp */
	atomic_int done;
	pthread_t th;
};

static int hf_connect(const struct hf_call *c)
{
	int s;

	if (c->unix_path) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->unix_path);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return s;
	} else {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(c->port) };

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			return s;
	}
	if (s >= 0)
		close(s);
	return -1;
}

static void *hf_thread(void *arg)
{
	struct hf_call *c = arg;
	struct pollfd p;
	size_t off = 0;
	ssize_t n;
	int s = hf_connect(c);

	c->status = -1;
	if (s < 0)
		goto out;
	while (off < c->req_len && (n = send(s, c->req + off, c->req_len - off,
	                                     MSG_NOSIGNAL)) > 0)
		off += (size_t)n;
	p.fd = s;
	p.events = POLLIN;
	/* Until the server closes (Connection: close), 5 s at most. */
	while (c->resp_len < HF_MAX - 1 && poll(&p, 1, 5000) == 1) {
		n = recv(s, c->resp + c->resp_len, HF_MAX - 1 - c->resp_len, 0);
		if (n <= 0)
			break;
		c->resp_len += (size_t)n;
	}
	close(s);
	c->resp[c->resp_len] = '\0';
	if (sscanf(c->resp, "HTTP/1.%*d %d", &c->status) != 1)
		c->status = -1;
	c->body = strstr(c->resp, "\r\n\r\n");
	c->body = c->body ? c->body + 4 : "";
out:
	atomic_store(&c->done, 1);
	return NULL;
}

/* Starts one request: method, path, optional body (NULL: none). */
static struct hf_call *hf_start(const char *unix_path, uint16_t port, const char *method,
                                const char *path, const char *body)
{
	struct hf_call *c = calloc(1, sizeof(*c));
	int n;

	c->unix_path = unix_path;
	c->port = port;
	n = snprintf(c->req, sizeof(c->req),
	             "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
	             "Content-Length: %zu\r\n\r\n%s", method, path,
	             body ? strlen(body) : 0, body ? body : "");
	c->req_len = (size_t)n;
	pthread_create(&c->th, NULL, hf_thread, c);
	return c;
}

/* The same with raw bytes. */
static __attribute__((unused)) struct hf_call *hf_start_raw(const char *unix_path, uint16_t port, const char *raw,
                                    size_t len)
{
	struct hf_call *c = calloc(1, sizeof(*c));

	c->unix_path = unix_path;
	c->port = port;
	memcpy(c->req, raw, len < HF_MAX ? len : HF_MAX);
	c->req_len = len < HF_MAX ? len : HF_MAX;
	pthread_create(&c->th, NULL, hf_thread, c);
	return c;
}

static void hf_free(struct hf_call *c)
{
	pthread_join(c->th, NULL);
	free(c);
}

/* The value of header name in the response, copied into buf ("" if none). */
static __attribute__((unused)) const char *hf_header(const struct hf_call *c, const char *name, char *buf, size_t size)
{
	const char *p = c->resp;
	size_t n = strlen(name);

	buf[0] = '\0';
	while ((p = strstr(p, "\r\n")) && p < c->body) {
		p += 2;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(buf, size, "%.*s", (int)(e - v), v);
			break;
		}
	}
	return buf;
}

#endif
