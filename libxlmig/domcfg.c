/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domcfg.c - reads a domain's libxl JSON config (as written by
 * libxl_domain_config_gen_json, or one element of `xl list -l`) into
 * struct domcfg for the pre-flight checks. The input comes from the peer:
 * every field we read is checked for type and bounds, and the first
 * failure names its field. Deciding what a config means for a migration
 * is left to preflight-checks.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "domcfg.h"
#include "jsonlim.h"

#define DOMCFG_JSON_MAX (4u << 20)  /* bytes of JSON */
#define DOMCFG_DEPTH_MAX 32         /* libxl's own nesting is under 10 */
#define DOMCFG_PATH_MAX 4096        /* pdev_path, script */
#define DOMCFG_NAME_MAX 128         /* name, vdev, bridge, domnames */
#define DOMCFG_IP_MAX 1024          /* a nic's ip: its addresses */
#define DOMCFG_VCPUS_MAX 4096       /* affinity entries, vCPU numbers */
#define DOMCFG_CPUS_MAX 4096        /* host CPU numbers in a cpumap */
#define DOMCFG_DEVS_MAX 256         /* entries of each device array */
#define DOMCFG_VNUMA_MAX 64         /* vNUMA nodes */
#define DOMCFG_WHERE_LEN 96         /* "b_info.vnuma_nodes[63].distances" */

/* libxl's defaults when the field is absent (libxl_create.c,
 * libxl__domain_build_info_setdefault). */
#define DOMCFG_MAX_MEMKB_DEFAULT (32 * 1024)
#define DOMCFG_MAX_VCPUS_DEFAULT 1

/* Enum strings are libxl's value names, lower-cased (gentypes.py). */
static const char *const domcfg_type_names[] = { "pv", "pvh", "hvm", NULL };
static const char *const domcfg_backends[] = {
    "unknown", "phy", "tap", "qdisk", "standalone", NULL
};
static const char *const domcfg_formats[] = {
    "unknown", "qcow", "qcow2", "vhd", "raw", "empty", "qed", NULL
};
static const char *const domcfg_tsc_modes[] = {
    "default", "always_emulate", "native", "native_paravirt", NULL
};

/* Device arrays that are only counted (or only checked): each must be an
 * array of at most DOMCFG_DEVS_MAX objects. */
struct domcfg_devlist {
    const char *key;
    size_t offset;              /* of the size_t count in struct domcfg */
    bool counted;
};

static const struct domcfg_devlist domcfg_devlists[] = {
    { "dtdevs", offsetof(struct domcfg, n_dtdevs), true },
    { "usbctrls", offsetof(struct domcfg, n_usbctrls), true },
    { "usbdevs", offsetof(struct domcfg, n_usbdevs), true },
    { "vtpms", offsetof(struct domcfg, n_vtpms), true },
    { "rdms", 0, false },
    { "vfbs", 0, false },
    { "vkbs", 0, false },
    { "virtios", 0, false },
    { "p9s", 0, false },
    { "pvcallsifs", 0, false },
    { "vdispls", 0, false },
    { "vsnds", 0, false },
    { "channels", 0, false },
};

/* Sets *why_r to "AT.KEY: message" (or "AT: message" without a key) and
 * returns XLMIG_E_INVAL, so a failing check is one statement. */
static int domcfg_fail(char **why_r, const char *at, const char *key,
                       const char *fmt, ...) PRINTF_LIKE(4, 5);
static int domcfg_fail(char **why_r, const char *at, const char *key,
                       const char *fmt, ...)
{
    char msg[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!key)
        *why_r = xasprintf("%s: %s", at, msg);
    else if (!at[0])
        *why_r = xasprintf("%s: %s", key, msg);
    else
        *why_r = xasprintf("%s.%s: %s", at, key, msg);
    return XLMIG_E_INVAL;
}

/*
 * The value of KEY in object OBJ, NULL if absent. A key given twice is
 * refused: libxl would read one of them and we must read the same.
 */
