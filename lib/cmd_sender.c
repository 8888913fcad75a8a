/* Command sender (DESIGN section 4): pending commands by id, each with its
 * retry timer; resends keep the id, the done callback runs exactly once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "command.h"

#define CMD_DEFAULT_TIMEOUT_MS 5000
#define CMD_MIN_BUCKETS 16

struct cmd_pending {
	struct cmd_sender *s;
	struct cmd_pending *next; /* bucket chain, or a detached list */
	uint8_t id[MSG_ID_LEN];
	Supermesh__ControlMessage msg;
	Supermesh__Command cmd;
	cmd_transmit_fn transmit;
	void *target;
	cmd_done_fn done;
	void *arg;
	unsigned attempts; /* transmissions so far, failed ones included */
	uv_timer_t timer;
	uint8_t payload[];
};

/*
 * Pending commands live in a chained hash keyed by id. The ids are ours and
 * random, so chains stay short whatever a peer sends: a hostile response id
 * only costs one probe.
 */
struct cmd_sender {
	uv_loop_t *loop;
	uint32_t timeout_ms;
	unsigned retries;
	struct cmd_pending **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	size_t open_timers; /* closing included: freed when it reaches 0 */
	int closing;
};

static size_t bucket_of(const struct cmd_sender *s, const uint8_t id[MSG_ID_LEN])
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return (size_t)(h & (s->nbuckets - 1));
}

/* Doubles the table; on allocation failure the old one simply stays. */
static void grow(struct cmd_sender *s)
{
	struct cmd_pending **old = s->buckets, *p, *next;
	size_t i, n = s->nbuckets;

	s->buckets = calloc(n * 2, sizeof(*s->buckets));
	if (!s->buckets) {
		s->buckets = old;
		return;
	}
	s->nbuckets = n * 2;
	for (i = 0; i < n; i++) {
		for (p = old[i]; p; p = next) {
			size_t b = bucket_of(s, p->id);

			next = p->next;
			p->next = s->buckets[b];
			s->buckets[b] = p;
		}
	}
	free(old);
}

static void insert(struct cmd_sender *s, struct cmd_pending *p)
{
	size_t b;

	if (s->count >= s->nbuckets)
		grow(s);
	b = bucket_of(s, p->id);
	p->next = s->buckets[b];
	s->buckets[b] = p;
	s->count++;
}

/* Unlinks and returns the command with this id, or NULL. */
static struct cmd_pending *take(struct cmd_sender *s, const uint8_t id[MSG_ID_LEN])
{
	struct cmd_pending **pp;

	for (pp = &s->buckets[bucket_of(s, id)]; *pp; pp = &(*pp)->next) {
		struct cmd_pending *p = *pp;

		if (memcmp(p->id, id, MSG_ID_LEN) == 0) {
			*pp = p->next;
			p->next = NULL;
			s->count--;
			return p;
		}
	}
	return NULL;
}

static void sender_release(struct cmd_sender *s)
{
	free(s->buckets);
	free(s);
}

static void on_timer_close(uv_handle_t *h)
{
	struct cmd_pending *p = h->data;
	struct cmd_sender *s = p->s;

	free(p);
	if (--s->open_timers == 0 && s->closing)
		sender_release(s);
}

/*
 * Ends an unlinked command: the timer is closed before done runs, so done
 * may send, cancel or free the sender. Nothing here touches p or s after
 * done; both stay allocated until the close callback.
 */
static void finish(struct cmd_pending *p, int status, const Supermesh__CommandResponse *resp)
{
	uv_close((uv_handle_t *)&p->timer, on_timer_close);
	p->done(p->arg, status, resp);
}

static void on_timeout(uv_timer_t *t);

/* The timer is armed before transmit: transmit might deliver the response
 * synchronously and finish p, which must not be touched afterwards. A failed
 * transmit still counts: the next timeout retries it. */
static void send_attempt(struct cmd_pending *p)
{
	p->attempts++;
	uv_timer_start(&p->timer, on_timeout, p->s->timeout_ms, 0);
	(void)p->transmit(p->target, &p->msg);
}

static void on_timeout(uv_timer_t *t)
{
	struct cmd_pending *p = t->data;
	struct cmd_sender *s = p->s;

	if (p->attempts <= s->retries) {
		send_attempt(p);
		return;
	}
	take(s, p->id);
	finish(p, -ETIMEDOUT, NULL);
}

int cmd_sender_new(uv_loop_t *loop, const struct cmd_sender_opts *opts,
                   struct cmd_sender **out)
{
	struct cmd_sender *s;

