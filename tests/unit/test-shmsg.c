/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-shmsg.c - libxl's save-helper protocol of Xen 4.17 (shmsg.c):
 * every message round-trips, the bytes are the ones libxl_save_msgs_gen.pl
 * lays out (written here by hand), every cut or corrupted message is
 * refused with TRUNC or PROTO and never read past its end, the save
 * command line is parsed strictly, and a whole save's traffic (argv,
 * the helper's stdout, libxl's replies on its stdin) decodes as a
 * sequence libxl accepts: the one built here, and those captured from
 * Xen 4.17's own helper in the lab (tests/data/savehelper-*), if any.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdio.h"
#include "shmsg.h"
#include "test-util.h"

#define TEST_MAX (1u << 20)

/* ---- helpers ---- */

struct test_out {
    uint8_t b[TEST_MAX];
    size_t len;
};

static void test_put(struct test_out *o, const void *p, size_t n)
{
    assert_true(n <= sizeof(o->b) - o->len);
    memcpy(o->b + o->len, p, n);
    o->len += n;
}

static void test_put_u16(struct test_out *o, uint16_t v)
{
    test_put(o, &v, sizeof(v));
}

static void test_put_u32(struct test_out *o, uint32_t v)
{
    test_put(o, &v, sizeof(v));
}

static void test_put_str(struct test_out *o, const char *s)
{
    test_put_u32(o, (uint32_t)strlen(s) + 1);
    test_put(o, s, strlen(s) + 1);
}

/* Appends m, encoded. */
static void test_enc(struct test_out *o, const struct shmsg *m)
{
    size_t n;

    assert_int_equal(shmsg_encode(m, o->b + o->len, sizeof(o->b) - o->len,
                                  &n), XLMIG_OK);
    o->len += n;
}

static void test_same(const struct shmsg *a, const struct shmsg *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case SHMSG_LOG:
        assert_int_equal(a->u.log.level, b->u.log.level);
        assert_int_equal(a->u.log.errnoval, b->u.log.errnoval);
        assert_string_equal(a->u.log.context, b->u.log.context);
        assert_string_equal(a->u.log.text, b->u.log.text);
        break;
    case SHMSG_PROGRESS:
        assert_string_equal(a->u.progress.context, b->u.progress.context);
        assert_string_equal(a->u.progress.what, b->u.progress.what);
        assert_int_equal(a->u.progress.done, b->u.progress.done);
        assert_int_equal(a->u.progress.total, b->u.progress.total);
        break;
    case SHMSG_SWITCH_QEMU_LOGDIRTY:
        assert_int_equal(a->u.logdirty.domid, b->u.logdirty.domid);
        assert_int_equal(a->u.logdirty.enable, b->u.logdirty.enable);
        break;
    case SHMSG_STATIC_DATA_DONE:
        assert_int_equal(a->u.static_data_done.missing,
                         b->u.static_data_done.missing);
        break;
    case SHMSG_RESTORE_RESULTS:
        assert_int_equal(a->u.restore_results.store_gfn,
                         b->u.restore_results.store_gfn);
        assert_int_equal(a->u.restore_results.console_gfn,
                         b->u.restore_results.console_gfn);
        break;
    case SHMSG_COMPLETE:
        assert_int_equal(a->u.complete.retval, b->u.complete.retval);
        assert_int_equal(a->u.complete.errnoval, b->u.complete.errnoval);
        break;
    default:
        break;
    }
}

/* One of each message, with values in every field. */
static size_t test_samples(struct shmsg *m)
{
    size_t n = 0;

    m[n].type = SHMSG_LOG;
    m[n].u.log.level = XTL_INFO;
    m[n].u.log.errnoval = (uint32_t)-1;
    m[n].u.log.context = "xc";
    m[n++].u.log.text = "Saving domain 5, type x86 HVM";
    m[n].type = SHMSG_PROGRESS;
    m[n].u.progress.context = "xc";
    m[n].u.progress.what = "Frames iteration 2";
    m[n].u.progress.done = 1234;
    m[n++].u.progress.total = 0x40000;
    m[n++].type = SHMSG_SUSPEND;
    m[n++].type = SHMSG_POSTCOPY;
    m[n++].type = SHMSG_CHECKPOINT;
    m[n++].type = SHMSG_WAIT_CHECKPOINT;
    m[n].type = SHMSG_SWITCH_QEMU_LOGDIRTY;
    m[n].u.logdirty.domid = 7;
    m[n++].u.logdirty.enable = 1;
    m[n].type = SHMSG_STATIC_DATA_DONE;
    m[n++].u.static_data_done.missing = 3;
    m[n].type = SHMSG_RESTORE_RESULTS;
    m[n].u.restore_results.store_gfn = 0xfeffc;
    m[n++].u.restore_results.console_gfn = 0xfefff;
    m[n].type = SHMSG_COMPLETE;
    m[n].u.complete.retval = -1;
    m[n++].u.complete.errnoval = EBADF;
    return n;
}

