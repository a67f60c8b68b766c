/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-jobxml.c - fuzz target for job files (jobxml.c, jobxml-place.c):
 * the bytes are a job file. A load succeeds with no errors, every after=
 * resolved and an order in which each job comes after what it names; or
 * it fails with at least one error, each one printable line (no C0 or C1
 * controls) that names the file, and nothing loaded. A loaded file's
 * selections are asked about, and each evacuation is placed on figures
 * taken from the input: no domain lands where it does not fit or where
 * there is no room left.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "jobxml.h"

#define FUZZ_PATH "fuzz.xml"
#define FUZZ_DOM_MAX 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_errors(const struct jobxml_errors *errs)
{
    const unsigned char *u;
    size_t i;

    if (!errs->n || errs->n > JOBXML_ERRORS_MAX) abort();
    for (i = 0; i < errs->n; i++) {
        if (strncmp(errs->line[i], FUZZ_PATH ":", strlen(FUZZ_PATH ":")))
            abort();
        for (u = (const unsigned char *)errs->line[i]; *u; u++)
            if (*u < 0x20 || *u == 0x7f ||
                (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f))
                abort();
    }
}

static void fuzz_order(const struct jobxml_file *f)
{
    size_t *pos = calloc(f->n_jobs + 1, sizeof(*pos));
    bool *seen = calloc(f->n_jobs + 1, sizeof(*seen));
    const struct jobxml_job *j;
    size_t i, k;

    if (!pos || !seen) abort();
    for (i = 0; i < f->n_jobs; i++) {
        if (f->order[i] >= f->n_jobs || seen[f->order[i]]) abort();
        seen[f->order[i]] = true;
        pos[f->order[i]] = i;
    }
    for (i = 0; i < f->n_jobs; i++) {
        j = &f->jobs[i];
        if (!j->id || !*j->id) abort();
        for (k = 0; k < j->n_after; k++)
            if (j->after_idx[k] >= f->n_jobs || j->after_idx[k] == i ||
                pos[j->after_idx[k]] >= pos[i] ||
                strcmp(f->jobs[j->after_idx[k]].id, j->after[k]))
                abort();
        for (k = 0; k < j->n_to; k++)
            if (!jobxml_host(f, j->to[k])) abort();
        if (j->from && !jobxml_host(f, j->from)) abort();
    }
    free(pos);
    free(seen);
}

/* Places up to FUZZ_DOM_MAX domains on the evacuation's targets, with
 * fits and figures from the input; checks what the placement promises. */
static void fuzz_place(const struct jobxml_job *j, const uint8_t *data,
                       size_t size)
{
    bool fits[FUZZ_DOM_MAX * JOBXML_TO_MAX], no_room[FUZZ_DOM_MAX];
    uint64_t need[FUZZ_DOM_MAX * JOBXML_TO_MAX], free_kb[JOBXML_TO_MAX];
    uint64_t used[JOBXML_TO_MAX];
    int choice[FUZZ_DOM_MAX];
    size_t n_dom = size % (FUZZ_DOM_MAX + 1), n_tgt = j->n_to, d, t, i;
    bool somewhere;

    for (i = 0; i < n_dom * n_tgt; i++) {
        fits[i] = data[i % size] & 1;
        need[i] = data[(i * 7 + 3) % size] * 16u;
    }
    for (t = 0; t < n_tgt; t++) {
        free_kb[t] = data[(t * 13 + 5) % size] * 32u;
        used[t] = 0;
    }
    jobxml_place(n_dom, n_tgt, fits, need, free_kb, choice, no_room);
    for (d = 0; d < n_dom; d++) {
        somewhere = false;
        for (t = 0; t < n_tgt; t++) somewhere |= fits[d * n_tgt + t];
        if (choice[d] < 0) {
            if (no_room[d] != somewhere) abort();
            continue;
        }
        t = (size_t)choice[d];
        if (t >= n_tgt || !fits[d * n_tgt + t] || no_room[d]) abort();
        used[t] += need[d * n_tgt + t];
        if (used[t] > free_kb[t]) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jobxml_errors errs;
    struct jobxml_file f;
    size_t i;
    int rc;

    rc = jobxml_load(FUZZ_PATH, (const char *)data, size, &f, &errs);
    if (rc) {
        if (rc != XLMIG_E_INVAL || f.n_jobs || f.jobs || f.order) abort();
        fuzz_errors(&errs);
    } else {
        if (errs.n || !f.n_jobs || f.n_jobs > JOBXML_JOBS_MAX ||
            f.n_hosts > JOBXML_HOSTS_MAX || strcmp(f.path, FUZZ_PATH))
            abort();
        fuzz_order(&f);
        for (i = 0; i < f.n_jobs; i++) {
            jobxml_selects(&f.jobs[i], "web1",
                           "3f0c9a52-6d1e-4b7a-9c2f-8e5d41a0b7c3");
            if (f.jobs[i].kind == JOBXML_EVACUATE)
                fuzz_place(&f.jobs[i], data, size);
        }
    }
    jobxml_dispose(&f);
    jobxml_errors_dispose(&errs);
    return 0;
}