	if (!loop || !opts || !out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->buckets = calloc(CMD_MIN_BUCKETS, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		return -ENOMEM;
	}
	s->nbuckets = CMD_MIN_BUCKETS;
	s->loop = loop;
	s->timeout_ms = opts->timeout_ms ? opts->timeout_ms : CMD_DEFAULT_TIMEOUT_MS;
	s->retries = opts->retries;
	*out = s;
	return 0;
}

void cmd_sender_free(struct cmd_sender *s)
{
	struct cmd_pending *p;
	size_t i;

	if (!s || s->closing)
		return;
	s->closing = 1; /* done callbacks may not add commands now */
	for (i = 0; i < s->nbuckets; i++) {
		while ((p = s->buckets[i])) {
			s->buckets[i] = p->next;
			p->next = NULL;
			s->count--;
			finish(p, -ECANCELED, NULL);
		}
	}
	if (s->open_timers == 0)
		sender_release(s);
}

static int known_type(Supermesh__CommandType type)
{
	return type != SUPERMESH__COMMAND_TYPE__COMMAND_UNSPECIFIED &&
	       protobuf_c_enum_descriptor_get_value(&supermesh__command_type__descriptor,
	                                            (int)type) != NULL;
}

/* The receiver gives up on a command after the sender would have. */
static uint64_t deadline_ms(const struct cmd_sender *s)
{
	uint64_t span = (uint64_t)s->timeout_ms * ((uint64_t)s->retries + 1);
	uint64_t now = clock_wall_ms();

	return span > UINT64_MAX - now ? UINT64_MAX : now + span;
}

/* Builds the ControlMessage once; every attempt sends the same bytes. */
static void pending_init(struct cmd_pending *p, Supermesh__CommandType type, size_t len)
{
	msg_new_id(p->id);
	supermesh__command__init(&p->cmd);
	p->cmd.command_id.data = p->id;
	p->cmd.command_id.len = MSG_ID_LEN;
	p->cmd.type = type;
	p->cmd.deadline_ms = deadline_ms(p->s);
	p->cmd.payload.data = len ? p->payload : NULL;
	p->cmd.payload.len = len;
	supermesh__control_message__init(&p->msg);
	p->msg.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND;
	p->msg.command = &p->cmd;
}

int cmd_send(struct cmd_sender *s, Supermesh__CommandType type, const uint8_t *payload,
             size_t len, cmd_transmit_fn transmit, void *target, cmd_done_fn done,
             void *arg, uint8_t id_out[MSG_ID_LEN])
{
	struct cmd_pending *p;
	int ret;

	if (!s || !transmit || !done || (len && !payload) || !known_type(type))
		return -EINVAL;
	if (s->closing)
		return -ECANCELED;
	if (len > MSG_MAX)
		return -EMSGSIZE;
	p = calloc(1, sizeof(*p) + len);
	if (!p)
		return -ENOMEM;
	p->s = s;
	p->transmit = transmit;
	p->target = target;
	p->done = done;
	p->arg = arg;
	if (len)
		memcpy(p->payload, payload, len);
	pending_init(p, type, len);
	if (protobuf_c_message_get_packed_size(&p->msg.base) > MSG_MAX) {
		free(p);
		return -EMSGSIZE;
	}
	ret = uv_timer_init(s->loop, &p->timer);
	if (ret < 0) {
		free(p);
		return ret;
	}
	p->timer.data = p;
	s->open_timers++;
	insert(s, p);
	if (id_out)
		memcpy(id_out, p->id, MSG_ID_LEN);
	send_attempt(p);
	return 0;
}

int cmd_sender_response(struct cmd_sender *s, const Supermesh__CommandResponse *resp)
{
	struct cmd_pending *p;

	if (!s || !resp)
		return -EINVAL;
	if (resp->command_id.len != MSG_ID_LEN || !resp->command_id.data)
		return -ENOENT;
	p = take(s, resp->command_id.data);
	if (!p)
		return -ENOENT;
	finish(p, 0, resp);
	return 0;
}

/* Unlinks the target's commands first, so a done callback that sends to the
 * same target again is not cancelled by this call. */
void cmd_sender_cancel_target(struct cmd_sender *s, void *target)
{
	struct cmd_pending *list = NULL, **pp, *p;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nbuckets; i++) {
		pp = &s->buckets[i];
		while ((p = *pp)) {
			if (p->target != target) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			p->next = list;
			list = p;
			s->count--;
		}
	}
	while ((p = list)) {
		list = p->next;
		finish(p, -ECANCELED, NULL);
	}
}

size_t cmd_sender_pending(const struct cmd_sender *s)
{
	return s ? s->count : 0;
}
