/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmp-msg.h - QEMU's QMP messages, one JSON object a line: the greeting,
 * replies and events, parsed and classified (qmp-msg.c). Pure: no I/O,
 * no context; fuzzed (tests/fuzz/fuzz-qmp.c). The client is qmp.h.
 */
#ifndef XLMIG_QMP_MSG_H
#define XLMIG_QMP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "internal.h"

#define QMP_MSG_LINE_MAX (1u << 20)     /* one message of QEMU's */
/* query-block nests one level per backing file: a chain of 100 images
 * fits; yajl frees a tree recursively, so this bounds the stack. */
#define QMP_MSG_DEPTH_MAX 128

enum qmp_msg_type {
    QMP_MSG_GREETING,           /* {"QMP": {...}} */
    QMP_MSG_REPLY,              /* {"return": ...} or {"error": ...} */
    QMP_MSG_EVENT,              /* {"event": "NAME", "data": {...}} */
};

/* One message; every pointer points into root. */
struct qmp_msg {
    enum qmp_msg_type type;
    yajl_val root;              /* owned; qmp_msg_dispose() frees it */
    const char *id;             /* REPLY: its "id" string; NULL: none */
    bool error;                 /* REPLY: an error reply */
    yajl_val ret;               /* REPLY, no error: "return" */
    const char *err_class;      /* REPLY, error: "class" */
    const char *err_desc;       /* REPLY, error: "desc" (untrusted text) */
    const char *event;          /* EVENT: its name */
    yajl_val data;              /* EVENT: "data" object; NULL: none */
};

/*
 * Parses one line (without its "\r\n") of len bytes: a JSON object, at
 * most QMP_MSG_LINE_MAX bytes and QMP_MSG_DEPTH_MAX deep, that is a
 * greeting, a reply (an "id" if any must be a string; an error has
 * string "class" and "desc") or an event (string "event", "data" an
 * object if any). Returns XLMIG_OK and fills *msg_r (zeroed on
 * failure), or XLMIG_E_TOOBIG / XLMIG_E_PROTO with *why_r (allocated,
 * one printable line) saying what is wrong.
 */
MUST_CHECK int qmp_msg_parse(const char *line, size_t len,
                             struct qmp_msg *msg_r, char **why_r);
/* Frees what msg holds and zeroes it; idempotent. */
void qmp_msg_dispose(struct qmp_msg *msg);

/* Members of a yajl object (the first of that key); NULL / false when
 * obj is not an object, the key is absent or of another type. */
yajl_val qmp_msg_get(yajl_val obj, const char *key);
const char *qmp_msg_get_str(yajl_val obj, const char *key);
bool qmp_msg_get_u64(yajl_val obj, const char *key, uint64_t *val_r);

#endif /* XLMIG_QMP_MSG_H */
