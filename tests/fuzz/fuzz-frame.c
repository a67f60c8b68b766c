/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-frame.c - fuzz target for the framed stream of xlmig/1 (frame.c),
 * under a fixed session key. The first input byte picks the mode (% 3)
 * and whether the session encrypts ((/ 3) & 1); the rest is:
 *   mode 0: frames as the network delivers them, fed in order to a
 *           decoder that allows every codec. Random tags almost never
 *           match, so this reaches the header and tag checks;
 *   mode 1: records, each the fields of a frame header and its plaintext
 *           payload (layout at fuzz_sealed()), which this target seals
 *           with the session key itself, so the decoder gets past the tag
 *           to the decompression, bitmap and session id checks;
 *   mode 2: stream data, encoded as DATA and as PAGES frames with a codec
 *           the next byte picks, then decoded: the result must be the
 *           input, or the target aborts. A second session alongside
 *           makes its PAGES frames in place (frame_enc_pages_inplace:
 *           they must be the same bytes) and opens its frames into
 *           pieces (frame_dec_open_iov: they must gather to the input).
 * A refusal must always come with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ALL_CODECS \
    (1u << FRAME_CODEC_NONE | 1u << FRAME_CODEC_LZ4 | 1u << FRAME_CODEC_ZSTD)
#define FUZZ_FRAME_MAX (FRAME_HDR_LEN + FRAME_WIRE_MAX + FRAME_TAG_LEN)
#define FUZZ_RECORD_HDR 11          /* type, codec, flags, raw, wire */

static const struct frame_keys fuzz_keys = {
    .key = "0123456789abcdef0123456789abcde",
    .salt = { 's', 'a', 'l', 't' },
    .session = "session-id-0123",
};

static uint8_t fuzz_in[FRAME_RAW_MAX];
static uint8_t fuzz_out[FRAME_RAW_MAX];
static uint8_t fuzz_frame[FUZZ_FRAME_MAX];
static uint8_t fuzz_frame2[FUZZ_FRAME_MAX];
static uint8_t fuzz_out2[FRAME_RAW_MAX];
static struct iovec fuzz_iov[FRAME_IOV_MAX];

static uint32_t fuzz_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void fuzz_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* A refusal without a reason is a bug; so is a reason without one. */
static void fuzz_check_why(int rc, char *why)
{
    if (!rc != !why) abort();
    free(why);
}

/*
 * Decodes the frame at f (header, then at least wire_len + tag bytes) in
 * place. Returns its length, or 0 if it was refused.
 */
static size_t fuzz_decode(struct frame_dec *d, uint8_t *f, size_t len)
{
    struct frame_hdr h;
    char *why = NULL;
    int rc;

    if (len < FRAME_HDR_LEN) return 0;
    rc = frame_dec_hdr(d, f, &h, &why);
    fuzz_check_why(rc, why);
    if (rc) return 0;
    if (len - FRAME_HDR_LEN < (size_t)h.wire_len + FRAME_TAG_LEN) return 0;
    why = NULL;
    rc = frame_dec_open(d, &h, f, f + FRAME_HDR_LEN, fuzz_out, &why);
    fuzz_check_why(rc, why);
    return rc ? 0 : FRAME_HDR_LEN + h.wire_len + FRAME_TAG_LEN;
}

/*
 * fuzz_decode() through frame_dec_open_iov(): the pieces are gathered
 * into fuzz_out2, and must add up to raw_len.
 */
static size_t fuzz_decode_iov(struct frame_dec *d, uint8_t *f, size_t len)
{
    struct frame_hdr h;
    char *why = NULL;
    size_t off = 0;
    int rc, cnt = -1, i;

    if (len < FRAME_HDR_LEN) return 0;
    rc = frame_dec_hdr(d, f, &h, &why);
    fuzz_check_why(rc, why);
    if (rc) return 0;
    if (len - FRAME_HDR_LEN < (size_t)h.wire_len + FRAME_TAG_LEN) return 0;
    why = NULL;
    rc = frame_dec_open_iov(d, &h, f, f + FRAME_HDR_LEN, fuzz_iov, &cnt,
                            &why);
    fuzz_check_why(rc, why);
    if (cnt < 0 || cnt > FRAME_IOV_MAX || (rc && cnt)) abort();
    for (i = 0; i < cnt; i++) {
        if (fuzz_iov[i].iov_len > h.raw_len - off) abort();
        memcpy(fuzz_out2 + off, fuzz_iov[i].iov_base, fuzz_iov[i].iov_len);
        off += fuzz_iov[i].iov_len;
    }
    if (!rc && off != h.raw_len) abort();
    return rc ? 0 : FRAME_HDR_LEN + h.wire_len + FRAME_TAG_LEN;
}

