/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stream.c - incremental parser and encoder for the libxl v2 / libxc v3
 * migration stream (stream.h). The parser checks framing, record order and
 * PAGE_DATA geometry as libxl and libxc's restorer do, counts what passes,
 * and never copies page data: only headers and pfn entries are accumulated.
 * It knows nothing of fds; the pump feeds it what it forwards.
 *
 * States (s->state) and the function that leaves each:
 *
 *   LIBXL_HDR   stream_libxl_hdr()   -> LIBXL_REC
 *   LIBXL_REC   stream_libxl_rec()   -> LIBXC_IHDR (LIBXC_CONTEXT)
 *                                     | DONE (END) | BODY | PAD | LIBXL_REC
 *   LIBXC_IHDR  stream_libxc_ihdr()  -> LIBXC_DHDR
 *   LIBXC_DHDR  stream_libxc_dhdr()  -> LIBXC_REC
 *   LIBXC_REC   stream_libxc_rec()   -> LIBXL_REC (libxc END)
 *                                     | PAGE_HDR | BODY | PAD | LIBXC_REC
 *   PAGE_HDR    stream_page_hdr()    -> PAGE_PFN
 *   PAGE_PFN    stream_page_pfn()    -> PAGE_PFN | BODY (page data) | PAD
 *                                     | LIBXC_REC
 *   BODY        stream_feed()        -> PAD | LIBXL_REC | LIBXC_REC
 *   PAD         stream_pad()         -> LIBXL_REC | LIBXC_REC (s->libxc)
 *
 * Invariants: st.bytes is the absolute offset of the next byte; in an
 * accumulating state acc holds acc_len < stream_acc_need[state] bytes; a
 * record whose body and padding are empty is left at once, so BODY and PAD
 * always have left > 0; once rc is set nothing changes; DONE consumes
 * nothing. All checks happen at fixed stream positions, so every chunking
 * of the same bytes gives the same result.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stream.h"

#define STREAM_REC_HDR_LEN      8       /* u32 type, u32 length */
#define STREAM_PAGE_HDR_LEN     8       /* u32 count, u32 reserved */
#define STREAM_PFN_LEN          8
#define STREAM_EMU_HDR_LEN      8       /* u32 emulator id, u32 index */
#define STREAM_PAGE_SHIFT       12
#define STREAM_LIBXC_VERSION_MIN    2   /* v2 lacks STATIC_DATA_END */
#define STREAM_ACC_MAX          STREAM_LIBXC_IHDR_LEN
#define STREAM_WHY_MAX          256     /* longest reason, before offset */
#define STREAM_LABEL_MAX        64

enum stream_state {
    STREAM_ST_LIBXL_HDR,
    STREAM_ST_LIBXL_REC,
    STREAM_ST_LIBXC_IHDR,
    STREAM_ST_LIBXC_DHDR,
    STREAM_ST_LIBXC_REC,
    STREAM_ST_PAGE_HDR,
    STREAM_ST_PAGE_PFN,
    STREAM_ST_BODY,             /* skipping left bytes of a body */
    STREAM_ST_PAD,              /* checking left bytes of zero padding */
    STREAM_ST_DONE,
};

/* Bytes each accumulating state collects before its handler runs. */
static const uint8_t stream_acc_need[] = {
    [STREAM_ST_LIBXL_HDR] = STREAM_LIBXL_HDR_LEN,
    [STREAM_ST_LIBXL_REC] = STREAM_REC_HDR_LEN,
    [STREAM_ST_LIBXC_IHDR] = STREAM_LIBXC_IHDR_LEN,
    [STREAM_ST_LIBXC_DHDR] = STREAM_LIBXC_DHDR_LEN,
    [STREAM_ST_LIBXC_REC] = STREAM_REC_HDR_LEN,
    [STREAM_ST_PAGE_HDR] = STREAM_PAGE_HDR_LEN,
    [STREAM_ST_PAGE_PFN] = STREAM_PFN_LEN,
};

/* What a record type allows (rec flags). */
#define STREAM_RF_EMPTY         (1u << 0)   /* body must be empty */
#define STREAM_RF_PV            (1u << 1)   /* only in x86 PV streams */
#define STREAM_RF_HVM           (1u << 2)   /* only in x86 HVM streams */
#define STREAM_RF_CHECKPOINT    (1u << 3)   /* Remus/COLO only: refused */
#define STREAM_RF_EMULATOR      (1u << 4)   /* body has an emulator hdr */

struct stream_rec_info {
    const char *name;
    unsigned flags;
};

