/* tools-json.h — the little JSON the guest agent needs, on libc alone.
 *
 * A reader for one flat object per line (strings, numbers, booleans, null,
 * arrays of those; nested values are skipped) and a bounded writer that
 * escapes strings. Nothing here allocates: a guest agent must not be made
 * to grow by what the host sends.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    TJ_STRING,
    TJ_NUMBER,   /* text holds the number as written */
    TJ_TRUE,
    TJ_FALSE,
    TJ_NULL,
} TjKind;

/* Called once per scalar member, and once per scalar element of an array
 * member (index counts from 0; -1 for a plain member). text is the decoded
 * value, NUL-terminated, valid only during the call. */
typedef void (*TjMemberFunc)(const char *key, int index, TjKind kind, const char *text,
                             void *user_data);

/* Parses text (len bytes) as one JSON object. Returns 0 on success, -1 when
 * it is not a well-formed object (func may have been called for members
 * before the error). Keys and strings longer than TJ_MAX_STRING are an
 * error, as is nesting deeper than TJ_MAX_DEPTH. */
#define TJ_MAX_STRING 1024
#define TJ_MAX_DEPTH 16
int tj_parse_object(const char *text, size_t len, TjMemberFunc func, void *user_data);

/* A bounded output buffer: appends never overflow; overflow is remembered
 * and makes tj_buf_ok() false. */
typedef struct {
    char *data;
    size_t size;
    size_t len;
    bool overflow;
} TjBuf;

void tj_buf_init(TjBuf *buf, char *data, size_t size);
bool tj_buf_ok(const TjBuf *buf);
void tj_buf_append(TjBuf *buf, const char *text);
void tj_buf_printf(TjBuf *buf, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* Appends text as a quoted JSON string (control characters escaped; bytes
 * that are not valid UTF-8 are replaced by '?'). */
void tj_buf_append_string(TjBuf *buf, const char *text);
