/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-buf.c - the bounded buffer: byte orders round-trip, gets consume
 * only on success, limits hold, strings are checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"

static void test_roundtrip_byte_orders(void **state)
{
    struct buf *b = buf_new(64);
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;
    uint8_t v8;

    (void)state;
    assert_int_equal(buf_put_u8(b, 0xab), 0);
    assert_int_equal(buf_put_le16(b, 0x1234), 0);
    assert_int_equal(buf_put_be16(b, 0x1234), 0);
    assert_int_equal(buf_put_le32(b, 0x01020304), 0);
    assert_int_equal(buf_put_be32(b, 0x01020304), 0);
    assert_int_equal(buf_put_le64(b, 0x0102030405060708ULL), 0);
    assert_int_equal(buf_put_be64(b, 0x0102030405060708ULL), 0);
    assert_int_equal(buf_len(b), 1 + 2 + 2 + 4 + 4 + 8 + 8);
    assert_int_equal(buf_ptr(b)[1], 0x34);      /* little-endian low byte */
    assert_int_equal(buf_ptr(b)[3], 0x12);      /* big-endian high byte */
    assert_int_equal(buf_get_u8(b, &v8), 0);
    assert_int_equal(v8, 0xab);
    assert_int_equal(buf_get_le16(b, &v16), 0);
    assert_int_equal(v16, 0x1234);
    assert_int_equal(buf_get_be16(b, &v16), 0);
    assert_int_equal(v16, 0x1234);
    assert_int_equal(buf_get_le32(b, &v32), 0);
    assert_int_equal(v32, 0x01020304);
    assert_int_equal(buf_get_be32(b, &v32), 0);
    assert_int_equal(v32, 0x01020304);
    assert_int_equal(buf_get_le64(b, &v64), 0);
    assert_true(v64 == 0x0102030405060708ULL);
    assert_int_equal(buf_get_be64(b, &v64), 0);
    assert_true(v64 == 0x0102030405060708ULL);
    assert_int_equal(buf_len(b), 0);
    buf_free(b);
}

static void test_short_get_consumes_nothing(void **state)
{
    struct buf *b = buf_new(16);
    uint32_t v = 7;

    (void)state;
    assert_int_equal(buf_put(b, "ab", 2), 0);
    assert_int_equal(buf_get_le32(b, &v), XLMIG_E_TRUNC);
    assert_int_equal(v, 0);                     /* zeroed */
    assert_int_equal(buf_len(b), 2);            /* not consumed */
    assert_int_equal(buf_consume(b, 3), XLMIG_E_TRUNC);
    assert_int_equal(buf_consume(b, 2), 0);
    buf_free(b);
}

static void test_max_size_is_enforced(void **state)
{
    struct buf *b = buf_new(8);
    uint8_t *p;

    (void)state;
    assert_int_equal(buf_put(b, "12345678", 8), 0);
    assert_int_equal(buf_put_u8(b, 1), XLMIG_E_TOOBIG);
    assert_int_equal(buf_reserve(b, 1, &p), XLMIG_E_TOOBIG);
    assert_null(p);
    assert_int_equal(buf_consume(b, 4), 0);
    assert_int_equal(buf_avail(b), 4);
    assert_int_equal(buf_put(b, "abcd", 4), 0);  /* compacts */
    assert_memory_equal(buf_ptr(b), "5678abcd", 8);
    buf_free(b);
}

static void test_cstring_rules(void **state)
{
    struct buf *b;
    char *s;

    (void)state;
    b = buf_from("abc\0", 4);
    assert_int_equal(buf_get_cstring(b, 4, 16, &s), 0);
    assert_string_equal(s, "abc");
    free(s);
    buf_free(b);
    b = buf_from("abcd", 4);                    /* no NUL at the end */
    assert_int_equal(buf_get_cstring(b, 4, 16, &s), XLMIG_E_PROTO);
    assert_null(s);
    assert_int_equal(buf_len(b), 4);
    buf_free(b);
    b = buf_from("a\0c\0", 4);                  /* embedded NUL */
    assert_int_equal(buf_get_cstring(b, 4, 16, &s), XLMIG_E_PROTO);
    assert_int_equal(buf_get_cstring(b, 4, 3, &s), XLMIG_E_TOOBIG);
    assert_int_equal(buf_get_cstring(b, 5, 16, &s), XLMIG_E_TRUNC);
    assert_int_equal(buf_get_cstring(b, 0, 16, &s), XLMIG_E_PROTO);
    buf_free(b);
}

static void test_sub_and_peek(void **state)
{
    struct buf *b = buf_from("headbody", 8), *sub;
    char out[4];

    (void)state;
    assert_int_equal(buf_peek(b, 4, out, 4), 0);
    assert_memory_equal(out, "body", 4);
    assert_int_equal(buf_peek(b, 5, out, 4), XLMIG_E_TRUNC);
    assert_int_equal(buf_peek(b, (size_t)-1, out, 4), XLMIG_E_TRUNC);
    assert_int_equal(buf_sub(b, 4, &sub), 0);
    assert_int_equal(buf_len(sub), 4);
    assert_memory_equal(buf_ptr(sub), "head", 4);
    buf_free(sub);
    assert_int_equal(buf_len(b), 4);
    assert_int_equal(buf_sub(b, 5, &sub), XLMIG_E_TRUNC);
    buf_free(b);
}

static void test_grows_to_large_sizes(void **state)
{
    struct buf *b = buf_new(1 << 20);
    static uint8_t chunk[4096];
    int i;

    (void)state;
    for (i = 0; i < 256; i++)
        assert_int_equal(buf_put(b, chunk, sizeof(chunk)), 0);
    assert_int_equal(buf_len(b), 1 << 20);
    assert_int_equal(buf_put_u8(b, 0), XLMIG_E_TOOBIG);
    buf_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_byte_orders),
        cmocka_unit_test(test_short_get_consumes_nothing),
        cmocka_unit_test(test_max_size_is_enforced),
        cmocka_unit_test(test_cstring_rules),
        cmocka_unit_test(test_sub_and_peek),
        cmocka_unit_test(test_grows_to_large_sizes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
