/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mkstream.c - writes synthetic migration streams made with stream.c's
 * encoder (and xl save files, with proto.c's) for test-stream-info.sh:
 *
 *   mkstream KIND FILE
 *
 * KIND is pv, hvm (with emulator records) or pvh (an HVM-type stream
 * without them), each optionally prefixed with save- for an xl save file
 * whose config names the domain si-TYPE, or save-odd: a PVH save file
 * whose domain name needs escaping. Every stream holds the same memory:
 * 1283 pfns, 1271 of them with data, in 3 PAGE_DATA records and 2 rounds.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "proto.h"
#include "stream.h"

#define MKSTREAM_MAX        (16u << 20)
#define MKSTREAM_XTAB_EVERY 100     /* pfn % 100 == 99 carries no data */

#define MKSTREAM_PFN(type, pfn) \
    ((uint64_t)(type) << STREAM_PFN_TYPE_SHIFT | (uint64_t)(pfn))

static const uint8_t mkstream_blob[64];

static void mkstream_check(int rc, const char *what)
{
    if (!rc) return;
    fprintf(stderr, "mkstream: %s: %s\n", what, xlmig_strerror(rc));
    exit(1);
}

static void mkstream_libxc(struct buf *b, uint32_t type, uint32_t len)
{
    mkstream_check(stream_put_libxc_rec(b, type, len ? mkstream_blob : NULL,
                                        len), "libxc record");
}

/* PAGE_DATA for pfns first..first+count-1 (XTAB every 100th). */
static void mkstream_pages(struct buf *b, uint64_t first, uint32_t count)
{
    uint64_t *pfns = xcalloc(count, sizeof(*pfns));
    uint8_t *pages = xcalloc(count, STREAM_PAGE_SIZE);
    uint32_t i;

    for (i = 0; i < count; i++) {
        pfns[i] = first + i;
        if ((first + i) % MKSTREAM_XTAB_EVERY == MKSTREAM_XTAB_EVERY - 1)
            pfns[i] = MKSTREAM_PFN(STREAM_PFN_TYPE_XTAB, first + i);
        memset(pages + (size_t)i * STREAM_PAGE_SIZE, (int)(i & 0xff),
               STREAM_PAGE_SIZE);
    }
    mkstream_check(stream_put_page_data(b, pfns, count, pages), "pages");
    free(pfns);
    free(pages);
}

/* Rounds: 0..1023 and 1024..1279, then 5..7: 2 rounds, 3 records. */
static void mkstream_memory(struct buf *b)
{
    mkstream_pages(b, 0, STREAM_BATCH_MAX);
    mkstream_pages(b, STREAM_BATCH_MAX, 256);
    mkstream_pages(b, 5, 3);
}

static void mkstream_stream(struct buf *b, bool pv, bool emulator)
{
    mkstream_check(stream_put_libxl_hdr(b), "libxl header");
    mkstream_check(stream_put_libxl_rec(b, STREAM_LIBXL_LIBXC_CONTEXT, NULL,
                                        0), "LIBXC_CONTEXT");
    mkstream_check(stream_put_libxc_hdrs(b, pv ? STREAM_DHDR_TYPE_X86_PV :
                                         STREAM_DHDR_TYPE_X86_HVM, 4, 17),
                   "libxc headers");
    if (pv) mkstream_libxc(b, STREAM_LIBXC_X86_PV_INFO, 8);
    mkstream_libxc(b, STREAM_LIBXC_X86_CPUID_POLICY, 48);
    mkstream_libxc(b, STREAM_LIBXC_X86_MSR_POLICY, 16);
    mkstream_libxc(b, STREAM_LIBXC_STATIC_DATA_END, 0);
    if (pv) mkstream_libxc(b, STREAM_LIBXC_X86_PV_P2M_FRAMES, 24);
    mkstream_memory(b);
    mkstream_libxc(b, STREAM_LIBXC_X86_TSC_INFO, 24);
    if (pv) {
        mkstream_libxc(b, STREAM_LIBXC_SHARED_INFO, 64);
        mkstream_libxc(b, STREAM_LIBXC_X86_PV_VCPU_BASIC, 32);
        mkstream_libxc(b, STREAM_LIBXC_X86_PV_VCPU_EXTENDED, 16);
    } else {
        mkstream_libxc(b, STREAM_LIBXC_HVM_CONTEXT, 37);
        mkstream_libxc(b, STREAM_LIBXC_HVM_PARAMS, 40);
    }
    mkstream_libxc(b, STREAM_LIBXC_END, 0);
    if (emulator) {
        mkstream_check(stream_put_libxl_rec(b,
                           STREAM_LIBXL_EMULATOR_XENSTORE_DATA,
                           mkstream_blob, 21), "emulator xenstore data");
        mkstream_check(stream_put_libxl_rec(b, STREAM_LIBXL_EMULATOR_CONTEXT,
                                            mkstream_blob, 58),
                       "emulator context");
    }
    mkstream_check(stream_put_libxl_rec(b, STREAM_LIBXL_END, NULL, 0),
                   "libxl END");
}

static void mkstream_save(struct buf *b, const char *type, bool odd)
{
    char *json;

    if (odd)
        json = xasprintf("{\"c_info\": {\"type\": \"%s\", \"name\": "
                         "\"gu\\u00e9\\\"st\\u0001\\\\\"}}", type);
    else
        json = xasprintf("{\"c_info\": {\"type\": \"%s\", \"name\": "
                         "\"si-%s\"}, \"b_info\": {\"target_memkb\": "
                         "131072, \"max_memkb\": 131072}}", type, type);
    mkstream_check(proto_put_save(b, json), "save header");
    free(json);
}

int main(int argc, char **argv)
{
    struct buf *b = buf_new(MKSTREAM_MAX);
    const char *kind;
    bool save;
    FILE *f;

    if (argc != 3) {
        fprintf(stderr, "usage: mkstream KIND FILE\n");
        return 2;
    }
    kind = argv[1];
    save = !strncmp(kind, "save-", 5);
    if (save) kind += 5;
    if (save && !strcmp(kind, "odd")) {
        mkstream_save(b, "pvh", true);
        kind = "pvh";
    } else if (save) {
        mkstream_save(b, kind, false);
    }
    if (!strcmp(kind, "pv"))
        mkstream_stream(b, true, false);
    else if (!strcmp(kind, "hvm"))
        mkstream_stream(b, false, true);
    else if (!strcmp(kind, "pvh"))
        mkstream_stream(b, false, false);
    else {
        fprintf(stderr, "mkstream: unknown kind %s\n", argv[1]);
        return 2;
    }
    f = fopen(argv[2], "wb");
    if (!f || fwrite(buf_ptr(b), 1, buf_len(b), f) != buf_len(b) ||
        fclose(f)) {
        perror(argv[2]);
        return 1;
    }
    buf_free(b);
    return 0;
}
