/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proto.h - xl's migration protocol (tools/xl/xl_migrate.c, xl.h): the
 * fixed handshake messages and the saved-config header that precedes the
 * libxl stream. Pure codec: bytes in, struct or message out, no I/O.
 * Byte order: the header is in the sender's native order; xlmig, like
 * migration itself, is x86 (little-endian) only.
 */
#ifndef XLMIG_PROTO_H
#define XLMIG_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

struct buf;

/* A fixed message. len counts what goes on the wire: xl sends the banner
 * without its NUL and the others with it. */
struct proto_msg {
    const char *text;
    size_t len;
    const char *what;           /* "banner", "ready message", ... */
};

extern const struct proto_msg proto_banner;     /* receiver -> sender */
extern const struct proto_msg proto_ready;      /* receiver -> sender */
extern const struct proto_msg proto_go;         /* either way */
extern const struct proto_msg proto_report;     /* receiver -> sender, +1 */

#define PROTO_MSG_MAX 64            /* longest fixed message */

/* Saved-config header ("Xen saved domain, xl format"). */
#define PROTO_SAVE_MAGIC "Xen saved domain, xl format\n \0 \r"
#define PROTO_SAVE_MAGIC_LEN 32
#define PROTO_SAVE_HDR_LEN 48
#define PROTO_SAVE_BYTEORDER 0x01020304u
#define PROTO_FLAG_JSON (1u << 0)       /* config is libxl JSON */
#define PROTO_FLAG_STREAMV2 (1u << 1)   /* libxl stream v2 follows */
#define PROTO_MANDATORY_KNOWN (PROTO_FLAG_JSON | PROTO_FLAG_STREAMV2)
#define PROTO_CONFIG_MAX (1u << 20)     /* bound on the config JSON */
#define PROTO_OPTDATA_MAX (PROTO_CONFIG_MAX + 4096)

struct proto_save_hdr {
    uint32_t mandatory_flags;
    uint32_t optional_flags;
    uint32_t optional_data_len;
};

/*
 * Checks that got[0..msg->len) is the message. On mismatch returns
 * XLMIG_E_PROTO and *why_r says what arrived instead (printable, escaped).
 */
MUST_CHECK int proto_check_msg(const struct proto_msg *msg,
                               const uint8_t *got, char **why_r);

/* Appends the 48-byte header and the optional data carrying json. */
MUST_CHECK int proto_put_save(struct buf *b, const char *json);

/*
 * Parses and validates the 48-byte header: magic, byte order, mandatory
 * flags (unknown ones, or a missing JSON or STREAMv2 flag, are refused),
 * optional data length within PROTO_OPTDATA_MAX. *why_r on failure.
 */
MUST_CHECK int proto_parse_save_hdr(const uint8_t *hdr, size_t len,
                                    struct proto_save_hdr *h,
                                    char **why_r);

/*
 * Extracts the config from the optional data: u32 length, then that many
 * bytes of JSON ending in its only NUL. Trailing optional data is ignored,
 * as xl does. *json_r is allocated.
 */
MUST_CHECK int proto_parse_optdata(const uint8_t *data, size_t len,
                                   char **json_r, char **why_r);

/* Escapes up to max bytes of untrusted data for a one-line message. */
char *proto_escape(const uint8_t *data, size_t len, size_t max);
/*
 * Untrusted text (valid UTF-8, as JSON strings are) made safe to print:
 * control characters (C0, DEL and the C1 range U+0080..U+009F, which can
 * drive a terminal or forge a line) become \xHH for each byte; all else,
 * UTF-8 included, is kept. Allocated.
 */
char *proto_clean_text(const char *s);
/* Whether s is printable ASCII only (for text a peer sends that is logged,
 * shown and handed to scripts as it is). */
bool proto_printable(const char *s);

/*
 * xlmig/1: what two xlmig ends speak besides xl's protocol. The sender
 * offers it on the receiver's command line (migrate-receive --xlmig N, N
 * the highest version it speaks), so a stock xl at either end never sees
 * it. The receiver then follows the banner with HELLO (JSON, the version
 * it chose); the sender sends PREFLIGHT and gets RESULTS, as often as it
 * likes, then PROCEED (xl's protocol follows: saved-config header,
 * stream, ...) or BYE (the session ends; nothing was changed). Each
 * message: "xmg1", u32 type, u32 body length (little-endian), then the
 * body: text (JSON), no NUL, at most PROTO_X_BODY_MAX bytes.
 */
#define PROTO_X_VERSION 1
#define PROTO_X_MAGIC "xmg1"
#define PROTO_X_HDR_LEN 12
#define PROTO_X_BODY_MAX (4u << 20)

enum proto_x_type {
    PROTO_X_HELLO = 1,          /* receiver: {"xlmig": N, "version": ...} */
    PROTO_X_PREFLIGHT = 2,      /* sender: struct pf_request */
    PROTO_X_RESULTS = 3,        /* receiver: struct pf_report */
    PROTO_X_PROCEED = 4,        /* sender: xl's protocol follows */
    PROTO_X_BYE = 5,            /* sender: nothing follows */
    /*
     * The stream session (job-xs.c), when HELLO's caps name "stream":
     * STREAM (sender, after a PREFLIGHT, before PROCEED; the sender
     * sends it with the PREFLIGHT, so the answers come one after the
     * other): {"data": "ssh"|"tcp", "port": N, "codec": NAME,
     * "encrypt": B}; STREAM_OK (receiver): {"keys": HEX, "addr": A,
     * "port": N, "network": B} or {"error": TEXT}. The sender makes the
     * data connection at once; one it cannot make may give way to a
     * second STREAM (HELLO's cap "restream"), which replaces the first.
     * While the stream moves
     * the receiver sends PROGRESS {"bytes", "wire_bytes", "pages",
     * "done"} about once a second and once with "done": true after its
     * last frame, before any xl message; after GO, RESULT {"ok": B,
     * "since_unpause_s": S, "restore_s": S} before xl's report.
     */
    PROTO_X_STREAM = 6,
    PROTO_X_STREAM_OK = 7,
    PROTO_X_PROGRESS = 8,
    PROTO_X_RESULT = 9,
    /*
     * Sender, after xl's report said the domain runs there and the copy
     * here is gone: DONE (empty body). Until it comes the receiver keeps
     * its journal: a crash of the sender then is settled by asking it
     * (xlmig recover), even if the guest has stopped there since.
     */
    PROTO_X_DONE = 10,
};

const char *proto_x_type_name(uint32_t type);
/* Appends a message. */
MUST_CHECK int proto_x_put(struct buf *b, uint32_t type, const char *body);
/* Parses a 12-byte header: magic, known type, length within bounds. */
MUST_CHECK int proto_x_parse_hdr(const uint8_t *hdr, size_t len,
                                 uint32_t *type_r, uint32_t *len_r,
                                 char **why_r);
/* Checks a body (no NUL) and returns it as a string (allocated). */
MUST_CHECK int proto_x_body(const uint8_t *body, size_t len, char **text_r,
                            char **why_r);

#endif /* XLMIG_PROTO_H */
