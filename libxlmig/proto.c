/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proto.c - codec for xl's migration protocol (proto.h). The wire bytes
 * must match xl exactly so that xlmig and stock xl interoperate in both
 * directions; every parser bounds lengths before it looks at data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "proto.h"

#define PROTO_MSG(s, nul, w) { s, sizeof(s) - 1 + (nul), w }

const struct proto_msg proto_banner = PROTO_MSG(
    "xl migration receiver ready, send binary domain data.\n", 0, "banner");
const struct proto_msg proto_ready = PROTO_MSG(
    "domain received, ready to unpause", 1, "ready message");
const struct proto_msg proto_go = PROTO_MSG(
    "domain is yours, you are cleared to unpause", 1, "GO message");
const struct proto_msg proto_report = PROTO_MSG(
    "my copy unpause results are as follows", 1, "report message");

char *proto_escape(const uint8_t *data, size_t len, size_t max)
{
    size_t i, n = len < max ? len : max;
    char *s = xmalloc(n * 4 + 4), *p = s;

    for (i = 0; i < n; i++) {
        if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '\\')
            *p++ = (char)data[i];
        else
            p += sprintf(p, "\\x%02x", data[i]);
    }
    if (n < len) p += sprintf(p, "...");
    *p = '\0';
    return s;
}

char *proto_clean_text(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    char *out = xmalloc(strlen(s) * 4 + 1), *p = out;
    size_t i;

    for (i = 0; u[i]; i++) {
        if (u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f) {
            p += sprintf(p, "\\x%02x\\x%02x", u[i], u[i + 1]);
            i++;
        } else if (u[i] < 0x20 || u[i] == 0x7f) {
            p += sprintf(p, "\\x%02x", u[i]);
        } else {
            *p++ = (char)u[i];
        }
    }
    *p = '\0';
    return out;
}

bool proto_printable(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e) return false;
    return true;
}

int proto_check_msg(const struct proto_msg *msg, const uint8_t *got,
                    char **why_r)
{
    char *esc;

    *why_r = NULL;
    if (!memcmp(msg->text, got, msg->len)) return XLMIG_OK;
    esc = proto_escape(got, msg->len, 48);
    *why_r = xasprintf("expected the %s, got \"%s\"", msg->what, esc);
    free(esc);
    return XLMIG_E_PROTO;
}

int proto_put_save(struct buf *b, const char *json)
{
    size_t jlen = strlen(json) + 1;
    int rc;

    if (jlen > PROTO_CONFIG_MAX) return XLMIG_E_TOOBIG;
    rc = buf_put(b, PROTO_SAVE_MAGIC, PROTO_SAVE_MAGIC_LEN);
    if (!rc) rc = buf_put_le32(b, PROTO_SAVE_BYTEORDER);
    if (!rc) rc = buf_put_le32(b, PROTO_FLAG_JSON | PROTO_FLAG_STREAMV2);
    if (!rc) rc = buf_put_le32(b, 0);
    if (!rc) rc = buf_put_le32(b, (uint32_t)(4 + jlen));
    if (!rc) rc = buf_put_le32(b, (uint32_t)jlen);
    if (!rc) rc = buf_put(b, json, jlen);
    return rc;
}

int proto_parse_save_hdr(const uint8_t *hdr, size_t len,
                         struct proto_save_hdr *h, char **why_r)
{
    struct buf *b = NULL;
    uint8_t magic[PROTO_SAVE_MAGIC_LEN];
    uint32_t order, unknown;
    int rc;

    memset(h, 0, sizeof(*h));
    *why_r = NULL;
    if (len < PROTO_SAVE_HDR_LEN) {
        *why_r = xasprintf("save header is %zu bytes, need %d", len,
                           PROTO_SAVE_HDR_LEN);
        return XLMIG_E_TRUNC;
    }
    b = buf_from(hdr, PROTO_SAVE_HDR_LEN);
    rc = buf_get(b, magic, sizeof(magic));
    if (!rc) rc = buf_get_le32(b, &order);
    if (!rc) rc = buf_get_le32(b, &h->mandatory_flags);
    if (!rc) rc = buf_get_le32(b, &h->optional_flags);
    if (!rc) rc = buf_get_le32(b, &h->optional_data_len);
    if (rc) goto out;
    if (memcmp(magic, PROTO_SAVE_MAGIC, PROTO_SAVE_MAGIC_LEN)) {
        char *esc = proto_escape(magic, sizeof(magic), 32);
        *why_r = xasprintf("bad save header magic \"%s\" (not an xl "
                           "migration stream?)", esc);
        free(esc);
        rc = XLMIG_E_PROTO;
        goto out;
    }
    if (order != PROTO_SAVE_BYTEORDER) {
        *why_r = xasprintf("save header byte order %#x, expected %#x",
                           order, PROTO_SAVE_BYTEORDER);
        rc = XLMIG_E_PROTO;
        goto out;
    }
    unknown = h->mandatory_flags & ~PROTO_MANDATORY_KNOWN;
    if (unknown) {
        *why_r = xasprintf("save header has unknown mandatory flags %#x "
                           "(sender newer than this receiver?)", unknown);
        rc = XLMIG_E_PROTO;
        goto out;
    }
    if (!(h->mandatory_flags & PROTO_FLAG_STREAMV2)) {
        *why_r = xstrdup("legacy (pre-4.6) migration stream is not "
                         "supported");
        rc = XLMIG_E_PROTO;
        goto out;
    }
    if (!(h->mandatory_flags & PROTO_FLAG_JSON)) {
        *why_r = xstrdup("config is not in JSON format (pre-4.5 sender "
                         "is not supported)");
        rc = XLMIG_E_PROTO;
        goto out;
    }
    if (h->optional_data_len > PROTO_OPTDATA_MAX) {
        *why_r = xasprintf("optional data of %u bytes is over the %u "
                           "byte limit", h->optional_data_len,
                           PROTO_OPTDATA_MAX);
        rc = XLMIG_E_TOOBIG;
        goto out;
    }
    if (h->optional_data_len < 4) {
        *why_r = xstrdup("save header carries no domain config");
        rc = XLMIG_E_PROTO;
        goto out;
    }
out:
    buf_free(b);
    return rc;
}