static const struct stream_rec_info stream_libxl_recs[] = {
    [STREAM_LIBXL_END] = { "END", STREAM_RF_EMPTY },
    [STREAM_LIBXL_LIBXC_CONTEXT] = { "LIBXC_CONTEXT", STREAM_RF_EMPTY },
    [STREAM_LIBXL_EMULATOR_XENSTORE_DATA] =
        { "EMULATOR_XENSTORE_DATA", STREAM_RF_EMULATOR },
    [STREAM_LIBXL_EMULATOR_CONTEXT] =
        { "EMULATOR_CONTEXT", STREAM_RF_EMULATOR },
    [STREAM_LIBXL_CHECKPOINT_END] =
        { "CHECKPOINT_END", STREAM_RF_CHECKPOINT },
    [STREAM_LIBXL_CHECKPOINT_STATE] =
        { "CHECKPOINT_STATE", STREAM_RF_CHECKPOINT },
};

/*
 * PV-only and HVM-only records are those the other guest type's restore
 * handler leaves unprocessed, which libxc then refuses as mandatory.
 */
static const struct stream_rec_info stream_libxc_recs[] = {
    [STREAM_LIBXC_END] = { "END", STREAM_RF_EMPTY },
    [STREAM_LIBXC_PAGE_DATA] = { "PAGE_DATA", 0 },
    [STREAM_LIBXC_X86_PV_INFO] = { "X86_PV_INFO", STREAM_RF_PV },
    [STREAM_LIBXC_X86_PV_P2M_FRAMES] =
        { "X86_PV_P2M_FRAMES", STREAM_RF_PV },
    [STREAM_LIBXC_X86_PV_VCPU_BASIC] =
        { "X86_PV_VCPU_BASIC", STREAM_RF_PV },
    [STREAM_LIBXC_X86_PV_VCPU_EXTENDED] =
        { "X86_PV_VCPU_EXTENDED", STREAM_RF_PV },
    [STREAM_LIBXC_X86_PV_VCPU_XSAVE] =
        { "X86_PV_VCPU_XSAVE", STREAM_RF_PV },
    [STREAM_LIBXC_SHARED_INFO] = { "SHARED_INFO", STREAM_RF_PV },
    [STREAM_LIBXC_X86_TSC_INFO] = { "X86_TSC_INFO", 0 },
    [STREAM_LIBXC_HVM_CONTEXT] = { "HVM_CONTEXT", STREAM_RF_HVM },
    [STREAM_LIBXC_HVM_PARAMS] = { "HVM_PARAMS", STREAM_RF_HVM },
    [STREAM_LIBXC_TOOLSTACK] = { "TOOLSTACK", 0 },
    [STREAM_LIBXC_X86_PV_VCPU_MSRS] =
        { "X86_PV_VCPU_MSRS", STREAM_RF_PV },
    [STREAM_LIBXC_VERIFY] = { "VERIFY", STREAM_RF_EMPTY },
    [STREAM_LIBXC_CHECKPOINT] =
        { "CHECKPOINT", STREAM_RF_EMPTY | STREAM_RF_CHECKPOINT },
    [STREAM_LIBXC_CHECKPOINT_DIRTY_PFN_LIST] =
        { "CHECKPOINT_DIRTY_PFN_LIST", STREAM_RF_CHECKPOINT },
    [STREAM_LIBXC_STATIC_DATA_END] =
        { "STATIC_DATA_END", STREAM_RF_EMPTY },
    [STREAM_LIBXC_X86_CPUID_POLICY] = { "X86_CPUID_POLICY", 0 },
    [STREAM_LIBXC_X86_MSR_POLICY] = { "X86_MSR_POLICY", 0 },
};

struct stream {
    stream_event_fn *fn;
    void *arg;
    enum stream_state state;
    int rc;                     /* first error, sticky */
    char *err;                  /* "offset N: reason" */
    uint8_t acc[STREAM_ACC_MAX];
    size_t acc_len;
    bool libxc;                 /* records are libxc ones */
    bool libxc_seen;            /* LIBXC_CONTEXT accepted */
    unsigned libxc_version;
    bool static_end;            /* PAGE_DATA may come (libxc restore) */
    bool in_page;               /* inside a PAGE_DATA record */
    uint64_t rec_off;           /* where the current record starts */
    uint32_t rec_type, rec_len;
    uint64_t left;              /* BODY or PAD bytes still to come */
    uint32_t pg_count, pg_index, pg_data;   /* PAGE_DATA being read */
    uint64_t pg_first, pg_cur_last;
    bool pg_seen;               /* a PAGE_DATA pfn list was accepted */
    uint64_t pg_last;           /* last pfn of the previous PAGE_DATA */
    struct stream_stats st;
};

