/* GET /metrics for every daemon: the registry, then process metrics read
 * from /proc/self at each scrape (nothing to keep up to date in between). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "metrics_http.h"

/* Heartbeats on a LAN take a ms, across continents a few hundred. */
const double metrics_rtt_ms_bounds[] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000,
};
const size_t metrics_rtt_ms_nbounds = sizeof(metrics_rtt_ms_bounds) / sizeof(double);
/* A command is a round trip plus helper calls; the sender gives up at 5 s
 * per try, 4 tries. */
const double metrics_cmd_s_bounds[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20,
};
const size_t metrics_cmd_s_nbounds = sizeof(metrics_cmd_s_bounds) / sizeof(double);

struct proc_stat {
	double cpu_s, start_s, rss_bytes;
	long fds;
	int have_stat, have_start;
};

static int boot_time(double *btime)
{
	char line[256];
	FILE *f = fopen("/proc/stat", "re");
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long b;

		if (sscanf(line, "btime %llu", &b) == 1) {
			*btime = (double)b;
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* Fields after the command name, which may hold spaces and parentheses. */
static void read_stat(struct proc_stat *ps)
{
	unsigned long long utime, stime, start;
	long rss, tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	char buf[1024], *p;
	double btime = 0;
	size_t n;
	FILE *f = fopen("/proc/self/stat", "re");

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (!(p = strrchr(buf, ')')) || tick <= 0 || page <= 0)
		return;
	/* state(3) ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24) */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d "
	                  "%*d %*d %*d %*d %llu %*u %ld", &utime, &stime, &start, &rss) != 4)
		return;
	ps->cpu_s = (double)(utime + stime) / (double)tick;
	ps->rss_bytes = (double)rss * (double)page;
	ps->have_stat = 1;
	if (boot_time(&btime) == 0) {
		ps->start_s = btime + (double)start / (double)tick;
		ps->have_start = 1;
	}
}

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void put_one(FILE *f, const char *name, const char *type, const char *help,
                    double v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static void render_process(FILE *f)
{
	struct proc_stat ps = { 0 };

	read_stat(&ps);
	ps.fds = count_fds();
	if (ps.have_stat) {
		put_one(f, "process_cpu_seconds_total", "counter",
		        "Total user and system CPU time spent in seconds.", ps.cpu_s);
		put_one(f, "process_resident_memory_bytes", "gauge",
		        "Resident memory size in bytes.", ps.rss_bytes);
	}
	if (ps.fds >= 0)
		put_one(f, "process_open_fds", "gauge", "Number of open file descriptors.",
		        (double)ps.fds);
	if (ps.have_start)
		put_one(f, "process_start_time_seconds", "gauge",
		        "Start time of the process since unix epoch in seconds.", ps.start_s);
}

int metrics_http_render(const struct metrics *m, char **out, size_t *len)
{
	char *reg = NULL;
	size_t reg_len = 0;
	FILE *f;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = metrics_render(m, &reg, &reg_len)) < 0)
		return rc;
	if (!(f = open_memstream(out, len))) {
		free(reg);
		return -ENOMEM;
	}
	fwrite(reg, 1, reg_len, f);
	free(reg);
	render_process(f);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		*len = 0;
		return -ENOMEM;
	}
	return 0;
}

static int get_metrics(void *ctx, const struct httpd_req *rq, struct httpd_resp *rs)
{
	struct metrics_http *mh = ctx;

	if (mh->refresh)
		mh->refresh(mh->arg);
	rs->content_type = METRICS_CONTENT_TYPE;
	return metrics_http_render(mh->m, &rs->body, &rs->body_len);
}

static const struct httpd_route routes[] = {
	{ "GET", "/metrics", get_metrics },
	{ NULL, NULL, NULL },
};

int metrics_http_start(struct metrics_http *mh, uv_loop_t *loop, const char *listen)
{
	struct httpd_opts o = { .listen = listen, .max_body = 1024 };

	mh->httpd = NULL;
	if (!listen || !listen[0])
		return 0;
	if (!mh->m)
		return -EINVAL;
	return httpd_new(loop, &o, routes, mh, &mh->httpd);
}

void metrics_http_stop(struct metrics_http *mh)
{
	httpd_free(mh->httpd);
	mh->httpd = NULL;
}
