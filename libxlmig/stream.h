/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stream.h - the libxl v2 / libxc v3 migration stream (docs/specs/
 * libxl-migration-stream.pandoc rev 2, libxc-migration-stream.pandoc rev 3):
 * an incremental parser that is fed arbitrary chunks and never copies page
 * data, and an encoder for the same records. Pure: no I/O, no globals.
 */
#ifndef XLMIG_STREAM_H
#define XLMIG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

struct buf;

/* libxl level (big-endian header, native-endian records). */
#define STREAM_LIBXL_IDENT      0x4c6962786c466d74ULL   /* "LibxlFmt" */
#define STREAM_LIBXL_VERSION    2
#define STREAM_LIBXL_HDR_LEN    16
#define STREAM_LIBXL_OPT_BIGENDIAN  (1u << 0)
#define STREAM_LIBXL_OPT_LEGACY     (1u << 1)

enum stream_libxl_rec {
    STREAM_LIBXL_END = 0,
    STREAM_LIBXL_LIBXC_CONTEXT = 1,
    STREAM_LIBXL_EMULATOR_XENSTORE_DATA = 2,
    STREAM_LIBXL_EMULATOR_CONTEXT = 3,
    STREAM_LIBXL_CHECKPOINT_END = 4,
    STREAM_LIBXL_CHECKPOINT_STATE = 5,
    STREAM_LIBXL_NR_TYPES = 6,
};

/* libxc level. */
#define STREAM_LIBXC_MARKER     0xffffffffffffffffULL
#define STREAM_LIBXC_ID         0x58454e46u             /* "XENF" */
#define STREAM_LIBXC_VERSION    3
#define STREAM_LIBXC_IHDR_LEN   24
#define STREAM_LIBXC_DHDR_LEN   16
#define STREAM_LIBXC_OPT_BIGENDIAN  (1u << 0)
#define STREAM_DHDR_TYPE_X86_PV     1
#define STREAM_DHDR_TYPE_X86_HVM    2       /* also PVH */

enum stream_libxc_rec {
    STREAM_LIBXC_END = 0x00,
    STREAM_LIBXC_PAGE_DATA = 0x01,
    STREAM_LIBXC_X86_PV_INFO = 0x02,
    STREAM_LIBXC_X86_PV_P2M_FRAMES = 0x03,
    STREAM_LIBXC_X86_PV_VCPU_BASIC = 0x04,
    STREAM_LIBXC_X86_PV_VCPU_EXTENDED = 0x05,
    STREAM_LIBXC_X86_PV_VCPU_XSAVE = 0x06,
    STREAM_LIBXC_SHARED_INFO = 0x07,
    STREAM_LIBXC_X86_TSC_INFO = 0x08,
    STREAM_LIBXC_HVM_CONTEXT = 0x09,
    STREAM_LIBXC_HVM_PARAMS = 0x0a,
    STREAM_LIBXC_TOOLSTACK = 0x0b,
    STREAM_LIBXC_X86_PV_VCPU_MSRS = 0x0c,
    STREAM_LIBXC_VERIFY = 0x0d,
    STREAM_LIBXC_CHECKPOINT = 0x0e,
    STREAM_LIBXC_CHECKPOINT_DIRTY_PFN_LIST = 0x0f,
    STREAM_LIBXC_STATIC_DATA_END = 0x10,
    STREAM_LIBXC_X86_CPUID_POLICY = 0x11,
    STREAM_LIBXC_X86_MSR_POLICY = 0x12,
    STREAM_LIBXC_NR_TYPES = 0x13,
};

#define STREAM_REC_OPTIONAL     0x80000000u     /* type bit 31 */
#define STREAM_REC_ALIGN        8
#define STREAM_LIBXC_REC_MAX    (128u << 20)    /* libxc REC_LENGTH_MAX */
#define STREAM_LIBXL_REC_MAX    (128u << 20)
#define STREAM_PAGE_SIZE        4096
#define STREAM_BATCH_MAX        1024            /* pfns per PAGE_DATA */
#define STREAM_PFN_MASK         0x000fffffffffffffULL
#define STREAM_PFN_TYPE_SHIFT   60
/* XEN_DOMCTL_PFINFO_* >> 28: these page types carry no data. */
#define STREAM_PFN_TYPE_BROKEN  0xd
#define STREAM_PFN_TYPE_XALLOC  0xe
#define STREAM_PFN_TYPE_XTAB    0xf

