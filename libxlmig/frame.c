/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * frame.c - the framed stream of xlmig/1 (frame.h): one AES-256-GCM tag
 * per frame, lz4 or zstd when they help, zero pages left out.
 *
 * The pump calls this at GB/s, so each end sets up its cipher (key
 * schedule included), compression context and scratch buffer once, when
 * it is made: a frame allocates nothing, and a payload that needs no
 * codec is copied once (encoder: input to out; decoder: body to out), or
 * not at all with frame_enc_pages_inplace() (the pages are read where the
 * frame is made) and frame_dec_open_iov() (the stream bytes are handed
 * out as pieces of body).
 *
 * The decoder takes bytes from the network. frame_dec_hdr() bounds every
 * length before anything else looks at it, frame_dec_open() checks the
 * tag before it acts on the payload, and the payload is then checked
 * against the header again (decompressed size, bitmap) before a byte of
 * out is written from it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <lz4.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "frame.h"

#define FRAME_SEQ_LEN 8
#define FRAME_IV_LEN (FRAME_SALT_LEN + FRAME_SEQ_LEN)
#define FRAME_ZSTD_LEVEL 1
/* The bitmap of a FRAME_PAGES frame of n pages. */
#define FRAME_BITMAP_LEN(n) (((n) + 7) / 8)
#define FRAME_BITMAP_MAX FRAME_BITMAP_LEN(FRAME_PAGES_MAX)
#define FRAME_WHY_MAX 256

/* GCM's native IV: 12 bytes need no extra GHASH pass to derive it. */
_Static_assert(FRAME_IV_LEN == 12, "AES-GCM IV is salt(4) || seq(8)");
/* What lz4 and zstd make of the largest payload at worst must be legal. */
_Static_assert(LZ4_COMPRESSBOUND(FRAME_RAW_MAX + FRAME_BITMAP_MAX) <=
               FRAME_WIRE_MAX, "FRAME_WIRE_MAX below lz4's bound");
_Static_assert(ZSTD_COMPRESSBOUND(FRAME_RAW_MAX + FRAME_BITMAP_MAX) <=
               FRAME_WIRE_MAX, "FRAME_WIRE_MAX below zstd's bound");

/* ---- small helpers ---- */

static void frame_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t frame_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void frame_put_hdr(uint8_t *p, const struct frame_hdr *h)
{
    memcpy(p, FRAME_MAGIC, 4);
    frame_put_le32(p + 4, h->type);
    frame_put_le32(p + 8, h->codec);
    frame_put_le32(p + 12, h->flags);
    frame_put_le32(p + 16, h->raw_len);
    frame_put_le32(p + 20, h->wire_len);
    frame_put_le32(p + 24, (uint32_t)h->seq);
    frame_put_le32(p + 28, (uint32_t)(h->seq >> 32));
}

/* The IV of frame seq: unique per frame of a session, as GCM needs. */
static void frame_iv(uint8_t iv[FRAME_IV_LEN], const uint8_t *salt,
                     uint64_t seq)
{
    int i;

    memcpy(iv, salt, FRAME_SALT_LEN);
    for (i = 0; i < FRAME_SEQ_LEN; i++)
        iv[FRAME_SALT_LEN + i] = (uint8_t)(seq >> (8 * (7 - i)));
}

static const char *frame_type_name(uint32_t type)
{
    switch (type) {
    case FRAME_DATA: return "data";
    case FRAME_PAGES: return "pages";
    case FRAME_END: return "end";
    case FRAME_AUTH: return "auth";
    }
    return "unknown type";
}

/* "frame SEQ (TYPE): " then the reason, allocated for a why_r. */
static char *frame_why(uint64_t seq, uint32_t type, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

static char *frame_why(uint64_t seq, uint32_t type, const char *fmt, ...)
{
    char reason[FRAME_WHY_MAX];
    va_list ap;

    /* Our own short text: a cut-off reason is still a reason. */
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return xasprintf("frame %" PRIu64 " (%s): %s", seq,
                     frame_type_name(type), reason);
}

/* Worst-case output of any codec (NONE included) for n input bytes. */
static size_t frame_codec_bound(size_t n)
{
    /* LZ4_COMPRESSBOUND without its int limit, so no size wraps. */
    size_t lz4 = n + n / 255 + 16;
    size_t zstd = ZSTD_compressBound(n);
    size_t max = n;

    if (lz4 > max) max = lz4;
    if (!ZSTD_isError(zstd) && zstd > max) max = zstd;
    return max;
}

/* Worst-case payload of a frame standing for len bytes (plus a bitmap). */
static size_t frame_payload_bound(size_t len)
{
    size_t pages = len / FRAME_PAGE_SIZE + 1;
    size_t max = frame_codec_bound(len + FRAME_BITMAP_LEN(pages));

    return max > FRAME_SESSION_LEN ? max : FRAME_SESSION_LEN;
}

/* ---- keys and codec names ---- */

static int frame_random(uint8_t *p, size_t len)
{
    ssize_t r;

    while (len) {
        r = getrandom(p, len, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return XLMIG_E_SYSTEM;
        }
        p += r;
        len -= (size_t)r;
    }
    return XLMIG_OK;
}

int frame_keys_new(struct frame_keys *k)
{
    int rc;

    rc = frame_random(k->key, sizeof(k->key));
    if (!rc) rc = frame_random(k->salt, sizeof(k->salt));
    if (!rc) rc = frame_random(k->session, sizeof(k->session));
    if (rc) OPENSSL_cleanse(k, sizeof(*k));
    return rc;
}

static char *frame_hex_put(char *out, const uint8_t *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        *out++ = digits[p[i] >> 4];
        *out++ = digits[p[i] & 0xf];
    }
    return out;
}

