/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cfgfile-xl.c - a disk of an xl.cfg(5) config (cfgfile.h). libxlutil
 * reads the file and each disk spec: their meaning is never redone here.
 * What it cannot say is where a spec's bytes are, so a scanner mirrors
 * libxlu_cfg_l.l and libxlu_cfg_y.y (Xen 4.17) and must agree with
 * libxlutil on every item of the disk setting; as in xl, the last "disk"
 * setting wins and "disk += [...]" appends to it. A walk that mirrors
 * libxlu_disk_l.l then finds the target and the format in the spec. The
 * changed file must read back, through libxlutil, as the same disks but
 * for the changed one, which must read as the old disk with the new
 * target and format (libxl_device_disk_to_json of both). libxlutil is
 * not fed what makes it misbehave: a NUL (cfgfile.c refuses it) or a
 * newline in a disk spec (it may exit()). Numeric escapes ("\x41",
 * "\101"), which its dequote misreads, are refused in disk specs.
 */
#define LIBXL_API_VERSION 0x041400

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxlutil.h>

#include "cfgfile-priv.h"

#define CFGFILE_XL_DISKS_MAX 1024       /* items of the disk list */
#define CFGFILE_XL_WHY_MAX 200          /* bytes of libxlutil's words */
#define CFGFILE_XL_PARAMS_MAX 64        /* parameters of a disk spec */

/* Tokens of libxlu_cfg_l.l: these, or the character itself (",[]=;\n"). */
enum { CFGFILE_X_EOF = 0, CFGFILE_X_ERR = 1, CFGFILE_X_IDENT = 'I',
       CFGFILE_X_ATOM = 'S', CFGFILE_X_ADD = '+' };

struct cfgfile_xtok {
    int type;
    size_t off, len;
};

/* An item of the disk list: its token's bytes. */
struct cfgfile_xitem {
    size_t off, len;            /* quotes included */
    char quote;                 /* '"', '\'', 0: a number or a list */
    bool list;
};

struct cfgfile_xl {
    const char *text;
    size_t len, pos;
    XLU_Config *cfg;
    FILE *report;               /* libxlutil's words go to rbuf */
    char *rbuf;
    size_t rlen;
    char kind;                  /* disk: 0 absent, 'S' a string, '[' a list */
    struct cfgfile_xitem *items;
    char **specs;               /* each item's text; NULL: a list */
    size_t n;
};

static struct cfgfile_xtok cfgfile_xl_lex(struct cfgfile_xl *x)
{
    struct cfgfile_xtok k = { CFGFILE_X_ERR, 0, 0 };
    const char *t = x->text, *nl;
    size_t n = x->len, i = x->pos;
    char c;

    while (i < n && (t[i] == ' ' || t[i] == '\t')) i++;
    k.off = i;
    c = i < n ? t[i] : '\0';
    if (i >= n) {
        k.type = CFGFILE_X_EOF;
    } else if (cfgfile_lower(c)) {
        k.type = CFGFILE_X_IDENT;
        while (i < n && (cfgfile_lower(t[i]) || cfgfile_digit(t[i]) ||
                         t[i] == '.' || t[i] == '_'))
            i++;
    } else if (cfgfile_digit(c)) {
        k.type = CFGFILE_X_ATOM;
        while (i < n && (cfgfile_digit(t[i]) || t[i] == 'x' ||
                         (t[i] >= 'a' && t[i] <= 'f')))
            i++;
    } else if (c == '+' && n - i >= 2 && t[i + 1] == '=') {
        k.type = CFGFILE_X_ADD;
        i += 2;
    } else if (c && strchr(",[]=;\n", c)) {
        k.type = c;
        i++;
    } else if (c == '#' && (nl = memchr(t + i, '\n', n - i))) {
        k.type = '\n';
        i = (size_t)(nl - t) + 1;
    } else if (c == '"' || c == '\'') {
        for (i++; i < n && t[i] != c && t[i] != '\n'; i++)
            if (t[i] == '\\' && (n - i < 2 || t[++i] == '\n')) break;
        if (i < n && t[i] == c) {
            k.type = CFGFILE_X_ATOM;
            i++;
        }
    }
    /* libxlu_cfg_l.l's "." and <lexerr> rules never report a bad byte
     * that ends the text: it reads as the end. */
    if (k.type == CFGFILE_X_ERR && k.off + 1 == n) k.type = CFGFILE_X_EOF;
    k.len = i - k.off;
    x->pos = i;
    return k;
}