static int stream_fail(struct stream *s, int rc, uint64_t off,
                       const char *fmt, ...) PRINTF_LIKE(4, 5);

static int stream_fail(struct stream *s, int rc, uint64_t off,
                       const char *fmt, ...)
{
    char why[STREAM_WHY_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    s->rc = rc;
    s->err = xasprintf("offset %" PRIu64 ": %s", off, why);
    return rc;
}

static void stream_event(struct stream *s, enum stream_event ev)
{
    if (s->fn) s->fn(s->arg, ev, &s->st);
}

static const struct stream_rec_info *stream_info(uint32_t type, bool libxc)
{
    if (libxc)
        return type < ARRAY_SIZE(stream_libxc_recs) ?
               &stream_libxc_recs[type] : NULL;
    return type < ARRAY_SIZE(stream_libxl_recs) ?
           &stream_libxl_recs[type] : NULL;
}

const char *stream_libxl_rec_name(uint32_t type)
{
    const struct stream_rec_info *ri = stream_info(type, false);

    return ri ? ri->name : "unknown";
}

const char *stream_libxc_rec_name(uint32_t type)
{
    const struct stream_rec_info *ri = stream_info(type, true);

    return ri ? ri->name : "unknown";
}

/* "libxc PAGE_DATA record" or "libxc record 0x80000123". */
static void stream_label(const struct stream *s, char *out, size_t size)
{
    const struct stream_rec_info *ri = stream_info(s->rec_type, s->libxc);
    const char *level = s->libxc ? "libxc" : "libxl";

    if (ri)
        snprintf(out, size, "%s %s record", level, ri->name);
    else
        snprintf(out, size, "%s record %#010" PRIx32, level, s->rec_type);
}

/* Offset of the item that the accumulator has just completed. */
static uint64_t stream_acc_off(const struct stream *s)
{
    return s->st.bytes - s->acc_len;
}

static size_t stream_min(uint64_t left, size_t avail)
{
    return left < avail ? (size_t)left : avail;
}

static uint32_t stream_pad_len(uint32_t len)
{
    return (STREAM_REC_ALIGN - len % STREAM_REC_ALIGN) % STREAM_REC_ALIGN;
}

static void stream_enter(struct stream *s, enum stream_state state)
{
    s->state = state;
    s->acc_len = 0;
}

static void stream_rec_done(struct stream *s)
{
    s->in_page = false;
    stream_enter(s, s->libxc ? STREAM_ST_LIBXC_REC : STREAM_ST_LIBXL_REC);
}

static void stream_enter_pad(struct stream *s)
{
    s->left = stream_pad_len(s->rec_len);
    if (s->left)
        stream_enter(s, STREAM_ST_PAD);
    else
        stream_rec_done(s);
}

/* Skips len more body bytes of the current record, then its padding. */
static void stream_enter_body(struct stream *s, uint64_t len)
{
    s->left = len;
    if (s->left)
        stream_enter(s, STREAM_ST_BODY);
    else
        stream_enter_pad(s);
}

/* Checks of a record header common to both levels; ri NULL: unknown. */
static int stream_rec_check(struct stream *s, const struct stream_rec_info *ri,
                            uint32_t max)
{
    char what[STREAM_LABEL_MAX];
    unsigned flags = ri ? ri->flags : 0;

    stream_label(s, what, sizeof(what));
    if (!ri && !(s->rec_type & STREAM_REC_OPTIONAL))
        return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                           "unknown mandatory %s", what);
    if (flags & STREAM_RF_CHECKPOINT)
        return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                           "%s: checkpointed streams are not supported",
                           what);
    if (s->rec_len > max)
        return stream_fail(s, XLMIG_E_TOOBIG, s->rec_off,
                           "%s of %" PRIu32 " bytes is over the limit of %"
                           PRIu32, what, s->rec_len, max);
    if ((flags & STREAM_RF_EMPTY) && s->rec_len)
        return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                           "%s of %" PRIu32 " bytes should be empty",
                           what, s->rec_len);
    if ((flags & STREAM_RF_EMULATOR) && s->rec_len < STREAM_EMU_HDR_LEN)
        return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                           "%s of %" PRIu32 " bytes is too short for its "
                           "emulator header", what, s->rec_len);
    if ((flags & STREAM_RF_PV) && s->st.guest_type != STREAM_DHDR_TYPE_X86_PV)
        return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                           "%s in an x86 HVM stream", what);
    if ((flags & STREAM_RF_HVM) &&
        s->st.guest_type != STREAM_DHDR_TYPE_X86_HVM)
        return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                           "%s in an x86 PV stream", what);
    return XLMIG_OK;
}

