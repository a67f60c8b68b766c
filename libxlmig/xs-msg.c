/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xs-msg.c - the JSON bodies of the stream session of xlmig/1 (xs-msg.h):
 * encoders with yajl_gen, so text is escaped, and decoders that check
 * every field of the peer's untrusted JSON for presence, type and range.
 * Pure: no I/O, no context, no logging.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "jsonlim.h"
#include "proto.h"
#include "xs-msg.h"

#define XS_MSG_SECONDS_MAX 1e9

/* ---- encoding ------------------------------------------------------------ */

/* The generator fails only when misused: a bug here, not the caller's. */
static void xs_msg_gen_check(yajl_gen_status st)
{
    if (st != yajl_gen_status_ok) abort();
}

static yajl_gen xs_msg_gen_open(void)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (!g) abort();
    /* Text that is not UTF-8 would make JSON the peer cannot parse. */
    if (!yajl_gen_config(g, yajl_gen_validate_utf8, 1)) abort();
    xs_msg_gen_check(yajl_gen_map_open(g));
    return g;
}

static void xs_msg_gen_key(yajl_gen g, const char *k)
{
    xs_msg_gen_check(yajl_gen_string(g, (const unsigned char *)k,
                                     strlen(k)));
}

/* A string member: the first len bytes of v, which may be any bytes. */
static void xs_msg_gen_str(yajl_gen g, const char *k, const char *v,
                           size_t len)
{
    yajl_gen_status st;
    unsigned char *plain;
    size_t i;

    xs_msg_gen_key(g, k);
    st = yajl_gen_string(g, (const unsigned char *)v, len);
    if (st == yajl_gen_invalid_string) {
        /* Not UTF-8: what is not ASCII becomes '?'. */
        plain = xmalloc(len ? len : 1);
        for (i = 0; i < len; i++)
            plain[i] = (unsigned char)v[i] < 0x80 ? (unsigned char)v[i]
                                                  : '?';
        st = yajl_gen_string(g, plain, len);
        free(plain);
    }
    xs_msg_gen_check(st);
}

static void xs_msg_gen_u64(yajl_gen g, const char *k, uint64_t v)
{
    char num[24];
    int n;

    /* As the digits: yajl_gen_integer() stops at INT64_MAX. */
    n = snprintf(num, sizeof(num), "%" PRIu64, v);
    if (n < 0 || (size_t)n >= sizeof(num)) abort();
    xs_msg_gen_key(g, k);
    xs_msg_gen_check(yajl_gen_number(g, num, (size_t)n));
}

static void xs_msg_gen_bool(yajl_gen g, const char *k, bool v)
{
    xs_msg_gen_key(g, k);
    xs_msg_gen_check(yajl_gen_bool(g, v));
}

/* Seconds, within what the decoder takes (NaN: 0). */
static void xs_msg_gen_seconds(yajl_gen g, const char *k, double v)
{
    if (!(v >= 0))
        v = 0;
    else if (v > XS_MSG_SECONDS_MAX)
        v = XS_MSG_SECONDS_MAX;
    xs_msg_gen_key(g, k);
    /* "%.20g": the decoder gets the same double back. */
    xs_msg_gen_check(yajl_gen_double(g, v));
}

/*
 * Closes the object and returns its text. secret: the text holds a key,
 * so yajl's buffer is cleared before it is freed (a STREAM_OK answer
 * stays within the buffer's first allocation: it was never moved).
 */
static char *xs_msg_gen_close(yajl_gen g, bool secret)
{
    const unsigned char *buf;
    size_t len;
    char *s;

    xs_msg_gen_check(yajl_gen_map_close(g));
    xs_msg_gen_check(yajl_gen_get_buf(g, &buf, &len));
    s = xmalloc(len + 1);
    memcpy(s, buf, len);
    s[len] = '\0';
    if (secret) explicit_bzero((void *)buf, len);
    yajl_gen_free(g);
    return s;
}

static const char *xs_msg_codec_name(int codec)
{
    const char *name = codec == XS_MSG_CODEC_AUTO
                       ? "auto" : frame_codec_name((enum frame_codec)codec);

    if (!name) abort();
    return name;
}

char *xs_msg_hello_encode(const struct xs_msg_hello *h)
{
    yajl_gen g = xs_msg_gen_open();

    xs_msg_gen_u64(g, "xlmig", h->version);
    xs_msg_gen_str(g, "version", h->sw, strnlen(h->sw, XS_MSG_SWVER_MAX));
    xs_msg_gen_key(g, "caps");
    xs_msg_gen_check(yajl_gen_array_open(g));
    if (h->stream)
        xs_msg_gen_check(yajl_gen_string(g, (const unsigned char *)"stream",
                                         6));
    if (h->restream)
        xs_msg_gen_check(yajl_gen_string(g,
                                         (const unsigned char *)"restream",
                                         8));
    xs_msg_gen_check(yajl_gen_array_close(g));
    return xs_msg_gen_close(g, false);
}