static int cfgfile_xl_differ(size_t at, char **cause_r)
{
    *cause_r = cfgfile_cause("self-check: libxlutil reads the file, cfgfile "
                             "reads it differently (byte %zu)", at);
    return XLMIG_E_INTERNAL;
}

static int cfgfile_xl_item(struct cfgfile_xl *x, struct cfgfile_xtok k,
                           char **cause_r)
{
    char q = x->text[k.off];

    if (x->n == CFGFILE_XL_DISKS_MAX) {
        *cause_r = cfgfile_cause("more than %u disks", CFGFILE_XL_DISKS_MAX);
        return XLMIG_E_INVAL;
    }
    x->items = xrealloc(x->items, (x->n + 1) * sizeof(*x->items));
    x->items[x->n++] = (struct cfgfile_xitem){
        k.off, k.len, q == '"' || q == '\'' ? q : 0, k.type == '[' };
    return XLMIG_OK;
}

/* A value after '=' or '+=' (libxlu_cfg_y.y); disk's items are kept. */
static int cfgfile_xl_value(struct cfgfile_xl *x, bool disk, bool add,
                            char **cause_r)
{
    struct cfgfile_xtok k = cfgfile_xl_lex(x);
    unsigned depth = 1;
    bool sep = false;           /* after a value: ',' or ']' */
    int rc;

    if (k.type == CFGFILE_X_ATOM || k.type == '[') {
        if (disk && add && x->kind != (k.type == '[' ? '[' : 'S') &&
            x->kind)
            return cfgfile_xl_differ(k.off, cause_r);
        if (disk && !add) x->n = 0;
        if (disk) x->kind = k.type == '[' ? '[' : 'S';
    }
    if (k.type == CFGFILE_X_ATOM) return XLMIG_OK;
    if (k.type != '[') return cfgfile_xl_differ(k.off, cause_r);
    for (;;) {
        k = cfgfile_xl_lex(x);
        if (k.type == '\n') continue;
        if (k.type == ']') {
            if (!--depth) return XLMIG_OK;
            sep = true;
        } else if (sep) {
            if (k.type != ',') return cfgfile_xl_differ(k.off, cause_r);
            sep = false;
        } else if (k.type == CFGFILE_X_ATOM || k.type == '[') {
            if (disk && depth == 1) {
                rc = cfgfile_xl_item(x, k, cause_r);
                if (rc) return rc;
            }
            sep = k.type == CFGFILE_X_ATOM;
            if (k.type == '[' && depth++ == CFGFILE_DEPTH_MAX) {
                *cause_r = cfgfile_cause("lists nested deeper than %u "
                                         "(byte %zu)", CFGFILE_DEPTH_MAX,
                                         k.off);
                return XLMIG_E_INVAL;
            }
        } else {
            return cfgfile_xl_differ(k.off, cause_r);
        }
    }
}

/* The file, setting by setting, as libxlu_cfg_y.y reads it. */
static int cfgfile_xl_scan(struct cfgfile_xl *x, char **cause_r)
{
    struct cfgfile_xtok k;
    bool disk;
    int rc;

    for (;;) {
        k = cfgfile_xl_lex(x);
        if (k.type == CFGFILE_X_EOF) return XLMIG_OK;
        if (k.type == '\n' || k.type == ';') continue;
        if (k.type != CFGFILE_X_IDENT) break;
        disk = k.len == 4 && !memcmp(x->text + k.off, "disk", 4);
        k = cfgfile_xl_lex(x);
        if (k.type != '=' && k.type != CFGFILE_X_ADD) break;
        rc = cfgfile_xl_value(x, disk, k.type == CFGFILE_X_ADD, cause_r);
        if (rc) return rc;
        k = cfgfile_xl_lex(x);
        if (k.type == CFGFILE_X_EOF) return XLMIG_OK;
        if (k.type != '\n' && k.type != ';') break;
    }
    return cfgfile_xl_differ(k.off, cause_r);
}

