/* hostile: one attack on a running daemon's control port per run (issue 7;
 * t/tools/legit_peer.c is the peer that must still get in). Prints one
 * key=value result line; exits 0 when the daemon defended itself. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "hostile_conn.h"
#include "msg.h"

static void fill_random(uint8_t *p, size_t len, unsigned seed)
{
	size_t i;

	srandom(seed);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)random();
}

/* garbage / bigprefix, before auth (open=0) or on an open stream. */
static int attack_bytes(int big, int open)
{
	static uint8_t junk[65536];
	struct conn c = { .fd = -1 };
	char reason[96];
	long ms;
	int rc;

	if (open && (rc = conn_auth(&c, 0, NULL, NULL, reason, sizeof(reason))) != 1) {
		printf("result=fail step=auth rc=%d reason=%s\n", rc, reason);
		return 1;
	}
	if (!open && (c.fd = tcp_open()) < 0)
		return 1;
	/* Well framed, so the junk reaches the hello parser (before auth) or
	 * the cipher (after); a bad length is the bigprefix case. */
	fill_random(junk, sizeof(junk), 7);
	frame_header(junk, open ? 1024 : 200);
	if (big)
		rc = send_all(c.fd, "\xff\xff\xff\xff", 4);
	else
		rc = send_all(c.fd, junk, sizeof(junk));
	/* The daemon may cut us off mid-send: that is the defence. */
	ms = wait_closed(c.fd, IO_MS);
	printf("result=%s closed_ms=%ld send_rc=%d\n", ms >= 0 ? "closed" : "open", ms, rc);
	conn_close(&c);
	return ms >= 0 ? 0 : 1;
}

/* A real ClientHello, one byte a second: the deadline must cut it. */
static int attack_slowloris(void)
{
	struct hs_state hs;
	uint8_t buf[BUF], frame[BUF + FRAME_HDR];
	uint64_t start = now_ms();
	int fd, n, i;
	long ms = -1;

	memset(&hs, 0, sizeof(hs));
	if ((n = hs_client_hello(&hs, buf, sizeof(buf))) < 0 || (fd = tcp_open()) < 0)
		return 1;
	frame_header(frame, (size_t)n);
	memcpy(frame + FRAME_HDR, buf, (size_t)n);
	for (i = 0; i < n + FRAME_HDR - 1; i++) {
		if (send_all(fd, frame + i, 1) < 0 || (ms = wait_closed(fd, 1000)) >= 0)
			break;
	}
	ms = (long)(now_ms() - start);
	hs_release(&hs);
	close(fd);
	printf("result=%s closed_ms=%ld bytes_sent=%d of=%d\n",
	       i < n + FRAME_HDR - 1 ? "closed" : "open", ms, i + 1, n + FRAME_HDR);
	return i < n + FRAME_HDR - 1 && ms <= 7000 ? 0 : 1;
}

/* forged (how 1) or expired (how 2): refused with the reason, then closed. */
static int attack_auth(int how, const char *want)
{
	struct conn c;
	char reason[96];
	int rc = conn_auth(&c, how, NULL, NULL, reason, sizeof(reason));
	long ms = rc == 0 ? wait_closed(c.fd, IO_MS) : -1;

	printf("result=%s reason=%s closed_ms=%ld\n", rc == 1 ? "accepted" : rc == 0 ?
	       "refused" : "error", reason, ms);
	conn_close(&c);
	return rc == 0 && strcmp(reason, want) == 0 && ms >= 0 ? 0 : 1;
}

/* A good handshake is recorded; its AuthRequest is replayed on a new
 * connection as the same ciphertext (must not open) and re-sealed under
 * the new keys (the signature covers the old H: bad_auth). */