static int domcfg_get(yajl_val obj, const char *at, const char *key,
                      yajl_val *v_r, char **why_r)
{
    size_t i;

    *v_r = NULL;
    if (!obj) return XLMIG_OK;
    for (i = 0; i < obj->u.object.len; i++) {
        if (strcmp(obj->u.object.keys[i], key)) continue;
        if (*v_r) return domcfg_fail(why_r, at, key, "given twice");
        *v_r = obj->u.object.values[i];
    }
    return XLMIG_OK;
}

static int domcfg_object(yajl_val obj, const char *at, const char *key,
                         yajl_val *v_r, char **why_r)
{
    int rc = domcfg_get(obj, at, key, v_r, why_r);

    if (rc) return rc;
    if (*v_r && !YAJL_IS_OBJECT(*v_r))
        return domcfg_fail(why_r, at, key, "not an object");
    return XLMIG_OK;
}

/* An array of at most MAX entries; *v_r NULL if absent. */
static int domcfg_array(yajl_val obj, const char *at, const char *key,
                        size_t max, yajl_val *v_r, char **why_r)
{
    int rc = domcfg_get(obj, at, key, v_r, why_r);

    if (rc) return rc;
    if (!*v_r) return XLMIG_OK;
    if (!YAJL_IS_ARRAY(*v_r))
        return domcfg_fail(why_r, at, key, "not an array");
    if ((*v_r)->u.array.len > max)
        return domcfg_fail(why_r, at, key, "%zu entries, over %zu",
                           (*v_r)->u.array.len, max);
    return XLMIG_OK;
}

/* A string of at most MAX bytes, copied; *s_r stays NULL if absent. */
static int domcfg_str(yajl_val obj, const char *at, const char *key,
                      size_t max, char **s_r, char **why_r)
{
    yajl_val v;
    int rc = domcfg_get(obj, at, key, &v, why_r);

    if (rc || !v) return rc;
    if (!YAJL_IS_STRING(v))
        return domcfg_fail(why_r, at, key, "not a string");
    if (strnlen(v->u.string, max + 1) > max)
        return domcfg_fail(why_r, at, key, "longer than %zu bytes", max);
    *s_r = xstrdup(v->u.string);
    return XLMIG_OK;
}

static int domcfg_check_uint(yajl_val v, const char *at, const char *key,
                             uint64_t max, uint64_t *v_r, char **why_r)
{
    if (!YAJL_IS_INTEGER(v))
        return domcfg_fail(why_r, at, key, "not an integer");
    if (YAJL_GET_INTEGER(v) < 0)
        return domcfg_fail(why_r, at, key, "negative");
    if ((uint64_t)YAJL_GET_INTEGER(v) > max)
        return domcfg_fail(why_r, at, key, "over %llu",
                           (unsigned long long)max);
    *v_r = (uint64_t)YAJL_GET_INTEGER(v);
    return XLMIG_OK;
}

/* An integer in 0..MAX; *v_r is left alone (the default) if absent. */
static int domcfg_uint(yajl_val obj, const char *at, const char *key,
                       uint64_t max, uint64_t *v_r, char **why_r)
{
    yajl_val v;
    int rc = domcfg_get(obj, at, key, &v, why_r);

    if (rc || !v) return rc;
    return domcfg_check_uint(v, at, key, max, v_r, why_r);
}

/* A libxl enum: *idx_r is the index in NAMES, or -1 if absent. */
static int domcfg_enum(yajl_val obj, const char *at, const char *key,
                       const char *const *names, int *idx_r, char **why_r)
{
    yajl_val v;
    int i, rc;

    *idx_r = -1;
    rc = domcfg_get(obj, at, key, &v, why_r);
    if (rc || !v) return rc;
    if (!YAJL_IS_STRING(v))
        return domcfg_fail(why_r, at, key, "not a string");
    for (i = 0; names[i]; i++) {
        if (!strcmp(v->u.string, names[i])) {
            *idx_r = i;
            return XLMIG_OK;
        }
    }
    return domcfg_fail(why_r, at, key, "unknown value");
}