/* ---- codec ---- */

static void test_roundtrip(void **state)
{
    struct shmsg m[16], d;
    static struct test_out o;
    size_t n = test_samples(m), i, off = 0, used;

    (void)state;
    o.len = 0;
    for (i = 0; i < n; i++) test_enc(&o, &m[i]);
    for (i = 0; i < n; i++) {
        assert_int_equal(shmsg_decode(o.b + off, o.len - off, &d, &used),
                         XLMIG_OK);
        test_same(&m[i], &d);
        off += used;
    }
    assert_int_equal(off, o.len);
}

/* The layout of libxl_save_msgs_gen.pl, written out by hand. */
static void test_bytes(void **state)
{
    static struct test_out want, got;
    struct shmsg m = { .type = SHMSG_LOG };
    unsigned long done = 5, total = 9;
    unsigned en = 1;
    int ret = -1, err = 9;

    (void)state;
    want.len = got.len = 0;
    test_put_u16(&want, 2 + 4 + 4 + 4 + 3 + 4 + 6);
    test_put_u16(&want, 1);
    test_put_u32(&want, XTL_ERROR);
    test_put_u32(&want, 2);
    test_put_str(&want, "xc");
    test_put_str(&want, "hello");
    m.u.log.level = XTL_ERROR;
    m.u.log.errnoval = 2;
    m.u.log.context = "xc";
    m.u.log.text = "hello";
    test_enc(&got, &m);

    test_put_u16(&want, 2);
    test_put_u16(&want, 3);
    m.type = SHMSG_SUSPEND;
    test_enc(&got, &m);

    test_put_u16(&want, (uint16_t)(2 + 4 + 1 + 4 + 2 + 2 * sizeof(long)));
    test_put_u16(&want, 2);
    test_put_str(&want, "");
    test_put_str(&want, "F");
    test_put(&want, &done, sizeof(done));
    test_put(&want, &total, sizeof(total));
    memset(&m, 0, sizeof(m));
    m.type = SHMSG_PROGRESS;
    m.u.progress.context = NULL;            /* as "" */
    m.u.progress.what = "F";
    m.u.progress.done = done;
    m.u.progress.total = total;
    test_enc(&got, &m);

    test_put_u16(&want, 2 + 4 + sizeof(unsigned));
    test_put_u16(&want, 7);
    test_put_u32(&want, 12);
    test_put(&want, &en, sizeof(en));
    m.type = SHMSG_SWITCH_QEMU_LOGDIRTY;
    m.u.logdirty.domid = 12;
    m.u.logdirty.enable = en;
    test_enc(&got, &m);

    test_put_u16(&want, 2 + 2 * sizeof(int));
    test_put_u16(&want, 10);
    test_put(&want, &ret, sizeof(ret));
    test_put(&want, &err, sizeof(err));
    m.type = SHMSG_COMPLETE;
    m.u.complete.retval = ret;
    m.u.complete.errnoval = err;
    test_enc(&got, &m);

    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.b, want.b, want.len);
}

static void test_replies(void **state)
{
    uint8_t b[SHMSG_REPLY_SIZE];
    unsigned t;
    int v;

    (void)state;
    for (t = 0; t <= SHMSG_TYPE_LAST + 1; t++)
        assert_int_equal(shmsg_wants_reply((enum shmsg_type)t),
                         (t >= 3 && t <= 8) || t == 10);
    assert_string_equal(shmsg_type_name(SHMSG_SWITCH_QEMU_LOGDIRTY),
                        "switch_qemu_logdirty");
    assert_string_equal(shmsg_type_name(0), "?");
    assert_string_equal(shmsg_type_name(11), "?");
    shmsg_reply_encode(-7, b);
    assert_int_equal(shmsg_reply_decode(b, sizeof(b), &v), XLMIG_OK);
    assert_int_equal(v, -7);
    assert_int_equal(shmsg_reply_decode(b, sizeof(b) - 1, &v),
                     XLMIG_E_TRUNC);
    assert_int_equal(v, 0);
}

/* Every prefix of a stream is TRUNC up to a message's last byte. */
static void test_truncated(void **state)
{
    struct shmsg m[16], d;
    static struct test_out o;
    size_t n = test_samples(m), i, cut, used;
    uint8_t *copy;
    int rc;

    (void)state;
    for (i = 0; i < n; i++) {
        o.len = 0;
        test_enc(&o, &m[i]);
        for (cut = 0; cut < o.len; cut++) {
            /* On the heap, exactly cut bytes: ASan sees any over-read. */
            copy = xmalloc(cut ? cut : 1);
            memcpy(copy, o.b, cut);
            rc = shmsg_decode(copy, cut, &d, &used);
            assert_int_equal(rc, XLMIG_E_TRUNC);
            assert_int_equal(d.type, 0);
            /* The body alone, cut: never a whole message. */
            if (cut >= SHMSG_LEN_SIZE)
                assert_int_equal(shmsg_decode_body(copy + SHMSG_LEN_SIZE,
                                                   cut - SHMSG_LEN_SIZE, &d),
                                 XLMIG_E_PROTO);
            free(copy);
        }
    }
}