/* Mode 0: a stream of frames off the network. */
static void fuzz_stream(const uint8_t *p, size_t len, bool encrypt)
{
    struct frame_dec *d = frame_dec_new(&fuzz_keys, FUZZ_ALL_CODECS,
                                        encrypt);
    size_t n, off = 0;

    if (!d) abort();
    /* The body may be changed in place: work on a copy. */
    memcpy(fuzz_frame, p, len);
    while ((n = fuzz_decode(d, fuzz_frame + off, len - off))) off += n;
    frame_dec_free(d);
}

/* Seals a frame from its header fields and plaintext payload. */
static size_t fuzz_seal(bool encrypt, const uint8_t *fields, uint32_t wire,
                        uint64_t seq, const uint8_t *payload)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    uint8_t iv[12], *p = fuzz_frame + FRAME_HDR_LEN;
    int n, i;

    if (!c) abort();
    memcpy(fuzz_frame, FRAME_MAGIC, 4);
    fuzz_put_le32(fuzz_frame + 4, fields[0]);
    fuzz_put_le32(fuzz_frame + 8, fields[1]);
    fuzz_put_le32(fuzz_frame + 12, fields[2]);
    fuzz_put_le32(fuzz_frame + 16, fuzz_le32(fields + 3));
    fuzz_put_le32(fuzz_frame + 20, wire);
    fuzz_put_le32(fuzz_frame + 24, (uint32_t)seq);
    fuzz_put_le32(fuzz_frame + 28, (uint32_t)(seq >> 32));
    memcpy(iv, fuzz_keys.salt, 4);
    for (i = 0; i < 8; i++) iv[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
    memcpy(p, payload, wire);
    if (!EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, fuzz_keys.key, iv) ||
        !EVP_EncryptUpdate(c, NULL, &n, fuzz_frame, FRAME_HDR_LEN) ||
        (wire && !EVP_EncryptUpdate(c, encrypt ? p : NULL, &n, p,
                                    (int)wire)) ||
        !EVP_EncryptFinal_ex(c, p + wire, &n) ||
        !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, FRAME_TAG_LEN,
                             p + wire))
        abort();
    EVP_CIPHER_CTX_free(c);
    return FRAME_HDR_LEN + wire + FRAME_TAG_LEN;
}

/*
 * Mode 1: records of u8 type, u8 codec, u8 flags, u32 raw_len, u32
 * wire_len (cut to what is left), then wire_len payload bytes; each is
 * sealed as the next frame. Unless the first record is an AUTH frame, a
 * valid one goes first, so that the session is open.
 */
static void fuzz_sealed(const uint8_t *p, size_t len, bool encrypt)
{
    struct frame_dec *d = frame_dec_new(&fuzz_keys, FUZZ_ALL_CODECS,
                                        encrypt);
    uint8_t auth[FUZZ_RECORD_HDR] = { FRAME_AUTH };
    uint64_t seq = 0;
    uint32_t wire;
    size_t n;

    if (!d) abort();
    auth[2] = encrypt ? FRAME_F_ENCRYPTED : 0;
    if (!len || p[0] != FRAME_AUTH) {
        n = fuzz_seal(encrypt, auth, FRAME_SESSION_LEN, seq++,
                      fuzz_keys.session);
        if (!fuzz_decode(d, fuzz_frame, n)) abort();
    }
    while (len >= FUZZ_RECORD_HDR) {
        wire = fuzz_le32(p + 7);
        if (wire > len - FUZZ_RECORD_HDR) wire = len - FUZZ_RECORD_HDR;
        n = fuzz_seal(encrypt, p, wire, seq++, p + FUZZ_RECORD_HDR);
        if (!fuzz_decode(d, fuzz_frame, n)) break;
        p += FUZZ_RECORD_HDR + wire;
        len -= FUZZ_RECORD_HDR + wire;
    }
    frame_dec_free(d);
}

/* Two sessions under the same key: the usual calls, and the copy-free. */
struct fuzz_pair {
    struct frame_enc *e, *e2;
    struct frame_dec *d, *d2;
};

/*
 * Encodes fuzz_in[0..len) as one frame in each session: the same bytes
 * (PAGES in place in the second); each decoder must give the input back.
 */
