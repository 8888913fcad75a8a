/* The daemon core without main(): settings defaults, making and stopping
 * everything (store, streams, commands, basenoded links, sweeps). Tests
 * build supernoded from here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "command.h"
#include "directory.h"
#include "log.h"
#include "peer.h"
#include "reflect.h"
#include "session.h"
#include "store.h"
#include "stream.h"

#define JOURNAL_KEEP_S (24 * 3600)
#define JOURNAL_EXPIRE_EVERY_MS (3600 * 1000)
#define PATH_TICK_MS 200

uint32_t sn_keepalive_s(const struct supernoded *sn)
{
	return sn->set.keepalive_s ? sn->set.keepalive_s : 25;
}

void sn_settings_default(struct sn_settings *s)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&s->listen;

	memset(s, 0, sizeof(*s));
	uv_ip4_addr("0.0.0.0", 7100, sin);
	snprintf(s->region, sizeof(s->region), "default");
	snprintf(s->public_address, sizeof(s->public_address), "127.0.0.1:7100");
	snprintf(s->relay_host, sizeof(s->relay_host), "127.0.0.1");
	snprintf(s->wgrelay_socket, sizeof(s->wgrelay_socket), "/run/supermesh/wgrelay.sock");
	s->heartbeat_s = 10;
	s->dead_after_s = 30;
	s->keepalive_s = 25;
	s->max_streams = 4096;
	s->max_handshakes_per_ip = 16;
	snprintf(s->allowed_ips[0], SN_LIST_ITEM, "0.0.0.0/0");
	s->nallowed_ips = 1;
	s->cmd_retries = 3;
	s->auth_rate = 20;
	s->auth_burst = 40;
	s->max_msgs_per_s = 100;
	s->max_msgs_per_s_supernode = 2000;
}

int sn_split_list(const char *text, char list[][SN_LIST_ITEM], size_t max, size_t *n)
{
	const char *p = text, *end;
	size_t len;

	*n = 0;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		for (end = p; *end && *end != ',' && *end != ' '; end++)
			;
		len = (size_t)(end - p);
		if (*n == max || len >= SN_LIST_ITEM)
			return -EINVAL;
		memcpy(list[*n], p, len);
		list[(*n)++][len] = '\0';
		p = end;
	}
	return 0;
}

static int load_revoked(void *arg, const uint8_t id[ID_PK_LEN])
{
	int rc = id_set_add(arg, id);

	return rc == -EEXIST ? 0 : rc;
}

static void on_tick(uv_timer_t *t)
{
	struct supernoded *sn = t->data;
	uint64_t now = uv_now(sn->loop);

	stream_server_sweep(sn->streams, now, (uint64_t)sn->set.dead_after_s * 1000);
	session_sweep(sn, now);
	/* Applied command ids are kept a day: far longer than any resend. */
	if (sn->store && now - sn->journal_expired_ms > JOURNAL_EXPIRE_EVERY_MS) {
		sn->journal_expired_ms = now;
		if (cmd_journal_expire(&sn->store->st, JOURNAL_KEEP_S) < 0)
			log_warnx("event=journal_expire_failed");
	}
}

static void on_path_tick(uv_timer_t *t)
{
	struct supernoded *sn = t->data;

	punch_sweep(sn, uv_now(sn->loop));
}

/* Sweep often enough that eviction is late by at most a quarter period. */
static uint64_t tick_period(const struct sn_settings *s)
{
	uint64_t p = (uint64_t)s->dead_after_s * 1000 / 4;

	return p < 50 ? 50 : p > 1000 ? 1000 : p;
}

static int core_open_state(struct supernoded *sn, const char *db_path, char *err,
                           size_t err_size)
{
	int rc;

	if (!db_path)
		return 0;
	if ((rc = store_open(db_path, &sn->store, err, err_size)) < 0)
		return rc;
	if ((rc = store_revoked_load(sn->store, load_revoked, &sn->policy.revoked)) < 0 ||
	    (rc = session_load_all(sn)) < 0)
		snprintf(err, err_size, "%s: cannot load state", db_path);
	return rc;
}

