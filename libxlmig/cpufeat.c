/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cpufeat.c - x86 featuresets as Xen numbers them: the name table (made
 * from Xen's public cpufeatureset.h), the word <-> CPUID leaf/MSR map, the
 * missing-features test and the hex form. Callers supply the CPUID data
 * (libxc's serialised policy, or this CPU); nothing here talks to Xen.
 */
#include <cpuid.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpufeat.h"

#define CPUFEAT_MSR_ARCH_CAPS 0x10au    /* MSR_ARCH_CAPABILITIES */
#define CPUFEAT_NAME_MAX 64             /* Xen's longest is under 32 */
#define CPUFEAT_EXT_BASE 0x80000000u    /* first extended CPUID leaf */

struct cpufeat_entry {
    const char *name;
    unsigned value;
};

/* The header expands XEN_CPUFEATURE(NAME, word*32+bit) once per feature. */
#define XEN_CPUFEATURE(name, value) { #name, value },
static const struct cpufeat_entry cpufeat_names[] = {
#include <xen/arch-x86/cpufeatureset.h>
};
#undef XEN_CPUFEATURE

enum cpufeat_reg {
    CPUFEAT_EAX, CPUFEAT_EBX, CPUFEAT_ECX, CPUFEAT_EDX,
    CPUFEAT_MSR_LO, CPUFEAT_MSR_HI,
};

/* Where a featureset word comes from. */
struct cpufeat_src {
    uint32_t leaf;              /* CPUID leaf, or the MSR for CPUFEAT_MSR_* */
    uint32_t subleaf;
    enum cpufeat_reg reg;
};

/* cpufeatureset.h: the "CPUID level ..., word N" comment of each block. */
static const struct cpufeat_src cpufeat_words[CPUFEAT_NR_WORDS] = {
    [0]  = { 0x00000001, CPUFEAT_NO_SUBLEAF, CPUFEAT_EDX },
    [1]  = { 0x00000001, CPUFEAT_NO_SUBLEAF, CPUFEAT_ECX },
    [2]  = { 0x80000001, CPUFEAT_NO_SUBLEAF, CPUFEAT_EDX },
    [3]  = { 0x80000001, CPUFEAT_NO_SUBLEAF, CPUFEAT_ECX },
    [4]  = { 0x0000000d, 1, CPUFEAT_EAX },
    [5]  = { 0x00000007, 0, CPUFEAT_EBX },
    [6]  = { 0x00000007, 0, CPUFEAT_ECX },
    [7]  = { 0x80000007, CPUFEAT_NO_SUBLEAF, CPUFEAT_EDX },
    [8]  = { 0x80000008, CPUFEAT_NO_SUBLEAF, CPUFEAT_EBX },
    [9]  = { 0x00000007, 0, CPUFEAT_EDX },
    [10] = { 0x00000007, 1, CPUFEAT_EAX },
    [11] = { 0x80000021, CPUFEAT_NO_SUBLEAF, CPUFEAT_EAX },
    [12] = { 0x00000007, 1, CPUFEAT_EBX },
    [13] = { 0x00000007, 2, CPUFEAT_EDX },
    [14] = { 0x00000007, 1, CPUFEAT_ECX },
    [15] = { 0x00000007, 1, CPUFEAT_EDX },
    [16] = { CPUFEAT_MSR_ARCH_CAPS, 0, CPUFEAT_MSR_LO },
    [17] = { CPUFEAT_MSR_ARCH_CAPS, 0, CPUFEAT_MSR_HI },
    [18] = { 0x80000021, CPUFEAT_NO_SUBLEAF, CPUFEAT_ECX },
};

/* ---- names ---- */

const char *cpufeat_name(unsigned feature)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cpufeat_names); i++)
        if (cpufeat_names[i].value == feature) return cpufeat_names[i].name;
    return NULL;
}

/* ASCII only: names never depend on the locale. */
static char cpufeat_fold(char c)
{
    if (c >= 'A' && c <= 'Z') return (char)(c - 'A' + 'a');
    if (c == '-') return '_';
    return c;
}

static bool cpufeat_name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (cpufeat_fold(*a) != cpufeat_fold(*b)) return false;
    return !*a && !*b;
}

int cpufeat_lookup(const char *name)
{
    size_t i;

    if (!name) return -1;
    for (i = 0; i < ARRAY_SIZE(cpufeat_names); i++)
        if (cpufeat_name_eq(cpufeat_names[i].name, name))
            return (int)cpufeat_names[i].value;
    return -1;
}

