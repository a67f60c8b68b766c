/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-domcfg.c - fuzz target for the libxl JSON domain config parser,
 * fed as the receiver feeds it: the peer's bytes as one C string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct domcfg c;
    char *json = xmalloc(size + 1);
    char *why = NULL;

    memcpy(json, data, size);
    json[size] = '\0';
    memset(&c, 0, sizeof(c));
    if (domcfg_parse(json, &c, &why)) {
        /* A refusal always says why, on one line; a success never does. */
        if (!why || strchr(why, '\n') || c.name) abort();
        free(why);
    } else {
        if (why || !c.name || !domcfg_type_name(c.type)) abort();
        domcfg_dispose(&c);
    }
    free(json);
    return 0;
}
