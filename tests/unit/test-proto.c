/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-proto.c - xl's wire protocol: the bytes must equal what xl sends
 * (tools/xl/xl.h, xl_saverestore.c), and every malformed or truncated
 * header is refused with a reason. Also the stream session's messages
 * (xs-msg.c): round trips, and malformed bodies refused naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "proto.h"
#include "transport.h"
#include "xs-msg.h"

static const char test_json[] = "{\"c_info\":{\"name\":\"guest\"}}";

/* The header + optional data exactly as xl writes them on x86. */
static size_t test_xl_bytes(uint8_t *out, const char *json, uint32_t mflags)
{
    uint32_t jlen = (uint32_t)strlen(json) + 1, optlen = jlen + 4;
    uint32_t order = 0x01020304, zero = 0;
    size_t n = 0;

    memcpy(out + n, "Xen saved domain, xl format\n \0 \r", 32); n += 32;
    memcpy(out + n, &order, 4); n += 4;
    memcpy(out + n, &mflags, 4); n += 4;
    memcpy(out + n, &zero, 4); n += 4;
    memcpy(out + n, &optlen, 4); n += 4;
    memcpy(out + n, &jlen, 4); n += 4;
    memcpy(out + n, json, jlen); n += jlen;
    return n;
}

static void test_fixed_messages_match_xl(void **state)
{
    (void)state;
    /* xl sends the banner without its NUL (sizeof - 1), the rest with. */
    assert_int_equal(proto_banner.len, 54);
    assert_int_equal(proto_banner.text[53], '\n');
    assert_int_equal(proto_ready.len, 34);
    assert_int_equal(proto_ready.text[33], '\0');
    assert_int_equal(proto_go.len, 44);
    assert_int_equal(proto_go.text[43], '\0');
    assert_int_equal(proto_report.len, 39);
    assert_string_equal(proto_go.text,
                        "domain is yours, you are cleared to unpause");
}

static void test_save_header_is_byte_exact(void **state)
{
    struct buf *b = buf_new(4096);
    uint8_t want[4096];
    size_t n = test_xl_bytes(want, test_json, 3);

    (void)state;
    assert_int_equal(proto_put_save(b, test_json), 0);
    assert_int_equal(buf_len(b), n);
    assert_memory_equal(buf_ptr(b), want, n);
    buf_free(b);
}

static void test_save_header_roundtrip(void **state)
{
    uint8_t bytes[4096];
    size_t n = test_xl_bytes(bytes, test_json, 3);
    struct proto_save_hdr h;
    char *why = NULL, *json = NULL;

    (void)state;
    assert_int_equal(proto_parse_save_hdr(bytes, n, &h, &why), 0);
    assert_null(why);
    assert_int_equal(h.mandatory_flags, 3);
    assert_int_equal(h.optional_data_len, sizeof(test_json) + 4);
    assert_int_equal(proto_parse_optdata(bytes + 48, h.optional_data_len,
                                         &json, &why), 0);
    assert_string_equal(json, test_json);
    free(json);
}

/* Parses a header and expects rc with a reason containing needle. */
static void test_expect_hdr(const uint8_t *bytes, size_t len, int rc,
                            const char *needle)
{
    struct proto_save_hdr h;
    char *why = NULL;

    assert_int_equal(proto_parse_save_hdr(bytes, len, &h, &why), rc);
    assert_non_null(why);
    if (!strstr(why, needle)) fail_msg("reason \"%s\" lacks \"%s\"", why,
                                       needle);
    free(why);
}

static void test_bad_headers_are_refused(void **state)
{
    uint8_t b[4096];
    uint32_t v;
    size_t n;

    (void)state;
    n = test_xl_bytes(b, test_json, 3);
    b[5] ^= 0x20;
    test_expect_hdr(b, n, XLMIG_E_PROTO, "magic");

    n = test_xl_bytes(b, test_json, 3);
    v = 0x04030201;                             /* big-endian sender */
    memcpy(b + 32, &v, 4);
    test_expect_hdr(b, n, XLMIG_E_PROTO, "byte order");

    n = test_xl_bytes(b, test_json, 3 | 0x10);
    test_expect_hdr(b, n, XLMIG_E_PROTO, "unknown mandatory flags 0x10");

    n = test_xl_bytes(b, test_json, 1);
    test_expect_hdr(b, n, XLMIG_E_PROTO, "legacy");

    n = test_xl_bytes(b, test_json, 2);
    test_expect_hdr(b, n, XLMIG_E_PROTO, "JSON");

    n = test_xl_bytes(b, test_json, 3);
    v = PROTO_OPTDATA_MAX + 1;
    memcpy(b + 44, &v, 4);
    test_expect_hdr(b, n, XLMIG_E_TOOBIG, "limit");

    v = 3;
    memcpy(b + 44, &v, 4);
    test_expect_hdr(b, n, XLMIG_E_PROTO, "no domain config");

    test_expect_hdr(b, 47, XLMIG_E_TRUNC, "47 bytes");
    test_expect_hdr(b, 0, XLMIG_E_TRUNC, "0 bytes");
}

