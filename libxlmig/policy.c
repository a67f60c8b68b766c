/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy.c - the receiver's incoming policy (policy.h): its settings from
 * xlmig.conf, and one walk over a domain's libxl JSON config in which
 * every field must match a row of policy_fields[], whose rule decides.
 * A field no row names is refused: a field libxl learns later must be
 * judged here before a sender can use it. Paths are policy-path.c's.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "domcfg.h"
#include "jsonlim.h"
#include "policy-priv.h"
#include "proto.h"
#include "sr.h"

#define POLICY_JSON_MAX (4u << 20)      /* as domcfg.c */
#define POLICY_DEPTH_MAX 32
#define POLICY_PATTERN_MAX 160
#define POLICY_NAME_MAX 64
#define POLICY_IFNAME_MAX 15            /* IFNAMSIZ - 1 */
#define POLICY_KV_MAX 64                /* entries of xsdata, platformdata */
#define POLICY_KV_VALUE_MAX 1024
#define POLICY_VCPUS_DEFAULT 128        /* Xen's HVM_MAX_VCPUS */
#define POLICY_WEIGHT_MAX 65535         /* credit, credit2 */
#define POLICY_MEMORY_MB_MAX (16u << 20)    /* 16 TiB */
#define POLICY_SCRIPT_DIR "/etc/xen/scripts"

static const char *const policy_allow_names[] = {
    "pci", "iomem", "ioports", "irqs", "device-model", "usb", "p9", "vtpm",
    "pvcalls", "channels", "host-serial", "local-display", "driver-domains",
    "virtio", "colo", "security-labels", "bootloader-args", "tee",
};

static const char *const policy_default_disk_paths[] = {
    "/var/lib/xen/images", "/srv/xen",
};
static const char *const policy_default_boot_paths[] = {
    "/var/lib/xen/boot", "/var/lib/xen/images", "/usr/lib/xen-4.17/boot",
    "/srv/xen",
};
static const char *const policy_default_bootloaders[] = {
    "pygrub", "/usr/lib/xen-4.17/bin/pygrub", "/usr/bin/pygrub",
};

const char *policy_allow_name(unsigned bit)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(policy_allow_names); i++)
        if (bit == 1u << i) return policy_allow_names[i];
    return "?";
}

/* ---- settings ---- */

static char **policy_strdupv(const char *const *v, size_t n)
{
    char **out = xcalloc(n ? n : 1, sizeof(*out));
    size_t i;

    for (i = 0; i < n; i++)
        out[i] = xstrdup(v[i]);
    return out;
}

