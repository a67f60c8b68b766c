/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-frame.c - the framed stream of xlmig/1 (frame.c): every type,
 * codec and cipher mode round-trips; the bytes are the ones frame.h
 * describes (a frame sealed here with OpenSSL directly must equal the
 * encoder's); and whatever is wrong with a frame, it is refused with a
 * reason, never accepted and never read out of bounds. Frames with a
 * valid tag are sealed here by hand, so that the checks behind the tag
 * (bitmap, decompressed sizes, session id) are reached too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "frame.h"

#define TEST_ALL_CODECS \
    (1u << FRAME_CODEC_NONE | 1u << FRAME_CODEC_LZ4 | 1u << FRAME_CODEC_ZSTD)
#define TEST_FRAME_MAX (FRAME_HDR_LEN + FRAME_WIRE_MAX + FRAME_TAG_LEN)
#define TEST_LEN 262144             /* 64 pages: enough for every case */

enum test_kind { TEST_ZERO, TEST_TEXT, TEST_RANDOM, TEST_MIXED };

/* Big buffers, shared: the tests run one at a time. */
static uint8_t test_in[FRAME_RAW_MAX];
static uint8_t test_out[FRAME_RAW_MAX];
static uint8_t test_frame[TEST_FRAME_MAX];
static uint8_t test_frame2[TEST_FRAME_MAX];
static uint8_t test_body[FRAME_WIRE_MAX + FRAME_TAG_LEN];
static uint8_t test_payload[FRAME_WIRE_MAX];
static uint8_t test_raw2[FRAME_RAW_MAX];
static struct iovec test_iov[FRAME_IOV_MAX];
/* test_dec() opens with frame_dec_open_iov() and gathers its pieces. */
static bool test_iov_mode;

static uint64_t test_rng = 0x9e3779b97f4a7c15ull;

static uint64_t test_rand(void)
{
    test_rng ^= test_rng << 13;
    test_rng ^= test_rng >> 7;
    test_rng ^= test_rng << 17;
    return test_rng;
}

static void test_keys(struct frame_keys *k, uint8_t seed)
{
    size_t i;

    for (i = 0; i < sizeof(k->key); i++) k->key[i] = (uint8_t)(seed + i);
    for (i = 0; i < sizeof(k->salt); i++)
        k->salt[i] = (uint8_t)(seed * 3 + i);
    for (i = 0; i < sizeof(k->session); i++)
        k->session[i] = (uint8_t)(seed * 7 + i);
}

static void test_fill_text(uint8_t *p, size_t len)
{
    static const char *const words[] = {
        "migration ", "domain ", "page ", "xen ", "stream ", "frame ",
        "the ", "of ", "dirty ", "round ", "memory ", "guest ",
    };
    const char *w;
    size_t n;

    while (len) {
        w = words[test_rand() % ARRAY_SIZE(words)];
        n = strlen(w) < len ? strlen(w) : len;
        memcpy(p, w, n);
        p += n;
        len -= n;
    }
}

static void test_fill_random(uint8_t *p, size_t len)
{
    uint64_t v;

    for (; len >= 8; p += 8, len -= 8) {
        v = test_rand();
        memcpy(p, &v, 8);
    }
    v = test_rand();
    memcpy(p, &v, len);
}

/* Mixed: pages 40% zero, 30% text, 30% random (by page index). */
static void test_fill(uint8_t *p, size_t len, enum test_kind kind)
{
    size_t off, n;

    switch (kind) {
    case TEST_ZERO: memset(p, 0, len); return;
    case TEST_TEXT: test_fill_text(p, len); return;
    case TEST_RANDOM: test_fill_random(p, len); return;
    case TEST_MIXED: break;
    }
    for (off = 0; off < len; off += FRAME_PAGE_SIZE) {
        n = len - off < FRAME_PAGE_SIZE ? len - off : FRAME_PAGE_SIZE;
        switch (off / FRAME_PAGE_SIZE % 10) {
        case 0: case 3: case 5: case 8: memset(p + off, 0, n); break;
        case 1: case 6: case 9: test_fill_text(p + off, n); break;
        default: test_fill_random(p + off, n); break;
        }
    }
}

static uint32_t test_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void test_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/*
 * Seals a frame by hand, straight from frame.h's description: header,
 * payload, AES-256-GCM tag (IV salt || seq big-endian, AAD header, the
 * payload encrypted when encrypt, else AAD too). Returns its length.
 */
static size_t test_seal(const struct frame_keys *k, bool encrypt,
                        uint32_t type, uint32_t codec, uint32_t flags,
                        uint32_t raw_len, uint64_t seq,
                        const uint8_t *payload, size_t wire, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    uint8_t iv[12], *p = out + FRAME_HDR_LEN;
    int n, i;

    assert_non_null(c);
    memcpy(out, FRAME_MAGIC, 4);
    test_put_le32(out + 4, type);
    test_put_le32(out + 8, codec);
    test_put_le32(out + 12, flags);
    test_put_le32(out + 16, raw_len);
    test_put_le32(out + 20, (uint32_t)wire);
    test_put_le32(out + 24, (uint32_t)seq);
    test_put_le32(out + 28, (uint32_t)(seq >> 32));
    memcpy(iv, k->salt, 4);
    for (i = 0; i < 8; i++) iv[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
    if (wire) memmove(p, payload, wire);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->key,
                                        iv), 1);
    /* Clear: header and payload are one AAD, as GCM sees them. */
    assert_int_equal(EVP_EncryptUpdate(c, NULL, &n, out, FRAME_HDR_LEN +
                                       (encrypt ? 0 : (int)wire)), 1);
    if (encrypt && wire)
        assert_int_equal(EVP_EncryptUpdate(c, p, &n, p, (int)wire), 1);
    assert_int_equal(EVP_EncryptFinal_ex(c, p + wire, &n), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
                                         FRAME_TAG_LEN, p + wire), 1);
    EVP_CIPHER_CTX_free(c);
    return FRAME_HDR_LEN + wire + FRAME_TAG_LEN;
}

/*
 * Gathers the cnt pieces frame_dec_open_iov() gave for h into out (NULL:
 * there must be none), checking that they add up to raw_len and, without
 * a codec, that they are pieces of body or zero pages: nothing copied.
 */
static void test_gather(const struct frame_hdr *h, int cnt, uint8_t *out)
{
    const uint8_t *base;
    size_t off = 0, len;
    int i;

    assert_true(cnt >= 0 && cnt <= FRAME_IOV_MAX);
    if (h->type == FRAME_AUTH || h->type == FRAME_END) {
        assert_int_equal(cnt, 0);
        return;
    }
    assert_non_null(out);
    for (i = 0; i < cnt; i++) {
        base = test_iov[i].iov_base;
        len = test_iov[i].iov_len;
        assert_true(len > 0 && off + len <= h->raw_len);
        if (h->codec == FRAME_CODEC_NONE &&
            (base < test_body || base + len > test_body + h->wire_len))
            assert_true(len == FRAME_PAGE_SIZE && base[0] == 0 &&
                        !memcmp(base, base + 1, len - 1));
        memcpy(out + off, base, len);
        off += len;
    }
    assert_int_equal(off, h->raw_len);
}

/*
 * Decodes the frame f of len bytes as a receiver would: header, then the
 * body it announces. If len is short of that, the rest reads as zeros
 * (the network sent more), so a header with a grown wire_len still gets
 * to frame_dec_open().
 */
static int test_dec(struct frame_dec *d, const uint8_t *f, size_t len,
                    uint8_t *out, char **why_r)
{
    struct frame_hdr h;
    size_t need, have;
    int rc, cnt;

    assert_true(len >= FRAME_HDR_LEN);
    rc = frame_dec_hdr(d, f, &h, why_r);
    if (rc) {
        assert_non_null(*why_r);
        return rc;
    }
    assert_null(*why_r);
    need = h.wire_len + FRAME_TAG_LEN;
    have = len - FRAME_HDR_LEN < need ? len - FRAME_HDR_LEN : need;
    memset(test_body, 0, need);
    memcpy(test_body, f + FRAME_HDR_LEN, have);
    if (test_iov_mode) {
        cnt = -1;
        rc = frame_dec_open_iov(d, &h, f, test_body, test_iov, &cnt, why_r);
        if (rc) assert_int_equal(cnt, 0);
        else test_gather(&h, cnt, out);
    } else {
        rc = frame_dec_open(d, &h, f, test_body, out, why_r);
    }
    if (rc) assert_non_null(*why_r);
    else assert_null(*why_r);
    return rc;
}

