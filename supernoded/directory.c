/* basenoded links (lib/peerlink, role SUPERNODE, pinned keys): register on
 * every stream, report load every heartbeat, ask for other regions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "directory.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "peerlink.h"
#include "session.h"
#include "stream.h"

struct sn_directory {
	struct supernoded *sn;
	struct peerlink *links[SN_MAX_LIST];
	size_t n;
	uv_timer_t timer;
	uint64_t cpu_us, cpu_at_ms;      /* last CPU sample, for cpu_pct */
	uint32_t cpu_pct;
};

/* Our CPU use since the last sample, in percent of one core. */
static uint32_t cpu_sample(struct sn_directory *d)
{
	uv_rusage_t ru;
	uint64_t us, now = uv_now(d->sn->loop);

	if (uv_getrusage(&ru) < 0)
		return d->cpu_pct;
	us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	     (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	if (d->cpu_at_ms && now > d->cpu_at_ms) {
		uint64_t pct = (us - d->cpu_us) / 10 / (now - d->cpu_at_ms);

		d->cpu_pct = pct > 100 ? 100 : (uint32_t)pct;
	}
	d->cpu_us = us;
	d->cpu_at_ms = now;
	return d->cpu_pct;
}

static void send_load(struct sn_directory *d, struct peerlink *pl)
{
	struct supernoded *sn = d->sn;
	Supermesh__ControlMessage m;
	Supermesh__LoadReport r;

	supermesh__control_message__init(&m);
	supermesh__load_report__init(&r);

	r.streams = sn->streams ? (uint32_t)stream_server_count(sn->streams, 1) : 0;
	r.exits = (uint32_t)peer_count(sn, SUPERMESH__ROLE__ROLE_EXIT, 1);
	r.relay_sessions = (uint32_t)sn->relays_active;
	r.cpu_pct = cpu_sample(d);
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_LOAD_REPORT;
	m.load_report = &r;
	peerlink_send(pl, &m);
}

static void on_up(struct peerlink *pl)
{
	struct sn_directory *d = peerlink_data(pl);
	struct supernoded *sn = d->sn;
	Supermesh__ControlMessage m;
	Supermesh__RegisterSupernode r;

	supermesh__control_message__init(&m);
	supermesh__register_supernode__init(&r);

	r.region = sn->set.region;
	r.public_address = sn->set.public_address;
	r.relay_host = sn->set.relay_host;
	r.capacity = (uint32_t)sn->set.max_streams;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_REGISTER_SUPERNODE;
	m.register_supernode = &r;
	if (peerlink_send(pl, &m) == 0)
		send_load(d, pl);
	log_info("event=registered region=%s public_address=%s", r.region, r.public_address);
}

static void on_message(struct peerlink *pl, const Supermesh__ControlMessage *m)
{
	struct sn_directory *d = peerlink_data(pl);

	if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REGION_RESPONSE)
		remote_region_answer(d->sn, m->exit_region_response);
	else if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_ERROR)
		log_warnx("event=basenoded_error code=%u", m->error->code);
}

static void on_down(struct peerlink *pl, int status, const char *reason)
{
	log_warnx("event=basenoded_down status=%d", status);
}

static void on_timer(uv_timer_t *t)
{
	struct sn_directory *d = t->data;
	size_t i;

	/* Sampled every heartbeat even with no basenoded, for /metrics. */
	cpu_sample(d);
	sn_observe_heartbeat(d->sn);
	for (i = 0; i < d->n; i++) {
		sn_observe_rtt(d->sn, d->links[i]);
		if (peerlink_is_up(d->links[i]))
			send_load(d, d->links[i]);
	}
}

static const struct peerlink_cbs link_cbs = { on_up, on_message, on_down };

int directory_new(struct supernoded *sn, struct sn_directory **out)
{
	struct sn_directory *d = calloc(1, sizeof(*d));
	struct peerlink_opts o = {
		.id = &sn->id, .role = SUPERMESH__ROLE__ROLE_SUPERNODE, .region = sn->set.region,
		.ping_ms = sn->set.heartbeat_s * 1000, .dead_ms = sn->set.dead_after_s * 1000,
	};
	uint64_t period = (uint64_t)sn->set.heartbeat_s * 1000;
	size_t i;
	int rc;

	if (!d)
		return -ENOMEM;
	d->sn = sn;
	uv_timer_init(sn->loop, &d->timer);
	d->timer.data = d;
	uv_timer_start(&d->timer, on_timer, period, period);
	for (i = 0; i < sn->set.nbn; i++) {
		o.pinned_server_id = sn->set.bn_key[i];
		o.addr = (const struct sockaddr *)&sn->set.bn_addr[i];
		if ((rc = peerlink_new(sn->loop, &o, &link_cbs, d, &d->links[i])) < 0) {
			directory_free(d);
			return rc;
		}
		d->n++;
	}
	*out = d;
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

void directory_free(struct sn_directory *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++)
		peerlink_free(d->links[i]);
	uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

int directory_lookup(struct sn_directory *d, const char *region,
                     const uint8_t id[MSG_ID_LEN])
{
	Supermesh__ControlMessage m;
	Supermesh__ExitRegionRequest r;
	size_t i;

	supermesh__control_message__init(&m);
	supermesh__exit_region_request__init(&r);

	r.request_id.data = (uint8_t *)(uintptr_t)id;
	r.request_id.len = MSG_ID_LEN;
	r.region = (char *)(uintptr_t)region;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REGION_REQUEST;
	m.exit_region_request = &r;
	for (i = 0; d && i < d->n; i++)
		if (peerlink_is_up(d->links[i]) && peerlink_send(d->links[i], &m) == 0)
			return 0;
	return -ENOTCONN;
}

size_t directory_up(const struct sn_directory *d)
{
	size_t i, n = 0;

	for (i = 0; d && i < d->n; i++)
		n += peerlink_is_up(d->links[i]) ? 1 : 0;
	return n;
}

uint32_t directory_cpu_pct(const struct sn_directory *d)
{
	return d ? d->cpu_pct : 0;
}