/*
 * The text of item i, allocated, as libxlu's dequote makes it, and if
 * map_r is wanted where each of its bytes (and its end) is in the file.
 * Numeric escapes are refused: libxlutil misreads them.
 */
static int cfgfile_xl_decode(const struct cfgfile_xl *x, size_t i,
                             char **s_r, size_t **map_r, char **cause_r)
{
    static const char esc[] = "\"\"''\\\\a\ab\bf\fn\nr\rt\tv\v";
    const struct cfgfile_xitem *it = &x->items[i];
    size_t p = it->off + !!it->quote, end = it->off + it->len - !!it->quote;
    size_t n = 0, *map = map_r ? xmalloc((it->len + 1) * sizeof(*map))
                               : NULL;
    char *s = xmalloc(it->len + 1), c;
    const char *e;

    while (p < end) {
        if (map) map[n] = p;
        c = x->text[p++];
        if (it->quote && c == '\\') {
            for (e = esc; p < end && *e && *e != x->text[p]; e += 2)
                ;
            if (p >= end || !*e) {
                *cause_r = cfgfile_cause("disk[%zu] holds an escape '\\%c' "
                                         "(only \\\\, \\', \\\" and \\a "
                                         "... \\v are read)", i,
                                         p < end ? x->text[p] : '?');
                free(map);
                free(s);
                return XLMIG_E_INVAL;
            }
            c = e[1];
            p++;
        }
        s[n++] = c;
    }
    if (map) map[n] = p;
    s[n] = '\0';
    *s_r = s;
    if (map_r) *map_r = map;
    return XLMIG_OK;
}

static void cfgfile_xl_dispose(struct cfgfile_xl *x)
{
    size_t i;

    if (x->cfg) xlu_cfg_destroy(x->cfg);
    if (x->report) fclose(x->report);
    free(x->rbuf);
    for (i = 0; x->specs && i < x->n; i++) free(x->specs[i]);
    free(x->specs);
    free(x->items);
    memset(x, 0, sizeof(*x));
}

/* What libxlutil said since mark (else strerror(r)), as a cause. */
static char *cfgfile_xl_why(struct cfgfile_xl *x, size_t mark, int r,
                            const char *what)
{
    const char *w;
    size_t n;

    fflush(x->report);
    w = x->rbuf && x->rlen > mark ? x->rbuf + mark : "";
    n = strcspn(w, "\n");
    if (!n) return cfgfile_cause("%s%s", what, strerror(r));
    if (n > CFGFILE_XL_WHY_MAX) n = CFGFILE_XL_WHY_MAX;
    return cfgfile_cause("%s%.*s", what, (int)n, w);
}

/* Reads the file with libxlutil and with the scanner; both must agree
 * on every item of the disk setting. */
static int cfgfile_xl_open(struct cfgfile_xl *x, const char *text,
                           size_t len, char **cause_r)
{
    XLU_ConfigList *list;
    const char *item;
    int r, n, rc;
    size_t i;

    memset(x, 0, sizeof(*x));
    x->text = len ? text : "";
    x->len = len;
    x->report = open_memstream(&x->rbuf, &x->rlen);
    if (!x->report) abort();
    x->cfg = xlu_cfg_init(x->report, "xl.cfg");
    if (!x->cfg) abort();
    r = xlu_cfg_readdata(x->cfg, x->text, (int)len);
    if (r) {
        *cause_r = cfgfile_xl_why(x, 0, r, "");
        return XLMIG_E_INVAL;
    }
    rc = cfgfile_xl_scan(x, cause_r);
    if (rc) return rc;
    r = xlu_cfg_get_list(x->cfg, "disk", &list, &n, 1);
    if (!x->kind && r == ESRCH) return XLMIG_OK;
    if (x->kind == 'S' && r == EINVAL) {
        *cause_r = cfgfile_cause("the disk setting is not a list");
        return XLMIG_E_INVAL;
    }
    if (r || x->kind != '[' || n < 0 || (size_t)n != x->n)
        return cfgfile_xl_differ(0, cause_r);
    x->specs = xcalloc(x->n + 1, sizeof(*x->specs));
    for (i = 0; i < x->n; i++) {
        item = xlu_cfg_get_listitem(list, (int)i);
        if (x->items[i].list) {
            if (item) return cfgfile_xl_differ(x->items[i].off, cause_r);
            continue;
        }
        rc = cfgfile_xl_decode(x, i, &x->specs[i], NULL, cause_r);
        if (rc) return rc;
        if (!item || strcmp(item, x->specs[i]))
            return cfgfile_xl_differ(x->items[i].off, cause_r);
    }
    return XLMIG_OK;
}