/* Decodes a hand-made body: the rc. */
static int test_body(const struct test_out *o)
{
    struct shmsg d;
    uint8_t *copy = xmalloc(o->len ? o->len : 1);
    int rc;

    memcpy(copy, o->b, o->len);
    rc = shmsg_decode_body(copy, o->len, &d);
    if (rc) assert_int_equal(d.type, 0);
    free(copy);
    return rc;
}

static void test_hostile(void **state)
{
    static struct test_out o;
    static const uint16_t bad_types[] = { 0, 11, 12, 0x100, 0xffff };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(bad_types); i++) {
        o.len = 0;
        test_put_u16(&o, bad_types[i]);
        assert_int_equal(test_body(&o), XLMIG_E_PROTO);
    }
    /* A good one, then the same with each fault. */
    o.len = 0;
    test_put_u16(&o, 1);
    test_put_u32(&o, 1);
    test_put_u32(&o, 0);
    test_put_str(&o, "c");
    test_put_str(&o, "text");
    assert_int_equal(test_body(&o), XLMIG_OK);
    test_put(&o, "", 1);                    /* a byte too many */
    assert_int_equal(test_body(&o), XLMIG_E_PROTO);

    o.len = 0;                              /* empty string: no NUL */
    test_put_u16(&o, 1);
    test_put_u32(&o, 1);
    test_put_u32(&o, 0);
    test_put_u32(&o, 0);
    test_put_str(&o, "text");
    assert_int_equal(test_body(&o), XLMIG_E_PROTO);

    o.len = 0;                              /* last byte not NUL */
    test_put_u16(&o, 1);
    test_put_u32(&o, 1);
    test_put_u32(&o, 0);
    test_put_u32(&o, 2);
    test_put(&o, "ab", 2);
    test_put_str(&o, "text");
    assert_int_equal(test_body(&o), XLMIG_E_PROTO);

    o.len = 0;                              /* a NUL inside */
    test_put_u16(&o, 1);
    test_put_u32(&o, 1);
    test_put_u32(&o, 0);
    test_put_u32(&o, 4);
    test_put(&o, "a\0b", 4);
    test_put_str(&o, "text");
    assert_int_equal(test_body(&o), XLMIG_E_PROTO);

    o.len = 0;                              /* string longer than body */
    test_put_u16(&o, 1);
    test_put_u32(&o, 1);
    test_put_u32(&o, 0);
    test_put_str(&o, "c");
    test_put_u32(&o, 0xffffffffu);
    test_put(&o, "text", 5);
    assert_int_equal(test_body(&o), XLMIG_E_PROTO);

    o.len = 0;                              /* a suspend with an argument */
    test_put_u16(&o, 3);
    test_put_u32(&o, 0);
    assert_int_equal(test_body(&o), XLMIG_E_PROTO);

    o.len = 0;                              /* complete, half an int */
    test_put_u16(&o, 10);
    test_put_u32(&o, 0);
    test_put_u16(&o, 0);
    assert_int_equal(test_body(&o), XLMIG_E_PROTO);
}

static void test_toobig(void **state)
{
    struct shmsg m = { .type = SHMSG_LOG };
    static uint8_t out[SHMSG_WIRE_MAX + 16];
    char *text = xmalloc(SHMSG_BODY_MAX + 1);
    size_t n, fit;

    (void)state;
    memset(text, 'x', SHMSG_BODY_MAX);
    text[SHMSG_BODY_MAX] = '\0';
    m.u.log.context = "c";
    m.u.log.text = text;
    assert_int_equal(shmsg_encode(&m, out, sizeof(out), &n), XLMIG_E_TOOBIG);
    /* The longest text that fits: a body of exactly SHMSG_BODY_MAX. */
    fit = SHMSG_BODY_MAX - 2 - 4 - 4 - (4 + 2) - 4 - 1;
    text[fit] = '\0';
    assert_int_equal(shmsg_encode(&m, out, sizeof(out), &n), XLMIG_OK);
    assert_int_equal(n, SHMSG_WIRE_MAX);
    assert_int_equal(shmsg_encode(&m, out, n - 1, &n), XLMIG_E_TOOBIG);
    text[fit] = 'x';
    text[fit + 1] = '\0';
    assert_int_equal(shmsg_encode(&m, out, sizeof(out), &n), XLMIG_E_TOOBIG);
    m.type = (enum shmsg_type)11;
    assert_int_equal(shmsg_encode(&m, out, sizeof(out), &n), XLMIG_E_INVAL);
    m.type = SHMSG_SUSPEND;
    assert_int_equal(shmsg_encode(&m, out, 1, &n), XLMIG_E_TOOBIG);
    assert_int_equal(shmsg_encode(&m, out, 3, &n), XLMIG_E_TOOBIG);
    assert_int_equal(shmsg_encode(&m, out, 4, &n), XLMIG_OK);
    free(text);
}