static void policy_freev(char **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void policy_init(struct policy *p)
{
    memset(p, 0, sizeof(*p));
    p->n_disk_paths = ARRAY_SIZE(policy_default_disk_paths);
    p->disk_paths = policy_strdupv(policy_default_disk_paths,
                                   p->n_disk_paths);
    p->disk_vgs = policy_strdupv(NULL, 0);
    p->n_boot_paths = ARRAY_SIZE(policy_default_boot_paths);
    p->boot_paths = policy_strdupv(policy_default_boot_paths,
                                   p->n_boot_paths);
    p->n_bootloaders = ARRAY_SIZE(policy_default_bootloaders);
    p->bootloaders = policy_strdupv(policy_default_bootloaders,
                                    p->n_bootloaders);
    p->scripts = policy_strdupv(NULL, 0);
    p->bridges = policy_strdupv(NULL, 0);
    p->max_vcpus = POLICY_VCPUS_DEFAULT;
    p->max_weight = POLICY_WEIGHT_MAX;
    p->script_dir = POLICY_SCRIPT_DIR;
    p->qemu_img = "qemu-img";
    p->root = "";
}

void policy_dispose(struct policy *p)
{
    policy_freev(p->disk_paths, p->n_disk_paths);
    policy_freev(p->disk_vgs, p->n_disk_vgs);
    policy_freev(p->boot_paths, p->n_boot_paths);
    policy_freev(p->bootloaders, p->n_bootloaders);
    policy_freev(p->scripts, p->n_scripts);
    policy_freev(p->bridges, p->n_bridges);
    memset(p, 0, sizeof(*p));
}

/* A directory or file list: absolute paths, no "..", no trailing '/'. */
static bool policy_conf_path_ok(const char *s)
{
    size_t n = strlen(s);

    return s[0] == '/' && n > 1 && s[n - 1] != '/' && !strstr(s, "//") &&
           !strstr(s, "/./") && !strstr(s, "/../") &&
           strcmp(s + (n >= 3 ? n - 3 : 0), "/..") &&
           strcmp(s + (n >= 2 ? n - 2 : 0), "/.");
}

/* A list key replaces its default when present. */
static int policy_conf_list(const struct conf *c, const char *key,
                            bool paths, char ***v, size_t *n, bool *set_r,
                            char **cause_r)
{
    char **list;
    size_t k, i;
    bool found;
    int rc;

    rc = conf_strings(c, key, &found, &list, &k, cause_r);
    if (rc || !found) return rc;
    for (i = 0; paths && i < k; i++) {
        if (policy_conf_path_ok(list[i])) continue;
        *cause_r = xasprintf("%s: %s: '%s' is not an absolute path "
                             "without '.', '..' or a trailing '/'",
                             conf_path(), key, list[i]);
        policy_freev(list, k);
        return XLMIG_E_INVAL;
    }
    policy_freev(*v, *n);
    *v = list;
    *n = k;
    if (set_r) *set_r = true;
    return XLMIG_OK;
}

static int policy_conf_allow(const struct conf *c, struct policy *p,
                             char **cause_r)
{
    char **list;
    size_t k, i, b;
    bool found;
    int rc;

    rc = conf_strings(c, "incoming_allow", &found, &list, &k, cause_r);
    if (rc || !found) return rc;
    for (i = 0; i < k && !rc; i++) {
        for (b = 0; b < ARRAY_SIZE(policy_allow_names); b++)
            if (!strcmp(list[i], policy_allow_names[b])) break;
        if (b < ARRAY_SIZE(policy_allow_names)) {
            p->allow |= 1u << b;
            continue;
        }
        *cause_r = xasprintf("%s: incoming_allow: unknown '%s'", conf_path(),
                             list[i]);
        rc = XLMIG_E_INVAL;
    }
    policy_freev(list, k);
    return rc;
}

/*
 * The SRs declared here whose identity this host reads are disk
 * locations too: a dir SR's directory, an LVM SR's VG. An SR without its
 * identity here (not mounted, a local stand-in) is not.
 */
static int policy_add_srs(struct xlmig_ctx *ctx, struct policy *p,
                          char **cause_r)
{
    struct sr *list = NULL;
    char uuid[SR_UUID_MAX], *why = NULL, ***v;
    size_t n = 0, i, *nv;
    int rc;

    rc = sr_load(ctx, &list, &n, cause_r);
    for (i = 0; !rc && i < n; i++) {
        if (sr_identity(ctx, &list[i], uuid, &why)) {
            free(why);
            why = NULL;
            continue;
        }
        v = list[i].type == SR_DIR ? &p->disk_paths : &p->disk_vgs;
        nv = list[i].type == SR_DIR ? &p->n_disk_paths : &p->n_disk_vgs;
        *v = xrealloc(*v, (*nv + 2) * sizeof(**v));
        (*v)[(*nv)++] = xstrdup(list[i].loc);
        (*v)[*nv] = NULL;
    }
    free(list);
    return rc;
}

int policy_load(struct xlmig_ctx *ctx, struct policy *p, char **cause_r)
{
    struct conf *c = NULL;
    long v;
    int rc;

    *cause_r = NULL;
    policy_init(p);
    rc = conf_open(ctx, &c, cause_r);
    if (rc) {
        policy_dispose(p);
        return rc;
    }
    rc = policy_conf_list(c, "incoming_disk_paths", true, &p->disk_paths,
                          &p->n_disk_paths, NULL, cause_r);
    if (!rc)
        rc = policy_conf_list(c, "incoming_disk_vgs", false, &p->disk_vgs,
                              &p->n_disk_vgs, NULL, cause_r);
    if (!rc)
        rc = policy_conf_list(c, "incoming_boot_paths", true,
                              &p->boot_paths, &p->n_boot_paths, NULL,
                              cause_r);
    if (!rc)
        rc = policy_conf_list(c, "incoming_bootloaders", false,
                              &p->bootloaders, &p->n_bootloaders, NULL,
                              cause_r);
    if (!rc)
        rc = policy_conf_list(c, "incoming_scripts", true, &p->scripts,
                              &p->n_scripts, NULL, cause_r);
    if (!rc)
        rc = policy_conf_list(c, "incoming_bridges", false, &p->bridges,
                              &p->n_bridges, &p->bridges_set, cause_r);
    if (!rc) rc = policy_conf_allow(c, p, cause_r);
    if (!rc) rc = policy_add_srs(ctx, p, cause_r);
    v = 0;
    if (!rc)
        rc = conf_long(c, "incoming_max_memory_mb", 1, POLICY_MEMORY_MB_MAX,
                       &v, cause_r);
    p->max_memkb = (uint64_t)v * 1024;
    v = p->max_vcpus;
    if (!rc)
        rc = conf_long(c, "incoming_max_vcpus", 1, 4096, &v, cause_r);
    p->max_vcpus = (unsigned)v;
    v = p->max_weight;
    if (!rc)
        rc = conf_long(c, "incoming_max_weight", 1, POLICY_WEIGHT_MAX, &v,
                       cause_r);
    p->max_weight = (unsigned)v;
    v = 0;
    if (!rc) rc = conf_long(c, "incoming_require_xlmig", 0, 1, &v, cause_r);
    p->require_xlmig = v;
    v = 0;
    if (!rc)
        rc = conf_long(c, "incoming_require_encrypt", 0, 1, &v, cause_r);
    p->require_encrypt = v;
    conf_close(c);
    if (rc) policy_dispose(p);
    return rc;
}

/* ---- the report ---- */

void policy_report_dispose(struct policy_report *rep)
{
    policy_freev(rep->v, rep->n);
    memset(rep, 0, sizeof(*rep));
}

void policy_refuse(struct policy_walk *w, const char *where, const char *fmt,
                   ...)
{
    struct policy_report *rep = w->rep;
    char *msg, *line;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) abort();
    va_end(ap);
    line = xasprintf("%s: %s", where, msg);
    /* A key or a value of the sender's may be in it: one printable line
     * of bounded length, for the sender's terminal and this host's log. */
    rep->v = xrealloc(rep->v, (rep->n + 1) * sizeof(*rep->v));
    rep->v[rep->n] = proto_clean_text(line);
    if (strlen(rep->v[rep->n]) > POLICY_REFUSAL_MAX)
        strcpy(rep->v[rep->n] + POLICY_REFUSAL_MAX - 3, "...");
    rep->n++;
    free(line);
    free(msg);
}

char *policy_quote(const char *s)
{
    return proto_escape((const uint8_t *)s, strlen(s), 96);
}

const char *policy_str(struct policy_walk *w, const char *where, yajl_val v)
{
    if (YAJL_IS_STRING(v)) return v->u.string;
    policy_refuse(w, where, "not a string");
    return NULL;
}

/* ---- rules ---- */

typedef void policy_rule_fn(struct policy_walk *w, const char *where,
                            yajl_val v, unsigned arg);

/* What libxl writes for "not set": null, false, 0, "", "<default>",
 * "False", and arrays and objects of nothing else. */
static bool policy_empty(yajl_val v)
{
    size_t i;

    if (!v || YAJL_IS_NULL(v) || YAJL_IS_FALSE(v)) return true;
    if (YAJL_IS_STRING(v))
        return !*v->u.string || !strcmp(v->u.string, "<default>") ||
               !strcmp(v->u.string, "False");
    if (YAJL_IS_NUMBER(v)) return !strcmp(YAJL_GET_NUMBER(v), "0");
    if (YAJL_IS_ARRAY(v)) {
        for (i = 0; i < v->u.array.len; i++)
            if (!policy_empty(v->u.array.values[i])) return false;
        return true;
    }
    if (YAJL_IS_OBJECT(v)) {
        for (i = 0; i < v->u.object.len; i++)
            if (!policy_empty(v->u.object.values[i])) return false;
        return true;
    }
    return false;
}

static void policy_safe(struct policy_walk *w, const char *where, yajl_val v,
                        unsigned arg)
{
    (void)w;
    (void)where;
    (void)v;
    (void)arg;
}

/* Refused unless incoming_allow names arg (set means: not empty). */
static void policy_allowed(struct policy_walk *w, const char *where,
                           yajl_val v, unsigned arg)
{
    if (policy_empty(v) || (w->p->allow & arg)) return;
    policy_refuse(w, where, "refused: this host does not allow it (add "
                  "\"%s\" to incoming_allow)", policy_allow_name(arg));
}

/*
 * The device model's extra arguments are the admin's to allow, except
 * exactly xlmig's own QMP monitor of this domain (HV_QMP_ARG_FMT), a unix
 * socket in /run/xen named after it, which live storage moves use.
 */
