/* `clientd ctl ...`: the CLI for people and scripts. One HTTP/1.1 request
 * over the API's UNIX socket, a bounded read of the answer, JSON through
 * jansson; exit 0 ok, 1 error answer, 100 usage, 111 clientd not running. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>
#include "daemon.h"
#include "ctl.h"

#define CTL_RESP_MAX (64 * 1024)

static int connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s, rc;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rc = -errno;
		close(s);
		return rc;
	}
	return s;
}

static int send_all(int s, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(s, buf, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the server closes, at most size - 1 bytes, waiting at most
 * timeout_ms for each piece. */
static int read_all(int s, char *buf, size_t size, int timeout_ms, size_t *len)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	ssize_t n;

	*len = 0;
	for (;;) {
		int r = poll(&p, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -ETIMEDOUT : -errno;
		if (*len == size - 1)
			return -EMSGSIZE;
		if ((n = recv(s, buf + *len, size - 1 - *len, 0)) < 0)
			return -errno;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	buf[*len] = '\0';
	return 0;
}

int ctl_http(const char *path, const char *method, const char *url, const char *body,
             int timeout_ms, struct ctl_answer *a)
{
	char head[512];
	size_t blen = body ? strlen(body) : 0, len;
	int s, n, rc;
	char *p = NULL;

	memset(a, 0, sizeof(*a));
	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: clientd\r\n"
	             "Connection: close\r\nContent-Type: application/json\r\n"
	             "Content-Length: %zu\r\n\r\n", method, url, blen);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	if ((s = connect_unix(path)) < 0)
		return s;
	if (!(a->raw = malloc(CTL_RESP_MAX))) {
		close(s);
		return -ENOMEM;
	}
	if ((rc = send_all(s, head, (size_t)n)) == 0 && blen)
		rc = send_all(s, body, blen);
	if (rc == 0)
		rc = read_all(s, a->raw, CTL_RESP_MAX, timeout_ms, &len);
	close(s);
	if (rc == 0 && (sscanf(a->raw, "HTTP/1.%*d %d", &a->status) != 1 ||
	                !(p = strstr(a->raw, "\r\n\r\n"))))
		rc = -EPROTO;
	if (rc < 0) {
		ctl_answer_release(a);
		return rc;
	}
	a->body = p + 4;
	a->json = json_loads(a->body, 0, NULL);
	return 0;
}

void ctl_answer_release(struct ctl_answer *a)
{
	json_decref(a->json);
	free(a->raw);
	memset(a, 0, sizeof(*a));
}

static const char *field(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	return json_is_string(v) ? json_string_value(v) : "-";
}

static void print_bytes(FILE *out, const char *name, json_t *v)
{
	double n;
	const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	if (!json_is_integer(v)) {
		fprintf(out, "%-11s -\n", name);
		return;
	}
	n = (double)json_integer_value(v);
	while (n >= 1024 && u < 4) {
		n /= 1024;
		u++;
	}
	fprintf(out, "%-11s %.1f %s (%" JSON_INTEGER_FORMAT " bytes)\n", name, n, unit[u],
	        json_integer_value(v));
}

/* The human table of GET /status. */
static void print_status(FILE *out, json_t *j)
{
	static const char *const keys[] = { "state", "region", "session", "exit", "path",
		"address", "endpoint", "stream", NULL };
	json_t *age = json_object_get(j, "handshake_age_s");
	size_t i;

	for (i = 0; keys[i]; i++)
		fprintf(out, "%-11s %s\n", keys[i], field(j, keys[i]));
	fprintf(out, "%-11s %s\n", "fail_closed",
	        json_is_true(json_object_get(j, "fail_closed")) ? "yes" : "no");
	print_bytes(out, "rx", json_object_get(j, "rx_bytes"));
	print_bytes(out, "tx", json_object_get(j, "tx_bytes"));
	if (json_is_integer(age))
		fprintf(out, "%-11s %" JSON_INTEGER_FORMAT " s ago\n", "handshake",
		        json_integer_value(age));
	else
		fprintf(out, "%-11s -\n", "handshake");
	fprintf(out, "%-11s %s\n", "last_error", field(j, "last_error"));
}

