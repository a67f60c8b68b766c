/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-jsonlim.c - the one JSON path for untrusted text (jsonlim.c): strict
 * JSON only, bounded size and depth whatever hides in strings or comments,
 * and every decoder of peer JSON refusing a comment bomb (a comment that
 * hides a quote from a naive depth count, then 1.5 M "[") without
 * crashing. Run under valgrind and ASan too: a crash is a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "domcfg.h"
#include "jsonlim.h"
#include "preflight.h"
#include "xs-msg.h"

#define TEST_BOMB_BRACKETS (1500u * 1000u)

/* Refused, with a reason that holds want. */
static void test_refused(const char *text, size_t max_len, unsigned depth,
                         const char *want)
{
    char *why = NULL;
    yajl_val v = jsonlim_parse(text, max_len, depth, &why);

    if (v || !why || !strstr(why, want)) {
        print_error("input %.60s...: why '%s', want '%s'\n", text,
                    why ? why : "(none)", want);
        fail();
    }
    free(why);
}

static void test_accepted(const char *text, size_t max_len, unsigned depth)
{
    char *why = NULL;
    yajl_val v = jsonlim_parse(text, max_len, depth, &why);

    if (!v || why) {
        print_error("input %.60s: refused: %s\n", text, why ? why : "?");
        fail();
    }
    yajl_tree_free(v);
}

/* prefix followed by n copies of c (allocated). */
static char *test_fill(const char *prefix, char c, size_t n)
{
    size_t p = strlen(prefix);
    char *s = malloc(p + n + 1);

    assert_non_null(s);
    memcpy(s, prefix, p);
    memset(s + p, c, n);
    s[p + n] = '\0';
    return s;
}

