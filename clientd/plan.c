/* Builds the ordered wgrelay requests (and their undos) between two tunnel
 * configurations; every word goes through line_escape. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "keys.h"
#include "line.h"
#include "plan.h"

/* Joins words, each escaped, with single spaces; -EMSGSIZE if too long. */
static int join(char *buf, size_t size, const char *const *w)
{
	size_t len;

	buf[0] = '\0';
	for (; *w; w++) {
		len = strlen(buf);
		if (len && len + 1 < size) {
			buf[len++] = ' ';
			buf[len] = '\0';
		}
		if (len + 1 >= size || line_escape(buf, size, *w) < 0)
			return -EMSGSIZE;
	}
	return 0;
}

static void step(struct plan *p, int cleanup, const char *const *req, const char *const *undo)
{
	struct plan_step *s;

	if (p->n >= PLAN_MAX_STEPS) {
		p->overflow = 1;
		return;
	}
	s = &p->steps[p->n];
	memset(s, 0, sizeof(*s));
	s->cleanup = cleanup;
	if (join(s->req, sizeof(s->req), req) < 0 ||
	    (undo && join(s->undo, sizeof(s->undo), undo) < 0)) {
		p->overflow = 1;
		return;
	}
	p->n++;
}

void plan_init(struct plan *p)
{
	p->n = 0;
	p->overflow = 0;
}

void plan_no_undo(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		p->steps[i].undo[0] = '\0';
}

/* Policy numbers as text, once per plan. */
struct nums {
	char table[16], mark[16], prio[16], prio_up[16], prio_down[16];
};

static void nums_init(const struct plan_opts *o, struct nums *n)
{
	snprintf(n->table, sizeof(n->table), "%u", o->table);
	snprintf(n->mark, sizeof(n->mark), "%u", o->fwmark);
	snprintf(n->prio, sizeof(n->prio), "%u", o->priority);
	snprintf(n->prio_up, sizeof(n->prio_up), "%u", o->priority + 1);
	snprintf(n->prio_down, sizeof(n->prio_down), "%u", o->priority - 1);
}

/* Calls fn for each CIDR of list in `list` that is not in `skip`. */
static void each_cidr(const char *list, const char *skip, void (*fn)(void *, const char *),
                      void *arg)
{
	char buf[WGC_LIST_LEN], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!wgc_list_has(skip, tok))
			fn(arg, tok);
}

struct route_ctx {
	const struct plan_opts *o;
	const struct nums *n;
	struct plan *p;
	int add, cleanup, full;
};

static void route_step(void *arg, const char *cidr)
{
	struct route_ctx *c = arg;
	const char *add[] = { "route", "add", cidr, "dev", c->o->iface, "table", c->n->table,
	                      NULL };
	const char *del[] = { "route", "del", cidr, "dev", c->o->iface, "table", c->n->table,
	                      NULL };

	if (!c->full)
		add[5] = del[5] = NULL; /* split tunnel: the main table */
	if (c->add)
		step(c->p, c->cleanup, add, del);
	else
		step(c->p, c->cleanup, del, NULL);
}

static int families(const char *list)
{
	int f = 0;

	return wgc_list_check(list, &f) < 0 ? 1 : f;
}

/* The two full-tunnel rules per family, as wg-quick sets them up. */
static void rules(struct plan *p, const struct nums *n, int fams, int add)
{
	const char *verb = add ? "add" : "del", *other = add ? "del" : "add";
	int f;

	for (f = 1; f <= 2; f++) {
		if (!(fams & f))
			continue;
		const char *fam = f == 2 ? "family" : NULL;
		const char *r1[] = { "rule", verb, "not", "fwmark", n->mark, "table", n->table,
		                     "priority", n->prio_up, fam, "inet6", NULL };
		const char *u1[] = { "rule", other, "not", "fwmark", n->mark, "table", n->table,
		                     "priority", n->prio_up, fam, "inet6", NULL };
		const char *r2[] = { "rule", verb, "table", "main", "suppress-prefixlength", "0",
		                     "priority", n->prio, fam, "inet6", NULL };
		const char *u2[] = { "rule", other, "table", "main", "suppress-prefixlength", "0",
		                     "priority", n->prio, fam, "inet6", NULL };

		if (add) {
			step(p, 0, r1, u1);
			step(p, 0, r2, u2);
		} else {
			step(p, 1, r2, NULL);
			step(p, 1, r1, NULL);
		}
	}
}

static void bypass(struct plan *p, const struct nums *n, const char *cidr, int add,
                   int cleanup)
{
	const char *r[] = { "rule", add ? "add" : "del", "to", cidr, "table", "main",
	                    "priority", n->prio_down, NULL };
	const char *u[] = { "rule", "del", "to", cidr, "table", "main", "priority",
	                    n->prio_down, NULL };

	step(p, cleanup, r, add ? u : NULL);
}

static int in_bypass(const struct tunnel_conf *t, const char *cidr)
{
	return cidr[0] && (!strcmp(t->bypass_sn, cidr) || !strcmp(t->bypass_ep, cidr));
}