static int attack_replay(void)
{
	uint8_t req[BUF], sealed[BUF + CIPHER_TAG];
	struct conn c;
	char reason[96], r2[96] = "none";
	int len, slen, rc, rc2;
	long raw_ms;

	rc = conn_auth(&c, 0, req, &len, reason, sizeof(reason));
	/* The ciphertext is what an eavesdropper saw: re-seal under the old
	 * key with counter 0, exactly the bytes on the wire. */
	cipher_init(&c.tx, c.hs.keys.tx);
	slen = cipher_seal(&c.tx, req, (size_t)len, sealed, sizeof(sealed));
	conn_close(&c);
	if (rc != 1 || slen < 0) {
		printf("result=fail step=record rc=%d reason=%s\n", rc, reason);
		return 1;
	}
	if (conn_hello(&c) < 0 || send_frame(c.fd, sealed, (size_t)slen) < 0)
		return 1;
	raw_ms = wait_closed(c.fd, IO_MS);
	conn_close(&c);
	if (conn_hello(&c) < 0 || conn_send(&c, req, (size_t)len) < 0)
		return 1;
	rc2 = conn_auth_reply(&c, r2, sizeof(r2));
	conn_close(&c);
	printf("result=%s raw_closed_ms=%ld resealed=%s reason=%s\n",
	       raw_ms >= 0 && rc2 == 0 ? "refused" : "accepted", raw_ms,
	       rc2 == 1 ? "accepted" : rc2 == 0 ? "refused" : "error", r2);
	return raw_ms >= 0 && rc2 == 0 && strcmp(r2, "bad_auth") == 0 ? 0 : 1;
}

/* N connections opened and dropped four ways, 32 at a time. */
static int attack_churn(long n)
{
	int fds[32], k, j, bad = 0;
	long i = 0;
	uint8_t buf[BUF];
	struct hs_state hs;
	int hl;

	memset(&hs, 0, sizeof(hs));
	hl = hs_client_hello(&hs, buf, sizeof(buf));
	while (i < n) {
		for (k = 0; k < 32 && i + k < n; k++)
			if ((fds[k] = tcp_open()) < 0)
				bad++;
		for (j = 0; j < k; j++, i++) {
			if (fds[j] < 0)
				continue;
			if (i % 4 >= 2)
				send_frame(fds[j], buf, (size_t)hl);
			if (i % 4 == 3)
				recv_frame(fds[j], buf + 1024, 1024, IO_MS);
			if (i % 4 == 1)
				tcp_reset(fds[j]);
			else
				close(fds[j]);
		}
	}
	hs_release(&hs);
	printf("result=done connections=%ld connect_failed=%d\n", n, bad);
	return bad ? 1 : 0;
}

/* One flood child: handshakes (or bare hellos) until the deadline; writes
 * "ok refused_rate refused_other errors" to fd. A connection closed before
 * the ServerHello counts as refused_rate: refused at accept, before the
 * daemon spent any crypto on it. */
static void flood_child(int hello_only, uint64_t end, int out)
{
	long ok = 0, rate = 0, other = 0, errs = 0;
	uint8_t hello[BUF], buf[BUF];
	struct hs_state hs;
	struct conn c;
	char reason[96], line[128];
	int hl, fd, rc;

	memset(&hs, 0, sizeof(hs));
	hl = hs_client_hello(&hs, hello, sizeof(hello));
	identity_generate(&me);
	while (now_ms() < end) {
		if (hello_only) {
			/* Same bytes every time: the attacker spends nothing. */
			rc = (fd = tcp_open()) < 0 ? -EIO : send_frame(fd, hello, (size_t)hl);
			if (rc >= 0)
				rc = recv_frame(fd, buf, sizeof(buf), IO_MS);
			if (rc >= 0)
				ok++;
			else if (fd >= 0 && (rc == -ECONNRESET || rc == -EPIPE))
				rate++;
			else
				errs++;
			if (fd >= 0)
				tcp_reset(fd);
			continue;
		}
		rc = conn_auth(&c, 0, NULL, NULL, reason, sizeof(reason));
		if (rc == 1)
			ok++;
		else if ((rc == 0 && strcmp(reason, "rate") == 0) || rc == -ECONNRESET ||
		         rc == -EPIPE)
			rate++;
		else if (rc == 0)
			other++;
		else
			errs++;
		if (c.fd >= 0)
			tcp_reset(c.fd);
		c.fd = -1;
		conn_close(&c);
	}
	snprintf(line, sizeof(line), "%ld %ld %ld %ld\n", ok, rate, other, errs);
	if (write(out, line, strlen(line)) < 0)
		_exit(1);
	_exit(0);
}