void frame_keys_hex(const struct frame_keys *k,
                    char out[FRAME_KEYS_HEX_LEN + 1])
{
    char *p = out;

    p = frame_hex_put(p, k->key, sizeof(k->key));
    p = frame_hex_put(p, k->salt, sizeof(k->salt));
    p = frame_hex_put(p, k->session, sizeof(k->session));
    *p = '\0';
}

static int frame_hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads 2 * len hex digits at *hex into p; false at a non-digit. */
static bool frame_hex_get(const char **hex, uint8_t *p, size_t len)
{
    const char *s = *hex;
    size_t i;
    int hi, lo;

    for (i = 0; i < len; i++, s += 2) {
        hi = frame_hex_digit(s[0]);
        lo = frame_hex_digit(s[1]);
        if (hi < 0 || lo < 0) return false;
        p[i] = (uint8_t)(hi << 4 | lo);
    }
    *hex = s;
    return true;
}

int frame_keys_parse(const char *hex, struct frame_keys *k)
{
    struct frame_keys tmp;
    const char *s = hex;
    bool ok;

    /* strnlen: hex is the peer's text and may not end where we think. */
    if (!hex || strnlen(hex, FRAME_KEYS_HEX_LEN + 1) != FRAME_KEYS_HEX_LEN)
        return XLMIG_E_PROTO;
    ok = frame_hex_get(&s, tmp.key, sizeof(tmp.key)) &&
         frame_hex_get(&s, tmp.salt, sizeof(tmp.salt)) &&
         frame_hex_get(&s, tmp.session, sizeof(tmp.session));
    if (ok) *k = tmp;
    OPENSSL_cleanse(&tmp, sizeof(tmp));
    return ok ? XLMIG_OK : XLMIG_E_PROTO;
}

static const char *const frame_codec_names[FRAME_CODEC_NR] = {
    [FRAME_CODEC_NONE] = "none",
    [FRAME_CODEC_LZ4] = "lz4",
    [FRAME_CODEC_ZSTD] = "zstd",
};

const char *frame_codec_name(enum frame_codec c)
{
    return (unsigned)c < FRAME_CODEC_NR ? frame_codec_names[c] : NULL;
}

int frame_codec_from_name(const char *name)
{
    unsigned c;

    if (!name) return -1;
    for (c = 0; c < FRAME_CODEC_NR; c++)
        if (!strcmp(name, frame_codec_names[c])) return (int)c;
    return -1;
}

bool frame_codec_available(enum frame_codec c)
{
    /* configure requires liblz4 and libzstd: every codec is built in. */
    return (unsigned)c < FRAME_CODEC_NR;
}

/* ---- the sending end ---- */

struct frame_enc {
    EVP_CIPHER_CTX *gcm;        /* keyed once; each frame sets its IV */
    ZSTD_CCtx *zstd;
    uint8_t *scratch;           /* a compressed FRAME_PAGES payload */
    size_t scratch_len;
    uint8_t salt[FRAME_SALT_LEN];
    uint8_t session[FRAME_SESSION_LEN];
    bool encrypt;
    uint64_t seq;               /* of the next frame */
    struct frame_enc_stats st;
};

struct frame_enc *frame_enc_new(const struct frame_keys *k, bool encrypt)
{
    struct frame_enc *e = xcalloc(1, sizeof(*e));
    bool ok = false;

    e->gcm = EVP_CIPHER_CTX_new();
    e->zstd = ZSTD_createCCtx();
    if (!e->gcm || !e->zstd) goto out;
    if (!EVP_EncryptInit_ex(e->gcm, EVP_aes_256_gcm(), NULL, k->key, NULL))
        goto out;
    e->scratch_len = frame_payload_bound(FRAME_RAW_MAX);
    e->scratch = xmalloc(e->scratch_len);
    memcpy(e->salt, k->salt, sizeof(e->salt));
    memcpy(e->session, k->session, sizeof(e->session));
    e->encrypt = encrypt;
    ok = true;
out:
    if (!ok) {
        frame_enc_free(e);
        e = NULL;
    }
    return e;
}

void frame_enc_free(struct frame_enc *e)
{
    if (!e) return;
    EVP_CIPHER_CTX_free(e->gcm);        /* cleanses the key schedule */
    ZSTD_freeCCtx(e->zstd);
    free(e->scratch);
    OPENSSL_cleanse(e, sizeof(*e));
    free(e);
}

size_t frame_enc_bound(size_t len)
{
    return FRAME_HDR_LEN + frame_payload_bound(len) + FRAME_TAG_LEN;
}

void frame_enc_get_stats(const struct frame_enc *e,
                         struct frame_enc_stats *st)
{
    *st = e->st;
}

/*
 * Finishes the frame whose h->wire_len payload bytes are already at
 * out + FRAME_HDR_LEN: writes the header, encrypts the payload in place
 * or feeds it to GMAC, appends the tag, and takes the seq.
 */