/* n copies of unit (allocated). */
static char *test_repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit), i;
    char *s = malloc(u * n + 1);

    assert_non_null(s);
    for (i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

/* The attack of issue 12: the comment hides a quote from a count over
 * the raw text, so the brackets after it look like string content. */
static char *test_bomb(void)
{
    return test_fill("{\"x\":/*\"*/", '[', TEST_BOMB_BRACKETS);
}

static void test_strict_json(void **state)
{
    (void)state;
    test_accepted("{\"a\": [1, 2.5, \"x\", true, null, {}]}", 1024, 4);
    test_accepted("[]", 2, 1);
    test_refused("{\"a\": 1 /* c */}", 1024, 4, "comment");
    test_refused("{\"a\": 1} // c", 1024, 4, "not JSON");
    test_refused("[1, // c\n 2]", 1024, 4, "comment");
    test_refused("{} {}", 1024, 4, "not JSON");
    test_refused("{\"a\": 1,}", 1024, 4, "not JSON");
    test_refused("", 1024, 4, "not JSON");
    test_refused("{\"a\": \"\xff\"}", 1024, 4, "not JSON");
    test_refused("{\"a\": \"x\\u0000y\"}", 1024, 4, "\\u0000");
    test_refused("{\"a\\u0000b\": 1}", 1024, 4, "\\u0000");
    test_accepted("{\"a\": \"x\\u0001y\\n\"}", 1024, 4);
}

static void test_bounds(void **state)
{
    char *s;

    (void)state;
    test_accepted("[[[[]]]]", 8, 4);
    test_refused("[[[[[]]]]]", 64, 4, "nested deeper than 4");
    test_refused("[[[[]]]]", 7, 4, "over 7 bytes");
    /* Brackets inside strings do not nest; escaped quotes stay inside. */
    s = test_fill("{\"a\": \"\\\"", '[', 10000);
    strcpy(s + strlen(s) - 2, "\"}");
    test_accepted(s, 20000, 2);
    free(s);
    s = test_fill("", '[', 100000);
    test_refused(s, 200000, 32, "nested deeper than 32");
    free(s);
    s = test_repeat("{\"a\":", 100000);
    test_refused(s, 600000, 32, "nested deeper than 32");
    free(s);
}

static void test_comment_bomb(void **state)
{
    char *s = test_bomb();

    (void)state;
    test_refused(s, 4u << 20, 32, "comment");
    free(s);
    /* Without the comment: the depth bound. */
    s = test_fill("{\"x\":", '[', TEST_BOMB_BRACKETS);
    test_refused(s, 4u << 20, 32, "nested deeper than 32");
    free(s);
}

/* Each decoder of peer JSON, fed the bomb (or its tail, for the small
 * message limits), refuses it with a reason and does not crash. */
static void test_every_message_refuses_bombs(void **state)
{
    char *bomb = test_bomb(), *small = test_fill("{\"x\":/*\"*/", '[',
                                                  60000);
    const char *texts[] = { bomb, small };
    struct xs_msg_stream_ok ok;
    struct xs_msg_progress p;
    struct xs_msg_result r;
    struct xs_msg_stream st;
    struct xs_msg_hello h;
    struct pf_request req;
    struct pf_report rep;
    struct domcfg c;
    char *why;
    size_t i;

    (void)state;
    for (i = 0; i < 2; i++) {
        const char *t = texts[i];

        why = NULL;
        assert_int_equal(xs_msg_hello_decode(t, 1, &h, &why),
                         XLMIG_E_PROTO);
        assert_non_null(why);
        free(why);
        assert_int_equal(xs_msg_stream_decode(t, &st, &why), XLMIG_E_PROTO);
        free(why);
        assert_int_equal(xs_msg_stream_ok_decode(t, true, &ok, &why),
                         XLMIG_E_PROTO);
        free(why);
        assert_int_equal(xs_msg_progress_decode(t, &p, &why),
                         XLMIG_E_PROTO);
        free(why);
        assert_int_equal(xs_msg_result_decode(t, &r, &why), XLMIG_E_PROTO);
        free(why);
        assert_int_equal(pf_request_decode(t, &req, &why), XLMIG_E_PROTO);
        assert_non_null(strstr(why, "comment"));
        free(why);
        assert_int_equal(pf_report_decode(t, &rep, &why), XLMIG_E_PROTO);
        free(why);
        memset(&c, 0, sizeof(c));
        assert_int_equal(domcfg_parse(t, &c, &why), XLMIG_E_INVAL);
        assert_non_null(strstr(why, "comment"));
        free(why);
    }
    free(small);
    free(bomb);
}

static void test_hello(void **state)
{
    struct xs_msg_hello a = { .version = 1, .stream = true }, b;
    char *text, *why = NULL;

    (void)state;
    strcpy(a.sw, "0.1.0");
    text = xs_msg_hello_encode(&a);
    assert_int_equal(xs_msg_hello_decode(text, 1, &b, &why), XLMIG_OK);
    assert_null(why);
    assert_int_equal(b.version, 1);
    assert_true(b.stream);
    assert_string_equal(b.sw, "0.1.0");
    free(text);
    /* Older receivers: no caps. */
    assert_int_equal(xs_msg_hello_decode("{\"xlmig\":1,\"version\":\"0\"}",
                                         1, &b, &why), XLMIG_OK);
    assert_false(b.stream);
    assert_int_equal(xs_msg_hello_decode("{\"xlmig\":2,\"version\":\"0\"}",
                                         1, &b, &why), XLMIG_E_PROTO);
    assert_non_null(strstr(why, "xlmig"));
    free(why);
    assert_int_equal(xs_msg_hello_decode("{\"xlmig\":1,\"version\":"
                                         "\"\\u001b[2J\"}", 1, &b, &why),
                     XLMIG_E_PROTO);
    assert_non_null(strstr(why, "printable"));
    free(why);
    assert_int_equal(xs_msg_hello_decode("{\"xlmig\":1,\"version\":\"0\","
                                         "\"caps\":[1]}", 1, &b, &why),
                     XLMIG_E_PROTO);
    assert_non_null(strstr(why, "caps[0]"));
    free(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strict_json),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_comment_bomb),
        cmocka_unit_test(test_every_message_refuses_bombs),
        cmocka_unit_test(test_hello),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