/* The item holding disk vdev, and libxlutil's reading of it into *d_r
 * (initialised here, the caller disposes of it). */
static int cfgfile_xl_find(struct cfgfile_xl *x, const char *vdev,
                           size_t *idx_r, libxl_device_disk *d_r,
                           char **cause_r)
{
    libxl_device_disk d;
    const char *spec;
    bool found = false;
    size_t i, mark;
    char what[48];
    int r;

    libxl_device_disk_init(d_r);
    for (i = 0; i < x->n; i++) {
        if (!x->specs[i]) {
            *cause_r = cfgfile_cause("disk[%zu] is a list, not a disk spec",
                                     i);
            return XLMIG_E_INVAL;
        }
        /* libxlu_disk_l.l calls exit() ("flex scanner jammed") on a bad
         * byte followed by a newline: no newline gets there. */
        if (strchr(x->specs[i], '\n')) {
            *cause_r = cfgfile_cause("disk[%zu]: the spec holds a newline",
                                     i);
            return XLMIG_E_INVAL;
        }
        fflush(x->report);
        mark = x->rlen;
        spec = x->specs[i];
        libxl_device_disk_init(&d);
        r = xlu_disk_parse(x->cfg, 1, &spec, &d);
        if (r) {
            libxl_device_disk_dispose(&d);
            snprintf(what, sizeof(what), "disk[%zu]: ", i);
            *cause_r = cfgfile_xl_why(x, mark, r, what);
            return XLMIG_E_INVAL;
        }
        if (strcmp(d.vdev, vdev)) {
            libxl_device_disk_dispose(&d);
            continue;
        }
        if (found) {
            libxl_device_disk_dispose(&d);
            *cause_r = cfgfile_cause("vdev '%.64s' is in disk[%zu] and "
                                     "disk[%zu]", vdev, *idx_r, i);
            return XLMIG_E_INVAL;
        }
        found = true;
        *idx_r = i;
        *d_r = d;
    }
    if (found) return XLMIG_OK;
    *cause_r = cfgfile_cause(x->kind ? "no disk '%.64s'"
                             : "no disk '%.64s' (no disk setting)", vdev);
    return XLMIG_E_NOTFOUND;
}

/* ---- the disk spec (xl-disk-configuration(5)) ------------------------ */

enum cfgfile_fsrc { CFGFILE_F_NONE, CFGFILE_F_KEY, CFGFILE_F_POS,
                    CFGFILE_F_PREFIX, CFGFILE_F_CDROM };

/* Where a spec gives its target and format (offsets in the spec). */
struct cfgfile_spec {
    size_t t_off, t_len, f_off, f_len;
    unsigned nt, nf;            /* parameters that give each */
    bool t_key;                 /* target=, not positional */
    enum cfgfile_fsrc fsrc;     /* of the last format */
};

static const char *const cfgfile_keywords[] = {
    "format", "access", "backend", "backendtype", "specification", "vdev",
    "script", "colo-host", "colo-port", "colo-export", "active-disk",
    "hidden-disk", "devtype",
};

/* Legacy prefixes; the first CFGFILE_PREFIX_FORMATS give a format. */
static const char *const cfgfile_prefixes[] = {
    "raw", "qcow", "qcow2", "vhd", "iscsi", "nbd", "enbd", "drbd", "tapdisk",
    "tap", "tap2", "aio", "ioemu", "file", "phy",
};
#define CFGFILE_PREFIX_FORMATS 4