static int frame_enc_seal(struct frame_enc *e, struct frame_hdr *h,
                          uint8_t *out, size_t *out_len_r)
{
    uint8_t iv[FRAME_IV_LEN];
    uint8_t *p = out + FRAME_HDR_LEN, *tag = p + h->wire_len;
    int n, wire = (int)h->wire_len;

    /* A repeated IV would give the key away: never wrap. */
    if (e->seq == UINT64_MAX) return XLMIG_E_INTERNAL;
    h->seq = e->seq;
    h->flags = e->encrypt ? FRAME_F_ENCRYPTED : 0;
    frame_put_hdr(out, h);
    frame_iv(iv, e->salt, h->seq);
    if (!EVP_EncryptInit_ex(e->gcm, NULL, NULL, NULL, iv) ||
        !EVP_EncryptUpdate(e->gcm, NULL, &n, out, FRAME_HDR_LEN))
        return XLMIG_E_INTERNAL;
    if (wire && !EVP_EncryptUpdate(e->gcm, e->encrypt ? p : NULL, &n, p,
                                   wire))
        return XLMIG_E_INTERNAL;
    if (!EVP_EncryptFinal_ex(e->gcm, tag, &n) ||
        !EVP_CIPHER_CTX_ctrl(e->gcm, EVP_CTRL_GCM_GET_TAG, FRAME_TAG_LEN,
                             tag))
        return XLMIG_E_INTERNAL;
    *out_len_r = FRAME_HDR_LEN + h->wire_len + FRAME_TAG_LEN;
    e->seq++;
    e->st.frames++;
    e->st.raw_bytes += h->raw_len;
    e->st.wire_bytes += *out_len_r;
    return XLMIG_OK;
}

/*
 * Compresses len bytes at src into dst, which has room for
 * frame_codec_bound(len) bytes: with that room neither library can run
 * out of space, so any failure is ours.
 */
static int frame_compress(struct frame_enc *e, enum frame_codec codec,
                          const uint8_t *src, size_t len, uint8_t *dst,
                          size_t *clen_r)
{
    size_t cap = frame_codec_bound(len), r;
    int n;

    switch (codec) {
    case FRAME_CODEC_LZ4:
        n = LZ4_compress_default((const char *)src, (char *)dst, (int)len,
                                 (int)cap);
        if (n <= 0) return XLMIG_E_INTERNAL;
        *clen_r = (size_t)n;
        return XLMIG_OK;
    case FRAME_CODEC_ZSTD:
        r = ZSTD_compressCCtx(e->zstd, dst, cap, src, len,
                              FRAME_ZSTD_LEVEL);
        if (ZSTD_isError(r)) return XLMIG_E_INTERNAL;
        *clen_r = r;
        return XLMIG_OK;
    case FRAME_CODEC_NONE:
    case FRAME_CODEC_NR:
        break;
    }
    return XLMIG_E_INTERNAL;
}

int frame_enc_auth(struct frame_enc *e, uint8_t *out, size_t *out_len_r)
{
    struct frame_hdr h = { .type = FRAME_AUTH, .codec = FRAME_CODEC_NONE,
                           .wire_len = FRAME_SESSION_LEN };

    *out_len_r = 0;
    memcpy(out + FRAME_HDR_LEN, e->session, FRAME_SESSION_LEN);
    return frame_enc_seal(e, &h, out, out_len_r);
}

int frame_enc_end(struct frame_enc *e, uint8_t *out, size_t *out_len_r)
{
    struct frame_hdr h = { .type = FRAME_END, .codec = FRAME_CODEC_NONE };

    *out_len_r = 0;
    return frame_enc_seal(e, &h, out, out_len_r);
}

int frame_enc_data(struct frame_enc *e, enum frame_codec codec,
                   const uint8_t *in, size_t len, uint8_t *out,
                   size_t *out_len_r)
{
    struct frame_hdr h = { .type = FRAME_DATA, .codec = FRAME_CODEC_NONE };
    uint8_t *p = out + FRAME_HDR_LEN;
    size_t clen = len;
    int rc;

    *out_len_r = 0;
    if (!len || len > FRAME_RAW_MAX || !frame_codec_available(codec))
        return XLMIG_E_INVAL;
    h.raw_len = (uint32_t)len;
    /* Straight into out: only data the codec cannot shrink is copied. */
    if (codec != FRAME_CODEC_NONE) {
        rc = frame_compress(e, codec, in, len, p, &clen);
        if (rc) return rc;
    }
    if (clen < len) {
        h.codec = codec;
    } else {
        clen = len;
        memcpy(p, in, len);
    }
    h.wire_len = (uint32_t)clen;
    return frame_enc_seal(e, &h, out, out_len_r);
}

/*
 * Whether the page at p is all zero. A page that is not usually shows it
 * in its first bytes; past them, a page whose first 16 bytes are zero is
 * all zero exactly when it equals itself 16 bytes further on, which
 * libc's vectorised memcmp checks faster than a loop of ours.
 */
static bool frame_page_is_zero(const uint8_t *p)
{
    uint64_t a, b;

    memcpy(&a, p, sizeof(a));
    memcpy(&b, p + 8, sizeof(b));
    return !(a | b) && !memcmp(p, p + 16, FRAME_PAGE_SIZE - 16);
}

/*
 * Writes the FRAME_PAGES payload of the n pages at in to p: the bitmap
 * of zero pages, then the others. Returns its length.
 */
static size_t frame_pages_pack(const uint8_t *in, size_t n, uint8_t *p,
                               size_t *zeros_r)
{
    size_t i, off = FRAME_BITMAP_LEN(n), zeros = 0;
    const uint8_t *page;

    memset(p, 0, FRAME_BITMAP_LEN(n));
    for (i = 0; i < n; i++) {
        page = in + i * FRAME_PAGE_SIZE;
        if (frame_page_is_zero(page)) {
            p[i / 8] |= (uint8_t)(1u << (i % 8));
            zeros++;
        } else {
            memcpy(p + off, page, FRAME_PAGE_SIZE);
            off += FRAME_PAGE_SIZE;
        }
    }
    *zeros_r = zeros;
    return off;
}