/* ---- the word map ---- */

static uint32_t cpufeat_leaf_reg(const struct cpufeat_leaf *l,
                                 enum cpufeat_reg reg)
{
    switch (reg) {
    case CPUFEAT_EAX: return l->a;
    case CPUFEAT_EBX: return l->b;
    case CPUFEAT_ECX: return l->c;
    case CPUFEAT_EDX: return l->d;
    case CPUFEAT_MSR_LO:
    case CPUFEAT_MSR_HI:
        break;
    }
    return 0;
}

static uint32_t cpufeat_word(const struct cpufeat_src *src,
                             const struct cpufeat_leaf *leaves,
                             size_t nleaves, const struct cpufeat_msr *msrs,
                             size_t nmsrs)
{
    size_t i;

    if (src->reg == CPUFEAT_MSR_LO || src->reg == CPUFEAT_MSR_HI) {
        for (i = 0; i < nmsrs; i++) {
            if (msrs[i].index != src->leaf) continue;
            return src->reg == CPUFEAT_MSR_LO ? (uint32_t)msrs[i].val
                                              : (uint32_t)(msrs[i].val >> 32);
        }
        return 0;
    }
    for (i = 0; i < nleaves; i++)
        if (leaves[i].leaf == src->leaf && leaves[i].subleaf == src->subleaf)
            return cpufeat_leaf_reg(&leaves[i], src->reg);
    return 0;
}

void cpufeat_from_policy(const struct cpufeat_leaf *leaves, size_t nleaves,
                         const struct cpufeat_msr *msrs, size_t nmsrs,
                         uint32_t *fs, unsigned nr)
{
    unsigned w;

    for (w = 0; w < nr; w++)
        fs[w] = w < CPUFEAT_NR_WORDS
                ? cpufeat_word(&cpufeat_words[w], leaves, nleaves, msrs,
                               nmsrs)
                : 0;
}

/* Whether this CPU has a leaf (reading an absent one returns junk). */
static bool cpufeat_cpu_has(const struct cpufeat_src *src,
                            unsigned max_basic, unsigned max_ext,
                            unsigned max_sub7)
{
    if (src->leaf >= CPUFEAT_EXT_BASE)
        return (max_ext & 0xffff0000u) == CPUFEAT_EXT_BASE &&
               src->leaf <= max_ext;
    if (src->leaf > max_basic) return false;
    return src->leaf != 7 || src->subleaf <= max_sub7;
}

void cpufeat_this_cpu(uint32_t *fs, unsigned nr)
{
    struct cpufeat_leaf leaves[CPUFEAT_NR_WORDS];
    const struct cpufeat_src *src;
    unsigned max_basic, max_ext, max_sub7 = 0, a, b, c, d, w;
    size_t n = 0;

    max_basic = __get_cpuid_max(0, NULL);
    max_ext = __get_cpuid_max(CPUFEAT_EXT_BASE, NULL);
    if (max_basic >= 7) __cpuid_count(7, 0, max_sub7, b, c, d);
    for (w = 0; w < CPUFEAT_NR_WORDS; w++) {
        src = &cpufeat_words[w];
        if (src->reg == CPUFEAT_MSR_LO || src->reg == CPUFEAT_MSR_HI)
            continue;
        if (!cpufeat_cpu_has(src, max_basic, max_ext, max_sub7)) continue;
        __cpuid_count(src->leaf,
                      src->subleaf == CPUFEAT_NO_SUBLEAF ? 0 : src->subleaf,
                      a, b, c, d);
        leaves[n] = (struct cpufeat_leaf){
            .leaf = src->leaf, .subleaf = src->subleaf,
            .a = a, .b = b, .c = c, .d = d,
        };
        n++;
    }
    cpufeat_from_policy(leaves, n, NULL, 0, fs, nr);
}

/* ---- comparing and editing ---- */