static void cfgfile_xl_spec_format(struct cfgfile_spec *sp, size_t off,
                                   size_t len, enum cfgfile_fsrc src)
{
    sp->f_off = off;
    sp->f_len = len;
    sp->fsrc = src;
    sp->nf++;
}

#define CFGFILE_XL_PROBE "/cfgfile-probe"
#define CFGFILE_XL_WORD_MAX 32

/*
 * Whether libxlutil reads s[0, n) as a flag ("cdrom", "discard", ...)
 * rather than a positional parameter. Its versions differ (the 4.17
 * library has no "trusted" though its source does), so it is asked: a
 * flag leaves the target to what follows. Only words can be flags.
 */
static bool cfgfile_xl_flag(struct cfgfile_xl *x, const char *s, size_t n)
{
    libxl_device_disk d;
    const char *spec;
    char *probe;
    bool flag;
    size_t i;

    if (!n || n > CFGFILE_XL_WORD_MAX || !cfgfile_lower(s[0])) return false;
    for (i = 1; i < n; i++)
        if (!cfgfile_lower(s[i]) && !cfgfile_digit(s[i]) && s[i] != '-' &&
            s[i] != '_')
            return false;
    probe = xasprintf("%.*s," CFGFILE_XL_PROBE ",vdev=xvda", (int)n, s);
    spec = probe;
    libxl_device_disk_init(&d);
    flag = !xlu_disk_parse(x->cfg, 1, &spec, &d) && d.pdev_path &&
           !strcmp(d.pdev_path, CFGFILE_XL_PROBE);
    libxl_device_disk_dispose(&d);
    free(probe);
    return flag;
}

/* A positional parameter s[p, end): the target, the format or more. */
static void cfgfile_xl_spec_positional(struct cfgfile_spec *sp,
                                       const char *s, size_t p, size_t end,
                                       bool prefix)
{
    if (!sp->nt) {
        sp->t_off = p;
        sp->t_len = end - p;
        sp->nt++;
    } else if (!prefix && !sp->nf) {
        /* After an empty target, "hdc:cdrom" is the vdev and says
         * format "empty". */
        if (!sp->t_len && memchr(s + p, ':', end - p))
            cfgfile_xl_spec_format(sp, p, 0, CFGFILE_F_CDROM);
        else
            cfgfile_xl_spec_format(sp, p, end - p, CFGFILE_F_POS);
    }
}

/*
 * Walks a spec libxlutil accepted as libxlu_disk_l.l does (longest match,
 * earlier rule on a tie): blanks, legacy prefixes ("phy:", which win over
 * all but target=), target= (the rest of the spec, one trailing ','
 * dropped), KEY=VALUE, flags, and positionals: the first is the target,
 * the second the format unless a prefix or format came first. The spec
 * holds no newline (cfgfile_xl_find), so ".*" runs to its end.
 */
