/* supernoded across regions on loopback: a real basenoded process, two
 * supernoded cores (A serves r1 and the client, B serves r2 and the exits),
 * fake wgrelays for both. Proves ExitRegionRequest -> pooled stream ->
 * ExitPeerRequest -> SETUP_EXIT { exit_id } through B, B's relay, rotation
 * when B loses the exit, teardown through B, and the relay chain on A. */
/* protobuf-c's __INIT macros and string literals in messages cast const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <uv.h>
#include "../../supernoded/directory.h"
#include "../../supernoded/peer.h"
#include "../../supernoded/session.h"
#include "../../supernoded/supernoded.h"
#include "handshake.pb-c.h"
#include "line_server.h"
#include "log.h"
#include "msg.h"
#include "peerlink.h"
#include "sn_fake.h"

static struct supernoded *sa, *sb;
static struct identity ida, idb;
static struct fake_wgr wa, wb;
static struct fake e1, e2, c1;
static char tmpdir[64], bn_bin[512], dba[128];
static pid_t bn_pid;
static struct sockaddr_storage bn_addr;
static uint8_t bn_key[ID_PK_LEN];

/* build/<O>/t/test_x -> build/<O>/bin/basenoded */
static int find_basenoded(void)
{
	char self[400];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return 0;
	self[n] = '\0';
	if (!(slash = strrchr(self, '/')))
		return 0;
	*slash = '\0';
	if (!(slash = strrchr(self, '/')))
		return 0;
	*slash = '\0';
	snprintf(bn_bin, sizeof(bn_bin), "%s/bin/basenoded", self);
	return access(bn_bin, X_OK) == 0;
}

static uint16_t free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void bn_key_read(const char *keyopt)
{
	char cmd[1200], line[128];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s -o %s -k", bn_bin, keyopt);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	ck_assert_int_eq(key_from_base64(line, bn_key), 0);
}

static void bn_start(void)
{
	char listen[64], keyopt[128], state[128], admin[128];
	struct stat st;
	uint16_t port = free_port();
	int i;

	snprintf(listen, sizeof(listen), "listen=127.0.0.1:%u", port);
	snprintf(keyopt, sizeof(keyopt), "key_file=%s/bn.key", tmpdir);
	snprintf(state, sizeof(state), "state_dir=%s/bn", tmpdir);
	snprintf(admin, sizeof(admin), "admin_socket=%s/bn.sock", tmpdir);
	bn_key_read(keyopt);
	uv_ip4_addr("127.0.0.1", port, (struct sockaddr_in *)&bn_addr);
	bn_pid = fork();
	ck_assert_int_ge(bn_pid, 0);
	if (bn_pid == 0) {
		execl(bn_bin, "basenoded", "-d", "-o", listen, "-o", keyopt, "-o", state, "-o",
		      admin, "-o", "log_level=error", (char *)NULL);
		_exit(127);
	}
	/* Listening once its admin socket exists (made after the listener). */
	for (i = 0; i < 250 && stat(admin + strlen("admin_socket="), &st) < 0; i++)
		usleep(20000);
	ck_assert_int_lt(i, 250);
}