static int core_start(struct supernoded *sn, char *err, size_t err_size)
{
	struct cmd_sender_opts co = { sn->set.cmd_timeout_ms, sn->set.cmd_retries };
	uint64_t period = tick_period(&sn->set);
	int rc;

	if ((rc = cmd_sender_new(sn->loop, &co, &sn->cmds)) < 0) {
		snprintf(err, err_size, "commands: %s", strerror(-rc));
		return rc;
	}
	if ((rc = stream_server_new(sn, (const struct sockaddr *)&sn->set.listen,
	                            &sn->streams)) < 0) {
		snprintf(err, err_size, "listen: %s", uv_strerror(rc));
		return rc;
	}
	if ((rc = directory_new(sn, &sn->dir)) < 0) {
		snprintf(err, err_size, "basenoded links: %s", strerror(-rc));
		return rc;
	}
	if ((rc = reflect_start(sn)) < 0) {
		snprintf(err, err_size, "reflectors: %s", strerror(-rc));
		return rc;
	}
	uv_timer_init(sn->loop, &sn->tick);
	sn->tick.data = sn;
	sn->tick_open = 1;
	uv_timer_start(&sn->tick, on_tick, period, period);
	/* A failed punch should cost its 5 s and little more. */
	uv_timer_init(sn->loop, &sn->path_tick);
	sn->path_tick.data = sn;
	sn->path_tick_open = 1;
	uv_timer_start(&sn->path_tick, on_path_tick, PATH_TICK_MS, PATH_TICK_MS);
	return 0;
}

int sn_core_new(uv_loop_t *loop, const struct sn_settings *s, const struct identity *id,
                const char *db_path, struct supernoded **out, char *err, size_t err_size)
{
	struct supernoded *sn = calloc(1, sizeof(*sn));
	int rc;

	*out = NULL;
	if (!sn)
		return -ENOMEM;
	sn->loop = loop;
	sn->set = *s;
	sn->id = *id;
	bytes_to_hex(id->pk, ID_PK_LEN, sn->id_hex);
	policy_init(&sn->policy, s->allowlist, s->auth_rate, s->auth_burst);
	peer_index_init(&sn->peer_ix, offsetof(struct sn_peer, id));
	session_list_init(sn);
	connlimit_init(&sn->pending, s->max_handshakes_per_ip);
	rc = s->allow_file[0] ? policy_load_allow(&sn->policy, s->allow_file, err, err_size) : 0;
	if (rc < 0 || (rc = core_open_state(sn, db_path, err, err_size)) < 0 ||
	    (rc = core_start(sn, err, err_size)) < 0) {
		sn_core_stop(sn);
		uv_run(loop, UV_RUN_DEFAULT);
		sn_core_destroy(sn);
		return rc;
	}
	*out = sn;
	return 0;
}

int sn_listen_addr(struct supernoded *sn, struct sockaddr_storage *ss)
{
	return stream_server_addr(sn->streams, ss);
}

void sn_core_stop(struct supernoded *sn)
{
	if (sn->stopping)
		return;
	sn->stopping = 1;
	/* Pending commands are cancelled first; their callbacks see stopping
	 * and start nothing new. */
	if (sn->cmds)
		cmd_sender_free(sn->cmds);
	sn->cmds = NULL;
	stream_server_free(sn->streams);
	sn->streams = NULL;
	directory_free(sn->dir);
	sn->dir = NULL;
	reflect_stop(sn);
	remote_free_links(sn);
	if (sn->tick_open)
		uv_close((uv_handle_t *)&sn->tick, NULL);
	sn->tick_open = 0;
	if (sn->path_tick_open)
		uv_close((uv_handle_t *)&sn->path_tick, NULL);
	sn->path_tick_open = 0;
}

void sn_core_destroy(struct supernoded *sn)
{
	if (!sn)
		return;
	session_free_all(sn);
	peer_free_all(sn);
	store_close(sn->store);
	policy_release(&sn->policy);
	identity_release(&sn->id);
	free(sn);
}
