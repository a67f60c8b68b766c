/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-preflight.c - fuzz target for what xlmig/1 peers send each other:
 * the message header and body check (proto.c), then the body as a
 * pre-flight request (as the receiver decodes it) and as a report (as the
 * sender decodes it). Input: a 12-byte xlmig/1 header, then its body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preflight.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pf_request req;
    struct pf_report rep;
    char *why = NULL, *body = NULL, *again;
    uint32_t type, len;

    if (proto_x_parse_hdr(data, size, &type, &len, &why)) {
        /* A refusal always says why. */
        if (!why) abort();
        free(why);
        return 0;
    }
    if (len > size - PROTO_X_HDR_LEN) return 0;
    if (proto_x_body(data + PROTO_X_HDR_LEN, len, &body, &why)) {
        if (!why) abort();
        free(why);
        return 0;
    }
    if (!pf_request_decode(body, &req, &why)) {
        /* What decodes encodes, and decodes the same. */
        again = pf_request_encode(&req);
        pf_request_dispose(&req);
        if (pf_request_decode(again, &req, &why)) abort();
        pf_request_dispose(&req);
        free(again);
    } else {
        if (!why) abort();
        free(why);
    }
    if (!pf_report_decode(body, &rep, &why)) {
        if (pf_errors(&rep) > rep.n) abort();
        pf_report_dispose(&rep);
    } else {
        if (!why) abort();
        free(why);
    }
    free(body);
    return 0;
}
