/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-sim-config.c - the sim backend's domain configs: libxl JSON of the
 * same shape as libxl_domain_config_to_json() (c_info, b_info, on_*), read
 * and written with yajl, since libxl itself cannot be used without a
 * hypervisor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "hv-sim.h"
#include "jsonlim.h"
#include "stream.h"

#define SIM_CONFIG_MAX (1u << 20)
#define SIM_CONFIG_DEPTH_MAX 32     /* as domcfg.c */
#define SIM_NAME_MAX 100

static const char *json_str(yajl_val root, const char *a, const char *b)
{
    const char *path[] = { a, b, NULL };
    yajl_val v = yajl_tree_get(root, path, yajl_t_string);

    return v ? YAJL_GET_STRING(v) : NULL;
}

static bool json_u64(yajl_val root, const char *a, const char *b,
                     uint64_t *v_r)
{
    const char *path[] = { a, b, NULL };
    yajl_val v = yajl_tree_get(root, path, yajl_t_number);

    if (!v || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0) return false;
    *v_r = (uint64_t)YAJL_GET_INTEGER(v);
    return true;
}

static void copy_action(char *dst, size_t len, const char *v,
                        const char *dflt)
{
    snprintf(dst, len, "%s", v ? v : dflt);
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);

    /* As libxl: not empty, not all digits, no '/' (a xenstore path). */
    if (n == 0 || n > SIM_NAME_MAX || strchr(name, '/')) return false;
    return strspn(name, "0123456789") != n;
}

int hv_sim_config_parse(struct xlmig_ctx *ctx, const char *json,
                        struct sim_config *c)
{
    char *why = NULL;
    const char *s;
    yajl_val root;
    uint64_t vcpus = 1;
    int rc = XLMIG_E_INVAL;

    memset(c, 0, sizeof(*c));
    root = jsonlim_parse(json, SIM_CONFIG_MAX, SIM_CONFIG_DEPTH_MAX, &why);
    if (!root || !YAJL_IS_OBJECT(root)) {
        LOG(ctx, ERROR, "domain config is not a JSON object: %s",
            why ? why : "not an object");
        free(why);
        goto out;
    }
    s = json_str(root, "c_info", "name");
    if (!s || !name_ok(s)) {
        LOG(ctx, ERROR, "domain config: c_info.name missing or invalid");
        goto out;
    }
    c->name = xstrdup(s);
    s = json_str(root, "c_info", "uuid");
    c->uuid = xstrdup(s ? s : SIM_NIL_UUID);
    s = json_str(root, "c_info", "type");
    if (!s || (strcmp(s, "pv") && strcmp(s, "pvh") && strcmp(s, "hvm"))) {
        LOG(ctx, ERROR, "domain config: c_info.type must be pv, pvh or "
            "hvm");
        goto out;
    }
    snprintf(c->type, sizeof(c->type), "%s", s);
    c->guest_type = strcmp(s, "pv") ? STREAM_DHDR_TYPE_X86_HVM
                                    : STREAM_DHDR_TYPE_X86_PV;
    if (!json_u64(root, "b_info", "max_memkb", &c->max_memkb) ||
        c->max_memkb < 2 * SIM_PAGE_SIZE / 1024 ||
        c->max_memkb % (SIM_PAGE_SIZE / 1024) ||
        c->max_memkb > (64ULL << 30) / 1024) {
        LOG(ctx, ERROR, "domain config: b_info.max_memkb missing, not a "
            "whole number of pages, or outside 8 KiB..64 GiB");
        goto out;
    }
    if (json_u64(root, "b_info", "max_vcpus", &vcpus) &&
        (vcpus < 1 || vcpus > 128)) {
        LOG(ctx, ERROR, "domain config: b_info.max_vcpus outside 1..128");
        goto out;
    }
    c->vcpus = (unsigned)vcpus;
    copy_action(c->on_poweroff, sizeof(c->on_poweroff),
                json_str(root, "on_poweroff", NULL), "destroy");
    copy_action(c->on_reboot, sizeof(c->on_reboot),
                json_str(root, "on_reboot", NULL), "restart");
    copy_action(c->on_crash, sizeof(c->on_crash),
                json_str(root, "on_crash", NULL), "destroy");
    rc = XLMIG_OK;
out:
    if (rc) hv_sim_config_dispose(c);
    yajl_tree_free(root);
    return rc;
}

void hv_sim_config_dispose(struct sim_config *c)
{
    free(c->name);
    free(c->uuid);
    memset(c, 0, sizeof(*c));
}

