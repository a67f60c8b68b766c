/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-qmp.c - fuzz target for the parser of QEMU's QMP messages
 * (qmp-msg.c): the input is one line as the client takes it off the
 * socket. A refusal must come with a reason and leave nothing; what is
 * accepted must be classified consistently: a greeting, a reply with
 * either a return or an error's class and desc, or a named event whose
 * data is an object or absent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmp-msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(const struct qmp_msg *m)
{
    if (!YAJL_IS_OBJECT(m->root)) abort();
    switch (m->type) {
    case QMP_MSG_GREETING:
        if (!YAJL_IS_OBJECT(qmp_msg_get(m->root, "QMP"))) abort();
        break;
    case QMP_MSG_REPLY:
        if (m->error) {
            if (!m->err_class || !m->err_desc || m->ret) abort();
        } else if (!m->ret || m->err_class || m->err_desc) {
            abort();
        }
        if (qmp_msg_get(m->root, "id") && !m->id) abort();
        break;
    case QMP_MSG_EVENT:
        if (!m->event || (m->data && !YAJL_IS_OBJECT(m->data))) abort();
        break;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct qmp_msg m;
    char *why = NULL;
    int rc = qmp_msg_parse((const char *)data, size, &m, &why);

    if (!rc != !why) abort();
    if (rc) {
        if (m.root || m.event || m.id) abort();
        free(why);
        return 0;
    }
    fuzz_check(&m);
    qmp_msg_dispose(&m);
    qmp_msg_dispose(&m);
    return 0;
}
