/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * buf.h - bounded byte buffer for wire codecs (after OpenSSH's sshbuf).
 * Data is appended at the end and consumed from the front. Every get/put
 * returns XLMIG_OK or a code; a get consumes only on success and zeroes its
 * output first; a buffer never grows past its max_size.
 */
#ifndef XLMIG_BUF_H
#define XLMIG_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define BUF_SIZE_MAX (256u << 20)   /* hard cap on any buffer */

struct buf;

/* New empty buffer that may hold up to max_size (<= BUF_SIZE_MAX) bytes. */
struct buf *buf_new(size_t max_size);
/* Buffer holding a copy of data[0..len). */
struct buf *buf_from(const void *data, size_t len);
void buf_free(struct buf *b);               /* NULL is fine */

size_t buf_len(const struct buf *b);        /* bytes not yet consumed */
size_t buf_avail(const struct buf *b);      /* bytes that may still be put */
/* Start of the unconsumed bytes; valid until the next put/reserve/reset. */
const uint8_t *buf_ptr(const struct buf *b);
void buf_reset(struct buf *b);

MUST_CHECK int buf_consume(struct buf *b, size_t len);
/*
 * Reserves len bytes at the end and returns where to write them; the bytes
 * count as data (unwritten ones are zero). Use buf_unput() to give back
 * what was not filled.
 */
MUST_CHECK int buf_reserve(struct buf *b, size_t len, uint8_t **p_r);
MUST_CHECK int buf_unput(struct buf *b, size_t len);

MUST_CHECK int buf_put(struct buf *b, const void *data, size_t len);
MUST_CHECK int buf_put_u8(struct buf *b, uint8_t v);
MUST_CHECK int buf_put_le16(struct buf *b, uint16_t v);
MUST_CHECK int buf_put_le32(struct buf *b, uint32_t v);
MUST_CHECK int buf_put_le64(struct buf *b, uint64_t v);
MUST_CHECK int buf_put_be16(struct buf *b, uint16_t v);
MUST_CHECK int buf_put_be32(struct buf *b, uint32_t v);
MUST_CHECK int buf_put_be64(struct buf *b, uint64_t v);

/* Gets: XLMIG_E_TRUNC when fewer bytes are left than asked for. */
MUST_CHECK int buf_get(struct buf *b, void *out, size_t len);
MUST_CHECK int buf_get_u8(struct buf *b, uint8_t *v_r);
MUST_CHECK int buf_get_le16(struct buf *b, uint16_t *v_r);
MUST_CHECK int buf_get_le32(struct buf *b, uint32_t *v_r);
MUST_CHECK int buf_get_le64(struct buf *b, uint64_t *v_r);
MUST_CHECK int buf_get_be16(struct buf *b, uint16_t *v_r);
MUST_CHECK int buf_get_be32(struct buf *b, uint32_t *v_r);
MUST_CHECK int buf_get_be64(struct buf *b, uint64_t *v_r);
/* Peeks len bytes at offset off without consuming. */
MUST_CHECK int buf_peek(const struct buf *b, size_t off, void *out,
                        size_t len);

/*
 * Consumes len bytes (len <= max, else XLMIG_E_TOOBIG) holding a string
 * whose last byte must be the only NUL (else XLMIG_E_PROTO); *s_r is a new
 * allocation the caller frees.
 */
MUST_CHECK int buf_get_cstring(struct buf *b, size_t len, size_t max,
                               char **s_r);

/* Moves the next len bytes into a new buffer *sub_r (fences a record). */
MUST_CHECK int buf_sub(struct buf *b, size_t len, struct buf **sub_r);

/* Little/big-endian loads from raw memory, for zero-copy parsers. */
static inline uint32_t buf_load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t buf_load_le64(const uint8_t *p)
{
    return (uint64_t)buf_load_le32(p) | (uint64_t)buf_load_le32(p + 4) << 32;
}

static inline uint16_t buf_load_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t buf_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t buf_load_be64(const uint8_t *p)
{
    return (uint64_t)buf_load_be32(p) << 32 | buf_load_be32(p + 4);
}

#endif /* XLMIG_BUF_H */
