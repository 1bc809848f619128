/*
 * json.c - the reader of loadgen's own JSON (see json.h).
 */
#include "json.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define PATH_BYTES   256
#define SCALAR_BYTES 64
/* Nesting deeper than this is not something report.c writes. */
#define MAX_DEPTH 8

struct reader {
	const char *p;
	char path[PATH_BYTES];
	json_scalar_fn on_scalar;
	void *ctx;
};

static int read_value(struct reader *r, int depth);

static void skip_space(struct reader *r)
{
	while (isspace((unsigned char)*r->p))
		r->p++;
}

/* Appends ".name" (or "name" at the top) to the path; returns the old end. */
static size_t path_push(struct reader *r, const char *name, size_t name_len)
{
	size_t end = strlen(r->path);

	snprintf(r->path + end, PATH_BYTES - end, "%s%.*s", end ? "." : "", (int)name_len, name);
	return end;
}

/* A string's body: from after the opening quote to the closing one. */
static int read_string(struct reader *r, const char **start, size_t *len)
{
	const char *end;

	if (*r->p != '"')
		return -1;
	end = strpbrk(r->p + 1, "\"\\");
	if (end == NULL || *end == '\\')
		return -1;
	*start = r->p + 1;
	*len = (size_t)(end - *start);
	r->p = end + 1;
	return 0;
}

static int emit(struct reader *r, const char *start, size_t len)
{
	char value[SCALAR_BYTES];

	if (len == 0 || len >= sizeof value)
		return -1;
	memcpy(value, start, len);
	value[len] = '\0';
	r->on_scalar(r->path, value, r->ctx);
	return 0;
}

/* A number, true, false or null: the run of characters that can be one. */
static int read_bare(struct reader *r)
{
	const char *start = r->p;

	while (isalnum((unsigned char)*r->p) || strchr("+-.", *r->p) != NULL)
		r->p++;
	return emit(r, start, (size_t)(r->p - start));
}

/* After a member of an object or array: the path back to end, then the
 * closing character (returns 1) or a comma before the next member (0);
 * anything else is malformed (-1). */
static int after_member(struct reader *r, size_t end, char close)
{
	r->path[end] = '\0';
	skip_space(r);
	if (*r->p == close) {
		r->p++;
		return 1;
	}
	return *r->p++ == ',' ? 0 : -1;
}

static int read_object(struct reader *r, int depth)
{
	r->p++;
	skip_space(r);
	if (*r->p == '}') {
		r->p++;
		return 0;
	}
	for (;;) {
		const char *name;
		size_t name_len, end;
		int rc;

		skip_space(r);
		if (read_string(r, &name, &name_len) < 0)
			return -1;
		skip_space(r);
		if (*r->p++ != ':')
			return -1;
		end = path_push(r, name, name_len);
		if (read_value(r, depth + 1) < 0 || (rc = after_member(r, end, '}')) < 0)
			return -1;
		if (rc == 1)
			return 0;
	}
}

static int read_array(struct reader *r, int depth)
{
	r->p++;
	skip_space(r);
	if (*r->p == ']') {
		r->p++;
		return 0;
	}
	for (int index = 0;; index++) {
		char name[16];
		size_t end;
		int rc;

		snprintf(name, sizeof name, "%d", index);
		end = path_push(r, name, strlen(name));
		if (read_value(r, depth + 1) < 0 || (rc = after_member(r, end, ']')) < 0)
			return -1;
		if (rc == 1)
			return 0;
	}
}

static int read_value(struct reader *r, int depth)
{
	const char *start;
	size_t len;

	if (depth > MAX_DEPTH)
		return -1;
	skip_space(r);
	if (*r->p == '{')
		return read_object(r, depth);
	if (*r->p == '[')
		return read_array(r, depth);
	if (*r->p == '"')
		return read_string(r, &start, &len) < 0 ? -1 : emit(r, start, len);
	return read_bare(r);
}

int json_walk(const char *text, json_scalar_fn on_scalar, void *ctx)
{
	struct reader r = { .p = text, .on_scalar = on_scalar, .ctx = ctx };

	if (read_value(&r, 0) < 0)
		return -1;
	skip_space(&r);
	return *r.p == '\0' ? 0 : -1;
}