static int attack_flood(int hello_only, long seconds, long procs)
{
	long t[4] = { 0 }, v[4];
	uint64_t end = now_ms() + (uint64_t)seconds * 1000;
	char buf[4096];
	FILE *f;
	int p[2];
	long i;

	if (pipe(p) < 0)
		return 1;
	for (i = 0; i < procs; i++)
		if (fork() == 0) {
			close(p[0]);
			flood_child(hello_only, end, p[1]);
		}
	close(p[1]);
	f = fdopen(p[0], "r");
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "%ld %ld %ld %ld", &v[0], &v[1], &v[2], &v[3]) == 4)
			for (i = 0; i < 4; i++)
				t[i] += v[i];
	while (wait(NULL) > 0)
		;
	if (f)
		fclose(f);
	printf("result=done %s=%ld refused_rate=%ld refused_other=%ld errors=%ld per_s=%ld\n",
	       hello_only ? "hellos" : "accepted", t[0], t[1], t[2], t[3],
	       (t[0] + t[1] + t[2]) / (seconds ? seconds : 1));
	return 0;
}

static int ping_frame(uint8_t *out, size_t size)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__Ping ping = SUPERMESH__PING__INIT;

	ping.timestamp_ms = now_ms();
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PING;
	m.ping = &ping;
	return msg_pack(&m, out, size);
}

/* Authenticates, then sends Pings at rate/s for seconds, reading the Pongs
 * (or not: noread). The daemon must survive; whether it cut us off is
 * reported, and with noread it must (its write queue is bounded). */
static int attack_pingflood(long rate, long seconds, int noread)
{
	uint8_t p[64], buf[BUF], plain[BUF];
	uint64_t start, end, next;
	long sent = 0, pongs = 0, due, per_ms = rate / 1000 ? rate / 1000 : 1;
	struct pollfd pf;
	struct conn c;
	char reason[96];
	int n, rc, closed = 0;

	if ((rc = conn_auth(&c, 0, NULL, NULL, reason, sizeof(reason))) != 1) {
		printf("result=fail step=auth rc=%d reason=%s\n", rc, reason);
		return 1;
	}
	start = next = now_ms();
	end = start + (uint64_t)seconds * 1000;
	pf.fd = c.fd;
	pf.events = POLLIN;
	while (!closed && now_ms() < end) {
		for (due = 0; due < per_ms && now_ms() >= next; due++, sent++)
			if ((n = ping_frame(p, sizeof(p))) < 0 ||
			    (n = conn_send(&c, p, (size_t)n)) < 0) {
				closed = n == -EAGAIN ? 2 : 1; /* 2: stalled, not closed */
				break;
			}
		if (due)
			next += 1;
		if (noread && now_ms() < next)
			poll(NULL, 0, (int)(next - now_ms()));
		while (!closed && !noread && poll(&pf, 1, now_ms() < next ? (int)(next - now_ms()) : 0) > 0) {
			if ((n = recv_frame(c.fd, buf, sizeof(buf), 1000)) < 0 ||
			    cipher_open(&c.rx, buf, (size_t)n, plain, sizeof(plain)) < 0)
				closed = 1;
			else
				pongs++;
		}
	}
	printf("result=%s pings_sent=%ld pongs=%ld seconds=%.1f pings_per_s=%ld\n",
	       closed == 2 ? "stalled" : closed ? "cut_off" : "survived_unthrottled", sent, pongs,
	       (double)(now_ms() - start) / 1000, sent * 1000 / (long)(now_ms() - start + 1));
	conn_close(&c);
	return closed == 2 || (noread && !closed) ? 1 : 0;
}

/* n slow-loris connections held for seconds: each sends one byte of a
 * ClientHello a second and is reopened as soon as the daemon drops it.
 * Connects do not wait, so a full accept backlog does not slow us. */
