/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-proto.c - fuzz target for xl's protocol codec: the saved-config
 * header, its optional data, and the fixed-message check, fed exactly as
 * the receiver feeds them (header first, then what it announces).
 */
#include <stdint.h>
#include <stdlib.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_save_hdr h;
    char *why = NULL, *json = NULL;
    size_t left;

    /* The result does not matter here, only that it is safe to get. */
    if (size >= proto_go.len && proto_check_msg(&proto_go, data, &why))
        free(why);
    why = NULL;
    if (proto_parse_save_hdr(data, size, &h, &why)) {
        free(why);
        return 0;
    }
    left = size - PROTO_SAVE_HDR_LEN;
    if (h.optional_data_len <= left &&
        !proto_parse_optdata(data + PROTO_SAVE_HDR_LEN, h.optional_data_len,
                             &json, &why))
        free(json);
    free(why);
    return 0;
}