static int stream_libxl_hdr(struct stream *s)
{
    uint64_t ident = buf_load_be64(s->acc);
    uint32_t version = buf_load_be32(s->acc + 8);
    uint32_t options = buf_load_be32(s->acc + 12);
    uint64_t off = stream_acc_off(s);

    if (ident != STREAM_LIBXL_IDENT)
        return stream_fail(s, XLMIG_E_PROTO, off,
                           "bad libxl stream ident %#018" PRIx64, ident);
    if (version != STREAM_LIBXL_VERSION)
        return stream_fail(s, XLMIG_E_PROTO, off,
                           "unsupported libxl stream version %" PRIu32
                           " (want %u)", version, STREAM_LIBXL_VERSION);
    if (options & STREAM_LIBXL_OPT_BIGENDIAN)
        return stream_fail(s, XLMIG_E_PROTO, off,
                           "big-endian libxl streams are not supported");
    stream_enter(s, STREAM_ST_LIBXL_REC);
    return XLMIG_OK;
}

static int stream_libxl_rec(struct stream *s)
{
    const struct stream_rec_info *ri;
    int rc;

    s->rec_off = stream_acc_off(s);
    s->rec_type = buf_load_le32(s->acc);
    s->rec_len = buf_load_le32(s->acc + 4);
    ri = stream_info(s->rec_type, false);
    rc = stream_rec_check(s, ri, STREAM_LIBXL_REC_MAX);
    if (rc) return rc;

    switch (s->rec_type) {
    case STREAM_LIBXL_END:
        if (!s->libxc_seen)
            return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                               "libxl END record before the libxc stream");
        break;
    case STREAM_LIBXL_LIBXC_CONTEXT:
        if (s->libxc_seen)
            return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                               "second libxl LIBXC_CONTEXT record");
        break;
    }
    s->st.libxl_recs[ri ? s->rec_type : STREAM_LIBXL_NR_TYPES]++;

    switch (s->rec_type) {
    case STREAM_LIBXL_END:
        s->st.done = true;
        stream_enter(s, STREAM_ST_DONE);
        stream_event(s, STREAM_EV_END);
        break;
    case STREAM_LIBXL_LIBXC_CONTEXT:
        s->libxc_seen = true;
        s->libxc = true;
        stream_enter(s, STREAM_ST_LIBXC_IHDR);
        break;
    default:
        stream_enter_body(s, s->rec_len);
        break;
    }
    return XLMIG_OK;
}

static int stream_libxc_ihdr(struct stream *s)
{
    uint64_t marker = buf_load_be64(s->acc);
    uint32_t id = buf_load_be32(s->acc + 8);
    uint32_t version = buf_load_be32(s->acc + 12);
    uint16_t options = buf_load_be16(s->acc + 16);
    uint64_t off = stream_acc_off(s);

    if (marker != STREAM_LIBXC_MARKER)
        return stream_fail(s, XLMIG_E_PROTO, off,
                           "bad libxc image header marker %#018" PRIx64,
                           marker);
    if (id != STREAM_LIBXC_ID)
        return stream_fail(s, XLMIG_E_PROTO, off,
                           "bad libxc image header id %#010" PRIx32, id);
    if (version < STREAM_LIBXC_VERSION_MIN || version > STREAM_LIBXC_VERSION)
        return stream_fail(s, XLMIG_E_PROTO, off,
                           "unsupported libxc stream version %" PRIu32
                           " (want %u or %u)", version,
                           STREAM_LIBXC_VERSION_MIN, STREAM_LIBXC_VERSION);
    if (options & STREAM_LIBXC_OPT_BIGENDIAN)
        return stream_fail(s, XLMIG_E_PROTO, off,
                           "big-endian libxc streams are not supported");
    s->libxc_version = version;
    /* A v2 stream has no STATIC_DATA_END: libxc infers it (restore.c). */
    s->static_end = version < STREAM_LIBXC_VERSION;
    stream_enter(s, STREAM_ST_LIBXC_DHDR);
    return XLMIG_OK;
}

