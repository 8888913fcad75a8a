/* streamload: opens N authenticated streams to one supernoded from P forked
 * workers over several 127.0.0.x sources, keeps them pinging every
 * heartbeat, and prints streams held, handshakes/s and latency percentiles;
 * with -m PID also that process's RSS per stream and CPU at steady
 * heartbeat; with -x R, R ExitRequest round trips through a fake exit that
 * answers SETUP_EXIT at once (sl_exit.c). Output: one key=value line per phase. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sodium.h>
#include "handshake.pb-c.h"
#include "keys.h"
#include "streamload.h"

#define TICK_MS 100
#define PING_TICK_MS 10
#define MAX_PROCS 64

struct shared {
	volatile int recording;
	struct sl_stats w[]; /* procs workers, then the parent's own */
};

struct sl_opts opt = {
	.n = 1000, .procs = 4, .window = 16, .hold_s = 15, .settle_s = 2,
	.timeout_s = 300, .role = SUPERMESH__ROLE__ROLE_CLIENT, .xclients = 1,
};
static struct shared *shm;
static pid_t pids[MAX_PROCS];

/* ---- options ---- */

static void usage(void)
{
	fprintf(stderr,
	        "usage: streamload -a IP:PORT -k SERVER_KEY [-n streams] [-P procs] [-w window]\n"
	        "       [-S srcaddrs] [-H hold_s] [-s settle_s] [-T timeout_s] [-r client|exit]\n"
	        "       [-m PID] [-x exit_requests] [-c exit_clients]\n");
}

static int num(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || *out < min || *out > max ? -EINVAL : 0;
}

static int parse_server(const char *s)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	unsigned long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host) || num(colon + 1, 1, 65535, &port) < 0)
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	return uv_ip4_addr(host, (int)port, &opt.cf.server) == 0 ? 0 : -EINVAL;
}

static int parse_opt(int c, const char *arg)
{
	unsigned long v = 0;
	int rc = 0;

	if (c == 'a')
		return parse_server(arg);
	if (c == 'k')
		return key_from_base64(arg, opt.cf.server_key);
	if (c == 'r') {
		opt.role = !strcmp(arg, "exit") ? SUPERMESH__ROLE__ROLE_EXIT
		                                : SUPERMESH__ROLE__ROLE_CLIENT;
		return strcmp(arg, "exit") && strcmp(arg, "client") ? -EINVAL : 0;
	}
	rc = num(arg, c == 'x' ? 0 : 1, c == 'P' ? MAX_PROCS : 1000000, &v);
	switch (c) {
	case 'n': opt.n = (uint32_t)v; break;
	case 'P': opt.procs = (int)v; break;
	case 'w': opt.window = (int)v; break;
	case 'S': opt.nsrc = (uint32_t)v; break;
	case 'H': opt.hold_s = (unsigned)v; break;
	case 's': opt.settle_s = (unsigned)v; break;
	case 'T': opt.timeout_s = (unsigned)v; break;
	case 'm': opt.mpid = (pid_t)v; break;
	case 'x': opt.xreqs = (unsigned)v; break;
	case 'c': opt.xclients = (unsigned)v; break;
	default: return -EINVAL;
	}
	return rc;
}

int sl_parse_args(int argc, char **argv)
{
	int c, have_a = 0, have_k = 0;

	while ((c = getopt(argc, argv, "a:k:n:P:w:S:H:s:T:r:m:x:c:")) != -1) {
		if (c == '?' || parse_opt(c, optarg) < 0) {
			if (c != '?')
				fprintf(stderr, "streamload: bad -%c %s\n", c, optarg);
			usage();
			return -EINVAL;
		}
		have_a |= c == 'a';
		have_k |= c == 'k';
	}
	if (!have_a || !have_k || optind != argc) {
		usage();
		return -EINVAL;
	}
	return 0;
}

/* ---- worker: its share of the streams, pinging until killed ---- */

struct worker {
	struct sl_conf cf;
	struct sl_conn *conns;
	uint32_t count, next;
	uv_loop_t *loop;
	uv_timer_t tick;
};
static struct worker wk;