static void test_expect_opt(const uint8_t *bytes, size_t len, int rc,
                            const char *needle)
{
    char *why = NULL, *json = NULL;

    assert_int_equal(proto_parse_optdata(bytes, len, &json, &why), rc);
    assert_null(json);
    assert_non_null(why);
    if (!strstr(why, needle)) fail_msg("reason \"%s\" lacks \"%s\"", why,
                                       needle);
    free(why);
}

static void test_bad_optdata_is_refused(void **state)
{
    uint8_t b[64] = { 0 };
    uint32_t v;

    (void)state;
    test_expect_opt(b, 3, XLMIG_E_TRUNC, "too short");
    v = 10;                                     /* more than is there */
    memcpy(b, &v, 4);
    memcpy(b + 4, "abc\0", 4);
    test_expect_opt(b, 8, XLMIG_E_TRUNC, "exceeds");
    v = 4;
    memcpy(b, &v, 4);
    memcpy(b + 4, "abcd", 4);                   /* no NUL */
    test_expect_opt(b, 8, XLMIG_E_PROTO, "NUL");
    memcpy(b + 4, "a\0c\0", 4);                 /* embedded NUL */
    test_expect_opt(b, 8, XLMIG_E_PROTO, "NUL");
    v = PROTO_CONFIG_MAX + 1;
    memcpy(b, &v, 4);
    test_expect_opt(b, 8, XLMIG_E_TOOBIG, "limit");
    test_expect_opt(b, PROTO_OPTDATA_MAX + 1, XLMIG_E_TOOBIG, "limit");
}

static void test_trailing_optdata_is_ignored(void **state)
{
    uint8_t b[32];
    uint32_t v = 4;
    char *why = NULL, *json = NULL;

    (void)state;
    memcpy(b, &v, 4);
    memcpy(b + 4, "{}x\0", 4);
    memcpy(b + 8, "future", 6);
    assert_int_equal(proto_parse_optdata(b, 14, &json, &why), 0);
    assert_string_equal(json, "{}x");
    free(json);
}

static void test_message_mismatch_is_escaped(void **state)
{
    uint8_t got[64] = "domain is yours, you are cleared to unpausX";
    char *why = NULL;

    (void)state;
    assert_int_equal(proto_check_msg(&proto_go, (const uint8_t *)
                                     proto_go.text, &why), 0);
    assert_null(why);
    got[43] = 0x01;
    assert_int_equal(proto_check_msg(&proto_go, got, &why), XLMIG_E_PROTO);
    assert_non_null(strstr(why, "GO message"));
    assert_non_null(strstr(why, "\\x01"));
    free(why);
}

static void test_rune_matches_xl(void **state)
{
    struct transport_opts o = { .host = "hostb" };
    char *r;

    (void)state;
    r = transport_rune(&o);
    assert_string_equal(r, "exec ssh hostb xlmig migrate-receive");
    free(r);
    o.ssh_command = "ssh -p 2222";
    o.no_monitor = o.debug = o.paused = true;
    r = transport_rune(&o);
    assert_string_equal(r, "exec ssh -p 2222 hostb xlmig migrate-receive"
                           " -e -d -p");
    free(r);
    o.ssh_command = "";                 /* -s '': host is the command */
    o.host = "ssh b xl migrate-receive";
    r = transport_rune(&o);
    assert_string_equal(r, "ssh b xl migrate-receive");
    free(r);
    o.ssh_command = NULL;
    o.host = "b";
    o.program = "xl";
    o.no_monitor = o.debug = o.paused = false;
    r = transport_rune(&o);
    assert_string_equal(r, "exec ssh b xl migrate-receive");
    free(r);
}

static void test_rune_offers_xlmig(void **state)
{
    struct transport_opts o = { .host = "b", .xlmig_proto = 1,
                                .paused = true };
    char *r;

    (void)state;
    r = transport_rune(&o);
    assert_string_equal(r, "exec ssh b xlmig migrate-receive -p --xlmig 1 "
                        "--timeout 0");
    free(r);
}