static void policy_dm_args(struct policy_walk *w, const char *where,
                           yajl_val v, unsigned arg)
{
    yajl_val *a = YAJL_IS_ARRAY(v) ? v->u.array.values : NULL;
    char *want;
    bool ours = false;

    if (a && v->u.array.len == 2 && w->name && YAJL_IS_STRING(a[0]) &&
        YAJL_IS_STRING(a[1])) {
        want = xasprintf(HV_QMP_ARG_FMT, w->name);
        ours = !strcmp(a[0]->u.string, "-qmp") &&
               !strcmp(a[1]->u.string, want);
        free(want);
    }
    if (!ours) policy_allowed(w, where, v, arg);
}

bool policy_word_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    return n && n <= max && s[0] != '.' && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_.-") == n;
}

static void policy_word(struct policy_walk *w, const char *where, yajl_val v,
                        unsigned max)
{
    const char *s = policy_str(w, where, v);
    char *q;

    if (!s || !*s || policy_word_ok(s, max)) return;
    q = policy_quote(s);
    policy_refuse(w, where, "'%s' is not a word of at most %u letters, "
                  "digits, '_', '.' and '-'", q, max);
    free(q);
}

bool policy_name_ok(const char *name)
{
    static const char *const suffixes[] = { "--incoming",
                                            "--migratedaway" };
    size_t n = strlen(name), i, m;

    if (!n || n > POLICY_NAME_MAX ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789_.+-") != n ||
        !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789", name[0]) ||
        strspn(name, "0123456789") == n)
        return false;
    for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
        m = strlen(suffixes[i]);
        if (n >= m && !strcmp(name + n - m, suffixes[i])) return false;
    }
    return true;
}

bool xlmig_name_ok(const char *name)
{
    return policy_name_ok(name);
}

static void policy_name(struct policy_walk *w, const char *where, yajl_val v,
                        unsigned arg)
{
    const char *s = policy_str(w, where, v);
    char *q;

    (void)arg;
    if (!s || policy_name_ok(s)) return;
    q = policy_quote(s);
    policy_refuse(w, where, "'%s' is not a name this host takes (1-%d of "
                  "A-Z a-z 0-9 _ . + -, starting with a letter or digit, "
                  "not all digits, no --incoming or --migratedaway)", q,
                  POLICY_NAME_MAX);
    free(q);
}

/* An integer in min..max; false (refused) if not. */
static bool policy_int(struct policy_walk *w, const char *where, yajl_val v,
                       long long min, long long max, long long *n_r)
{
    if (YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) >= min &&
        YAJL_GET_INTEGER(v) <= max) {
        *n_r = YAJL_GET_INTEGER(v);
        return true;
    }
    policy_refuse(w, where, "not an integer in %lld..%lld", min, max);
    return false;
}

static void policy_memkb(struct policy_walk *w, const char *where,
                         yajl_val v, unsigned arg)
{
    long long n;

    (void)arg;
    if (!policy_int(w, where, v, 0, INT64_MAX, &n)) return;
    if ((uint64_t)n > w->max_memkb)
        policy_refuse(w, where, "%lld MiB is over this host's limit of "
                      "%" PRIu64 " MiB (incoming_max_memory_mb)", n / 1024,
                      w->max_memkb / 1024);
}

static void policy_vcpus(struct policy_walk *w, const char *where,
                         yajl_val v, unsigned arg)
{
    long long n;

    (void)arg;
    if (!policy_int(w, where, v, 0, INT32_MAX, &n)) return;
    if (n > w->p->max_vcpus)
        policy_refuse(w, where, "%lld vCPUs are over this host's limit of "
                      "%u (incoming_max_vcpus)", n, w->p->max_vcpus);
}

/* Scheduler parameters arrive as the source's live values. */
static void policy_sched(struct policy_walk *w, const char *where,
                         yajl_val v, unsigned arg)
{
    static const char *const others[] = { "period", "slice", "latency",
                                          "extratime", "budget" };
    char at[POLICY_WHERE_MAX];
    const char *k;
    long long n;
    size_t i, j;

    (void)arg;
    if (!YAJL_IS_OBJECT(v)) {
        policy_refuse(w, where, "not an object");
        return;
    }
    for (i = 0; i < v->u.object.len; i++) {
        k = v->u.object.keys[i];
        snprintf(at, sizeof(at), "%s.%s", where, k);
        if (!strcmp(k, "sched")) {
            policy_word(w, at, v->u.object.values[i], 32);
        } else if (!strcmp(k, "weight")) {
            if (policy_int(w, at, v->u.object.values[i], -1, INT32_MAX, &n) &&
                n > w->p->max_weight)
                policy_refuse(w, at, "%lld is over this host's limit of %u "
                              "(incoming_max_weight)", n, w->p->max_weight);
        } else if (!strcmp(k, "cap")) {
            /* Percent of one CPU: at most all of the domain's. */
            (void)policy_int(w, at, v->u.object.values[i], -1,
                             100LL * (w->vcpus ? w->vcpus : 1), &n);
        } else {
            for (j = 0; j < ARRAY_SIZE(others); j++)
                if (!strcmp(k, others[j])) break;
            if (j < ARRAY_SIZE(others))
                (void)policy_int(w, at, v->u.object.values[i], -1, INT32_MAX,
                                 &n);
            else
                policy_refuse(w, at, "not a field this host's incoming "
                              "policy knows");
        }
    }
}

/* xsdata, platformdata: written under the domain's own xenstore path. */
static void policy_kv(struct policy_walk *w, const char *where, yajl_val v,
                      unsigned arg)
{
    char at[POLICY_WHERE_MAX], *q;
    yajl_val x;
    size_t i;

    (void)arg;
    if (!YAJL_IS_OBJECT(v) || v->u.object.len > POLICY_KV_MAX) {
        policy_refuse(w, where, "not an object of at most %d strings",
                      POLICY_KV_MAX);
        return;
    }
    for (i = 0; i < v->u.object.len; i++) {
        q = policy_quote(v->u.object.keys[i]);
        snprintf(at, sizeof(at), "%s.%s", where, q);
        free(q);
        x = v->u.object.values[i];
        if (!policy_word_ok(v->u.object.keys[i], 64) || strstr(
                v->u.object.keys[i], ".."))
            policy_refuse(w, at, "not a key of letters, digits, '_', '.' "
                          "and '-'");
        else if (!YAJL_IS_NULL(x) &&
                 (!YAJL_IS_STRING(x) ||
                  strlen(x->u.string) > POLICY_KV_VALUE_MAX))
            policy_refuse(w, at, "not a string of at most %d bytes",
                          POLICY_KV_VALUE_MAX);
    }
}

