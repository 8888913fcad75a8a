/* Metrics registry and its Prometheus text exposition (format 0.0.4).
 * Series are grouped in families by name so HELP and TYPE appear once. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

static const char *const type_names[] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
	[METRIC_HISTOGRAM] = "histogram",
};

struct metric_family {
	char *name, *help;
	enum metric_type type;
	double bounds[METRICS_MAX_BUCKETS];
	size_t nbounds;
	struct metric **series;
	size_t nseries;
};

struct metric {
	struct metric_family *fam;
	char *labels;    /* rendered: k="v",k2="v2" (escaped), "" if none */
	uint64_t count;  /* counter value, or histogram observations */
	double value;    /* gauge */
	double sum;      /* histogram */
	uint64_t buckets[METRICS_MAX_BUCKETS]; /* per bound, not cumulative */
};

struct metrics {
	struct metric_family **fams;
	size_t nfams;
};

struct metrics *metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

static void family_free(struct metric_family *f)
{
	size_t i;

	for (i = 0; i < f->nseries; i++) {
		free(f->series[i]->labels);
		free(f->series[i]);
	}
	free(f->series);
	free(f->name);
	free(f->help);
	free(f);
}

void metrics_free(struct metrics *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nfams; i++)
		family_free(m->fams[i]);
	free(m->fams);
	free(m);
}

static bool valid_name(const char *s, bool colon)
{
	size_t i;

	if (!s || !s[0])
		return false;
	for (i = 0; s[i]; i++) {
		char ch = s[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
		          (colon && ch == ':') || (i > 0 && ch >= '0' && ch <= '9');
		if (!ok)
			return false;
	}
	return true;
}

/* Escapes label value v into f: backslash, quote and newline. */
static void put_label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* Checks label pairs and renders them; NULL with errno on failure. */
static char *render_labels(const char *const *labels, enum metric_type type)
{
	char *out = NULL;
	size_t len = 0, n, i, j;
	FILE *f;

	for (n = 0; labels && labels[n]; n += 2) {
		if (!labels[n + 1] || n / 2 >= METRICS_MAX_LABELS || !valid_name(labels[n], false) ||
		    strncmp(labels[n], "__", 2) == 0 ||
		    (type == METRIC_HISTOGRAM && strcmp(labels[n], "le") == 0))
			goto inval;
		for (j = 0; j < n; j += 2)
			if (strcmp(labels[j], labels[n]) == 0)
				goto inval;
	}
	if (!(f = open_memstream(&out, &len)))
		return NULL;
	for (i = 0; i < n; i += 2) {
		fprintf(f, "%s%s=\"", i ? "," : "", labels[i]);
		put_label_value(f, labels[i + 1]);
		fputc('"', f);
	}
	if (fclose(f) != 0) {
		free(out);
		errno = ENOMEM;
		return NULL;
	}
	return out;
inval:
	errno = EINVAL;
	return NULL;
}

static struct metric_family *family_find(const struct metrics *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nfams; i++)
		if (strcmp(m->fams[i]->name, name) == 0)
			return m->fams[i];
	return NULL;
}

static bool bounds_ok(const double *b, size_t n)
{
	size_t i;

	if (n == 0 || n > METRICS_MAX_BUCKETS || !b)
		return false;
	for (i = 0; i < n; i++)
		if (!isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1]))
			return false;
	return true;
}

static struct metric_family *family_new(struct metrics *m, const char *name, const char *help,
                                        enum metric_type type, const double *b, size_t nb)
{
	struct metric_family *f, **fams;

	fams = realloc(m->fams, (m->nfams + 1) * sizeof(*fams));
	if (!fams)
		return NULL;
	m->fams = fams;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	if (!f->name || !f->help) {
		family_free(f);
		return NULL;
	}
	f->type = type;
	if (type == METRIC_HISTOGRAM)
		memcpy(f->bounds, b, nb * sizeof(*b));
	f->nbounds = type == METRIC_HISTOGRAM ? nb : 0;
	m->fams[m->nfams++] = f;
	return f;
}

/* The family for name, made if new; NULL with errno if it clashes. */
static struct metric_family *family_get(struct metrics *m, const char *name, const char *help,
                                        enum metric_type type, const double *b, size_t nb)
{
	struct metric_family *f;

	if (!valid_name(name, true) || (type == METRIC_HISTOGRAM && !bounds_ok(b, nb)))
		goto inval;
	f = family_find(m, name);
	if (!f)
		return family_new(m, name, help, type, b, nb);
	if (f->type != type)
		goto inval;
	if (type == METRIC_HISTOGRAM &&
	    (f->nbounds != nb || memcmp(f->bounds, b, nb * sizeof(*b)) != 0))
		goto inval;
	return f;
inval:
	errno = EINVAL;
	return NULL;
}

static struct metric *metric_add(struct metrics *m, const char *name, const char *help,
                                 enum metric_type type, const double *b, size_t nb,
                                 const char *const *labels)
{
	struct metric_family *f;
	struct metric *s = NULL, **series;
	char *lab;
	size_t i;

	if (!(lab = render_labels(labels, type)))
		return NULL;
	if (!(f = family_get(m, name, help, type, b, nb)))
		goto out;
	for (i = 0; i < f->nseries; i++) {
		if (strcmp(f->series[i]->labels, lab) == 0) {
			s = f->series[i];
			goto out;
		}
	}
	series = realloc(f->series, (f->nseries + 1) * sizeof(*series));
	if (!series)
		goto out;
	f->series = series;
	if (!(s = calloc(1, sizeof(*s))))
		goto out;
	s->fam = f;
	s->labels = lab;
	lab = NULL;
	f->series[f->nseries++] = s;
out:
	free(lab);
	return s;
}