static void test_x_roundtrip(void **state)
{
    struct buf *b = buf_new(PROTO_X_HDR_LEN + PROTO_X_BODY_MAX);
    char *why = NULL, *text = NULL;
    uint32_t type, len;

    (void)state;
    assert_int_equal(proto_x_put(b, PROTO_X_RESULTS, "{\"results\":[]}"),
                     XLMIG_OK);
    assert_int_equal(buf_len(b), PROTO_X_HDR_LEN + 14);
    assert_memory_equal(buf_ptr(b), "xmg1\x03\0\0\0\x0e\0\0\0", 12);
    assert_int_equal(proto_x_parse_hdr(buf_ptr(b), buf_len(b), &type, &len,
                                       &why), XLMIG_OK);
    assert_int_equal(type, PROTO_X_RESULTS);
    assert_int_equal(len, 14);
    assert_int_equal(proto_x_body((const uint8_t *)buf_ptr(b) +
                                  PROTO_X_HDR_LEN, len, &text, &why),
                     XLMIG_OK);
    assert_string_equal(text, "{\"results\":[]}");
    free(text);
    buf_free(b);
}

static void test_x_bad_headers(void **state)
{
    static const struct {
        const char *hdr;
        int rc;
        const char *why;
    } cases[] = {
        { "xmg1\x01\0\0\0\0\0\0", XLMIG_E_TRUNC, "11 of 12" },
        { "Xen \x01\0\0\0\0\0\0\0", XLMIG_E_PROTO, "\"Xen \"" },
        { "xmg1\0\0\0\0\0\0\0\0", XLMIG_E_PROTO, "type 0" },
        { "xmg1\x0b\0\0\0\0\0\0\0", XLMIG_E_PROTO, "type 11" },
        { "xmg1\x02\0\0\0\x01\0\x40\0", XLMIG_E_TOOBIG, "over" },
        { "xmg1\x02\0\0\0\xff\xff\xff\xff", XLMIG_E_TOOBIG, "over" },
    };
    char *why;
    uint32_t type, len;
    size_t i, n;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        n = i == 0 ? 11 : 12;
        why = NULL;
        assert_int_equal(proto_x_parse_hdr((const uint8_t *)cases[i].hdr, n,
                                           &type, &len, &why), cases[i].rc);
        assert_non_null(why);
        assert_non_null(strstr(why, cases[i].why));
        free(why);
    }
}

static void test_x_body_with_nul_is_refused(void **state)
{
    char *why = NULL, *text = NULL;

    (void)state;
    assert_int_equal(proto_x_body((const uint8_t *)"ab\0c", 4, &text, &why),
                     XLMIG_E_PROTO);
    assert_null(text);
    assert_non_null(strstr(why, "NUL"));
    free(why);
    assert_int_equal(proto_x_body((const uint8_t *)"", 0, &text, &why),
                     XLMIG_OK);
    assert_string_equal(text, "");
    free(text);
}

/* ---- the stream session's messages (xs-msg.c) ---- */

#define TEST_XS_HEX \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" \
    "0a0b0c0d" "00000000111111112222222233333333"

static void test_xs_keys(struct frame_keys *k)
{
    size_t i;

    for (i = 0; i < sizeof(k->key); i++) k->key[i] = (uint8_t)(i * 7 + 1);
    memcpy(k->salt, "salt", sizeof(k->salt));
    memcpy(k->session, "session-id-0123", sizeof(k->session));
}

static void test_xs_stream_roundtrip(void **state)
{
    static const int codecs[] = {
        FRAME_CODEC_NONE, FRAME_CODEC_LZ4, FRAME_CODEC_ZSTD,
        XS_MSG_CODEC_AUTO,
    };
    static const unsigned ports[] = { 0, 1, 8000, 65535 };
    struct xs_msg_stream a, b;
    char *text, *why = NULL;
    size_t c, p, f;

    (void)state;
    /* The wire form older peers parse. */
    a = (struct xs_msg_stream){ .tcp = true, .port = 5,
                                .codec = FRAME_CODEC_LZ4, .encrypt = true };
    text = xs_msg_stream_encode(&a);
    assert_string_equal(text, "{\"data\":\"tcp\",\"port\":5,\"codec\":\"lz4\","
                        "\"encrypt\":true}");
    free(text);
    for (c = 0; c < ARRAY_SIZE(codecs); c++) {
        for (p = 0; p < ARRAY_SIZE(ports); p++) {
            for (f = 0; f < 4; f++) {
                a = (struct xs_msg_stream){ .tcp = f & 1, .port = ports[p],
                                            .codec = codecs[c],
                                            .encrypt = f & 2 };
                text = xs_msg_stream_encode(&a);
                assert_int_equal(xs_msg_stream_decode(text, &b, &why),
                                 XLMIG_OK);
                assert_null(why);
                assert_int_equal(b.tcp, a.tcp);
                assert_int_equal(b.port, a.port);
                assert_int_equal(b.codec, a.codec);
                assert_int_equal(b.encrypt, a.encrypt);
                free(text);
            }
        }
    }
}