/* A string that must be one of names (else allowed only with bit). */
static void policy_enum(struct policy_walk *w, const char *where, yajl_val v,
                        const char *const *names, size_t n, unsigned bit)
{
    const char *s = policy_str(w, where, v);
    size_t i;

    if (!s) return;
    for (i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return;
    policy_allowed(w, where, v, bit);
}

static void policy_passthrough(struct policy_walk *w, const char *where,
                               yajl_val v, unsigned arg)
{
    static const char *const ok[] = { "default", "disabled", "unknown" };

    (void)arg;
    policy_enum(w, where, v, ok, ARRAY_SIZE(ok), POLICY_ALLOW_PCI);
}

static void policy_tee(struct policy_walk *w, const char *where, yajl_val v,
                       unsigned arg)
{
    static const char *const ok[] = { "none" };

    (void)arg;
    policy_enum(w, where, v, ok, ARRAY_SIZE(ok), POLICY_ALLOW_TEE);
}

static void policy_rdm(struct policy_walk *w, const char *where, yajl_val v,
                       unsigned arg)
{
    static const char *const ok[] = { "ignore" };
    const char *path[] = { "strategy", NULL };
    yajl_val s = YAJL_IS_OBJECT(v) ? yajl_tree_get(v, path, yajl_t_any)
                                   : NULL;

    (void)arg;
    if (!YAJL_IS_OBJECT(v))
        policy_refuse(w, where, "not an object");
    else if (s)
        policy_enum(w, where, s, ok, ARRAY_SIZE(ok), POLICY_ALLOW_PCI);
}

static void policy_bootloader(struct policy_walk *w, const char *where,
                              yajl_val v, unsigned arg)
{
    const char *s = policy_str(w, where, v);
    char *q;
    size_t i;

    (void)arg;
    if (!s || !*s) return;
    for (i = 0; i < w->p->n_bootloaders; i++)
        if (!strcmp(s, w->p->bootloaders[i])) return;
    q = policy_quote(s);
    policy_refuse(w, where, "'%s' is not a bootloader this host runs "
                  "(incoming_bootloaders)", q);
    free(q);
}

static void policy_boot(struct policy_walk *w, const char *where, yajl_val v,
                        unsigned firmware)
{
    const char *s = policy_str(w, where, v);

    if (s && *s) policy_boot_path(w, where, s, firmware);
}

/* QEMU's serial= forms that stay inside QEMU. */
static void policy_serial_one(struct policy_walk *w, const char *where,
                              yajl_val v)
{
    static const char *const ok[] = { "pty", "none", "null", "vc" };
    const char *s = policy_str(w, where, v);
    size_t i;

    if (!s || !*s) return;
    for (i = 0; i < ARRAY_SIZE(ok); i++)
        if (!strcmp(s, ok[i])) return;
    if (!strncmp(s, "vc:", 3) && policy_word_ok(s + 3, 32)) return;
    policy_allowed(w, where, v, POLICY_ALLOW_HOST_SERIAL);
}

/* Each element of an array, or the one value, through one. */
static void policy_each(struct policy_walk *w, const char *where, yajl_val v,
                        void (*one)(struct policy_walk *, const char *,
                                    yajl_val))
{
    char at[POLICY_WHERE_MAX];
    size_t i;

    if (!YAJL_IS_ARRAY(v)) {
        one(w, where, v);
        return;
    }
    for (i = 0; i < v->u.array.len; i++) {
        snprintf(at, sizeof(at), "%s[%zu]", where, i);
        one(w, at, v->u.array.values[i]);
    }
}

static void policy_serial(struct policy_walk *w, const char *where,
                          yajl_val v, unsigned arg)
{
    (void)arg;
    policy_each(w, where, v, policy_serial_one);
}

/* usbdevice: emulated devices by name; "host:..." passes one through. */
static void policy_usbdevice_one(struct policy_walk *w, const char *where,
                                 yajl_val v)
{
    const char *s = policy_str(w, where, v);

    if (!s) return;
    if (!strncmp(s, "host:", 5))
        policy_allowed(w, where, v, POLICY_ALLOW_USB);
    else
        policy_word(w, where, v, 32);
}

static void policy_usbdevice(struct policy_walk *w, const char *where,
                             yajl_val v, unsigned arg)
{
    (void)arg;
    policy_each(w, where, v, policy_usbdevice_one);
}

/* sdl: a window on dom0's own display. */
static void policy_sdl(struct policy_walk *w, const char *where, yajl_val v,
                       unsigned arg)
{
    (void)arg;
    if (!YAJL_IS_OBJECT(v)) {
        policy_refuse(w, where, "not an object");
        return;
    }
    policy_allowed(w, where, v, POLICY_ALLOW_LOCAL_DISPLAY);
}

/* ---- devices ---- */

/* backend_domid / backend_domname: a backend outside dom0. */
static bool policy_backend(struct policy_walk *w, const char *where,
                           const char *key, yajl_val v)
{
    char at[POLICY_WHERE_MAX];

    if (strcmp(key, "backend_domid") && strcmp(key, "backend_domname"))
        return false;
    snprintf(at, sizeof(at), "%s.%s", where, key);
    if (YAJL_IS_STRING(v) && !strcmp(v->u.string, "Domain-0")) return true;
    policy_allowed(w, at, v, POLICY_ALLOW_DRIVER_DOMAINS);
    return true;
}

/* A device object whose keys are all harmless but its backend's. */
static void policy_device(struct policy_walk *w, const char *where,
                          yajl_val v, unsigned arg)
{
    size_t i;

    (void)arg;
    if (!YAJL_IS_OBJECT(v)) {
        policy_refuse(w, where, "not an object");
        return;
    }
    for (i = 0; i < v->u.object.len; i++)
        (void)policy_backend(w, where, v->u.object.keys[i],
                             v->u.object.values[i]);
}

/* Devices that hand a host resource over, whole: allowed or not, even
 * with every field at its default (the device itself is the grant). */
static void policy_device_allowed(struct policy_walk *w, const char *where,
                                  yajl_val v, unsigned bit)
{
    policy_device(w, where, v, 0);
    if (!(w->p->allow & bit))
        policy_refuse(w, where, "refused: this host does not allow it (add "
                      "\"%s\" to incoming_allow)", policy_allow_name(bit));
}

static void policy_vfb(struct policy_walk *w, const char *where, yajl_val v,
                       unsigned arg)
{
    const char *path[] = { "sdl", NULL };
    char at[POLICY_WHERE_MAX];
    yajl_val sdl;

    policy_device(w, where, v, arg);
    sdl = YAJL_IS_OBJECT(v) ? yajl_tree_get(v, path, yajl_t_any) : NULL;
    snprintf(at, sizeof(at), "%s.sdl", where);
    if (sdl) policy_sdl(w, at, sdl, 0);
}

static void policy_channel(struct policy_walk *w, const char *where,
                           yajl_val v, unsigned arg)
{
    static const char *const ok[] = { "pty", "unknown" };
    char at[POLICY_WHERE_MAX];
    const char *k;
    size_t i;

    policy_device(w, where, v, arg);
    for (i = 0; YAJL_IS_OBJECT(v) && i < v->u.object.len; i++) {
        k = v->u.object.keys[i];
        snprintf(at, sizeof(at), "%s.%s", where, k);
        /* "connection.socket" holds the path: libxl reads it only with
         * "connection": "socket", which the rule covers. */
        if (!strcmp(k, "connection"))
            policy_enum(w, at, v->u.object.values[i], ok, ARRAY_SIZE(ok),
                        POLICY_ALLOW_CHANNELS);
        else if (!strcmp(k, "name"))
            policy_word(w, at, v->u.object.values[i], 64);
    }
}

static void policy_pci(struct policy_walk *w, const char *where, yajl_val v,
                       unsigned arg)
{
    static const char *const keys[] = { "domain", "bus", "dev", "func" };
    static const long long max[] = { 0xffff, 0xff, 0x1f, 0x7 };
    const char *path[] = { NULL, NULL };
    long long f[4] = { 0, 0, 0, 0 };
    char bdf[16], at[POLICY_WHERE_MAX];
    yajl_val x;
    bool yes;
    size_t i;
    int rc;

    policy_device(w, where, v, arg);
    if (!(w->p->allow & POLICY_ALLOW_PCI)) {
        policy_refuse(w, where, "refused: this host does not allow PCI "
                      "passthrough (add \"pci\" to incoming_allow)");
        return;
    }
    for (i = 0; YAJL_IS_OBJECT(v) && i < ARRAY_SIZE(keys); i++) {
        path[0] = keys[i];
        x = yajl_tree_get(v, path, yajl_t_any);
        snprintf(at, sizeof(at), "%s.%s", where, keys[i]);
        if (x && !policy_int(w, at, x, 0, max[i], &f[i])) return;
    }
    snprintf(bdf, sizeof(bdf), "%04llx:%02llx:%02llx.%llx", f[0], f[1],
             f[2], f[3]);
    rc = hv_pci_assignable(w->hv, bdf, &yes);
    if (rc)
        policy_refuse(w, where, "cannot tell whether %s is assignable here: "
                      "%s", bdf, xlmig_strerror(rc));
    else if (!yes)
        policy_refuse(w, where, "PCI device %s is not assignable here "
                      "(xl pci-assignable-list)", bdf);
}

/* nics[].ip: addresses for vif-route and vif-nat, which make routes. */
static void policy_nic_ip(struct policy_walk *w, const char *where,
                          yajl_val v)
{
    const char *s = policy_str(w, where, v);
    unsigned char buf[sizeof(struct in6_addr)];
    char one[64], *slash, *q;
    size_t n;

    while (s && *s) {
        n = strcspn(s, " ");
        if (n && n < sizeof(one)) {
            memcpy(one, s, n);
            one[n] = '\0';
            slash = strchr(one, '/');
            if (slash) *slash = '\0';
            if ((inet_pton(AF_INET, one, buf) == 1 ||
                 inet_pton(AF_INET6, one, buf) == 1) &&
                (!slash || (slash[1] && strspn(slash + 1, "0123456789") ==
                            strlen(slash + 1) && strlen(slash + 1) <= 3))) {
                s += n;
                s += strspn(s, " ");
                continue;
            }
        }
        q = policy_quote(s);
        policy_refuse(w, where, "'%s' is not a list of IP addresses", q);
        free(q);
        return;
    }
}

static void policy_nic_bridge(struct policy_walk *w, const char *where,
                              yajl_val v)
{
    const char *s = policy_str(w, where, v);
    bool yes = false;
    size_t i;
    int rc;

    if (!s || !*s) return;
    if (!policy_word_ok(s, POLICY_IFNAME_MAX)) {
        policy_word(w, where, v, POLICY_IFNAME_MAX);
        return;
    }
    if (w->p->bridges_set) {
        for (i = 0; i < w->p->n_bridges; i++)
            if (!strcmp(s, w->p->bridges[i])) return;
        policy_refuse(w, where, "bridge %s is not one this host offers "
                      "(incoming_bridges)", s);
        return;
    }
    rc = hv_have_bridge(w->hv, s, &yes);
    if (rc || !yes)
        policy_refuse(w, where, "there is no bridge %s on this host", s);
}

/* A key of a nic or a disk that is not harmless: false when it is not
 * one this host knows. dev is the whole device, for keys that need their
 * siblings. */
typedef bool policy_key_fn(struct policy_walk *w, const char *at,
                           const char *key, yajl_val v, yajl_val dev);

/* The keys of device object v: those in safe[] pass, the backend and the
 * hotplug script are judged as for any device, the rest by fn. */
static void policy_keys(struct policy_walk *w, const char *where, yajl_val v,
                        const char *const *safe, size_t nsafe,
                        policy_key_fn *fn)
{
    char at[POLICY_WHERE_MAX];
    const char *k;
    yajl_val x;
    size_t i, j;

    if (!YAJL_IS_OBJECT(v)) {
        policy_refuse(w, where, "not an object");
        return;
    }
    for (i = 0; i < v->u.object.len; i++) {
        k = v->u.object.keys[i];
        x = v->u.object.values[i];
        snprintf(at, sizeof(at), "%s.%s", where, k);
        for (j = 0; j < nsafe; j++)
            if (!strcmp(k, safe[j])) break;
        if (j < nsafe || policy_backend(w, where, k, x)) continue;
        if (!strcmp(k, "script")) {
            if (policy_str(w, at, x) && *x->u.string)
                policy_script(w, at, x->u.string);
        } else if (!fn(w, at, k, x, v)) {
            policy_refuse(w, at, "not a field this host's incoming policy "
                          "knows");
        }
    }
}

static bool policy_nic_key(struct policy_walk *w, const char *at,
                           const char *k, yajl_val x, yajl_val dev)
{
    (void)dev;
    if (!strcmp(k, "bridge"))
        policy_nic_bridge(w, at, x);
    else if (!strcmp(k, "ip"))
        policy_nic_ip(w, at, x);
    else if (!strcmp(k, "ifname") || !strcmp(k, "gatewaydev"))
        policy_word(w, at, x, POLICY_IFNAME_MAX);
    else if (!strcmp(k, "model"))
        policy_word(w, at, x, 32);
    else if (!strncmp(k, "colo", 4))
        policy_allowed(w, at, x, POLICY_ALLOW_COLO);
    else
        return false;
    return true;
}

static void policy_nic(struct policy_walk *w, const char *where, yajl_val v,
                       unsigned arg)
{
    static const char *const safe[] = {
        "devid", "mtu", "mac", "nictype", "rate_bytes_per_interval",
        "rate_interval_usecs",
    };

    (void)arg;
    policy_keys(w, where, v, safe, ARRAY_SIZE(safe), policy_nic_key);
}

/* The string member key of a disk, or NULL. */
static const char *policy_disk_get(yajl_val v, const char *key)
{
    const char *path[] = { key, NULL };
    yajl_val x = yajl_tree_get(v, path, yajl_t_string);

    return x ? x->u.string : NULL;
}

static bool policy_disk_key(struct policy_walk *w, const char *at,
                            const char *k, yajl_val x, yajl_val dev)
{
    static const char *const spec_ok[] = { "xen", "unknown" };

    if (!strcmp(k, "pdev_path")) {
        if (policy_str(w, at, x) && *x->u.string)
            policy_disk_path(w, at, x->u.string,
                             policy_disk_get(dev, "backend"),
                             policy_disk_get(dev, "format"),
                             policy_disk_get(dev, "script"));
    } else if (!strcmp(k, "vdev")) {
        policy_word(w, at, x, 32);
    } else if (!strcmp(k, "specification")) {
        policy_enum(w, at, x, spec_ok, ARRAY_SIZE(spec_ok),
                    POLICY_ALLOW_VIRTIO);
    } else if (!strcmp(k, "irq") || !strcmp(k, "base")) {
        policy_allowed(w, at, x, POLICY_ALLOW_VIRTIO);
    } else if (!strncmp(k, "colo", 4) || !strcmp(k, "active_disk") ||
               !strcmp(k, "hidden_disk")) {
        policy_allowed(w, at, x, POLICY_ALLOW_COLO);
    } else {
        return false;
    }
    return true;
}

static void policy_disk(struct policy_walk *w, const char *where, yajl_val v,
                        unsigned arg)
{
    static const char *const safe[] = {
        "backend", "format", "removable", "readwrite", "is_cdrom",
        "direct_io_safe", "discard_enable", "trusted", "transport",
    };

    (void)arg;
    policy_keys(w, where, v, safe, ARRAY_SIZE(safe), policy_disk_key);
}

/* ---- the walk ---- */

/* Objects to walk into (their keys are rows of their own). */
static void policy_descend(struct policy_walk *w, const char *where,
                           yajl_val v, unsigned arg)
{
    (void)w;
    (void)where;
    (void)v;
    (void)arg;
}

static const struct policy_field {
    const char *pattern;        /* "b_info.type.hvm.serial", "disks[]" */
    policy_rule_fn *rule;
    unsigned arg;               /* a POLICY_ALLOW_* bit, or the rule's */
} policy_fields[] = {
    { "c_info", policy_descend, 0 },
    { "c_info.type", policy_safe, 0 },
    { "c_info.hap", policy_safe, 0 },
    { "c_info.oos", policy_safe, 0 },
    { "c_info.ssidref", policy_allowed, POLICY_ALLOW_SECURITY_LABELS },
    { "c_info.ssid_label", policy_allowed, POLICY_ALLOW_SECURITY_LABELS },
    { "c_info.name", policy_name, 0 },
    { "c_info.domid", policy_safe, 0 },
    { "c_info.uuid", policy_safe, 0 },
    { "c_info.xsdata", policy_kv, 0 },
    { "c_info.platformdata", policy_kv, 0 },
    { "c_info.poolid", policy_safe, 0 },
    { "c_info.pool_name", policy_safe, 0 },
    { "c_info.run_hotplug_scripts", policy_safe, 0 },
    { "c_info.driver_domain", policy_allowed, POLICY_ALLOW_DRIVER_DOMAINS },
    { "c_info.passthrough", policy_passthrough, 0 },
    { "c_info.xend_suspend_evtchn_compat", policy_safe, 0 },

    { "b_info", policy_descend, 0 },
    { "b_info.max_vcpus", policy_vcpus, 0 },
    { "b_info.avail_vcpus", policy_safe, 0 },
    { "b_info.cpumap", policy_safe, 0 },
    { "b_info.nodemap", policy_safe, 0 },
    { "b_info.vcpu_hard_affinity", policy_safe, 0 },
    { "b_info.vcpu_soft_affinity", policy_safe, 0 },
    { "b_info.numa_placement", policy_safe, 0 },
    { "b_info.tsc_mode", policy_safe, 0 },
    { "b_info.max_memkb", policy_memkb, 0 },
    { "b_info.target_memkb", policy_memkb, 0 },
    { "b_info.video_memkb", policy_memkb, 0 },
    { "b_info.shadow_memkb", policy_memkb, 0 },
    { "b_info.iommu_memkb", policy_memkb, 0 },
    { "b_info.rtc_timeoffset", policy_safe, 0 },
    { "b_info.exec_ssidref", policy_allowed, POLICY_ALLOW_SECURITY_LABELS },
    { "b_info.exec_ssid_label", policy_allowed,
      POLICY_ALLOW_SECURITY_LABELS },
    { "b_info.localtime", policy_safe, 0 },
    { "b_info.disable_migrate", policy_safe, 0 },
    { "b_info.cpuid", policy_safe, 0 },
    { "b_info.blkdev_start", policy_safe, 0 },
    { "b_info.vnuma_nodes", policy_safe, 0 },
    { "b_info.max_grant_frames", policy_safe, 0 },
    { "b_info.max_maptrack_frames", policy_safe, 0 },
    { "b_info.max_grant_version", policy_safe, 0 },
    { "b_info.device_model_version", policy_safe, 0 },
    { "b_info.device_model_stubdomain", policy_safe, 0 },
    { "b_info.stubdomain_memkb", policy_memkb, 0 },
    { "b_info.stubdomain_kernel", policy_allowed, POLICY_ALLOW_DEVICE_MODEL },
    { "b_info.stubdomain_cmdline", policy_allowed,
      POLICY_ALLOW_DEVICE_MODEL },
    { "b_info.stubdomain_ramdisk", policy_allowed,
      POLICY_ALLOW_DEVICE_MODEL },
    { "b_info.device_model", policy_allowed, POLICY_ALLOW_DEVICE_MODEL },
    { "b_info.device_model_ssidref", policy_allowed,
      POLICY_ALLOW_SECURITY_LABELS },
    { "b_info.device_model_ssid_label", policy_allowed,
      POLICY_ALLOW_SECURITY_LABELS },
    { "b_info.device_model_user", policy_allowed, POLICY_ALLOW_DEVICE_MODEL },
    { "b_info.extra", policy_allowed, POLICY_ALLOW_DEVICE_MODEL },
    { "b_info.extra_pv", policy_dm_args, POLICY_ALLOW_DEVICE_MODEL },
    { "b_info.extra_hvm", policy_dm_args, POLICY_ALLOW_DEVICE_MODEL },
    { "b_info.sched_params", policy_sched, 0 },
    { "b_info.ioports", policy_allowed, POLICY_ALLOW_IOPORTS },
    { "b_info.irqs", policy_allowed, POLICY_ALLOW_IRQS },
    { "b_info.iomem", policy_allowed, POLICY_ALLOW_IOMEM },
    { "b_info.claim_mode", policy_safe, 0 },
    { "b_info.event_channels", policy_safe, 0 },
    { "b_info.kernel", policy_boot, false },
    { "b_info.cmdline", policy_safe, 0 },
    { "b_info.ramdisk", policy_boot, false },
    { "b_info.device_tree", policy_boot, false },
    { "b_info.acpi", policy_safe, 0 },
    { "b_info.bootloader", policy_bootloader, 0 },
    { "b_info.bootloader_args", policy_allowed,
      POLICY_ALLOW_BOOTLOADER_ARGS },
    { "b_info.timer_mode", policy_safe, 0 },
    { "b_info.nested_hvm", policy_safe, 0 },
    { "b_info.apic", policy_safe, 0 },
    { "b_info.dm_restrict", policy_safe, 0 },
    { "b_info.tee", policy_tee, 0 },
    { "b_info.arch_arm", policy_safe, 0 },
    { "b_info.arch_x86", policy_safe, 0 },
    { "b_info.altp2m", policy_safe, 0 },
    { "b_info.vmtrace_buf_kb", policy_memkb, 0 },
    { "b_info.vpmu", policy_safe, 0 },
    { "b_info.type.invalid", policy_descend, 0 },

    { "b_info.type.hvm", policy_descend, 0 },
    { "b_info.type.hvm.firmware", policy_boot, true },
    { "b_info.type.hvm.bios", policy_safe, 0 },
    { "b_info.type.hvm.pae", policy_safe, 0 },
    { "b_info.type.hvm.apic", policy_safe, 0 },
    { "b_info.type.hvm.acpi", policy_safe, 0 },
    { "b_info.type.hvm.acpi_s3", policy_safe, 0 },
    { "b_info.type.hvm.acpi_s4", policy_safe, 0 },
    { "b_info.type.hvm.acpi_laptop_slate", policy_safe, 0 },
    { "b_info.type.hvm.nx", policy_safe, 0 },
    { "b_info.type.hvm.viridian", policy_safe, 0 },
    { "b_info.type.hvm.viridian_enable", policy_safe, 0 },
    { "b_info.type.hvm.viridian_disable", policy_safe, 0 },
    { "b_info.type.hvm.timeoffset", policy_safe, 0 },
    { "b_info.type.hvm.hpet", policy_safe, 0 },
    { "b_info.type.hvm.vpt_align", policy_safe, 0 },
    { "b_info.type.hvm.mmio_hole_memkb", policy_safe, 0 },
    { "b_info.type.hvm.timer_mode", policy_safe, 0 },
    { "b_info.type.hvm.nested_hvm", policy_safe, 0 },
    { "b_info.type.hvm.altp2m", policy_safe, 0 },
    { "b_info.type.hvm.system_firmware", policy_boot, true },
    { "b_info.type.hvm.smbios_firmware", policy_boot, false },
    { "b_info.type.hvm.acpi_firmware", policy_boot, false },
    { "b_info.type.hvm.hdtype", policy_safe, 0 },
    { "b_info.type.hvm.nographic", policy_safe, 0 },
    { "b_info.type.hvm.vga", policy_safe, 0 },
    { "b_info.type.hvm.vnc", policy_safe, 0 },
    { "b_info.type.hvm.keymap", policy_safe, 0 },
    { "b_info.type.hvm.sdl", policy_sdl, 0 },
    { "b_info.type.hvm.spice", policy_safe, 0 },
    { "b_info.type.hvm.gfx_passthru", policy_allowed, POLICY_ALLOW_PCI },
    { "b_info.type.hvm.gfx_passthru_kind", policy_passthrough, 0 },
    { "b_info.type.hvm.serial", policy_serial, 0 },
    { "b_info.type.hvm.boot", policy_safe, 0 },
    { "b_info.type.hvm.usb", policy_safe, 0 },
    { "b_info.type.hvm.usbversion", policy_safe, 0 },
    { "b_info.type.hvm.usbdevice", policy_usbdevice, 0 },
    { "b_info.type.hvm.vkb_device", policy_safe, 0 },
    { "b_info.type.hvm.soundhw", policy_safe, 0 },
    { "b_info.type.hvm.xen_platform_pci", policy_safe, 0 },
    { "b_info.type.hvm.usbdevice_list", policy_usbdevice, 0 },
    { "b_info.type.hvm.vendor_device", policy_safe, 0 },
    { "b_info.type.hvm.ms_vm_genid", policy_safe, 0 },
    { "b_info.type.hvm.serial_list", policy_serial, 0 },
    { "b_info.type.hvm.rdm", policy_rdm, 0 },
    { "b_info.type.hvm.rdm_mem_boundary_memkb", policy_safe, 0 },
    { "b_info.type.hvm.mca_caps", policy_safe, 0 },

    { "b_info.type.pv", policy_descend, 0 },
    { "b_info.type.pv.kernel", policy_boot, false },
    { "b_info.type.pv.slack_memkb", policy_memkb, 0 },
    { "b_info.type.pv.bootloader", policy_bootloader, 0 },
    { "b_info.type.pv.bootloader_args", policy_allowed,
      POLICY_ALLOW_BOOTLOADER_ARGS },
    { "b_info.type.pv.cmdline", policy_safe, 0 },
    { "b_info.type.pv.ramdisk", policy_boot, false },
    { "b_info.type.pv.features", policy_safe, 0 },
    { "b_info.type.pv.e820_host", policy_allowed, POLICY_ALLOW_PCI },

    { "b_info.type.pvh", policy_descend, 0 },
    { "b_info.type.pvh.pvshim", policy_safe, 0 },
    { "b_info.type.pvh.pvshim_path", policy_boot, true },
    { "b_info.type.pvh.pvshim_cmdline", policy_safe, 0 },
    { "b_info.type.pvh.pvshim_extra", policy_safe, 0 },

    { "disks", policy_descend, 0 },
    { "disks[]", policy_disk, 0 },
    { "nics", policy_descend, 0 },
    { "nics[]", policy_nic, 0 },
    { "pcidevs", policy_descend, 0 },
    { "pcidevs[]", policy_pci, 0 },
    { "rdms", policy_allowed, POLICY_ALLOW_PCI },
    { "dtdevs", policy_allowed, POLICY_ALLOW_PCI },
    { "vfbs", policy_descend, 0 },
    { "vfbs[]", policy_vfb, 0 },
    { "vkbs", policy_descend, 0 },
    { "vkbs[]", policy_device, 0 },
    { "vtpms", policy_descend, 0 },
    { "vtpms[]", policy_device_allowed, POLICY_ALLOW_VTPM },
    { "p9s", policy_descend, 0 },
    { "p9s[]", policy_device_allowed, POLICY_ALLOW_P9 },
    { "pvcallsifs", policy_descend, 0 },
    { "pvcallsifs[]", policy_device_allowed, POLICY_ALLOW_PVCALLS },
    { "vdispls", policy_descend, 0 },
    { "vdispls[]", policy_device, 0 },
    { "vsnds", policy_descend, 0 },
    { "vsnds[]", policy_device, 0 },
    { "channels", policy_descend, 0 },
    { "channels[]", policy_channel, 0 },
    { "usbctrls", policy_descend, 0 },
    { "usbctrls[]", policy_device, 0 },
    { "usbdevs", policy_descend, 0 },
    { "usbdevs[]", policy_device_allowed, POLICY_ALLOW_USB },
    { "virtios", policy_descend, 0 },
    { "virtios[]", policy_device_allowed, POLICY_ALLOW_VIRTIO },
    { "on_poweroff", policy_safe, 0 },
    { "on_reboot", policy_safe, 0 },
    { "on_watchdog", policy_safe, 0 },
    { "on_crash", policy_safe, 0 },
    { "on_soft_reset", policy_safe, 0 },
};

static const struct policy_field *policy_field_find(const char *pattern)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(policy_fields); i++)
        if (!strcmp(policy_fields[i].pattern, pattern))
            return &policy_fields[i];
    return NULL;
}

