/* The API's request bodies, checked field by field with jansson: hostile
 * until proven otherwise, like every other input (STYLE habit 7). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "api.h"

static int fail(char *err, size_t err_size, const char *fmt, const char *arg)
{
	snprintf(err, err_size, fmt, arg);
	return -EINVAL;
}

static json_t *load_object(const char *body, size_t len, char *err, size_t err_size)
{
	json_error_t je;
	json_t *j;

	j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!j) {
		snprintf(err, err_size, "bad JSON at line %d column %d: %s", je.line, je.column,
		         je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		fail(err, err_size, "%sthe body must be a JSON object", "");
		return NULL;
	}
	return j;
}

static int region_ok(const char *r, size_t n)
{
	size_t i;

	if (n == 0 || n >= SESSION_REGION_MAX || strlen(r) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (r[i] <= 0x20 || r[i] >= 0x7f || r[i] == '"')
			return 0;
	return 1;
}

/* An integer field in [0, max]. */
static int get_uint(json_t *v, const char *name, json_int_t max, uint64_t *out, char *err,
                    size_t err_size)
{
	json_int_t n;

	if (!json_is_integer(v))
		return fail(err, err_size, "%s must be an integer", name);
	n = json_integer_value(v);
	if (n < 0 || n > max)
		return fail(err, err_size, "%s is out of range", name);
	*out = (uint64_t)n;
	return 0;
}

static int connect_field(const char *key, json_t *v, struct api_connect *c, char *err,
                         size_t err_size)
{
	uint64_t n;

	if (!strcmp(key, "region")) {
		if (!json_is_string(v))
			return fail(err, err_size, "%s must be a string", key);
		if (!region_ok(json_string_value(v), json_string_length(v)))
			return fail(err, err_size, "%sregion must be 1-63 printable characters "
			            "without spaces or quotes", "");
		memcpy(c->region, json_string_value(v), json_string_length(v) + 1);
		return 0;
	}
	if (!strcmp(key, "min_bw")) {
		if (get_uint(v, key, INT64_MAX, &c->min_bw, err, err_size) < 0)
			return -EINVAL;
		return 0;
	}
	if (!strcmp(key, "max_latency_ms")) {
		if (get_uint(v, key, UINT32_MAX, &n, err, err_size) < 0)
			return -EINVAL;
		c->max_latency_ms = (uint32_t)n;
		return 0;
	}
	return fail(err, err_size, "unknown field \"%.40s\"", key);
}

int api_parse_connect(const char *body, size_t len, struct api_connect *c, char *err,
                      size_t err_size)
{
	const char *key;
	json_t *j, *v;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	if (!(j = load_object(body, len, err, err_size)))
		return -EINVAL;
	json_object_foreach(j, key, v) {
		if ((rc = connect_field(key, v, c, err, err_size)) < 0)
			break;
	}
	if (rc == 0 && !c->region[0])
		rc = fail(err, err_size, "%sregion is required", "");
	json_decref(j);
	return rc;
}

int api_parse_empty(const char *body, size_t len, char *err, size_t err_size)
{
	const char *key;
	json_t *j, *v;
	size_t i;

	for (i = 0; i < len && strchr(" \t\r\n", body[i]); i++)
		;
	if (i == len)
		return 0;
	if (!(j = load_object(body, len, err, err_size)))
		return -EINVAL;
	json_object_foreach(j, key, v) {
		fail(err, err_size, "unknown field \"%.40s\"", key);
		json_decref(j);
		return -EINVAL;
	}
	json_decref(j);
	return 0;
}
