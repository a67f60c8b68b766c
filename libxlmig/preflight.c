/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * preflight.c - pre-flight results and reports, and the JSON they travel
 * in between sender and receiver (xlmig/1 PREFLIGHT and RESULTS bodies).
 * The peer's JSON is untrusted: every field is checked for type and size.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "cpufeat.h"
#include "jsonlim.h"
#include "preflight.h"
#include "proto.h"

#define PF_JSON_MAX (4u << 20)
#define PF_JSON_DEPTH_MAX 16        /* requests and reports nest 3 deep */

/* Every check id (preflight-checks.c); "script:NAME" come from checks.d. */
static const char *const pf_ids[] = {
    "domain-busy", "migrate-disabled", "pci-passthrough", "usb-passthrough",
    "dt-passthrough", "vnuma", "vtpm", "paging-source", "guest-suspend",
    "name-away", "destination-checks", "xen-version", "stream-version",
    "guest-type", "paging", "cpu-features", "memory", "vcpu-affinity",
    "cpupool", "disk-visible", "disk-storage", "disk-backend", "nic-bridge",
    "nic-script", "name-free", "uuid-free", "maintenance", "admission",
    "host-facts", "incoming-policy", "data-connection",
};

/* Destination checks that are its own admin's to waive, not a sender's
 * (with its check scripts, "script:NAME"). */
static const char *const pf_dest_owned[] = {
    "incoming-policy", "maintenance", "name-free", "uuid-free",
};

const char *xlmig_check_severity_name(enum xlmig_check_severity s)
{
    switch (s) {
    case XLMIG_CHECK_INFO: return "info";
    case XLMIG_CHECK_WARNING: return "warning";
    case XLMIG_CHECK_ERROR: return "error";
    }
    return "?";
}

static bool pf_severity_parse(const char *s, enum xlmig_check_severity *v)
{
    enum xlmig_check_severity i;

    for (i = XLMIG_CHECK_INFO; i <= XLMIG_CHECK_ERROR; i++) {
        if (!strcmp(s, xlmig_check_severity_name(i))) {
            *v = i;
            return true;
        }
    }
    return false;
}

bool pf_id_known(const char *id)
{
    size_t i;

    if (!strncmp(id, "script:", 7))
        return id[7] && strlen(id) < PF_ID_MAX;
    for (i = 0; i < ARRAY_SIZE(pf_ids); i++)
        if (!strcmp(id, pf_ids[i])) return true;
    return false;
}

bool pf_sender_may_force(const struct xlmig_check_result *r)
{
    size_t i;

    if (!r->destination) return true;
    if (!strncmp(r->id, "script:", 7)) return false;
    for (i = 0; i < ARRAY_SIZE(pf_dest_owned); i++)
        if (!strcmp(r->id, pf_dest_owned[i])) return false;
    return true;
}

bool xlmig_check_id_known(const char *id)
{
    return pf_id_known(id);
}

void pf_report_init(struct pf_report *rep)
{
    memset(rep, 0, sizeof(*rep));
}

void pf_report_dispose(struct pf_report *rep)
{
    size_t i;

    for (i = 0; i < rep->n; i++) {
        free(rep->r[i].message);
        free(rep->r[i].remedy);
    }
    free(rep->r);
    pf_report_init(rep);
}

/* Takes message and remedy (allocated). Beyond PF_RESULTS_MAX results
 * are dropped: a report is for people to read. */