static void gen_str(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

/* Emits v; inside c_info, name and domid are replaced by the rewrite's,
 * and the uuid too if the rewrite has one. */
struct rewrite {
    const char *name;
    const char *uuid;
    bool keep_domid;
    uint32_t domid;
};

enum gen_where { GEN_TOP, GEN_C_INFO, GEN_OTHER };

static void gen_value(yajl_gen g, yajl_val v, const struct rewrite *rw,
                      enum gen_where where)
{
    bool c_info = where == GEN_C_INFO;
    size_t i;

    switch (v->type) {
    case yajl_t_string: gen_str(g, YAJL_GET_STRING(v)); break;
    case yajl_t_number:
        yajl_gen_number(g, YAJL_GET_NUMBER(v), strlen(YAJL_GET_NUMBER(v)));
        break;
    case yajl_t_true: yajl_gen_bool(g, 1); break;
    case yajl_t_false: yajl_gen_bool(g, 0); break;
    case yajl_t_null: yajl_gen_null(g); break;
    case yajl_t_array:
        yajl_gen_array_open(g);
        for (i = 0; i < v->u.array.len; i++)
            gen_value(g, v->u.array.values[i], rw, GEN_OTHER);
        yajl_gen_array_close(g);
        break;
    case yajl_t_object:
        yajl_gen_map_open(g);
        for (i = 0; i < v->u.object.len; i++) {
            const char *k = v->u.object.keys[i];

            if (c_info && (!strcmp(k, "name") || !strcmp(k, "domid") ||
                           (rw->uuid && !strcmp(k, "uuid"))))
                continue;
            gen_str(g, k);
            gen_value(g, v->u.object.values[i], rw,
                      where == GEN_TOP && !strcmp(k, "c_info") ? GEN_C_INFO
                                                               : GEN_OTHER);
        }
        if (c_info) {
            gen_str(g, "name");
            gen_str(g, rw->name);
            if (rw->uuid) {
                gen_str(g, "uuid");
                gen_str(g, rw->uuid);
            }
            if (rw->keep_domid) {
                gen_str(g, "domid");
                yajl_gen_integer(g, rw->domid);
            }
        }
        yajl_gen_map_close(g);
        break;
    default:
        yajl_gen_null(g);
        break;
    }
}

int hv_sim_config_rewrite(struct xlmig_ctx *ctx, const char *json,
                          const char *name, const char *uuid,
                          bool keep_domid, uint32_t domid, char **out_r)
{
    struct rewrite rw = { name, uuid, keep_domid, domid };
    const unsigned char *text;
    char *why = NULL;
    yajl_val root;
    yajl_gen g;
    size_t len;

    *out_r = NULL;
    root = jsonlim_parse(json, SIM_CONFIG_MAX, SIM_CONFIG_DEPTH_MAX, &why);
    if (!root || !YAJL_IS_OBJECT(root)) {
        LOG(ctx, ERROR, "domain config is not a JSON object: %s",
            why ? why : "not an object");
        free(why);
        yajl_tree_free(root);
        return XLMIG_E_INVAL;
    }
    g = yajl_gen_alloc(NULL);
    if (!g) abort();
    yajl_gen_config(g, yajl_gen_beautify, 1);
    gen_value(g, root, &rw, GEN_TOP);
    if (yajl_gen_get_buf(g, &text, &len) != yajl_gen_status_ok) abort();
    *out_r = xasprintf("%.*s", (int)len, (const char *)text);
    yajl_gen_free(g);
    yajl_tree_free(root);
    return XLMIG_OK;
}

char *hv_sim_config_new(const char *name, const char *uuid, const char *type,
                        uint64_t memkb, unsigned vcpus)
{
    const unsigned char *text;
    char key[16];
    yajl_gen g;
    size_t len;
    unsigned i;
    char *out;

    g = yajl_gen_alloc(NULL);
    if (!g) abort();
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_map_open(g);
    gen_str(g, "c_info");
    yajl_gen_map_open(g);
    gen_str(g, "type");
    gen_str(g, type);
    gen_str(g, "name");
    gen_str(g, name);
    gen_str(g, "uuid");
    gen_str(g, uuid);
    yajl_gen_map_close(g);
    gen_str(g, "b_info");
    yajl_gen_map_open(g);
    gen_str(g, "max_vcpus");
    yajl_gen_integer(g, vcpus);
    gen_str(g, "avail_vcpus");
    yajl_gen_array_open(g);
    for (i = 0; i < vcpus; i++)
        yajl_gen_integer(g, i);
    yajl_gen_array_close(g);
    gen_str(g, "max_memkb");
    yajl_gen_integer(g, (long long)memkb);
    gen_str(g, "target_memkb");
    yajl_gen_integer(g, (long long)memkb);
    snprintf(key, sizeof(key), "type.%s", type);
    gen_str(g, key);
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    gen_str(g, "on_poweroff");
    gen_str(g, "destroy");
    gen_str(g, "on_reboot");
    gen_str(g, "restart");
    gen_str(g, "on_watchdog");
    gen_str(g, "destroy");
    gen_str(g, "on_crash");
    gen_str(g, "destroy");
    yajl_gen_map_close(g);
    if (yajl_gen_get_buf(g, &text, &len) != yajl_gen_status_ok) abort();
    out = xasprintf("%.*s", (int)len, (const char *)text);
    yajl_gen_free(g);
    return out;
}
