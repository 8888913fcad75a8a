/* The userspace backend: wireguard-go, started by us, configured over its
 * UAPI socket SOCK_DIR/NAME.sock (text protocol in wg_uapi_text.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "netlink.h"
#include "wg.h"

#define UAPI_REPLY_MAX (16 * 1024 * 1024)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* -ENODEV when nothing listens on the interface's socket. */
static int uapi_connect(const struct wg_backend *be, const char *ifname, int *out)
{
	struct sockaddr_un sun;
	int fd, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", be->sock_dir, ifname);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		n = errno;
		close(fd);
		return (n == ENOENT || n == ECONNREFUSED) ? -ENODEV : -n;
	}
	*out = fd;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the reply's closing empty line, within the deadline. */
static int read_reply(int fd, int timeout_ms, char **out, size_t *len)
{
	int64_t end = now_ms() + timeout_ms;
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap), *grown;
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n;
	int ret;

	if (!buf)
		return -ENOMEM;
	while (used < 2 || memcmp(buf + used - 2, "\n\n", 2) != 0) {
		ret = -ETIMEDOUT;
		if (now_ms() >= end || poll(&p, 1, (int)(end - now_ms())) <= 0)
			goto fail;
		if (used + 1024 > cap) {
			ret = -EMSGSIZE;
			if (cap >= UAPI_REPLY_MAX || !(grown = realloc(buf, cap * 2)))
				goto fail;
			buf = grown;
			cap *= 2;
		}
		n = recv(fd, buf + used, cap - used, 0);
		ret = n < 0 ? -errno : -EPROTO;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		used += (size_t)n;
	}
	*out = buf;
	*len = used;
	return 0;
fail:
	sodium_memzero(buf, cap);
	free(buf);
	return ret;
}

/* One request, one reply on a fresh connection. */
static int uapi_exchange(const struct wg_backend *be, const char *ifname,
                         const char *req, size_t req_len, char **reply, size_t *reply_len)
{
	int fd, ret = uapi_connect(be, ifname, &fd);

	if (ret < 0)
		return ret;
	ret = write_all(fd, req, req_len);
	if (ret == 0)
		ret = read_reply(fd, be->timeout_ms, reply, reply_len);
	close(fd);
	return ret;
}

static int uapi_get(const struct wg_backend *be, const char *ifname, struct wg_device **out)
{
	static const char req[] = "get=1\n\n";
	char *reply;
	size_t len;
	int ret = uapi_exchange(be, ifname, req, sizeof(req) - 1, &reply, &len);

	if (ret < 0)
		return ret;
	ret = wg_uapi_parse_get(reply, len, out);
	sodium_memzero(reply, len);
	free(reply);
	if (ret == 0)
		snprintf((*out)->name, sizeof((*out)->name), "%s", ifname);
	return ret;
}

static int uapi_set(const struct wg_backend *be, const struct wg_device *dev)
{
	char *req, *reply;
	size_t req_len, len;
	int ret = wg_uapi_format_set(dev, &req, &req_len);

	if (ret < 0)
		return ret;
	ret = uapi_exchange(be, dev->name, req, req_len, &reply, &len);
	sodium_memzero(req, req_len);
	free(req);
	if (ret < 0)
		return ret;
	ret = wg_uapi_parse_errno(reply, len);
	free(reply);
	return ret;
}

/* Our environment without WG_PROCESS_FOREGROUND, so wireguard-go daemonizes
 * (it returns once the interface and its socket exist). */
static char **spawn_env(void)
{
	size_t n = 0, i, j = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "WG_PROCESS_FOREGROUND=", 22) != 0)
			env[j++] = environ[i];
	return env;
}

/* Waits for the child with a deadline; its stderr (the pipe) is logged when
 * it fails, since wireguard-go says there why. */
static int spawn_wait(const struct wg_backend *be, pid_t pid, int errfd)
{
	int64_t end = now_ms() + be->timeout_ms;
	char msg[512];
	ssize_t n;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -ETIMEDOUT;
		}
		pause_ms(10);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	n = read(errfd, msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '"')
			*c = ' ';
	log_warnx("event=wireguard_go_failed status=%d output=\"%s\"", status, msg);
	return -EIO;
}

static int spawn_wireguard_go(const struct wg_backend *be, const char *ifname)
{
	char *argv[] = { (char *)(uintptr_t)be->program, (char *)(uintptr_t)ifname, NULL };
	posix_spawn_file_actions_t fa;
	char **env = spawn_env();
	int pipefd[2] = { -1, -1 }, ret;
	pid_t pid;

	if (!env)
		return -ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(env);
		return -errno;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	ret = -posix_spawnp(&pid, be->program, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	close(pipefd[1]);
	if (ret < 0) {
		/* Not "notfound": that code is for the interface. */
		log_warnx("event=wireguard_go_failed program=%s err=\"%s\"", be->program,
		          strerror(-ret));
		ret = -EIO;
	} else {
		ret = spawn_wait(be, pid, pipefd[0]);
	}
	close(pipefd[0]);
	return ret;
}

/* Waits until the socket answers (up) or refuses (gone), per want_up. */
static int wait_socket(const struct wg_backend *be, const char *ifname, int want_up)
{
	int64_t end = now_ms() + be->timeout_ms;
	int fd, ret;

	for (;;) {
		ret = uapi_connect(be, ifname, &fd);
		if (ret == 0)
			close(fd);
		if ((ret == 0) == !!want_up)
			return 0;
		if (ret < 0 && ret != -ENODEV)
			return ret;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		pause_ms(10);
	}
}

static void sock_unlink(const struct wg_backend *be, const char *ifname)
{
	char path[256];
	int n = snprintf(path, sizeof(path), "%s/%s.sock", be->sock_dir, ifname);

	if (n > 0 && (size_t)n < sizeof(path))
		unlink(path);
}

/* Deleting the tun makes wireguard-go exit; its socket then refuses. */
static int uapi_destroy(const struct wg_backend *be, const char *ifname)
{
	int fd, had_sock = uapi_connect(be, ifname, &fd) == 0;
	int ret;

	if (had_sock)
		close(fd);
	ret = netlink_link_del(ifname);
	if (ret == -ENODEV && !had_sock) {
		sock_unlink(be, ifname);
		return -ENODEV;
	}
	if (ret < 0 && ret != -ENODEV)
		return ret;
	ret = wait_socket(be, ifname, 0);
	if (ret == 0)
		sock_unlink(be, ifname);
	return ret;
}

static int uapi_create(const struct wg_backend *be, const char *ifname)
{
	int fd, ret;

	if (uapi_connect(be, ifname, &fd) == 0) {
		close(fd);
		return -EEXIST;
	}
	if (netlink_link_index(ifname) >= 0)
		return -EEXIST;
	ret = spawn_wireguard_go(be, ifname);
	if (ret == 0)
		ret = wait_socket(be, ifname, 1);
	if (ret == 0)
		ret = netlink_link_up(ifname);
	if (ret < 0)
		uapi_destroy(be, ifname);
	return ret;
}

void wg_uapi_backend_init(struct wg_backend *be, const char *program)
{
	memset(be, 0, sizeof(*be));
	be->name = "userspace";
	be->create = uapi_create;
	be->destroy = uapi_destroy;
	be->get = uapi_get;
	be->set = uapi_set;
	be->program = program && *program ? program : "wireguard-go";
	be->sock_dir = "/var/run/wireguard";
	be->timeout_ms = 5000;
}
