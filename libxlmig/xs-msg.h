/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xs-msg.h - the messages of the stream session of xlmig/1 (proto.h,
 * PROTO_X_STREAM...; job-xs.c speaks them), as JSON bodies both ways.
 * Pure: no I/O, no context, no logging, so the decoders can be fuzzed
 * (tests/fuzz/fuzz-xs.c).
 *
 *   HELLO      receiver: {"xlmig": V, "version": TEXT, "caps": [CAP...]},
 *                        V the protocol version (1..the decoder's max),
 *                        TEXT its xlmig version (at most 63 printable
 *                        ASCII bytes), each CAP a word of at most 31
 *                        bytes, at most 32 of them ("stream": it speaks
 *                        the stream session; "restream": it takes a
 *                        second STREAM before PROCEED, which replaces
 *                        the first); caps may be absent
 *   STREAM     sender:   {"data": "ssh"|"tcp", "port": 0..65535,
 *                         "codec": "none"|"lz4"|"zstd"|"auto",
 *                         "encrypt": B}
 *   STREAM_OK  receiver: {"error": TEXT} (at most 512 bytes), or
 *                        {"keys": HEX, "addr": A, "port": 1..65535,
 *                        "network": B}: HEX as frame_keys_hex(), A a
 *                        numeric IPv4 or IPv6 address of at most 63
 *                        bytes; addr, port and network only when the
 *                        sender asked for a data connection (over ssh
 *                        they are not read); network (may be absent:
 *                        false) says A is on the receiver's migration
 *                        network
 *   PROGRESS   receiver: {"bytes": U, "wire_bytes": U, "pages": U,
 *                         "done": B}, U an unsigned 64-bit integer
 *   RESULT     receiver: {"ok": B, "since_unpause_s": S, "restore_s": S},
 *                        S a number (integer or not) in 0..1e9
 *
 * Every decoder takes the body as proto_x_body() returns it (a string
 * with no NUL) and refuses, with XLMIG_E_PROTO and an allocated one-line
 * *why_r that names the field, a body over XS_MSG_MAX bytes or nested
 * deeper than XS_MSG_DEPTH_MAX, anything but a JSON object, a missing
 * key, or a value of the wrong type or out of range. Keys it does not
 * know are ignored: a later version may add some. On success *why_r is
 * NULL; the output is zeroed on entry either way.
 *
 * Every encoder returns an allocated string that its decoder takes back
 * to the same values; it aborts on out-of-memory, and on a port or codec
 * out of range (a bug of the caller).
 */
#ifndef XLMIG_XS_MSG_H
#define XLMIG_XS_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "internal.h"

#define XS_MSG_MAX (64u << 10)      /* bytes of one body */
#define XS_MSG_DEPTH_MAX 16         /* nested arrays and objects */
#define XS_MSG_ERROR_MAX 512        /* bytes of STREAM_OK's error text */
#define XS_MSG_ADDR_MAX 63          /* bytes of STREAM_OK's addr */
/* STREAM's codec "auto": the pump picks per frame (PUMP_CODEC_AUTO). */
#define XS_MSG_CODEC_AUTO (-1)

/* HELLO: the receiver's protocol version and what it can do. */
#define XS_MSG_SWVER_MAX 63         /* bytes of HELLO's version text */
#define XS_MSG_CAPS_MAX 32          /* entries of HELLO's caps */
#define XS_MSG_CAP_MAX 31           /* bytes of one cap */
struct xs_msg_hello {
    unsigned version;           /* xlmig/1 protocol version */
    char sw[XS_MSG_SWVER_MAX + 1];  /* its xlmig version */
    bool stream;                /* caps has "stream" */
    bool restream;              /* caps has "restream" */
};

char *xs_msg_hello_encode(const struct xs_msg_hello *h);
/* max_version: the highest version the decoder's side speaks. */
MUST_CHECK int xs_msg_hello_decode(const char *json, unsigned max_version,
                                   struct xs_msg_hello *h, char **why_r);

/* STREAM: what the sender asks for. */
struct xs_msg_stream {
    bool tcp;                   /* a data connection, else over ssh */
    unsigned port;              /* 0..65535; 0: any */
    int codec;                  /* FRAME_CODEC_* or XS_MSG_CODEC_AUTO */
    bool encrypt;
};

char *xs_msg_stream_encode(const struct xs_msg_stream *s);
MUST_CHECK int xs_msg_stream_decode(const char *json, struct xs_msg_stream *s,
                                    char **why_r);

/*
 * STREAM_OK: the receiver's answer. It holds the session key: clear it
 * with explicit_bzero() after use, and the encoded text too.
 */
struct xs_msg_stream_ok {
    bool refused;               /* error holds why; nothing else is set */
    char error[XS_MSG_ERROR_MAX + 1];
    struct frame_keys keys;
    bool tcp;                   /* addr and port are there (data conn.) */
    char addr[XS_MSG_ADDR_MAX + 1];
    unsigned port;              /* 1..65535 */
    bool network;               /* addr is on its migration network */
};

/* The error text may be any bytes: if they are not UTF-8, those over 0x7f
 * are sent as '?'. */
char *xs_msg_stream_ok_encode(const struct xs_msg_stream_ok *ok);
/* tcp: the sender asked for a data connection, so addr and port must
 * be there (and ok->tcp is set). */
MUST_CHECK int xs_msg_stream_ok_decode(const char *json, bool tcp,
                                       struct xs_msg_stream_ok *ok,
                                       char **why_r);

/* PROGRESS: how far the receiver is. */
struct xs_msg_progress {
    uint64_t bytes;             /* stream bytes taken */
    uint64_t wire_bytes;        /* bytes on the wire */
    uint64_t pages;
    bool done;                  /* its last frame is in */
};

char *xs_msg_progress_encode(const struct xs_msg_progress *p);
MUST_CHECK int xs_msg_progress_decode(const char *json,
                                      struct xs_msg_progress *p,
                                      char **why_r);

/* RESULT: how the domain's start went at the receiver. */
struct xs_msg_result {
    bool ok;
    double since_unpause_s;     /* since the guest ran again */
    double restore_s;           /* how long the restore took */
};

/* Times outside 0..1e9 (or not numbers) are sent as the nearest bound
 * (NaN as 0): a clock that stepped must not make the result malformed. */
char *xs_msg_result_encode(const struct xs_msg_result *r);
MUST_CHECK int xs_msg_result_decode(const char *json, struct xs_msg_result *r,
                                    char **why_r);

#endif /* XLMIG_XS_MSG_H */
