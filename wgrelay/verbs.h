/* wgrelay's verb handlers and the small helpers they share (verbs.c). */
#ifndef WGRELAY_VERBS_H
#define WGRELAY_VERBS_H

#include "line.h"

/* "keyword value" (or bare flag) options after a verb's positional words. */
struct verb_opt {
	const char *name;
	int has_value;   /* 0: a flag such as "not" */
	int required;
	const char *value; /* out: the value, or the name for a set flag */
};

/* Fills opts[].value from argv; an unknown, repeated or valueless keyword,
 * or a missing required one, is an "err usage" reply and -EINVAL. */
int verb_opts_parse(struct verb_opt *opts, int argc, char **argv, struct line_reply *r);
/* An err reply for a negative errno from a backend or the kernel. */
void verb_reply_errno(struct line_reply *r, int err, const char *what, const char *name);

void verb_iface_ensure(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_iface_del(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_iface_show(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_peer_add(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_peer_del(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_peer_list(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_addr_add(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_addr_del(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_route_add(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_route_del(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_rule_add(void *ctx, int argc, char **argv, struct line_reply *r);
void verb_rule_del(void *ctx, int argc, char **argv, struct line_reply *r);

#endif