/* libxl_defbool: "<default>", "True" or "False" (libxl_json.c). */
static int domcfg_defbool(yajl_val obj, const char *at, const char *key,
                          enum domcfg_bool *b_r, char **why_r)
{
    static const char *const names[] = { "<default>", "False", "True",
                                          NULL };
    int idx, rc;

    *b_r = DOMCFG_DEFAULT;
    rc = domcfg_enum(obj, at, key, names, &idx, why_r);
    if (rc || idx < 0) return rc;
    *b_r = (enum domcfg_bool)idx;
    return XLMIG_OK;
}

/* The enum's string, or NULL for absent and for its "unknown" or
 * "default" value (index 0 in our tables). */
static int domcfg_enum_str(yajl_val obj, const char *at, const char *key,
                           const char *const *names, char **s_r,
                           char **why_r)
{
    int idx;
    int rc = domcfg_enum(obj, at, key, names, &idx, why_r);

    if (rc) return rc;
    if (idx > 0) *s_r = xstrdup(names[idx]);
    return XLMIG_OK;
}

/*
 * A libxl_bitmap: the numbers of its set bits, in increasing order
 * (libxl_bitmap_gen_json), each at most MAX_BIT.
 */
static int domcfg_bitmap(yajl_val v, const char *at, unsigned max_bit,
                         struct domcfg_cpumap *m, char **why_r)
{
    char where[DOMCFG_WHERE_LEN];
    uint64_t bit;
    size_t i;
    int rc;

    if (!YAJL_IS_ARRAY(v))
        return domcfg_fail(why_r, at, NULL, "not an array");
    if (v->u.array.len > (size_t)max_bit + 1)
        return domcfg_fail(why_r, at, NULL, "%zu entries, over %u",
                           v->u.array.len, max_bit + 1);
    m->cpus = v->u.array.len ? xcalloc(v->u.array.len, sizeof(*m->cpus))
                             : NULL;
    for (i = 0; i < v->u.array.len; i++) {
        snprintf(where, sizeof(where), "%s[%zu]", at, i);
        rc = domcfg_check_uint(v->u.array.values[i], where, NULL, max_bit,
                               &bit, why_r);
        if (rc) return rc;
        if (i > 0 && bit <= m->cpus[i - 1])
            return domcfg_fail(why_r, where, NULL, "not in increasing "
                               "order");
        m->cpus[i] = (unsigned)bit;
        m->n = i + 1;
    }
    return XLMIG_OK;
}

/* b_info.vcpu_{hard,soft}_affinity: one bitmap per vCPU. */
static int domcfg_affinity(yajl_val b_info, const char *key,
                           struct domcfg_cpumap **maps_r, size_t *n_r,
                           char **why_r)
{
    char where[DOMCFG_WHERE_LEN];
    yajl_val arr;
    size_t i;
    int rc;

    rc = domcfg_array(b_info, "b_info", key, DOMCFG_VCPUS_MAX, &arr, why_r);
    if (rc || !arr || !arr->u.array.len) return rc;
    *maps_r = xcalloc(arr->u.array.len, sizeof(**maps_r));
    *n_r = arr->u.array.len;
    for (i = 0; i < arr->u.array.len; i++) {
        snprintf(where, sizeof(where), "b_info.%s[%zu]", key, i);
        rc = domcfg_bitmap(arr->u.array.values[i], where,
                           DOMCFG_CPUS_MAX - 1, &(*maps_r)[i], why_r);
        if (rc) return rc;
    }
    return XLMIG_OK;
}

/* b_info.avail_vcpus is only checked: a bitmap of vCPU numbers. */
static int domcfg_avail_vcpus(yajl_val b_info, char **why_r)
{
    struct domcfg_cpumap m = { NULL, 0 };
    yajl_val v;
    int rc;

    rc = domcfg_get(b_info, "b_info", "avail_vcpus", &v, why_r);
    if (rc || !v) return rc;
    rc = domcfg_bitmap(v, "b_info.avail_vcpus", DOMCFG_VCPUS_MAX - 1, &m,
                       why_r);
    free(m.cpus);
    return rc;
}