static int stream_libxc_dhdr(struct stream *s)
{
    uint32_t type = buf_load_le32(s->acc);
    unsigned page_shift = (unsigned)(s->acc[4] | s->acc[5] << 8);
    uint64_t off = stream_acc_off(s);

    if (type != STREAM_DHDR_TYPE_X86_PV && type != STREAM_DHDR_TYPE_X86_HVM)
        return stream_fail(s, XLMIG_E_PROTO, off,
                           "unsupported libxc domain type %" PRIu32
                           " (want x86 PV %u or HVM %u)", type,
                           STREAM_DHDR_TYPE_X86_PV, STREAM_DHDR_TYPE_X86_HVM);
    if (page_shift != STREAM_PAGE_SHIFT)
        return stream_fail(s, XLMIG_E_PROTO, off,
                           "unsupported page shift %u (want %u)",
                           page_shift, STREAM_PAGE_SHIFT);
    s->st.guest_type = type;
    s->st.xen_major = buf_load_le32(s->acc + 8);
    s->st.xen_minor = buf_load_le32(s->acc + 12);
    stream_enter(s, STREAM_ST_LIBXC_REC);
    return XLMIG_OK;
}

static int stream_libxc_rec(struct stream *s)
{
    const struct stream_rec_info *ri;
    int rc;

    s->rec_off = stream_acc_off(s);
    s->rec_type = buf_load_le32(s->acc);
    s->rec_len = buf_load_le32(s->acc + 4);
    ri = stream_info(s->rec_type, true);
    rc = stream_rec_check(s, ri, STREAM_LIBXC_REC_MAX);
    if (rc) return rc;

    if (s->rec_type == STREAM_LIBXC_PAGE_DATA) {
        if (!s->static_end)
            return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                               "libxc PAGE_DATA record before "
                               "STATIC_DATA_END");
        if (s->rec_len < STREAM_PAGE_HDR_LEN)
            return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                               "libxc PAGE_DATA record of %" PRIu32
                               " bytes is too short for its header",
                               s->rec_len);
    }
    s->st.libxc_recs[ri ? s->rec_type : STREAM_LIBXC_NR_TYPES]++;
    if (s->rec_type != STREAM_LIBXC_PAGE_DATA && s->pg_seen &&
        !s->st.end_of_memory) {
        s->st.end_of_memory = true;
        stream_event(s, STREAM_EV_END_OF_MEMORY);
    }

    switch (s->rec_type) {
    case STREAM_LIBXC_END:
        s->libxc = false;
        stream_enter(s, STREAM_ST_LIBXL_REC);
        stream_event(s, STREAM_EV_LIBXC_END);
        break;
    case STREAM_LIBXC_PAGE_DATA:
        s->in_page = true;
        s->st.page_bytes += STREAM_REC_HDR_LEN;
        stream_enter(s, STREAM_ST_PAGE_HDR);
        break;
    case STREAM_LIBXC_STATIC_DATA_END:
        s->static_end = true;
        stream_enter_body(s, 0);
        break;
    default:
        stream_enter_body(s, s->rec_len);
        break;
    }
    return XLMIG_OK;
}

static int stream_page_hdr(struct stream *s)
{
    uint32_t count = buf_load_le32(s->acc);

    if (count < 1)
        return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                           "libxc PAGE_DATA record has no pfns");
    if (count > (s->rec_len - STREAM_PAGE_HDR_LEN) / STREAM_PFN_LEN)
        return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                           "libxc PAGE_DATA record of %" PRIu32
                           " bytes with %" PRIu32 " pfns is too short",
                           s->rec_len, count);
    s->pg_count = count;
    s->pg_index = 0;
    s->pg_data = 0;
    stream_enter(s, STREAM_ST_PAGE_PFN);
    return XLMIG_OK;
}

/* XEN_DOMCTL_PFINFO_* types libxc's restorer knows (is_known_page_type). */
static bool stream_page_type_known(unsigned type)
{
    switch (type) {
    case 0x0:                   /* NOTAB */
    case 0x1: case 0x2: case 0x3: case 0x4:     /* L1TAB .. L4TAB */
    case 0x9: case 0xa: case 0xb: case 0xc:     /* the same, pinned */
    case STREAM_PFN_TYPE_BROKEN:
    case STREAM_PFN_TYPE_XALLOC:
    case STREAM_PFN_TYPE_XTAB:
        return true;
    default:
        return false;
    }
}

static bool stream_page_type_has_data(unsigned type)
{
    return type != STREAM_PFN_TYPE_BROKEN && type != STREAM_PFN_TYPE_XALLOC &&
           type != STREAM_PFN_TYPE_XTAB;
}

/*
 * The pfn list is complete: the record length must now be exact, as the
 * restorer requires. Round heuristic (libxl-api.md 3.5): pfns ascend within
 * a round, so a record starting at or below the previous record's last pfn
 * begins a new one. ROUND is reported before this record is counted.
 */
