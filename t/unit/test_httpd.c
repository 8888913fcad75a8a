/* lib/httpd on a real loop, TCP and UNIX socket: routes, 404/405/413/500,
 * the socket's mode, bad options; and lib/metrics_http's /metrics page. */
#include <check.h>
#include <errno.h>
#include <sys/stat.h>
#include <uv.h>
#include "httpd.h"
#include "metrics_http.h"
#include "http_fake.h"

static uv_loop_t loop;
static uv_timer_t guard;
static char dir[64], sock[96];

static void on_guard(uv_timer_t *t)
{
}

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* Serves until the client thread is done (5 s at most). */
static void serve(struct hf_call *c)
{
	uint64_t end = now_ms() + 5000;

	uv_timer_start(&guard, on_guard, 5, 5);
	while (!atomic_load(&c->done) && now_ms() < end)
		uv_run(&loop, UV_RUN_ONCE);
	uv_timer_stop(&guard);
	ck_assert_msg(atomic_load(&c->done), "request not finished");
}

static int h_hello(void *ctx, const struct httpd_req *rq, struct httpd_resp *rs)
{
	rs->content_type = "text/plain";
	rs->body = strdup("hello\n");
	rs->body_len = 6;
	return 0;
}

static int h_echo(void *ctx, const struct httpd_req *rq, struct httpd_resp *rs)
{
	ck_assert_str_eq(rq->method, "POST");
	rs->status = 201;
	rs->body = malloc(rq->body_len + 1);
	memcpy(rs->body, rq->body, rq->body_len + 1);
	rs->body_len = rq->body_len;
	return 0;
}

static int h_fail(void *ctx, const struct httpd_req *rq, struct httpd_resp *rs)
{
	rs->body = strdup("half");
	return -EIO;
}

static const struct httpd_route routes[] = {
	{ "GET", "/hello", h_hello },
	{ "POST", "/echo", h_echo },
	{ "PUT", "/echo", h_echo },
	{ "GET", "/fail", h_fail },
	{ NULL, NULL, NULL },
};

static void setup(void)
{
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &guard);
	snprintf(dir, sizeof(dir), "/tmp/test_httpd.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
}

static void teardown(void)
{
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	rmdir(dir);
}

static struct httpd *start_tcp(size_t max_body)
{
	struct httpd_opts o = { .listen = "127.0.0.1:0", .max_body = max_body };
	struct httpd *h;

	ck_assert_int_eq(httpd_new(&loop, &o, routes, NULL, &h), 0);
	ck_assert_uint_gt(httpd_port(h), 0);
	return h;
}

/* One request, served; the caller frees it. */
static struct hf_call *call(const char *path_sock, uint16_t port, const char *method,
                            const char *path, const char *body)
{
	struct hf_call *c = hf_start(path_sock, port, method, path, body);

	serve(c);
	return c;
}

START_TEST(tcp_routes)
{
	struct httpd *h = start_tcp(0);
	struct hf_call *c;
	char hdr[128];

	c = call(NULL, httpd_port(h), "GET", "/hello", NULL);
	ck_assert_int_eq(c->status, 200);
	ck_assert_str_eq(c->body, "hello\n");
	ck_assert_str_eq(hf_header(c, "Content-Type", hdr, sizeof(hdr)), "text/plain");
	hf_free(c);
	c = call(NULL, httpd_port(h), "POST", "/echo", "{\"a\": 1}");
	ck_assert_int_eq(c->status, 201);
	ck_assert_str_eq(c->body, "{\"a\": 1}");
	ck_assert_str_eq(hf_header(c, "Content-Type", hdr, sizeof(hdr)), "application/json");
	hf_free(c);
	/* The query string is not part of the path. */
	c = call(NULL, httpd_port(h), "GET", "/hello?x=1", NULL);
	ck_assert_int_eq(c->status, 200);
	hf_free(c);
	httpd_free(h);
}
END_TEST