static int domcfg_vnuma(yajl_val b_info, struct domcfg *c, char **why_r)
{
    char where[DOMCFG_WHERE_LEN], dwhere[DOMCFG_WHERE_LEN + 32];
    struct domcfg_cpumap vcpus = { NULL, 0 };
    yajl_val arr, node, dist;
    uint64_t n;
    size_t i, j;
    int rc;

    rc = domcfg_array(b_info, "b_info", "vnuma_nodes", DOMCFG_VNUMA_MAX,
                      &arr, why_r);
    if (rc || !arr) return rc;
    for (i = 0; i < arr->u.array.len; i++) {
        node = arr->u.array.values[i];
        snprintf(where, sizeof(where), "b_info.vnuma_nodes[%zu]", i);
        if (!YAJL_IS_OBJECT(node))
            return domcfg_fail(why_r, where, NULL, "not an object");
        rc = domcfg_uint(node, where, "memkb", UINT64_MAX, &n, why_r);
        if (rc) return rc;
        rc = domcfg_uint(node, where, "pnode", UINT32_MAX, &n, why_r);
        if (rc) return rc;
        rc = domcfg_array(node, where, "distances", DOMCFG_VNUMA_MAX,
                          &dist, why_r);
        if (rc) return rc;
        for (j = 0; dist && j < dist->u.array.len; j++) {
            snprintf(dwhere, sizeof(dwhere), "%s.distances[%zu]", where, j);
            rc = domcfg_check_uint(dist->u.array.values[j], dwhere, NULL,
                                   UINT32_MAX, &n, why_r);
            if (rc) return rc;
        }
        rc = domcfg_get(node, where, "vcpus", &dist, why_r);
        if (rc) return rc;
        if (dist) {
            snprintf(dwhere, sizeof(dwhere), "%s.vcpus", where);
            rc = domcfg_bitmap(dist, dwhere, DOMCFG_VCPUS_MAX - 1, &vcpus,
                               why_r);
            free(vcpus.cpus);
            vcpus.cpus = NULL;
            if (rc) return rc;
        }
    }
    c->n_vnuma_nodes = arr->u.array.len;
    return XLMIG_OK;
}

bool domcfg_uuid_ok(const char *s)
{
    size_t i;

    if (strlen(s) != 36) return false;
    for (i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    }
    return true;
}

/* As libxl_mac_gen_json writes it: six hex pairs joined by ':'. */
static bool domcfg_mac_ok(const char *s)
{
    size_t i;

    if (strlen(s) != 17) return false;
    for (i = 0; i < 17; i++) {
        if (i % 3 == 2 ? s[i] != ':' : !strchr("0123456789abcdefABCDEF",
                                               s[i]))
            return false;
    }
    return true;
}

static int domcfg_c_info(yajl_val cfg, struct domcfg *c, int *type_r,
                         char **why_r)
{
    char *uuid = NULL;
    yajl_val ci;
    size_t i;
    int rc;

    rc = domcfg_object(cfg, "", "c_info", &ci, why_r);
    if (rc) goto out;
    if (!ci) { rc = domcfg_fail(why_r, "c_info", NULL, "missing"); goto out; }
    rc = domcfg_enum(ci, "c_info", "type", domcfg_type_names, type_r,
                     why_r);
    if (rc) goto out;
    rc = domcfg_str(ci, "c_info", "name", DOMCFG_NAME_MAX, &c->name, why_r);
    if (rc) goto out;
    if (!c->name || !c->name[0]) {
        rc = domcfg_fail(why_r, "c_info", "name", "missing or empty");
        goto out;
    }
    for (i = 0; c->name[i]; i++) {
        if ((unsigned char)c->name[i] < 0x20 || c->name[i] == '/') {
            rc = domcfg_fail(why_r, "c_info", "name", "holds a control "
                             "character or '/'");
            goto out;
        }
    }
    rc = domcfg_str(ci, "c_info", "uuid", sizeof(c->uuid) - 1, &uuid,
                    why_r);
    if (rc) goto out;
    if (uuid && !domcfg_uuid_ok(uuid)) {
        rc = domcfg_fail(why_r, "c_info", "uuid", "not a UUID");
        goto out;
    }
    for (i = 0; uuid && uuid[i]; i++)
        c->uuid[i] = (char)(uuid[i] >= 'A' && uuid[i] <= 'F'
                            ? uuid[i] - 'A' + 'a' : uuid[i]);
    rc = domcfg_defbool(ci, "c_info", "hap", &c->hap, why_r);
    if (rc) goto out;
    rc = domcfg_str(ci, "c_info", "pool_name", DOMCFG_NAME_MAX,
                    &c->pool_name, why_r);
out:
    free(uuid);
    return rc;
}

