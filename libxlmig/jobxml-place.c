/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jobxml-place.c - where each domain of an evacuation goes (jobxml.h):
 * the biggest domains first, each to the target that keeps the most
 * memory free after it, among those whose checks passed and that still
 * have room. Greedy "worst fit decreasing": it spreads the load, as
 * vSphere's maintenance mode does, and it is predictable from the
 * figures an admin sees in the dry run.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "jobxml.h"

/* The biggest need of domain d over the targets it fits (0: none). */
static uint64_t jobxml_place_size(size_t d, size_t n_tgt, const bool *fits,
                                  const uint64_t *need_kb)
{
    uint64_t max = 0;
    size_t t;

    for (t = 0; t < n_tgt; t++)
        if (fits[d * n_tgt + t] && need_kb[d * n_tgt + t] > max)
            max = need_kb[d * n_tgt + t];
    return max;
}

void jobxml_place(size_t n_dom, size_t n_tgt, const bool *fits,
                  const uint64_t *need_kb, const uint64_t *free_kb,
                  int *choice_r, bool *no_room_r)
{
    uint64_t *left = xcalloc(n_tgt + 1, sizeof(*left));
    uint64_t *size = xcalloc(n_dom + 1, sizeof(*size));
    bool *done = xcalloc(n_dom + 1, sizeof(*done));
    size_t i, d, t, best_d;
    uint64_t need, after, best_after;
    int best;
    bool fits_somewhere;

    memcpy(left, free_kb, n_tgt * sizeof(*left));
    for (d = 0; d < n_dom; d++) {
        size[d] = jobxml_place_size(d, n_tgt, fits, need_kb);
        choice_r[d] = -1;
        if (no_room_r) no_room_r[d] = false;
    }
    for (i = 0; i < n_dom; i++) {
        /* The biggest domain not yet placed; the first of equals. */
        best_d = n_dom;
        for (d = 0; d < n_dom; d++)
            if (!done[d] && (best_d == n_dom || size[d] > size[best_d]))
                best_d = d;
        d = best_d;
        done[d] = true;
        best = -1;
        best_after = 0;
        fits_somewhere = false;
        for (t = 0; t < n_tgt; t++) {
            if (!fits[d * n_tgt + t]) continue;
            fits_somewhere = true;
            need = need_kb[d * n_tgt + t];
            if (need > left[t]) continue;
            after = left[t] - need;
            if (best < 0 || after > best_after) {
                best = (int)t;
                best_after = after;
            }
        }
        choice_r[d] = best;
        if (best >= 0) left[best] = best_after;
        else if (no_room_r) no_room_r[d] = fits_somewhere;
    }
    free(left);
    free(size);
    free(done);
}