static void core_new(struct supernoded **out, struct identity *id, const char *region,
                     struct fake_wgr *w, int chain, const char *db,
                     const struct sockaddr_storage *at)
{
	struct sn_settings set;
	struct sockaddr_storage ss;
	char err[256], ip[64];

	sn_settings_default(&set);
	if (at)
		set.listen = *at;
	else
		uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&set.listen);
	snprintf(set.region, sizeof(set.region), "%s", region);
	snprintf(set.wgrelay_socket, sizeof(set.wgrelay_socket), "%s", w->path);
	set.relay_chain = chain;
	set.cmd_timeout_ms = 1000;
	set.cmd_retries = 2;
	set.auth_rate = 0;
	set.bn_addr[0] = bn_addr;
	memcpy(set.bn_key[0], bn_key, ID_PK_LEN);
	set.nbn = 1;
	ck_assert_msg(sn_core_new(&loop, &set, id, db, out, err, sizeof(err)) == 0, "%s", err);
	/* The port is the kernel's choice: tell basenoded the real one. The
	 * link registers from a later loop turn, after its handshake. */
	ck_assert_int_eq(sn_listen_addr(*out, &ss), 0);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
	snprintf((*out)->set.public_address, sizeof((*out)->set.public_address), "%s:%u", ip,
	         ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

static int registered(void)
{
	return directory_up(sa->dir) == 1 && directory_up(sb->dir) == 1;
}

static void setup_with(int chain)
{
	ck_assert_int_eq(keys_init(), 0);
	log_init("test", LOG_LVL_ERROR);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sn_cross_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	memset(&c1, 0, sizeof(c1));
	bn_pid = 0;
	if (!find_basenoded())
		return;
	bn_start();
	fake_wgr_start(&wa, tmpdir, "wga.sock", "41001", "41002");
	fake_wgr_start(&wb, tmpdir, "wgb.sock", "42001", "42002");
	ck_assert_int_eq(identity_generate(&ida), 0);
	ck_assert_int_eq(identity_generate(&idb), 0);
	snprintf(dba, sizeof(dba), "%s/a.db", tmpdir);
	core_new(&sa, &ida, "r1", &wa, chain, dba, NULL);
	core_new(&sb, &idb, "r2", &wb, 0, NULL, NULL);
	ck_assert(run_until(registered));
	run_for(200); /* RegisterSupernode follows the link coming up */
}

static void setup(void) { setup_with(0); }
static void setup_chain(void) { setup_with(1); }

static void teardown(void)
{
	char cmd[128];
	int status;

	if (bn_pid > 0) {
		fake_release(&e1);
		fake_release(&e2);
		fake_release(&c1);
		sn_core_stop(sa);
		sn_core_stop(sb);
		line_server_free(wa.srv);
		line_server_free(wb.srv);
		uv_run(&loop, UV_RUN_DEFAULT);
		sn_core_destroy(sa);
		sn_core_destroy(sb);
		identity_release(&ida);
		identity_release(&idb);
		kill(bn_pid, SIGTERM);
		ck_assert_int_eq(waitpid(bn_pid, &status, 0), bn_pid);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static int exits_on_b(void)
{
	return peer_count(sb, SUPERMESH__ROLE__ROLE_EXIT, 1) == 2 && e1.up && e2.up;
}

static int c1_up(void) { return c1.up > 0; }
static int c1_answered(void) { return c1.responses > 0; }

static Supermesh__ExitResponse *cross_exit(void)
{
	fake_start_at(&e1, SUPERMESH__ROLE__ROLE_EXIT, sb, idb.pk);
	fake_start_at(&e2, SUPERMESH__ROLE__ROLE_EXIT, sb, idb.pk);
	ck_assert(run_until(exits_on_b));
	run_for(100); /* their InfoResponses */
	fake_start_at(&c1, SUPERMESH__ROLE__ROLE_CLIENT, sa, ida.pk);
	ck_assert(run_until(c1_up));
	request_exit(&c1, "r2");
	ck_assert(run_until(c1_answered));
	return c1.resp;
}

static int c1_rotated(void) { return c1.rotates == 1; }

static int all_torn_down(void)
{
	return e2.disconnects >= 1 && session_count(sa, 0) == 0 && session_count(sb, 0) == 0 &&
	       relay_seen(&wb, "del ");
}

START_TEST(cross_region_relay_rotation_teardown)
{
	Supermesh__ExitResponse *r;
	char want[64];

	if (!bn_pid)
		return; /* no basenoded binary next to the test: nothing to run */
	e1.behind_nat = 1;
	e1.load = 10;
	e2.behind_nat = 1;
	e2.load = 50;
	r = cross_exit();
	ck_assert_msg(r->ok, "error %s", r->error);
	ck_assert_int_eq(r->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	/* B's relay, B's exit: A never touched its own wgrelay. */
	ck_assert_str_eq(r->wireguard->endpoint, "127.0.0.1:42001");
	ck_assert_int_eq(memcmp(r->wireguard->exit_pubkey.data, e1.wg, 32), 0);
	ck_assert_str_eq(e1.setup_client_ep, "127.0.0.1:42002");
	memcpy(want, "add ", 4);
	bytes_to_hex(c1.session, MSG_ID_LEN, want + 4);
	ck_assert_str_eq(wb.log[0], want);
	ck_assert_int_eq(wa.n, 0);
	ck_assert_uint_eq(session_count(sa, 1), 1);
	ck_assert_uint_eq(session_count(sb, 1), 1);
	ck_assert_int_eq(sa->sessions->rec.kind, SESS_ORIGIN);
	ck_assert_int_eq(sb->sessions->rec.kind, SESS_SERVE);
	/* B loses the exit: A rotates the client to B's other exit. */
	fake_stop(&e1);
	ck_assert(run_until(c1_rotated));
	ck_assert_int_eq(memcmp(c1.rotate->wireguard->exit_pubkey.data, e2.wg, 32), 0);
	ck_assert_int_eq(memcmp(c1.rotate->old_exit_pubkey.data, e1.wg, 32), 0);
	ck_assert_int_eq(e2.setups, 1);
	/* The client leaves: A tells B, B tells the exit and drops its relay. */
	client_disconnect(&c1);
	ck_assert(run_until(all_torn_down));
}
END_TEST

START_TEST(relay_chain_through_origin)
{
	Supermesh__ExitResponse *r;
	char want[128];

	if (!bn_pid)
		return;
	e1.endpoint = "192.0.2.10:51820"; /* public, yet the chain relays */
	e1.load = 10;
	e2.behind_nat = 1;
	e2.load = 50;
	r = cross_exit();
	ck_assert_msg(r->ok, "error %s", r->error);
	ck_assert_int_eq(r->path, SUPERMESH__PATH_KIND__PATH_RELAY_CHAIN);
	ck_assert_str_eq(r->wireguard->endpoint, "127.0.0.1:41001");
	ck_assert_str_eq(e1.setup_client_ep, "127.0.0.1:42002");
	/* A's relay forwards to B's client-facing port. */
	memcpy(want, "add ", 4);
	bytes_to_hex(c1.session, MSG_ID_LEN, want + 4);
	snprintf(want + 4 + 2 * MSG_ID_LEN, sizeof(want) - 4 - 2 * MSG_ID_LEN,
	         " to 127.0.0.1:42001");
	ck_assert_int_eq(wa.n, 1);
	ck_assert_str_eq(wa.log[0], want);
	ck_assert(relay_seen(&wb, "add "));
}
END_TEST

static int a_back(void)
{
	struct sn_peer *b = peer_find(sa, idb.pk);

	return c1.up == 2 && b && peer_is_up(b) && directory_up(sa->dir) == 1;
}

static int e1_told(void) { return e1.disconnects == 1 && session_count(sb, 0) == 0; }

START_TEST(origin_restart_keeps_remote_session)
{
	struct sockaddr_storage at;

	if (!bn_pid)
		return;
	e1.behind_nat = 1;
	e2.behind_nat = 1;
	e2.load = 50;
	ck_assert(cross_exit()->ok);
	/* A restarts on the same port and database: it reloads the session,
	 * reopens the pooled stream to B, and the client is matched. */
	ck_assert_int_eq(sn_listen_addr(sa, &at), 0);
	sn_core_stop(sa);
	run_for(100);
	sn_core_destroy(sa);
	core_new(&sa, &ida, "r1", &wa, 0, dba, &at);
	ck_assert_uint_eq(session_count(sa, 1), 1);
	ck_assert(run_until(a_back));
	run_for(300);
	ck_assert_uint_eq(session_count(sa, 1), 1);
	ck_assert_int_eq(c1.disconnects, 0);
	client_disconnect(&c1);
	ck_assert(run_until(e1_told));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_cross");
	TCase *tc = tcase_create("cross");
	TCase *tc2 = tcase_create("chain");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, cross_region_relay_rotation_teardown);
	tcase_add_test(tc, origin_restart_keeps_remote_session);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tc2, setup_chain, teardown);
	tcase_set_timeout(tc2, 20);
	tcase_add_test(tc2, relay_chain_through_origin);
	suite_add_tcase(s, tc2);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