/*
 * b_info's keyed union is written as one "type.<member>" object
 * (gentypes.py, libxl_C_type_gen_map_key); "type.invalid" means unset.
 * *type_r is the member's index in domcfg_type_names, or -1.
 */
static int domcfg_b_info_type(yajl_val bi, int *type_r, char **why_r)
{
    const char *key;
    bool seen = false;
    size_t i;
    int t;

    *type_r = -1;
    for (i = 0; bi && i < bi->u.object.len; i++) {
        key = bi->u.object.keys[i];
        if (strncmp(key, "type.", 5)) continue;
        if (seen)
            return domcfg_fail(why_r, "b_info", key, "second type.* "
                               "member");
        seen = true;
        if (!YAJL_IS_OBJECT(bi->u.object.values[i]))
            return domcfg_fail(why_r, "b_info", key, "not an object");
        for (t = 0; domcfg_type_names[t]; t++)
            if (!strcmp(key + 5, domcfg_type_names[t])) break;
        if (domcfg_type_names[t])
            *type_r = t;
        else if (strcmp(key + 5, "invalid"))
            return domcfg_fail(why_r, "b_info", key, "unknown type");
    }
    return XLMIG_OK;
}

static int domcfg_b_info(yajl_val cfg, struct domcfg *c, int *type_r,
                         char **why_r)
{
    enum domcfg_bool b;
    uint64_t v;
    yajl_val bi;
    int rc;

    rc = domcfg_object(cfg, "", "b_info", &bi, why_r);
    if (rc) return rc;
    rc = domcfg_b_info_type(bi, type_r, why_r);
    if (rc) return rc;
    v = DOMCFG_MAX_VCPUS_DEFAULT;
    rc = domcfg_uint(bi, "b_info", "max_vcpus", DOMCFG_VCPUS_MAX, &v,
                     why_r);
    if (rc) return rc;
    c->max_vcpus = v ? (unsigned)v : DOMCFG_MAX_VCPUS_DEFAULT;
    rc = domcfg_avail_vcpus(bi, why_r);
    if (rc) return rc;
    rc = domcfg_affinity(bi, "vcpu_hard_affinity", &c->hard_affinity,
                         &c->n_hard, why_r);
    if (rc) return rc;
    rc = domcfg_affinity(bi, "vcpu_soft_affinity", &c->soft_affinity,
                         &c->n_soft, why_r);
    if (rc) return rc;
    c->max_memkb = DOMCFG_MAX_MEMKB_DEFAULT;
    rc = domcfg_uint(bi, "b_info", "max_memkb", INT64_MAX, &c->max_memkb,
                     why_r);
    if (rc) return rc;
    c->target_memkb = c->max_memkb;
    rc = domcfg_uint(bi, "b_info", "target_memkb", INT64_MAX,
                     &c->target_memkb, why_r);
    if (rc) return rc;
    rc = domcfg_defbool(bi, "b_info", "disable_migrate", &b, why_r);
    if (rc) return rc;
    c->disable_migrate = b == DOMCFG_TRUE;
    rc = domcfg_defbool(bi, "b_info", "device_model_stubdomain", &b, why_r);
    if (rc) return rc;
    c->stubdom = b == DOMCFG_TRUE;
    rc = domcfg_enum_str(bi, "b_info", "tsc_mode", domcfg_tsc_modes,
                         &c->tsc_mode, why_r);
    if (rc) return rc;
    return domcfg_vnuma(bi, c, why_r);
}