static int cfgfile_xl_spec_walk(struct cfgfile_xl *x, const char *s,
                                size_t idx, struct cfgfile_spec *sp,
                                char **cause_r)
{
    size_t n = strlen(s), p = 0, w, end, v;
    unsigned params = 0;
    const char *why = NULL;
    bool prefix = false;

    memset(sp, 0, sizeof(*sp));
    while (!why && p < n) {
        if (s[p] == ' ' || s[p] == '\t') {
            p++;
            continue;
        }
        if (++params > CFGFILE_XL_PARAMS_MAX) {
            why = "has too many parameters";
            break;
        }
        for (w = p; cfgfile_lower(s[w]) || (w > p && cfgfile_digit(s[w]));)
            w++;
        end = p + strcspn(s + p, ",=");
        if (w > p && s[w] == ':' &&
            cfgfile_in(s + p, w - p, cfgfile_prefixes,
                       ARRAY_SIZE(cfgfile_prefixes))) {
            prefix = true;
            if (cfgfile_in(s + p, w - p, cfgfile_prefixes,
                           CFGFILE_PREFIX_FORMATS))
                cfgfile_xl_spec_format(sp, p, w - p, CFGFILE_F_PREFIX);
            p = w + 1;
        } else if (w > p && s[w] == ':' && !cfgfile_lower(s[w + 1]) &&
                   !cfgfile_digit(s[w + 1])) {
            why = "has an unknown legacy prefix";
        } else if (!strncmp(s + p, "target=", 7)) {
            sp->t_off = p + 7;
            sp->t_len = n - sp->t_off - (n > sp->t_off && s[n - 1] == ',');
            sp->t_key = true;
            sp->nt++;
            break;
        } else if (s[end] == '=' && end - p == 11 &&
                   !memcmp(s + p, "grant_usage", 11)) {
            p = end + 2 + (s[end + 1] && s[end + 2] == ',');
            if (p > n) why = "has a bad grant_usage";
        } else if (s[end] == '=') {
            if (!cfgfile_in(s + p, end - p, cfgfile_keywords,
                            ARRAY_SIZE(cfgfile_keywords)))
                why = "has an unknown parameter";
            v = end + 1 + strcspn(s + end + 1, ",");
            if (end - p == 6 && !memcmp(s + p, "format", 6))
                cfgfile_xl_spec_format(sp, end + 1, v - end - 1,
                                       CFGFILE_F_KEY);
            p = v + (s[v] == ',');
        } else {
            if (!cfgfile_xl_flag(x, s + p, end - p))
                cfgfile_xl_spec_positional(sp, s, p, end, prefix);
            p = end + (s[end] == ',');
        }
    }
    if (!why) return XLMIG_OK;
    *cause_r = cfgfile_cause("disk[%zu]: the spec %s", idx, why);
    return XLMIG_E_INVAL;
}

/* Whether target can stand where spec item it has its target. */
static int cfgfile_xl_check_target(struct cfgfile_xl *x, size_t idx,
                                   const struct cfgfile_spec *sp,
                                   const char *t, char **cause_r)
{
    const struct cfgfile_xitem *it = &x->items[idx];
    const char *why = NULL;
    size_t w;

    for (w = 0; cfgfile_lower(t[w]) || (w && cfgfile_digit(t[w])); w++)
        ;
    if (!it->quote)
        why = "the disk spec is not a quoted string";
    else if (strchr(t, it->quote))
        why = "the new target holds the quote character of its string";
    else if (strchr(t, '\\'))
        why = "the new target holds a backslash (an xl.cfg escape)";
    else if (sp->t_key)
        why = t[strlen(t) - 1] == ',' ? "a target= value cannot end in ','"
                                      : NULL;
    else if (strpbrk(t, ",="))
        why = "a positional target cannot hold ',' or '=' (use target=)";
    else if (t[0] == ' ' || t[0] == '\t')
        why = "a positional target cannot start with a blank";
    else if (w && t[w] == ':')
        why = "the new target would read as a legacy prefix (use target=)";
    else if (cfgfile_xl_flag(x, t, strlen(t)))
        why = "the new target would read as a flag (use target=)";
    if (!why) return XLMIG_OK;
    *cause_r = cfgfile_cause("%s", why);
    return XLMIG_E_INVAL;
}

/* The edit that sets the format of spec item it (text offsets by map). */
static int cfgfile_xl_format_edit(const struct cfgfile_xl *x, size_t idx,
                                  const struct cfgfile_spec *sp,
                                  const size_t *map, const char *format,
                                  struct cfgfile_edit *e, char **cause_r)
{
    const struct cfgfile_xitem *it = &x->items[idx];
    const char *s = x->specs[idx];

    if (sp->nf > 1) {
        *cause_r = cfgfile_cause("disk[%zu]: the spec gives its format %u "
                                 "times", idx, sp->nf);
        return XLMIG_E_INVAL;
    }
    if (sp->fsrc == CFGFILE_F_NONE) {
        *e = (struct cfgfile_edit){ it->off + 1, 0,
                                    xasprintf("format=%s, ", format) };
        return XLMIG_OK;
    }
    if (sp->fsrc == CFGFILE_F_CDROM) {
        *cause_r = cfgfile_cause("disk[%zu]: the spec's format comes from "
                                 "its empty cd-rom target", idx);
        return XLMIG_E_INVAL;
    }
    if (sp->fsrc == CFGFILE_F_PREFIX &&
        !cfgfile_in(format, strlen(format), cfgfile_prefixes,
                    CFGFILE_PREFIX_FORMATS)) {
        *cause_r = cfgfile_cause("disk[%zu]: the spec's legacy prefix "
                                 "'%.*s:' cannot say format %s (write the "
                                 "spec with format=)", idx, (int)sp->f_len,
                                 s + sp->f_off, format);
        return XLMIG_E_INVAL;
    }
    *e = (struct cfgfile_edit){ map[sp->f_off],
                                map[sp->f_off + sp->f_len] - map[sp->f_off],
                                xstrdup(format) };
    return XLMIG_OK;
}