static void pf_push(struct pf_report *rep, bool destination, const char *id,
                    enum xlmig_check_severity sev, char *message,
                    char *remedy, bool forced)
{
    struct xlmig_check_result *r;

    if (rep->n >= PF_RESULTS_MAX) {
        free(message);
        free(remedy);
        return;
    }
    if (rep->n == rep->alloc) {
        rep->alloc = rep->alloc ? 2 * rep->alloc : 16;
        rep->r = xrealloc(rep->r, rep->alloc * sizeof(*rep->r));
    }
    r = &rep->r[rep->n++];
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->severity = sev;
    r->destination = destination;
    r->forced = forced;
    /* One line each, within bounds, whatever a script printed. */
    message[strcspn(message, "\n")] = '\0';
    remedy[strcspn(remedy, "\n")] = '\0';
    if (strlen(message) >= PF_TEXT_MAX) message[PF_TEXT_MAX - 1] = '\0';
    if (strlen(remedy) >= PF_TEXT_MAX) remedy[PF_TEXT_MAX - 1] = '\0';
    r->message = message;
    r->remedy = remedy;
}

void pf_add(struct pf_report *rep, bool destination, const char *id,
            enum xlmig_check_severity sev, const char *remedy,
            const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) abort();
    va_end(ap);
    pf_push(rep, destination, id, sev, msg, xstrdup(remedy ? remedy : ""),
            false);
}

void pf_merge(struct pf_report *rep, struct pf_report *from)
{
    size_t i;

    for (i = 0; i < from->n; i++) {
        pf_push(rep, from->r[i].destination, from->r[i].id,
                from->r[i].severity, from->r[i].message, from->r[i].remedy,
                from->r[i].forced);
    }
    if (from->mem_known) {
        rep->mem_known = true;
        rep->mem_need_kb = from->mem_need_kb;
        rep->mem_free_kb = from->mem_free_kb;
    }
    free(from->r);
    pf_report_init(from);
}

bool pf_listed(const char *ids, const char *id)
{
    size_t n = strlen(id), len;
    const char *p = ids;

    while (*p) {
        len = strcspn(p, ",");
        if (len == n && !strncmp(p, id, n)) return true;
        p += len;
        if (*p) p++;
    }
    return false;
}

void pf_force(struct pf_report *rep, const char *ids)
{
    size_t i;

    if (!ids) return;
    for (i = 0; i < rep->n; i++)
        if (rep->r[i].severity == XLMIG_CHECK_ERROR &&
            pf_listed(ids, rep->r[i].id) && pf_sender_may_force(&rep->r[i]))
            rep->r[i].forced = true;
}

size_t pf_errors(const struct pf_report *rep)
{
    size_t i, n = 0;

    for (i = 0; i < rep->n; i++)
        if (rep->r[i].severity == XLMIG_CHECK_ERROR && !rep->r[i].forced)
            n++;
    return n;
}

char *pf_error_ids(const struct pf_report *rep)
{
    char *s = xstrdup(""), *t;
    size_t i;

    for (i = 0; i < rep->n; i++) {
        if (rep->r[i].severity != XLMIG_CHECK_ERROR || rep->r[i].forced)
            continue;
        /* Each id once. */
        if (pf_listed(s, rep->r[i].id)) continue;
        t = xasprintf("%s%s%s", s, *s ? "," : "", rep->r[i].id);
        free(s);
        s = t;
    }
    for (t = s; *t; t++)
        if (*t == ',') *t = ' ';
    return s;
}

void pf_request_dispose(struct pf_request *req)
{
    size_t i;

    free(req->config);
    for (i = 0; i < req->n_disks; i++)
        free(req->disks[i].path);
    free(req->disks);
    memset(req, 0, sizeof(*req));
}

/* ---- JSON ---------------------------------------------------------------- */