/* readwrite, is_cdrom and removable are libxl integers used as flags. */
static int domcfg_flag(yajl_val obj, const char *at, const char *key,
                       bool *b_r, char **why_r)
{
    uint64_t v = 0;
    int rc = domcfg_uint(obj, at, key, 1, &v, why_r);

    *b_r = v != 0;
    return rc;
}

static int domcfg_disk(yajl_val v, const char *at, struct domcfg_disk *d,
                       char **why_r)
{
    bool removable;
    int rc;

    if (!YAJL_IS_OBJECT(v)) return domcfg_fail(why_r, at, NULL,
                                               "not an object");
    rc = domcfg_str(v, at, "pdev_path", DOMCFG_PATH_MAX, &d->pdev_path,
                    why_r);
    if (rc) return rc;
    if (d->pdev_path && !d->pdev_path[0]) {
        free(d->pdev_path);     /* "" is how xl writes an empty drive */
        d->pdev_path = NULL;
    }
    rc = domcfg_str(v, at, "vdev", DOMCFG_NAME_MAX, &d->vdev, why_r);
    if (rc) return rc;
    rc = domcfg_enum_str(v, at, "backend", domcfg_backends, &d->backend,
                         why_r);
    if (rc) return rc;
    rc = domcfg_enum_str(v, at, "format", domcfg_formats, &d->format,
                         why_r);
    if (rc) return rc;
    rc = domcfg_str(v, at, "script", DOMCFG_PATH_MAX, &d->script, why_r);
    if (rc) return rc;
    rc = domcfg_str(v, at, "backend_domname", DOMCFG_NAME_MAX,
                    &d->backend_domname, why_r);
    if (rc) return rc;
    rc = domcfg_flag(v, at, "removable", &removable, why_r);
    if (rc) return rc;
    rc = domcfg_flag(v, at, "readwrite", &d->readwrite, why_r);
    if (rc) return rc;
    return domcfg_flag(v, at, "is_cdrom", &d->is_cdrom, why_r);
}

static int domcfg_nic(yajl_val v, const char *at, size_t idx,
                      struct domcfg_nic *n, char **why_r)
{
    yajl_val devid;
    uint64_t id;
    int rc;

    if (!YAJL_IS_OBJECT(v)) return domcfg_fail(why_r, at, NULL,
                                               "not an object");
    /* libxl_devid: -1 (or absent) until libxl numbers the nics, which it
     * does in order from 0 at creation. */
    n->devid = (unsigned)idx;
    rc = domcfg_get(v, at, "devid", &devid, why_r);
    if (rc) return rc;
    if (devid && !(YAJL_IS_INTEGER(devid) &&
                   YAJL_GET_INTEGER(devid) == -1)) {
        rc = domcfg_check_uint(devid, at, "devid", INT32_MAX, &id, why_r);
        if (rc) return rc;
        n->devid = (unsigned)id;
    }
    rc = domcfg_str(v, at, "mac", 17, &n->mac, why_r);
    if (rc) return rc;
    if (n->mac && !domcfg_mac_ok(n->mac))
        return domcfg_fail(why_r, at, "mac", "not a MAC address");
    rc = domcfg_str(v, at, "bridge", DOMCFG_NAME_MAX, &n->bridge, why_r);
    if (rc) return rc;
    rc = domcfg_str(v, at, "ip", DOMCFG_IP_MAX, &n->ip, why_r);
    if (rc) return rc;
    rc = domcfg_str(v, at, "script", DOMCFG_PATH_MAX, &n->script, why_r);
    if (rc) return rc;
    return domcfg_str(v, at, "backend_domname", DOMCFG_NAME_MAX,
                      &n->backend_domname, why_r);
}