/* HELLO's caps: "stream", and "restream" (a second STREAM). */
static void test_xs_hello_caps(void **state)
{
    struct xs_msg_hello a = { .version = 1, .stream = true,
                              .restream = true }, b;
    char *text, *why = NULL;

    (void)state;
    snprintf(a.sw, sizeof(a.sw), "0.1.0");
    text = xs_msg_hello_encode(&a);
    assert_non_null(strstr(text, "\"caps\":[\"stream\",\"restream\"]"));
    assert_int_equal(xs_msg_hello_decode(text, 1, &b, &why), XLMIG_OK);
    assert_true(b.stream && b.restream);
    free(text);
    /* An older receiver's: no restream. */
    assert_int_equal(xs_msg_hello_decode("{\"xlmig\":1,\"version\":\"0.1\","
                                         "\"caps\":[\"stream\"]}", 1, &b,
                                         &why), XLMIG_OK);
    assert_true(b.stream && !b.restream);
    assert_null(why);
}

static void test_xs_stream_ok_roundtrip(void **state)
{
    static const char *const addrs[] = {
        "127.0.0.1", "192.0.2.254", "::1", "2001:db8::8:800:200c:417a",
        "::ffff:192.0.2.1",
    };
    struct xs_msg_stream_ok a, b;
    char *text, *why = NULL;
    size_t i;

    (void)state;
    memset(&a, 0, sizeof(a));
    test_xs_keys(&a.keys);
    /* Over ssh: the key only. */
    text = xs_msg_stream_ok_encode(&a);
    assert_null(strstr(text, "addr"));
    assert_int_equal(xs_msg_stream_ok_decode(text, false, &b, &why),
                     XLMIG_OK);
    assert_null(why);
    assert_false(b.refused);
    assert_false(b.tcp);
    assert_memory_equal(&b.keys, &a.keys, sizeof(a.keys));
    free(text);
    /* For a data connection: where, too. */
    a.tcp = true;
    for (i = 0; i < ARRAY_SIZE(addrs); i++) {
        snprintf(a.addr, sizeof(a.addr), "%s", addrs[i]);
        a.port = i ? 40000 + (unsigned)i : 65535;
        text = xs_msg_stream_ok_encode(&a);
        assert_int_equal(xs_msg_stream_ok_decode(text, true, &b, &why),
                         XLMIG_OK);
        assert_true(b.tcp);
        assert_memory_equal(&b.keys, &a.keys, sizeof(a.keys));
        assert_string_equal(b.addr, a.addr);
        assert_int_equal(b.port, a.port);
        assert_false(b.network);
        free(text);
    }
    /* On the receiver's migration network: said only then. */
    a.network = true;
    text = xs_msg_stream_ok_encode(&a);
    assert_non_null(strstr(text, "\"network\":true"));
    assert_int_equal(xs_msg_stream_ok_decode(text, true, &b, &why),
                     XLMIG_OK);
    assert_true(b.network);
    free(text);
    /* Upper-case hex is the same key. */
    assert_int_equal(xs_msg_stream_ok_decode("{\"keys\":\"" TEST_XS_HEX
                                             "\"}", false, &a, &why),
                     XLMIG_OK);
    text = xs_msg_stream_ok_encode(&a);
    assert_string_equal(text, "{\"keys\":\"" TEST_XS_HEX "\"}");
    free(text);
}

static void test_xs_stream_ok_error_text(void **state)
{
    static const char *const texts[] = {
        "", "cannot listen on 192.0.2.1 port 5 (see its log)",
        "\"quoted\", back\\slash/ and \"more\"",
        "two\nlines\r\n\ttabbed \x01\x1f end",
        "caf\xc3\xa9 \xe2\x82\xac",
        "{\"error\":\"nested\"}",
    };
    struct xs_msg_stream_ok a, b;
    char *text, *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(texts); i++) {
        memset(&a, 0, sizeof(a));
        a.refused = true;
        snprintf(a.error, sizeof(a.error), "%s", texts[i]);
        text = xs_msg_stream_ok_encode(&a);
        assert_null(strchr(text, '\n'));
        assert_int_equal(xs_msg_stream_ok_decode(text, true, &b, &why),
                         XLMIG_OK);
        assert_true(b.refused);
        assert_string_equal(b.error, texts[i]);
        free(text);
    }
    /* The longest text there is. */
    memset(&a, 0, sizeof(a));
    a.refused = true;
    memset(a.error, 'x', XS_MSG_ERROR_MAX);
    text = xs_msg_stream_ok_encode(&a);
    assert_int_equal(xs_msg_stream_ok_decode(text, false, &b, &why),
                     XLMIG_OK);
    assert_int_equal(strlen(b.error), XS_MSG_ERROR_MAX);
    free(text);
    /* Not UTF-8: still JSON the peer can read. */
    snprintf(a.error, sizeof(a.error), "bad \xff\xc3 bytes");
    text = xs_msg_stream_ok_encode(&a);
    assert_int_equal(xs_msg_stream_ok_decode(text, false, &b, &why),
                     XLMIG_OK);
    assert_string_equal(b.error, "bad ?? bytes");
    free(text);
}

