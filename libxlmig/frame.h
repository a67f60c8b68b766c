/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * frame.h - the framed stream of xlmig/1: how two xlmig ends carry a
 * libxl migration stream when both speak it (over ssh, or over a direct
 * TCP data connection negotiated on ssh). Pure: no I/O, no globals.
 *
 * Each frame stands for raw_len bytes of the libxl stream, in order:
 *
 *   header, 32 bytes, little-endian:
 *     u8[4] magic "xfr1"
 *     u32   type        FRAME_DATA, FRAME_PAGES, FRAME_END, FRAME_AUTH
 *     u32   codec       FRAME_CODEC_* of the payload
 *     u32   flags       FRAME_F_ENCRYPTED; other bits must be 0
 *     u32   raw_len     stream bytes this frame stands for
 *     u32   wire_len    payload bytes that follow the header
 *     u64   seq         0 for the first frame, then +1 each
 *   payload, wire_len bytes
 *   tag, 16 bytes: AES-256-GCM under the session key, IV = the 4-byte
 *     salt of the session then seq (big-endian, 8 bytes), AAD = the
 *     header; the payload is encrypted when FRAME_F_ENCRYPTED, otherwise
 *     it is authenticated only (it is AAD too: GMAC).
 *
 * Types:
 *   FRAME_AUTH   the first frame of a session, raw_len 0; payload: the
 *                16-byte session id. Proves the peer holds the key.
 *   FRAME_DATA   payload (after decryption and decompression): raw_len
 *                bytes of stream.
 *   FRAME_PAGES  raw_len is n * 4096 (1 <= n <= FRAME_PAGES_MAX) bytes of
 *                PAGE_DATA page data. Payload (after decryption and
 *                decompression): a bitmap of ceil(n / 8) bytes, bit i
 *                (byte i / 8, bit i % 8) set when page i is all zero and
 *                left out, then the 4096 bytes of each page not left out,
 *                in order. Bits past n must be 0.
 *   FRAME_END    raw_len 0, wire_len 0: the stream is complete. A session
 *                without it was cut short.
 *
 * The tag is checked before anything else of the frame is used; a frame
 * out of sequence, with a bad tag, an unknown type, codec or flag, a codec
 * the session did not allow, or lengths that do not add up is refused with
 * a reason that names the frame.
 */
#ifndef XLMIG_FRAME_H
#define XLMIG_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "internal.h"

#define FRAME_MAGIC "xfr1"
#define FRAME_HDR_LEN 32
#define FRAME_TAG_LEN 16
#define FRAME_KEY_LEN 32            /* AES-256 */
#define FRAME_SALT_LEN 4
#define FRAME_SESSION_LEN 16
#define FRAME_AUTH_LEN (FRAME_HDR_LEN + FRAME_SESSION_LEN + FRAME_TAG_LEN)
#define FRAME_PAGE_SIZE 4096
#define FRAME_PAGES_MAX 256         /* 1 MiB of pages per frame */
#define FRAME_RAW_MAX (FRAME_PAGES_MAX * FRAME_PAGE_SIZE)
/* Worst case payload: incompressible data grows a little (lz4/zstd
 * bounds for FRAME_RAW_MAX plus the bitmap). */
#define FRAME_WIRE_MAX (FRAME_RAW_MAX + (FRAME_RAW_MAX / 128) + 4096)

enum frame_type {
    FRAME_DATA = 1,
    FRAME_PAGES = 2,
    FRAME_END = 3,
    FRAME_AUTH = 4,
};

enum frame_codec {
    FRAME_CODEC_NONE = 0,
    FRAME_CODEC_LZ4 = 1,
    FRAME_CODEC_ZSTD = 2,
    FRAME_CODEC_NR = 3,
};

#define FRAME_F_ENCRYPTED 1u

/* What a session's two ends agree on over the control channel. */
struct frame_keys {
    uint8_t key[FRAME_KEY_LEN];
    uint8_t salt[FRAME_SALT_LEN];
    uint8_t session[FRAME_SESSION_LEN];
};

/* Fills keys with fresh random bytes (getrandom). */
MUST_CHECK int frame_keys_new(struct frame_keys *k);
/*
 * Hex form for the control channel: 2 * (32 + 4 + 16) = 104 hex digits,
 * key then salt then session id. parse: exactly that, else XLMIG_E_PROTO.
 */
#define FRAME_KEYS_HEX_LEN 104
void frame_keys_hex(const struct frame_keys *k,
                    char out[FRAME_KEYS_HEX_LEN + 1]);
MUST_CHECK int frame_keys_parse(const char *hex, struct frame_keys *k);

