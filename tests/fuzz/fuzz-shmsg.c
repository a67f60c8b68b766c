/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-shmsg.c - fuzz target for libxl's save-helper protocol (shmsg.c):
 * the input is what a helper writes on its stdout, decoded message by
 * message as a reader would. Each message decoded must encode back to
 * the very same bytes (the codec is exact both ways); a refusal must be
 * TRUNC only where the input ends. The first line of the input, if it
 * starts with "--", is also parsed as a save command line (argv split at
 * spaces), and a valid one must be in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ARGS_MAX 16
#define FUZZ_LINE_MAX 256

static uint8_t fuzz_wire[SHMSG_WIRE_MAX];

static void fuzz_args(const uint8_t *p, size_t len)
{
    char line[FUZZ_LINE_MAX], *argv[FUZZ_ARGS_MAX + 1], *s;
    struct shmsg_save_args a;
    int argc = 0;

    if (len >= sizeof(line)) len = sizeof(line) - 1;
    memcpy(line, p, len);
    line[len] = '\0';
    argv[argc++] = (char *)"helper";
    for (s = strtok(line, " "); s && argc < FUZZ_ARGS_MAX;
         s = strtok(NULL, " "))
        argv[argc++] = s;
    argv[argc] = NULL;
    if (shmsg_save_args_parse(argc, argv, &a)) return;
    if (a.io_fd < 0 || a.back_fd < -1 || a.domid > SHMSG_DOMID_MAX ||
        (a.xcflags & ~(SHMSG_XCFLAGS_LIVE | SHMSG_XCFLAGS_DEBUG)) ||
        (a.cbflags & ~SHMSG_SAVE_CBS) || a.stream_type > 2)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl;
    struct shmsg m;
    size_t off = 0, used, n;
    int rc;

    if (size >= 2 && data[0] == '-' && data[1] == '-') {
        nl = memchr(data, '\n', size);
        n = nl ? (size_t)(nl - data) : size;
        fuzz_args(data, n);
        off = nl ? n + 1 : size;
    }
    while (off < size) {
        rc = shmsg_decode(data + off, size - off, &m, &used);
        if (rc == XLMIG_E_TRUNC) {
            /* Only a message cut by the end of the input. */
            uint16_t blen;

            if (size - off >= SHMSG_LEN_SIZE) {
                memcpy(&blen, data + off, sizeof(blen));
                if (blen <= size - off - SHMSG_LEN_SIZE) abort();
            }
            break;
        }
        if (rc) {
            if (rc != XLMIG_E_PROTO || m.type) abort();
            break;
        }
        if (used > size - off || used < SHMSG_LEN_SIZE + 2) abort();
        if (shmsg_encode(&m, fuzz_wire, sizeof(fuzz_wire), &n) ||
            n != used || memcmp(fuzz_wire, data + off, n))
            abort();
        (void)shmsg_wants_reply(m.type);
        (void)shmsg_type_name(m.type);
        off += used;
    }
    return 0;
}