/* ---- the command line and xlmig's environment ---- */

static int test_args(struct shmsg_save_args *a, const char *io,
                     const char *back, const char *dom, const char *xcf,
                     const char *cbf, const char *st)
{
    char *argv[] = { (char *)"h", (char *)"--save-domain", (char *)io,
                     (char *)back, (char *)dom, (char *)xcf, (char *)cbf,
                     (char *)st, NULL };

    return shmsg_save_args_parse(8, argv, a);
}

static void test_save_args(void **state)
{
    char *restore[] = { (char *)"h", (char *)"--restore-domain",
                        (char *)"3", (char *)"4", (char *)"5", (char *)"1",
                        (char *)"0", (char *)"2", (char *)"0",
                        (char *)"256", (char *)"0", NULL };
    char *save7[] = { (char *)"h", (char *)"--save-domain", (char *)"3",
                      (char *)"-1", (char *)"5", (char *)"1",
                      (char *)"136", NULL };
    struct shmsg_save_args a;

    (void)state;
    assert_int_equal(test_args(&a, "13", "-1", "5", "1", "136", "0"),
                     XLMIG_OK);
    assert_int_equal(a.io_fd, 13);
    assert_int_equal(a.back_fd, -1);
    assert_int_equal(a.domid, 5);
    assert_int_equal(a.xcflags, SHMSG_XCFLAGS_LIVE);
    assert_int_equal(a.cbflags, SHMSG_CB(SHMSG_SUSPEND) |
                                SHMSG_CB(SHMSG_SWITCH_QEMU_LOGDIRTY));
    assert_int_equal(a.stream_type, 0);
    assert_int_equal(test_args(&a, "0", "9", "32751", "3", "248", "2"),
                     XLMIG_OK);
    assert_int_equal(a.domid, SHMSG_DOMID_MAX);
    assert_int_equal(a.stream_type, 2);

    assert_int_equal(shmsg_save_args_parse(11, restore, &a), XLMIG_E_INVAL);
    assert_int_equal(shmsg_save_args_parse(7, save7, &a), XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "-1", "-1", "5", "1", "136", "0"),
                     XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "3", "-2", "5", "1", "136", "0"),
                     XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "3", "-1", "32752", "1", "136", "0"),
                     XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "3", "-1", "5", "4", "136", "0"),
                     XLMIG_E_INVAL);
    /* static_data_done is a restore's */
    assert_int_equal(test_args(&a, "3", "-1", "5", "1", "392", "0"),
                     XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "3", "-1", "5", "1", "137", "0"),
                     XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "3", "-1", "5", "1", "136", "3"),
                     XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "+3", "-1", "5", "1", "136", "0"),
                     XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, " 3", "-1", "5", "1", "136", "0"),
                     XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "3x", "-1", "5", "1", "136", "0"),
                     XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "", "-1", "5", "1", "136", "0"),
                     XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "3", "-1", "5", "1", "-136", "0"),
                     XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "99999999999999999999999", "-1", "5",
                               "1", "136", "0"), XLMIG_E_INVAL);
    assert_int_equal(test_args(&a, "2147483648", "-1", "5", "1", "136",
                               "0"), XLMIG_E_INVAL);
    assert_int_equal(a.domid, 0);           /* zeroed on failure */
}

static void test_throttle_env(void **state)
{
    char t[SHMSG_THROTTLE_TEXT_MAX];
    unsigned v, c;

    (void)state;
    assert_int_equal(shmsg_throttle_format(4, 150, t, sizeof(t)), 0);
    assert_string_equal(t, "4 150");
    assert_int_equal(shmsg_throttle_parse(t, &v, &c), XLMIG_OK);
    assert_int_equal(v, 4);
    assert_int_equal(c, 150);
    assert_int_equal(shmsg_throttle_parse("4096 65534", &v, &c), XLMIG_OK);
    assert_int_equal(shmsg_throttle_format(4, 150, t, 5), -1);
    assert_int_equal(shmsg_throttle_parse("0 0", &v, &c), XLMIG_E_INVAL);
    assert_int_equal(shmsg_throttle_parse("4097 0", &v, &c), XLMIG_E_INVAL);
    assert_int_equal(shmsg_throttle_parse("1 65535", &v, &c), XLMIG_E_INVAL);
    assert_int_equal(shmsg_throttle_parse("1", &v, &c), XLMIG_E_INVAL);
    assert_int_equal(shmsg_throttle_parse("1 2 3", &v, &c), XLMIG_E_INVAL);
    assert_int_equal(shmsg_throttle_parse("1  2", &v, &c), XLMIG_E_INVAL);
    assert_int_equal(shmsg_throttle_parse(" 1 2", &v, &c), XLMIG_E_INVAL);
    assert_int_equal(shmsg_throttle_parse("1 -2", &v, &c), XLMIG_E_INVAL);
    assert_int_equal(shmsg_throttle_parse("", &v, &c), XLMIG_E_INVAL);
    assert_int_equal(v, 0);
}