static int policy_keycmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A key given twice anywhere: libxl reads one, the check another. */
static bool policy_dup_key(yajl_val v, const char **dup_r)
{
    const char **keys;
    size_t n = v->u.object.len, i;
    bool dup = false;

    if (n < 2) return false;
    keys = xcalloc(n, sizeof(*keys));
    memcpy(keys, v->u.object.keys, n * sizeof(*keys));
    qsort(keys, n, sizeof(*keys), policy_keycmp);
    for (i = 1; i < n && !dup; i++)
        if (!strcmp(keys[i - 1], keys[i])) {
            dup = true;
            *dup_r = keys[i];
        }
    free(keys);
    return dup;
}

/* Every key given twice, in the whole tree, is refused. */
static void policy_dups(struct policy_walk *w, const char *where, yajl_val v)
{
    char at[POLICY_WHERE_MAX], *q;
    const char *dup;
    size_t i;

    if (YAJL_IS_ARRAY(v)) {
        for (i = 0; i < v->u.array.len; i++) {
            snprintf(at, sizeof(at), "%s[%zu]", where, i);
            policy_dups(w, at, v->u.array.values[i]);
        }
    }
    if (!YAJL_IS_OBJECT(v)) return;
    if (policy_dup_key(v, &dup)) {
        q = policy_quote(dup);
        policy_refuse(w, *where ? where : "config", "key '%s' given twice",
                      q);
        free(q);
    }
    for (i = 0; i < v->u.object.len; i++) {
        q = policy_quote(v->u.object.keys[i]);
        snprintf(at, sizeof(at), "%s%s%s", where, *where ? "." : "", q);
        free(q);
        policy_dups(w, at, v->u.object.values[i]);
    }
}