int proto_parse_optdata(const uint8_t *data, size_t len, char **json_r,
                        char **why_r)
{
    struct buf *b = NULL;
    uint32_t clen;
    int rc;

    *json_r = NULL;
    *why_r = NULL;
    if (len > PROTO_OPTDATA_MAX) {
        *why_r = xasprintf("optional data of %zu bytes is over the limit",
                           len);
        return XLMIG_E_TOOBIG;
    }
    b = buf_from(data, len);
    rc = buf_get_le32(b, &clen);
    if (rc) {
        *why_r = xstrdup("optional data too short for the config length");
        goto out;
    }
    if (clen > PROTO_CONFIG_MAX) {
        *why_r = xasprintf("config of %u bytes is over the %u byte limit",
                           clen, PROTO_CONFIG_MAX);
        rc = XLMIG_E_TOOBIG;
        goto out;
    }
    if (clen > buf_len(b)) {
        *why_r = xasprintf("config length %u exceeds the %zu bytes of "
                           "optional data left", clen, buf_len(b));
        rc = XLMIG_E_TRUNC;
        goto out;
    }
    rc = buf_get_cstring(b, clen, PROTO_CONFIG_MAX, json_r);
    if (rc) {
        *why_r = xstrdup("config is not a NUL-terminated string");
        goto out;
    }
out:
    buf_free(b);
    return rc;
}

/* ---- xlmig/1 ---- */

static const char *const proto_x_names[] = {
    [PROTO_X_HELLO] = "hello", [PROTO_X_PREFLIGHT] = "pre-flight request",
    [PROTO_X_RESULTS] = "pre-flight results", [PROTO_X_PROCEED] = "proceed",
    [PROTO_X_BYE] = "bye", [PROTO_X_STREAM] = "stream request",
    [PROTO_X_STREAM_OK] = "stream answer", [PROTO_X_PROGRESS] = "progress",
    [PROTO_X_RESULT] = "result", [PROTO_X_DONE] = "done",
};

const char *proto_x_type_name(uint32_t type)
{
    if (type < ARRAY_SIZE(proto_x_names) && proto_x_names[type])
        return proto_x_names[type];
    return "unknown message";
}

int proto_x_put(struct buf *b, uint32_t type, const char *body)
{
    size_t len = strlen(body);
    int rc;

    if (len > PROTO_X_BODY_MAX) return XLMIG_E_TOOBIG;
    rc = buf_put(b, PROTO_X_MAGIC, 4);
    if (!rc) rc = buf_put_le32(b, type);
    if (!rc) rc = buf_put_le32(b, (uint32_t)len);
    if (!rc) rc = buf_put(b, body, len);
    return rc;
}

int proto_x_parse_hdr(const uint8_t *hdr, size_t len, uint32_t *type_r,
                      uint32_t *len_r, char **why_r)
{
    char *esc;

    *why_r = NULL;
    *type_r = *len_r = 0;
    if (len < PROTO_X_HDR_LEN) {
        *why_r = xasprintf("xlmig/1 header: %zu of %d bytes", len,
                           PROTO_X_HDR_LEN);
        return XLMIG_E_TRUNC;
    }
    if (memcmp(hdr, PROTO_X_MAGIC, 4)) {
        esc = proto_escape(hdr, 4, 4);
        *why_r = xasprintf("expected an xlmig/1 message, got \"%s\"", esc);
        free(esc);
        return XLMIG_E_PROTO;
    }
    *type_r = (uint32_t)hdr[4] | (uint32_t)hdr[5] << 8 |
              (uint32_t)hdr[6] << 16 | (uint32_t)hdr[7] << 24;
    *len_r = (uint32_t)hdr[8] | (uint32_t)hdr[9] << 8 |
             (uint32_t)hdr[10] << 16 | (uint32_t)hdr[11] << 24;
    if (*type_r < PROTO_X_HELLO || *type_r > PROTO_X_DONE) {
        *why_r = xasprintf("xlmig/1: unknown message type %u", *type_r);
        return XLMIG_E_PROTO;
    }
    if (*len_r > PROTO_X_BODY_MAX) {
        *why_r = xasprintf("xlmig/1 %s: body of %u bytes is over %u",
                           proto_x_type_name(*type_r), *len_r,
                           PROTO_X_BODY_MAX);
        return XLMIG_E_TOOBIG;
    }
    return XLMIG_OK;
}

int proto_x_body(const uint8_t *body, size_t len, char **text_r,
                 char **why_r)
{
    *text_r = NULL;
    *why_r = NULL;
    if (memchr(body, '\0', len)) {
        *why_r = xstrdup("xlmig/1 message body holds a NUL byte");
        return XLMIG_E_PROTO;
    }
    *text_r = xmalloc(len + 1);
    memcpy(*text_r, body, len);
    (*text_r)[len] = '\0';
    return XLMIG_OK;
}
