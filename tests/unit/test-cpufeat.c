/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-cpufeat.c - featuresets: names, the CPUID/MSR word map (checked
 * against our own copy of cpufeatureset.h's "word N" comments), the
 * missing-features list, clearing by name, the hex form, and this CPU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cpufeat.h"

#define NOSUB CPUFEAT_NO_SUBLEAF
#define F(word, bit) ((word) * 32 + (bit))

/* ---- names ---- */

static void test_lookup_known_names(void **state)
{
    (void)state;
    assert_int_equal(cpufeat_lookup("fpu"), 0);
    assert_int_equal(cpufeat_lookup("sse2"), F(0, 26));
    assert_int_equal(cpufeat_lookup("sse4_2"), F(1, 20));
    assert_int_equal(cpufeat_lookup("avx"), F(1, 28));
    assert_int_equal(cpufeat_lookup("avx2"), F(5, 5));
    assert_int_equal(cpufeat_lookup("lm"), F(2, 29));
    assert_int_equal(cpufeat_lookup("its_no"), F(17, 30));
}

static void test_lookup_folds_case_and_dash(void **state)
{
    (void)state;
    assert_int_equal(cpufeat_lookup("AVX2"), F(5, 5));
    assert_int_equal(cpufeat_lookup("Sse4_2"), F(1, 20));
    assert_int_equal(cpufeat_lookup("sse4-2"), F(1, 20));
}

static void test_lookup_unknown_names(void **state)
{
    (void)state;
    assert_int_equal(cpufeat_lookup("nosuchfeature"), -1);
    assert_int_equal(cpufeat_lookup("avx2x"), -1);     /* no prefix match */
    assert_int_equal(cpufeat_lookup("av"), -1);
    assert_int_equal(cpufeat_lookup(""), -1);
    assert_int_equal(cpufeat_lookup(NULL), -1);
}

static void test_name_of_feature(void **state)
{
    const char *name;
    unsigned f, named = 0;

    (void)state;
    assert_string_equal(cpufeat_name(0), "FPU");
    assert_string_equal(cpufeat_name(F(5, 5)), "AVX2");
    assert_null(cpufeat_name(F(0, 10)));       /* 1.edx bit 10: reserved */
    assert_null(cpufeat_name(100000));
    for (f = 0; f < CPUFEAT_NR_WORDS * 32; f++) {
        name = cpufeat_name(f);
        if (!name) continue;
        named++;
        assert_int_equal(cpufeat_lookup(name), (int)f);
    }
    assert_true(named > 200);
}

/* ---- the word map ---- */

/* Our own copy of the map (cpufeatureset.h, Xen 4.17), reg 'a'..'d'. */
static const struct {
    uint32_t leaf, subleaf;
    char reg;
} test_map[] = {
    { 0x00000001, NOSUB, 'd' }, { 0x00000001, NOSUB, 'c' },
    { 0x80000001, NOSUB, 'd' }, { 0x80000001, NOSUB, 'c' },
    { 0x0000000d, 1, 'a' },     { 0x00000007, 0, 'b' },
    { 0x00000007, 0, 'c' },     { 0x80000007, NOSUB, 'd' },
    { 0x80000008, NOSUB, 'b' }, { 0x00000007, 0, 'd' },
    { 0x00000007, 1, 'a' },     { 0x80000021, NOSUB, 'a' },
    { 0x00000007, 1, 'b' },     { 0x00000007, 2, 'd' },
    { 0x00000007, 1, 'c' },     { 0x00000007, 1, 'd' },
};

/* A register value that names its leaf, subleaf and register. */
static uint32_t test_reg_value(uint32_t leaf, uint32_t subleaf, char reg)
{
    return (leaf << 16) ^ (leaf >> 16) ^ ((subleaf & 0xff) << 8) ^
           (uint32_t)reg;
}

static struct cpufeat_leaf test_leaf(uint32_t leaf, uint32_t subleaf)
{
    struct cpufeat_leaf l = {
        .leaf = leaf, .subleaf = subleaf,
        .a = test_reg_value(leaf, subleaf, 'a'),
        .b = test_reg_value(leaf, subleaf, 'b'),
        .c = test_reg_value(leaf, subleaf, 'c'),
        .d = test_reg_value(leaf, subleaf, 'd'),
    };

    return l;
}

static void test_from_policy_maps_every_word(void **state)
{
    struct cpufeat_leaf leaves[] = {
        /* decoys first: wrong subleaf for leaves with and without one */
        { 0x00000001, 0, 1, 2, 3, 4 },
        { 0x00000007, 3, 1, 2, 3, 4 },
        test_leaf(0x00000001, NOSUB), test_leaf(0x80000001, NOSUB),
        test_leaf(0x0000000d, 0), test_leaf(0x0000000d, 1),
        test_leaf(0x00000007, 0), test_leaf(0x00000007, 1),
        test_leaf(0x00000007, 2), test_leaf(0x80000007, NOSUB),
        test_leaf(0x80000008, NOSUB), test_leaf(0x80000021, NOSUB),
    };
    struct cpufeat_msr msrs[] = {
        { 0xce, 0xdeadbeefdeadbeefULL },
        { 0x10a, 0x1111222233334444ULL },
    };
    uint32_t fs[24];
    size_t w;

    (void)state;
    memset(fs, 0xa5, sizeof(fs));
    cpufeat_from_policy(leaves, ARRAY_SIZE(leaves), msrs, ARRAY_SIZE(msrs),
                        fs, ARRAY_SIZE(fs));
    for (w = 0; w < ARRAY_SIZE(test_map); w++)
        assert_int_equal(fs[w], test_reg_value(test_map[w].leaf,
                                               test_map[w].subleaf,
                                               test_map[w].reg));
    assert_int_equal(fs[16], 0x33334444);       /* MSR 0x10a low */
    assert_int_equal(fs[17], 0x11112222);       /* MSR 0x10a high */
    assert_int_equal(fs[18], test_reg_value(0x80000021, NOSUB, 'c'));
    for (w = CPUFEAT_NR_WORDS; w < ARRAY_SIZE(fs); w++)
        assert_int_equal(fs[w], 0);
}

static void test_from_policy_absent_leaves_are_zero(void **state)
{
    struct cpufeat_leaf leaves[] = { test_leaf(0x00000001, NOSUB) };
    uint32_t fs[CPUFEAT_NR_WORDS];
    size_t w;

    (void)state;
    memset(fs, 0xa5, sizeof(fs));
    cpufeat_from_policy(leaves, ARRAY_SIZE(leaves), NULL, 0, fs,
                        ARRAY_SIZE(fs));
    assert_int_equal(fs[0], test_reg_value(1, NOSUB, 'd'));
    assert_int_equal(fs[1], test_reg_value(1, NOSUB, 'c'));
    for (w = 2; w < ARRAY_SIZE(fs); w++)
        assert_int_equal(fs[w], 0);

    cpufeat_from_policy(NULL, 0, NULL, 0, fs, ARRAY_SIZE(fs));
    for (w = 0; w < ARRAY_SIZE(fs); w++)
        assert_int_equal(fs[w], 0);
}

static void test_from_policy_writes_only_nr_words(void **state)
{
    struct cpufeat_leaf leaves[] = { test_leaf(0x00000001, NOSUB) };
    uint32_t fs[3] = { 7, 7, 7 };

    (void)state;
    cpufeat_from_policy(leaves, ARRAY_SIZE(leaves), NULL, 0, fs, 1);
    assert_int_equal(fs[0], test_reg_value(1, NOSUB, 'd'));
    assert_int_equal(fs[1], 7);
    assert_int_equal(fs[2], 7);
}

/* ---- missing features ---- */

static void set_bit(uint32_t *fs, unsigned f)
{
    fs[f / 32] |= 1u << (f % 32);
}

static void test_missing_lists_names_in_order(void **state)
{
    uint32_t guest[24] = { 0 }, host[24] = { 0 };
    char *names = NULL;

    (void)state;
    set_bit(guest, F(0, 0));            /* fpu: the host has it */
    set_bit(host, F(0, 0));
    set_bit(guest, F(5, 5));            /* avx2 */
    set_bit(guest, F(1, 20));           /* sse4_2 */
    set_bit(guest, F(0, 10));           /* unnamed */
    set_bit(guest, F(20, 0));           /* beyond the map */
    set_bit(host, F(3, 3));             /* the host's extra is fine */
    assert_int_equal(cpufeat_missing(guest, host, 24, &names), 4);
    assert_non_null(names);
    assert_string_equal(names,
                        "word 0 bit 10, sse4_2, avx2, word 20 bit 0");
    free(names);

    assert_int_equal(cpufeat_missing(guest, host, 24, NULL), 4);
    assert_int_equal(cpufeat_missing(guest, host, 2, &names), 2);
    assert_string_equal(names, "word 0 bit 10, sse4_2");
    free(names);
}

/* AMD's leaf 0x80000001 edx repeats leaf 1 edx bits (fpu at word 2 bit 0)
 * that Xen does not name: they must not count as missing. */
static void test_keep_named_drops_amd_duplicates(void **state)
{
    uint32_t guest[4] = { 0 }, host[4] = { 0 };
    char *names = NULL;

    (void)state;
    guest[2] = (1u << 0) | (1u << 2) | (1u << 24) | (1u << 29);
    host[2] = 1u << 29;                 /* lm */
    assert_int_equal(cpufeat_missing(guest, host, 4, NULL), 3);
    cpufeat_keep_named(guest, 4);
    assert_int_equal(guest[2], 1u << 29);
    assert_int_equal(cpufeat_missing(guest, host, 4, &names), 0);
    assert_null(names);
    guest[2] |= 1u << 11;               /* syscall: named, so kept */
    cpufeat_keep_named(guest, 4);
    assert_int_equal(cpufeat_missing(guest, host, 4, &names), 1);
    assert_string_equal(names, "syscall");
    free(names);
}

static void test_missing_none(void **state)
{
    uint32_t guest[4] = { 0x1, 0, 0, 0 }, host[4] = { 0xff, 0, 0, 0 };
    char *names = (char *)"junk";

    (void)state;
    assert_int_equal(cpufeat_missing(guest, host, 4, &names), 0);
    assert_null(names);
    names = (char *)"junk";
    assert_int_equal(cpufeat_missing(guest, host, 0, &names), 0);
    assert_null(names);
}

/* ---- clearing by name ---- */

static void test_clear_names(void **state)
{
    uint32_t fs[CPUFEAT_NR_WORDS];
    char *why = (char *)"junk";
    size_t w;

    (void)state;
    memset(fs, 0xff, sizeof(fs));
    assert_int_equal(cpufeat_clear_names(fs, CPUFEAT_NR_WORDS,
                                         " avx2, SSE4_2,,fpu ", &why), 0);
    assert_null(why);
    assert_int_equal(fs[0], 0xfffffffe);
    assert_int_equal(fs[1], ~(1u << 20));
    assert_int_equal(fs[5], ~(1u << 5));
    for (w = 0; w < CPUFEAT_NR_WORDS; w++)
        if (w != 0 && w != 1 && w != 5) assert_int_equal(fs[w], 0xffffffff);
}

static void test_clear_names_empty_and_beyond_nr(void **state)
{
    uint32_t fs[2] = { 0xffffffff, 0xffffffff };
    char *why = NULL;

    (void)state;
    assert_int_equal(cpufeat_clear_names(fs, 2, "", &why), 0);
    assert_int_equal(cpufeat_clear_names(fs, 2, " , ,", &why), 0);
    assert_int_equal(cpufeat_clear_names(fs, 2, "avx2", &why), 0);
    assert_null(why);
    assert_int_equal(fs[0], 0xffffffff);
    assert_int_equal(fs[1], 0xffffffff);
}

static void test_clear_names_unknown_changes_nothing(void **state)
{
    uint32_t fs[CPUFEAT_NR_WORDS];
    char *why = NULL;
    size_t w;

    (void)state;
    memset(fs, 0xff, sizeof(fs));
    assert_int_equal(cpufeat_clear_names(fs, CPUFEAT_NR_WORDS,
                                         "fpu,bogus,avx2", &why),
                     XLMIG_E_INVAL);
    assert_non_null(why);
    assert_non_null(strstr(why, "bogus"));
    free(why);
    for (w = 0; w < CPUFEAT_NR_WORDS; w++)
        assert_int_equal(fs[w], 0xffffffff);
}

/* ---- hex ---- */

static void test_hex_round_trip(void **state)
{
    const uint32_t fs[] = { 0x0178bfbf, 0x7ed8320b, 0, 0xffffffff };
    uint32_t back[8];
    unsigned nr = 0;
    char *hex;

    (void)state;
    hex = cpufeat_to_hex(fs, ARRAY_SIZE(fs));
    assert_string_equal(hex, "0178bfbf:7ed8320b:00000000:ffffffff");
    memset(back, 0xa5, sizeof(back));
    assert_int_equal(cpufeat_from_hex(hex, back, ARRAY_SIZE(back), &nr), 0);
    assert_int_equal(nr, ARRAY_SIZE(fs));
    assert_memory_equal(back, fs, sizeof(fs));
    assert_int_equal(back[4], 0);               /* the rest is zeroed */
    assert_int_equal(back[7], 0);
    free(hex);

    hex = cpufeat_to_hex(fs, 0);
    assert_string_equal(hex, "");
    free(hex);
}

static void test_hex_short_and_upper_case_words(void **state)
{
    uint32_t fs[4];
    unsigned nr = 0;

    (void)state;
    assert_int_equal(cpufeat_from_hex("1:ABCDEF01:0", fs, 4, &nr), 0);
    assert_int_equal(nr, 3);
    assert_int_equal(fs[0], 1);
    assert_int_equal(fs[1], 0xabcdef01);
    assert_int_equal(fs[2], 0);
    assert_int_equal(cpufeat_from_hex("1:2", fs, 2, &nr), 0);   /* = max */
    assert_int_equal(nr, 2);
}

static void test_hex_malformed(void **state)
{
    static const char *const bad[] = {
        "", ":", "1:", ":1", "1::2", "123456789", "0x12", " 12", "12 ",
        "1;2", "g", "-1", "+1", "1:2\n",
    };
    uint32_t fs[4];
    unsigned nr, i, w;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        memset(fs, 0xa5, sizeof(fs));
        nr = 99;
        assert_int_equal(cpufeat_from_hex(bad[i], fs, 4, &nr),
                         XLMIG_E_INVAL);
        assert_int_equal(nr, 0);
        for (w = 0; w < 4; w++)
            assert_int_equal(fs[w], 0);
    }
    assert_int_equal(cpufeat_from_hex(NULL, fs, 4, &nr), XLMIG_E_INVAL);
}