static void policy_walk(struct policy_walk *w, const char *where,
                        const char *pattern, yajl_val v)
{
    char at[POLICY_WHERE_MAX], pat[POLICY_PATTERN_MAX], *q;
    const struct policy_field *f = *pattern ? policy_field_find(pattern)
                                            : NULL;
    size_t i;

    if (*pattern && !f) {
        policy_refuse(w, where, "not a field this host's incoming policy "
                      "knows");
        return;
    }
    if (f && f->rule != policy_descend) {
        f->rule(w, where, v, f->arg);
        return;
    }
    if (YAJL_IS_ARRAY(v)) {
        snprintf(pat, sizeof(pat), "%s[]", pattern);
        for (i = 0; i < v->u.array.len; i++) {
            snprintf(at, sizeof(at), "%s[%zu]", where, i);
            policy_walk(w, at, pat, v->u.array.values[i]);
        }
    } else if (YAJL_IS_OBJECT(v)) {
        for (i = 0; i < v->u.object.len; i++) {
            q = policy_quote(v->u.object.keys[i]);
            snprintf(at, sizeof(at), "%s%s%s", where, *where ? "." : "", q);
            free(q);
            snprintf(pat, sizeof(pat), "%s%s%s", pattern, *pattern ? "." : "",
                     v->u.object.keys[i]);
            policy_walk(w, at, pat, v->u.object.values[i]);
        }
    } else if (!YAJL_IS_NULL(v)) {
        policy_refuse(w, *where ? where : "config", "not an object or an "
                      "array");
    }
}