static void pf_gen_str(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void pf_gen_kv(yajl_gen g, const char *k, const char *v)
{
    pf_gen_str(g, k);
    pf_gen_str(g, v);
}

static void pf_gen_ku(yajl_gen g, const char *k, uint64_t v)
{
    char num[24];

    /* As a string: yajl's integers are signed 64-bit. */
    snprintf(num, sizeof(num), "%" PRIu64, v);
    pf_gen_kv(g, k, num);
}

static char *pf_gen_done(yajl_gen g)
{
    const unsigned char *buf;
    size_t len;
    char *s;

    yajl_gen_get_buf(g, &buf, &len);
    s = xmalloc(len + 1);
    memcpy(s, buf, len);
    s[len] = '\0';
    yajl_gen_free(g);
    return s;
}

static const char *const pf_disk_kinds[] = {
    [PF_DISK_MISSING] = "missing", [PF_DISK_FILE] = "file",
    [PF_DISK_BLOCK] = "block", [PF_DISK_OTHER] = "other",
};

char *pf_request_encode(const struct pf_request *req)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    char *fs = cpufeat_to_hex(req->featureset, req->nr_features);
    size_t i;

    if (!g) abort();
    yajl_gen_map_open(g);
    pf_gen_kv(g, "source", req->source);
    pf_gen_kv(g, "xen_version", req->xen_version);
    pf_gen_kv(g, "featureset", fs);
    pf_gen_str(g, "disks");
    yajl_gen_array_open(g);
    for (i = 0; i < req->n_disks; i++) {
        const struct pf_disk_ident *d = &req->disks[i];

        yajl_gen_map_open(g);
        pf_gen_kv(g, "path", d->path);
        pf_gen_kv(g, "kind", pf_disk_kinds[d->kind]);
        pf_gen_ku(g, "size", d->size);
        pf_gen_ku(g, "ino", d->ino);
        pf_gen_ku(g, "sample", d->sample);
        if (d->sr_uuid[0]) pf_gen_kv(g, "sr", d->sr_uuid);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    pf_gen_kv(g, "config", req->config);
    yajl_gen_map_close(g);
    free(fs);
    return pf_gen_done(g);
}

char *pf_report_encode(const struct pf_report *rep)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    size_t i;

    if (!g) abort();
    yajl_gen_map_open(g);
    pf_gen_str(g, "results");
    yajl_gen_array_open(g);
    for (i = 0; i < rep->n; i++) {
        yajl_gen_map_open(g);
        pf_gen_kv(g, "id", rep->r[i].id);
        pf_gen_kv(g, "severity",
                  xlmig_check_severity_name(rep->r[i].severity));
        pf_gen_kv(g, "message", rep->r[i].message);
        pf_gen_kv(g, "remedy", rep->r[i].remedy);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    if (rep->mem_known) {
        pf_gen_str(g, "memory");
        yajl_gen_map_open(g);
        pf_gen_ku(g, "need", rep->mem_need_kb);
        pf_gen_ku(g, "free", rep->mem_free_kb);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    return pf_gen_done(g);
}

/* A string member of obj of at most max bytes; NULL and *why_r if not. */
static const char *pf_get_str(yajl_val obj, const char *key, size_t max,
                              const char *where, char **why_r)
{
    const char *path[] = { key, NULL };
    yajl_val v = yajl_tree_get(obj, path, yajl_t_any);
    const char *s = v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;

    if (!s) {
        *why_r = xasprintf("%s.%s: missing or not a string", where, key);
        return NULL;
    }
    if (strlen(s) > max) {
        *why_r = xasprintf("%s.%s: longer than %zu bytes", where, key, max);
        return NULL;
    }
    return s;
}

static bool pf_get_u64(yajl_val obj, const char *key, const char *where,
                       uint64_t *v_r, char **why_r)
{
    const char *s = pf_get_str(obj, key, 20, where, why_r);
    char *end;

    if (!s) return false;
    errno = 0;
    *v_r = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') {
        *why_r = xasprintf("%s.%s: not a decimal number", where, key);
        return false;
    }
    return true;
}

static yajl_val pf_parse(const char *json, const char *what, char **why_r)
{
    char *why = NULL;
    yajl_val root = jsonlim_parse(json, PF_JSON_MAX, PF_JSON_DEPTH_MAX, &why);

    if (root && !YAJL_IS_OBJECT(root)) {
        why = xstrdup("not a JSON object");
        yajl_tree_free(root);
        root = NULL;
    }
    if (!root) *why_r = xasprintf("%s: %s", what, why);
    free(why);
    return root;
}

static bool pf_disk_decode(yajl_val o, size_t i, struct pf_disk_ident *d,
                           char **why_r)
{
    char where[32];
    const char *s;
    size_t k;

    snprintf(where, sizeof(where), "disks[%zu]", i);
    if (!YAJL_IS_OBJECT(o)) {
        *why_r = xasprintf("%s: not an object", where);
        return false;
    }
    s = pf_get_str(o, "path", 4096, where, why_r);
    if (!s) return false;
    d->path = xstrdup(s);
    s = pf_get_str(o, "kind", 16, where, why_r);
    if (!s) return false;
    for (k = 0; k < ARRAY_SIZE(pf_disk_kinds); k++)
        if (!strcmp(s, pf_disk_kinds[k])) break;
    if (k == ARRAY_SIZE(pf_disk_kinds)) {
        *why_r = xasprintf("%s.kind: unknown '%s'", where, s);
        return false;
    }
    d->kind = (enum pf_disk_kind)k;
    /* Added later, optional: the identity of the SR holding it. */
    if (yajl_tree_get(o, (const char *[]){ "sr", NULL }, yajl_t_any)) {
        s = pf_get_str(o, "sr", sizeof(d->sr_uuid) - 1, where, why_r);
        if (!s) return false;
        if (!*s || strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ-") != strlen(s)) {
            *why_r = xasprintf("%s.sr: not an SR identity", where);
            return false;
        }
        strcpy(d->sr_uuid, s);
    }
    return pf_get_u64(o, "size", where, &d->size, why_r) &&
           pf_get_u64(o, "ino", where, &d->ino, why_r) &&
           pf_get_u64(o, "sample", where, &d->sample, why_r);
}

int pf_request_decode(const char *json, struct pf_request *req,
                      char **why_r)
{
    const char *dpath[] = { "disks", NULL };
    yajl_val root, disks;
    const char *s;
    size_t i;
    int rc = XLMIG_E_PROTO;

    memset(req, 0, sizeof(*req));
    *why_r = NULL;
    root = pf_parse(json, "pre-flight request", why_r);
    if (!root) return XLMIG_E_PROTO;
    s = pf_get_str(root, "source", sizeof(req->source) - 1, "request",
                   why_r);
    if (!s) goto out;
    /* Logged, and given to check scripts: printable ASCII only. */
    if (!proto_printable(s)) {
        *why_r = xstrdup("request.source: not printable ASCII");
        goto out;
    }
    snprintf(req->source, sizeof(req->source), "%s", s);
    s = pf_get_str(root, "xen_version", sizeof(req->xen_version) - 1,
                   "request", why_r);
    if (!s) goto out;
    if (!proto_printable(s) ||
        sscanf(s, "%u.%u", &req->xen_major, &req->xen_minor) != 2) {
        *why_r = xstrdup("request.xen_version: not N.N");
        goto out;
    }
    snprintf(req->xen_version, sizeof(req->xen_version), "%s", s);
    s = pf_get_str(root, "featureset", 9 * HV_FEATURESET_WORDS, "request",
                   why_r);
    if (!s) goto out;
    if (*s && cpufeat_from_hex(s, req->featureset, HV_FEATURESET_WORDS,
                               &req->nr_features)) {
        *why_r = xstrdup("request.featureset: not hex words");
        goto out;
    }
    disks = yajl_tree_get(root, dpath, yajl_t_any);
    if (!disks || !YAJL_IS_ARRAY(disks) ||
        YAJL_GET_ARRAY(disks)->len > PF_DISKS_MAX) {
        *why_r = xasprintf("request.disks: not an array of at most %u",
                           PF_DISKS_MAX);
        goto out;
    }
    req->n_disks = YAJL_GET_ARRAY(disks)->len;
    req->disks = xcalloc(req->n_disks ? req->n_disks : 1,
                         sizeof(*req->disks));
    for (i = 0; i < req->n_disks; i++)
        if (!pf_disk_decode(YAJL_GET_ARRAY(disks)->values[i], i,
                            &req->disks[i], why_r))
            goto out;
    s = pf_get_str(root, "config", PF_JSON_MAX, "request", why_r);
    if (!s) goto out;
    req->config = xstrdup(s);
    rc = XLMIG_OK;
out:
    yajl_tree_free(root);
    if (rc) pf_request_dispose(req);
    return rc;
}

/* The optional "memory" object of a report: need and free, in KiB. */
static int pf_report_decode_memory(yajl_val root, struct pf_report *rep,
                                   char **why_r)
{
    const char *mpath[] = { "memory", NULL };
    yajl_val m = yajl_tree_get(root, mpath, yajl_t_any);
    uint64_t need, avail;

    if (!m) return XLMIG_OK;
    if (!YAJL_IS_OBJECT(m)) {
        *why_r = xstrdup("memory: not an object");
        return XLMIG_E_PROTO;
    }
    if (!pf_get_u64(m, "need", "memory", &need, why_r) ||
        !pf_get_u64(m, "free", "memory", &avail, why_r))
        return XLMIG_E_PROTO;
    if (need > PF_MEM_KB_MAX || avail > PF_MEM_KB_MAX) {
        *why_r = xasprintf("memory: more than %llu KiB",
                           (unsigned long long)PF_MEM_KB_MAX);
        return XLMIG_E_PROTO;
    }
    rep->mem_known = true;
    rep->mem_need_kb = need;
    rep->mem_free_kb = avail;
    return XLMIG_OK;
}

int pf_report_decode(const char *json, struct pf_report *rep, char **why_r)
{
    const char *rpath[] = { "results", NULL };
    enum xlmig_check_severity sev;
    const char *id, *sv, *msg, *rem;
    yajl_val root, results, o;
    char where[32];
    size_t i;
    int rc = XLMIG_E_PROTO;

    pf_report_init(rep);
    *why_r = NULL;
    root = pf_parse(json, "pre-flight results", why_r);
    if (!root) return XLMIG_E_PROTO;
    results = yajl_tree_get(root, rpath, yajl_t_any);
    if (!results || !YAJL_IS_ARRAY(results) ||
        YAJL_GET_ARRAY(results)->len > PF_RESULTS_MAX) {
        *why_r = xasprintf("results: not an array of at most %u",
                           PF_RESULTS_MAX);
        goto out;
    }
    for (i = 0; i < YAJL_GET_ARRAY(results)->len; i++) {
        o = YAJL_GET_ARRAY(results)->values[i];
        snprintf(where, sizeof(where), "results[%zu]", i);
        if (!YAJL_IS_OBJECT(o)) {
            *why_r = xasprintf("%s: not an object", where);
            goto out;
        }
        id = pf_get_str(o, "id", PF_ID_MAX - 1, where, why_r);
        sv = id ? pf_get_str(o, "severity", 16, where, why_r) : NULL;
        msg = sv ? pf_get_str(o, "message", PF_TEXT_MAX, where, why_r)
                 : NULL;
        rem = msg ? pf_get_str(o, "remedy", PF_TEXT_MAX, where, why_r)
                  : NULL;
        if (!rem) goto out;
        /* A newer peer may have checks we do not know: any id will do
         * that is a word of our id alphabet. */
        if (!*id || id[strspn(id, "abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:._-")]) {
            *why_r = xasprintf("%s.id: not a check id", where);
            goto out;
        }
        if (!pf_severity_parse(sv, &sev)) {
            *why_r = xasprintf("%s.severity: unknown '%s'", where, sv);
            goto out;
        }
        /* The peer's text is shown and logged: nothing in it may drive
         * a terminal (escape sequences) or forge a line. */
        pf_push(rep, true, id, sev, proto_clean_text(msg),
                proto_clean_text(rem), false);
    }
    rc = pf_report_decode_memory(root, rep, why_r);
out:
    yajl_tree_free(root);
    if (rc) pf_report_dispose(rep);
    return rc;
}