/*
 * The same payload made where the n pages already are, right after the
 * room for the bitmap at p: each page that is not zero moves down over
 * the zero pages before it (memmove: the two may overlap), so nothing
 * moves until the first zero page. Returns the payload's length.
 */
static size_t frame_pages_pack_inplace(uint8_t *p, size_t n,
                                       size_t *zeros_r)
{
    size_t i, blen = FRAME_BITMAP_LEN(n), off = blen, zeros = 0;
    uint8_t *page;

    memset(p, 0, blen);
    for (i = 0; i < n; i++) {
        page = p + blen + i * FRAME_PAGE_SIZE;
        if (frame_page_is_zero(page)) {
            p[i / 8] |= (uint8_t)(1u << (i % 8));
            zeros++;
            continue;
        }
        if (zeros) memmove(p + off, page, FRAME_PAGE_SIZE);
        off += FRAME_PAGE_SIZE;
    }
    *zeros_r = zeros;
    return off;
}

static bool frame_pages_len_ok(size_t len, enum frame_codec codec)
{
    return len && len <= FRAME_RAW_MAX && len % FRAME_PAGE_SIZE == 0 &&
           frame_codec_available(codec);
}

/*
 * Finishes a FRAME_PAGES frame of n pages whose packed payload (plen
 * bytes, zeros pages left out) is at out + FRAME_HDR_LEN: compresses it
 * when codec makes it smaller, seals it, counts the pages.
 */
static int frame_enc_pages_seal(struct frame_enc *e, enum frame_codec codec,
                                uint8_t *out, size_t n, size_t zeros,
                                size_t plen, size_t *out_len_r)
{
    struct frame_hdr h = { .type = FRAME_PAGES, .codec = FRAME_CODEC_NONE };
    uint8_t *p = out + FRAME_HDR_LEN;
    size_t clen = plen;
    int rc;

    h.raw_len = (uint32_t)(n * FRAME_PAGE_SIZE);
    /*
     * The payload is packed in out, so the codec writes to scratch and
     * only a smaller result is copied back: data that does not compress
     * costs no copy beyond the packing.
     */
    if (codec != FRAME_CODEC_NONE) {
        rc = frame_compress(e, codec, p, plen, e->scratch, &clen);
        if (rc) return rc;
    }
    if (clen < plen) {
        memcpy(p, e->scratch, clen);
        h.codec = codec;
    } else {
        clen = plen;
    }
    h.wire_len = (uint32_t)clen;
    rc = frame_enc_seal(e, &h, out, out_len_r);
    if (rc) return rc;
    e->st.pages += n;
    e->st.zero_pages += zeros;
    return XLMIG_OK;
}

int frame_enc_pages(struct frame_enc *e, enum frame_codec codec,
                    const uint8_t *in, size_t len, uint8_t *out,
                    size_t *out_len_r)
{
    size_t n = len / FRAME_PAGE_SIZE, zeros, plen;

    *out_len_r = 0;
    if (!frame_pages_len_ok(len, codec)) return XLMIG_E_INVAL;
    plen = frame_pages_pack(in, n, out + FRAME_HDR_LEN, &zeros);
    return frame_enc_pages_seal(e, codec, out, n, zeros, plen, out_len_r);
}

size_t frame_pages_inplace_offset(size_t len)
{
    return FRAME_HDR_LEN + FRAME_BITMAP_LEN(len / FRAME_PAGE_SIZE);
}

int frame_enc_pages_inplace(struct frame_enc *e, enum frame_codec codec,
                            uint8_t *buf, size_t len, size_t *out_len_r)
{
    struct frame_packed pk;
    int rc;

    *out_len_r = 0;
    if (!frame_codec_available(codec)) return XLMIG_E_INVAL;
    rc = frame_enc_pack_pages(buf, len, &pk);
    if (rc) return rc;
    return frame_enc_packed_pages(e, codec, buf, &pk, out_len_r);
}

int frame_enc_pack_pages(uint8_t *buf, size_t len, struct frame_packed *pk_r)
{
    memset(pk_r, 0, sizeof(*pk_r));
    if (!frame_pages_len_ok(len, FRAME_CODEC_NONE)) return XLMIG_E_INVAL;
    pk_r->pages = len / FRAME_PAGE_SIZE;
    pk_r->payload_len = frame_pages_pack_inplace(buf + FRAME_HDR_LEN,
                                                 pk_r->pages,
                                                 &pk_r->zero_pages);
    return XLMIG_OK;
}

/* What frame_enc_pack_pages() makes, and nothing else: pk steers the
 * lengths of what follows. */
static bool frame_packed_ok(const struct frame_packed *pk,
                            enum frame_codec codec)
{
    return pk->pages <= FRAME_PAGES_MAX &&
           frame_pages_len_ok(pk->pages * FRAME_PAGE_SIZE, codec) &&
           pk->zero_pages <= pk->pages &&
           pk->payload_len == FRAME_BITMAP_LEN(pk->pages) +
                              (pk->pages - pk->zero_pages) * FRAME_PAGE_SIZE;
}

int frame_enc_packed_pages(struct frame_enc *e, enum frame_codec codec,
                           uint8_t *buf, const struct frame_packed *pk,
                           size_t *out_len_r)
{
    *out_len_r = 0;
    if (!frame_packed_ok(pk, codec)) return XLMIG_E_INVAL;
    return frame_enc_pages_seal(e, codec, buf, pk->pages, pk->zero_pages,
                                pk->payload_len, out_len_r);
}

