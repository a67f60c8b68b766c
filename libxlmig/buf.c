/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * buf.c - bounded byte buffer (see buf.h). Invariant:
 * off <= size <= alloc <= max_size <= BUF_SIZE_MAX; bytes [off, size) are
 * data. A broken invariant is a bug in xlmig and aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct buf {
    uint8_t *d;
    size_t off;                 /* first unconsumed byte */
    size_t size;                /* end of data */
    size_t alloc;
    size_t max_size;
};

static void buf_check(const struct buf *b)
{
    if (b->off > b->size || b->size > b->alloc || b->alloc > b->max_size ||
        b->max_size > BUF_SIZE_MAX)
        abort();
}

struct buf *buf_new(size_t max_size)
{
    struct buf *b = xcalloc(1, sizeof(*b));

    if (max_size > BUF_SIZE_MAX) abort();
    b->max_size = max_size;
    return b;
}

struct buf *buf_from(const void *data, size_t len)
{
    struct buf *b = buf_new(len);

    if (buf_put(b, data, len)) abort();
    return b;
}

void buf_free(struct buf *b)
{
    if (!b) return;
    free(b->d);
    free(b);
}

size_t buf_len(const struct buf *b)
{
    buf_check(b);
    return b->size - b->off;
}

size_t buf_avail(const struct buf *b)
{
    buf_check(b);
    return b->max_size - (b->size - b->off);
}

const uint8_t *buf_ptr(const struct buf *b)
{
    buf_check(b);
    return b->d ? b->d + b->off : (const uint8_t *)"";
}

void buf_reset(struct buf *b)
{
    buf_check(b);
    b->off = b->size = 0;
}

int buf_consume(struct buf *b, size_t len)
{
    buf_check(b);
    if (len > b->size - b->off) return XLMIG_E_TRUNC;
    b->off += len;
    if (b->off == b->size) b->off = b->size = 0;
    return XLMIG_OK;
}

/* Makes room for len more bytes at the end, compacting before growing. */
static int buf_make_room(struct buf *b, size_t len)
{
    size_t used = b->size - b->off, want;

    if (len > b->max_size - used) return XLMIG_E_TOOBIG;
    if (len <= b->alloc - b->size) return XLMIG_OK;
    if (b->off) {
        memmove(b->d, b->d + b->off, used);
        b->size = used;
        b->off = 0;
        if (len <= b->alloc - b->size) return XLMIG_OK;
    }
    want = b->alloc ? b->alloc : 256;
    while (want - used < len)
        want = want > b->max_size / 2 ? b->max_size : want * 2;
    if (want > b->max_size) want = b->max_size;
    b->d = xrealloc(b->d, want);
    b->alloc = want;
    return XLMIG_OK;
}

int buf_reserve(struct buf *b, size_t len, uint8_t **p_r)
{
    int rc;

    *p_r = NULL;
    buf_check(b);
    rc = buf_make_room(b, len);
    if (rc) return rc;
    *p_r = b->d + b->size;
    memset(*p_r, 0, len);
    b->size += len;
    return XLMIG_OK;
}

int buf_unput(struct buf *b, size_t len)
{
    buf_check(b);
    if (len > b->size - b->off) return XLMIG_E_INTERNAL;
    b->size -= len;
    return XLMIG_OK;
}

int buf_put(struct buf *b, const void *data, size_t len)
{
    uint8_t *p;
    int rc;

    rc = buf_reserve(b, len, &p);
    if (rc) return rc;
    if (len) memcpy(p, data, len);
    return XLMIG_OK;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
    return buf_put(b, &v, 1);
}

int buf_put_le16(struct buf *b, uint16_t v)
{
    uint8_t d[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

    return buf_put(b, d, sizeof(d));
}

int buf_put_le32(struct buf *b, uint32_t v)
{
    uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                     (uint8_t)(v >> 24) };

    return buf_put(b, d, sizeof(d));
}