static void test_xs_progress_roundtrip(void **state)
{
    static const uint64_t values[] = {
        0, 1, 4096, (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1,
        UINT64_MAX,
    };
    struct xs_msg_progress a, b;
    char *text, *why = NULL;
    size_t i;

    (void)state;
    a = (struct xs_msg_progress){ .bytes = 1, .wire_bytes = 2, .pages = 3,
                                  .done = true };
    text = xs_msg_progress_encode(&a);
    assert_string_equal(text, "{\"bytes\":1,\"wire_bytes\":2,\"pages\":3,"
                        "\"done\":true}");
    free(text);
    for (i = 0; i < ARRAY_SIZE(values); i++) {
        a = (struct xs_msg_progress){
            .bytes = values[i], .wire_bytes = values[ARRAY_SIZE(values) - 1
                                                     - i],
            .pages = values[i] / 4096, .done = i & 1,
        };
        text = xs_msg_progress_encode(&a);
        assert_int_equal(xs_msg_progress_decode(text, &b, &why), XLMIG_OK);
        assert_null(why);
        assert_true(b.bytes == a.bytes);
        assert_true(b.wire_bytes == a.wire_bytes);
        assert_true(b.pages == a.pages);
        assert_int_equal(b.done, a.done);
        free(text);
    }
}

static void test_xs_result_roundtrip(void **state)
{
    static const double values[] = { 0, 0.5, 1.0 / 3, 0.000001, 42, 1e9 };
    struct xs_msg_result a, b;
    char *text, *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(values); i++) {
        a = (struct xs_msg_result){ .ok = i & 1,
                                    .since_unpause_s = values[i],
                                    .restore_s = values[ARRAY_SIZE(values)
                                                        - 1 - i] };
        text = xs_msg_result_encode(&a);
        assert_int_equal(xs_msg_result_decode(text, &b, &why), XLMIG_OK);
        assert_null(why);
        assert_int_equal(b.ok, a.ok);
        assert_true(b.since_unpause_s == a.since_unpause_s);
        assert_true(b.restore_s == a.restore_s);
        free(text);
    }
    /* Integers and not: yajl tells them apart, both are seconds. */
    assert_int_equal(xs_msg_result_decode("{\"ok\":true,\"since_unpause_s\":"
                                          "0,\"restore_s\":2.25}", &b, &why),
                     XLMIG_OK);
    assert_true(b.ok);
    assert_true(b.since_unpause_s == 0);
    assert_true(b.restore_s == 2.25);
    /* A clock that stepped is sent as the bound, not as garbage. */
    a = (struct xs_msg_result){ .since_unpause_s = -3,
                                .restore_s = 5e9 };
    text = xs_msg_result_encode(&a);
    assert_int_equal(xs_msg_result_decode(text, &b, &why), XLMIG_OK);
    assert_true(b.since_unpause_s == 0);
    assert_true(b.restore_s == 1e9);
    free(text);
}

enum test_xs_kind {
    TEST_XS_STREAM, TEST_XS_OK_SSH, TEST_XS_OK_TCP, TEST_XS_PROGRESS,
    TEST_XS_RESULT,
};

static int test_xs_decode(enum test_xs_kind kind, const char *json,
                          char **why_r)
{
    struct xs_msg_stream s;
    struct xs_msg_stream_ok ok;
    struct xs_msg_progress p;
    struct xs_msg_result r;
    int rc = XLMIG_E_INTERNAL;

    switch (kind) {
    case TEST_XS_STREAM:
        rc = xs_msg_stream_decode(json, &s, why_r);
        break;
    case TEST_XS_OK_SSH:
    case TEST_XS_OK_TCP:
        rc = xs_msg_stream_ok_decode(json, kind == TEST_XS_OK_TCP, &ok,
                                     why_r);
        /* A refusal leaves no key behind. */
        if (rc) {
            struct frame_keys zero;

            memset(&zero, 0, sizeof(zero));
            assert_memory_equal(&ok.keys, &zero, sizeof(zero));
        }
        break;
    case TEST_XS_PROGRESS:
        rc = xs_msg_progress_decode(json, &p, why_r);
        break;
    case TEST_XS_RESULT:
        rc = xs_msg_result_decode(json, &r, why_r);
        break;
    }
    return rc;
}