char *xs_msg_stream_encode(const struct xs_msg_stream *s)
{
    yajl_gen g = xs_msg_gen_open();
    const char *data = s->tcp ? "tcp" : "ssh";
    const char *codec = xs_msg_codec_name(s->codec);

    if (s->port > 65535) abort();
    xs_msg_gen_str(g, "data", data, strlen(data));
    xs_msg_gen_u64(g, "port", s->port);
    xs_msg_gen_str(g, "codec", codec, strlen(codec));
    xs_msg_gen_bool(g, "encrypt", s->encrypt);
    return xs_msg_gen_close(g, false);
}

char *xs_msg_stream_ok_encode(const struct xs_msg_stream_ok *ok)
{
    yajl_gen g = xs_msg_gen_open();
    char hex[FRAME_KEYS_HEX_LEN + 1];

    if (ok->refused) {
        xs_msg_gen_str(g, "error", ok->error,
                       strnlen(ok->error, XS_MSG_ERROR_MAX));
        return xs_msg_gen_close(g, false);
    }
    if (ok->tcp && (ok->port < 1 || ok->port > 65535)) abort();
    frame_keys_hex(&ok->keys, hex);
    xs_msg_gen_str(g, "keys", hex, FRAME_KEYS_HEX_LEN);
    explicit_bzero(hex, sizeof(hex));
    if (ok->tcp) {
        xs_msg_gen_str(g, "addr", ok->addr,
                       strnlen(ok->addr, XS_MSG_ADDR_MAX));
        xs_msg_gen_u64(g, "port", ok->port);
        if (ok->network) xs_msg_gen_bool(g, "network", true);
    }
    return xs_msg_gen_close(g, true);
}

char *xs_msg_progress_encode(const struct xs_msg_progress *p)
{
    yajl_gen g = xs_msg_gen_open();

    xs_msg_gen_u64(g, "bytes", p->bytes);
    xs_msg_gen_u64(g, "wire_bytes", p->wire_bytes);
    xs_msg_gen_u64(g, "pages", p->pages);
    xs_msg_gen_bool(g, "done", p->done);
    return xs_msg_gen_close(g, false);
}

char *xs_msg_result_encode(const struct xs_msg_result *r)
{
    yajl_gen g = xs_msg_gen_open();

    xs_msg_gen_bool(g, "ok", r->ok);
    xs_msg_gen_seconds(g, "since_unpause_s", r->since_unpause_s);
    xs_msg_gen_seconds(g, "restore_s", r->restore_s);
    return xs_msg_gen_close(g, false);
}

/* ---- decoding ------------------------------------------------------------ */

/* The body as a JSON object; NULL and *why_r if it is not one. */
static yajl_val xs_msg_parse(const char *json, char **why_r)
{
    yajl_val root = jsonlim_parse(json, XS_MSG_MAX, XS_MSG_DEPTH_MAX, why_r);

    if (root && !YAJL_IS_OBJECT(root)) {
        *why_r = xstrdup("not a JSON object");
        yajl_tree_free(root);
        root = NULL;
    }
    return root;
}

/* secret: clears the strings of the object first (they hold a key). */
static void xs_msg_free(yajl_val root, bool secret)
{
    yajl_val v;
    size_t i;

    if (secret && YAJL_IS_OBJECT(root)) {
        for (i = 0; i < root->u.object.len; i++) {
            v = root->u.object.values[i];
            if (YAJL_IS_STRING(v))
                explicit_bzero(v->u.string, strlen(v->u.string));
        }
    }
    yajl_tree_free(root);
}

/* The member key of root; NULL and *why_r if it is missing. */
static yajl_val xs_msg_get(yajl_val root, const char *key, char **why_r)
{
    const char *path[] = { key, NULL };
    yajl_val v = yajl_tree_get(root, path, yajl_t_any);

    if (!v) *why_r = xasprintf("%s: missing", key);
    return v;
}

/* A string of at most max bytes; NULL and *why_r if not. */
static const char *xs_msg_str(yajl_val root, const char *key, size_t max,
                              char **why_r)
{
    yajl_val v = xs_msg_get(root, key, why_r);
    const char *s;

    if (!v) return NULL;
    if (!YAJL_IS_STRING(v)) {
        *why_r = xasprintf("%s: not a string", key);
        return NULL;
    }
    s = v->u.string;
    if (strlen(s) > max) {
        *why_r = xasprintf("%s: longer than %zu bytes", key, max);
        return NULL;
    }
    return s;
}