int cfgfile_xl_get(const char *text, size_t len, const char *vdev,
                   struct cfgfile_disk *d, char **cause_r)
{
    struct cfgfile_spec sp;
    struct cfgfile_xl x;
    libxl_device_disk disk;
    const char *f;
    size_t idx = 0;
    int rc;

    libxl_device_disk_init(&disk);
    rc = cfgfile_xl_open(&x, text, len, cause_r);
    if (rc) goto out;
    rc = cfgfile_xl_find(&x, vdev, &idx, &disk, cause_r);
    if (rc) goto out;
    rc = cfgfile_xl_spec_walk(&x, x.specs[idx], idx, &sp, cause_r);
    if (rc) goto out;
    d->target = xstrdup(disk.pdev_path ? disk.pdev_path : "");
    f = libxl_disk_format_to_string(disk.format);
    if (sp.fsrc != CFGFILE_F_NONE && f) d->format = xstrdup(f);
out:
    libxl_device_disk_dispose(&disk);
    cfgfile_xl_dispose(&x);
    return rc;
}

/* The self-check: out reads back as x but for disk idx, which must now
 * read as want. */
static int cfgfile_xl_check(const struct cfgfile_xl *x, size_t idx,
                            libxl_device_disk *want, const char *out,
                            size_t out_len, const char *vdev,
                            char **cause_r)
{
    libxl_device_disk got;
    struct cfgfile_xl y;
    char *a = NULL, *b = NULL, *why = NULL;
    size_t i, j = 0;
    int rc;

    libxl_device_disk_init(&got);
    rc = cfgfile_xl_open(&y, out, out_len, &why);
    if (!rc) rc = cfgfile_xl_find(&y, vdev, &j, &got, &why);
    if (!rc && (j != idx || y.n != x->n)) rc = XLMIG_E_INTERNAL;
    for (i = 0; !rc && i < x->n; i++)
        if (i != idx && strcmp(x->specs[i], y.specs[i]))
            rc = XLMIG_E_INTERNAL;
    if (!rc) {
        a = libxl_device_disk_to_json(NULL, want);
        b = libxl_device_disk_to_json(NULL, &got);
        if (!a || !b || strcmp(a, b)) rc = XLMIG_E_INTERNAL;
    }
    if (rc) {
        *cause_r = cfgfile_cause("self-check: the changed file does not "
                                 "read back as intended%s%s",
                                 why ? ": " : "", why ? why : "");
        rc = XLMIG_E_INTERNAL;
    }
    free(a);
    free(b);
    free(why);
    libxl_device_disk_dispose(&got);
    cfgfile_xl_dispose(&y);
    return rc;
}