int policy_check(struct xlmig_ctx *ctx, struct hv *hv,
                 const struct policy *p, const char *json,
                 struct policy_report *rep)
{
    struct policy_walk w = { .ctx = ctx, .hv = hv, .p = p, .rep = rep };
    struct hv_host_facts hf;
    struct domcfg c;
    yajl_val root;
    char *why = NULL;
    int rc;

    memset(rep, 0, sizeof(*rep));
    memset(&c, 0, sizeof(c));
    root = jsonlim_parse(json, POLICY_JSON_MAX, POLICY_DEPTH_MAX, &why);
    if (!root || !YAJL_IS_OBJECT(root)) {
        policy_refuse(&w, "config", "%s", why ? why : "not an object");
        goto out;
    }
    /* The sizes the other rules need: vCPUs for the cap. */
    if (!domcfg_parse(json, &c, &why)) {
        w.vcpus = c.max_vcpus;
        if (c.name && policy_name_ok(c.name)) w.name = c.name;
    }
    w.max_memkb = p->max_memkb;
    if (!w.max_memkb) {
        rc = hv_host_facts(hv, &hf);
        /* Refused once for all memory fields, not once each. */
        if (rc)
            policy_refuse(&w, "b_info.max_memkb", "cannot read this host's "
                          "memory to check against: %s", xlmig_strerror(rc));
        w.max_memkb = rc ? UINT64_MAX : hf.total_kb;
    }
    policy_dups(&w, "", root);
    policy_walk(&w, "", "", root);
out:
    if (rep->n) LOG(ctx, DEBUG, "incoming policy: %zu field%s refused",
                    rep->n, rep->n == 1 ? "" : "s");
    domcfg_dispose(&c);
    yajl_tree_free(root);
    free(why);
    return XLMIG_OK;
}