/* An integer in min..max; false and *why_r if not. */
static bool xs_msg_u64(yajl_val root, const char *key, uint64_t min,
                       uint64_t max, uint64_t *v_r, char **why_r)
{
    yajl_val v = xs_msg_get(root, key, why_r);
    const char *s;
    unsigned long long n;
    char *end;

    if (!v) return false;
    /* The digits as sent: yajl's own integers stop at INT64_MAX. */
    s = YAJL_IS_NUMBER(v) ? YAJL_GET_NUMBER(v) : NULL;
    if (s && s[0] >= '0' && s[0] <= '9' &&
        s[strspn(s, "0123456789")] == '\0') {
        errno = 0;
        n = strtoull(s, &end, 10);
        if (!errno && !*end && n >= min && n <= max) {
            *v_r = n;
            return true;
        }
    }
    *why_r = xasprintf("%s: not an integer in %" PRIu64 "..%" PRIu64, key,
                       min, max);
    return false;
}

static bool xs_msg_bool(yajl_val root, const char *key, bool *v_r,
                        char **why_r)
{
    yajl_val v = xs_msg_get(root, key, why_r);

    if (!v) return false;
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
        *why_r = xasprintf("%s: not true or false", key);
        return false;
    }
    *v_r = YAJL_IS_TRUE(v);
    return true;
}

/* Seconds in 0..1e9, sent as an integer ("0") or not ("0.5"). */
static bool xs_msg_seconds(yajl_val root, const char *key, double *v_r,
                           char **why_r)
{
    yajl_val v = xs_msg_get(root, key, why_r);
    double d = -1;

    if (!v) return false;
    if (YAJL_IS_DOUBLE(v))
        d = YAJL_GET_DOUBLE(v);
    else if (YAJL_IS_INTEGER(v))
        d = (double)YAJL_GET_INTEGER(v);
    /* Written so that NaN fails too. */
    if (!(d >= 0 && d <= XS_MSG_SECONDS_MAX)) {
        *why_r = xasprintf("%s: not a number in 0..1e9", key);
        return false;
    }
    *v_r = d;
    return true;
}

/* HELLO's caps: absent, or an array of short printable words. */
static bool xs_msg_caps(yajl_val root, struct xs_msg_hello *h, char **why_r)
{
    const char *path[] = { "caps", NULL };
    yajl_val v = yajl_tree_get(root, path, yajl_t_any), c;
    size_t i;

    if (!v) return true;
    if (!YAJL_IS_ARRAY(v) || v->u.array.len > XS_MSG_CAPS_MAX) {
        *why_r = xasprintf("caps: not an array of at most %d",
                           XS_MSG_CAPS_MAX);
        return false;
    }
    for (i = 0; i < v->u.array.len; i++) {
        c = v->u.array.values[i];
        if (!YAJL_IS_STRING(c) || strlen(c->u.string) > XS_MSG_CAP_MAX ||
            !proto_printable(c->u.string)) {
            *why_r = xasprintf("caps[%zu]: not a word of at most %d bytes",
                               i, XS_MSG_CAP_MAX);
            return false;
        }
        if (!strcmp(c->u.string, "stream")) h->stream = true;
        if (!strcmp(c->u.string, "restream")) h->restream = true;
    }
    return true;
}

int xs_msg_hello_decode(const char *json, unsigned max_version,
                        struct xs_msg_hello *h, char **why_r)
{
    const char *sw;
    yajl_val root;
    uint64_t v;
    int rc = XLMIG_E_PROTO;

    memset(h, 0, sizeof(*h));
    *why_r = NULL;
    root = xs_msg_parse(json, why_r);
    if (!root) return rc;
    if (!xs_msg_u64(root, "xlmig", 1, max_version, &v, why_r)) goto out;
    sw = xs_msg_str(root, "version", XS_MSG_SWVER_MAX, why_r);
    if (!sw) goto out;
    if (!proto_printable(sw)) {
        *why_r = xstrdup("version: not printable ASCII");
        goto out;
    }
    if (!xs_msg_caps(root, h, why_r)) goto out;
    h->version = (unsigned)v;
    snprintf(h->sw, sizeof(h->sw), "%s", sw);
    rc = XLMIG_OK;
out:
    xs_msg_free(root, false);
    if (rc) memset(h, 0, sizeof(*h));
    return rc;
}

