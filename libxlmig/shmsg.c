/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * shmsg.c - libxl's save-helper protocol of Xen 4.17 (see shmsg.h): one
 * table says which arguments each message has, and one encoder and one
 * decoder walk it. The decoder is stricter than libxl's own (which
 * accepts a NUL inside a string): what it accepts, libxl accepts.
 *
 * Not struct buf: this protocol is in the host's byte order and sizes
 * (buf names an order in every call), and decoded strings point into the
 * message instead of being copied.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "shmsg.h"

enum shmsg_kind {
    SHMSG_K_U32,                    /* uint32_t */
    SHMSG_K_UINT,                   /* unsigned */
    SHMSG_K_INT,                    /* int */
    SHMSG_K_ULONG,                  /* unsigned long (and xen_pfn_t) */
    SHMSG_K_STRING,                 /* u32 length with NUL, bytes */
};

struct shmsg_field {
    enum shmsg_kind kind;
    size_t off;                     /* in struct shmsg */
};

#define SHMSG_FIELDS_MAX 4
struct shmsg_def {
    const char *name;
    bool reply;                     /* libxl answers with an int */
    unsigned nfields;
    struct shmsg_field f[SHMSG_FIELDS_MAX];
};

#define SHMSG_F(k, member) { SHMSG_K_##k, offsetof(struct shmsg, u.member) }

/* libxl_save_msgs_gen.pl's @msgs: W and A messages want a reply. */
static const struct shmsg_def shmsg_defs[] = {
    [SHMSG_LOG] = { "log", false, 4, {
        SHMSG_F(U32, log.level), SHMSG_F(U32, log.errnoval),
        SHMSG_F(STRING, log.context), SHMSG_F(STRING, log.text) } },
    [SHMSG_PROGRESS] = { "progress", false, 4, {
        SHMSG_F(STRING, progress.context), SHMSG_F(STRING, progress.what),
        SHMSG_F(ULONG, progress.done), SHMSG_F(ULONG, progress.total) } },
    [SHMSG_SUSPEND] = { "suspend", true, 0, { { 0, 0 } } },
    [SHMSG_POSTCOPY] = { "postcopy", true, 0, { { 0, 0 } } },
    [SHMSG_CHECKPOINT] = { "checkpoint", true, 0, { { 0, 0 } } },
    [SHMSG_WAIT_CHECKPOINT] = { "wait_checkpoint", true, 0, { { 0, 0 } } },
    [SHMSG_SWITCH_QEMU_LOGDIRTY] = { "switch_qemu_logdirty", true, 2, {
        SHMSG_F(U32, logdirty.domid), SHMSG_F(UINT, logdirty.enable) } },
    [SHMSG_STATIC_DATA_DONE] = { "static_data_done", true, 1, {
        SHMSG_F(UINT, static_data_done.missing) } },
    [SHMSG_RESTORE_RESULTS] = { "restore_results", false, 2, {
        SHMSG_F(ULONG, restore_results.store_gfn),
        SHMSG_F(ULONG, restore_results.console_gfn) } },
    [SHMSG_COMPLETE] = { "complete", true, 2, {
        SHMSG_F(INT, complete.retval), SHMSG_F(INT, complete.errnoval) } },
};

static const struct shmsg_def *shmsg_def(unsigned type)
{
    if (type < SHMSG_TYPE_FIRST || type > SHMSG_TYPE_LAST) return NULL;
    return &shmsg_defs[type];
}

bool shmsg_wants_reply(enum shmsg_type type)
{
    const struct shmsg_def *d = shmsg_def(type);

    return d && d->reply;
}

const char *shmsg_type_name(unsigned type)
{
    const struct shmsg_def *d = shmsg_def(type);

    return d ? d->name : "?";
}

static size_t shmsg_size(enum shmsg_kind k)
{
    switch (k) {
    case SHMSG_K_U32: return sizeof(uint32_t);
    case SHMSG_K_UINT: return sizeof(unsigned);
    case SHMSG_K_INT: return sizeof(int);
    case SHMSG_K_ULONG: return sizeof(unsigned long);
    case SHMSG_K_STRING: return sizeof(const char *);
    }
    return 0;
}

/* ---- encoding ---- */

struct shmsg_out {
    uint8_t *p;
    size_t left;
};