/* Bypass rules of `from` missing in `to` (each prefix once). */
static void bypass_diff(struct plan *p, const struct nums *n, const struct tunnel_conf *from,
                        const struct tunnel_conf *to, int add)
{
	if (from->bypass_sn[0] && !in_bypass(to, from->bypass_sn))
		bypass(p, n, from->bypass_sn, add, !add);
	if (from->bypass_ep[0] && !in_bypass(to, from->bypass_ep) &&
	    strcmp(from->bypass_ep, from->bypass_sn))
		bypass(p, n, from->bypass_ep, add, !add);
}

static void peer_add(const struct plan_opts *o, const struct tunnel_conf *have,
                     const struct tunnel_conf *want, struct plan *p)
{
	char key[KEY_B64_LEN], ka[16];
	const char *add[] = { "peer", "add", o->iface, key, "allowed-ips", want->allowed,
	                      "endpoint", want->endpoint, "keepalive", ka, NULL };
	const char *del[] = { "peer", "del", o->iface, key, NULL };
	int same = have->has_peer && !memcmp(have->peer, want->peer, 32);

	key_to_base64(want->peer, key);
	snprintf(ka, sizeof(ka), "%u", want->keepalive);
	if (!want->endpoint[0])
		add[6] = NULL;
	/* A path change (same exit, new endpoint): a fresh peer handshakes at
	 * once over the new path; an updated one would wait up to 5 s
	 * (WireGuard's rekey timeout) and prove nothing about the path. */
	if (same && want->endpoint[0] && strcmp(have->endpoint, want->endpoint))
		step(p, 0, del, NULL);
	step(p, 0, add, same ? NULL : del);
}

int plan_up(const struct plan_opts *o, const struct tunnel_conf *have,
            const struct tunnel_conf *want, struct plan *p)
{
	struct route_ctx rc = { .o = o, .p = p, .full = want->rules };
	char old[KEY_B64_LEN];
	struct nums n;

	nums_init(o, &n);
	rc.n = &n;
	if (want->address[0] && strcmp(have->address, want->address))
		step(p, 0, (const char *[]){ "addr", "add", o->iface, want->address, NULL },
		     (const char *[]){ "addr", "del", o->iface, want->address, NULL });
	if (want->has_peer)
		peer_add(o, have, want, p);
	rc.add = 1;
	each_cidr(want->routed, have->routed, route_step, &rc);
	if (want->rules && !have->rules)
		rules(p, &n, families(want->routed), 1);
	bypass_diff(p, &n, want, have, 1);
	/* Cleanup: only now that the new peer is up does the old one go. */
	if (have->has_peer && (!want->has_peer || memcmp(have->peer, want->peer, 32))) {
		key_to_base64(have->peer, old);
		step(p, 1, (const char *[]){ "peer", "del", o->iface, old, NULL }, NULL);
	}
	bypass_diff(p, &n, have, want, 0);
	rc.add = 0;
	rc.cleanup = 1;
	rc.full = have->rules;
	each_cidr(have->routed, want->routed, route_step, &rc);
	if (have->rules && !want->rules)
		rules(p, &n, families(have->routed), 0);
	if (have->address[0] && strcmp(have->address, want->address))
		step(p, 1, (const char *[]){ "addr", "del", o->iface, have->address, NULL }, NULL);
	return p->overflow ? -E2BIG : 0;
}

int plan_down(const struct plan_opts *o, const struct tunnel_conf *have, int keep_routes,
              struct plan *p, struct tunnel_conf *after)
{
	struct route_ctx rc = { .o = o, .p = p, .cleanup = 1, .full = have->rules };
	struct tunnel_conf empty;
	char key[KEY_B64_LEN];
	struct nums n;

	nums_init(o, &n);
	rc.n = &n;
	memset(&empty, 0, sizeof(empty));
	*after = *have;
	if (have->has_peer) {
		key_to_base64(have->peer, key);
		step(p, 1, (const char *[]){ "peer", "del", o->iface, key, NULL }, NULL);
		after->has_peer = 0;
		memset(after->peer, 0, sizeof(after->peer));
	}
	if (keep_routes)
		return p->overflow ? -E2BIG : 0;
	bypass_diff(p, &n, have, &empty, 0);
	if (have->rules)
		rules(p, &n, families(have->routed), 0);
	each_cidr(have->routed, "", route_step, &rc);
	if (have->address[0])
		step(p, 1, (const char *[]){ "addr", "del", o->iface, have->address, NULL }, NULL);
	*after = empty;
	return p->overflow ? -E2BIG : 0;
}

int plan_iface(const struct plan_opts *o, unsigned port, struct plan *p)
{
	char ps[16], mark[16];
	const char *w[] = { "iface", "ensure", o->iface, "port", ps, "fwmark", mark, NULL };

	snprintf(ps, sizeof(ps), "%u", port);
	snprintf(mark, sizeof(mark), "%u", o->fwmark);
	if (!port) {
		w[3] = "fwmark";
		w[4] = mark;
		w[5] = NULL;
	}
	step(p, 0, w, NULL);
	return p->overflow ? -E2BIG : 0;
}