int xs_msg_stream_decode(const char *json, struct xs_msg_stream *s,
                         char **why_r)
{
    const char *data, *codec;
    yajl_val root;
    uint64_t port;
    int c, rc = XLMIG_E_PROTO;

    memset(s, 0, sizeof(*s));
    *why_r = NULL;
    root = xs_msg_parse(json, why_r);
    if (!root) return rc;
    data = xs_msg_str(root, "data", SIZE_MAX, why_r);
    if (!data) goto out;
    if (strcmp(data, "ssh") && strcmp(data, "tcp")) {
        *why_r = xstrdup("data: not \"ssh\" or \"tcp\"");
        goto out;
    }
    if (!xs_msg_u64(root, "port", 0, 65535, &port, why_r)) goto out;
    codec = xs_msg_str(root, "codec", SIZE_MAX, why_r);
    if (!codec) goto out;
    /* Not "c < 0 && c != AUTO": an unknown name is -1 too. */
    c = !strcmp(codec, "auto") ? XS_MSG_CODEC_AUTO
                               : frame_codec_from_name(codec);
    if (c < 0 && strcmp(codec, "auto")) {
        *why_r = xstrdup("codec: not \"none\", \"lz4\", \"zstd\" or "
                         "\"auto\"");
        goto out;
    }
    if (!xs_msg_bool(root, "encrypt", &s->encrypt, why_r)) goto out;
    s->tcp = !strcmp(data, "tcp");
    s->port = (unsigned)port;
    s->codec = c;
    rc = XLMIG_OK;
out:
    xs_msg_free(root, false);
    if (rc) memset(s, 0, sizeof(*s));
    return rc;
}

int xs_msg_stream_ok_decode(const char *json, bool tcp,
                            struct xs_msg_stream_ok *ok, char **why_r)
{
    const char *path[] = { "error", NULL }, *net[] = { "network", NULL };
    const char *s;
    unsigned char ip[sizeof(struct in6_addr)];
    yajl_val root;
    uint64_t port;
    int rc = XLMIG_E_PROTO;

    memset(ok, 0, sizeof(*ok));
    *why_r = NULL;
    root = xs_msg_parse(json, why_r);
    if (!root) return rc;
    /* A refusal has nothing else. */
    if (yajl_tree_get(root, path, yajl_t_any)) {
        s = xs_msg_str(root, "error", XS_MSG_ERROR_MAX, why_r);
        if (!s) goto out;
        ok->refused = true;
        snprintf(ok->error, sizeof(ok->error), "%s", s);
        rc = XLMIG_OK;
        goto out;
    }
    s = xs_msg_str(root, "keys", SIZE_MAX, why_r);
    if (!s) goto out;
    if (frame_keys_parse(s, &ok->keys)) {
        *why_r = xasprintf("keys: not %d hex digits", FRAME_KEYS_HEX_LEN);
        goto out;
    }
    ok->tcp = tcp;
    if (tcp) {
        s = xs_msg_str(root, "addr", XS_MSG_ADDR_MAX, why_r);
        if (!s) goto out;
        if (inet_pton(AF_INET, s, ip) != 1 &&
            inet_pton(AF_INET6, s, ip) != 1) {
            *why_r = xstrdup("addr: not a numeric IPv4 or IPv6 address");
            goto out;
        }
        snprintf(ok->addr, sizeof(ok->addr), "%s", s);
        if (!xs_msg_u64(root, "port", 1, 65535, &port, why_r)) goto out;
        ok->port = (unsigned)port;
        if (yajl_tree_get(root, net, yajl_t_any) &&
            !xs_msg_bool(root, "network", &ok->network, why_r))
            goto out;
    }
    rc = XLMIG_OK;
out:
    xs_msg_free(root, true);
    if (rc) explicit_bzero(ok, sizeof(*ok));
    return rc;
}

int xs_msg_progress_decode(const char *json, struct xs_msg_progress *p,
                           char **why_r)
{
    yajl_val root;
    int rc = XLMIG_E_PROTO;

    memset(p, 0, sizeof(*p));
    *why_r = NULL;
    root = xs_msg_parse(json, why_r);
    if (!root) return rc;
    if (xs_msg_u64(root, "bytes", 0, UINT64_MAX, &p->bytes, why_r) &&
        xs_msg_u64(root, "wire_bytes", 0, UINT64_MAX, &p->wire_bytes,
                   why_r) &&
        xs_msg_u64(root, "pages", 0, UINT64_MAX, &p->pages, why_r) &&
        xs_msg_bool(root, "done", &p->done, why_r))
        rc = XLMIG_OK;
    xs_msg_free(root, false);
    if (rc) memset(p, 0, sizeof(*p));
    return rc;
}

int xs_msg_result_decode(const char *json, struct xs_msg_result *r,
                         char **why_r)
{
    yajl_val root;
    int rc = XLMIG_E_PROTO;

    memset(r, 0, sizeof(*r));
    *why_r = NULL;
    root = xs_msg_parse(json, why_r);
    if (!root) return rc;
    if (xs_msg_bool(root, "ok", &r->ok, why_r) &&
        xs_msg_seconds(root, "since_unpause_s", &r->since_unpause_s,
                       why_r) &&
        xs_msg_seconds(root, "restore_s", &r->restore_s, why_r))
        rc = XLMIG_OK;
    xs_msg_free(root, false);
    if (rc) memset(r, 0, sizeof(*r));
    return rc;
}