/* "none", "lz4", "zstd"; NULL for an unknown codec. And back (-1). */
const char *frame_codec_name(enum frame_codec c);
int frame_codec_from_name(const char *name);
/* Whether this build can use codec c (always true for NONE). */
bool frame_codec_available(enum frame_codec c);

struct frame_hdr {
    uint32_t type, codec, flags, raw_len, wire_len;
    uint64_t seq;
};

/* ---- the sending end ---- */

struct frame_enc;

/* encrypt: FRAME_F_ENCRYPTED on every frame. NULL if OpenSSL or zstd
 * cannot be set up. */
struct frame_enc *frame_enc_new(const struct frame_keys *k, bool encrypt);
void frame_enc_free(struct frame_enc *e);   /* NULL is fine */

/*
 * Encodes one frame into out (which must hold frame_enc_bound(len)
 * bytes) and returns its length in *out_len_r:
 *   frame_enc_auth:  the AUTH frame (call first, once, on a data
 *                    connection; over ssh it is sent too); it is exactly
 *                    FRAME_AUTH_LEN bytes;
 *   frame_enc_data:  len (1..FRAME_RAW_MAX) stream bytes as FRAME_DATA,
 *                    compressed with codec when that makes it smaller;
 *   frame_enc_pages: len (a multiple of 4096, 4096..FRAME_RAW_MAX) bytes
 *                    of page data as FRAME_PAGES: zero pages left out,
 *                    then compressed with codec when that makes it
 *                    smaller;
 *   frame_enc_end:   the END frame.
 * Every frame takes the next seq. Errors: XLMIG_E_INVAL for a bad length
 * or an unavailable codec, XLMIG_E_INTERNAL if a library call fails.
 */
size_t frame_enc_bound(size_t len);
MUST_CHECK int frame_enc_auth(struct frame_enc *e, uint8_t *out,
                              size_t *out_len_r);
MUST_CHECK int frame_enc_data(struct frame_enc *e, enum frame_codec codec,
                              const uint8_t *in, size_t len, uint8_t *out,
                              size_t *out_len_r);
MUST_CHECK int frame_enc_pages(struct frame_enc *e, enum frame_codec codec,
                               const uint8_t *in, size_t len, uint8_t *out,
                               size_t *out_len_r);
MUST_CHECK int frame_enc_end(struct frame_enc *e, uint8_t *out,
                             size_t *out_len_r);

/*
 * frame_enc_pages() without the copy: the len bytes of page data are
 * already at buf + frame_pages_inplace_offset(len) (the header and the
 * bitmap go in front of them), buf holds frame_enc_bound(len) bytes, and
 * the frame is made and sealed where the pages are; the result is byte
 * for byte what frame_enc_pages() makes of the same pages. Zero pages are
 * left out by moving the pages after them down; a codec compresses
 * through the encoder's scratch. The page data is gone afterwards, also
 * on failure. Errors as frame_enc_pages().
 */
size_t frame_pages_inplace_offset(size_t len);
MUST_CHECK int frame_enc_pages_inplace(struct frame_enc *e,
                                       enum frame_codec codec, uint8_t *buf,
                                       size_t len, size_t *out_len_r);

/*
 * frame_enc_pages_inplace() in two steps, for a caller that picks the
 * codec knowing what the pages came to (the auto codec, pump-auto.h):
 * frame_enc_pack_pages() leaves the zero pages out where the len bytes of
 * pages are (buf as for frame_enc_pages_inplace()) and says what is left
 * in *pk_r: its payload_len is what codec NONE would send;
 * frame_enc_packed_pages() then compresses and seals that payload, as
 * frame_enc_pages_inplace() would have. The result is byte for byte the
 * same. Errors: XLMIG_E_INVAL for a bad length or codec, or a pk that
 * does not describe a packed payload; as frame_enc_pages() otherwise.
 */
struct frame_packed {
    size_t pages;               /* pages the frame stands for */
    size_t zero_pages;          /* of them left out */
    size_t payload_len;         /* bitmap and the pages kept */
};
MUST_CHECK int frame_enc_pack_pages(uint8_t *buf, size_t len,
                                    struct frame_packed *pk_r);
MUST_CHECK int frame_enc_packed_pages(struct frame_enc *e,
                                      enum frame_codec codec, uint8_t *buf,
                                      const struct frame_packed *pk,
                                      size_t *out_len_r);