static int stream_page_done(struct stream *s)
{
    uint64_t want = STREAM_PAGE_HDR_LEN +
                    (uint64_t)s->pg_count * STREAM_PFN_LEN +
                    (uint64_t)s->pg_data * STREAM_PAGE_SIZE;

    if (s->rec_len != want)
        return stream_fail(s, XLMIG_E_PROTO, s->rec_off,
                           "libxc PAGE_DATA record of %" PRIu32
                           " bytes with %" PRIu32 " pfns (%" PRIu32
                           " with data) should be %" PRIu64 " bytes",
                           s->rec_len, s->pg_count, s->pg_data, want);
    if (!s->pg_seen || s->pg_first <= s->pg_last) {
        s->st.rounds++;
        s->st.last_round_pages = s->st.round_pages;
        s->st.round_pages = 0;
        stream_event(s, STREAM_EV_ROUND);
    }
    s->pg_seen = true;
    s->pg_last = s->pg_cur_last;
    s->st.pfns += s->pg_count;
    s->st.pages += s->pg_data;
    s->st.round_pages += s->pg_data;
    stream_enter_body(s, (uint64_t)s->pg_data * STREAM_PAGE_SIZE);
    return XLMIG_OK;
}

static int stream_page_pfn(struct stream *s)
{
    uint64_t ent = buf_load_le64(s->acc);
    uint64_t pfn = ent & STREAM_PFN_MASK;
    unsigned type = (unsigned)(ent >> STREAM_PFN_TYPE_SHIFT);

    if (!stream_page_type_known(type))
        return stream_fail(s, XLMIG_E_PROTO, stream_acc_off(s),
                           "pfn %#" PRIx64 " in libxc PAGE_DATA record at "
                           "offset %" PRIu64 " has unknown page type %#x",
                           pfn, s->rec_off, type);
    if (stream_page_type_has_data(type)) s->pg_data++;
    if (s->pg_index == 0) s->pg_first = pfn;
    s->pg_cur_last = pfn;
    s->pg_index++;
    if (s->pg_index < s->pg_count) {
        stream_enter(s, STREAM_ST_PAGE_PFN);
        return XLMIG_OK;
    }
    return stream_page_done(s);
}

static int stream_acc_done(struct stream *s)
{
    switch (s->state) {
    case STREAM_ST_LIBXL_HDR: return stream_libxl_hdr(s);
    case STREAM_ST_LIBXL_REC: return stream_libxl_rec(s);
    case STREAM_ST_LIBXC_IHDR: return stream_libxc_ihdr(s);
    case STREAM_ST_LIBXC_DHDR: return stream_libxc_dhdr(s);
    case STREAM_ST_LIBXC_REC: return stream_libxc_rec(s);
    case STREAM_ST_PAGE_HDR: return stream_page_hdr(s);
    case STREAM_ST_PAGE_PFN: return stream_page_pfn(s);
    case STREAM_ST_BODY:
    case STREAM_ST_PAD:
    case STREAM_ST_DONE:
        break;
    }
    abort();
}

static void stream_advance(struct stream *s, size_t n)
{
    s->st.bytes += n;
    if (s->in_page) s->st.page_bytes += n;
}

/* Consumes padding up to its end or the first non-zero byte. */
static int stream_pad(struct stream *s, const uint8_t *p, size_t avail,
                      size_t *used_r)
{
    char what[STREAM_LABEL_MAX];
    size_t n = stream_min(s->left, avail), i;

    for (i = 0; i < n && !p[i]; i++)
        ;
    stream_advance(s, i);
    s->left -= i;
    *used_r = i;
    if (i < n) {
        stream_label(s, what, sizeof(what));
        return stream_fail(s, XLMIG_E_PROTO, s->st.bytes,
                           "non-zero padding byte %#x after %s at offset %"
                           PRIu64, p[i], what, s->rec_off);
    }
    if (!s->left) stream_rec_done(s);
    return XLMIG_OK;
}

/* Passes n (<= left) body bytes, which are never looked at. */
static void stream_body_skip(struct stream *s, size_t n)
{
    stream_advance(s, n);
    s->left -= n;
    if (!s->left) stream_enter_pad(s);
}

size_t stream_page_body_left(const struct stream *s)
{
    return s->in_page ? stream_body_left(s) : 0;
}

size_t stream_body_left(const struct stream *s)
{
    if (s->rc || s->state != STREAM_ST_BODY) return 0;
    return s->left > SIZE_MAX ? SIZE_MAX : (size_t)s->left;
}

