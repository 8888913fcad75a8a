/* One key=value line per event, written to one fd with a single write(2).
 * The one piece of lib/ with process-wide state: the program's log settings. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "log.h"

static const char *log_prog = "supermesh";
static enum log_level log_level = LOG_LVL_INFO;
static int log_fd = 2;

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_init(const char *prog, enum log_level level)
{
	log_prog = prog ? prog : "supermesh";
	log_level = level;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

int log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

/* "ts=... level=... prog=... "; returns its length. */
static size_t log_header(char *buf, size_t size, enum log_level level)
{
	uint64_t ms = clock_wall_ms();
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char when[32];
	int n;

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(buf, size, "ts=%s.%03uZ level=%s prog=%s ", when,
	             (unsigned)(ms % 1000), level_names[level], log_prog);
	if (n < 0)
		return 0;
	/* A prog name near LOG_LINE_MAX is absurd; keep room for the message. */
	return (size_t)n < size / 2 ? (size_t)n : size / 2;
}

/* Control bytes (newlines above all) would split or forge lines. */
static void log_sanitize(char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = ' ';
}

static void log_write(const char *buf, size_t len)
{
	ssize_t n;

	/* One write keeps the line whole; a short write (full pipe) is finished
	 * off rather than lost. */
	while (len > 0) {
		n = write(log_fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void log_vemit(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];
	size_t hdr, slen = strlen(suffix), avail, len;
	int n;

	if (level > log_level)
		return;
	hdr = log_header(buf, sizeof(buf), level);
	if (slen > sizeof(buf) / 4)
		slen = sizeof(buf) / 4;
	/* Room for the message, the suffix and the newline. */
	avail = sizeof(buf) - hdr - slen - 1;
	n = vsnprintf(buf + hdr, avail + 1, fmt, ap);
	if (n < 0)
		n = 0;
	len = (size_t)n;
	if (len > avail) {
		len = avail;
		memcpy(buf + hdr + len - 3, "...", 3);
	}
	memcpy(buf + hdr + len, suffix, slen);
	len += slen;
	log_sanitize(buf + hdr, len);
	buf[hdr + len] = '\n';
	log_write(buf, hdr + len + 1);
}

#define LOG_FN(fn, lvl)                                  \
	void fn(const char *fmt, ...)                    \
	{                                                \
		va_list ap;                              \
		va_start(ap, fmt);                       \
		log_vemit(lvl, "", fmt, ap);             \
		va_end(ap);                              \
	}

LOG_FN(log_errorx, LOG_LVL_ERROR)
LOG_FN(log_warnx, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

void log_warn(const char *fmt, ...)
{
	char suffix[256], ebuf[200];
	int saved = errno;
	va_list ap;

	snprintf(suffix, sizeof(suffix), " err=\"%s\"", strerror_r(saved, ebuf, sizeof(ebuf)));
	va_start(ap, fmt);
	log_vemit(LOG_LVL_WARN, suffix, fmt, ap);
	va_end(ap);
	errno = saved;
}