#define TEST_XS_S(rest) "{\"data\":\"tcp\",\"codec\":\"none\"," rest "}"
#define TEST_XS_KEYS "\"keys\":\"" TEST_XS_HEX "\""
#define TEST_XS_P(rest) "{\"bytes\":1,\"wire_bytes\":2," rest "}"
#define TEST_XS_R(rest) "{\"ok\":true," rest "}"

static void test_xs_malformed(void **state)
{
    static const struct {
        enum test_xs_kind kind;
        const char *json, *why;
    } cases[] = {
        /* Not an object. */
        { TEST_XS_STREAM, "", "not JSON: parse error: premature EOF" },
        { TEST_XS_STREAM, "[]", "not a JSON object" },
        { TEST_XS_OK_SSH, "\"keys\"", "not a JSON object" },
        { TEST_XS_PROGRESS, "{\"bytes\":1", "not JSON: parse error: " },
        { TEST_XS_RESULT, "{} {}", "not JSON: parse error: " },
        { TEST_XS_RESULT, "null", "not a JSON object" },
        /* STREAM */
        { TEST_XS_STREAM, "{}", "data: missing" },
        { TEST_XS_STREAM, "{\"data\":1,\"port\":0,\"codec\":\"none\","
          "\"encrypt\":true}", "data: not a string" },
        { TEST_XS_STREAM, "{\"data\":\"udp\",\"port\":0,\"codec\":\"none\","
          "\"encrypt\":true}", "data: not \"ssh\" or \"tcp\"" },
        { TEST_XS_STREAM, TEST_XS_S("\"encrypt\":true"), "port: missing" },
        { TEST_XS_STREAM, TEST_XS_S("\"port\":\"5\",\"encrypt\":true"),
          "port: not an integer in 0..65535" },
        { TEST_XS_STREAM, TEST_XS_S("\"port\":65536,\"encrypt\":true"),
          "port: not an integer in 0..65535" },
        { TEST_XS_STREAM, TEST_XS_S("\"port\":-1,\"encrypt\":true"),
          "port: not an integer" },
        { TEST_XS_STREAM, TEST_XS_S("\"port\":1.5,\"encrypt\":true"),
          "port: not an integer" },
        { TEST_XS_STREAM, TEST_XS_S("\"port\":1e3,\"encrypt\":true"),
          "port: not an integer" },
        { TEST_XS_STREAM, TEST_XS_S("\"port\":99999999999999999999999,"
                                    "\"encrypt\":true"),
          "port: not an integer" },
        { TEST_XS_STREAM, "{\"data\":\"ssh\",\"port\":0,\"encrypt\":true}",
          "codec: missing" },
        { TEST_XS_STREAM, "{\"data\":\"ssh\",\"port\":0,\"codec\":\"gzip\","
          "\"encrypt\":true}", "codec: not \"none\"" },
        { TEST_XS_STREAM, "{\"data\":\"ssh\",\"port\":0,\"codec\":\"AUTO\","
          "\"encrypt\":true}", "codec: not" },
        { TEST_XS_STREAM, "{\"data\":\"ssh\",\"port\":0,\"codec\":[],"
          "\"encrypt\":true}", "codec: not a string" },
        { TEST_XS_STREAM, TEST_XS_S("\"port\":0"), "encrypt: missing" },
        { TEST_XS_STREAM, TEST_XS_S("\"port\":0,\"encrypt\":\"yes\""),
          "encrypt: not true or false" },
        { TEST_XS_STREAM, TEST_XS_S("\"port\":0,\"encrypt\":1"),
          "encrypt: not true or false" },
        /* STREAM_OK */
        { TEST_XS_OK_SSH, "{}", "keys: missing" },
        { TEST_XS_OK_SSH, "{\"error\":5}", "error: not a string" },
        { TEST_XS_OK_TCP, "{\"error\":null," TEST_XS_KEYS "}",
          "error: not a string" },
        { TEST_XS_OK_SSH, "{\"keys\":7}", "keys: not a string" },
        { TEST_XS_OK_SSH, "{\"keys\":\"\"}", "keys: not 104 hex digits" },
        { TEST_XS_OK_SSH, "{\"keys\":\"" TEST_XS_HEX "0\"}",
          "keys: not 104 hex digits" },
        { TEST_XS_OK_SSH, "{\"keys\":\"" TEST_XS_HEX "00\"}",
          "keys: not 104 hex digits" },
        { TEST_XS_OK_SSH, "{\"keys\":\"0" TEST_XS_HEX "\"}",
          "keys: not 104 hex digits" },
        { TEST_XS_OK_SSH, "{\"keys\":\"g1" TEST_XS_HEX "\"}",
          "keys: not 104 hex digits" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"port\":5}", "addr: missing" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":4,\"port\":5}",
          "addr: not a string" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"localhost\","
          "\"port\":5}", "addr: not a numeric" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"\",\"port\":5}",
          "addr: not a numeric" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"10.0.0.1 \","
          "\"port\":5}", "addr: not a numeric" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"10.0.0.256\","
          "\"port\":5}", "addr: not a numeric" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"fe80::1%eth0\","
          "\"port\":5}", "addr: not a numeric" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"" TEST_XS_HEX "\","
          "\"port\":5}", "addr: longer than 63 bytes" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"::1\"}",
          "port: missing" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"::1\",\"port\":0}",
          "port: not an integer in 1..65535" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"::1\","
          "\"port\":65536}", "port: not an integer in 1..65535" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"::1\","
          "\"port\":-5}", "port: not an integer in 1..65535" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"::1\","
          "\"port\":5,\"network\":1}", "network: not true or false" },
        { TEST_XS_OK_TCP, "{" TEST_XS_KEYS ",\"addr\":\"::1\","
          "\"port\":5,\"network\":\"yes\"}", "network: not true or false" },
        /* PROGRESS */
        { TEST_XS_PROGRESS, "{}", "bytes: missing" },
        { TEST_XS_PROGRESS, "{\"bytes\":-1}", "bytes: not an integer in "
          "0..18446744073709551615" },
        { TEST_XS_PROGRESS, "{\"bytes\":18446744073709551616}",
          "bytes: not an integer" },
        { TEST_XS_PROGRESS, "{\"bytes\":\"1\"}", "bytes: not an integer" },
        { TEST_XS_PROGRESS, "{\"bytes\":1}", "wire_bytes: missing" },
        { TEST_XS_PROGRESS, "{\"bytes\":1,\"wire_bytes\":true}",
          "wire_bytes: not an integer" },
        { TEST_XS_PROGRESS, TEST_XS_P("\"done\":true"), "pages: missing" },
        { TEST_XS_PROGRESS, TEST_XS_P("\"pages\":1.0,\"done\":true"),
          "pages: not an integer" },
        { TEST_XS_PROGRESS, TEST_XS_P("\"pages\":-0,\"done\":true"),
          "pages: not an integer" },
        { TEST_XS_PROGRESS, TEST_XS_P("\"pages\":3"), "done: missing" },
        { TEST_XS_PROGRESS, TEST_XS_P("\"pages\":3,\"done\":\"true\""),
          "done: not true or false" },
        /* RESULT */
        { TEST_XS_RESULT, "{\"since_unpause_s\":1,\"restore_s\":1}",
          "ok: missing" },
        { TEST_XS_RESULT, "{\"ok\":0,\"since_unpause_s\":1,"
          "\"restore_s\":1}", "ok: not true or false" },
        { TEST_XS_RESULT, TEST_XS_R("\"restore_s\":1"),
          "since_unpause_s: missing" },
        { TEST_XS_RESULT, TEST_XS_R("\"since_unpause_s\":-0.5,"
                                    "\"restore_s\":1"),
          "since_unpause_s: not a number in 0..1e9" },
        { TEST_XS_RESULT, TEST_XS_R("\"since_unpause_s\":-1,"
                                    "\"restore_s\":1"),
          "since_unpause_s: not a number in 0..1e9" },
        { TEST_XS_RESULT, TEST_XS_R("\"since_unpause_s\":\"1\","
                                    "\"restore_s\":1"),
          "since_unpause_s: not a number" },
        { TEST_XS_RESULT, TEST_XS_R("\"since_unpause_s\":1"),
          "restore_s: missing" },
        { TEST_XS_RESULT, TEST_XS_R("\"since_unpause_s\":1,"
                                    "\"restore_s\":1e10"),
          "restore_s: not a number in 0..1e9" },
        { TEST_XS_RESULT, TEST_XS_R("\"since_unpause_s\":1,"
                                    "\"restore_s\":1e999"),
          "restore_s: not a number in 0..1e9" },
        { TEST_XS_RESULT, TEST_XS_R("\"since_unpause_s\":1,"
                                    "\"restore_s\":[1]"),
          "restore_s: not a number in 0..1e9" },
    };
    char *why;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        why = NULL;
        if (test_xs_decode(cases[i].kind, cases[i].json, &why) !=
                XLMIG_E_PROTO || !why ||
            strncmp(why, cases[i].why, strlen(cases[i].why)))
            fail_msg("case %zu %s: why \"%s\", want \"%s...\"", i,
                     cases[i].json, why ? why : "(none)", cases[i].why);
        assert_null(strchr(why, '\n'));
        free(why);
    }
}

