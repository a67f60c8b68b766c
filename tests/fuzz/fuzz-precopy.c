/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-precopy.c - fuzz target for the precopy policy's text codecs
 * (precopy.c): the params xlmig hands its save helper and the round
 * reports the helper sends back through libxl. Input: the params line, a
 * NUL, the report line, a NUL, then rounds for the policy (each 8 bytes:
 * a u32 dirty count, a u16 of milliseconds, a u16 of KiB/ms).
 * What parses must format and parse back to the same; the policy, fed any
 * rounds, must decide within max_rounds and keep its throttle in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "precopy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_rounds(const struct precopy_params *p, const uint8_t *d,
                        size_t n)
{
    struct precopy pc;
    struct precopy_report r;
    enum precopy_action a = PRECOPY_CONTINUE;
    double now = 0;
    uint32_t dirty;
    uint16_t ms, rate;

    precopy_init(&pc, p, d[0] & 1, now);
    for (; n >= 8 && a == PRECOPY_CONTINUE; d += 8, n -= 8) {
        memcpy(&dirty, d, 4);
        memcpy(&ms, d + 4, 2);
        memcpy(&rate, d + 6, 2);
        if (precopy_before(&pc, dirty, now) != PRECOPY_CONTINUE) abort();
        now += ms / 1e3;
        a = precopy_after(&pc, (uint64_t)rate * 1024 * ms, now, &r);
        if (r.throttle > PRECOPY_THROTTLE_MAX) abort();
        if (pc.round > p->max_rounds && a == PRECOPY_CONTINUE) abort();
        if (memchr(r.why, '\0', sizeof(r.why)) == NULL) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct precopy_params p, p2;
    struct precopy_report r, r2;
    char *buf, out[PRECOPY_REPORT_TEXT_MAX];
    const char *rep, *rounds;
    size_t plen, rlen;

    buf = malloc(size + 2);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    plen = strlen(buf);
    rep = buf + plen + (plen < size);
    rlen = strlen(rep);
    rounds = rep + rlen + (rep + rlen < buf + size);

    if (!precopy_params_parse(buf, &p)) {
        if (precopy_params_format(&p, out, sizeof(out)) ||
            precopy_params_parse(out, &p2) || memcmp(&p, &p2, sizeof(p)))
            abort();
        if (rounds < buf + size)
            fuzz_rounds(&p, (const uint8_t *)rounds,
                        (size_t)(buf + size - rounds));
    }
    if (!precopy_report_parse(rep, &r)) {
        if (precopy_report_format(&r, out, sizeof(out)) ||
            precopy_report_parse(out, &r2) || r.round != r2.round ||
            r.dirty_pages != r2.dirty_pages || r.throttle != r2.throttle ||
            r.action != r2.action || strcmp(r.why, r2.why))
            abort();
    }
    free(buf);
    return 0;
}