/* The length codec makes of len bytes at in, or len if not smaller. */
static int frame_enc_try(struct frame_enc *e, enum frame_codec codec,
                         const uint8_t *in, size_t len, size_t *len_r)
{
    size_t clen = len;
    int rc;

    if (codec != FRAME_CODEC_NONE) {
        rc = frame_compress(e, codec, in, len, e->scratch, &clen);
        if (rc) return rc;
    }
    *len_r = clen < len ? clen : len;
    return XLMIG_OK;
}

int frame_enc_try_pages(struct frame_enc *e, enum frame_codec codec,
                        const uint8_t *buf, const struct frame_packed *pk,
                        size_t *len_r)
{
    *len_r = 0;
    if (!frame_packed_ok(pk, codec)) return XLMIG_E_INVAL;
    return frame_enc_try(e, codec, buf + FRAME_HDR_LEN, pk->payload_len,
                         len_r);
}

int frame_enc_try_data(struct frame_enc *e, enum frame_codec codec,
                       const uint8_t *in, size_t len, size_t *len_r)
{
    *len_r = 0;
    if (!len || len > FRAME_RAW_MAX || !frame_codec_available(codec))
        return XLMIG_E_INVAL;
    return frame_enc_try(e, codec, in, len, len_r);
}

/* ---- the receiving end ---- */

struct frame_dec {
    EVP_CIPHER_CTX *gcm;        /* keyed once; each frame sets its IV */
    ZSTD_DCtx *zstd;
    uint8_t *scratch;           /* a decompressed FRAME_PAGES payload */
    uint8_t salt[FRAME_SALT_LEN];
    uint8_t session[FRAME_SESSION_LEN];
    unsigned codecs;            /* 1u << FRAME_CODEC_* allowed */
    bool encrypt;
    bool ended;                 /* the END frame was opened */
    uint64_t seq;               /* of the next frame */
};

#define FRAME_DEC_SCRATCH_LEN (FRAME_BITMAP_MAX + FRAME_RAW_MAX)

struct frame_dec *frame_dec_new(const struct frame_keys *k,
                                unsigned codecs, bool encrypt)
{
    struct frame_dec *d = xcalloc(1, sizeof(*d));
    bool ok = false;

    d->gcm = EVP_CIPHER_CTX_new();
    d->zstd = ZSTD_createDCtx();
    if (!d->gcm || !d->zstd) goto out;
    if (!EVP_DecryptInit_ex(d->gcm, EVP_aes_256_gcm(), NULL, k->key, NULL))
        goto out;
    d->scratch = xmalloc(FRAME_DEC_SCRATCH_LEN);
    memcpy(d->salt, k->salt, sizeof(d->salt));
    memcpy(d->session, k->session, sizeof(d->session));
    d->codecs = codecs | 1u << FRAME_CODEC_NONE;
    d->encrypt = encrypt;
    ok = true;
out:
    if (!ok) {
        frame_dec_free(d);
        d = NULL;
    }
    return d;
}

void frame_dec_free(struct frame_dec *d)
{
    if (!d) return;
    EVP_CIPHER_CTX_free(d->gcm);
    ZSTD_freeDCtx(d->zstd);
    free(d->scratch);
    OPENSSL_cleanse(d, sizeof(*d));
    free(d);
}

/* Type, flags and codec of h (expected as frame seq): known and allowed. */
static int frame_check_kind(const struct frame_dec *d,
                            const struct frame_hdr *h, uint64_t seq,
                            char **why_r)
{
    if (h->type < FRAME_DATA || h->type > FRAME_AUTH) {
        *why_r = frame_why(seq, h->type, "type %" PRIu32 " is not one of "
                           "data, pages, end, auth", h->type);
        return XLMIG_E_PROTO;
    }
    if (h->flags & ~FRAME_F_ENCRYPTED) {
        *why_r = frame_why(seq, h->type, "unknown flags %#" PRIx32,
                           h->flags & ~FRAME_F_ENCRYPTED);
        return XLMIG_E_PROTO;
    }
    if (!(h->flags & FRAME_F_ENCRYPTED) != !d->encrypt) {
        *why_r = frame_why(seq, h->type, d->encrypt ?
                           "not encrypted, but the session is" :
                           "encrypted, but the session is not");
        return XLMIG_E_PROTO;
    }
    if (h->codec >= FRAME_CODEC_NR) {
        *why_r = frame_why(seq, h->type, "unknown codec %" PRIu32,
                           h->codec);
        return XLMIG_E_PROTO;
    }
    if (!(d->codecs & 1u << h->codec)) {
        *why_r = frame_why(seq, h->type, "codec %s is not allowed in this "
                           "session", frame_codec_names[h->codec]);
        return XLMIG_E_PROTO;
    }
    return XLMIG_OK;
}

/* Lengths of the PAGES frame h whose payload is not compressed. */
static bool frame_pages_plain_fits(const struct frame_hdr *h)
{
    size_t blen = FRAME_BITMAP_LEN(h->raw_len / FRAME_PAGE_SIZE);

    return h->wire_len >= blen &&
           (h->wire_len - blen) % FRAME_PAGE_SIZE == 0 &&
           h->wire_len - blen <= h->raw_len;
}