/* A libxl_device_pci as "SSSS:BB:DD.F"; zero fields are omitted. */
static int domcfg_pci(yajl_val v, const char *at, char **bdf_r,
                      char **why_r)
{
    uint64_t seg = 0, bus = 0, dev = 0, func = 0;
    int rc;

    if (!YAJL_IS_OBJECT(v)) return domcfg_fail(why_r, at, NULL,
                                               "not an object");
    rc = domcfg_uint(v, at, "domain", 0xffff, &seg, why_r);
    if (rc) return rc;
    rc = domcfg_uint(v, at, "bus", 0xff, &bus, why_r);
    if (rc) return rc;
    rc = domcfg_uint(v, at, "dev", 0x1f, &dev, why_r);
    if (rc) return rc;
    rc = domcfg_uint(v, at, "func", 0x7, &func, why_r);
    if (rc) return rc;
    *bdf_r = xasprintf("%04x:%02x:%02x.%x", (unsigned)seg, (unsigned)bus,
                       (unsigned)dev, (unsigned)func);
    return XLMIG_OK;
}

static int domcfg_devices(yajl_val cfg, struct domcfg *c, char **why_r)
{
    char where[DOMCFG_WHERE_LEN];
    const struct domcfg_devlist *dl;
    yajl_val arr;
    size_t i;
    int rc;

    rc = domcfg_array(cfg, "", "disks", DOMCFG_DEVS_MAX, &arr, why_r);
    if (rc) return rc;
    if (arr && arr->u.array.len) {
        c->disks = xcalloc(arr->u.array.len, sizeof(*c->disks));
        c->n_disks = arr->u.array.len;
    }
    for (i = 0; i < c->n_disks; i++) {
        snprintf(where, sizeof(where), "disks[%zu]", i);
        rc = domcfg_disk(arr->u.array.values[i], where, &c->disks[i], why_r);
        if (rc) return rc;
    }
    rc = domcfg_array(cfg, "", "nics", DOMCFG_DEVS_MAX, &arr, why_r);
    if (rc) return rc;
    if (arr && arr->u.array.len) {
        c->nics = xcalloc(arr->u.array.len, sizeof(*c->nics));
        c->n_nics = arr->u.array.len;
    }
    for (i = 0; i < c->n_nics; i++) {
        snprintf(where, sizeof(where), "nics[%zu]", i);
        rc = domcfg_nic(arr->u.array.values[i], where, i, &c->nics[i],
                        why_r);
        if (rc) return rc;
    }
    rc = domcfg_array(cfg, "", "pcidevs", DOMCFG_DEVS_MAX, &arr, why_r);
    if (rc) return rc;
    if (arr && arr->u.array.len) {
        c->pci = xcalloc(arr->u.array.len, sizeof(*c->pci));
        c->n_pci = arr->u.array.len;
    }
    for (i = 0; i < c->n_pci; i++) {
        snprintf(where, sizeof(where), "pcidevs[%zu]", i);
        rc = domcfg_pci(arr->u.array.values[i], where, &c->pci[i], why_r);
        if (rc) return rc;
    }
    for (dl = domcfg_devlists; dl < domcfg_devlists + ARRAY_SIZE(
             domcfg_devlists); dl++) {
        rc = domcfg_array(cfg, "", dl->key, DOMCFG_DEVS_MAX, &arr, why_r);
        if (rc) return rc;
        for (i = 0; arr && i < arr->u.array.len; i++) {
            if (YAJL_IS_OBJECT(arr->u.array.values[i])) continue;
            snprintf(where, sizeof(where), "%s[%zu]", dl->key, i);
            return domcfg_fail(why_r, where, NULL, "not an object");
        }
        if (dl->counted && arr)
            *(size_t *)((char *)c + dl->offset) = arr->u.array.len;
    }
    return XLMIG_OK;
}

/*
 * `xl list -l` prints [{"domid": N, "config": {...}}, ...] (xl_info.c,
 * printf_info_one_json); domid is null for a domain without one. Finds the
 * libxl config in ROOT, whichever of the three forms it has.
 */