/* What the parser has seen so far. */
struct stream_stats {
    uint64_t bytes;             /* bytes consumed (+ stream_set_offset) */
    uint64_t libxl_recs[STREAM_LIBXL_NR_TYPES + 1];  /* last: unknown */
    uint64_t libxc_recs[STREAM_LIBXC_NR_TYPES + 1];  /* last: unknown */
    uint64_t pfns;              /* pfn entries in PAGE_DATA records */
    uint64_t pages;             /* of which carried 4 KiB of data */
    uint64_t page_bytes;        /* PAGE_DATA record bytes incl. headers */
    unsigned rounds;            /* heuristic round count (libxl-api.md 3.5) */
    uint64_t round_pages;       /* data pages in the current round */
    uint64_t last_round_pages;  /* data pages of the round before it */
    uint32_t guest_type;        /* STREAM_DHDR_TYPE_*, 0 before the dhdr */
    uint32_t xen_major, xen_minor;  /* from the libxc domain header */
    bool end_of_memory;         /* a non-PAGE_DATA record followed pages */
    bool done;                  /* libxl END consumed */
};

/* Events reported through the optional callback, in stream order. */
enum stream_event {
    STREAM_EV_ROUND,            /* a new round of pages began */
    STREAM_EV_END_OF_MEMORY,    /* first record after the page data */
    STREAM_EV_LIBXC_END,        /* libxc END: back at libxl level */
    STREAM_EV_END,              /* libxl END: the stream is complete */
};

typedef void stream_event_fn(void *arg, enum stream_event ev,
                             const struct stream_stats *stats);

struct stream;

/* New parser positioned before the libxl header. */
struct stream *stream_new(stream_event_fn *fn, void *arg);
void stream_free(struct stream *s);         /* NULL is fine */

/*
 * Makes offsets (st.bytes and those in errors) count from off, where the
 * stream starts in its file (after xl's save header, say). Call before the
 * first stream_feed(); the default is 0.
 */
void stream_set_offset(struct stream *s, uint64_t off);

/*
 * Parses len bytes of stream. Consumes up to and including the libxl END
 * record and no further: *used_r < len means the stream ended inside this
 * chunk and the rest belongs to the caller. Returns XLMIG_OK, or on
 * malformed input XLMIG_E_PROTO / XLMIG_E_TOOBIG (and every later call
 * returns the same code); stream_error() then says where and why. Feeding
 * after the END consumes nothing and returns XLMIG_OK.
 */
MUST_CHECK int stream_feed(struct stream *s, const void *data, size_t len,
                           size_t *used_r);

/*
 * To call at EOF: XLMIG_OK if the stream is complete, else XLMIG_E_TRUNC
 * with stream_error() naming what was cut off.
 */
MUST_CHECK int stream_finish(struct stream *s);

/*
 * How many bytes the parser can take before the stream could possibly end
 * (at least 1 until it is done, 0 after): a reader that never reads more
 * than this per call never reads past the libxl END record.
 */
size_t stream_want(const struct stream *s);

/*
 * Bytes of record body (page data, emulator state...) that come next and
 * need not be seen by the parser; 0 when the next bytes must be fed. A
 * caller that moves such bytes itself (splice) accounts for them with
 * stream_skip(), n <= stream_body_left(); XLMIG_E_INTERNAL otherwise.
 */
size_t stream_body_left(const struct stream *s);
MUST_CHECK int stream_skip(struct stream *s, size_t n);
/*
 * stream_body_left() when that body is PAGE_DATA page data (a multiple of
 * STREAM_PAGE_SIZE while it is skipped in such multiples), else 0.
 */
size_t stream_page_body_left(const struct stream *s);

bool stream_done(const struct stream *s);
const struct stream_stats *stream_get_stats(const struct stream *s);
/* "offset N: reason" of the first error, or NULL. Valid while s lives. */
const char *stream_error(const struct stream *s);

/* Record type names for reports ("PAGE_DATA"); never NULL. */
const char *stream_libxl_rec_name(uint32_t type);
const char *stream_libxc_rec_name(uint32_t type);

/*
 * Encoder: appends well-formed headers and records to b (a record body is
 * padded to 8 bytes with zeroes). Return XLMIG_OK or a buf code.
 */
MUST_CHECK int stream_put_libxl_hdr(struct buf *b);
MUST_CHECK int stream_put_libxl_rec(struct buf *b, uint32_t type,
                                    const void *body, uint32_t len);
MUST_CHECK int stream_put_libxc_hdrs(struct buf *b, uint32_t guest_type,
                                     uint32_t xen_major, uint32_t xen_minor);
MUST_CHECK int stream_put_libxc_rec(struct buf *b, uint32_t type,
                                    const void *body, uint32_t len);
/*
 * PAGE_DATA of count (1..STREAM_BATCH_MAX) pfns; pfns[i] carries the type
 * in bits 63-60. pages holds 4 KiB for each pfn whose type carries data,
 * in order.
 */
MUST_CHECK int stream_put_page_data(struct buf *b, const uint64_t *pfns,
                                    uint32_t count, const void *pages);

#endif /* XLMIG_STREAM_H */