/*
 * What codec would make of a payload, without making a frame (the auto
 * codec's trials): the length of the packed pages of pk at buf
 * (frame_enc_try_pages()), or of len stream bytes at in
 * (frame_enc_try_data()), compressed, in *len_r; the input's own length
 * if the codec does not make it smaller. Only the encoder's scratch
 * changes. Errors as frame_enc_packed_pages() and frame_enc_data().
 */
MUST_CHECK int frame_enc_try_pages(struct frame_enc *e,
                                   enum frame_codec codec,
                                   const uint8_t *buf,
                                   const struct frame_packed *pk,
                                   size_t *len_r);
MUST_CHECK int frame_enc_try_data(struct frame_enc *e, enum frame_codec codec,
                                  const uint8_t *in, size_t len,
                                  size_t *len_r);

/* What the encoder has done so far (for progress and auto codec). */
struct frame_enc_stats {
    uint64_t frames;
    uint64_t raw_bytes;         /* stream bytes encoded */
    uint64_t wire_bytes;        /* frame bytes produced, headers included */
    uint64_t zero_pages;        /* pages left out */
    uint64_t pages;             /* pages seen in FRAME_PAGES */
};
void frame_enc_get_stats(const struct frame_enc *e,
                         struct frame_enc_stats *st);

/* ---- the receiving end ---- */

struct frame_dec;

/*
 * codecs: a bit mask (1u << FRAME_CODEC_*) of what the session allows
 * (NONE is always allowed). encrypt: every frame must carry
 * FRAME_F_ENCRYPTED; otherwise none may. NULL if OpenSSL or zstd cannot
 * be set up.
 */
struct frame_dec *frame_dec_new(const struct frame_keys *k,
                                unsigned codecs, bool encrypt);
void frame_dec_free(struct frame_dec *d);   /* NULL is fine */

/*
 * Parses the 32-byte header of the next frame: magic, known type, codec
 * and flags, seq == the next expected, lengths within bounds and
 * consistent with the type (AUTH: raw 0, wire FRAME_SESSION_LEN, codec
 * NONE, at seq 0 and only there; END: 0 and 0, codec NONE; DATA: raw at
 * least 1; PAGES: raw a multiple of 4096, and without a codec exactly
 * the bitmap and whole pages); nothing after END. Nothing is trusted
 * until frame_dec_open() checked the tag. *why_r (allocated) on failure:
 * XLMIG_E_PROTO, XLMIG_E_TOOBIG (raw_len over FRAME_RAW_MAX, wire_len
 * over FRAME_WIRE_MAX).
 */
MUST_CHECK int frame_dec_hdr(struct frame_dec *d, const uint8_t *hdr,
                             struct frame_hdr *h, char **why_r);
/*
 * Checks the tag of the frame whose header h was parsed, over hdr (32
 * bytes) and body (h->wire_len bytes of payload then the 16-byte tag),
 * decrypts and decompresses, and writes the h->raw_len stream bytes it
 * stands for to out (which must hold FRAME_RAW_MAX bytes). The body may
 * be changed in place. AUTH: checks the session id, writes nothing (out
 * may be NULL). On
 * success the next seq is expected.
 * XLMIG_E_AUTH: the tag does not match (wrong key, corrupted or injected
 * data) or the session id differs; XLMIG_E_PROTO: the payload does not
 * decode to exactly raw_len bytes or the bitmap is inconsistent;
 * XLMIG_E_INVAL: h is not what hdr says; XLMIG_E_INTERNAL: the cipher
 * failed. *why_r names the frame (seq, type) and the reason. Bytes
 * decrypted into out before a tag mismatch are wiped.
 */
MUST_CHECK int frame_dec_open(struct frame_dec *d, const struct frame_hdr *h,
                              const uint8_t *hdr, uint8_t *body,
                              uint8_t *out, char **why_r);

/*
 * frame_dec_open() without the copy to out: the same checks, in the same
 * order, with the same errors, but the raw_len stream bytes are given as
 * *iovcnt_r (0..FRAME_IOV_MAX) pieces in iov, which must hold
 * FRAME_IOV_MAX entries. They point into body (decrypted in place), into
 * the decoder's scratch (a decompressed payload) and at a constant zero
 * page (pages left out); adjacent pages of body are one piece. They are
 * valid until body changes or the next call on d. AUTH and END: 0
 * pieces. Nothing is given unless this returns XLMIG_OK.
 */
#define FRAME_IOV_MAX FRAME_PAGES_MAX
MUST_CHECK int frame_dec_open_iov(struct frame_dec *d,
                                  const struct frame_hdr *h,
                                  const uint8_t *hdr, uint8_t *body,
                                  struct iovec *iov, int *iovcnt_r,
                                  char **why_r);

#endif /* XLMIG_FRAME_H */
