/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-stream.c - libFuzzer target for the migration stream parser
 * (stream.c). The first input byte picks a chunking of the rest; the rest
 * is parsed once whole and once in those chunks, each chunk in its own
 * allocation, and both parses must agree exactly.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

#define FUZZ_STREAM_CHUNK_MAX   4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one parse saw. */
struct fuzz_stream_run {
    int feed_rc, finish_rc;
    size_t used;
    struct stream_stats st;
    char *err;
    unsigned nev;
    uint64_t ev_sum;            /* order-sensitive digest of the events */
};

static void fuzz_stream_on_event(void *arg, enum stream_event ev,
                                 const struct stream_stats *st)
{
    struct fuzz_stream_run *run = arg;

    run->nev++;
    run->ev_sum = run->ev_sum * 1000003u + (uint64_t)ev * 65537u + st->bytes +
                  st->rounds;
}

/* Size of chunk number turn under mode; never 0. */
static size_t fuzz_stream_chunk(uint8_t mode, size_t turn, uint32_t *rng)
{
    switch (mode % 4) {
    case 0:
        return 1;
    case 1:
        return (size_t)(mode >> 2) + 1;
    case 2:
        *rng ^= *rng << 13;
        *rng ^= *rng >> 17;
        *rng ^= *rng << 5;
        return *rng % FUZZ_STREAM_CHUNK_MAX + 1;
    default:
        return (size_t)1 << (turn % 13);
    }
}

/* chunked: feed in chunks chosen by mode, else all at once. */
static void fuzz_stream_parse(const uint8_t *d, size_t len, bool chunked,
                              uint8_t mode, struct fuzz_stream_run *run)
{
    struct stream *s = stream_new(fuzz_stream_on_event, run);
    uint32_t rng = 0x9e3779b9u ^ mode;
    size_t pos = 0, turn = 0, n, used;
    uint8_t *c;

    memset(run, 0, sizeof(*run));
    while (pos < len) {
        n = chunked ? fuzz_stream_chunk(mode, turn++, &rng) : len;
        if (n > len - pos) n = len - pos;
        c = xmalloc(n);
        memcpy(c, d + pos, n);
        run->feed_rc = stream_feed(s, c, n, &used);
        free(c);
        if (used > n) abort();
        pos += used;
        if (run->feed_rc || used < n) break;
    }
    run->used = pos;
    run->finish_rc = stream_finish(s);
    run->st = *stream_get_stats(s);
    if (run->finish_rc && !stream_error(s)) abort();
    if (!run->finish_rc && (stream_error(s) || !stream_done(s))) abort();
    if (run->st.bytes != run->used) abort();
    run->err = stream_error(s) ? xstrdup(stream_error(s)) : NULL;
    stream_free(s);
}

static bool fuzz_stream_same(const struct fuzz_stream_run *a,
                             const struct fuzz_stream_run *b)
{
    const struct stream_stats *x = &a->st, *y = &b->st;

    if (a->feed_rc != b->feed_rc || a->finish_rc != b->finish_rc ||
        a->used != b->used || a->nev != b->nev || a->ev_sum != b->ev_sum)
        return false;
    if (!a->err != !b->err || (a->err && strcmp(a->err, b->err)))
        return false;
    return x->bytes == y->bytes &&
           !memcmp(x->libxl_recs, y->libxl_recs, sizeof(x->libxl_recs)) &&
           !memcmp(x->libxc_recs, y->libxc_recs, sizeof(x->libxc_recs)) &&
           x->pfns == y->pfns && x->pages == y->pages &&
           x->page_bytes == y->page_bytes && x->rounds == y->rounds &&
           x->round_pages == y->round_pages &&
           x->guest_type == y->guest_type && x->xen_major == y->xen_major &&
           x->xen_minor == y->xen_minor &&
           x->end_of_memory == y->end_of_memory && x->done == y->done;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_stream_run whole, chunked;

    if (size < 1) return 0;
    fuzz_stream_parse(data + 1, size - 1, false, data[0], &whole);
    fuzz_stream_parse(data + 1, size - 1, true, data[0], &chunked);
    if (!fuzz_stream_same(&whole, &chunked)) abort();
    free(whole.err);
    free(chunked.err);
    return 0;
}
