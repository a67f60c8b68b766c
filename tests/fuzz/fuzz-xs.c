/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-xs.c - fuzz target for the messages of the stream session of
 * xlmig/1 (xs-msg.c). The first input byte, less 'A', picks the decoder
 * (% 6; the seeds use 'A'..'F'):
 *   0 STREAM (as the receiver decodes it), 1 STREAM_OK over ssh and
 *   2 STREAM_OK for a data connection (as the sender decodes them),
 *   3 PROGRESS, 4 RESULT, 5 HELLO;
 * the rest is the body. A body with a NUL is skipped: proto_x_body()
 * refuses it before any decoder sees it. A refusal must come with a
 * reason; what decodes must encode, and decode again to the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xs-msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A refusal without a reason is a bug; so is a reason without one. */
static void fuzz_check_why(int rc, char *why)
{
    if (!rc != !why) abort();
    free(why);
}

static void fuzz_stream(const char *body)
{
    struct xs_msg_stream a, b;
    char *why = NULL, *again;
    int rc = xs_msg_stream_decode(body, &a, &why);

    fuzz_check_why(rc, why);
    if (rc) return;
    if (a.port > 65535 || a.codec < XS_MSG_CODEC_AUTO ||
        a.codec >= FRAME_CODEC_NR)
        abort();
    again = xs_msg_stream_encode(&a);
    if (xs_msg_stream_decode(again, &b, &why)) abort();
    if (a.tcp != b.tcp || a.port != b.port || a.codec != b.codec ||
        a.encrypt != b.encrypt)
        abort();
    free(again);
}

static void fuzz_stream_ok(const char *body, bool tcp)
{
    struct xs_msg_stream_ok a, b;
    char *why = NULL, *again;
    int rc = xs_msg_stream_ok_decode(body, tcp, &a, &why);

    fuzz_check_why(rc, why);
    if (rc) return;
    if (!a.refused && a.tcp != tcp) abort();
    if (!a.refused && tcp && (a.port < 1 || a.port > 65535 || !a.addr[0]))
        abort();
    again = xs_msg_stream_ok_encode(&a);
    if (xs_msg_stream_ok_decode(again, tcp, &b, &why)) abort();
    if (a.refused != b.refused || strcmp(a.error, b.error) ||
        memcmp(&a.keys, &b.keys, sizeof(a.keys)) || a.tcp != b.tcp ||
        strcmp(a.addr, b.addr) || a.port != b.port ||
        a.network != b.network)
        abort();
    free(again);
}

static void fuzz_progress(const char *body)
{
    struct xs_msg_progress a, b;
    char *why = NULL, *again;
    int rc = xs_msg_progress_decode(body, &a, &why);

    fuzz_check_why(rc, why);
    if (rc) return;
    again = xs_msg_progress_encode(&a);
    if (xs_msg_progress_decode(again, &b, &why)) abort();
    if (a.bytes != b.bytes || a.wire_bytes != b.wire_bytes ||
        a.pages != b.pages || a.done != b.done)
        abort();
    free(again);
}

static void fuzz_result(const char *body)
{
    struct xs_msg_result a, b;
    char *why = NULL, *again;
    int rc = xs_msg_result_decode(body, &a, &why);

    fuzz_check_why(rc, why);
    if (rc) return;
    if (!(a.since_unpause_s >= 0 && a.since_unpause_s <= 1e9) ||
        !(a.restore_s >= 0 && a.restore_s <= 1e9))
        abort();
    again = xs_msg_result_encode(&a);
    if (xs_msg_result_decode(again, &b, &why)) abort();
    if (a.ok != b.ok || a.since_unpause_s != b.since_unpause_s ||
        a.restore_s != b.restore_s)
        abort();
    free(again);
}

static void fuzz_hello(const char *body)
{
    struct xs_msg_hello a, b;
    char *why = NULL, *again;
    int rc = xs_msg_hello_decode(body, 1, &a, &why);

    fuzz_check_why(rc, why);
    if (rc) return;
    if (a.version != 1) abort();
    again = xs_msg_hello_encode(&a);
    if (xs_msg_hello_decode(again, 1, &b, &why)) abort();
    if (a.version != b.version || a.stream != b.stream ||
        a.restream != b.restream || strcmp(a.sw, b.sw))
        abort();
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body;

    if (size < 1 || memchr(data + 1, '\0', size - 1)) return 0;
    body = malloc(size);
    if (!body) abort();
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    switch ((uint8_t)(data[0] - 'A') % 6) {
    case 0: fuzz_stream(body); break;
    case 1: fuzz_stream_ok(body, false); break;
    case 2: fuzz_stream_ok(body, true); break;
    case 3: fuzz_progress(body); break;
    case 4: fuzz_result(body); break;
    case 5: fuzz_hello(body); break;
    }
    free(body);
    return 0;
}