static int shmsg_put(struct shmsg_out *o, const void *v, size_t n)
{
    if (n > o->left) return XLMIG_E_TOOBIG;
    memcpy(o->p, v, n);
    o->p += n;
    o->left -= n;
    return XLMIG_OK;
}

static int shmsg_put_string(struct shmsg_out *o, const char *s)
{
    size_t n = strlen(s ? s : "");
    uint32_t len;
    int rc;

    if (n >= SHMSG_BODY_MAX) return XLMIG_E_TOOBIG;
    len = (uint32_t)n + 1;
    rc = shmsg_put(o, &len, sizeof(len));
    if (rc) return rc;
    return shmsg_put(o, s ? s : "", len);
}

int shmsg_encode(const struct shmsg *m, uint8_t *out, size_t out_len,
                 size_t *len_r)
{
    const struct shmsg_def *d = shmsg_def(m->type);
    struct shmsg_out o;
    uint16_t type, len;
    const char *field;
    unsigned i;
    int rc;

    if (!d) return XLMIG_E_INVAL;
    if (out_len < SHMSG_LEN_SIZE) return XLMIG_E_TOOBIG;
    o.p = out + SHMSG_LEN_SIZE;
    o.left = out_len - SHMSG_LEN_SIZE;
    if (o.left > SHMSG_BODY_MAX) o.left = SHMSG_BODY_MAX;
    type = (uint16_t)m->type;
    rc = shmsg_put(&o, &type, sizeof(type));
    for (i = 0; !rc && i < d->nfields; i++) {
        field = (const char *)m + d->f[i].off;
        if (d->f[i].kind == SHMSG_K_STRING) {
            const char *s;

            memcpy(&s, field, sizeof(s));
            rc = shmsg_put_string(&o, s);
        } else {
            rc = shmsg_put(&o, field, shmsg_size(d->f[i].kind));
        }
    }
    if (rc) return rc;
    len = (uint16_t)(o.p - out - SHMSG_LEN_SIZE);
    memcpy(out, &len, sizeof(len));
    *len_r = SHMSG_LEN_SIZE + len;
    return XLMIG_OK;
}

/* ---- decoding ---- */

struct shmsg_in {
    const uint8_t *p;
    size_t left;
};

static int shmsg_take(struct shmsg_in *in, void *v, size_t n)
{
    if (n > in->left) return XLMIG_E_PROTO;
    memcpy(v, in->p, n);
    in->p += n;
    in->left -= n;
    return XLMIG_OK;
}

/* A STRING: its one NUL last, pointing into the message. */
static int shmsg_take_string(struct shmsg_in *in, const char **s_r)
{
    uint32_t len;
    int rc;

    rc = shmsg_take(in, &len, sizeof(len));
    if (rc) return rc;
    if (len == 0 || len > in->left) return XLMIG_E_PROTO;
    if (in->p[len - 1] != '\0' || memchr(in->p, '\0', len - 1))
        return XLMIG_E_PROTO;
    *s_r = (const char *)in->p;
    in->p += len;
    in->left -= len;
    return XLMIG_OK;
}

int shmsg_decode_body(const uint8_t *body, size_t len, struct shmsg *m)
{
    struct shmsg_in in = { body, len };
    const struct shmsg_def *d;
    struct shmsg q;
    uint16_t type;
    unsigned i;
    int rc;

    memset(m, 0, sizeof(*m));
    memset(&q, 0, sizeof(q));
    if (len > SHMSG_BODY_MAX) return XLMIG_E_PROTO;
    rc = shmsg_take(&in, &type, sizeof(type));
    if (rc) return rc;
    d = shmsg_def(type);
    if (!d) return XLMIG_E_PROTO;
    q.type = (enum shmsg_type)type;
    for (i = 0; !rc && i < d->nfields; i++) {
        char *field = (char *)&q + d->f[i].off;

        if (d->f[i].kind == SHMSG_K_STRING) {
            const char *s = NULL;

            rc = shmsg_take_string(&in, &s);
            memcpy(field, &s, sizeof(s));
        } else {
            rc = shmsg_take(&in, field, shmsg_size(d->f[i].kind));
        }
    }
    if (rc) return rc;
    if (in.left) return XLMIG_E_PROTO;
    *m = q;
    return XLMIG_OK;
}

