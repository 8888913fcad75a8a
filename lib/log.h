/* One line per event, key=value fields, to stderr (journald takes it from
 * there). Programs log; lib/ never does. */
#ifndef SM_LOG_H
#define SM_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *prog, enum log_level level);
void log_set_level(enum log_level level);
/* Where lines go; stderr (2) by default. For tests and daemons' log files. */
void log_set_fd(int fd);
/* "error", "warn", "info" or "debug"; -1 for anything else. */
int log_level_parse(const char *name);

/*
 * Each writes "ts=<RFC3339 UTC ms> level=<lvl> prog=<prog> " then the
 * formatted fields, e.g. log_warnx("event=auth_failed peer_id=%s reason=%s", ..).
 * log_warn appends " err=\"<strerror(errno)>\"". Newlines in the output are
 * replaced so one event is always one line. A line is at most LOG_LINE_MAX
 * bytes (longer ones end in "...") and is written with one write(2), so lines
 * from several processes sharing the fd never interleave.
 */
#define LOG_LINE_MAX 4096

void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