static void worker_fill(void)
{
	struct sl_stats *st = wk.cf.st;

	while (wk.next < wk.count &&
	       st->attempts - st->up - st->failed < (uint64_t)opt.window) {
		if (!st->first_us)
			st->first_us = sl_now_us();
		sl_conn_start(wk.loop, &wk.conns[wk.next++]);
	}
}

static void worker_conn_event(struct sl_conn *c)
{
	worker_fill();
}

/*
 * Pings are spread evenly: the heartbeat is cut into slots of PING_TICK_MS
 * and stream k pings in slot k * slots / count, so the supernode sees a
 * steady rate instead of bursts that would inflate the RTT and make the
 * CPU measured over a window depend on its phase.
 */
static void worker_tick(uv_timer_t *t)
{
	static uint64_t tick;
	uint64_t slot, lo, hi, k, slots = 0;

	for (k = 0; k < wk.next && !slots; k++)
		if (wk.conns[k].state == SL_UP)
			slots = wk.conns[k].heartbeat_ms / PING_TICK_MS;
	if (!slots)
		return;
	slot = tick++ % slots;
	lo = (slot * wk.count + slots - 1) / slots;
	hi = ((slot + 1) * wk.count + slots - 1) / slots;
	for (k = lo; k < hi && k < wk.next; k++)
		sl_conn_ping(&wk.conns[k]);
}

static void worker_run(int w)
{
	uv_loop_t loop;
	uint32_t i;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	alarm(0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	uv_loop_init(&loop);
	wk.loop = &loop;
	wk.cf = opt.cf;
	wk.cf.st = &shm->w[w];
	wk.cf.recording = &shm->recording;
	wk.cf.on_up = worker_conn_event;
	wk.cf.on_down = worker_conn_event;
	wk.count = opt.n / opt.procs + ((uint32_t)w < opt.n % opt.procs);
	if (!(wk.conns = calloc(wk.count ? wk.count : 1, sizeof(*wk.conns))))
		_exit(1);
	for (i = 0; i < wk.count; i++) {
		wk.conns[i].cf = &wk.cf;
		wk.conns[i].index = (uint32_t)w + i * opt.procs;
		wk.conns[i].role = opt.role;
	}
	uv_timer_init(&loop, &wk.tick);
	uv_timer_start(&wk.tick, worker_tick, PING_TICK_MS, PING_TICK_MS);
	worker_fill();
	uv_run(&loop, UV_RUN_DEFAULT);
	_exit(0);
}

/* ---- parent: phases, measurements, report ---- */

enum phase { PH_RAMP, PH_SETTLE, PH_HOLD, PH_EXIT, PH_DONE };

static struct {
	enum phase ph;
	uint64_t ph_start_ms, ramp_deadline_ms;
	uint64_t cpu0, ramp_cpu0, t0_us, pings0;   /* t0_us: ramp start, then hold start */
	long rss0_kb;
	uv_loop_t *loop;
	uv_timer_t tick;
} pa;

static void kill_workers(int sig)
{
	int i;

	for (i = 0; i < opt.procs; i++)
		if (pids[i] > 0)
			kill(pids[i], sig);
}

static void on_fatal_signal(int sig)
{
	static const char msg[] = "streamload: timed out or interrupted\n";

	kill_workers(SIGKILL);
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(2);
}

static void sum_stats(struct sl_stats *t)
{
	int i;

	memset(t, 0, offsetof(struct sl_stats, nhs));
	for (i = 0; i < opt.procs; i++) {
		const struct sl_stats *s = &shm->w[i];
		uint64_t f = __atomic_load_n(&s->first_us, __ATOMIC_RELAXED);
		uint64_t l = __atomic_load_n(&s->last_up_us, __ATOMIC_RELAXED);

		t->attempts += __atomic_load_n(&s->attempts, __ATOMIC_RELAXED);
		t->up += __atomic_load_n(&s->up, __ATOMIC_RELAXED);
		t->failed += __atomic_load_n(&s->failed, __ATOMIC_RELAXED);
		t->refused += __atomic_load_n(&s->refused, __ATOMIC_RELAXED);
		t->dropped += __atomic_load_n(&s->dropped, __ATOMIC_RELAXED);
		t->pings += __atomic_load_n(&s->pings, __ATOMIC_RELAXED);
		t->pongs += __atomic_load_n(&s->pongs, __ATOMIC_RELAXED);
		if (f && (!t->first_us || f < t->first_us))
			t->first_us = f;
		if (l > t->last_up_us)
			t->last_up_us = l;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Prints " NAME_ms_p50=.. _p90 _p99 _max NAME_n=" over n samples (us). */
void sl_print_pcts(const char *name, const uint32_t *v, size_t n)
{
	uint32_t *s = malloc((n ? n : 1) * sizeof(*s));
	static const int pct[] = { 50, 90, 99 };
	size_t i;

	if (!s || n == 0) {
		printf(" %s_n=0", name);
		free(s);
		return;
	}
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u32);
	for (i = 0; i < 3; i++)
		printf(" %s_ms_p%d=%.3f", name, pct[i], s[(n - 1) * (size_t)pct[i] / 100] / 1000.0);
	printf(" %s_ms_max=%.3f %s_n=%zu", name, s[n - 1] / 1000.0, name, n);
	free(s);
}

static void print_worker_pcts(const char *name, int rtt)
{
	uint32_t *all = malloc((size_t)opt.procs * SL_SAMPLES * sizeof(*all));
	size_t n = 0;
	int i;

	if (!all)
		return;
	for (i = 0; i < opt.procs; i++) {
		const struct sl_stats *s = &shm->w[i];
		uint32_t k = __atomic_load_n(rtt ? &s->nrtt : &s->nhs, __ATOMIC_ACQUIRE);

		memcpy(all + n, rtt ? s->rtt_us : s->hs_us, k * sizeof(*all));
		n += k;
	}
	sl_print_pcts(name, all, n);
	free(all);
}

/* utime + stime in clock ticks, or 0. */
static uint64_t proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, stime = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after "pid (comm) ": state is field 3, utime 14, stime 15 */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) != 2)
		return 0;
	return ut + stime;
}

