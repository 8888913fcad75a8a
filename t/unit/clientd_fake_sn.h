/* The part of clientd's two fixtures (clientd_fixture.h, clientd_api_fixture.h)
 * that is the same: the fake supernode's listener and channel server, the
 * fake wgrelay's socket in a temporary dir, both identities, the loop. Needs
 * the fixture's E (loop, guard, listener, addr, addr_text, dir, wg_sock, sid,
 * cid, ch, accepted, wg) and its on_auth, on_open, on_message before it. */
#ifndef CLIENTD_FAKE_SN_H
#define CLIENTD_FAKE_SN_H

static void on_close(struct channel *ch, int status, const char *reason)
{
	if (E.ch == ch)
		E.ch = NULL;
}

static const struct channel_cbs srv_cbs = { on_auth, on_open, on_message, on_close };

static void on_conn(uv_stream_t *l, int status)
{
	struct channel_server_opts so = { .id = &E.sid };
	struct channel *ch;

	ck_assert_int_eq(channel_accept(l, &so, &srv_cbs, NULL, &ch), 0);
	E.ch = ch;
	E.accepted++;
}

/* The loop, a temporary dir after tmpl (mkdtemp) holding the fake wgrelay
 * with verbs, the identities and the listening supernode. */
static void fake_sn_begin(const char *tmpl, const struct verb *verbs)
{
	struct line_server_opts lo = { .allow_uid = getuid(), .allow_gid = (gid_t)-1 };

	ck_assert_int_eq(uv_loop_init(&E.loop), 0);
	uv_timer_init(&E.loop, &E.guard);
	snprintf(E.dir, sizeof(E.dir), "%s", tmpl);
	ck_assert_ptr_nonnull(mkdtemp(E.dir));
	snprintf(E.wg_sock, sizeof(E.wg_sock), "%s/wg.sock", E.dir);
	lo.path = E.wg_sock;
	ck_assert_int_eq(line_server_new(&E.loop, &lo, verbs, NULL, &E.wg), 0);
	ck_assert_int_eq(identity_generate(&E.sid), 0);
	ck_assert_int_eq(identity_generate(&E.cid), 0);
	listen_on(&E.listener, 0, &E.addr, on_conn);
	snprintf(E.addr_text, sizeof(E.addr_text), "127.0.0.1:%u", ntohs(E.addr.sin_port));
}

/* Closes what fake_sn_begin made, once clientd is gone; the dir must be
 * empty by then. */
static void fake_sn_end(void)
{
	line_server_free(E.wg);
	uv_close((uv_handle_t *)&E.listener, NULL);
	uv_close((uv_handle_t *)&E.guard, NULL);
	uv_run(&E.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&E.loop), 0);
	rmdir(E.dir);
	identity_release(&E.sid);
	identity_release(&E.cid);
}

#endif