/* Lengths of h (kind already checked): bounded, and right for its type. */
static int frame_check_lens(const struct frame_hdr *h, uint64_t seq,
                            char **why_r)
{
    bool plain = h->codec == FRAME_CODEC_NONE, ok = false;

    if (h->wire_len > FRAME_WIRE_MAX || h->raw_len > FRAME_RAW_MAX) {
        *why_r = frame_why(seq, h->type, "%" PRIu32 " bytes for %" PRIu32
                           " is over the limit (%u for %u)", h->wire_len,
                           h->raw_len, FRAME_WIRE_MAX, FRAME_RAW_MAX);
        return XLMIG_E_TOOBIG;
    }
    switch (h->type) {
    case FRAME_AUTH:
        ok = plain && !h->raw_len && h->wire_len == FRAME_SESSION_LEN;
        break;
    case FRAME_END:
        ok = plain && !h->raw_len && !h->wire_len;
        break;
    case FRAME_DATA:
        ok = h->raw_len && (plain ? h->wire_len == h->raw_len :
                            h->wire_len > 0);
        break;
    case FRAME_PAGES:
        ok = h->raw_len && h->raw_len % FRAME_PAGE_SIZE == 0 &&
             (plain ? frame_pages_plain_fits(h) : h->wire_len > 0);
        break;
    }
    if (ok) return XLMIG_OK;
    *why_r = frame_why(seq, h->type, "lengths do not add up: %" PRIu32
                       " payload bytes (codec %s) for %" PRIu32 " stream "
                       "bytes", h->wire_len, frame_codec_names[h->codec],
                       h->raw_len);
    return XLMIG_E_PROTO;
}

int frame_dec_hdr(struct frame_dec *d, const uint8_t *hdr,
                  struct frame_hdr *h, char **why_r)
{
    int rc;

    *why_r = NULL;
    memset(h, 0, sizeof(*h));
    h->type = frame_get_le32(hdr + 4);
    if (memcmp(hdr, FRAME_MAGIC, 4)) {
        *why_r = frame_why(d->seq, h->type, "bad magic (not a frame, or "
                           "the stream lost its place)");
        rc = XLMIG_E_PROTO;
        goto out;
    }
    h->codec = frame_get_le32(hdr + 8);
    h->flags = frame_get_le32(hdr + 12);
    h->raw_len = frame_get_le32(hdr + 16);
    h->wire_len = frame_get_le32(hdr + 20);
    h->seq = frame_get_le32(hdr + 24) |
             (uint64_t)frame_get_le32(hdr + 28) << 32;
    if (d->ended) {
        *why_r = frame_why(d->seq, h->type, "comes after the end frame");
        rc = XLMIG_E_PROTO;
        goto out;
    }
    if (h->seq != d->seq) {
        *why_r = frame_why(d->seq, h->type, "out of sequence: seq %" PRIu64
                           ", expected %" PRIu64 " (replayed, reordered or "
                           "lost)", h->seq, d->seq);
        rc = XLMIG_E_PROTO;
        goto out;
    }
    /* A session starts by proving the key and naming itself, once. */
    if ((h->seq == 0) != (h->type == FRAME_AUTH)) {
        *why_r = frame_why(d->seq, h->type, "the auth frame must come "
                           "first, and only first");
        rc = XLMIG_E_PROTO;
        goto out;
    }
    rc = frame_check_kind(d, h, d->seq, why_r);
    if (rc) goto out;
    rc = frame_check_lens(h, d->seq, why_r);
out:
    if (rc) memset(h, 0, sizeof(*h));
    return rc;
}

/*
 * Checks the tag over hdr and body, decrypting the payload into plain
 * (which may be body) when the session encrypts. Nothing of plain may be
 * used unless this returns XLMIG_OK.
 */
static int frame_dec_verify(struct frame_dec *d, const struct frame_hdr *h,
                            const uint8_t *hdr, uint8_t *body,
                            uint8_t *plain)
{
    uint8_t iv[FRAME_IV_LEN], last[EVP_MAX_BLOCK_LENGTH];
    int n, wire = (int)h->wire_len;

    frame_iv(iv, d->salt, h->seq);
    if (!EVP_DecryptInit_ex(d->gcm, NULL, NULL, NULL, iv) ||
        !EVP_DecryptUpdate(d->gcm, NULL, &n, hdr, FRAME_HDR_LEN))
        return XLMIG_E_INTERNAL;
    if (wire && !EVP_DecryptUpdate(d->gcm, d->encrypt ? plain : NULL, &n,
                                   body, wire))
        return XLMIG_E_INTERNAL;
    if (!EVP_CIPHER_CTX_ctrl(d->gcm, EVP_CTRL_GCM_SET_TAG, FRAME_TAG_LEN,
                             body + wire))
        return XLMIG_E_INTERNAL;
    return EVP_DecryptFinal_ex(d->gcm, last, &n) > 0 ? XLMIG_OK
                                                     : XLMIG_E_AUTH;
}

/*
 * Decompresses len bytes at src into dst (room for cap bytes) and
 * returns how many came out, or -1 if the payload is not valid.
 */
static long frame_decompress(struct frame_dec *d, uint32_t codec,
                             const uint8_t *src, size_t len, uint8_t *dst,
                             size_t cap)
{
    size_t r;
    int n;

    switch (codec) {
    case FRAME_CODEC_LZ4:
        n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)len,
                                (int)cap);
        return n < 0 ? -1 : n;
    case FRAME_CODEC_ZSTD:
        r = ZSTD_decompressDCtx(d->zstd, dst, cap, src, len);
        return ZSTD_isError(r) ? -1 : (long)r;
    }
    return -1;
}