int buf_put_le64(struct buf *b, uint64_t v)
{
    int rc = buf_put_le32(b, (uint32_t)v);

    return rc ? rc : buf_put_le32(b, (uint32_t)(v >> 32));
}

int buf_put_be16(struct buf *b, uint16_t v)
{
    uint8_t d[2] = { (uint8_t)(v >> 8), (uint8_t)v };

    return buf_put(b, d, sizeof(d));
}

int buf_put_be32(struct buf *b, uint32_t v)
{
    uint8_t d[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
                     (uint8_t)(v >> 8), (uint8_t)v };

    return buf_put(b, d, sizeof(d));
}

int buf_put_be64(struct buf *b, uint64_t v)
{
    int rc = buf_put_be32(b, (uint32_t)(v >> 32));

    return rc ? rc : buf_put_be32(b, (uint32_t)v);
}

int buf_peek(const struct buf *b, size_t off, void *out, size_t len)
{
    memset(out, 0, len);
    buf_check(b);
    if (off > b->size - b->off || len > b->size - b->off - off)
        return XLMIG_E_TRUNC;
    if (len) memcpy(out, b->d + b->off + off, len);
    return XLMIG_OK;
}

int buf_get(struct buf *b, void *out, size_t len)
{
    int rc = buf_peek(b, 0, out, len);

    return rc ? rc : buf_consume(b, len);
}

int buf_get_u8(struct buf *b, uint8_t *v_r)
{
    return buf_get(b, v_r, 1);
}

int buf_get_le16(struct buf *b, uint16_t *v_r)
{
    uint8_t d[2];
    int rc;

    *v_r = 0;
    rc = buf_get(b, d, sizeof(d));
    if (!rc) *v_r = (uint16_t)(d[0] | d[1] << 8);
    return rc;
}

int buf_get_le32(struct buf *b, uint32_t *v_r)
{
    uint8_t d[4];
    int rc;

    *v_r = 0;
    rc = buf_get(b, d, sizeof(d));
    if (!rc) *v_r = buf_load_le32(d);
    return rc;
}

int buf_get_le64(struct buf *b, uint64_t *v_r)
{
    uint8_t d[8];
    int rc;

    *v_r = 0;
    rc = buf_get(b, d, sizeof(d));
    if (!rc) *v_r = buf_load_le64(d);
    return rc;
}

int buf_get_be16(struct buf *b, uint16_t *v_r)
{
    uint8_t d[2];
    int rc;

    *v_r = 0;
    rc = buf_get(b, d, sizeof(d));
    if (!rc) *v_r = buf_load_be16(d);
    return rc;
}

int buf_get_be32(struct buf *b, uint32_t *v_r)
{
    uint8_t d[4];
    int rc;

    *v_r = 0;
    rc = buf_get(b, d, sizeof(d));
    if (!rc) *v_r = buf_load_be32(d);
    return rc;
}

int buf_get_be64(struct buf *b, uint64_t *v_r)
{
    uint8_t d[8];
    int rc;

    *v_r = 0;
    rc = buf_get(b, d, sizeof(d));
    if (!rc) *v_r = buf_load_be64(d);
    return rc;
}

int buf_get_cstring(struct buf *b, size_t len, size_t max, char **s_r)
{
    const uint8_t *p;

    *s_r = NULL;
    if (len > max) return XLMIG_E_TOOBIG;
    if (len > buf_len(b)) return XLMIG_E_TRUNC;
    p = buf_ptr(b);
    if (len == 0 || p[len - 1] != '\0' || memchr(p, '\0', len - 1))
        return XLMIG_E_PROTO;
    *s_r = xstrdup((const char *)p);
    return buf_consume(b, len);
}

int buf_sub(struct buf *b, size_t len, struct buf **sub_r)
{
    *sub_r = NULL;
    if (len > buf_len(b)) return XLMIG_E_TRUNC;
    *sub_r = buf_from(buf_ptr(b), len);
    return buf_consume(b, len);
}
