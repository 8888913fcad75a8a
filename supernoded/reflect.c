/* Endpoint discovery through two reflector WireGuard interfaces (reflect.h).
 * WireGuard itself does the observing: a reflector learns each peer's
 * source ip:port from its authenticated handshakes, so what `peer list`
 * shows is the peer's WireGuard port as the internet sees it, unforgeable
 * by anyone without the peer's key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "handshake.pb-c.h"
#include "keys.h"
#include "line.h"
#include "line_client.h"
#include "log.h"
#include "msg.h"
#include "peer.h"
#include "reflect.h"
#include "session.h"

#define REFLECT_TIMEOUT_MS 5000

struct sn_reflect {
	struct supernoded *sn;
	uv_timer_t timer;            /* interface retries, then the polls */
	int timer_open, stopping;
	int reqs;                    /* requests in flight: they hold r */
	unsigned have;               /* bit i: smrefl<i> is up */
	unsigned ensuring;           /* bit i: its iface ensure is in flight */
	unsigned listing;            /* bit i: its peer list (a page) is in flight */
	unsigned paged;              /* bit i: past its first page; last[i] is set */
	uint8_t last[REFLECT_N][32]; /* the last key of the page before */
	uint8_t pub[REFLECT_N][32];
	char ep[REFLECT_N][NATCLASS_EP_MAX];
};

struct refl_req {
	struct sn_reflect *r;
	int idx;
	void (*fn)(struct sn_reflect *r, int idx, int status, const char *reply);
};

static void maybe_free(struct sn_reflect *r)
{
	if (r->stopping && !r->timer_open && r->reqs == 0)
		free(r);
}

static void on_reply(void *arg, int status, const char *reply)
{
	struct refl_req *q = arg;
	struct sn_reflect *r = q->r;

	r->reqs--;
	if (!r->stopping && q->fn)
		q->fn(r, q->idx, status, reply);
	free(q);
	maybe_free(r);
}

static int request(struct sn_reflect *r, int idx, const char *req,
                   void (*fn)(struct sn_reflect *, int, int, const char *))
{
	struct refl_req *q = calloc(1, sizeof(*q));
	int rc;

	if (!q)
		return -ENOMEM;
	q->r = r;
	q->idx = idx;
	q->fn = fn;
	rc = line_request_async(r->sn->loop, r->sn->set.wgrelay_socket, req, REFLECT_TIMEOUT_MS,
	                        on_reply, q);
	if (rc < 0) {
		free(q);
		return rc;
	}
	r->reqs++;
	return 0;
}

static void iface_name(int idx, char *out, size_t size)
{
	snprintf(out, size, "smrefl%c", (char)('0' + (idx & 7)));
}

static void add_all(struct sn_reflect *r);

static void on_ensured(struct sn_reflect *r, int idx, int status, const char *reply)
{
	char b64[KEY_B64_LEN + 8];

	r->ensuring &= ~(1u << idx);
	if (status < 0 || line_reply_parse(reply, NULL, 0, NULL, 0) != 1 ||
	    line_reply_value(reply, "pubkey", b64, sizeof(b64)) < 0 ||
	    key_from_base64(b64, r->pub[idx]) < 0) {
		log_warnx("event=reflector_failed iface=smrefl%d status=%d reply=\"%s\"", idx,
		          status, status < 0 ? "-" : reply);
		return; /* the timer tries again */
	}
	r->have |= 1u << idx;
	log_info("event=reflector_up iface=smrefl%d endpoint=%s", idx, r->ep[idx]);
	if (reflect_ready(r->sn))
		add_all(r);
}

static void ensure_missing(struct sn_reflect *r)
{
	char req[128], name[16];
	int i;

	for (i = 0; i < REFLECT_N; i++) {
		if ((r->have | r->ensuring) & (1u << i))
			continue;
		iface_name(i, name, sizeof(name));
		snprintf(req, sizeof(req), "iface ensure %s port %u", name,
		         (unsigned)r->sn->set.reflector_port + (unsigned)i);
		if (request(r, i, req, on_ensured) == 0)
			r->ensuring |= 1u << i;
	}
}