/* Expects frame f to decode to rc, with a reason holding needle. */
static void test_dec_fails(struct frame_dec *d, const uint8_t *f,
                           size_t len, int rc, const char *needle)
{
    char *why = NULL;

    assert_int_equal(test_dec(d, f, len, test_out, &why), rc);
    if (!strstr(why, needle)) fail_msg("reason \"%s\" lacks \"%s\"", why,
                                       needle);
    free(why);
}

static void test_dec_ok(struct frame_dec *d, const uint8_t *f, size_t len)
{
    char *why = NULL;
    int rc = test_dec(d, f, len, test_out, &why);

    if (rc) fail_msg("frame refused (%d): %s", rc, why);
}

/* Opens a session on d with the AUTH frame of e (which writes no out). */
static void test_auth(struct frame_enc *e, struct frame_dec *d)
{
    char *why = NULL;
    size_t n;

    assert_int_equal(frame_enc_auth(e, test_frame, &n), 0);
    assert_int_equal(n, FRAME_AUTH_LEN);
    assert_int_equal(test_dec(d, test_frame, n, NULL, &why), 0);
}

/* ---- keys, names, bounds ---- */

static void test_keys_hex_roundtrip(void **state)
{
    struct frame_keys k, k2;
    char hex[FRAME_KEYS_HEX_LEN + 1];
    size_t i;

    (void)state;
    assert_int_equal(frame_keys_new(&k), 0);
    assert_int_equal(frame_keys_new(&k2), 0);
    assert_memory_not_equal(&k, &k2, sizeof(k));
    frame_keys_hex(&k, hex);
    assert_int_equal(strlen(hex), FRAME_KEYS_HEX_LEN);
    for (i = 0; i < FRAME_KEYS_HEX_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", hex[i]));
    assert_int_equal(frame_keys_parse(hex, &k2), 0);
    assert_memory_equal(&k, &k2, sizeof(k));

    /* Upper case is hex too. */
    test_keys(&k, 0xa0);
    frame_keys_hex(&k, hex);
    assert_memory_equal(hex, "a0a1a2a3", 8);
    for (i = 0; i < FRAME_KEYS_HEX_LEN; i++)
        if (hex[i] >= 'a') hex[i] = (char)(hex[i] - 'a' + 'A');
    memset(&k2, 0, sizeof(k2));
    assert_int_equal(frame_keys_parse(hex, &k2), 0);
    assert_memory_equal(&k, &k2, sizeof(k));
    /* Key first, then salt, then session id. */
    frame_keys_hex(&k, hex);
    assert_memory_equal(hex + 64, "e0e1e2e3", 8);
    assert_memory_equal(hex + 72, "60616263", 8);
}

static void test_keys_hex_malformed(void **state)
{
    struct frame_keys k, keep;
    char hex[FRAME_KEYS_HEX_LEN + 2];
    size_t i;

    (void)state;
    test_keys(&k, 1);
    keep = k;
    frame_keys_hex(&k, hex);
    hex[FRAME_KEYS_HEX_LEN - 1] = '\0';                 /* 103 digits */
    assert_int_equal(frame_keys_parse(hex, &k), XLMIG_E_PROTO);
    frame_keys_hex(&k, hex);
    strcat(hex, "0");                                   /* 105 digits */
    assert_int_equal(frame_keys_parse(hex, &k), XLMIG_E_PROTO);
    assert_int_equal(frame_keys_parse("", &k), XLMIG_E_PROTO);
    assert_int_equal(frame_keys_parse(NULL, &k), XLMIG_E_PROTO);
    for (i = 0; i < FRAME_KEYS_HEX_LEN; i += 17) {
        static const char bad[] = "g -xG\n";
        frame_keys_hex(&k, hex);
        hex[i] = bad[i % (sizeof(bad) - 1)];
        assert_int_equal(frame_keys_parse(hex, &k), XLMIG_E_PROTO);
    }
    frame_keys_hex(&k, hex);
    hex[FRAME_KEYS_HEX_LEN - 1] = 'z';                  /* last digit */
    assert_int_equal(frame_keys_parse(hex, &k), XLMIG_E_PROTO);
    /* A refused parse leaves the keys alone. */
    assert_memory_equal(&k, &keep, sizeof(k));
}

static void test_codec_names(void **state)
{
    int c;

    (void)state;
    for (c = 0; c < FRAME_CODEC_NR; c++) {
        assert_non_null(frame_codec_name((enum frame_codec)c));
        assert_int_equal(frame_codec_from_name(
                             frame_codec_name((enum frame_codec)c)), c);
        assert_true(frame_codec_available((enum frame_codec)c));
    }
    assert_string_equal(frame_codec_name(FRAME_CODEC_NONE), "none");
    assert_string_equal(frame_codec_name(FRAME_CODEC_LZ4), "lz4");
    assert_string_equal(frame_codec_name(FRAME_CODEC_ZSTD), "zstd");
    assert_null(frame_codec_name(FRAME_CODEC_NR));
    assert_int_equal(frame_codec_from_name("gzip"), -1);
    assert_int_equal(frame_codec_from_name("LZ4"), -1);
    assert_int_equal(frame_codec_from_name(NULL), -1);
    assert_false(frame_codec_available(FRAME_CODEC_NR));
}

static void test_bound(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    size_t n;
    int c;

    (void)state;
    assert_true(frame_enc_bound(FRAME_RAW_MAX) <= TEST_FRAME_MAX);
    assert_true(frame_enc_bound(0) >=
                FRAME_HDR_LEN + FRAME_SESSION_LEN + FRAME_TAG_LEN);
    assert_true(frame_enc_bound(1) >= FRAME_HDR_LEN + 1 + FRAME_TAG_LEN);
    assert_true(frame_enc_bound(FRAME_RAW_MAX) >=
                FRAME_HDR_LEN + FRAME_RAW_MAX + FRAME_PAGES_MAX / 8 +
                FRAME_TAG_LEN);
    /* The worst case: a full frame of noise, in every codec. */
    test_keys(&k, 2);
    e = frame_enc_new(&k, true);
    assert_non_null(e);
    test_fill(test_in, FRAME_RAW_MAX, TEST_RANDOM);
    for (c = 0; c < FRAME_CODEC_NR; c++) {
        assert_int_equal(frame_enc_pages(e, (enum frame_codec)c, test_in,
                                         FRAME_RAW_MAX, test_frame, &n), 0);
        assert_true(n <= frame_enc_bound(FRAME_RAW_MAX));
        assert_int_equal(n, FRAME_HDR_LEN + FRAME_PAGES_MAX / 8 +
                         FRAME_RAW_MAX + FRAME_TAG_LEN);
        assert_int_equal(frame_enc_data(e, (enum frame_codec)c, test_in,
                                        FRAME_RAW_MAX, test_frame, &n), 0);
        assert_int_equal(n, FRAME_HDR_LEN + FRAME_RAW_MAX + FRAME_TAG_LEN);
    }
    frame_enc_free(e);
    frame_enc_free(NULL);
    frame_dec_free(NULL);
}

/* ---- the bytes on the wire ---- */

static void test_wire_format(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    size_t n, want;
    int enc;

    (void)state;
    test_keys(&k, 3);
    test_fill(test_in, 1000, TEST_TEXT);
    for (enc = 0; enc < 2; enc++) {
        e = frame_enc_new(&k, enc);
        assert_non_null(e);
        assert_int_equal(frame_enc_auth(e, test_frame, &n), 0);
        want = test_seal(&k, enc, FRAME_AUTH, 0, enc ? FRAME_F_ENCRYPTED : 0,
                         0, 0, k.session, FRAME_SESSION_LEN, test_frame2);
        assert_int_equal(n, want);
        assert_memory_equal(test_frame, test_frame2, n);

        assert_int_equal(frame_enc_data(e, FRAME_CODEC_NONE, test_in, 1000,
                                        test_frame, &n), 0);
        want = test_seal(&k, enc, FRAME_DATA, 0, enc ? FRAME_F_ENCRYPTED : 0,
                         1000, 1, test_in, 1000, test_frame2);
        assert_int_equal(n, want);
        assert_memory_equal(test_frame, test_frame2, n);
        /* The header, field by field. */
        assert_memory_equal(test_frame, "xfr1", 4);
        assert_int_equal(test_le32(test_frame + 4), FRAME_DATA);
        assert_int_equal(test_le32(test_frame + 8), FRAME_CODEC_NONE);
        assert_int_equal(test_le32(test_frame + 12),
                         enc ? FRAME_F_ENCRYPTED : 0);
        assert_int_equal(test_le32(test_frame + 16), 1000);
        assert_int_equal(test_le32(test_frame + 20), 1000);
        assert_int_equal(test_le32(test_frame + 24), 1);
        assert_int_equal(test_le32(test_frame + 28), 0);
        /* Encrypted: no plaintext shows. Clear: the data as it was. */
        if (enc)
            assert_memory_not_equal(test_frame + FRAME_HDR_LEN, test_in,
                                    1000);
        else
            assert_memory_equal(test_frame + FRAME_HDR_LEN, test_in, 1000);

        assert_int_equal(frame_enc_end(e, test_frame, &n), 0);
        want = test_seal(&k, enc, FRAME_END, 0, enc ? FRAME_F_ENCRYPTED : 0,
                         0, 2, NULL, 0, test_frame2);
        assert_int_equal(n, want);
        assert_memory_equal(test_frame, test_frame2, n);
        frame_enc_free(e);
    }
}

/* ---- round trips ---- */

/* Encodes len bytes of kind as type with codec, decodes, compares. */
static void test_roundtrip_one(uint32_t type, enum frame_codec codec,
                               bool enc, enum test_kind kind, size_t len)
{
    struct frame_keys k;
    struct frame_enc *e;
    struct frame_dec *d;
    uint32_t used, wire;
    size_t n;

    test_keys(&k, 4);
    e = frame_enc_new(&k, enc);
    d = frame_dec_new(&k, TEST_ALL_CODECS, enc);
    assert_non_null(e);
    assert_non_null(d);
    test_auth(e, d);
    test_fill(test_in, len, kind);
    if (type == FRAME_DATA)
        assert_int_equal(frame_enc_data(e, codec, test_in, len, test_frame,
                                        &n), 0);
    else
        assert_int_equal(frame_enc_pages(e, codec, test_in, len, test_frame,
                                         &n), 0);
    assert_true(n <= frame_enc_bound(len));
    used = test_le32(test_frame + 8);
    wire = test_le32(test_frame + 20);
    assert_int_equal(n, FRAME_HDR_LEN + wire + FRAME_TAG_LEN);
    /* Noise does not compress: sent as it is. */
    if (kind == TEST_RANDOM) assert_int_equal(used, FRAME_CODEC_NONE);
    /* Text and zeros do: the codec asked for is used, and smaller. */
    if (len >= TEST_LEN && codec != FRAME_CODEC_NONE &&
        kind != TEST_RANDOM &&
        !(type == FRAME_PAGES && kind == TEST_ZERO)) {
        assert_int_equal(used, codec);
        assert_true(wire < len / 2);
    }
    /* All zero pages: just the bitmap, or less. */
    if (type == FRAME_PAGES && kind == TEST_ZERO)
        assert_true(wire <= (len / FRAME_PAGE_SIZE + 7) / 8);
    if (codec == FRAME_CODEC_NONE) assert_int_equal(used, FRAME_CODEC_NONE);

    memset(test_out, 0xa5, len);
    test_dec_ok(d, test_frame, n);
    assert_memory_equal(test_out, test_in, len);

    assert_int_equal(frame_enc_end(e, test_frame, &n), 0);
    test_dec_ok(d, test_frame, n);
    frame_enc_free(e);
    frame_dec_free(d);
}

static void test_roundtrip_matrix(void **state)
{
    static const uint32_t types[] = { FRAME_DATA, FRAME_PAGES };
    size_t t, kind;
    int c, enc;

    (void)state;
    for (t = 0; t < ARRAY_SIZE(types); t++)
        for (c = 0; c < FRAME_CODEC_NR; c++)
            for (enc = 0; enc < 2; enc++)
                for (kind = TEST_ZERO; kind <= TEST_MIXED; kind++)
                    test_roundtrip_one(types[t], (enum frame_codec)c, enc,
                                       (enum test_kind)kind, TEST_LEN);
}

static void test_roundtrip_sizes(void **state)
{
    static const size_t data_lens[] = { 1, 2, 15, 16, 17, 4095, 4097,
                                        12345, FRAME_RAW_MAX };
    static const size_t page_counts[] = { 1, 7, 8, 9, 255, FRAME_PAGES_MAX };
    size_t i;
    int c;

    (void)state;
    for (c = 0; c < FRAME_CODEC_NR; c++) {
        for (i = 0; i < ARRAY_SIZE(data_lens); i++) {
            test_roundtrip_one(FRAME_DATA, (enum frame_codec)c, true,
                               TEST_MIXED, data_lens[i]);
            test_roundtrip_one(FRAME_DATA, (enum frame_codec)c, false,
                               TEST_TEXT, data_lens[i]);
        }
        for (i = 0; i < ARRAY_SIZE(page_counts); i++)
            test_roundtrip_one(FRAME_PAGES, (enum frame_codec)c, true,
                               TEST_MIXED,
                               page_counts[i] * FRAME_PAGE_SIZE);
    }
}

/* Many frames in one session, the decoder's seq following the encoder's. */
static void test_session(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    struct frame_dec *d;
    size_t n, i, len;

    (void)state;
    test_keys(&k, 5);
    e = frame_enc_new(&k, true);
    d = frame_dec_new(&k, TEST_ALL_CODECS, true);
    test_auth(e, d);
    for (i = 0; i < 30; i++) {
        len = (i % 5 + 1) * FRAME_PAGE_SIZE;
        test_fill(test_in, len, (enum test_kind)(i % 4));
        if (i % 2)
            assert_int_equal(frame_enc_pages(e, (enum frame_codec)(i % 3),
                                             test_in, len, test_frame, &n),
                             0);
        else
            assert_int_equal(frame_enc_data(e, (enum frame_codec)(i % 3),
                                             test_in, len - i, test_frame,
                                             &n), 0);
        assert_int_equal(test_le32(test_frame + 24), i + 1);
        test_dec_ok(d, test_frame, n);
        assert_memory_equal(test_out, test_in, i % 2 ? len : len - i);
    }
    assert_int_equal(frame_enc_end(e, test_frame, &n), 0);
    test_dec_ok(d, test_frame, n);
    /* Nothing may follow the end. */
    assert_int_equal(frame_enc_end(e, test_frame, &n), 0);
    test_dec_fails(d, test_frame, n, XLMIG_E_PROTO, "after the end");
    frame_enc_free(e);
    frame_dec_free(d);
}

static void test_compression_shrinks(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    size_t n, sizes[FRAME_CODEC_NR];
    int c;

    (void)state;
    test_keys(&k, 6);
    test_fill(test_in, TEST_LEN, TEST_TEXT);
    e = frame_enc_new(&k, false);
    for (c = 0; c < FRAME_CODEC_NR; c++) {
        assert_int_equal(frame_enc_data(e, (enum frame_codec)c, test_in,
                                        TEST_LEN, test_frame, &n), 0);
        sizes[c] = n;
    }
    assert_int_equal(sizes[FRAME_CODEC_NONE],
                     FRAME_HDR_LEN + TEST_LEN + FRAME_TAG_LEN);
    assert_true(sizes[FRAME_CODEC_LZ4] < TEST_LEN / 2);
    assert_true(sizes[FRAME_CODEC_ZSTD] < TEST_LEN / 2);
    assert_true(sizes[FRAME_CODEC_ZSTD] < sizes[FRAME_CODEC_LZ4]);
    frame_enc_free(e);
}

static void test_stats(void **state)
{
    struct frame_enc_stats st;
    struct frame_keys k;
    struct frame_enc *e;
    size_t n, wire = 0;

    (void)state;
    test_keys(&k, 7);
    e = frame_enc_new(&k, true);
    frame_enc_get_stats(e, &st);
    assert_int_equal(st.frames, 0);
    assert_int_equal(st.wire_bytes, 0);
    assert_int_equal(frame_enc_auth(e, test_frame, &n), 0);
    wire += n;
    test_fill(test_in, 20 * FRAME_PAGE_SIZE, TEST_MIXED);   /* 8 zero */
    assert_int_equal(frame_enc_pages(e, FRAME_CODEC_LZ4, test_in,
                                     20 * FRAME_PAGE_SIZE, test_frame, &n),
                     0);
    wire += n;
    assert_int_equal(frame_enc_data(e, FRAME_CODEC_ZSTD, test_in, 777,
                                    test_frame, &n), 0);
    wire += n;
    /* A refused frame counts for nothing. */
    assert_int_equal(frame_enc_data(e, FRAME_CODEC_NONE, test_in, 0,
                                    test_frame, &n), XLMIG_E_INVAL);
    assert_int_equal(frame_enc_end(e, test_frame, &n), 0);
    wire += n;
    frame_enc_get_stats(e, &st);
    assert_int_equal(st.frames, 4);
    assert_int_equal(st.raw_bytes, 20 * FRAME_PAGE_SIZE + 777);
    assert_int_equal(st.wire_bytes, wire);
    assert_int_equal(st.pages, 20);
    assert_int_equal(st.zero_pages, 8);
    frame_enc_free(e);
}

static void test_enc_bad_args(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    struct frame_dec *d;
    size_t n = 99;

    (void)state;
    test_keys(&k, 8);
    e = frame_enc_new(&k, false);
    d = frame_dec_new(&k, TEST_ALL_CODECS, false);
    assert_int_equal(frame_enc_data(e, FRAME_CODEC_NONE, test_in, 0,
                                    test_frame, &n), XLMIG_E_INVAL);
    assert_int_equal(n, 0);
    assert_int_equal(frame_enc_data(e, FRAME_CODEC_NONE, test_in,
                                    FRAME_RAW_MAX + 1, test_frame, &n),
                     XLMIG_E_INVAL);
    assert_int_equal(frame_enc_data(e, FRAME_CODEC_NR, test_in, 10,
                                    test_frame, &n), XLMIG_E_INVAL);
    assert_int_equal(frame_enc_data(e, (enum frame_codec)-1, test_in, 10,
                                    test_frame, &n), XLMIG_E_INVAL);
    assert_int_equal(frame_enc_pages(e, FRAME_CODEC_NONE, test_in, 0,
                                     test_frame, &n), XLMIG_E_INVAL);
    assert_int_equal(frame_enc_pages(e, FRAME_CODEC_NONE, test_in, 4095,
                                     test_frame, &n), XLMIG_E_INVAL);
    assert_int_equal(frame_enc_pages(e, FRAME_CODEC_NONE, test_in, 4097,
                                     test_frame, &n), XLMIG_E_INVAL);
    assert_int_equal(frame_enc_pages(e, FRAME_CODEC_NONE, test_in,
                                     FRAME_RAW_MAX + FRAME_PAGE_SIZE,
                                     test_frame, &n), XLMIG_E_INVAL);
    assert_int_equal(frame_enc_pages(e, FRAME_CODEC_NR, test_in, 4096,
                                     test_frame, &n), XLMIG_E_INVAL);
    /* None of them took a seq: the session goes on. */
    test_auth(e, d);
    frame_enc_free(e);
    frame_dec_free(d);
}

/* ---- refusals ---- */

static void test_wrong_key_salt_session(void **state)
{
    struct frame_keys k, other;
    struct frame_enc *e;
    struct frame_dec *d;
    size_t n;
    int enc;

    (void)state;
    test_keys(&k, 9);
    for (enc = 0; enc < 2; enc++) {
        e = frame_enc_new(&k, enc);
        assert_int_equal(frame_enc_auth(e, test_frame, &n), 0);

        other = k;
        other.key[31] ^= 1;
        d = frame_dec_new(&other, 0, enc);
        test_dec_fails(d, test_frame, n, XLMIG_E_AUTH,
                       "frame 0 (auth): authentication failed (wrong key, "
                       "or the data was corrupted or injected)");
        frame_dec_free(d);

        other = k;
        other.salt[0] ^= 0x80;
        d = frame_dec_new(&other, 0, enc);
        test_dec_fails(d, test_frame, n, XLMIG_E_AUTH,
                       "authentication failed");
        frame_dec_free(d);

        /* Right key, but another session's id. */
        other = k;
        other.session[15] ^= 1;
        d = frame_dec_new(&other, 0, enc);
        test_dec_fails(d, test_frame, n, XLMIG_E_AUTH, "session id");
        frame_dec_free(d);

        d = frame_dec_new(&k, 0, enc);
        test_dec_ok(d, test_frame, n);
        frame_dec_free(d);
        frame_enc_free(e);
    }
}

/*
 * Flips every bit of frame f (len bytes, the next one d expects) in turn:
 * each is refused, and refusing it changes nothing (f itself still
 * decodes afterwards).
 */
static void test_flip_all(struct frame_dec *d, const uint8_t *f, size_t len)
{
    char *why;
    size_t bit;
    int rc;

    for (bit = 0; bit < len * 8; bit++) {
        memcpy(test_frame2, f, len);
        test_frame2[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        why = NULL;
        rc = test_dec(d, test_frame2, len, test_out, &why);
        if (rc != XLMIG_E_AUTH && rc != XLMIG_E_PROTO &&
            rc != XLMIG_E_TOOBIG)
            fail_msg("bit %zu flipped: rc %d (%s)", bit, rc,
                     why ? why : "no reason");
        assert_non_null(strstr(why, "frame "));
        free(why);
    }
    test_dec_ok(d, f, len);
}

static void test_bit_flips(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    struct frame_dec *d;
    uint8_t f[4 * FRAME_PAGE_SIZE];
    size_t n;
    int enc;

    (void)state;
    test_keys(&k, 10);
    for (enc = 0; enc < 2; enc++) {
        e = frame_enc_new(&k, enc);
        d = frame_dec_new(&k, TEST_ALL_CODECS, enc);
        assert_int_equal(frame_enc_auth(e, f, &n), 0);
        test_flip_all(d, f, n);

        test_fill(test_in, 300, TEST_TEXT);
        assert_int_equal(frame_enc_data(e, FRAME_CODEC_LZ4, test_in, 300, f,
                                        &n), 0);
        assert_int_equal(test_le32(f + 8), FRAME_CODEC_LZ4);
        test_flip_all(d, f, n);
        assert_memory_equal(test_out, test_in, 300);

        assert_int_equal(frame_enc_data(e, FRAME_CODEC_ZSTD, test_in, 300, f,
                                        &n), 0);
        test_flip_all(d, f, n);

        /* 2 pages: one zero, one not; no codec so the bitmap shows. */
        memset(test_in, 0, FRAME_PAGE_SIZE);
        test_fill(test_in + FRAME_PAGE_SIZE, FRAME_PAGE_SIZE, TEST_RANDOM);
        assert_int_equal(frame_enc_pages(e, FRAME_CODEC_NONE, test_in,
                                         2 * FRAME_PAGE_SIZE, f, &n), 0);
        assert_int_equal(n, FRAME_HDR_LEN + 1 + FRAME_PAGE_SIZE +
                         FRAME_TAG_LEN);
        test_flip_all(d, f, n);
        assert_memory_equal(test_out, test_in, 2 * FRAME_PAGE_SIZE);

        assert_int_equal(frame_enc_end(e, f, &n), 0);
        test_flip_all(d, f, n);
        frame_enc_free(e);
        frame_dec_free(d);
    }
}

static void test_sequence(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    struct frame_dec *d;
    size_t n1, n2;

    (void)state;
    test_keys(&k, 11);
    e = frame_enc_new(&k, true);
    d = frame_dec_new(&k, 0, true);
    assert_int_equal(frame_enc_auth(e, test_frame, &n1), 0);
    /* Replayed AUTH, before and after it was taken. */
    test_dec_ok(d, test_frame, n1);
    test_dec_fails(d, test_frame, n1, XLMIG_E_PROTO,
                   "frame 1 (auth): out of sequence: seq 0, expected 1");
    test_fill(test_in, 100, TEST_TEXT);
    assert_int_equal(frame_enc_data(e, 0, test_in, 100, test_frame, &n1), 0);
    assert_int_equal(frame_enc_data(e, 0, test_in, 100, test_frame2, &n2),
                     0);
    /* Skipped: seq 2 where 1 is due. */
    test_dec_fails(d, test_frame2, n2, XLMIG_E_PROTO, "out of sequence");
    test_dec_ok(d, test_frame, n1);
    test_dec_fails(d, test_frame, n1, XLMIG_E_PROTO, "out of sequence");
    test_dec_ok(d, test_frame2, n2);
    frame_enc_free(e);
    frame_dec_free(d);
}

static void test_auth_first_only(void **state)
{
    struct frame_keys k;
    struct frame_dec *d;
    size_t n;

    (void)state;
    test_keys(&k, 12);
    d = frame_dec_new(&k, 0, false);
    test_fill(test_in, 64, TEST_TEXT);
    n = test_seal(&k, false, FRAME_DATA, 0, 0, 64, 0, test_in, 64,
                  test_frame);
    test_dec_fails(d, test_frame, n, XLMIG_E_PROTO, "auth frame must come");
    /* The AUTH frame's own lengths and codec. */
    n = test_seal(&k, false, FRAME_AUTH, 0, 0, 0, 0, k.session, 15,
                  test_frame);
    test_dec_fails(d, test_frame, n, XLMIG_E_PROTO, "do not add up");
    n = test_seal(&k, false, FRAME_AUTH, 0, 0, 1, 0, k.session,
                  FRAME_SESSION_LEN, test_frame);
    test_dec_fails(d, test_frame, n, XLMIG_E_PROTO, "do not add up");
    n = test_seal(&k, false, FRAME_AUTH, 1, 0, 0, 0, k.session,
                  FRAME_SESSION_LEN, test_frame);
    test_dec_fails(d, test_frame, n, XLMIG_E_PROTO, "codec lz4 is not");
    frame_dec_free(d);
    d = frame_dec_new(&k, TEST_ALL_CODECS, false);
    test_dec_fails(d, test_frame, n, XLMIG_E_PROTO, "do not add up");
    n = test_seal(&k, false, FRAME_AUTH, 0, 0, 0, 0, k.session,
                  FRAME_SESSION_LEN, test_frame);
    test_dec_ok(d, test_frame, n);
    n = test_seal(&k, false, FRAME_AUTH, 0, 0, 0, 1, k.session,
                  FRAME_SESSION_LEN, test_frame);
    test_dec_fails(d, test_frame, n, XLMIG_E_PROTO, "auth frame must come");
    frame_dec_free(d);
}

/*
 * One bad header each, with a valid tag so that only the header check
 * can refuse it. All at seq 1 of an opened session.
 */
static void test_bad_headers(void **state)
{
    static const struct {
        uint32_t type, codec, flags, raw, wire;
        int rc;
        const char *why;
    } cases[] = {
        { 0, 0, 0, 10, 10, XLMIG_E_PROTO, "type 0 is not one of" },
        { 5, 0, 0, 10, 10, XLMIG_E_PROTO, "type 5 is not one of" },
        { FRAME_DATA, 3, 0, 10, 10, XLMIG_E_PROTO, "unknown codec 3" },
        { FRAME_DATA, 0, 2, 10, 10, XLMIG_E_PROTO, "unknown flags 0x2" },
        { FRAME_DATA, 0, 0x80000000u, 10, 10, XLMIG_E_PROTO,
          "unknown flags" },
        { FRAME_DATA, 0, FRAME_F_ENCRYPTED, 10, 10, XLMIG_E_PROTO,
          "frame 1 (data): encrypted, but the session is not" },
        { FRAME_DATA, 0, 0, 10, 9, XLMIG_E_PROTO, "do not add up" },
        { FRAME_DATA, 0, 0, 10, 11, XLMIG_E_PROTO, "do not add up" },
        { FRAME_DATA, 0, 0, 0, 0, XLMIG_E_PROTO, "do not add up" },
        { FRAME_DATA, 1, 0, 10, 0, XLMIG_E_PROTO, "do not add up" },
        { FRAME_DATA, 0, 0, FRAME_RAW_MAX + 1, FRAME_RAW_MAX + 1,
          XLMIG_E_TOOBIG, "over the limit" },
        { FRAME_DATA, 1, 0, 100, FRAME_WIRE_MAX + 1, XLMIG_E_TOOBIG,
          "over the limit" },
        { FRAME_DATA, 1, 0, 100, 0xffffffffu, XLMIG_E_TOOBIG,
          "over the limit" },
        { FRAME_AUTH, 0, 0, 0, 15, XLMIG_E_PROTO, "auth frame must come" },
        { FRAME_END, 0, 0, 0, 1, XLMIG_E_PROTO, "do not add up" },
        { FRAME_END, 0, 0, 1, 0, XLMIG_E_PROTO, "do not add up" },
        { FRAME_END, 1, 0, 0, 0, XLMIG_E_PROTO, "do not add up" },
        { FRAME_PAGES, 0, 0, 4095, 4096, XLMIG_E_PROTO, "do not add up" },
        { FRAME_PAGES, 1, 0, 6000, 100, XLMIG_E_PROTO, "do not add up" },
        { FRAME_PAGES, 0, 0, 0, 1, XLMIG_E_PROTO, "do not add up" },
        { FRAME_PAGES, 0, 0, 4096, 0, XLMIG_E_PROTO, "do not add up" },
        { FRAME_PAGES, 0, 0, 4096, 2, XLMIG_E_PROTO, "do not add up" },
        { FRAME_PAGES, 0, 0, 4096, 1 + 8192, XLMIG_E_PROTO,
          "do not add up" },
        { FRAME_PAGES, 0, 0, 8192, 1 + 4095, XLMIG_E_PROTO,
          "do not add up" },
        { FRAME_PAGES, 0, 0, FRAME_RAW_MAX + 4096, 33, XLMIG_E_TOOBIG,
          "over the limit" },
    };
    struct frame_keys k;
    struct frame_enc *e;
    struct frame_dec *d;
    size_t i, n;

    (void)state;
    test_keys(&k, 13);
    e = frame_enc_new(&k, false);
    d = frame_dec_new(&k, TEST_ALL_CODECS, false);
    test_auth(e, d);
    memset(test_payload, 0, sizeof(test_payload));
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        /* Room for the payload up to the cap; past it only the header. */
        n = test_seal(&k, false, cases[i].type, cases[i].codec,
                      cases[i].flags, cases[i].raw, 1, test_payload,
                      cases[i].wire <= FRAME_WIRE_MAX ? cases[i].wire : 0,
                      test_frame);
        test_put_le32(test_frame + 20, cases[i].wire);
        test_dec_fails(d, test_frame, n, cases[i].rc, cases[i].why);
    }
    /* Bad magic. */
    n = test_seal(&k, false, FRAME_DATA, 0, 0, 10, 1, test_payload, 10,
                  test_frame);
    test_frame[3] = '2';
    test_dec_fails(d, test_frame, n, XLMIG_E_PROTO, "bad magic");
    frame_enc_free(e);
    frame_dec_free(d);
}

static void test_encryption_mismatch(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    struct frame_dec *d;
    size_t n;
    int enc;

    (void)state;
    test_keys(&k, 14);
    for (enc = 0; enc < 2; enc++) {
        e = frame_enc_new(&k, enc);
        d = frame_dec_new(&k, 0, !enc);
        assert_int_equal(frame_enc_auth(e, test_frame, &n), 0);
        test_dec_fails(d, test_frame, n, XLMIG_E_PROTO,
                       enc ? "encrypted, but the session is not"
                           : "not encrypted, but the session is");
        frame_enc_free(e);
        frame_dec_free(d);
    }
}

static void test_codec_mask(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    struct frame_dec *d;
    size_t n;

    (void)state;
    test_keys(&k, 15);
    e = frame_enc_new(&k, true);
    d = frame_dec_new(&k, 1u << FRAME_CODEC_ZSTD, true);
    test_auth(e, d);
    test_fill(test_in, TEST_LEN, TEST_TEXT);
    assert_int_equal(frame_enc_data(e, FRAME_CODEC_LZ4, test_in, TEST_LEN,
                                    test_frame, &n), 0);
    test_dec_fails(d, test_frame, n, XLMIG_E_PROTO,
                   "frame 1 (data): codec lz4 is not allowed");
    frame_dec_free(d);
    /* NONE is always allowed, even by an empty mask. */
    d = frame_dec_new(&k, 0, true);
    frame_enc_free(e);
    e = frame_enc_new(&k, true);
    test_auth(e, d);
    assert_int_equal(frame_enc_pages(e, FRAME_CODEC_ZSTD, test_in, TEST_LEN,
                                     test_frame, &n), 0);
    test_dec_fails(d, test_frame, n, XLMIG_E_PROTO,
                   "codec zstd is not allowed");
    assert_int_equal(frame_enc_pages(e, FRAME_CODEC_NONE, test_in, TEST_LEN,
                                     test_frame, &n), 0);
    test_put_le32(test_frame + 24, 1);          /* the seq now due */
    test_dec_fails(d, test_frame, n, XLMIG_E_AUTH, "authentication failed");
    frame_enc_free(e);
    frame_dec_free(d);
}

static void test_hdr_mismatch(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    struct frame_dec *d;
    struct frame_hdr h;
    char *why = NULL;
    size_t n;
    int cnt;

    (void)state;
    test_keys(&k, 16);
    e = frame_enc_new(&k, false);
    d = frame_dec_new(&k, 0, false);
    test_auth(e, d);
    test_fill(test_in, 100, TEST_TEXT);
    assert_int_equal(frame_enc_data(e, 0, test_in, 100, test_frame, &n), 0);
    assert_int_equal(frame_dec_hdr(d, test_frame, &h, &why), 0);
    h.raw_len = 50;
    memcpy(test_body, test_frame + FRAME_HDR_LEN, n - FRAME_HDR_LEN);
    assert_int_equal(frame_dec_open(d, &h, test_frame, test_body, test_out,
                                    &why), XLMIG_E_INVAL);
    assert_non_null(strstr(why, "does not match"));
    free(why);
    assert_int_equal(frame_dec_open_iov(d, &h, test_frame, test_body,
                                        test_iov, &cnt, &why),
                     XLMIG_E_INVAL);
    assert_int_equal(cnt, 0);
    assert_non_null(strstr(why, "does not match"));
    free(why);
    frame_enc_free(e);
    frame_dec_free(d);
}

/*
 * Frames whose tag is right but whose payload is not: the checks behind
 * the tag. Each runs in both cipher modes, as frame 1 of a session.
 */
static void test_inner_fails(const struct frame_keys *k, uint32_t type,
                             uint32_t codec, uint32_t raw,
                             const uint8_t *payload, size_t wire, int rc,
                             const char *why)
{
    struct frame_dec *d;
    size_t n;
    int enc;

    for (enc = 0; enc < 2; enc++) {
        d = frame_dec_new(k, TEST_ALL_CODECS, enc);
        n = test_seal(k, enc, FRAME_AUTH, 0, enc ? FRAME_F_ENCRYPTED : 0, 0,
                      0, k->session, FRAME_SESSION_LEN, test_frame);
        test_dec_ok(d, test_frame, n);
        n = test_seal(k, enc, type, codec, enc ? FRAME_F_ENCRYPTED : 0, raw,
                      1, payload, wire, test_frame);
        if (rc) test_dec_fails(d, test_frame, n, rc, why);
        else test_dec_ok(d, test_frame, n);
        frame_dec_free(d);
    }
}

static size_t test_lz4(const uint8_t *src, size_t len, uint8_t *dst)
{
    int n = LZ4_compress_default((const char *)src, (char *)dst, (int)len,
                                 LZ4_compressBound((int)len));

    assert_true(n > 0);
    return (size_t)n;
}

static size_t test_zstd(const uint8_t *src, size_t len, uint8_t *dst)
{
    size_t n = ZSTD_compress(dst, ZSTD_compressBound(len), src, len, 3);

    assert_false(ZSTD_isError(n));
    return n;
}

static void test_inner_data(void **state)
{
    static uint8_t plain[3 * FRAME_PAGE_SIZE + 1];
    struct frame_keys k;
    size_t n;

    (void)state;
    test_keys(&k, 17);
    test_fill(plain, sizeof(plain), TEST_TEXT);
    /* Sealed by hand and right: accepted (the tests below mean it). */
    test_inner_fails(&k, FRAME_DATA, FRAME_CODEC_NONE, 1000, plain, 1000, 0,
                     NULL);
    n = test_lz4(plain, 1000, test_payload);
    test_inner_fails(&k, FRAME_DATA, FRAME_CODEC_LZ4, 1000, test_payload, n,
                     0, NULL);
    assert_memory_equal(test_out, plain, 1000);
    n = test_zstd(plain, 1000, test_payload);
    test_inner_fails(&k, FRAME_DATA, FRAME_CODEC_ZSTD, 1000, test_payload,
                     n, 0, NULL);
    assert_memory_equal(test_out, plain, 1000);

    /* Decoding to one byte less, or one more, than raw_len. */
    n = test_lz4(plain, 999, test_payload);
    test_inner_fails(&k, FRAME_DATA, FRAME_CODEC_LZ4, 1000, test_payload, n,
                     XLMIG_E_PROTO, "frame 1 (data): lz4 payload does not "
                     "decode to 1000 bytes");
    n = test_lz4(plain, 1001, test_payload);
    test_inner_fails(&k, FRAME_DATA, FRAME_CODEC_LZ4, 1000, test_payload, n,
                     XLMIG_E_PROTO, "lz4 payload does not decode");
    n = test_zstd(plain, 999, test_payload);
    test_inner_fails(&k, FRAME_DATA, FRAME_CODEC_ZSTD, 1000, test_payload,
                     n, XLMIG_E_PROTO, "zstd payload does not decode");
    n = test_zstd(plain, 1001, test_payload);
    test_inner_fails(&k, FRAME_DATA, FRAME_CODEC_ZSTD, 1000, test_payload,
                     n, XLMIG_E_PROTO, "zstd payload does not decode");
    /* Not compressed data at all. */
    test_inner_fails(&k, FRAME_DATA, FRAME_CODEC_LZ4, 1000, plain, 500,
                     XLMIG_E_PROTO, "lz4 payload does not decode");
    test_inner_fails(&k, FRAME_DATA, FRAME_CODEC_ZSTD, 1000, plain, 500,
                     XLMIG_E_PROTO, "zstd payload does not decode");
    /* A zstd stream cut short. */
    n = test_zstd(plain, 1000, test_payload);
    test_inner_fails(&k, FRAME_DATA, FRAME_CODEC_ZSTD, 1000, test_payload,
                     n - 1, XLMIG_E_PROTO, "zstd payload does not decode");
}

static void test_inner_pages(void **state)
{
    static uint8_t p[64 + 4 * FRAME_PAGE_SIZE];
    struct frame_keys k;
    size_t n;

    (void)state;
    test_keys(&k, 18);
    test_fill(p, sizeof(p), TEST_TEXT);
    /* 1 page, bitmap 0x01: zero page, nothing follows. Right. */
    p[0] = 0x01;
    test_inner_fails(&k, FRAME_PAGES, 0, 4096, p, 1, 0, NULL);
    /* Bits past n = 1. */
    p[0] = 0x03;
    test_inner_fails(&k, FRAME_PAGES, 0, 4096, p, 1, XLMIG_E_PROTO,
                     "frame 1 (pages): bitmap has bits set past page 1");
    p[0] = 0x81;
    test_inner_fails(&k, FRAME_PAGES, 0, 4096, p, 1, XLMIG_E_PROTO,
                     "bits set past page 1");
    /* 9 pages: 2-byte bitmap, bit 9 past the end. */
    p[0] = 0xff;
    p[1] = 0x03;
    test_inner_fails(&k, FRAME_PAGES, 0, 9 * 4096, p, 2, XLMIG_E_PROTO,
                     "bits set past page 9");
    p[1] = 0x01;
    test_inner_fails(&k, FRAME_PAGES, 0, 9 * 4096, p, 2, 0, NULL);
    /* 2 pages, bitmap says one zero, but two pages follow. */
    p[0] = 0x01;
    test_inner_fails(&k, FRAME_PAGES, 0, 2 * 4096, p, 1 + 2 * 4096,
                     XLMIG_E_PROTO, "bitmap says 1 of 2 pages");
    /* 2 pages, bitmap says none zero, one page follows. */
    p[0] = 0x00;
    test_inner_fails(&k, FRAME_PAGES, 0, 2 * 4096, p, 1 + 4096,
                     XLMIG_E_PROTO, "bitmap says 2 of 2 pages");
    test_inner_fails(&k, FRAME_PAGES, 0, 2 * 4096, p, 1 + 2 * 4096, 0, NULL);
    assert_memory_equal(test_out, p + 1, 2 * 4096);

    /* The same behind a codec: the payload is checked once decoded. */
    p[0] = 0x01;
    n = test_lz4(p, 1 + 2 * 4096, test_payload);
    test_inner_fails(&k, FRAME_PAGES, 1, 2 * 4096, test_payload, n,
                     XLMIG_E_PROTO, "bitmap says 1 of 2 pages");
    n = test_zstd(p, 1 + 2 * 4096, test_payload);
    test_inner_fails(&k, FRAME_PAGES, 2, 2 * 4096, test_payload, n,
                     XLMIG_E_PROTO, "bitmap says 1 of 2 pages");
    p[0] = 0x06;
    n = test_zstd(p, 1, test_payload);
    test_inner_fails(&k, FRAME_PAGES, 2, 2 * 4096, test_payload, n,
                     XLMIG_E_PROTO, "bits set past page 2");
    /* Decoding past bitmap + raw_len. */
    p[0] = 0x00;
    n = test_lz4(p, 1 + 3 * 4096, test_payload);
    test_inner_fails(&k, FRAME_PAGES, 1, 2 * 4096, test_payload, n,
                     XLMIG_E_PROTO, "lz4 payload does not decode");
    n = test_zstd(p, 1 + 3 * 4096, test_payload);
    test_inner_fails(&k, FRAME_PAGES, 2, 2 * 4096, test_payload, n,
                     XLMIG_E_PROTO, "zstd payload does not decode");
    /* Decoding to less than the bitmap. */
    n = test_zstd(p, 0, test_payload);
    test_inner_fails(&k, FRAME_PAGES, 2, 9 * 4096, test_payload, n,
                     XLMIG_E_PROTO, "shorter than its 2-byte bitmap");
    /* And right, behind each codec. */
    p[0] = 0x02;
    n = test_lz4(p, 1 + 4096, test_payload);
    test_inner_fails(&k, FRAME_PAGES, 1, 2 * 4096, test_payload, n, 0,
                     NULL);
    n = test_zstd(p, 1 + 4096, test_payload);
    test_inner_fails(&k, FRAME_PAGES, 2, 2 * 4096, test_payload, n, 0,
                     NULL);
    assert_memory_equal(test_out, p + 1, 4096);
    assert_true(test_out[4096] == 0 &&
                !memcmp(test_out + 4096, test_out + 4097, 4095));
}

static void test_inner_auth(void **state)
{
    struct frame_keys k;
    struct frame_dec *d;
    uint8_t sid[FRAME_SESSION_LEN];
    size_t n;

    (void)state;
    test_keys(&k, 19);
    memcpy(sid, k.session, sizeof(sid));
    sid[0] ^= 0x40;
    d = frame_dec_new(&k, 0, true);
    n = test_seal(&k, true, FRAME_AUTH, 0, FRAME_F_ENCRYPTED, 0, 0, sid,
                  FRAME_SESSION_LEN, test_frame);
    test_dec_fails(d, test_frame, n, XLMIG_E_AUTH,
                   "frame 0 (auth): session id differs");
    frame_dec_free(d);
}

/* ---- in-place sealing and pieces out ---- */

/*
 * Page patterns for n pages: bit i of the pattern's mask says page i is
 * zero (the others are text or noise).
 */
static void test_fill_pages(uint8_t *p, size_t n, unsigned pat)
{
    size_t i;
    bool zero;

    for (i = 0; i < n; i++) {
        switch (pat) {
        case 0: zero = false; break;                    /* none */
        case 1: zero = true; break;                     /* all */
        case 2: zero = i % 2; break;                    /* alternate */
        case 3: zero = i == 0; break;                   /* first */
        case 4: zero = i == n - 1; break;               /* last */
        case 5: zero = i % 5 < 2; break;                /* runs */
        default: zero = test_rand() % 3 == 0; break;    /* scattered */
        }
        if (zero) memset(p + i * FRAME_PAGE_SIZE, 0, FRAME_PAGE_SIZE);
        else test_fill(p + i * FRAME_PAGE_SIZE, FRAME_PAGE_SIZE,
                       i % 3 ? TEST_TEXT : TEST_RANDOM);
    }
}
#define TEST_PATTERNS 7

/*
 * frame_enc_pages_inplace() makes byte for byte what frame_enc_pages()
 * makes, for every codec, cipher mode, zero-page pattern and size; its
 * frames decode (pieces too) to the pages.
 */
static void test_inplace_same(void **state)
{
    static const size_t counts[] = { 1, 2, 7, 8, 9, 64, 255, FRAME_PAGES_MAX };
    struct frame_enc_stats st1, st2;
    struct frame_keys k;
    struct frame_enc *e1, *e2;
    struct frame_dec *d;
    size_t i, len, n1, n2, off;
    unsigned pat;
    int c, enc;

    (void)state;
    test_keys(&k, 30);
    for (enc = 0; enc < 2; enc++) {
        e1 = frame_enc_new(&k, enc);
        e2 = frame_enc_new(&k, enc);
        d = frame_dec_new(&k, TEST_ALL_CODECS, enc);
        test_auth(e1, d);
        assert_int_equal(frame_enc_auth(e2, test_frame2, &n2), 0);
        for (c = 0; c < FRAME_CODEC_NR; c++)
        for (pat = 0; pat < TEST_PATTERNS; pat++)
        for (i = 0; i < ARRAY_SIZE(counts); i++) {
            len = counts[i] * FRAME_PAGE_SIZE;
            test_fill_pages(test_in, counts[i], pat);
            assert_int_equal(frame_enc_pages(e1, (enum frame_codec)c,
                                             test_in, len, test_frame,
                                             &n1), 0);
            off = frame_pages_inplace_offset(len);
            assert_int_equal(off, FRAME_HDR_LEN + (counts[i] + 7) / 8);
            memset(test_frame2, 0x5a, off);
            memcpy(test_frame2 + off, test_in, len);
            assert_int_equal(frame_enc_pages_inplace(e2, (enum frame_codec)c,
                                                     test_frame2, len, &n2),
                             0);
            assert_int_equal(n1, n2);
            assert_true(n2 <= frame_enc_bound(len));
            assert_memory_equal(test_frame, test_frame2, n1);
            memset(test_out, 0xa5, len);
            test_dec_ok(d, test_frame2, n2);
            assert_memory_equal(test_out, test_in, len);
        }
        frame_enc_get_stats(e1, &st1);
        frame_enc_get_stats(e2, &st2);
        assert_memory_equal(&st1, &st2, sizeof(st1));
        assert_true(st2.zero_pages > 0 && st2.zero_pages < st2.pages);
        frame_enc_free(e1);
        frame_enc_free(e2);
        frame_dec_free(d);
    }
}

static void test_inplace_bad_args(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    size_t n = 1;

    (void)state;
    test_keys(&k, 31);
    e = frame_enc_new(&k, false);
    assert_int_equal(frame_enc_pages_inplace(e, 0, test_frame, 0, &n),
                     XLMIG_E_INVAL);
    assert_int_equal(n, 0);
    assert_int_equal(frame_enc_pages_inplace(e, 0, test_frame, 4095, &n),
                     XLMIG_E_INVAL);
    assert_int_equal(frame_enc_pages_inplace(e, 0, test_frame,
                                             FRAME_RAW_MAX + 4096, &n),
                     XLMIG_E_INVAL);
    assert_int_equal(frame_enc_pages_inplace(e, FRAME_CODEC_NR, test_frame,
                                             4096, &n), XLMIG_E_INVAL);
    /* Refused frames take no seq: the next one is frame 0. */
    memset(test_frame + frame_pages_inplace_offset(4096), 7, 4096);
    assert_int_equal(frame_enc_pages_inplace(e, 0, test_frame, 4096, &n), 0);
    assert_int_equal(test_le32(test_frame + 24), 0);
    frame_enc_free(e);
}

/*
 * The two steps of frame_enc_pages_inplace(): the pack says what is left
 * (its payload is what codec NONE sends), and the seal takes nothing but
 * what a pack made: any other description is refused and takes no seq.
 */
static void test_packed_pages(void **state)
{
    struct frame_packed pk, bad;
    struct frame_keys k;
    struct frame_enc *e;
    size_t n = 1, off = frame_pages_inplace_offset(9 * FRAME_PAGE_SIZE);
    int i;

    (void)state;
    test_keys(&k, 32);
    e = frame_enc_new(&k, false);
    test_fill_pages(test_frame + off, 9, 5);        /* pages 0,1,5,6 zero */
    assert_int_equal(frame_enc_pack_pages(test_frame, 9 * FRAME_PAGE_SIZE,
                                          &pk), 0);
    assert_int_equal(pk.pages, 9);
    assert_int_equal(pk.zero_pages, 4);
    assert_int_equal(pk.payload_len, 2 + 5 * FRAME_PAGE_SIZE);
    assert_int_equal(frame_enc_pack_pages(test_frame, 4095, &bad),
                     XLMIG_E_INVAL);
    assert_int_equal(bad.pages, 0);
    for (i = 0; i < 5; i++) {
        bad = pk;
        switch (i) {
        case 0: bad.zero_pages++; break;
        case 1: bad.payload_len++; break;
        case 2: bad.pages = 0; break;
        case 3: bad.pages = (size_t)-1 / FRAME_PAGE_SIZE + 2; break;
        case 4: bad.zero_pages = bad.pages + 1; break;
        }
        assert_int_equal(frame_enc_packed_pages(e, FRAME_CODEC_NONE,
                                                test_frame, &bad, &n),
                         XLMIG_E_INVAL);
        assert_int_equal(n, 0);
    }
    assert_int_equal(frame_enc_packed_pages(e, FRAME_CODEC_NR, test_frame,
                                            &pk, &n), XLMIG_E_INVAL);
    assert_int_equal(frame_enc_packed_pages(e, FRAME_CODEC_NONE, test_frame,
                                            &pk, &n), 0);
    assert_int_equal(n, FRAME_HDR_LEN + pk.payload_len + FRAME_TAG_LEN);
    assert_int_equal(test_le32(test_frame + 24), 0);
    frame_enc_free(e);
}

/*
 * The pieces of a PAGES frame without a codec: runs of kept pages are
 * one piece of body, each zero page one piece; a compressed frame's come
 * from scratch; a DATA frame is one piece.
 */
static void test_iov_pieces(void **state)
{
    struct frame_keys k;
    struct frame_enc *e;
    struct frame_dec *d;
    struct frame_hdr h;
    char *why = NULL;
    size_t n, len = 6 * FRAME_PAGE_SIZE;
    int cnt, enc;

    (void)state;
    test_keys(&k, 32);
    for (enc = 0; enc < 2; enc++) {
        e = frame_enc_new(&k, enc);
        d = frame_dec_new(&k, TEST_ALL_CODECS, enc);
        test_auth(e, d);
        /* kept kept zero zero kept kept */
        test_fill(test_in, len, TEST_RANDOM);
        memset(test_in + 2 * FRAME_PAGE_SIZE, 0, 2 * FRAME_PAGE_SIZE);
        assert_int_equal(frame_enc_pages(e, 0, test_in, len, test_frame,
                                         &n), 0);
        assert_int_equal(frame_dec_hdr(d, test_frame, &h, &why), 0);
        memcpy(test_body, test_frame + FRAME_HDR_LEN, n - FRAME_HDR_LEN);
        assert_int_equal(frame_dec_open_iov(d, &h, test_frame, test_body,
                                            test_iov, &cnt, &why), 0);
        assert_int_equal(cnt, 4);
        assert_ptr_equal(test_iov[0].iov_base, test_body + 1);
        assert_int_equal(test_iov[0].iov_len, 2 * FRAME_PAGE_SIZE);
        assert_int_equal(test_iov[1].iov_len, FRAME_PAGE_SIZE);
        assert_ptr_equal(test_iov[1].iov_base, test_iov[2].iov_base);
        assert_ptr_equal(test_iov[3].iov_base,
                         test_body + 1 + 2 * FRAME_PAGE_SIZE);
        assert_int_equal(test_iov[3].iov_len, 2 * FRAME_PAGE_SIZE);
        test_gather(&h, cnt, test_raw2);
        assert_memory_equal(test_raw2, test_in, len);
        /* Compressed: out of the decoder, not out of body. */
        test_fill(test_in, len, TEST_TEXT);
        assert_int_equal(frame_enc_data(e, FRAME_CODEC_LZ4, test_in, len,
                                        test_frame, &n), 0);
        assert_int_equal(frame_dec_hdr(d, test_frame, &h, &why), 0);
        assert_int_equal(h.codec, FRAME_CODEC_LZ4);
        memcpy(test_body, test_frame + FRAME_HDR_LEN, n - FRAME_HDR_LEN);
        assert_int_equal(frame_dec_open_iov(d, &h, test_frame, test_body,
                                            test_iov, &cnt, &why), 0);
        assert_int_equal(cnt, 1);
        assert_memory_equal(test_iov[0].iov_base, test_in, len);
        /* All zero: one zero page per page; the most pieces there are. */
        memset(test_in, 0, FRAME_RAW_MAX);
        assert_int_equal(frame_enc_pages(e, 0, test_in, FRAME_RAW_MAX,
                                         test_frame, &n), 0);
        assert_int_equal(frame_dec_hdr(d, test_frame, &h, &why), 0);
        memcpy(test_body, test_frame + FRAME_HDR_LEN, n - FRAME_HDR_LEN);
        assert_int_equal(frame_dec_open_iov(d, &h, test_frame, test_body,
                                            test_iov, &cnt, &why), 0);
        assert_int_equal(cnt, FRAME_IOV_MAX);
        test_gather(&h, cnt, test_raw2);
        assert_memory_equal(test_raw2, test_in, FRAME_RAW_MAX);
        /* A corrupted frame gives nothing. */
        assert_int_equal(frame_enc_pages(e, 0, test_in, len, test_frame,
                                         &n), 0);
        assert_int_equal(frame_dec_hdr(d, test_frame, &h, &why), 0);
        memcpy(test_body, test_frame + FRAME_HDR_LEN, n - FRAME_HDR_LEN);
        test_body[0] ^= 1;
        cnt = -1;
        assert_int_equal(frame_dec_open_iov(d, &h, test_frame, test_body,
                                            test_iov, &cnt, &why),
                         XLMIG_E_AUTH);
        assert_int_equal(cnt, 0);
        assert_non_null(strstr(why, "authentication failed"));
        free(why);
        frame_enc_free(e);
        frame_dec_free(d);
    }
}

/* Runs a decoding test again through frame_dec_open_iov(). */
static int test_iov_on(void **state)
{
    (void)state;
    test_iov_mode = true;
    return 0;
}

static int test_iov_off(void **state)
{
    (void)state;
    test_iov_mode = false;
    return 0;
}

#define TEST_IOV(f) cmocka_unit_test_setup_teardown(f, test_iov_on, \
                                                    test_iov_off)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_hex_roundtrip),
        cmocka_unit_test(test_keys_hex_malformed),
        cmocka_unit_test(test_codec_names),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_wire_format),
        cmocka_unit_test(test_roundtrip_matrix),
        cmocka_unit_test(test_roundtrip_sizes),
        cmocka_unit_test(test_session),
        cmocka_unit_test(test_compression_shrinks),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_enc_bad_args),
        cmocka_unit_test(test_wrong_key_salt_session),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_sequence),
        cmocka_unit_test(test_auth_first_only),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_encryption_mismatch),
        cmocka_unit_test(test_codec_mask),
        cmocka_unit_test(test_hdr_mismatch),
        cmocka_unit_test(test_inner_data),
        cmocka_unit_test(test_inner_pages),
        cmocka_unit_test(test_inner_auth),
        cmocka_unit_test(test_inplace_same),
        cmocka_unit_test(test_inplace_bad_args),
        cmocka_unit_test(test_packed_pages),
        cmocka_unit_test(test_iov_pieces),
        TEST_IOV(test_roundtrip_matrix),
        TEST_IOV(test_roundtrip_sizes),
        TEST_IOV(test_session),
        TEST_IOV(test_stats),
        TEST_IOV(test_wrong_key_salt_session),
        TEST_IOV(test_bit_flips),
        TEST_IOV(test_sequence),
        TEST_IOV(test_auth_first_only),
        TEST_IOV(test_bad_headers),
        TEST_IOV(test_encryption_mismatch),
        TEST_IOV(test_codec_mask),
        TEST_IOV(test_inner_data),
        TEST_IOV(test_inner_pages),
        TEST_IOV(test_inner_auth),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