/* ---- a whole save's (or restore's) traffic ---- */

#define TEST_SUMMARY_MAX 8192

/* Appends a line to the summary. */
PRINTF_LIKE(3, 4)
static void test_line(char *text, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(text + *len, TEST_SUMMARY_MAX - *len, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < TEST_SUMMARY_MAX - *len);
    *len += (size_t)n;
}

/*
 * Decodes a helper's traffic (its stdout, and libxl's replies on its
 * stdin) as libxl would, checking it on the way: whole messages only,
 * each of which encodes back to the same bytes,
 * one reply for each message that wants one and nothing more, callbacks
 * only where cbflags asked (a save's; a restore's are its own), one
 * `complete`, after it only log messages (libxc's, from
 * xc_interface_close). Returns it as text, one line a message ("->" the
 * reply), a run of progress messages of the same "what" folded into one
 * line with its last done/total and "(xN)".
 */
static void test_summarize(int argc, char **argv, const uint8_t *out,
                           size_t out_len, const uint8_t *in, size_t in_len,
                           char *text)
{
    struct shmsg_save_args a;
    struct shmsg m, prev = { .type = 0 };
    static uint8_t wire[SHMSG_WIRE_MAX];
    size_t off = 0, in_off = 0, used, len = 0, n;
    unsigned run = 0, completes = 0;
    bool save;
    int reply = 0;

    text[0] = '\0';
    save = argc > 1 && !strcmp(argv[1], "--save-domain");
    if (save) assert_int_equal(shmsg_save_args_parse(argc, argv, &a),
                               XLMIG_OK);
    else assert_true(argc == 11 && !strcmp(argv[1], "--restore-domain"));
    for (;;) {
        bool more = off < out_len;

        if (more) {
            assert_int_equal(shmsg_decode(out + off, out_len - off, &m,
                                          &used), XLMIG_OK);
            /* Our encoder makes the very same bytes. */
            assert_int_equal(shmsg_encode(&m, wire, sizeof(wire), &n),
                             XLMIG_OK);
            assert_int_equal(n, used);
            assert_memory_equal(wire, out + off, n);
            off += used;
        }
        /* A run of progress ends at anything else. */
        if (run && (!more || m.type != SHMSG_PROGRESS ||
                    strcmp(m.u.progress.context, prev.u.progress.context) ||
                    strcmp(m.u.progress.what, prev.u.progress.what))) {
            test_line(text, &len, "progress %s \"%s\" %lu/%lu",
                      prev.u.progress.context, prev.u.progress.what,
                      prev.u.progress.done, prev.u.progress.total);
            if (run > 1) test_line(text, &len, " (x%u)", run);
            test_line(text, &len, "\n");
            run = 0;
        }
        if (!more) break;
        if (completes) assert_int_equal(m.type, SHMSG_LOG);
        if (save)
            assert_true(m.type != SHMSG_STATIC_DATA_DONE &&
                        m.type != SHMSG_RESTORE_RESULTS);
        else
            assert_true(m.type < SHMSG_SUSPEND ||
                        m.type > SHMSG_SWITCH_QEMU_LOGDIRTY);
        if (save && m.type >= SHMSG_SUSPEND &&
            m.type <= SHMSG_SWITCH_QEMU_LOGDIRTY)
            assert_true(a.cbflags & SHMSG_CB(m.type));
        if (shmsg_wants_reply(m.type)) {
            assert_int_equal(shmsg_reply_decode(in + in_off, in_len - in_off,
                                                &reply), XLMIG_OK);
            in_off += SHMSG_REPLY_SIZE;
        }
        switch (m.type) {
        case SHMSG_LOG:
            test_line(text, &len, "log %u %d %s \"%s\"\n", m.u.log.level,
                      (int)m.u.log.errnoval, m.u.log.context, m.u.log.text);
            break;
        case SHMSG_PROGRESS:
            run++;
            break;
        case SHMSG_SWITCH_QEMU_LOGDIRTY:
            test_line(text, &len, "switch_qemu_logdirty %u %u -> %d\n",
                      m.u.logdirty.domid, m.u.logdirty.enable, reply);
            break;
        case SHMSG_STATIC_DATA_DONE:
            test_line(text, &len, "static_data_done %u -> %d\n",
                      m.u.static_data_done.missing, reply);
            break;
        case SHMSG_RESTORE_RESULTS:
            test_line(text, &len, "restore_results %#lx %#lx\n",
                      m.u.restore_results.store_gfn,
                      m.u.restore_results.console_gfn);
            break;
        case SHMSG_COMPLETE:
            completes++;
            test_line(text, &len, "complete %d %d -> %d\n",
                      m.u.complete.retval, m.u.complete.errnoval, reply);
            break;
        default:
            test_line(text, &len, "%s -> %d\n", shmsg_type_name(m.type),
                      reply);
            break;
        }
        prev = m;
    }
    assert_int_equal(completes, 1);
    assert_int_equal(in_off, in_len);
}

