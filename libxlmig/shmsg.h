/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * shmsg.h - libxl's save/restore helper protocol as Xen 4.17 speaks it
 * (libxl_save_msgs_gen.pl, libxl_save_helper.c, research/save-helper.md):
 * the helper's argv, the messages it writes on its stdout and the int
 * replies libxl writes back on its stdin. xlmig-save-helper encodes with
 * it; tests, the fuzz target and any check decode with it. Pure: bytes in,
 * struct out, no I/O.
 *
 * Wire (native byte order and sizes, as both ends run on one host): u16
 * length of the body, then the body: u16 message number, then the
 * arguments in the order of the table in shmsg.c; a STRING is a u32
 * length that counts its NUL, then the bytes and the NUL. After messages
 * that want a reply (shmsg_wants_reply) the helper blocks until libxl
 * writes one native int.
 */
#ifndef XLMIG_SHMSG_H
#define XLMIG_SHMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Message numbers (libxl_save_msgs_gen.pl's @msgs, counted from 1). */
enum shmsg_type {
    SHMSG_LOG = 1,                  /* level, errnoval, context, text */
    SHMSG_PROGRESS = 2,             /* context, what, done, total */
    SHMSG_SUSPEND = 3,              /* reply: 1 suspended, 0 failed */
    SHMSG_POSTCOPY = 4,
    SHMSG_CHECKPOINT = 5,
    SHMSG_WAIT_CHECKPOINT = 6,
    SHMSG_SWITCH_QEMU_LOGDIRTY = 7, /* domid, enable */
    SHMSG_STATIC_DATA_DONE = 8,     /* missing (restore) */
    SHMSG_RESTORE_RESULTS = 9,      /* store_gfn, console_gfn (restore) */
    SHMSG_COMPLETE = 10,            /* retval, errnoval; reply, then exit */
};
#define SHMSG_TYPE_FIRST SHMSG_LOG
#define SHMSG_TYPE_LAST SHMSG_COMPLETE

/* cbflags: the bit of each callback libxl asks the helper to make. */
#define SHMSG_CB(type) (1u << (type))
#define SHMSG_SAVE_CBS \
    (SHMSG_CB(SHMSG_SUSPEND) | SHMSG_CB(SHMSG_POSTCOPY) | \
     SHMSG_CB(SHMSG_CHECKPOINT) | SHMSG_CB(SHMSG_WAIT_CHECKPOINT) | \
     SHMSG_CB(SHMSG_SWITCH_QEMU_LOGDIRTY))

/* The u16 length prefix bounds a body; strings must fit in it. */
#define SHMSG_LEN_SIZE 2u
#define SHMSG_BODY_MAX 65535u
#define SHMSG_WIRE_MAX (SHMSG_LEN_SIZE + SHMSG_BODY_MAX)
#define SHMSG_REPLY_SIZE sizeof(int)

/*
 * One message. Strings point into the decoded bytes (valid while they
 * are) or, to encode, anywhere; NULL encodes as "".
 */
struct shmsg {
    enum shmsg_type type;
    union {
        struct {
            uint32_t level;         /* xentoollog_level */
            uint32_t errnoval;      /* (uint32_t)-1: none */
            const char *context;
            const char *text;
        } log;
        struct {
            const char *context;
            const char *what;
            unsigned long done, total;
        } progress;
        struct {
            uint32_t domid;
            unsigned enable;
        } logdirty;
        struct {
            unsigned missing;
        } static_data_done;
        struct {
            unsigned long store_gfn, console_gfn;   /* xen_pfn_t on x86 */
        } restore_results;
        struct {
            int retval;
            int errnoval;
        } complete;
    } u;
};

/* Whether libxl answers this message with an int on the helper's stdin. */
bool shmsg_wants_reply(enum shmsg_type type);
/* "log", "suspend", ...; "?" for a number that is none of them. */
const char *shmsg_type_name(unsigned type);