int stream_skip(struct stream *s, size_t n)
{
    if (s->rc) return s->rc;
    if (n > stream_body_left(s)) return XLMIG_E_INTERNAL;
    stream_body_skip(s, n);
    return XLMIG_OK;
}

struct stream *stream_new(stream_event_fn *fn, void *arg)
{
    struct stream *s = xcalloc(1, sizeof(*s));

    s->fn = fn;
    s->arg = arg;
    stream_enter(s, STREAM_ST_LIBXL_HDR);
    return s;
}

void stream_set_offset(struct stream *s, uint64_t off)
{
    s->st.bytes = off;
}

void stream_free(struct stream *s)
{
    if (!s) return;
    free(s->err);
    free(s);
}

int stream_feed(struct stream *s, const void *data, size_t len,
                size_t *used_r)
{
    const uint8_t *p = data;
    size_t pos = 0, n, need;
    int rc = XLMIG_OK;

    *used_r = 0;
    if (s->rc) return s->rc;
    while (pos < len && s->state != STREAM_ST_DONE) {
        switch (s->state) {
        case STREAM_ST_BODY:
            n = stream_min(s->left, len - pos);
            stream_body_skip(s, n);
            break;
        case STREAM_ST_PAD:
            rc = stream_pad(s, p + pos, len - pos, &n);
            break;
        default:
            need = stream_acc_need[s->state];
            n = stream_min(need - s->acc_len, len - pos);
            memcpy(s->acc + s->acc_len, p + pos, n);
            s->acc_len += n;
            stream_advance(s, n);
            if (s->acc_len == need) rc = stream_acc_done(s);
            break;
        }
        pos += n;
        if (rc) break;
    }
    *used_r = pos;
    return rc;
}

int stream_finish(struct stream *s)
{
    char what[STREAM_LABEL_MAX];
    uint64_t off = s->st.bytes;

    if (s->rc) return s->rc;
    switch (s->state) {
    case STREAM_ST_DONE:
        return XLMIG_OK;
    case STREAM_ST_LIBXL_HDR:
        return stream_fail(s, XLMIG_E_TRUNC, off,
                           "stream ends inside the libxl header");
    case STREAM_ST_LIBXC_IHDR:
        return stream_fail(s, XLMIG_E_TRUNC, off,
                           "stream ends inside the libxc image header");
    case STREAM_ST_LIBXC_DHDR:
        return stream_fail(s, XLMIG_E_TRUNC, off,
                           "stream ends inside the libxc domain header");
    case STREAM_ST_LIBXL_REC:
    case STREAM_ST_LIBXC_REC:
        if (s->acc_len)
            return stream_fail(s, XLMIG_E_TRUNC, off,
                               "stream ends inside a %s record header",
                               s->libxc ? "libxc" : "libxl");
        return stream_fail(s, XLMIG_E_TRUNC, off,
                           "stream ends before the %s END record",
                           s->libxc ? "libxc" : "libxl");
    case STREAM_ST_PAGE_HDR:
    case STREAM_ST_PAGE_PFN:
    case STREAM_ST_BODY:
    case STREAM_ST_PAD:
        break;
    }
    stream_label(s, what, sizeof(what));
    return stream_fail(s, XLMIG_E_TRUNC, off,
                       "stream ends inside %s at offset %" PRIu64,
                       what, s->rec_off);
}

size_t stream_want(const struct stream *s)
{
    uint64_t n;

    if (s->rc) return 0;
    switch (s->state) {
    case STREAM_ST_DONE:
        return 0;
    case STREAM_ST_BODY:
    case STREAM_ST_PAD:
        n = s->left;
        break;
    case STREAM_ST_PAGE_PFN:
        /* A pfn list cannot hold the end of the stream: take it whole. */
        n = (uint64_t)(s->pg_count - s->pg_index) * STREAM_PFN_LEN -
            s->acc_len;
        break;
    default:
        n = stream_acc_need[s->state] - s->acc_len;
        break;
    }
    return n > SIZE_MAX ? SIZE_MAX : (size_t)n;
}

bool stream_done(const struct stream *s)
{
    return s->st.done;
}

const struct stream_stats *stream_get_stats(const struct stream *s)
{
    return &s->st;
}

const char *stream_error(const struct stream *s)
{
    return s->err;
}

/*
 * Encoder. Each function checks that the whole item fits before it puts
 * anything, so b is unchanged on failure.
 */

