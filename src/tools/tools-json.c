/* tools-json.c — a bounded reader for flat JSON objects and a bounded
 * writer, for the guest agent (see tools-json.h). Recursive descent over a
 * byte range; the only state is the cursor.
 */
#include "tools-json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *p;
    const char *end;
    TjMemberFunc func;
    void *user_data;
} TjParser;

static void skip_ws(TjParser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n'))
        ps->p++;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int put_utf8(char *out, size_t *len, unsigned cp)
{
    if (*len + 4 >= TJ_MAX_STRING)
        return -1;
    if (cp < 0x80) {
        out[(*len)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*len)++] = (char)(0xc0 | (cp >> 6));
        out[(*len)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*len)++] = (char)(0xe0 | (cp >> 12));
        out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*len)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*len)++] = (char)(0xf0 | (cp >> 18));
        out[(*len)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*len)++] = (char)(0x80 | (cp & 0x3f));
    }
    return 0;
}

static int parse_hex4(TjParser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(ps->p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + (unsigned)h;
    }
    ps->p += 4;
    *out = v;
    return 0;
}

static int parse_escape(TjParser *ps, char *out, size_t *len)
{
    char c = *ps->p++;
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit)
        return put_utf8(out, len, (unsigned char)to[hit - from]);
    if (c != 'u')
        return -1;
    unsigned cp;
    if (parse_hex4(ps, &cp) < 0)
        return -1;
    if (cp >= 0xd800 && cp < 0xdc00) {
        unsigned lo;
        if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
            return -1;
        ps->p += 2;
        if (parse_hex4(ps, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
            return -1;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return -1;
    }
    if (cp == 0)
        return -1; /* would truncate the C string */
    return put_utf8(out, len, cp);
}

/* Reads a string at the cursor (which is on the opening quote) into out. */
static int parse_string(TjParser *ps, char out[TJ_MAX_STRING])
{
    size_t len = 0;
    ps->p++;
    while (ps->p < ps->end) {
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            out[len] = '\0';
            return 0;
        }
        if (c < 0x20 || c == 0)
            return -1;
        if (c == '\\') {
            ps->p++;
            if (ps->p >= ps->end || parse_escape(ps, out, &len) < 0)
                return -1;
            continue;
        }
        if (len + 1 >= TJ_MAX_STRING)
            return -1;
        out[len++] = (char)c;
        ps->p++;
    }
    return -1;
}

static int parse_number(TjParser *ps, char out[TJ_MAX_STRING])
{
    const char *start = ps->p;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
        return -1;
    while (ps->p < ps->end && strchr("0123456789.eE+-", *ps->p))
        ps->p++;
    size_t n = (size_t)(ps->p - start);
    if (n >= TJ_MAX_STRING)
        return -1;
    memcpy(out, start, n);
    out[n] = '\0';
    return 0;
}

static int parse_literal(TjParser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return -1;
    ps->p += n;
    return 0;
}

static int parse_value(TjParser *ps, const char *key, int index, int depth);

static int parse_container(TjParser *ps, const char *key, int depth, bool is_array)
{
    char close = is_array ? ']' : '}';
    char member_key[TJ_MAX_STRING];
    int index = 0;

    if (depth > TJ_MAX_DEPTH)
        return -1;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        skip_ws(ps);
        if (!is_array) {
            if (ps->p >= ps->end || *ps->p != '"' || parse_string(ps, member_key) < 0)
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return -1;
            ps->p++;
        }
        /* Only depth 1 (the object's own members) and depth 2 (the elements
         * of an array member) are reported; anything deeper is skipped. */
        const char *report_key = NULL;
        if (depth == 0 && !is_array)
            report_key = member_key;
        else if (depth == 1 && is_array)
            report_key = key;
        if (parse_value(ps, report_key, is_array ? index : -1, depth + 1) < 0)
            return -1;
        index++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return 0;
        }
        return -1;
    }
}

static int parse_value(TjParser *ps, const char *key, int index, int depth)
{
    char text[TJ_MAX_STRING];
    TjKind kind;

    skip_ws(ps);
    if (ps->p >= ps->end)
        return -1;
    switch (*ps->p) {
    case '{':
        return parse_container(ps, NULL, depth, false);
    case '[':
        return parse_container(ps, key, depth, true);
    case '"':
        kind = TJ_STRING;
        if (parse_string(ps, text) < 0)
            return -1;
        break;
    case 't':
        kind = TJ_TRUE;
        strcpy(text, "true");
        if (parse_literal(ps, "true") < 0)
            return -1;
        break;
    case 'f':
        kind = TJ_FALSE;
        strcpy(text, "false");
        if (parse_literal(ps, "false") < 0)
            return -1;
        break;
    case 'n':
        kind = TJ_NULL;
        strcpy(text, "null");
        if (parse_literal(ps, "null") < 0)
            return -1;
        break;
    default:
        kind = TJ_NUMBER;
        if (parse_number(ps, text) < 0)
            return -1;
        break;
    }
    if (key && ps->func)
        ps->func(key, index, kind, text, ps->user_data);
    return 0;
}

int tj_parse_object(const char *text, size_t len, TjMemberFunc func, void *user_data)
{
    TjParser ps = { text, text + len, func, user_data };

    skip_ws(&ps);
    if (ps.p >= ps.end || *ps.p != '{')
        return -1;
    if (parse_container(&ps, NULL, 0, false) < 0)
        return -1;
    skip_ws(&ps);
    return ps.p == ps.end ? 0 : -1;
}

void tj_buf_init(TjBuf *buf, char *data, size_t size)
{
    buf->data = data;
    buf->size = size;
    buf->len = 0;
    buf->overflow = size == 0;
    if (size)
        data[0] = '\0';
}

bool tj_buf_ok(const TjBuf *buf)
{
    return !buf->overflow;
}

static void buf_append_n(TjBuf *buf, const char *text, size_t n)
{
    if (buf->overflow || buf->len + n + 1 > buf->size) {
        buf->overflow = true;
        return;
    }
    memcpy(buf->data + buf->len, text, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
}

void tj_buf_append(TjBuf *buf, const char *text)
{
    buf_append_n(buf, text, strlen(text));
}

void tj_buf_printf(TjBuf *buf, const char *format, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(tmp, sizeof tmp, format, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        buf->overflow = true;
        return;
    }
    buf_append_n(buf, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t utf8_sequence_length(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || (n == 2 && s[0] < 0xc2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

void tj_buf_append_string(TjBuf *buf, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    buf_append_n(buf, "\"", 1);
    while (*s) {
        if (*s == '"' || *s == '\\') {
            char esc[2] = { '\\', (char)*s };
            buf_append_n(buf, esc, 2);
            s++;
        } else if (*s < 0x20) {
            tj_buf_printf(buf, "\\u%04x", *s);
            s++;
        } else {
            size_t n = utf8_sequence_length(s);
            if (n == 0) {
                buf_append_n(buf, "?", 1);
                s++;
            } else {
                buf_append_n(buf, (const char *)s, n);
                s += n;
            }
        }
    }
    buf_append_n(buf, "\"", 1);
}
