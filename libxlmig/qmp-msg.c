/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmp-msg.c - QEMU's QMP messages (qmp-msg.h), parsed through jsonlim and
 * classified. Pure (no I/O, no context): the client (qmp.c) reads the
 * lines, and fuzz-qmp.c feeds this whatever it likes.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonlim.h"
#include "qmp-msg.h"

yajl_val qmp_msg_get(yajl_val obj, const char *key)
{
    size_t i;

    if (!YAJL_IS_OBJECT(obj)) return NULL;
    for (i = 0; i < obj->u.object.len; i++)
        if (!strcmp(obj->u.object.keys[i], key))
            return obj->u.object.values[i];
    return NULL;
}

const char *qmp_msg_get_str(yajl_val obj, const char *key)
{
    yajl_val v = qmp_msg_get(obj, key);

    return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

bool qmp_msg_get_u64(yajl_val obj, const char *key, uint64_t *val_r)
{
    yajl_val v = qmp_msg_get(obj, key);

    if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0) return false;
    *val_r = (uint64_t)YAJL_GET_INTEGER(v);
    return true;
}

void qmp_msg_dispose(struct qmp_msg *msg)
{
    yajl_tree_free(msg->root);
    memset(msg, 0, sizeof(*msg));
}

/* Classifies a parsed object; NULL, or what is wrong with it. */
static const char *qmp_msg_classify(struct qmp_msg *m)
{
    yajl_val root = m->root, v, err;

    if (!YAJL_IS_OBJECT(root)) return "not a JSON object";
    if ((v = qmp_msg_get(root, "QMP"))) {
        if (!YAJL_IS_OBJECT(v)) return "a greeting that is not an object";
        m->type = QMP_MSG_GREETING;
        return NULL;
    }
    if ((v = qmp_msg_get(root, "event"))) {
        if (!YAJL_IS_STRING(v)) return "an event name that is not a string";
        m->type = QMP_MSG_EVENT;
        m->event = YAJL_GET_STRING(v);
        m->data = qmp_msg_get(root, "data");
        if (m->data && !YAJL_IS_OBJECT(m->data))
            return "event data that is not an object";
        return NULL;
    }
    v = qmp_msg_get(root, "return");
    err = qmp_msg_get(root, "error");
    if (!v == !err) return "neither one reply nor an event";
    m->type = QMP_MSG_REPLY;
    if (qmp_msg_get(root, "id")) {
        m->id = qmp_msg_get_str(root, "id");
        if (!m->id) return "a reply id that is not a string";
    }
    if (v) {
        m->ret = v;
        return NULL;
    }
    m->error = true;
    m->err_class = qmp_msg_get_str(err, "class");
    m->err_desc = qmp_msg_get_str(err, "desc");
    if (!m->err_class || !m->err_desc)
        return "an error reply without class and desc strings";
    return NULL;
}

int qmp_msg_parse(const char *line, size_t len, struct qmp_msg *msg_r,
              char **why_r)
{
    struct qmp_msg m = { 0 };
    const char *bad;
    char *text = NULL;
    int rc;

    memset(msg_r, 0, sizeof(*msg_r));
    *why_r = NULL;
    if (len > QMP_MSG_LINE_MAX) {
        *why_r = xasprintf("a message of over %u bytes", QMP_MSG_LINE_MAX);
        rc = XLMIG_E_TOOBIG;
        goto out;
    }
    if (memchr(line, '\0', len)) {
        *why_r = xstrdup("a NUL byte in a message");
        rc = XLMIG_E_PROTO;
        goto out;
    }
    text = xmalloc(len + 1);
    memcpy(text, line, len);
    text[len] = '\0';
    m.root = jsonlim_parse(text, QMP_MSG_LINE_MAX, QMP_MSG_DEPTH_MAX, why_r);
    if (!m.root) {
        rc = XLMIG_E_PROTO;
        goto out;
    }
    bad = qmp_msg_classify(&m);
    if (bad) {
        *why_r = xstrdup(bad);
        rc = XLMIG_E_PROTO;
        goto out;
    }
    *msg_r = m;
    memset(&m, 0, sizeof(m));
    rc = XLMIG_OK;
out:
    qmp_msg_dispose(&m);
    free(text);
    return rc;
}
