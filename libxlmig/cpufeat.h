/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cpufeat.h - x86 CPU featuresets as Xen numbers them
 * (xen/arch-x86/cpufeatureset.h: feature = word * 32 + bit): names,
 * the mapping from CPUID leaves and MSRs to featureset words, and the
 * subset test a pre-flight check needs. Pure code: no hypervisor calls.
 */
#ifndef XLMIG_CPUFEAT_H
#define XLMIG_CPUFEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Words whose CPUID leaf or MSR we know (Xen 4.17: words 0..18). */
#define CPUFEAT_NR_WORDS 19

/* The subleaf of a leaf that has none (Xen's XEN_CPUID_NO_SUBLEAF). */
#define CPUFEAT_NO_SUBLEAF 0xffffffffu

/* One CPUID leaf as xc_cpu_policy_serialise() returns it. */
struct cpufeat_leaf {
    uint32_t leaf, subleaf;
    uint32_t a, b, c, d;
};

/* One MSR as xc_cpu_policy_serialise() returns it. */
struct cpufeat_msr {
    uint32_t index;
    uint64_t val;
};

/*
 * A feature's name as cpufeatureset.h spells it ("AVX2", "SSE4_2"), or
 * NULL if unnamed. Static storage. Print names lower-case, as Xen's tools
 * do (cpufeat_missing() does).
 */
const char *cpufeat_name(unsigned feature);
/*
 * The feature number of a name; case-insensitive, '-' matches '_'
 * ("avx2", "SSE4-2"). -1 if unknown or NULL.
 */
int cpufeat_lookup(const char *name);

/*
 * Fills fs[0..nr) from CPUID leaves and MSRs, word by word as Xen maps
 * them (word 0 = leaf 1 edx, ...; words 16/17 = MSR 0x10a low/high).
 * Leaves are matched on leaf and subleaf exactly: leaves without
 * subleaves carry CPUFEAT_NO_SUBLEAF, as Xen serialises them. Words whose
 * leaf or MSR is absent, and words from CPUFEAT_NR_WORDS on, are 0.
 */
void cpufeat_from_policy(const struct cpufeat_leaf *leaves, size_t nleaves,
                         const struct cpufeat_msr *msrs, size_t nmsrs,
                         uint32_t *fs, unsigned nr);

/*
 * This machine's featureset, read with the CPUID instruction. The MSR
 * words (16, 17) are 0: user space cannot read MSRs.
 */
void cpufeat_this_cpu(uint32_t *fs, unsigned nr);

/*
 * Features set in guest[] but not in host[] over the first nr words
 * (the caller passes the smaller of the two sizes). Returns how many.
 * If names_r is not NULL, *names_r lists their lower-case names separated
 * by ", " ("avx2, sha, word 7 bit 3" for unnamed ones), allocated; NULL
 * when there are none.
 */
size_t cpufeat_missing(const uint32_t *guest, const uint32_t *host,
                       unsigned nr, char **names_r);

/*
 * Clears the features named in a list from fs (sim host facts). Names are
 * separated by commas and/or blanks; empty entries are skipped; features
 * beyond word nr are ignored. On an unknown name: XLMIG_E_INVAL, fs
 * unchanged, *why_r (allocated) says which. *why_r is NULL on success.
 */
MUST_CHECK int cpufeat_clear_names(uint32_t *fs, unsigned nr,
                                   const char *list, char **why_r);

/*
 * fs as hex words, 8 lower-case digits each, joined by ':'
 * ("0178bfbf:7ed8320b:..."); allocated; "" when nr is 0.
 */
char *cpufeat_to_hex(const uint32_t *fs, unsigned nr);
/*
 * Parses such a string (untrusted: sim facts, wire) into fs[0..max):
 * 1 to 8 hex digits a word, single ':' between, nothing else. Words
 * from *nr_r to max are zeroed. XLMIG_E_INVAL if empty or malformed,
 * XLMIG_E_TOOBIG if more than max words; on failure fs[0..max) is zeroed
 * and *nr_r is 0.
 */
MUST_CHECK int cpufeat_from_hex(const char *s, uint32_t *fs, unsigned max,
                                unsigned *nr_r);

/*
 * Clears the bits Xen does not name. A guest's CPUID holds more than Xen
 * manages: on AMD, leaf 0x80000001 edx repeats 13 bits of leaf 1 edx,
 * which Xen's featuresets leave out (seen on real Xen in the lab).
 */
void cpufeat_keep_named(uint32_t *fs, unsigned nr);

#endif /* XLMIG_CPUFEAT_H */
