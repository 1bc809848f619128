/*
 * json.h - reading back loadgen's own JSON reports (loadgen merge).
 *
 * A small recursive-descent reader for what report.c writes: objects,
 * arrays, numbers, strings without escapes, true, false, null. It walks the
 * document and hands every scalar to a callback with its path: object keys
 * and array indices joined by dots ("latency_us.p50",
 * "latency_histogram.buckets.3.0"), strings without their quotes, null as
 * "null". It is not a general JSON parser: a string with a backslash is
 * refused as malformed.
 */
#ifndef JSON_H
#define JSON_H

typedef void (*json_scalar_fn)(const char *path, const char *value, void *ctx);

/* Walks text; returns 0, or -1 when it is not one well-formed value of the
 * kinds above (followed by nothing but white space). */
int json_walk(const char *text, json_scalar_fn on_scalar, void *ctx);

#endif