static int reflected_role(const struct sn_peer *p)
{
	return p->role == SUPERMESH__ROLE__ROLE_CLIENT || p->role == SUPERMESH__ROLE__ROLE_EXIT;
}

static void add_all(struct sn_reflect *r)
{
	struct sn_peer *p;

	for (p = r->sn->peers; p; p = p->next)
		if (p->stream && p->synced && !p->reflected)
			reflect_peer_up(p);
}

static struct sn_peer *peer_by_wg(struct supernoded *sn, const uint8_t key[32])
{
	struct sn_peer *p;

	for (p = sn->peers; p; p = p->next)
		if (p->has_wg && reflected_role(p) && !memcmp(p->wg_pubkey, key, 32))
			return p;
	return NULL;
}

/* What the peer binds, to tell "none" from "eim": the WireGuard local
 * endpoint it reported, else (an older exit) its configured endpoint. */
static const char *local_endpoint(const struct sn_peer *p)
{
	if (p->wg_local[0])
		return p->wg_local;
	return p->role == SUPERMESH__ROLE__ROLE_EXIT ? p->exit.endpoint : "";
}

static void classify(struct sn_peer *p, int idx, const char *ep)
{
	enum nat_class nat = natclass_classify(local_endpoint(p), p->seen[0], p->seen[1]);

	log_info("event=peer_endpoint peer_id=%s reflector=%d endpoint=%s nat=%s", p->hex, idx,
	         ep[0] ? ep : "-", natclass_name(nat));
	p->nat = nat;
	if (p->seen[0][0] && nat != NAT_UNKNOWN)
		punch_peer_moved(p);
}

/* A reflector's view changed: classify again. */
static void observe(struct sn_peer *p, int idx, const char *ep)
{
	if (!strcmp(p->seen[idx], ep))
		return;
	snprintf(p->seen[idx], sizeof(p->seen[idx]), "%s", ep);
	classify(p, idx, ep);
}

void reflect_peer_local(struct sn_peer *p, const char *ep)
{
	int bad = ep[0] && natclass_endpoint_split(ep, NULL, 0, NULL) < 0;

	if (bad && !p->wg_local_bad) {
		char shown[NATCLASS_EP_MAX];

		check_text_shown(shown, sizeof(shown), ep);
		log_warnx("event=bad_wg_local_endpoint peer_id=%s endpoint=\"%s\" len=%zu",
		          p->hex, shown, strlen(ep));
	}
	p->wg_local_bad = bad;
	if (bad)
		ep = ""; /* never trusted: as if not sent */
	if (!strcmp(p->wg_local, ep))
		return;
	snprintf(p->wg_local, sizeof(p->wg_local), "%s", ep);
	/* Sent after the reflectors saw it: the class may move to or from none. */
	if (p->seen[0][0] && p->seen[1][0])
		classify(p, 0, p->seen[0]);
}

/* The peer= words of one page; returns 1 and the page's last= key when
 * more=1 says another page follows, else 0. */
static int list_page(struct sn_reflect *r, int idx, char *buf, uint8_t last[32])
{
	char *argv[LINE_MAX_ARGS], *f[2], *save;
	const char *why;
	uint8_t key[32];
	struct sn_peer *p;
	int i, n, more = 0, has_last = 0;

	n = line_split(buf, strlen(buf), argv, LINE_MAX_ARGS, &why);
	if (n < 0)
		log_warnx("event=reflector_list_failed iface=smrefl%d error=\"%s\"", idx, why);
	for (i = 1; i < n; i++) {
		if (!strcmp(argv[i], "more=1"))
			more = 1;
		else if (!strncmp(argv[i], "last=", 5))
			has_last = key_from_base64(argv[i] + 5, last) == 0;
		if (strncmp(argv[i], "peer=", 5))
			continue;
		save = NULL;
		if (!(f[0] = strtok_r(argv[i] + 5, ",", &save)) ||
		    !(f[1] = strtok_r(NULL, ",", &save)) || key_from_base64(f[0], key) < 0 ||
		    !(p = peer_by_wg(r->sn, key)))
			continue;
		observe(p, idx, natclass_endpoint_split(f[1], NULL, 0, NULL) == 0 ? f[1] : "");
	}
	return more && has_last;
}