/*
 * Encodes m with its length prefix into out[0..out_len): *len_r bytes.
 * XLMIG_E_TOOBIG if the body would pass SHMSG_BODY_MAX or out_len,
 * XLMIG_E_INVAL for a type that is none of the above.
 */
MUST_CHECK int shmsg_encode(const struct shmsg *m, uint8_t *out,
                            size_t out_len, size_t *len_r);

/*
 * Decodes the message at the start of p[0..len): *used_r bytes, length
 * prefix included. XLMIG_E_TRUNC if p holds less than a whole message
 * (a reader waits for more), XLMIG_E_PROTO if the message is malformed:
 * an unknown number, an argument past the body, bytes left after the
 * last argument, a string without its NUL or with one inside. *m is
 * zeroed on failure.
 */
MUST_CHECK int shmsg_decode(const uint8_t *p, size_t len, struct shmsg *m,
                            size_t *used_r);
/* As shmsg_decode, for a body whose length prefix was already read. */
MUST_CHECK int shmsg_decode_body(const uint8_t *body, size_t len,
                                 struct shmsg *m);

/* A reply as its bytes, and back (XLMIG_E_TRUNC if len is short). */
void shmsg_reply_encode(int v, uint8_t out[SHMSG_REPLY_SIZE]);
MUST_CHECK int shmsg_reply_decode(const uint8_t *p, size_t len, int *v_r);

/* xc_domain_save's flags as libxl passes them (xenguest.h XCFLAGS_*). */
#define SHMSG_XCFLAGS_LIVE (1u << 0)
#define SHMSG_XCFLAGS_DEBUG (1u << 1)
#define SHMSG_DOMID_MAX 0x7fefu     /* below DOMID_FIRST_RESERVED */

/*
 * A save helper's command line, "--save-domain IO_FD BACK_FD DOMID
 * XCFLAGS CBFLAGS STREAM_TYPE" (argv[0] is the program).
 */
struct shmsg_save_args {
    int io_fd;                      /* >= 0 */
    int back_fd;                    /* -1: none */
    uint32_t domid;
    uint32_t xcflags;               /* SHMSG_XCFLAGS_* only */
    unsigned cbflags;               /* SHMSG_SAVE_CBS only */
    unsigned stream_type;           /* 0 plain, 1 Remus, 2 COLO */
};

/*
 * Parses a save command line strictly: plain decimals in range, no other
 * flag bits than the ones above, nothing more or less. XLMIG_E_INVAL on
 * anything else (a restore, another Xen's arguments): the caller hands
 * such a command line to libxl's own helper unchanged.
 */
MUST_CHECK int shmsg_save_args_parse(int argc, char *const argv[],
                                     struct shmsg_save_args *a);

/*
 * The Xen release whose protocol this is: xlmig uses its own helper only
 * where libxl reports this major.minor (hv-libxl-helper.c).
 */
#define SHMSG_XEN_MAJOR 4
#define SHMSG_XEN_MINOR 17

/*
 * What xlmig adds to the environment of the helper libxl runs for its
 * saves (besides precopy.h's PRECOPY_ENV): the domain's vCPUs and its
 * scheduler cap before the save, "VCPUS ORIGCAP", when the helper may
 * throttle it; and, for tests, libxl's own helper to hand other work to.
 */
#define SHMSG_THROTTLE_ENV "XLMIG_THROTTLE"
#define SHMSG_STOCK_ENV "XLMIG_STOCK_SAVE_HELPER"
#define SHMSG_VCPUS_MAX 4096u
#define SHMSG_CAP_MAX 65534u        /* 65535 means "unchanged" to Xen */
#define SHMSG_THROTTLE_TEXT_MAX 32
/* -1 if len is too short. */
int shmsg_throttle_format(unsigned vcpus, unsigned orig_cap, char *out,
                          size_t len);
/* Strict: two decimals, one space, vcpus 1..VCPUS_MAX, cap ..CAP_MAX. */
MUST_CHECK int shmsg_throttle_parse(const char *s, unsigned *vcpus_r,
                                    unsigned *orig_cap_r);

#endif /* XLMIG_SHMSG_H */