static int stream_put_rec(struct buf *b, uint32_t type, const void *body,
                          uint32_t len, uint32_t max)
{
    static const uint8_t zeroes[STREAM_REC_ALIGN];
    uint32_t pad;
    size_t need;
    int rc;

    if (len > max) return XLMIG_E_TOOBIG;
    if (len && !body) return XLMIG_E_INVAL;
    pad = stream_pad_len(len);
    need = STREAM_REC_HDR_LEN + (size_t)len + pad;
    if (need > buf_avail(b)) return XLMIG_E_TOOBIG;
    rc = buf_put_le32(b, type);
    if (rc) return rc;
    rc = buf_put_le32(b, len);
    if (rc) return rc;
    if (len) {
        rc = buf_put(b, body, len);
        if (rc) return rc;
    }
    return pad ? buf_put(b, zeroes, pad) : XLMIG_OK;
}

int stream_put_libxl_hdr(struct buf *b)
{
    int rc;

    if (STREAM_LIBXL_HDR_LEN > buf_avail(b)) return XLMIG_E_TOOBIG;
    rc = buf_put_be64(b, STREAM_LIBXL_IDENT);
    if (rc) return rc;
    rc = buf_put_be32(b, STREAM_LIBXL_VERSION);
    if (rc) return rc;
    return buf_put_be32(b, 0);
}

int stream_put_libxl_rec(struct buf *b, uint32_t type, const void *body,
                         uint32_t len)
{
    return stream_put_rec(b, type, body, len, STREAM_LIBXL_REC_MAX);
}

int stream_put_libxc_hdrs(struct buf *b, uint32_t guest_type,
                          uint32_t xen_major, uint32_t xen_minor)
{
    int rc;

    if (STREAM_LIBXC_IHDR_LEN + STREAM_LIBXC_DHDR_LEN > buf_avail(b))
        return XLMIG_E_TOOBIG;
    rc = buf_put_be64(b, STREAM_LIBXC_MARKER);
    if (rc) return rc;
    rc = buf_put_be32(b, STREAM_LIBXC_ID);
    if (rc) return rc;
    rc = buf_put_be32(b, STREAM_LIBXC_VERSION);
    if (rc) return rc;
    rc = buf_put_be16(b, 0);                    /* options */
    if (rc) return rc;
    rc = buf_put_be16(b, 0);                    /* reserved */
    if (rc) return rc;
    rc = buf_put_be32(b, 0);                    /* reserved */
    if (rc) return rc;
    rc = buf_put_le32(b, guest_type);
    if (rc) return rc;
    rc = buf_put_le16(b, STREAM_PAGE_SHIFT);
    if (rc) return rc;
    rc = buf_put_le16(b, 0);                    /* reserved */
    if (rc) return rc;
    rc = buf_put_le32(b, xen_major);
    if (rc) return rc;
    return buf_put_le32(b, xen_minor);
}

int stream_put_libxc_rec(struct buf *b, uint32_t type, const void *body,
                         uint32_t len)
{
    return stream_put_rec(b, type, body, len, STREAM_LIBXC_REC_MAX);
}

int stream_put_page_data(struct buf *b, const uint64_t *pfns, uint32_t count,
                         const void *pages)
{
    uint32_t i, ndata = 0, len;
    size_t need;
    int rc;

    if (count < 1 || count > STREAM_BATCH_MAX || !pfns)
        return XLMIG_E_INVAL;
    for (i = 0; i < count; i++)
        if (stream_page_type_has_data(
                (unsigned)(pfns[i] >> STREAM_PFN_TYPE_SHIFT)))
            ndata++;
    if (ndata && !pages) return XLMIG_E_INVAL;
    len = STREAM_PAGE_HDR_LEN + count * STREAM_PFN_LEN +
          ndata * STREAM_PAGE_SIZE;
    need = STREAM_REC_HDR_LEN + (size_t)len;
    if (need > buf_avail(b)) return XLMIG_E_TOOBIG;
    rc = buf_put_le32(b, STREAM_LIBXC_PAGE_DATA);
    if (rc) return rc;
    rc = buf_put_le32(b, len);
    if (rc) return rc;
    rc = buf_put_le32(b, count);
    if (rc) return rc;
    rc = buf_put_le32(b, 0);                    /* reserved */
    if (rc) return rc;
    for (i = 0; i < count; i++) {
        rc = buf_put_le64(b, pfns[i]);
        if (rc) return rc;
    }
    return ndata ? buf_put(b, pages, (size_t)ndata * STREAM_PAGE_SIZE) :
                   XLMIG_OK;
}