static long proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static double cpu_pct(uint64_t ticks, uint64_t us)
{
	return us ? (double)ticks / (double)sysconf(_SC_CLK_TCK) * 1e8 / (double)us : 0;
}

static void phase(enum phase ph)
{
	pa.ph = ph;
	pa.ph_start_ms = uv_now(pa.loop);
}

static void report_ramp(const struct sl_stats *t)
{
	uint64_t span = t->last_up_us > t->first_us ? t->last_up_us - t->first_us : 0;

	printf("ramp n=%u up=%llu failed=%llu refused=%llu seconds=%.2f hs_per_s=%.0f",
	       opt.n, (unsigned long long)t->up, (unsigned long long)t->failed,
	       (unsigned long long)t->refused, span / 1e6, span ? t->up * 1e6 / span : 0);
	if (opt.mpid)
		printf(" sn_cpu_pct=%.1f", cpu_pct(proc_cpu_ticks(opt.mpid) - pa.ramp_cpu0,
		                                   sl_now_us() - pa.t0_us));
	print_worker_pcts("hs", 0);
	for (int i = 0; i < opt.procs; i++)
		if (shm->w[i].refuse_reason[0]) {
			printf(" refuse_reason=%s", shm->w[i].refuse_reason);
			break;
		}
	printf("\n");
	fflush(stdout);
}

static void report_hold(const struct sl_stats *t, uint64_t hold_us)
{
	long rss = opt.mpid ? proc_rss_kb(opt.mpid) : -1;
	uint64_t held = t->up - t->dropped;

	printf("hold n=%u held=%llu dropped=%llu seconds=%.1f pings=%llu pongs=%llu"
	       " pings_per_s=%.0f", opt.n, (unsigned long long)held,
	       (unsigned long long)t->dropped, hold_us / 1e6, (unsigned long long)t->pings,
	       (unsigned long long)t->pongs, (t->pings - pa.pings0) * 1e6 / (double)hold_us);
	if (opt.mpid)
		printf(" sn_rss_before_kb=%ld sn_rss_after_kb=%ld sn_rss_per_stream_b=%.0f"
		       " sn_cpu_pct=%.2f", pa.rss0_kb, rss,
		       held ? (rss - pa.rss0_kb) * 1024.0 / (double)held : 0,
		       cpu_pct(proc_cpu_ticks(opt.mpid) - pa.cpu0, hold_us));
	print_worker_pcts("ping_rtt", 1);
	printf("\n");
	fflush(stdout);
}