static void on_list(struct sn_reflect *r, int idx, int status, const char *reply);

/* Asks for the page after `last`; the listing bit stays set meanwhile, so
 * the poll is one walk at a time. A key not above the previous page's
 * would loop: the poll ends there. */
static void next_page(struct sn_reflect *r, int idx, const uint8_t last[32])
{
	char req[96], name[16], b64[KEY_B64_LEN];

	if (r->paged & (1u << idx) && memcmp(last, r->last[idx], 32) <= 0) {
		log_warnx("event=reflector_list_failed iface=smrefl%d error=\"page out of order\"",
		          idx);
		return;
	}
	memcpy(r->last[idx], last, 32);
	iface_name(idx, name, sizeof(name));
	key_to_base64(last, b64);
	snprintf(req, sizeof(req), "peer list %s after %s", name, b64);
	if (request(r, idx, req, on_list) == 0)
		r->listing |= 1u << idx;
}

/* "ok count=N [more=0|1 last=B64] peer=B64,ENDPOINT,HANDSHAKE,RX,TX ...":
 * pages in key order until more=0, then this reflector's poll is done. */
static void on_list(struct sn_reflect *r, int idx, int status, const char *reply)
{
	char buf[LINE_MAX_LEN + 1];
	uint8_t last[32];
	int more;

	r->listing &= ~(1u << idx);
	if (status < 0 || line_reply_parse(reply, NULL, 0, NULL, 0) != 1) {
		r->paged &= ~(1u << idx); /* the next tick starts afresh */
		if (status == 0) /* an err reply is worth seeing */
			log_warnx("event=reflector_list_failed iface=smrefl%d reply=\"%s\"", idx,
			          reply);
		else
			log_debug("event=reflector_list_failed iface=smrefl%d status=%d", idx, status);
		return;
	}
	snprintf(buf, sizeof(buf), "%s", reply);
	more = list_page(r, idx, buf, last);
	if (more)
		next_page(r, idx, last);
	if (!(r->listing & (1u << idx)))
		r->paged &= ~(1u << idx); /* the poll is complete (or gave up) */
	else
		r->paged |= 1u << idx;
}

static void on_timer(uv_timer_t *t)
{
	struct sn_reflect *r = t->data;
	char req[64], name[16];
	int i;

	if (!reflect_ready(r->sn)) {
		ensure_missing(r);
		return;
	}
	for (i = 0; i < REFLECT_N; i++) {
		if (r->listing & (1u << i))
			continue; /* a slow wgrelay gets no pile of requests */
		iface_name(i, name, sizeof(name));
		snprintf(req, sizeof(req), "peer list %s", name);
		if (request(r, i, req, on_list) == 0)
			r->listing |= 1u << i;
	}
}