static void test_hex_too_many_words(void **state)
{
    uint32_t fs[2] = { 5, 5 };
    unsigned nr = 99;

    (void)state;
    assert_int_equal(cpufeat_from_hex("1:2:3", fs, 2, &nr), XLMIG_E_TOOBIG);
    assert_int_equal(nr, 0);
    assert_int_equal(fs[0], 0);
    assert_int_equal(fs[1], 0);
    assert_int_equal(cpufeat_from_hex("1", NULL, 0, &nr), XLMIG_E_TOOBIG);
}

/* ---- this CPU ---- */

static void test_this_cpu(void **state)
{
    uint32_t fs[24];
    size_t w;

    (void)state;
    memset(fs, 0xa5, sizeof(fs));
    cpufeat_this_cpu(fs, ARRAY_SIZE(fs));
    /* Every x86-64 CPU has these. */
    assert_true(fs[0] & (1u << 0));             /* fpu */
    assert_true(fs[0] & (1u << 26));            /* sse2 */
    assert_true(fs[2] & (1u << 29));            /* lm */
    assert_int_equal(fs[16], 0);                /* MSR words: unreadable */
    assert_int_equal(fs[17], 0);
    for (w = CPUFEAT_NR_WORDS; w < ARRAY_SIZE(fs); w++)
        assert_int_equal(fs[w], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_known_names),
        cmocka_unit_test(test_lookup_folds_case_and_dash),
        cmocka_unit_test(test_lookup_unknown_names),
        cmocka_unit_test(test_name_of_feature),
        cmocka_unit_test(test_from_policy_maps_every_word),
        cmocka_unit_test(test_from_policy_absent_leaves_are_zero),
        cmocka_unit_test(test_from_policy_writes_only_nr_words),
        cmocka_unit_test(test_missing_lists_names_in_order),
        cmocka_unit_test(test_keep_named_drops_amd_duplicates),
        cmocka_unit_test(test_missing_none),
        cmocka_unit_test(test_clear_names),
        cmocka_unit_test(test_clear_names_empty_and_beyond_nr),
        cmocka_unit_test(test_clear_names_unknown_changes_nothing),
        cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_hex_short_and_upper_case_words),
        cmocka_unit_test(test_hex_malformed),
        cmocka_unit_test(test_hex_too_many_words),
        cmocka_unit_test(test_this_cpu),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