static void finish(void)
{
	int i, st;

	phase(PH_DONE);
	kill_workers(SIGTERM);
	for (i = 0; i < opt.procs; i++)
		if (pids[i] > 0)
			waitpid(pids[i], &st, 0);
	sl_exit_stop();
	uv_close((uv_handle_t *)&pa.tick, NULL);
}

static void parent_tick(uv_timer_t *t)
{
	uint64_t now = uv_now(pa.loop), el = now - pa.ph_start_ms;
	struct sl_stats tot;

	sum_stats(&tot);
	sl_exit_tick(now);
	switch (pa.ph) {
	case PH_RAMP:
		if (tot.up + tot.failed < opt.n && now < pa.ramp_deadline_ms)
			return;
		report_ramp(&tot);
		phase(PH_SETTLE);
		return;
	case PH_SETTLE:
		if (el < opt.settle_s * 1000u)
			return;
		pa.cpu0 = opt.mpid ? proc_cpu_ticks(opt.mpid) : 0;
		pa.t0_us = sl_now_us();
		pa.pings0 = tot.pings;
		shm->recording = 1;
		phase(PH_HOLD);
		return;
	case PH_HOLD:
		if (el < opt.hold_s * 1000u)
			return;
		shm->recording = 0;
		report_hold(&tot, sl_now_us() - pa.t0_us);
		if (opt.xreqs == 0 || sl_exit_start(pa.loop) < 0) {
			finish();
			return;
		}
		phase(PH_EXIT);
		return;
	case PH_EXIT:
		if (!sl_exit_done(now))
			return;
		sl_exit_report();
		finish();
		return;
	case PH_DONE:
		return;
	}
}

static int parent_run(void)
{
	uv_loop_t loop;

	uv_loop_init(&loop);
	pa.loop = &loop;
	uv_timer_init(&loop, &pa.tick);
	phase(PH_RAMP);
	pa.ramp_deadline_ms = pa.ph_start_ms + opt.timeout_s * 1000u / 2;
	pa.ramp_cpu0 = opt.mpid ? proc_cpu_ticks(opt.mpid) : 0;
	pa.t0_us = sl_now_us();
	uv_timer_start(&pa.tick, parent_tick, TICK_MS, TICK_MS);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop) == 0 ? 0 : 1;
}

static int start_workers(void)
{
	size_t size = sizeof(struct shared) + (size_t)(opt.procs + 1) * sizeof(struct sl_stats);
	int i;

	shm = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		return -errno;
	fflush(stdout);
	for (i = 0; i < opt.procs; i++) {
		if ((pids[i] = fork()) < 0)
			return -errno;
		if (pids[i] == 0)
			worker_run(i);
	}
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_fatal_signal };
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (keys_init() < 0 || sl_parse_args(argc, argv) < 0)
		return 100;
	raise_nofile();
	randombytes_buf(opt.cf.seed, sizeof(opt.cf.seed));
	opt.cf.nsrc = opt.nsrc ? opt.nsrc : opt.n / 5000 + 2;
	printf("start n=%u procs=%d srcaddrs=%u window=%d role=%u mpid=%d\n", opt.n, opt.procs,
	       opt.cf.nsrc, opt.window, opt.role, (int)opt.mpid);
	pa.rss0_kb = opt.mpid ? proc_rss_kb(opt.mpid) : -1;
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	alarm(opt.timeout_s);
	if ((rc = start_workers()) < 0) {
		fprintf(stderr, "streamload: fork: %s\n", strerror(-rc));
		kill_workers(SIGKILL);
		return 111;
	}
	opt.cf.st = &shm->w[opt.procs];
	opt.cf.recording = &shm->recording;
	return parent_run();
}
