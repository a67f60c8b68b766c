/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-proto.c - xl's wire protocol: the bytes must equal what xl sends
 * (tools/xl/xl.h, xl_saverestore.c), and every malformed or truncated
 * header is refused with a reason.
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
    assert_string_equal(r, "exec ssh b xlmig migrate-receive -p --xlmig 1");
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
        { "xmg1\x0a\0\0\0\0\0\0\0", XLMIG_E_PROTO, "type 10" },
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