static void fuzz_roundtrip_one(struct fuzz_pair *s, bool pages,
                               enum frame_codec codec, size_t len)
{
    size_t n, n2, off = frame_pages_inplace_offset(len);
    int rc, rc2;

    if (pages) {
        rc = frame_enc_pages(s->e, codec, fuzz_in, len, fuzz_frame, &n);
        memcpy(fuzz_frame2 + off, fuzz_in, len);
        rc2 = frame_enc_pages_inplace(s->e2, codec, fuzz_frame2, len, &n2);
    } else {
        rc = frame_enc_data(s->e, codec, fuzz_in, len, fuzz_frame, &n);
        rc2 = frame_enc_data(s->e2, codec, fuzz_in, len, fuzz_frame2, &n2);
    }
    if (rc || rc2 || n > frame_enc_bound(len) || n != n2 ||
        memcmp(fuzz_frame, fuzz_frame2, n))
        abort();
    if (fuzz_decode(s->d, fuzz_frame, n) != n) abort();
    if (memcmp(fuzz_out, fuzz_in, len)) abort();
    if (fuzz_decode_iov(s->d2, fuzz_frame2, n) != n) abort();
    if (memcmp(fuzz_out2, fuzz_in, len)) abort();
}

/* The AUTH or END frame in both sessions. */
static void fuzz_control(struct fuzz_pair *s, bool end)
{
    size_t n;

    if ((end ? frame_enc_end(s->e, fuzz_frame, &n) :
               frame_enc_auth(s->e, fuzz_frame, &n)) ||
        !fuzz_decode(s->d, fuzz_frame, n))
        abort();
    if ((end ? frame_enc_end(s->e2, fuzz_frame2, &n) :
               frame_enc_auth(s->e2, fuzz_frame2, &n)) ||
        !fuzz_decode_iov(s->d2, fuzz_frame2, n))
        abort();
}

/*
 * Mode 2: p[0] picks the codec and how many pages, p[1] which of the
 * first 8 pages are zero; the rest is data, tiled over the pages.
 */
static void fuzz_roundtrip(const uint8_t *p, size_t len, bool encrypt)
{
    struct fuzz_pair s = {
        .e = frame_enc_new(&fuzz_keys, encrypt),
        .e2 = frame_enc_new(&fuzz_keys, encrypt),
        .d = frame_dec_new(&fuzz_keys, FUZZ_ALL_CODECS, encrypt),
        .d2 = frame_dec_new(&fuzz_keys, FUZZ_ALL_CODECS, encrypt),
    };
    enum frame_codec codec;
    size_t pages, i;

    if (!s.e || !s.e2 || !s.d || !s.d2) abort();
    if (len < 3) goto out;
    codec = (enum frame_codec)(p[0] % FRAME_CODEC_NR);
    pages = 1 + (size_t)(p[0] / FRAME_CODEC_NR) % 16;
    fuzz_control(&s, false);
    for (i = 0; i < pages * FRAME_PAGE_SIZE; i++)
        fuzz_in[i] = p[2 + i % (len - 2)];
    for (i = 0; i < pages && i < 8; i++)
        if (p[1] >> i & 1)
            memset(fuzz_in + i * FRAME_PAGE_SIZE, 0, FRAME_PAGE_SIZE);
    fuzz_roundtrip_one(&s, true, codec, pages * FRAME_PAGE_SIZE);
    /* The data alone, then all the pages as data. */
    memcpy(fuzz_in, p + 2, len - 2);
    fuzz_roundtrip_one(&s, false, codec, len - 2);
    for (i = 0; i < pages * FRAME_PAGE_SIZE; i++)
        fuzz_in[i] = p[2 + i % (len - 2)];
    fuzz_roundtrip_one(&s, false, codec, pages * FRAME_PAGE_SIZE);
    fuzz_control(&s, true);
out:
    frame_enc_free(s.e);
    frame_enc_free(s.e2);
    frame_dec_free(s.d);
    frame_dec_free(s.d2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool encrypt;

    if (!size) return 0;
    /* Larger inputs only repeat what a frame's bounds already cover. */
    if (size > FRAME_RAW_MAX) size = FRAME_RAW_MAX;
    encrypt = (data[0] / 3) & 1;
    switch (data[0] % 3) {
    case 0: fuzz_stream(data + 1, size - 1, encrypt); break;
    case 1: fuzz_sealed(data + 1, size - 1, encrypt); break;
    case 2: fuzz_roundtrip(data + 1, size - 1, encrypt); break;
    }
    return 0;
}