static int ctl_usage(FILE *err)
{
	fprintf(err, "usage: clientd [-c file] [-o key=value] ctl connect REGION\n"
	             "       clientd [-c file] [-o key=value] ctl disconnect\n"
	             "       clientd [-c file] [-o key=value] ctl status [--json]\n"
	             "       clientd [-c file] [-o key=value] ctl health [--json]\n"
	             "       clientd [-c file] [-o key=value] ctl exits [--json]\n");
	return EXIT_USAGE;
}

/* What a verb sends: method, path and body (malloc'd or NULL). */
static int build_request(int argc, char **argv, const char **method, const char **url,
                         char **body, int *json_out)
{
	int want = 1;

	*json_out = argc == 2 && !strcmp(argv[1], "--json");
	*body = NULL;
	*method = "GET";
	if (!strcmp(argv[0], "connect")) {
		json_t *j;

		if (argc != 2)
			return -EINVAL;
		j = json_pack("{s:s}", "region", argv[1]);
		*body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		*method = "POST";
		*url = "/connect";
		return *body ? 0 : -EINVAL;
	}
	if (!strcmp(argv[0], "disconnect")) {
		*method = "POST";
		*url = "/disconnect";
		want = 1;
	} else if (!strcmp(argv[0], "status")) {
		*url = "/status";
		want = 1 + *json_out;
	} else if (!strcmp(argv[0], "health")) {
		*url = "/health";
		want = 1 + *json_out;
	} else if (!strcmp(argv[0], "exits")) {
		*url = "/exits";
		want = 1 + *json_out;
	} else {
		return -EINVAL;
	}
	return argc == want ? 0 : -EINVAL;
}

/* The answer, as the verb shows it; the exit status. */
static int show(const char *verb, const struct ctl_answer *a, int raw, FILE *out, FILE *err)
{
	int ok = a->status >= 200 && a->status < 300;

	if (raw || !a->json) {
		fprintf(ok ? out : err, "%s\n", a->body);
		return ok ? 0 : EXIT_ERR;
	}
	if (!ok) {
		fprintf(err, "clientd: %s\n", json_is_object(a->json) &&
		        json_object_get(a->json, "error") ? field(a->json, "error") : a->body);
		if (!strcmp(verb, "health"))
			fprintf(err, "unhealthy: state %s, stream %s, interface %s\n",
			        field(a->json, "state"), field(a->json, "stream"),
			        field(a->json, "interface"));
		return EXIT_ERR;
	}
	if (!strcmp(verb, "status"))
		print_status(out, a->json);
	else if (!strcmp(verb, "health"))
		fprintf(out, "healthy: state %s, stream %s\n", field(a->json, "state"),
		        field(a->json, "stream"));
	else if (!strcmp(verb, "exits"))
		fprintf(out, "%s\n", a->body);
	else
		fprintf(out, "%s%s%s\n", field(a->json, "state"),
		        json_object_get(a->json, "region") ? " " : "",
		        json_object_get(a->json, "region") ? field(a->json, "region") : "");
	return 0;
}

int ctl_main(const char *socket_path, int argc, char **argv, FILE *out, FILE *err)
{
	const char *method, *url;
	struct ctl_answer a;
	char *body;
	int raw, rc;

	if (argc < 1 || build_request(argc, argv, &method, &url, &body, &raw) < 0)
		return ctl_usage(err);
	if (!socket_path || !socket_path[0]) {
		fprintf(err, "clientd: no api_socket configured\n");
		free(body);
		return EXIT_USAGE;
	}
	rc = ctl_http(socket_path, method, url, body, CTL_TIMEOUT_MS, &a);
	free(body);
	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		fprintf(err, "clientd is not running (no socket at %s)\n", socket_path);
		return EXIT_TEMP;
	}
	if (rc < 0) {
		fprintf(err, "clientd: %s: %s\n", socket_path, strerror(-rc));
		return rc == -EACCES ? EXIT_ERR : EXIT_TEMP;
	}
	rc = show(argv[0], &a, raw, out, err);
	ctl_answer_release(&a);
	return rc;
}