/* Appends ", name" (lower-case) or "word W bit B" to the list *s. */
static void cpufeat_append(char **s, size_t *len, unsigned feature)
{
    const char *name = cpufeat_name(feature);
    char piece[CPUFEAT_NAME_MAX];
    size_t i, plen;

    if (name)
        snprintf(piece, sizeof(piece), "%s", name);
    else
        snprintf(piece, sizeof(piece), "word %u bit %u", feature / 32,
                 feature % 32);
    for (i = 0; piece[i]; i++)
        if (piece[i] >= 'A' && piece[i] <= 'Z') piece[i] += 'a' - 'A';
    plen = strlen(piece);
    *s = xrealloc(*s, *len + 2 + plen + 1);
    if (*len) {
        memcpy(*s + *len, ", ", 2);
        *len += 2;
    }
    memcpy(*s + *len, piece, plen + 1);
    *len += plen;
}

size_t cpufeat_missing(const uint32_t *guest, const uint32_t *host,
                       unsigned nr, char **names_r)
{
    char *names = NULL;
    size_t len = 0, count = 0;
    uint32_t bits;
    unsigned w, b;

    for (w = 0; w < nr; w++) {
        bits = guest[w] & ~host[w];
        for (b = 0; b < 32; b++) {
            if (!(bits & (1u << b))) continue;
            count++;
            if (names_r) cpufeat_append(&names, &len, w * 32 + b);
        }
    }
    if (names_r) *names_r = names;
    return count;
}

int cpufeat_clear_names(uint32_t *fs, unsigned nr, const char *list,
                        char **why_r)
{
    char *copy = xstrdup(list), *tok, *save = NULL;
    uint32_t *mask = xcalloc(nr, sizeof(*mask));
    unsigned w;
    int f, rc;

    *why_r = NULL;
    for (tok = strtok_r(copy, ", \t\n", &save); tok;
         tok = strtok_r(NULL, ", \t\n", &save)) {
        f = cpufeat_lookup(tok);
        if (f < 0) {
            *why_r = xasprintf("unknown CPU feature '%s'", tok);
            rc = XLMIG_E_INVAL;
            goto out;
        }
        if ((unsigned)f / 32 < nr) mask[f / 32] |= 1u << (f % 32);
    }
    for (w = 0; w < nr; w++)
        fs[w] &= ~mask[w];
    rc = XLMIG_OK;
out:
    free(mask);
    free(copy);
    return rc;
}

/* ---- hex form ---- */

char *cpufeat_to_hex(const uint32_t *fs, unsigned nr)
{
    char *s = xmalloc((size_t)nr * 9 + 1), *p = s;
    unsigned i;

    *p = '\0';
    for (i = 0; i < nr; i++) {
        if (i) *p++ = ':';
        p += sprintf(p, "%08x", (unsigned)fs[i]);
    }
    return s;
}

static int cpufeat_hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The words of s into fs[0..max), counted in *nr_r; no cleanup on failure. */
static int cpufeat_parse_hex(const char *s, uint32_t *fs, unsigned max,
                             unsigned *nr_r)
{
    unsigned digits;
    uint32_t word;
    int v;

    if (!s || !*s) return XLMIG_E_INVAL;
    for (;;) {
        word = 0;
        for (digits = 0; (v = cpufeat_hex_digit(*s)) >= 0; digits++, s++) {
            if (digits == 8) return XLMIG_E_INVAL;
            word = word << 4 | (uint32_t)v;
        }
        if (!digits) return XLMIG_E_INVAL;
        if (*nr_r == max) return XLMIG_E_TOOBIG;
        fs[(*nr_r)++] = word;
        if (!*s) return XLMIG_OK;
        if (*s++ != ':') return XLMIG_E_INVAL;
    }
}

int cpufeat_from_hex(const char *s, uint32_t *fs, unsigned max,
                     unsigned *nr_r)
{
    int rc;

    *nr_r = 0;
    if (max) memset(fs, 0, (size_t)max * sizeof(*fs));
    rc = cpufeat_parse_hex(s, fs, max, nr_r);
    if (rc) {
        *nr_r = 0;
        if (max) memset(fs, 0, (size_t)max * sizeof(*fs));
    }
    return rc;
}

void cpufeat_keep_named(uint32_t *fs, unsigned nr)
{
    uint32_t *keep = xcalloc(nr ? nr : 1, sizeof(*keep));
    size_t i;
    unsigned w;

    for (i = 0; i < ARRAY_SIZE(cpufeat_names); i++) {
        w = cpufeat_names[i].value / 32;
        if (w < nr) keep[w] |= 1u << (cpufeat_names[i].value % 32);
    }
    for (w = 0; w < nr; w++)
        fs[w] &= keep[w];
    free(keep);
}