/* A live save as libxl 4.17 and its helper have it, made here. */
static void test_traffic_built(void **state)
{
    static struct test_out out, in;
    char *argv[] = { (char *)"libxl-save-helper", (char *)"--save-domain",
                     (char *)"11", (char *)"-1", (char *)"3", (char *)"1",
                     (char *)"136", (char *)"0", NULL };
    char *text = xmalloc(TEST_SUMMARY_MAX);
    struct shmsg m;
    uint8_t r[SHMSG_REPLY_SIZE];
    unsigned i;

    (void)state;
    out.len = in.len = 0;
    memset(&m, 0, sizeof(m));
    m.type = SHMSG_LOG;
    m.u.log.level = XTL_DEBUG;
    m.u.log.context = "libxl-save-helper";
    m.u.log.text = "starting save";
    test_enc(&out, &m);
    m.type = SHMSG_SWITCH_QEMU_LOGDIRTY;
    m.u.logdirty.domid = 3;
    m.u.logdirty.enable = 1;
    test_enc(&out, &m);
    shmsg_reply_encode(0, r);
    test_put(&in, r, sizeof(r));
    for (i = 0; i < 3; i++) {
        m.type = SHMSG_PROGRESS;
        m.u.progress.context = "xc";
        m.u.progress.what = "Frames iteration 0";
        m.u.progress.done = i * 1024;
        m.u.progress.total = 2048;
        test_enc(&out, &m);
    }
    m.type = SHMSG_SUSPEND;
    test_enc(&out, &m);
    shmsg_reply_encode(1, r);
    test_put(&in, r, sizeof(r));
    m.type = SHMSG_COMPLETE;
    m.u.complete.retval = -1;
    m.u.complete.errnoval = EIO;
    test_enc(&out, &m);
    shmsg_reply_encode(0, r);
    test_put(&in, r, sizeof(r));
    m.type = SHMSG_LOG;
    m.u.log.level = XTL_DEBUG;
    m.u.log.errnoval = (uint32_t)-1;
    m.u.log.context = "xencall:buffer";
    m.u.log.text = "cache current size:3";
    test_enc(&out, &m);

    test_summarize(8, argv, out.b, out.len, in.b, in.len, text);
    assert_string_equal(text,
        "log 1 0 libxl-save-helper \"starting save\"\n"
        "switch_qemu_logdirty 3 1 -> 0\n"
        "progress xc \"Frames iteration 0\" 2048/2048 (x3)\n"
        "suspend -> 1\n"
        "complete -1 5 -> 0\n"
        "log 1 -1 xencall:buffer \"cache current size:3\"\n");
    free(text);
}

/* A whole file (binary) into *p_r: its length. */
static size_t test_slurp(const char *path, uint8_t **p_r)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = xmalloc(TEST_MAX);
    size_t n;

    if (!f) fail_msg("cannot open %s: %s", path, strerror(errno));
    n = fread(p, 1, TEST_MAX, f);
    assert_false(ferror(f));
    assert_true(n < TEST_MAX);
    fclose(f);
    *p_r = p;
    return n;
}

/*
 * Xen 4.17's own helper's traffic, captured in the lab: NAME.argv (its
 * arguments after argv[0], one a line), NAME.out (its stdout), NAME.in
 * (libxl's replies); tests/data/README-savehelper. What each must decode
 * to, message by message, is below; it matches what the README says each
 * capture holds.
 */