static void test_xs_unknown_keys_are_ignored(void **state)
{
    struct xs_msg_stream s;
    struct xs_msg_stream_ok ok;
    struct xs_msg_progress p;
    struct xs_msg_result r;
    char *why = NULL;

    (void)state;
    assert_int_equal(xs_msg_stream_decode("{\"v2\":{\"a\":[1,{}]},\"data\":"
                                          "\"ssh\",\"port\":0,\"codec\":"
                                          "\"auto\",\"encrypt\":false,"
                                          "\"x\":null}", &s, &why),
                     XLMIG_OK);
    assert_false(s.tcp);
    assert_int_equal(s.codec, XS_MSG_CODEC_AUTO);
    /* Over ssh the address is not read, whatever it is. */
    assert_int_equal(xs_msg_stream_ok_decode("{" TEST_XS_KEYS ",\"addr\":"
                                             "\"\",\"port\":0}", false, &ok,
                                             &why), XLMIG_OK);
    assert_false(ok.tcp);
    assert_string_equal(ok.addr, "");
    assert_int_equal(xs_msg_progress_decode(TEST_XS_P("\"pages\":3,"
                                                      "\"done\":true,"
                                                      "\"rate\":1.5"),
                                            &p, &why), XLMIG_OK);
    assert_true(p.pages == 3);
    assert_int_equal(xs_msg_result_decode(TEST_XS_R("\"since_unpause_s\":1,"
                                                    "\"restore_s\":2,"
                                                    "\"z\":\"\""), &r, &why),
                     XLMIG_OK);
    assert_null(why);
}