/*
 * Decompresses the DATA payload at plain into dst (room for raw_len
 * bytes): it must come out at exactly raw_len bytes.
 */
static int frame_dec_data_unzip(struct frame_dec *d,
                                const struct frame_hdr *h,
                                const uint8_t *plain, uint8_t *dst,
                                char **why_r)
{
    long n;

    /* Room for exactly raw_len: a longer result fails in the library. */
    n = frame_decompress(d, h->codec, plain, h->wire_len, dst, h->raw_len);
    if (n == (long)h->raw_len) return XLMIG_OK;
    *why_r = frame_why(h->seq, h->type, "%s payload does not decode to "
                       "%" PRIu32 " bytes", frame_codec_names[h->codec],
                       h->raw_len);
    return XLMIG_E_PROTO;
}

static int frame_dec_data(struct frame_dec *d, const struct frame_hdr *h,
                          const uint8_t *plain, uint8_t *out, char **why_r)
{
    if (h->codec == FRAME_CODEC_NONE) {
        /* An encrypted payload was decrypted straight into out. */
        if (plain != out) memcpy(out, plain, h->raw_len);
        return XLMIG_OK;
    }
    return frame_dec_data_unzip(d, h, plain, out, why_r);
}

/*
 * Checks that the FRAME_PAGES payload p of len bytes (bitmap, then the
 * pages not left out) is what its header says: no bitmap bits past the
 * last page, and exactly the pages the bitmap keeps.
 */
static int frame_pages_check(const struct frame_hdr *h, const uint8_t *p,
                             size_t len, char **why_r)
{
    size_t n = h->raw_len / FRAME_PAGE_SIZE, blen = FRAME_BITMAP_LEN(n);
    size_t i, zeros = 0;

    if (len < blen) {
        *why_r = frame_why(h->seq, h->type, "payload of %zu bytes is "
                           "shorter than its %zu-byte bitmap", len, blen);
        return XLMIG_E_PROTO;
    }
    if (n % 8 && p[blen - 1] >> (n % 8)) {
        *why_r = frame_why(h->seq, h->type, "bitmap has bits set past "
                           "page %zu", n);
        return XLMIG_E_PROTO;
    }
    for (i = 0; i < blen; i++)
        zeros += (size_t)__builtin_popcount(p[i]);
    if (len != blen + (n - zeros) * FRAME_PAGE_SIZE) {
        *why_r = frame_why(h->seq, h->type, "payload of %zu bytes, but its "
                           "bitmap says %zu of %zu pages", len, n - zeros,
                           n);
        return XLMIG_E_PROTO;
    }
    return XLMIG_OK;
}

/* Expands the checked FRAME_PAGES payload p into the pages of out. */
static void frame_pages_unpack(const struct frame_hdr *h, const uint8_t *p,
                               uint8_t *out)
{
    size_t n = h->raw_len / FRAME_PAGE_SIZE, i, off = FRAME_BITMAP_LEN(n);
    uint8_t *page;

    for (i = 0; i < n; i++) {
        page = out + i * FRAME_PAGE_SIZE;
        if (p[i / 8] & 1u << (i % 8)) {
            memset(page, 0, FRAME_PAGE_SIZE);
        } else {
            memcpy(page, p + off, FRAME_PAGE_SIZE);
            off += FRAME_PAGE_SIZE;
        }
    }
}

/* What a page left out stands for, for frame_dec_open_iov(). */
static const uint8_t frame_zero_page[FRAME_PAGE_SIZE];

/*
 * The pages of the checked FRAME_PAGES payload p as pieces: one per zero
 * page, one per run of pages kept (they are adjacent in p). At most one
 * piece per page, so FRAME_IOV_MAX of them always do.
 */
static int frame_pages_iov(const struct frame_hdr *h, uint8_t *p,
                           struct iovec *iov)
{
    size_t n = h->raw_len / FRAME_PAGE_SIZE, i, off = FRAME_BITMAP_LEN(n);
    int cnt = 0;
    bool run = false;               /* iov[cnt - 1] is a run of p */

    for (i = 0; i < n; i++) {
        if (p[i / 8] & 1u << (i % 8)) {
            iov[cnt].iov_base = (void *)frame_zero_page;
            iov[cnt++].iov_len = FRAME_PAGE_SIZE;
            run = false;
            continue;
        }
        if (run) {
            iov[cnt - 1].iov_len += FRAME_PAGE_SIZE;
        } else {
            iov[cnt].iov_base = p + off;
            iov[cnt++].iov_len = FRAME_PAGE_SIZE;
            run = true;
        }
        off += FRAME_PAGE_SIZE;
    }
    return cnt;
}

/*
 * The FRAME_PAGES payload of h, decompressed into scratch if it needs to
 * be, and checked: *p_r, *len_r.
 */
static int frame_dec_pages_payload(struct frame_dec *d,
                                   const struct frame_hdr *h,
                                   uint8_t *plain, uint8_t **p_r,
                                   size_t *len_r, char **why_r)
{
    size_t n = h->raw_len / FRAME_PAGE_SIZE;
    long len;

    *p_r = plain;
    *len_r = h->wire_len;
    if (h->codec != FRAME_CODEC_NONE) {
        /* The bitmap comes first, so the pages go through scratch. */
        len = frame_decompress(d, h->codec, plain, h->wire_len, d->scratch,
                               FRAME_BITMAP_LEN(n) + h->raw_len);
        if (len < 0) {
            *why_r = frame_why(h->seq, h->type, "%s payload does not "
                               "decode", frame_codec_names[h->codec]);
            return XLMIG_E_PROTO;
        }
        *p_r = d->scratch;
        *len_r = (size_t)len;
    }
    return frame_pages_check(h, *p_r, *len_r, why_r);
}