int cfgfile_xl_retarget(const char *text, size_t len, const char *vdev,
                        const char *target, const char *format,
                        const char *script, char **out_r, size_t *out_len_r,
                        char **cause_r)
{
    struct cfgfile_edit e[2] = { { 0, 0, NULL }, { 0, 0, NULL } };
    struct cfgfile_spec sp;
    struct cfgfile_xl x;
    libxl_device_disk d;
    size_t idx = 0, *map = NULL, out_len;
    char *spec = NULL, *out = NULL;
    int rc;

    libxl_device_disk_init(&d);
    rc = cfgfile_xl_open(&x, text, len, cause_r);
    if (rc) goto out;
    rc = cfgfile_xl_find(&x, vdev, &idx, &d, cause_r);
    if (rc) goto out;
    rc = cfgfile_xl_decode(&x, idx, &spec, &map, cause_r);
    if (rc) goto out;
    rc = cfgfile_xl_spec_walk(&x, spec, idx, &sp, cause_r);
    if (rc) goto out;
    if (!d.pdev_path || !*d.pdev_path || sp.nt != 1) {
        *cause_r = cfgfile_cause(sp.nt > 1 ? "disk[%zu]: the spec gives its "
                                 "target twice" : "disk[%zu] has no target "
                                 "(an empty drive)", idx);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    rc = cfgfile_xl_check_target(&x, idx, &sp, target, cause_r);
    if (rc) goto out;
    e[0] = (struct cfgfile_edit){ map[sp.t_off],
                                  map[sp.t_off + sp.t_len] - map[sp.t_off],
                                  xstrdup(target) };
    if (format) {
        rc = cfgfile_xl_format_edit(&x, idx, &sp, map, format, &e[1],
                                    cause_r);
        if (rc) goto out;
        if (libxl_disk_format_from_string(format, &d.format)) abort();
    } else if (script && !(d.script && !strcmp(d.script, script))) {
        if (d.script) {
            *cause_r = cfgfile_cause("disk[%zu] has the hotplug script %.64s "
                                     "already", idx, d.script);
            rc = XLMIG_E_INVAL;
            goto out;
        }
        /* Keys come in any order before the target: first is safe. */
        e[1] = (struct cfgfile_edit){ x.items[idx].off + 1, 0,
                                      xasprintf("script=%s, ", script) };
        d.script = xstrdup(script);
    }
    out = cfgfile_splice(x.text, len, e, &out_len);
    free(d.pdev_path);
    d.pdev_path = xstrdup(target);
    rc = cfgfile_xl_check(&x, idx, &d, out, out_len, vdev, cause_r);
    if (rc) goto out;
    *out_r = out;
    *out_len_r = out_len;
    out = NULL;
out:
    free(out);
    free(spec);
    free(map);
    free(e[0].with);
    free(e[1].with);
    libxl_device_disk_dispose(&d);
    cfgfile_xl_dispose(&x);
    return rc;
}


int cfgfile_xl_info(const char *text, size_t len, const char *vdev,
                    struct cfgfile_info *inf, char **cause_r)
{
    XLU_ConfigList *list;
    struct cfgfile_xl x;
    libxl_device_disk d;
    const char *v, *item, *key;
    size_t idx = 0;
    int n, i, rc;

    libxl_device_disk_init(&d);
    rc = cfgfile_xl_open(&x, text, len, cause_r);
    if (!rc) rc = cfgfile_xl_find(&x, vdev, &idx, &d, cause_r);
    if (rc) goto out;
    if (!xlu_cfg_get_string(x.cfg, "name", &v, 0)) inf->name = xstrdup(v);
    inf->hvm = (!xlu_cfg_get_string(x.cfg, "type", &v, 0) &&
                !strcmp(v, "hvm")) ||
               (!xlu_cfg_get_string(x.cfg, "builder", &v, 0) &&
                !strcmp(v, "hvm"));
    inf->target = xstrdup(d.pdev_path ? d.pdev_path : "");
    inf->format = xstrdup(libxl_disk_format_to_string(d.format) ?
                          libxl_disk_format_to_string(d.format) : "");
    inf->backend = xstrdup(libxl_disk_backend_to_string(d.backend) ?
                           libxl_disk_backend_to_string(d.backend) : "");
    if (d.script) inf->script = xstrdup(d.script);
    key = inf->hvm ? "device_model_args_hvm" : "device_model_args_pv";
    if (!xlu_cfg_get_list(x.cfg, key, &list, &n, 0)) {
        inf->dm_args = xcalloc((size_t)n + 1, sizeof(*inf->dm_args));
        for (i = 0; i < n; i++) {
            item = xlu_cfg_get_listitem(list, i);
            inf->dm_args[inf->n_dm_args++] = xstrdup(item ? item : "");
        }
        inf->has_dm_args = true;
    }
out:
    libxl_device_disk_dispose(&d);
    cfgfile_xl_dispose(&x);
    return rc;
}