static void test_xs_bounds(void **state)
{
    static const char ok[] = "{\"ok\":true,\"since_unpause_s\":1,"
                             "\"restore_s\":1}";
    size_t n = XS_MSG_MAX + 16, i;
    char *big = malloc(n + 1), *why = NULL;
    struct xs_msg_result r;

    (void)state;
    assert_non_null(big);
    /* Over the size bound, however valid. */
    memset(big, ' ', n);
    big[n] = '\0';
    memcpy(big, ok, strlen(ok));
    assert_int_equal(xs_msg_result_decode(big, &r, &why), XLMIG_E_PROTO);
    assert_non_null(strstr(why, "over 65536 bytes"));
    free(why);
    /* Nested too deep: refused before yajl builds the tree. */
    strcpy(big, "{\"a\":");
    for (i = 0; i < 20; i++) strcat(big, "[");
    for (i = 0; i < 20; i++) strcat(big, "]");
    strcat(big, "}");
    assert_int_equal(xs_msg_result_decode(big, &r, &why), XLMIG_E_PROTO);
    assert_string_equal(why, "nested deeper than 16 (at byte 21)");
    free(why);
    /* Brackets in strings do not count. */
    strcpy(big, "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[\\\"{{{{{{{{{{{{{{{{{{\",");
    strcat(big, "\"ok\":true,\"since_unpause_s\":1,\"restore_s\":1}");
    assert_int_equal(xs_msg_result_decode(big, &r, &why), XLMIG_OK);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_messages_match_xl),
        cmocka_unit_test(test_save_header_is_byte_exact),
        cmocka_unit_test(test_save_header_roundtrip),
        cmocka_unit_test(test_bad_headers_are_refused),
        cmocka_unit_test(test_bad_optdata_is_refused),
        cmocka_unit_test(test_trailing_optdata_is_ignored),
        cmocka_unit_test(test_message_mismatch_is_escaped),
        cmocka_unit_test(test_rune_matches_xl),
        cmocka_unit_test(test_rune_offers_xlmig),
        cmocka_unit_test(test_x_roundtrip),
        cmocka_unit_test(test_x_bad_headers),
        cmocka_unit_test(test_x_body_with_nul_is_refused),
        cmocka_unit_test(test_xs_stream_roundtrip),
        cmocka_unit_test(test_xs_hello_caps),
        cmocka_unit_test(test_xs_stream_ok_roundtrip),
        cmocka_unit_test(test_xs_stream_ok_error_text),
        cmocka_unit_test(test_xs_progress_roundtrip),
        cmocka_unit_test(test_xs_result_roundtrip),
        cmocka_unit_test(test_xs_malformed),
        cmocka_unit_test(test_xs_unknown_keys_are_ignored),
        cmocka_unit_test(test_xs_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