static int frame_dec_pages(struct frame_dec *d, const struct frame_hdr *h,
                           uint8_t *plain, uint8_t *out, char **why_r)
{
    uint8_t *p;
    size_t len;
    int rc;

    rc = frame_dec_pages_payload(d, h, plain, &p, &len, why_r);
    if (!rc) frame_pages_unpack(h, p, out);
    return rc;
}

static bool frame_hdr_same(const struct frame_hdr *a,
                           const struct frame_hdr *b)
{
    return a->type == b->type && a->codec == b->codec &&
           a->flags == b->flags && a->raw_len == b->raw_len &&
           a->wire_len == b->wire_len && a->seq == b->seq;
}

/*
 * What every frame goes through before its payload is used: h must be
 * what frame_dec_hdr() makes of these very header bytes for this point of
 * the stream (h steers every length; 32 bytes are cheap next to the
 * payload), then the tag is checked and the payload decrypted into plain
 * (body, or where it goes; wiped there if the tag does not match).
 */
static int frame_dec_begin(struct frame_dec *d, const struct frame_hdr *h,
                           const uint8_t *hdr, uint8_t *body,
                           uint8_t *plain, char **why_r)
{
    struct frame_hdr chk;
    int rc;

    rc = frame_dec_hdr(d, hdr, &chk, why_r);
    if (rc) return rc;
    if (!frame_hdr_same(h, &chk)) {
        *why_r = frame_why(d->seq, chk.type, "parsed header does not match "
                           "the header bytes");
        return XLMIG_E_INVAL;
    }
    rc = frame_dec_verify(d, h, hdr, body, plain);
    if (!rc) return XLMIG_OK;
    /* Never leave unauthenticated plaintext behind outside body. */
    if (plain != body) OPENSSL_cleanse(plain, h->wire_len);
    *why_r = frame_why(h->seq, h->type, rc == XLMIG_E_AUTH ?
                       "authentication failed (wrong key, or the data "
                       "was corrupted or injected)" :
                       "the cipher failed");
    return rc;
}

/* The END and AUTH frames, once their tag checked. */
static int frame_dec_control(struct frame_dec *d, const struct frame_hdr *h,
                             const uint8_t *plain, char **why_r)
{
    if (h->type == FRAME_END) {
        d->ended = true;
        return XLMIG_OK;
    }
    if (CRYPTO_memcmp(plain, d->session, FRAME_SESSION_LEN)) {
        *why_r = frame_why(h->seq, h->type, "session id differs (a frame "
                           "of another session)");
        return XLMIG_E_AUTH;
    }
    return XLMIG_OK;
}

int frame_dec_open(struct frame_dec *d, const struct frame_hdr *h,
                   const uint8_t *hdr, uint8_t *body, uint8_t *out,
                   char **why_r)
{
    uint8_t *plain = body;
    int rc;

    *why_r = NULL;
    /*
     * Plain data decrypts straight to where it goes: no copy. (h is
     * checked against hdr before plain is used.)
     */
    if (d->encrypt && h->type == FRAME_DATA &&
        h->codec == FRAME_CODEC_NONE)
        plain = out;
    rc = frame_dec_begin(d, h, hdr, body, plain, why_r);
    if (rc) goto out;
    switch (h->type) {
    case FRAME_END:
    case FRAME_AUTH:
        rc = frame_dec_control(d, h, plain, why_r);
        break;
    case FRAME_DATA:
        rc = frame_dec_data(d, h, plain, out, why_r);
        break;
    case FRAME_PAGES:
        rc = frame_dec_pages(d, h, plain, out, why_r);
        break;
    }
    if (!rc) d->seq++;
out:
    return rc;
}

/* The stream bytes of the opened DATA frame h as one piece. */
static int frame_dec_data_iov(struct frame_dec *d, const struct frame_hdr *h,
                              uint8_t *plain, struct iovec *iov,
                              char **why_r)
{
    iov->iov_base = plain;
    iov->iov_len = h->raw_len;
    if (h->codec == FRAME_CODEC_NONE) return XLMIG_OK;
    iov->iov_base = d->scratch;
    return frame_dec_data_unzip(d, h, plain, d->scratch, why_r);
}

int frame_dec_open_iov(struct frame_dec *d, const struct frame_hdr *h,
                       const uint8_t *hdr, uint8_t *body, struct iovec *iov,
                       int *iovcnt_r, char **why_r)
{
    uint8_t *p;
    size_t len;
    int rc, cnt = 0;

    *why_r = NULL;
    *iovcnt_r = 0;
    rc = frame_dec_begin(d, h, hdr, body, body, why_r);
    if (rc) goto out;
    switch (h->type) {
    case FRAME_END:
    case FRAME_AUTH:
        rc = frame_dec_control(d, h, body, why_r);
        break;
    case FRAME_DATA:
        rc = frame_dec_data_iov(d, h, body, iov, why_r);
        cnt = 1;
        break;
    case FRAME_PAGES:
        rc = frame_dec_pages_payload(d, h, body, &p, &len, why_r);
        if (!rc) cnt = frame_pages_iov(h, p, iov);
        break;
    }
    if (rc) goto out;
    *iovcnt_r = cnt;
    d->seq++;
out:
    return rc;
}
