/* streamload's options and the ExitRequest phase (sl_exit.c) the parent
 * runs after the hold; the stream itself is in sl.h. */
#ifndef STREAMLOAD_H
#define STREAMLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>
#include "sl.h"

struct sl_opts {
	struct sl_conf cf;      /* server, key, seed, nsrc */
	uint32_t n;             /* load streams */
	int procs, window;      /* workers; handshakes in flight per worker */
	uint32_t nsrc;          /* 0: n / 5000 + 2 */
	unsigned hold_s, settle_s, timeout_s;
	uint32_t role;
	pid_t mpid;             /* supernoded, measured through /proc */
	unsigned xreqs;         /* ExitRequest round trips; 0: none */
	unsigned xclients;      /* clients sending them, one request in flight each */
};

extern struct sl_opts opt;

int sl_parse_args(int argc, char **argv);
void sl_print_pcts(const char *name, const uint32_t *v, size_t n);

/* sl_exit.c: one fake exit and opt.xclients clients on the parent's loop. */
int sl_exit_start(uv_loop_t *loop);
void sl_exit_tick(uint64_t now_ms);
int sl_exit_done(uint64_t now_ms);
void sl_exit_report(void);
void sl_exit_stop(void);

#endif
