/* Shared by supernoded's cross-region tests: a real basenoded process,
 * two supernoded cores (A serves r1 and the client, B serves r2 and the
 * exits), fake wgrelays for both, and the punched session between them.
 * Static functions: include once per test program, after sn_fake.h. */
#ifndef SN_CROSS_H
#define SN_CROSS_H

static struct supernoded *sa, *sb;
static struct identity ida, idb;
static struct fake_wgr wa, wb;
static struct fake e1, e2, c1;
static char tmpdir[64], bn_bin[512], dba[128], dbb[128];
static int b_store; /* B keeps a database (and a command journal) too */
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
		/* No /metrics: its fixed port is taken when tests run side by side. */
		execl(bn_bin, "basenoded", "-d", "-o", listen, "-o", keyopt, "-o", state, "-o",
		      admin, "-o", "log_level=error", "-o", "metrics_listen=", (char *)NULL);
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
	snprintf(dbb, sizeof(dbb), "%s/b.db", tmpdir);
	core_new(&sb, &idb, "r2", &wb, 0, b_store ? dbb : NULL, NULL);
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

/* ---- cross-region punching: A decides from B's view of the exit ---- */

static struct sn_peer *pa_client, *pb_exit;
static int c1_seen(void) { return (pa_client = peer_find(sa, c1.id.pk)) != NULL; }

/* Both exits up on B, e1 seen by B's "reflectors" with class nat, the
 * client on A seen EIM; A has reflectors (poked: none really run here). */
static Supermesh__ExitResponse *punch_exit(enum nat_class nat)
{
	sa->set.reflector_port = 51900;
	e1.behind_nat = 1;
	e1.load = 10;
	e2.behind_nat = 1;
	e2.load = 50;
	fake_start_at(&e1, SUPERMESH__ROLE__ROLE_EXIT, sb, idb.pk);
	fake_start_at(&e2, SUPERMESH__ROLE__ROLE_EXIT, sb, idb.pk);
	ck_assert(run_until(exits_on_b));
	run_for(100);
	ck_assert_ptr_nonnull(pb_exit = peer_find(sb, e1.id.pk));
	pb_exit->nat = nat;
	snprintf(pb_exit->seen[0], sizeof(pb_exit->seen[0]), "203.0.113.1:51820");
	fake_start_at(&c1, SUPERMESH__ROLE__ROLE_CLIENT, sa, ida.pk);
	ck_assert(run_until(c1_up));
	ck_assert(run_until(c1_seen));
	pa_client->nat = NAT_EIM;
	snprintf(pa_client->seen[0], sizeof(pa_client->seen[0]), "203.0.113.2:40000");
	request_exit(&c1, "r2");
	ck_assert(run_until(c1_answered));
	return c1.resp;
}

#endif