static const struct {
    const char *name;
    const char *want;
} test_captures[] = {
    { "savehelper-live-pvh",
      "log 1 0 libxl-save-helper \"starting save\"\n"
      "log 3 -1 xc \"fd 16, dom 1, flags 1, hvm 1\"\n"
      "log 5 -1 xc \"Saving domain 1, type x86 HVM\"\n"
      "switch_qemu_logdirty 1 1 -> 0\n"
      "progress xc \"Start of stream\" 0/0\n"
      "progress xc \"Frames iteration 0\" 1044480/1044480 (x1021)\n"
      "progress xc \"Frames iteration 1\" 1352/1352 (x3)\n"
      "progress xc \"Frames iteration 2\" 1305/1305 (x3)\n"
      "progress xc \"Frames iteration 3\" 43/43 (x2)\n"
      "suspend -> 1\n"
      "progress xc \"Domain now suspended\" 0/0\n"
      "progress xc \"Frames iteration 3\" 322/322 (x2)\n"
      "progress xc \"End of stream\" 0/0\n"
      "progress xc \"Complete\" 0/0\n"
      "switch_qemu_logdirty 1 0 -> 0\n"
      "log 1 0 libxl-save-helper \"complete r=0\"\n"
      "complete 0 0 -> 0\n"
      "log 1 -1 xencall:buffer \"total allocations:2087 total"
      " releases:2087\"\n"
      "log 1 -1 xencall:buffer \"current allocations:0 maximum"
      " allocations:4\"\n"
      "log 1 -1 xencall:buffer \"cache current size:3\"\n"
      "log 1 -1 xencall:buffer \"cache hits:1060 misses:3 toobig:1024\"\n"
      "log 1 -1 xencall:buffer \"total allocations:0 total releases:0\"\n"
      "log 1 -1 xencall:buffer \"current allocations:0 maximum"
      " allocations:0\"\n"
      "log 1 -1 xencall:buffer \"cache current size:0\"\n"
      "log 1 -1 xencall:buffer \"cache hits:0 misses:0 toobig:0\"\n"
    },
    { "savehelper-save-pvh",
      "log 1 0 libxl-save-helper \"starting save\"\n"
      "log 3 -1 xc \"fd 15, dom 1, flags 0, hvm 1\"\n"
      "log 5 -1 xc \"Saving domain 1, type x86 HVM\"\n"
      "switch_qemu_logdirty 1 1 -> 0\n"
      "progress xc \"Start of stream\" 0/0\n"
      "suspend -> 1\n"
      "progress xc \"Domain now suspended\" 0/0\n"
      "progress xc \"Frames\" 1044480/1044480 (x1021)\n"
      "progress xc \"End of stream\" 0/0\n"
      "progress xc \"Complete\" 0/0\n"
      "switch_qemu_logdirty 1 0 -> 0\n"
      "log 1 0 libxl-save-helper \"complete r=0\"\n"
      "complete 0 0 -> 0\n"
      "log 1 -1 xencall:buffer \"total allocations:2070 total"
      " releases:2070\"\n"
      "log 1 -1 xencall:buffer \"current allocations:0 maximum"
      " allocations:4\"\n"
      "log 1 -1 xencall:buffer \"cache current size:3\"\n"
      "log 1 -1 xencall:buffer \"cache hits:1045 misses:3 toobig:1022\"\n"
      "log 1 -1 xencall:buffer \"total allocations:0 total releases:0\"\n"
      "log 1 -1 xencall:buffer \"current allocations:0 maximum"
      " allocations:0\"\n"
      "log 1 -1 xencall:buffer \"cache current size:0\"\n"
      "log 1 -1 xencall:buffer \"cache hits:0 misses:0 toobig:0\"\n"
    },
    { "savehelper-restore-pvh",
      "log 1 0 libxl-save-helper \"starting restore\"\n"
      "log 3 -1 xc \"fd 11, dom 1, hvm 1, stream_type 0\"\n"
      "log 5 -1 xc \"Found x86 HVM domain from Xen 4.17\"\n"
      "log 5 -1 xc \"Restoring domain\"\n"
      "static_data_done 0 -> 0\n"
      "log 3 -1 domainbuilder \"xc_dom_set_gnttab_entry: d1 gnt[0] -> d0"
      " 0xfefff\"\n"
      "log 3 -1 domainbuilder \"xc_dom_set_gnttab_entry: d1 gnt[1] -> d0"
      " 0xfeffc\"\n"
      "log 5 -1 xc \"Restore successful\"\n"
      "log 5 -1 xc \"XenStore: mfn 0xfeffc, dom 0, evt 1\"\n"
      "log 5 -1 xc \"Console: mfn 0xfefff, dom 0, evt 2\"\n"
      "restore_results 0xfeffc 0xfefff\n"
      "log 1 0 libxl-save-helper \"complete r=0\"\n"
      "complete 0 0 -> 0\n"
      "log 1 -1 xencall:buffer \"total allocations:121 total releases:121\"\n"
      "log 1 -1 xencall:buffer \"current allocations:0 maximum"
      " allocations:3\"\n"
      "log 1 -1 xencall:buffer \"cache current size:3\"\n"
      "log 1 -1 xencall:buffer \"cache hits:86 misses:3 toobig:32\"\n"
      "log 1 -1 xencall:buffer \"total allocations:0 total releases:0\"\n"
      "log 1 -1 xencall:buffer \"current allocations:0 maximum"
      " allocations:0\"\n"
      "log 1 -1 xencall:buffer \"cache current size:0\"\n"
      "log 1 -1 xencall:buffer \"cache hits:0 misses:0 toobig:0\"\n"
    },
    { "savehelper-restore-file-pvh",
      "log 1 0 libxl-save-helper \"starting restore\"\n"
      "log 3 -1 xc \"fd 13, dom 2, hvm 1, stream_type 0\"\n"
      "log 5 -1 xc \"Found x86 HVM domain from Xen 4.17\"\n"
      "log 5 -1 xc \"Restoring domain\"\n"
      "static_data_done 0 -> 0\n"
      "log 3 -1 domainbuilder \"xc_dom_set_gnttab_entry: d2 gnt[0] -> d0"
      " 0xfefff\"\n"
      "log 3 -1 domainbuilder \"xc_dom_set_gnttab_entry: d2 gnt[1] -> d0"
      " 0xfeffc\"\n"
      "log 5 -1 xc \"Restore successful\"\n"
      "log 5 -1 xc \"XenStore: mfn 0xfeffc, dom 0, evt 1\"\n"
      "log 5 -1 xc \"Console: mfn 0xfefff, dom 0, evt 2\"\n"
      "restore_results 0xfeffc 0xfefff\n"
      "log 1 0 libxl-save-helper \"complete r=0\"\n"
      "complete 0 0 -> 0\n"
      "log 1 -1 xencall:buffer \"total allocations:121 total releases:121\"\n"
      "log 1 -1 xencall:buffer \"current allocations:0 maximum"
      " allocations:3\"\n"
      "log 1 -1 xencall:buffer \"cache current size:3\"\n"
      "log 1 -1 xencall:buffer \"cache hits:86 misses:3 toobig:32\"\n"
      "log 1 -1 xencall:buffer \"total allocations:0 total releases:0\"\n"
      "log 1 -1 xencall:buffer \"current allocations:0 maximum"
      " allocations:0\"\n"
      "log 1 -1 xencall:buffer \"cache current size:0\"\n"
      "log 1 -1 xencall:buffer \"cache hits:0 misses:0 toobig:0\"\n"
    },
};

