/* Relays through wgrelay's line protocol: `relay add <session hex> [to
 * HOST:PORT]` answers client_port and exit_port; `relay del` on teardown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "line.h"
#include "line_client.h"
#include "log.h"
#include "session.h"

#define RELAY_TIMEOUT_MS 5000

struct relay_req {
	struct sn_session *s;
	relay_done_fn done;
};

/* Builds "verb word [to ADDR]" with every word escaped. */
static int build(char *buf, size_t size, const char *verb, const char *id, const char *to)
{
	size_t len;

	snprintf(buf, size, "%s ", verb);
	if (line_escape(buf, size, id) < 0)
		return -EMSGSIZE;
	if (!to)
		return 0;
	len = strlen(buf);
	if (len + 4 >= size)
		return -EMSGSIZE;
	snprintf(buf + len, size - len, " to ");
	return line_escape(buf, size, to);
}

/* "client_port=N" style value of key in an ok reply, 1..65535. */
static int reply_port(const char *reply, const char *key, uint16_t *port)
{
	char pat[32];
	const char *p;
	char *end;
	long v;

	snprintf(pat, sizeof(pat), " %s=", key);
	if (!(p = strstr(reply, pat)))
		return -EPROTO;
	p += strlen(pat);
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno || end == p || (*end != ' ' && *end != '\0') || v < 1 || v > 65535)
		return -EPROTO;
	*port = (uint16_t)v;
	return 0;
}

static void on_add_reply(void *arg, int status, const char *reply)
{
	struct relay_req *rq = arg;
	struct sn_session *s = rq->s;
	char code[32] = "", msg[256] = "";
	uint16_t cport = 0, eport = 0;
	int rc = status;

	if (rc == 0 && line_reply_parse(reply, code, sizeof(code), msg, sizeof(msg)) != 1)
		rc = -EREMOTEIO;
	if (rc == 0 && (reply_port(reply, "client_port", &cport) < 0 ||
	                reply_port(reply, "exit_port", &eport) < 0))
		rc = -EPROTO;
	if (rc < 0)
		log_warnx("event=relay_add_failed session_id=%s err=\"%s %s\"", s->hex,
		          rc == -EREMOTEIO ? code : strerror(-rc), msg);
	if (rc == 0) {
		s->rec.relay = 1;
		s->rec.client_port = cport;
		s->rec.exit_port = eport;
		s->sn->relays_active++;
		log_info("event=relay_added session_id=%s client_port=%u exit_port=%u", s->hex,
		         cport, eport);
	}
	rq->done(s, rc);
	free(rq);
	session_release(s);
}

int relay_add(struct sn_session *s, const char *to, relay_done_fn done)
{
	struct relay_req *rq;
	char req[LINE_MAX_LEN];
	int rc;

	if ((rc = build(req, sizeof(req), "relay add", s->hex, to)) < 0)
		return rc;
	if (!(rq = calloc(1, sizeof(*rq))))
		return -ENOMEM;
	rq->s = s;
	rq->done = done;
	session_hold(s);
	rc = line_request_async(s->sn->loop, s->sn->set.wgrelay_socket, req, RELAY_TIMEOUT_MS,
	                        on_add_reply, rq);
	if (rc < 0) {
		session_release(s);
		free(rq);
	}
	return rc;
}

static void on_del_reply(void *arg, int status, const char *reply)
{
	char *hex = arg;

	if (status < 0 || line_reply_parse(reply, NULL, 0, NULL, 0) != 1)
		log_warnx("event=relay_del_failed session_id=%s", hex);
	free(hex);
}

void relay_del(struct supernoded *sn, const char *hex)
{
	char req[LINE_MAX_LEN], *copy;

	if (sn->relays_active)
		sn->relays_active--;
	if (build(req, sizeof(req), "relay del", hex, NULL) < 0 || !(copy = strdup(hex)))
		return;
	if (line_request_async(sn->loop, sn->set.wgrelay_socket, req, RELAY_TIMEOUT_MS,
	                       on_del_reply, copy) < 0) {
		log_warnx("event=relay_del_failed session_id=%s", hex);
		free(copy);
	}
}