int reflect_start(struct supernoded *sn)
{
	struct sn_reflect *r;
	uint64_t period = sn->set.reflect_poll_ms ? sn->set.reflect_poll_ms : REFLECT_POLL_MS;
	int i, v6 = strchr(sn->set.relay_host, ':') != NULL;

	if (!sn->set.reflector_port)
		return 0;
	if (sn->set.reflector_port == 65535 || !(r = calloc(1, sizeof(*r))))
		return sn->set.reflector_port == 65535 ? -EINVAL : -ENOMEM;
	r->sn = sn;
	for (i = 0; i < REFLECT_N; i++)
		snprintf(r->ep[i], sizeof(r->ep[i]), v6 ? "[%s]:%u" : "%s:%u", sn->set.relay_host,
		         (unsigned)sn->set.reflector_port + (unsigned)i);
	uv_timer_init(sn->loop, &r->timer);
	r->timer.data = r;
	r->timer_open = 1;
	uv_timer_start(&r->timer, on_timer, period < REFLECT_RETRY_MS ? period : REFLECT_RETRY_MS,
	               period);
	sn->refl = r;
	ensure_missing(r);
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct sn_reflect *r = h->data;

	r->timer_open = 0;
	maybe_free(r);
}

void reflect_stop(struct supernoded *sn)
{
	struct sn_reflect *r = sn->refl;

	if (!r)
		return;
	sn->refl = NULL;
	r->stopping = 1;
	uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

int reflect_ready(const struct supernoded *sn)
{
	return sn->refl && sn->refl->have == (1u << REFLECT_N) - 1;
}

static void peer_request(struct sn_reflect *r, const struct sn_peer *p, const char *verb)
{
	char req[160], name[16], b64[KEY_B64_LEN];
	int i;

	key_to_base64(p->wg_pubkey, b64);
	for (i = 0; i < REFLECT_N; i++) {
		iface_name(i, name, sizeof(name));
		if (!strcmp(verb, "add"))
			snprintf(req, sizeof(req), "peer add %s %s allowed-ips none", name, b64);
		else
			snprintf(req, sizeof(req), "peer del %s %s", name, b64);
		if (request(r, i, req, NULL) < 0)
			log_warnx("event=reflector_peer_failed peer_id=%s verb=%s", p->hex, verb);
	}
}

static void send_info(struct sn_reflect *r, struct sn_peer *p)
{
	Supermesh__ControlMessage m;
	Supermesh__ReflectorInfo ri;
	Supermesh__Reflector ent[REFLECT_N], *ptr[REFLECT_N];
	int i;

	supermesh__control_message__init(&m);
	supermesh__reflector_info__init(&ri);
	for (i = 0; i < REFLECT_N; i++) {
		supermesh__reflector__init(&ent[i]);
		ent[i].pubkey.data = r->pub[i];
		ent[i].pubkey.len = 32;
		ent[i].endpoint = r->ep[i];
		ptr[i] = &ent[i];
	}
	ri.reflectors = ptr;
	ri.n_reflectors = REFLECT_N;
	/* Never longer than the default: the mapping must stay open. */
	ri.keepalive_s = sn_keepalive_s(r->sn);
	if (ri.keepalive_s > 25)
		ri.keepalive_s = 25;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_REFLECTOR_INFO;
	m.reflector_info = &ri;
	if (peer_send(p, &m) < 0)
		log_warnx("event=reflector_info_lost peer_id=%s", p->hex);
}

void reflect_peer_up(struct sn_peer *p)
{
	struct sn_reflect *r = p->sn->refl;

	if (!r || !reflect_ready(p->sn) || !p->has_wg || !reflected_role(p))
		return;
	/* A new stream may come from a new address: observe afresh. */
	p->seen[0][0] = p->seen[1][0] = '\0';
	p->nat = NAT_UNKNOWN;
	peer_request(r, p, "add");
	send_info(r, p);
	p->reflected = 1;
}

void reflect_peer_gone(struct sn_peer *p)
{
	struct sn_reflect *r = p->sn->refl;

	if (r && p->reflected && p->has_wg)
		peer_request(r, p, "del");
	p->reflected = 0;
}

void reflect_counts(struct supernoded *sn, size_t counts[4])
{
	const struct sn_peer *p;

	memset(counts, 0, 4 * sizeof(counts[0]));
	for (p = sn->peers; p; p = p->next)
		if (p->stream && reflected_role(p) && (unsigned)p->nat < 4)
			counts[p->nat]++;
}