/* Decodes capture name in dir: its summary (allocated). */
static char *test_capture(const char *dir, const char *name)
{
    char path[512], *argv[16], *text = xmalloc(TEST_SUMMARY_MAX);
    uint8_t *args, *out, *in;
    size_t na, no, ni, i;
    int argc = 0;

    snprintf(path, sizeof(path), "%s/%s.argv", dir, name);
    na = test_slurp(path, &args);
    snprintf(path, sizeof(path), "%s/%s.out", dir, name);
    no = test_slurp(path, &out);
    snprintf(path, sizeof(path), "%s/%s.in", dir, name);
    ni = test_slurp(path, &in);
    args[na] = '\0';
    argv[argc++] = (char *)"libxl-save-helper";
    for (i = 0; i < na; i++)
        if (args[i] == '\n') args[i] = '\0';
    for (i = 0; i < na; i += strlen((char *)args + i) + 1)
        if (argc < (int)ARRAY_SIZE(argv) - 1)
            argv[argc++] = (char *)args + i;
    argv[argc] = NULL;
    test_summarize(argc, argv, out, no, in, ni, text);
    free(args);
    free(out);
    free(in);
    return text;
}

static void test_traffic_captured(void **state)
{
    DIR *d;
    struct dirent *de;
    char name[256], *text;
    size_t i, len;
    unsigned others = 0;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(test_captures); i++) {
        text = test_capture(TEST_DATA_DIR, test_captures[i].name);
        if (strcmp(text, test_captures[i].want))
            fail_msg("%s decodes to:\n%s", test_captures[i].name, text);
        free(text);
    }
    /* Captures added since: at least they decode as libxl's traffic. */
    d = opendir(TEST_DATA_DIR);
    assert_non_null(d);
    while ((de = readdir(d))) {
        len = strlen(de->d_name);
        if (strncmp(de->d_name, "savehelper-", 11) || len < 5 ||
            len >= sizeof(name) || strcmp(de->d_name + len - 4, ".out"))
            continue;
        memcpy(name, de->d_name, len - 4);
        name[len - 4] = '\0';
        for (i = 0; i < ARRAY_SIZE(test_captures); i++)
            if (!strcmp(name, test_captures[i].name)) break;
        if (i < ARRAY_SIZE(test_captures)) continue;
        free(test_capture(TEST_DATA_DIR, name));
        others++;
    }
    closedir(d);
    if (others) print_message("%u more captures decoded\n", others);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_toobig),
        cmocka_unit_test(test_save_args),
        cmocka_unit_test(test_throttle_env),
        cmocka_unit_test(test_traffic_built),
        cmocka_unit_test(test_traffic_captured),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