int shmsg_decode(const uint8_t *p, size_t len, struct shmsg *m,
                 size_t *used_r)
{
    uint16_t blen;
    int rc;

    memset(m, 0, sizeof(*m));
    if (len < SHMSG_LEN_SIZE) return XLMIG_E_TRUNC;
    memcpy(&blen, p, sizeof(blen));
    if (blen > len - SHMSG_LEN_SIZE) return XLMIG_E_TRUNC;
    rc = shmsg_decode_body(p + SHMSG_LEN_SIZE, blen, m);
    if (rc) return rc;
    *used_r = SHMSG_LEN_SIZE + (size_t)blen;
    return XLMIG_OK;
}

void shmsg_reply_encode(int v, uint8_t out[SHMSG_REPLY_SIZE])
{
    memcpy(out, &v, sizeof(v));
}

int shmsg_reply_decode(const uint8_t *p, size_t len, int *v_r)
{
    *v_r = 0;
    if (len < SHMSG_REPLY_SIZE) return XLMIG_E_TRUNC;
    memcpy(v_r, p, sizeof(*v_r));
    return XLMIG_OK;
}

/* ---- the command line ---- */

/* A plain decimal ("-" allowed when min < 0) in min..max. */
static int shmsg_num(const char *s, long long min, long long max,
                     long long *v_r)
{
    bool neg = false;
    long long v = 0;

    if (!s) return XLMIG_E_INVAL;
    if (*s == '-' && min < 0) {
        neg = true;
        s++;
    }
    if (*s < '0' || *s > '9') return XLMIG_E_INVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (LLONG_MAX - (*s - '0')) / 10) return XLMIG_E_INVAL;
        v = v * 10 + (*s - '0');
    }
    if (*s) return XLMIG_E_INVAL;
    if (neg) v = -v;
    if (v < min || v > max) return XLMIG_E_INVAL;
    *v_r = v;
    return XLMIG_OK;
}

int shmsg_save_args_parse(int argc, char *const argv[],
                          struct shmsg_save_args *a)
{
    long long io, back, dom, xcf, cbf, st;

    memset(a, 0, sizeof(*a));
    if (argc != 8 || strcmp(argv[1], "--save-domain")) return XLMIG_E_INVAL;
    if (shmsg_num(argv[2], 0, INT_MAX, &io) ||
        shmsg_num(argv[3], -1, INT_MAX, &back) ||
        shmsg_num(argv[4], 0, SHMSG_DOMID_MAX, &dom) ||
        shmsg_num(argv[5], 0, UINT32_MAX, &xcf) ||
        shmsg_num(argv[6], 0, UINT32_MAX, &cbf) ||
        shmsg_num(argv[7], 0, 2, &st))
        return XLMIG_E_INVAL;
    if ((uint64_t)xcf & ~(uint64_t)(SHMSG_XCFLAGS_LIVE | SHMSG_XCFLAGS_DEBUG))
        return XLMIG_E_INVAL;
    if ((uint64_t)cbf & ~(uint64_t)SHMSG_SAVE_CBS) return XLMIG_E_INVAL;
    a->io_fd = (int)io;
    a->back_fd = (int)back;
    a->domid = (uint32_t)dom;
    a->xcflags = (uint32_t)xcf;
    a->cbflags = (unsigned)cbf;
    a->stream_type = (unsigned)st;
    return XLMIG_OK;
}

/* ---- xlmig's environment for its helper ---- */

int shmsg_throttle_format(unsigned vcpus, unsigned orig_cap, char *out,
                          size_t len)
{
    int n = snprintf(out, len, "%u %u", vcpus, orig_cap);

    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int shmsg_throttle_parse(const char *s, unsigned *vcpus_r,
                         unsigned *orig_cap_r)
{
    char vcpus[SHMSG_THROTTLE_TEXT_MAX];
    const char *sp = strchr(s, ' ');
    long long v, cap;

    *vcpus_r = *orig_cap_r = 0;
    if (!sp || (size_t)(sp - s) >= sizeof(vcpus)) return XLMIG_E_INVAL;
    memcpy(vcpus, s, (size_t)(sp - s));
    vcpus[sp - s] = '\0';
    if (shmsg_num(vcpus, 1, SHMSG_VCPUS_MAX, &v) ||
        shmsg_num(sp + 1, 0, SHMSG_CAP_MAX, &cap))
        return XLMIG_E_INVAL;
    *vcpus_r = (unsigned)v;
    *orig_cap_r = (unsigned)cap;
    return XLMIG_OK;
}