START_TEST(not_found_and_method)
{
	struct httpd *h = start_tcp(0);
	struct hf_call *c;
	char hdr[128];

	c = call(NULL, httpd_port(h), "GET", "/nope", NULL);
	ck_assert_int_eq(c->status, 404);
	ck_assert_str_eq(c->body, "{\"error\":\"not found\"}");
	hf_free(c);
	c = call(NULL, httpd_port(h), "GET", "/echo", NULL);
	ck_assert_int_eq(c->status, 405);
	ck_assert_str_eq(hf_header(c, "Allow", hdr, sizeof(hdr)), "POST, PUT");
	ck_assert_ptr_nonnull(strstr(c->body, "method not allowed"));
	hf_free(c);
	c = call(NULL, httpd_port(h), "DELETE", "/hello", NULL);
	ck_assert_int_eq(c->status, 405);
	hf_free(c);
	c = call(NULL, httpd_port(h), "GET", "/fail", NULL);
	ck_assert_int_eq(c->status, 500);
	ck_assert_str_eq(c->body, "{\"error\":\"internal error\"}");
	hf_free(c);
	httpd_free(h);
}
END_TEST

START_TEST(body_limit)
{
	static char big[3000], raw[8192];
	struct httpd *h = start_tcp(1024);
	struct hf_call *c;
	int n;

	memset(big, 'x', sizeof(big) - 1);
	/* Declared too large: refused before the body is read. */
	c = call(NULL, httpd_port(h), "POST", "/echo", big);
	ck_assert_int_eq(c->status, 413);
	ck_assert_ptr_nonnull(strstr(c->body, "too large"));
	hf_free(c);
	/* Chunked, so no length up front: refused once it passes the limit. */
	n = snprintf(raw, sizeof(raw), "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
	             "Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n",
	             (unsigned)strlen(big), big);
	c = hf_start_raw(NULL, httpd_port(h), raw, (size_t)n);
	serve(c);
	ck_assert_int_eq(c->status, 413);
	hf_free(c);
	/* Exactly at the limit is fine. */
	big[1024] = '\0';
	c = call(NULL, httpd_port(h), "POST", "/echo", big);
	ck_assert_int_eq(c->status, 201);
	ck_assert_uint_eq(strlen(c->body), 1024);
	hf_free(c);
	httpd_free(h);
}
END_TEST

START_TEST(unix_socket)
{
	struct httpd_opts o = { .unix_path = sock, .unix_mode = 0600 };
	struct httpd *h;
	struct hf_call *c;
	struct stat st;

	/* A stale socket file is replaced; a regular file is not. */
	ck_assert_int_eq(httpd_new(&loop, &o, routes, NULL, &h), 0);
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(httpd_port(h), 0);
	c = call(sock, 0, "GET", "/hello", NULL);
	ck_assert_int_eq(c->status, 200);
	ck_assert_str_eq(c->body, "hello\n");
	hf_free(c);
	c = call(sock, 0, "POST", "/hello", "{}");
	ck_assert_int_eq(c->status, 405);
	hf_free(c);
	httpd_free(h);
	ck_assert_int_eq(access(sock, F_OK), -1);
}
END_TEST

