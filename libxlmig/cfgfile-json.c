/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cfgfile-json.c - a disk of a libxl JSON config (cfgfile.h). A byte-level
 * scanner (strings and their escapes, numbers, literals; no recursion,
 * CFGFILE_DEPTH_MAX levels) records the string tokens of disks[i].vdev,
 * pdev_path and format and where the disk object opens; the text must
 * pass jsonlim first, and the changed text must parse again to the same
 * tree but for the changed fields. A second "disks", or a second vdev,
 * pdev_path or format in a disk, is refused: which one libxl would take
 * is not ours to guess.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfgfile-priv.h"
#include "jsonlim.h"

/* s is well-formed UTF-8 (no overlong form, surrogate or > U+10FFFF). */
static bool cfgfile_json_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned cp, k, i;

    while (*u) {
        if (*u < 0x80) { u++; continue; }
        if (*u >= 0xc2 && *u <= 0xdf) { k = 1; cp = *u & 0x1f; }
        else if (*u >= 0xe0 && *u <= 0xef) { k = 2; cp = *u & 0x0f; }
        else if (*u >= 0xf0 && *u <= 0xf4) { k = 3; cp = *u & 0x07; }
        else return false;
        for (i = 1; i <= k; i++) {
            if ((u[i] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (u[i] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
            return false;
        u += k + 1;
    }
    return true;
}

enum cfgfile_role { CFGFILE_R_OTHER, CFGFILE_R_ROOT, CFGFILE_R_DISKS,
                    CFGFILE_R_DISK };
enum cfgfile_key { CFGFILE_K_OTHER, CFGFILE_K_DISKS, CFGFILE_K_VDEV,
                   CFGFILE_K_PDEV, CFGFILE_K_FORMAT };
enum cfgfile_jstate { CFGFILE_J_VALUE, CFGFILE_J_FIRST_VALUE,
                      CFGFILE_J_KEY, CFGFILE_J_FIRST_KEY, CFGFILE_J_NEXT,
                      CFGFILE_J_END };

static const char *const cfgfile_keys[] = {
    [CFGFILE_K_DISKS] = "disks", [CFGFILE_K_VDEV] = "vdev",
    [CFGFILE_K_PDEV] = "pdev_path", [CFGFILE_K_FORMAT] = "format",
};

/* A string token (quotes included) or null; len 0: absent. */
struct cfgfile_tok {
    size_t off, len;
    bool null;
};

struct cfgfile_jdisk {
    size_t open, idx;           /* its '{', its index in disks[] */
    struct cfgfile_tok tok[CFGFILE_K_FORMAT + 1];   /* by enum cfgfile_key */
};

struct cfgfile_jframe {
    char close;                 /* '}' or ']' */
    unsigned char role, key;    /* key: of the member being read */
    unsigned seen;              /* keys seen, 1 << enum cfgfile_key */
};

struct cfgfile_jscan {
    const char *t, *vdev;
    size_t n, pos, ndisks;
    struct cfgfile_jframe stack[CFGFILE_DEPTH_MAX];
    unsigned depth, nmatch;
    struct cfgfile_jdisk cur, match;
};

/* Past the string token at *pos ('"'); false if it is not one. */
static bool cfgfile_json_skip_string(const char *t, size_t n, size_t *pos)
{
    size_t i = *pos + 1, k;

    while (i < n) {
        if (t[i] == '"') {
            *pos = i + 1;
            return true;
        }
        if ((unsigned char)t[i] < 0x20) return false;
        if (t[i] != '\\') {
            i++;
            continue;
        }
        if (n - i < 2) return false;
        if (t[i + 1] == 'u') {
            if (n - i < 6) return false;
            for (k = 2; k < 6; k++)
                if (!strchr("0123456789abcdefABCDEF", t[i + k]) ||
                    !t[i + k])
                    return false;
            i += 6;
        } else if (t[i + 1] && strchr("\"\\/bfnrt", t[i + 1])) {
            i += 2;
        } else {
            return false;
        }
    }
    return false;
}

static bool cfgfile_json_digits(const char *t, size_t n, size_t *i)
{
    size_t s = *i;

    while (*i < n && cfgfile_digit(t[*i])) (*i)++;
    return *i > s;
}

static bool cfgfile_json_skip_scalar(const char *t, size_t n, size_t *pos)
{
    static const char *const lit[] = { "true", "false", "null" };
    size_t i = *pos, k;

    for (k = 0; k < ARRAY_SIZE(lit); k++) {
        if (n - i >= strlen(lit[k]) && !memcmp(t + i, lit[k],
                                               strlen(lit[k]))) {
            *pos = i + strlen(lit[k]);
            return true;
        }
    }
    if (t[i] == '-') i++;
    if (i < n && t[i] == '0') i++;
    else if (!cfgfile_json_digits(t, n, &i)) return false;
    if (i < n && t[i] == '.') {
        i++;
        if (!cfgfile_json_digits(t, n, &i)) return false;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-')) i++;
        if (!cfgfile_json_digits(t, n, &i)) return false;
    }
    *pos = i;
    return true;
}

static unsigned cfgfile_json_hex4(const char *p)
{
    unsigned v = 0, k;

    for (k = 0; k < 4; k++)
        v = v << 4 | (unsigned)(cfgfile_digit(p[k]) ? p[k] - '0' :
                                (p[k] | 0x20) - 'a' + 10);
    return v;
}

/* The text of a scanned string token, allocated; NULL if it holds
 * "\u0000" or a lone surrogate. */
static char *cfgfile_json_decode(const char *t, struct cfgfile_tok tok)
{
    const char *p = t + tok.off + 1, *end = t + tok.off + tok.len - 1;
    char *out = xmalloc(tok.len), *q = out;
    unsigned cp, lo;

    while (p < end) {
        if (*p != '\\') {
            *q++ = *p++;
            continue;
        }
        if (p[1] != 'u') {
            *q++ = p[1] == 'b' ? '\b' : p[1] == 'f' ? '\f' : p[1] == 'n' ?
                '\n' : p[1] == 'r' ? '\r' : p[1] == 't' ? '\t' : p[1];
            p += 2;
            continue;
        }
        cp = cfgfile_json_hex4(p + 2);
        p += 6;
        if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' &&
            p[1] == 'u' && (lo = cfgfile_json_hex4(p + 2)) >= 0xdc00 &&
            lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
        } else if (!cp || (cp >= 0xd800 && cp < 0xe000)) {
            free(out);
            return NULL;
        }
        if (cp < 0x80) {
            *q++ = (char)cp;
        } else if (cp < 0x800) {
            *q++ = (char)(0xc0 | cp >> 6);
            *q++ = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            *q++ = (char)(0xe0 | cp >> 12);
            *q++ = (char)(0x80 | (cp >> 6 & 0x3f));
            *q++ = (char)(0x80 | (cp & 0x3f));
        } else {
            *q++ = (char)(0xf0 | cp >> 18);
            *q++ = (char)(0x80 | (cp >> 12 & 0x3f));
            *q++ = (char)(0x80 | (cp >> 6 & 0x3f));
            *q++ = (char)(0x80 | (cp & 0x3f));
        }
    }
    *q = '\0';
    return out;
}

/* A disk object ends: is it the one? */
static int cfgfile_json_disk_done(struct cfgfile_jscan *s, char **cause_r)
{
    struct cfgfile_tok v = s->cur.tok[CFGFILE_K_VDEV];
    char *vdev;

    if (!v.len || v.null) return XLMIG_OK;
    vdev = cfgfile_json_decode(s->t, v);
    if (!vdev) {
        *cause_r = cfgfile_cause("disks[%zu].vdev holds \\u0000 or a lone "
                                 "surrogate", s->cur.idx);
        return XLMIG_E_INVAL;
    }
    if (!strcmp(vdev, s->vdev) && !s->nmatch++) s->match = s->cur;
    free(vdev);
    return XLMIG_OK;
}

/* A value starts at s->pos: a container is entered, a scalar skipped. */
static int cfgfile_json_value(struct cfgfile_jscan *s,
                              enum cfgfile_jstate *st, char **cause_r)
{
    struct cfgfile_jframe *up = s->depth ? &s->stack[s->depth - 1] : NULL;
    unsigned key = up ? up->key : CFGFILE_K_OTHER;
    unsigned char role = CFGFILE_R_OTHER;
    char c = s->t[s->pos];
    size_t at = s->pos;
    bool str = c == '"';

    if (!up && c != '{') {
        *cause_r = cfgfile_cause("the top level is not a JSON object");
        return XLMIG_E_INVAL;
    }
    if (up && up->role == CFGFILE_R_ROOT && key == CFGFILE_K_DISKS &&
        c != '[') {
        *cause_r = cfgfile_cause("\"disks\" is not an array");
        return XLMIG_E_INVAL;
    }
    if (up && up->role == CFGFILE_R_DISKS && c != '{') {
        *cause_r = cfgfile_cause("disks[%zu] is not an object", s->ndisks);
        return XLMIG_E_INVAL;
    }
    if (up && up->role == CFGFILE_R_DISK && key != CFGFILE_K_OTHER &&
        !str && (s->n - at < 4 || memcmp(s->t + at, "null", 4))) {
        *cause_r = cfgfile_cause("disks[%zu].%s is not a string",
                                 s->cur.idx, cfgfile_keys[key]);
        return XLMIG_E_INVAL;
    }
    if (c == '{' || c == '[') {
        if (s->depth == CFGFILE_DEPTH_MAX) {
            *cause_r = cfgfile_cause("nested deeper than %u (at byte %zu)",
                                     CFGFILE_DEPTH_MAX, s->pos);
            return XLMIG_E_INVAL;
        }
        if (!up) role = CFGFILE_R_ROOT;
        else if (up->role == CFGFILE_R_ROOT && key == CFGFILE_K_DISKS)
            role = CFGFILE_R_DISKS;
        else if (up->role == CFGFILE_R_DISKS) role = CFGFILE_R_DISK;
        if (role == CFGFILE_R_DISK) {
            memset(&s->cur, 0, sizeof(s->cur));
            s->cur.open = s->pos;
            s->cur.idx = s->ndisks++;
        }
        s->stack[s->depth++] = (struct cfgfile_jframe){
            .close = c == '{' ? '}' : ']', .role = role };
        s->pos++;
        *st = c == '{' ? CFGFILE_J_FIRST_KEY : CFGFILE_J_FIRST_VALUE;
        return XLMIG_OK;
    }
    if (str ? !cfgfile_json_skip_string(s->t, s->n, &s->pos)
            : !cfgfile_json_skip_scalar(s->t, s->n, &s->pos)) {
        *cause_r = cfgfile_cause("not JSON at byte %zu", at);
        return XLMIG_E_INVAL;
    }
    if (up->role == CFGFILE_R_DISK && key != CFGFILE_K_OTHER)
        s->cur.tok[key] = (struct cfgfile_tok){ at, s->pos - at, !str };
    *st = CFGFILE_J_NEXT;
    return XLMIG_OK;
}

/* A member's key and its ':'; the keys that matter are known once. */
static int cfgfile_json_key(struct cfgfile_jscan *s, char **cause_r)
{
    struct cfgfile_jframe *up = &s->stack[s->depth - 1];
    struct cfgfile_tok tok = { .off = s->pos };
    unsigned k = CFGFILE_K_OTHER, i;
    char *key;

    if (s->t[s->pos] != '"' ||
        !cfgfile_json_skip_string(s->t, s->n, &s->pos))
        goto bad;
    tok.len = s->pos - tok.off;
    if (up->role == CFGFILE_R_ROOT || up->role == CFGFILE_R_DISK) {
        key = cfgfile_json_decode(s->t, tok);
        for (i = CFGFILE_K_DISKS; key && i <= CFGFILE_K_FORMAT; i++)
            if (!strcmp(key, cfgfile_keys[i]) &&
                (i == CFGFILE_K_DISKS) == (up->role == CFGFILE_R_ROOT))
                k = i;
        free(key);
    }
    if (k != CFGFILE_K_OTHER && up->seen & 1u << k) {
        if (up->role == CFGFILE_R_ROOT)
            *cause_r = cfgfile_cause("\"disks\" is given twice");
        else
            *cause_r = cfgfile_cause("disks[%zu] has two \"%s\"",
                                     s->cur.idx, cfgfile_keys[k]);
        return XLMIG_E_INVAL;
    }
    up->seen |= 1u << k;
    up->key = (unsigned char)k;
    while (s->pos < s->n && strchr(" \t\n\r", s->t[s->pos]) &&
           s->t[s->pos])
        s->pos++;
    if (s->pos < s->n && s->t[s->pos] == ':') {
        s->pos++;
        return XLMIG_OK;
    }
bad:
    *cause_r = cfgfile_cause("not JSON at byte %zu", s->pos);
    return XLMIG_E_INVAL;
}

/* After a value: ',' or the end of its container. */
static int cfgfile_json_next(struct cfgfile_jscan *s,
                             enum cfgfile_jstate *st, char **cause_r)
{
    struct cfgfile_jframe *up = &s->stack[s->depth - 1];
    char c = s->t[s->pos++];

    if (c == ',') {
        *st = up->close == '}' ? CFGFILE_J_KEY : CFGFILE_J_VALUE;
        return XLMIG_OK;
    }
    if (c != up->close) {
        *cause_r = cfgfile_cause("not JSON at byte %zu", s->pos - 1);
        return XLMIG_E_INVAL;
    }
    s->depth--;
    *st = s->depth ? CFGFILE_J_NEXT : CFGFILE_J_END;
    return up->role == CFGFILE_R_DISK ? cfgfile_json_disk_done(s, cause_r)
                                      : XLMIG_OK;
}

/* Scans the whole text; s->match is disk vdev if s->nmatch is 1. */
static int cfgfile_json_scan(struct cfgfile_jscan *s, char **cause_r)
{
    enum cfgfile_jstate st = CFGFILE_J_VALUE;
    int rc = XLMIG_OK;
    char c;

    for (;;) {
        while (s->pos < s->n && strchr(" \t\n\r", s->t[s->pos]) &&
               s->t[s->pos])
            s->pos++;
        if (st == CFGFILE_J_END || s->pos >= s->n) break;
        c = s->t[s->pos];
        switch (st) {
        case CFGFILE_J_FIRST_VALUE:
        case CFGFILE_J_FIRST_KEY:
            if (c == (st == CFGFILE_J_FIRST_KEY ? '}' : ']')) {
                st = CFGFILE_J_NEXT;
                rc = cfgfile_json_next(s, &st, cause_r);
            } else if (st == CFGFILE_J_FIRST_KEY) {
                st = CFGFILE_J_VALUE;
                rc = cfgfile_json_key(s, cause_r);
            } else {
                rc = cfgfile_json_value(s, &st, cause_r);
            }
            break;
        case CFGFILE_J_KEY:
            st = CFGFILE_J_VALUE;
            rc = cfgfile_json_key(s, cause_r);
            break;
        case CFGFILE_J_VALUE:
            rc = cfgfile_json_value(s, &st, cause_r);
            break;
        case CFGFILE_J_NEXT:
            rc = cfgfile_json_next(s, &st, cause_r);
            break;
        case CFGFILE_J_END:
            break;
        }
        if (rc) return rc;
    }
    if (st != CFGFILE_J_END || s->pos < s->n) {
        *cause_r = cfgfile_cause(st == CFGFILE_J_END ? "not JSON at byte %zu"
                                 : "the JSON ends early (byte %zu)", s->pos);
        return XLMIG_E_INVAL;
    }
    return XLMIG_OK;
}

struct cfgfile_json {
    char *text;                 /* NUL-terminated copy */
    yajl_val tree;
    struct cfgfile_jscan s;
};

static void cfgfile_json_dispose(struct cfgfile_json *j)
{
    if (j->tree) yajl_tree_free(j->tree);
    free(j->text);
    memset(j, 0, sizeof(*j));
}

/* Reads text (jsonlim, then the scanner) and finds disk vdev. */
static int cfgfile_json_open(struct cfgfile_json *j, const char *text,
                             size_t len, const char *vdev, char **cause_r)
{
    char *why = NULL;

    memset(j, 0, sizeof(*j));
    j->text = xmalloc(len + 1);
    memcpy(j->text, text, len);
    j->text[len] = '\0';
    j->tree = jsonlim_parse(j->text, len, CFGFILE_DEPTH_MAX, &why);
    if (!j->tree) {
        *cause_r = cfgfile_cause("libxl JSON: %s", why);
        free(why);
        return XLMIG_E_INVAL;
    }
    j->s = (struct cfgfile_jscan){ .t = j->text, .n = len, .vdev = vdev };
    if (cfgfile_json_scan(&j->s, cause_r)) return XLMIG_E_INVAL;
    if (j->s.nmatch > 1) {
        *cause_r = cfgfile_cause("vdev '%.64s' is in %u disks", vdev,
                                 j->s.nmatch);
        return XLMIG_E_INVAL;
    }
    if (!j->s.nmatch) {
        *cause_r = cfgfile_cause("no disk '%.64s'", vdev);
        return XLMIG_E_NOTFOUND;
    }
    return XLMIG_OK;
}

/* Token k of the disk found: its string, NULL if absent or null. */
static int cfgfile_json_field(const struct cfgfile_json *j, unsigned k,
                              char **s_r, char **cause_r)
{
    struct cfgfile_tok tok = j->s.match.tok[k];

    *s_r = NULL;
    if (!tok.len || tok.null) return XLMIG_OK;
    *s_r = cfgfile_json_decode(j->text, tok);
    if (*s_r) return XLMIG_OK;
    *cause_r = cfgfile_cause("disks[%zu].%s holds \\u0000 or a lone "
                             "surrogate", j->s.match.idx, cfgfile_keys[k]);
    return XLMIG_E_INVAL;
}

/* The disk found, as cfgfile_disk_get() tells it. */
static int cfgfile_json_disk(const struct cfgfile_json *j,
                             struct cfgfile_disk *d, char **cause_r)
{
    char *f = NULL;
    int rc;

    rc = cfgfile_json_field(j, CFGFILE_K_PDEV, &d->target, cause_r);
    if (rc) goto out;
    if (!d->target) d->target = xstrdup("");
    rc = cfgfile_json_field(j, CFGFILE_K_FORMAT, &f, cause_r);
    if (rc || !f || !strcasecmp(f, "unknown")) goto out;
    if (!cfgfile_format(f)) {
        *cause_r = cfgfile_cause("disks[%zu].format '%.64s' is not a disk "
                                 "format", j->s.match.idx, f);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    d->format = xstrdup(cfgfile_format(f));
out:
    free(f);
    return rc;
}

int cfgfile_json_get(const char *text, size_t len, const char *vdev,
                     struct cfgfile_disk *d, char **cause_r)
{
    struct cfgfile_json j;
    int rc;

    rc = cfgfile_json_open(&j, text, len, vdev, cause_r);
    if (!rc) rc = cfgfile_json_disk(&j, d, cause_r);
    cfgfile_json_dispose(&j);
    return rc;
}

/* a and b are the same JSON value, object members in order. */
static bool cfgfile_json_same(yajl_val a, yajl_val b, unsigned depth)
{
    size_t i;

    if (depth > CFGFILE_DEPTH_MAX || a->type != b->type) return false;
    if (YAJL_IS_STRING(a)) return !strcmp(a->u.string, b->u.string);
    if (YAJL_IS_NUMBER(a)) return !strcmp(a->u.number.r, b->u.number.r);
    if (YAJL_IS_ARRAY(a)) {
        if (a->u.array.len != b->u.array.len) return false;
        for (i = 0; i < a->u.array.len; i++)
            if (!cfgfile_json_same(a->u.array.values[i],
                                   b->u.array.values[i], depth + 1))
                return false;
    } else if (YAJL_IS_OBJECT(a)) {
        if (a->u.object.len != b->u.object.len) return false;
        for (i = 0; i < a->u.object.len; i++)
            if (strcmp(a->u.object.keys[i], b->u.object.keys[i]) ||
                !cfgfile_json_same(a->u.object.values[i],
                                   b->u.object.values[i], depth + 1))
                return false;
    }
    return true;
}

static bool cfgfile_json_is(yajl_val v, const char *s)
{
    return YAJL_IS_STRING(v) && !strcmp(v->u.string, s);
}

/* The disk object b is a with target and format (inserted first if a
 * had none). */
static bool cfgfile_json_same_disk(yajl_val a, yajl_val b,
                                   const char *target, const char *format,
                                   bool inserted)
{
    size_t add = inserted, i;
    const char *k;

    if (!YAJL_IS_OBJECT(a) || !YAJL_IS_OBJECT(b) ||
        b->u.object.len != a->u.object.len + add)
        return false;
    if (inserted && (strcmp(b->u.object.keys[0], "format") ||
                     !cfgfile_json_is(b->u.object.values[0], format)))
        return false;
    for (i = 0; i < a->u.object.len; i++) {
        k = a->u.object.keys[i];
        if (strcmp(k, b->u.object.keys[i + add])) return false;
        if (!strcmp(k, "pdev_path")) {
            if (!cfgfile_json_is(b->u.object.values[i + add], target))
                return false;
        } else if (format && !strcmp(k, "format")) {
            if (!cfgfile_json_is(b->u.object.values[i + add], format))
                return false;
        } else if (!cfgfile_json_same(a->u.object.values[i],
                                      b->u.object.values[i + add], 4)) {
            return false;
        }
    }
    return true;
}

/* The self-check: b is a but for disks[idx]'s changed fields. */
static bool cfgfile_json_check(yajl_val a, yajl_val b, size_t idx,
                               const char *target, const char *format,
                               bool inserted)
{
    yajl_val da, db;
    size_t i, k;

    if (!YAJL_IS_OBJECT(a) || !YAJL_IS_OBJECT(b) ||
        a->u.object.len != b->u.object.len)
        return false;
    for (i = 0; i < a->u.object.len; i++) {
        if (strcmp(a->u.object.keys[i], b->u.object.keys[i])) return false;
        da = a->u.object.values[i];
        db = b->u.object.values[i];
        if (strcmp(a->u.object.keys[i], "disks")) {
            if (!cfgfile_json_same(da, db, 2)) return false;
            continue;
        }
        if (!YAJL_IS_ARRAY(da) || !YAJL_IS_ARRAY(db) ||
            da->u.array.len != db->u.array.len || idx >= da->u.array.len)
            return false;
        for (k = 0; k < da->u.array.len; k++)
            if (k == idx ? !cfgfile_json_same_disk(da->u.array.values[k],
                                                   db->u.array.values[k],
                                                   target, format, inserted)
                         : !cfgfile_json_same(da->u.array.values[k],
                                              db->u.array.values[k], 3))
                return false;
    }
    return true;
}

/* s as the text of a JSON string token, quotes included. */
static char *cfgfile_json_quote(const char *s)
{
    char *out = xmalloc(2 * strlen(s) + 3), *q = out;

    *q++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') *q++ = '\\';
        *q++ = *s;
    }
    *q++ = '"';
    *q = '\0';
    return out;
}

int cfgfile_json_retarget(const char *text, size_t len, const char *vdev,
                          const char *target, const char *format,
                          char **out_r, size_t *out_len_r, char **cause_r)
{
    struct cfgfile_edit e[2] = { { 0, 0, NULL }, { 0, 0, NULL } };
    struct cfgfile_disk old = { NULL, NULL };
    struct cfgfile_json j;
    struct cfgfile_tok pdev, fmt;
    yajl_val after = NULL;
    char *out = NULL, *why = NULL, *q;
    size_t out_len;
    int rc;

    if (!cfgfile_json_utf8(target)) {
        *cause_r = cfgfile_cause("the new target is not UTF-8");
        return XLMIG_E_INVAL;
    }
    rc = cfgfile_json_open(&j, text, len, vdev, cause_r);
    if (rc) goto out;
    rc = cfgfile_json_disk(&j, &old, cause_r);
    if (rc) goto out;
    pdev = j.s.match.tok[CFGFILE_K_PDEV];
    fmt = j.s.match.tok[CFGFILE_K_FORMAT];
    if (!*old.target) {
        *cause_r = cfgfile_cause("disks[%zu] ('%.64s') has no target (an "
                                 "empty drive)", j.s.match.idx, vdev);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    e[0] = (struct cfgfile_edit){ pdev.off, pdev.len,
                                  cfgfile_json_quote(target) };
    if (format && fmt.len) {
        e[1] = (struct cfgfile_edit){ fmt.off, fmt.len,
                                      cfgfile_json_quote(format) };
    } else if (format) {
        q = cfgfile_json_quote(format);
        e[1] = (struct cfgfile_edit){ j.s.match.open + 1, 0,
                                      xasprintf("\"format\": %s, ", q) };
        free(q);
    }
    out = cfgfile_splice(j.text, len, e, &out_len);
    after = jsonlim_parse(out, out_len, CFGFILE_DEPTH_MAX, &why);
    if (!after || !cfgfile_json_check(j.tree, after, j.s.match.idx, target,
                                      format, format && !fmt.len)) {
        *cause_r = cfgfile_cause("self-check: the changed JSON does not "
                                 "read back as intended%s%s",
                                 why ? ": " : "", why ? why : "");
        rc = XLMIG_E_INTERNAL;
        goto out;
    }
    *out_r = out;
    *out_len_r = out_len;
    out = NULL;
out:
    if (after) yajl_tree_free(after);
    free(why);
    free(out);
    free(e[0].with);
    free(e[1].with);
    cfgfile_disk_dispose(&old);
    cfgfile_json_dispose(&j);
    return rc;
}

