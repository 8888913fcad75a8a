/* wgrelay's verb table (the one list behind dispatch, -h and the man page)
 * and the option and error helpers every verb file uses. */
#include <errno.h>
#include <string.h>
#include "probe.h"
#include "relay.h"
#include "verbs.h"
#include "wgrelay.h"

const struct verb wgrelay_verbs[] = {
	{ "iface ensure", 1, 5, verb_iface_ensure, "NAME [port P] [fwmark M]" },
	{ "iface del", 1, 1, verb_iface_del, "NAME" },
	{ "iface show", 1, 1, verb_iface_show, "NAME" },
	{ "peer add", 4, 8, verb_peer_add,
	  "NAME PUBKEY allowed-ips CIDR[,CIDR...]|none [endpoint HOST:PORT] [keepalive S]" },
	{ "peer del", 2, 2, verb_peer_del, "NAME PUBKEY" },
	{ "peer list", 1, 3, verb_peer_list, "NAME [PUBKEY | after PUBKEY]" },
	{ "addr add", 2, 2, verb_addr_add, "NAME CIDR" },
	{ "addr del", 2, 2, verb_addr_del, "NAME CIDR" },
	{ "route add", 3, 5, verb_route_add, "CIDR dev NAME [table T]" },
	{ "route del", 3, 5, verb_route_del, "CIDR dev NAME [table T]" },
	{ "rule add", 1, 13, verb_rule_add, "[not] [fwmark M[/MASK]] [to CIDR] [table T] "
	  "[priority P] [suppress-prefixlength N] [family inet|inet6]" },
	{ "rule del", 1, 13, verb_rule_del, "[not] [fwmark M[/MASK]] [to CIDR] [table T] "
	  "[priority P] [suppress-prefixlength N] [family inet|inet6]" },
	{ "relay add", 1, 5, verb_relay_add, "ID [rate BPS] [to HOST:PORT]" },
	{ "relay del", 1, 1, verb_relay_del, "ID" },
	{ "relay list", 0, 1, verb_relay_list, "[ID]" },
	{ "probe start", 3, 5, verb_probe_start, "NAME TOKEN HOST:PORT [ms M]" },
	{ "probe status", 1, 1, verb_probe_status, "TOKEN" },
	{ "probe stop", 1, 1, verb_probe_stop, "TOKEN" },
	{ NULL, 0, 0, NULL, NULL },
};

static struct verb_opt *opt_find(struct verb_opt *opts, const char *word)
{
	for (; opts->name; opts++)
		if (!strcmp(opts->name, word))
			return opts;
	return NULL;
}

int verb_opts_parse(struct verb_opt *opts, int argc, char **argv, struct line_reply *r)
{
	struct verb_opt *o;
	int i;

	for (o = opts; o->name; o++)
		o->value = NULL;
	for (i = 0; i < argc; i++) {
		o = opt_find(opts, argv[i]);
		if (!o) {
			line_reply_err(r, LINE_EUSAGE, "unexpected word '%s'", argv[i]);
			return -EINVAL;
		}
		if (o->value) {
			line_reply_err(r, LINE_EUSAGE, "'%s' given twice", o->name);
			return -EINVAL;
		}
		if (o->has_value && i + 1 >= argc) {
			line_reply_err(r, LINE_EUSAGE, "'%s' needs a value", o->name);
			return -EINVAL;
		}
		o->value = o->has_value ? argv[++i] : o->name;
	}
	for (o = opts; o->name; o++) {
		if (o->required && !o->value) {
			line_reply_err(r, LINE_EUSAGE, "'%s' is required", o->name);
			return -EINVAL;
		}
	}
	return 0;
}

void verb_reply_errno(struct line_reply *r, int err, const char *what, const char *name)
{
	const char *code = LINE_ESYS;

	if (err == -ENODEV || err == -ENOENT)
		code = LINE_ENOENT;
	else if (err == -EPERM || err == -EACCES)
		code = LINE_EPERM;
	else if (err == -EBUSY || err == -EAGAIN || err == -ETIMEDOUT)
		code = LINE_EBUSY;
	else if (err == -EINVAL || err == -ERANGE)
		code = LINE_EINVAL;
	if (err == -ENODEV)
		line_reply_err(r, code, "%s: no such WireGuard interface", name);
	else
		line_reply_err(r, code, "%s %s: %s", what, name, strerror(-err));
}