START_TEST(bad_options)
{
	struct httpd_opts both = { .listen = "127.0.0.1:0", .unix_path = sock };
	struct httpd_opts none = { .listen = "" };
	struct httpd_opts host = { .listen = "localhost:80" };
	struct httpd_opts far = { .unix_path = "/nonexistent/dir/x.sock" };
	struct httpd_opts o = { .listen = "127.0.0.1:0" };
	struct httpd *h, *h2;
	char addr[32];

	ck_assert_int_eq(httpd_new(&loop, &both, routes, NULL, &h), -EINVAL);
	ck_assert_int_eq(httpd_new(&loop, &none, routes, NULL, &h), -EINVAL);
	ck_assert_int_eq(httpd_new(&loop, &host, routes, NULL, &h), -EINVAL);
	ck_assert_int_eq(httpd_new(&loop, &far, routes, NULL, &h), -ENOENT);
	ck_assert_int_eq(httpd_new(&loop, &o, routes, NULL, &h), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", httpd_port(h));
	o.listen = addr;
	ck_assert_int_eq(httpd_new(&loop, &o, routes, NULL, &h2), -EADDRINUSE);
	httpd_free(h);
	/* A regular file at the socket path is never removed. */
	fclose(fopen(sock, "w"));
	o.listen = NULL;
	o.unix_path = sock;
	ck_assert_int_eq(httpd_new(&loop, &o, routes, NULL, &h), -EADDRINUSE);
	ck_assert_int_eq(access(sock, F_OK), 0);
	unlink(sock);
}
END_TEST

START_TEST(metrics_page)
{
	struct metrics_http mh = { 0 };
	struct metric *c;
	struct hf_call *r;
	char hdr[128];

	mh.m = metrics_new();
	c = metrics_counter_new(mh.m, "active_things_total", "Things.");
	metrics_counter_add(c, 3);
	ck_assert_int_eq(metrics_http_start(&mh, &loop, ""), 0);
	ck_assert_ptr_null(mh.httpd);
	ck_assert_int_eq(metrics_http_start(&mh, &loop, "127.0.0.1:0"), 0);
	ck_assert_ptr_nonnull(mh.httpd);
	r = call(NULL, httpd_port(mh.httpd), "GET", "/metrics", NULL);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(hf_header(r, "Content-Type", hdr, sizeof(hdr)),
	                 "text/plain; version=0.0.4");
	ck_assert_ptr_nonnull(strstr(r->body, "# TYPE active_things_total counter\n"
	                                      "active_things_total 3\n"));
	ck_assert_ptr_nonnull(strstr(r->body, "# TYPE process_cpu_seconds_total counter\n"));
	ck_assert_ptr_nonnull(strstr(r->body, "\nprocess_open_fds "));
	ck_assert_ptr_nonnull(strstr(r->body, "\nprocess_resident_memory_bytes "));
	ck_assert_ptr_nonnull(strstr(r->body, "\nprocess_start_time_seconds 1"));
	hf_free(r);
	metrics_http_stop(&mh);
	metrics_http_stop(&mh);
	metrics_free(mh.m);
}
END_TEST

static int refreshes;

static void on_refresh(void *arg)
{
	metrics_gauge_set(arg, ++refreshes);
}

START_TEST(metrics_refresh_per_scrape)
{
	struct metrics_http mh = { 0 };
	struct hf_call *r;

	mh.m = metrics_new();
	mh.arg = metrics_gauge_new(mh.m, "scrapes", "Scrapes so far.");
	mh.refresh = on_refresh;
	refreshes = 0;
	ck_assert_int_eq(metrics_http_start(&mh, &loop, "127.0.0.1:0"), 0);
	r = call(NULL, httpd_port(mh.httpd), "GET", "/metrics", NULL);
	ck_assert_ptr_nonnull(strstr(r->body, "\nscrapes 1\n"));
	hf_free(r);
	r = call(NULL, httpd_port(mh.httpd), "GET", "/metrics", NULL);
	ck_assert_ptr_nonnull(strstr(r->body, "\nscrapes 2\n"));
	hf_free(r);
	r = call(NULL, httpd_port(mh.httpd), "POST", "/metrics", "");
	ck_assert_int_eq(r->status, 405);
	hf_free(r);
	metrics_http_stop(&mh);
	metrics_free(mh.m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("httpd");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, tcp_routes);
	tcase_add_test(tc, not_found_and_method);
	tcase_add_test(tc, body_limit);
	tcase_add_test(tc, unix_socket);
	tcase_add_test(tc, bad_options);
	tcase_add_test(tc, metrics_page);
	tcase_add_test(tc, metrics_refresh_per_scrape);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