static int attack_loris(long n, long seconds)
{
	uint8_t frame[BUF + FRAME_HDR];
	struct hs_state hs;
	uint64_t end = now_ms() + (uint64_t)seconds * 1000;
	long i, reopened = 0, failed = 0, held = 0;
	int *fds = calloc((size_t)n, sizeof(int));
	uint8_t *pos = calloc((size_t)n, 1); /* next byte of the frame to send */
	struct pollfd pf;
	int hl;

	memset(&hs, 0, sizeof(hs));
	if (!fds || !pos || (hl = hs_client_hello(&hs, frame + FRAME_HDR, BUF)) < 0)
		return 1;
	frame_header(frame, (size_t)hl);
	nonblock = 1;
	for (i = 0; i < n; i++)
		fds[i] = tcp_open();
	while (now_ms() < end) {
		for (i = 0, held = 0; i < n; i++) {
			pf.fd = fds[i];
			pf.events = POLLIN | POLLOUT;
			if (fds[i] >= 0 && poll(&pf, 1, 0) >= 0 && !(pf.revents & ~POLLOUT)) {
				/* Still connecting (no POLLOUT yet) counts as held. */
				if (!(pf.revents & POLLOUT) || pos[i] >= hl + FRAME_HDR - 1 ||
				    send(fds[i], frame + pos[i]++, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
					held++;
					continue;
				}
			}
			if (fds[i] >= 0)
				close(fds[i]);
			if ((fds[i] = tcp_open()) < 0)
				failed++;
			pos[i] = 0;
			reopened++;
		}
		poll(NULL, 0, 1000);
	}
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(pos);
	hs_release(&hs);
	printf("result=done held=%ld reopened=%ld connect_failed=%ld\n", held, reopened, failed);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: hostile [-b SRC_IP] [-r ROLE] [-k SERVER_KEY] MODE IP:PORT [ARGS]\n"
	        "  garbage | garbage-open   64 KiB of junk frames before / after auth\n"
	        "  bigprefix | bigprefix-open   a 0xFFFFFFFF length before / after auth\n"
	        "  slowloris    a ClientHello at one byte a second\n"
	        "  forged | expired | replay    bad AuthRequests\n"
	        "  churn N      N connections opened and dropped\n"
	        "  flood S P | hello-flood S P   handshakes (or bare hellos) from P processes for S s\n"
	        "  pingflood[-noread] RATE S   Pings at RATE/s for S s after auth\n"
	        "  loris N S    N slow-loris connections held for S s\n"
	        "ROLE is the Role number (1 client, 2 exit, 3 supernode; default 3).\n");
	exit(2);
}

static int run_mode(const char *mode, int argc, char **argv)
{
	if (!strcmp(mode, "garbage") || !strcmp(mode, "garbage-open"))
		return attack_bytes(0, mode[7] == '-');
	if (!strcmp(mode, "bigprefix") || !strcmp(mode, "bigprefix-open"))
		return attack_bytes(1, mode[9] == '-');
	if (!strcmp(mode, "slowloris"))
		return attack_slowloris();
	if (!strcmp(mode, "forged"))
		return attack_auth(1, "bad_auth");
	if (!strcmp(mode, "expired"))
		return attack_auth(2, "clock_skew");
	if (!strcmp(mode, "replay"))
		return attack_replay();
	if (!strcmp(mode, "churn") && argc == 1)
		return attack_churn(num(argv[0]));
	if (!strcmp(mode, "flood") && argc == 2)
		return attack_flood(0, num(argv[0]), num(argv[1]));
	if (!strcmp(mode, "hello-flood") && argc == 2)
		return attack_flood(1, num(argv[0]), num(argv[1]));
	if (!strcmp(mode, "pingflood") && argc == 2)
		return attack_pingflood(num(argv[0]), num(argv[1]), 0);
	if (!strcmp(mode, "pingflood-noread") && argc == 2)
		return attack_pingflood(num(argv[0]), num(argv[1]), 1);
	if (!strcmp(mode, "loris") && argc == 2)
		return attack_loris(num(argv[0]), num(argv[1]));
	usage();
	return 2;
}

int main(int argc, char **argv)
{
	int c;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "b:r:k:")) != -1) {
		if (c == 'b')
			src_ip = optarg;
		else if (c == 'r')
			role = (uint32_t)num(optarg);
		else if (c == 'k' && key_from_base64(optarg, pin) == 0)
			has_pin = 1;
		else
			usage();
	}
	if (argc - optind < 2 || parse_addr(argv[optind + 1], &dst) < 0)
		usage();
	if (keys_init() < 0 || identity_generate(&me) < 0)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_mode(argv[optind], argc - optind - 2, argv + optind + 2);
}