static int domcfg_unwrap(yajl_val root, yajl_val *cfg_r, char **why_r)
{
    yajl_val v;
    int rc;

    *cfg_r = root;
    if (YAJL_IS_ARRAY(root)) {
        if (root->u.array.len != 1)
            return domcfg_fail(why_r, "config", NULL, "array of %zu "
                               "domains, expected one",
                               root->u.array.len);
        *cfg_r = root->u.array.values[0];
        if (!YAJL_IS_OBJECT(*cfg_r))
            return domcfg_fail(why_r, "[0]", NULL, "not an object");
        rc = domcfg_get(*cfg_r, "[0]", "config", &v, why_r);
        if (rc) return rc;
        if (!v) return domcfg_fail(why_r, "[0]", "config", "missing");
    }
    if (!YAJL_IS_OBJECT(*cfg_r))
        return domcfg_fail(why_r, "config", NULL, "not an object");
    rc = domcfg_get(*cfg_r, "", "config", &v, why_r);
    if (rc || !v) return rc;
    rc = domcfg_get(*cfg_r, "", "domid", &v, why_r);
    if (rc) return rc;
    if (v && !YAJL_IS_NULL(v) &&
        !(YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) >= 0 &&
          YAJL_GET_INTEGER(v) <= UINT16_MAX))
        return domcfg_fail(why_r, "domid", NULL, "not a domain id");
    return domcfg_object(*cfg_r, "", "config", cfg_r, why_r);
}

int domcfg_parse(const char *json, struct domcfg *c, char **why_r)
{
    yajl_val root = NULL, cfg;
    char *why = NULL;
    int ctype, btype;
    int rc;

    memset(c, 0, sizeof(*c));
    *why_r = NULL;
    root = jsonlim_parse(json, DOMCFG_JSON_MAX, DOMCFG_DEPTH_MAX, &why);
    if (!root) {
        rc = domcfg_fail(why_r, "config", NULL, "%s", why);
        goto out;
    }
    rc = domcfg_unwrap(root, &cfg, why_r);
    if (rc) goto out;
    rc = domcfg_c_info(cfg, c, &ctype, why_r);
    if (rc) goto out;
    rc = domcfg_b_info(cfg, c, &btype, why_r);
    if (rc) goto out;
    /* Old configs may carry the type only in b_info (libxl_create.c). */
    if (ctype < 0) ctype = btype;
    if (ctype < 0) {
        rc = domcfg_fail(why_r, "c_info", "type", "missing");
        goto out;
    }
    if (btype >= 0 && btype != ctype) {
        rc = domcfg_fail(why_r, "b_info", NULL, "type.%s does not match "
                         "c_info.type", domcfg_type_names[btype]);
        goto out;
    }
    c->type = (enum domcfg_type)ctype;
    rc = domcfg_devices(cfg, c, why_r);
out:
    if (rc) domcfg_dispose(c);
    yajl_tree_free(root);
    free(why);
    return rc;
}

static void domcfg_cpumaps_free(struct domcfg_cpumap *maps, size_t n)
{
    size_t i;

    for (i = 0; maps && i < n; i++)
        free(maps[i].cpus);
    free(maps);
}

void domcfg_dispose(struct domcfg *c)
{
    size_t i;

    free(c->name);
    free(c->pool_name);
    free(c->tsc_mode);
    domcfg_cpumaps_free(c->hard_affinity, c->n_hard);
    domcfg_cpumaps_free(c->soft_affinity, c->n_soft);
    for (i = 0; c->pci && i < c->n_pci; i++)
        free(c->pci[i]);
    free(c->pci);
    for (i = 0; c->disks && i < c->n_disks; i++) {
        free(c->disks[i].pdev_path);
        free(c->disks[i].vdev);
        free(c->disks[i].backend);
        free(c->disks[i].format);
        free(c->disks[i].script);
        free(c->disks[i].backend_domname);
    }
    free(c->disks);
    for (i = 0; c->nics && i < c->n_nics; i++) {
        free(c->nics[i].bridge);
        free(c->nics[i].script);
        free(c->nics[i].mac);
        free(c->nics[i].ip);
        free(c->nics[i].backend_domname);
    }
    free(c->nics);
    memset(c, 0, sizeof(*c));
}

const char *domcfg_type_name(enum domcfg_type t)
{
    switch (t) {
    case DOMCFG_PV: return "pv";
    case DOMCFG_PVH: return "pvh";
    case DOMCFG_HVM: return "hvm";
    }
    return "unknown";
}