struct metric *metrics_counter_new(struct metrics *m, const char *name, const char *help)
{
	return metric_add(m, name, help, METRIC_COUNTER, NULL, 0, NULL);
}

struct metric *metrics_gauge_new(struct metrics *m, const char *name, const char *help)
{
	return metric_add(m, name, help, METRIC_GAUGE, NULL, 0, NULL);
}

struct metric *metrics_histogram_new(struct metrics *m, const char *name, const char *help,
                                     const double *bounds, size_t nbounds)
{
	return metric_add(m, name, help, METRIC_HISTOGRAM, bounds, nbounds, NULL);
}

struct metric *metrics_counter_new_labels(struct metrics *m, const char *name,
                                          const char *help, const char *const *labels)
{
	return metric_add(m, name, help, METRIC_COUNTER, NULL, 0, labels);
}

struct metric *metrics_gauge_new_labels(struct metrics *m, const char *name, const char *help,
                                        const char *const *labels)
{
	return metric_add(m, name, help, METRIC_GAUGE, NULL, 0, labels);
}

struct metric *metrics_histogram_new_labels(struct metrics *m, const char *name,
                                            const char *help, const double *bounds,
                                            size_t nbounds, const char *const *labels)
{
	return metric_add(m, name, help, METRIC_HISTOGRAM, bounds, nbounds, labels);
}

void metrics_counter_add(struct metric *c, uint64_t n)
{
	if (c && c->fam->type == METRIC_COUNTER)
		c->count += n;
}

void metrics_gauge_set(struct metric *g, double v)
{
	if (g && g->fam->type == METRIC_GAUGE)
		g->value = v;
}

void metrics_gauge_add(struct metric *g, double delta)
{
	if (g && g->fam->type == METRIC_GAUGE)
		g->value += delta;
}

void metrics_histogram_observe(struct metric *h, double v)
{
	size_t i;

	if (!h || h->fam->type != METRIC_HISTOGRAM)
		return;
	/* The first bound >= v; NaN lands in +Inf only. */
	for (i = 0; i < h->fam->nbounds; i++) {
		if (v <= h->fam->bounds[i]) {
			h->buckets[i]++;
			break;
		}
	}
	h->count++;
	h->sum += v;
}

uint64_t metrics_counter_value(const struct metric *c)
{
	return c && c->fam->type == METRIC_COUNTER ? c->count : 0;
}

double metrics_gauge_value(const struct metric *g)
{
	return g && g->fam->type == METRIC_GAUGE ? g->value : 0;
}

/* Shortest text that reads back as the same double; Prometheus spellings
 * for the infinities and NaN. */
static const char *format_double(char *buf, size_t size, double v)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	snprintf(buf, size, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, size, "%.17g", v);
	return buf;
}

static void put_double(FILE *f, double v)
{
	char buf[32];

	fputs(format_double(buf, sizeof(buf), v), f);
}

/* name{labels[,extra]} with braces only when there is a label. */
static void put_series(FILE *f, const char *name, const char *suffix, const char *labels,
                       const char *le)
{
	fprintf(f, "%s%s", name, suffix);
	if (!labels[0] && !le)
		return;
	fprintf(f, "{%s", labels);
	if (le)
		fprintf(f, "%sle=\"%s\"", labels[0] ? "," : "", le);
	fputc('}', f);
}

static void render_histogram(FILE *f, const struct metric *s)
{
	const struct metric_family *fam = s->fam;
	uint64_t cum = 0;
	char le[32];
	size_t i;

	for (i = 0; i < fam->nbounds; i++) {
		cum += s->buckets[i];
		put_series(f, fam->name, "_bucket", s->labels,
		           format_double(le, sizeof(le), fam->bounds[i]));
		fprintf(f, " %llu\n", (unsigned long long)cum);
	}
	put_series(f, fam->name, "_bucket", s->labels, "+Inf");
	fprintf(f, " %llu\n", (unsigned long long)s->count);
	put_series(f, fam->name, "_sum", s->labels, NULL);
	fputc(' ', f);
	put_double(f, s->sum);
	fputc('\n', f);
	put_series(f, fam->name, "_count", s->labels, NULL);
	fprintf(f, " %llu\n", (unsigned long long)s->count);
}

static void render_family(FILE *f, const struct metric_family *fam)
{
	const struct metric *s;
	const char *h;
	size_t i;

	/* HELP escapes only backslash and newline (format 0.0.4). */
	fprintf(f, "# HELP %s ", fam->name);
	for (h = fam->help; *h; h++) {
		if (*h == '\\')
			fputs("\\\\", f);
		else if (*h == '\n')
			fputs("\\n", f);
		else
			fputc(*h, f);
	}
	fprintf(f, "\n# TYPE %s %s\n", fam->name, type_names[fam->type]);
	for (i = 0; i < fam->nseries; i++) {
		s = fam->series[i];
		if (fam->type == METRIC_HISTOGRAM) {
			render_histogram(f, s);
			continue;
		}
		put_series(f, fam->name, "", s->labels, NULL);
		if (fam->type == METRIC_COUNTER) {
			fprintf(f, " %llu\n", (unsigned long long)s->count);
		} else {
			fputc(' ', f);
			put_double(f, s->value);
			fputc('\n', f);
		}
	}
}

int metrics_render(const struct metrics *m, char **out, size_t *len)
{
	FILE *f;
	size_t i;

	*out = NULL;
	*len = 0;
	if (!(f = open_memstream(out, len)))
		return -ENOMEM;
	for (i = 0; i < m->nfams; i++)
		render_family(f, m->fams[i]);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		*len = 0;
		return -ENOMEM;
	}
	return 0;
}
