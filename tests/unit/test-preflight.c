/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-preflight.c - pre-flight reports and checks (preflight*.c): results,
 * --force, the JSON wire form both ways (and malformed input refused with
 * the field named), disk identities, and the destination checks against a
 * fake backend whose facts each case sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "test-util.h"
#include "cpufeat.h"
#include "policy.h"
#include "preflight.h"

/* ---- a fake backend ---- */

static struct hv_host_facts fake_facts;
static int fake_facts_rc;
static uint64_t fake_need_kb;
static bool fake_bridge, fake_script, fake_pool;
static const char *fake_domain_name;    /* the one domain it has, or NULL */

static int fake_host_facts(struct hv *hv, struct hv_host_facts *f)
{
    (void)hv;
    *f = fake_facts;
    return fake_facts_rc;
}

static int fake_need_memory(struct hv *hv, const char *json, uint64_t *kb)
{
    (void)hv;
    (void)json;
    *kb = fake_need_kb;
    return XLMIG_OK;
}

static int fake_have_bridge(struct hv *hv, const char *b, bool *yes)
{
    (void)hv;
    (void)b;
    *yes = fake_bridge;
    return XLMIG_OK;
}

static int fake_have_script(struct hv *hv, const char *s, bool *yes)
{
    (void)hv;
    (void)s;
    *yes = fake_script;
    return XLMIG_OK;
}

static int fake_have_pool(struct hv *hv, const char *p, bool *yes)
{
    (void)hv;
    (void)p;
    *yes = fake_pool;
    return XLMIG_OK;
}

static int fake_lookup(struct hv *hv, const char *name, uint32_t *domid)
{
    (void)hv;
    if (!fake_domain_name || strcmp(name, fake_domain_name))
        return XLMIG_E_NOTFOUND;
    *domid = 7;
    return XLMIG_OK;
}

static int fake_list(struct hv *hv, struct hv_domain **list, size_t *n)
{
    static const uint8_t u[16] = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33,
                                   0x33, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55,
                                   0x55, 0x55 };

    (void)hv;
    *n = 0;
    *list = NULL;
    if (!fake_domain_name) return XLMIG_OK;
    *list = xcalloc(1, sizeof(**list));
    (*list)[0].domid = 7;
    (*list)[0].name = xstrdup(fake_domain_name);
    memcpy((*list)[0].info.uuid, u, 16);
    *n = 1;
    return XLMIG_OK;
}

static int fake_canonical(struct hv *hv, const char *json, char **json_r)
{
    (void)hv;
    *json_r = xstrdup(json);
    return XLMIG_OK;
}

static int fake_pci(struct hv *hv, const char *bdf, bool *yes)
{
    (void)hv;
    *yes = !strcmp(bdf, "0000:03:00.0");
    return XLMIG_OK;
}

static const struct hv_ops fake_ops = {
    .name = "fake", .lookup = fake_lookup, .list = fake_list,
    .host_facts = fake_host_facts, .need_memory = fake_need_memory,
    .have_bridge = fake_have_bridge, .have_script = fake_have_script,
    .have_cpupool = fake_have_pool, .config_canonical = fake_canonical,
    .pci_assignable = fake_pci,
};

struct pt {
    struct test_ctx t;
    struct hv hv;
    struct policy pol;
    char dir[64];
};

static int setup(void **state)
{
    struct pt *p = xcalloc(1, sizeof(*p));

    test_ctx_open(&p->t);
    policy_init(&p->pol);
    p->hv.ops = &fake_ops;
    p->hv.ctx = p->t.ctx;
    snprintf(p->dir, sizeof(p->dir), "/tmp/test-preflight.XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    memset(&fake_facts, 0, sizeof(fake_facts));
    fake_facts.xen_major = 4;
    fake_facts.xen_minor = 17;
    snprintf(fake_facts.xen_version, sizeof(fake_facts.xen_version),
             "4.17.5");
    fake_facts.cap_pv = fake_facts.cap_hvm = fake_facts.cap_hap = true;
    fake_facts.nr_cpus = 8;
    fake_facts.free_kb = 1024 * 1024;
    fake_facts.total_kb = 16 * 1024 * 1024;
    fake_facts.nr_features = 4;
    memset(fake_facts.featureset_pv, 0xff, sizeof(fake_facts.featureset_pv));
    memset(fake_facts.featureset_hvm, 0xff,
           sizeof(fake_facts.featureset_hvm));
    fake_need_kb = 66 * 1024;
    fake_bridge = fake_script = fake_pool = true;
    fake_domain_name = NULL;
    fake_facts_rc = XLMIG_OK;
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct pt *p = *state;

    if (test_rm_rf(p->dir)) return -1;
    policy_dispose(&p->pol);
    test_ctx_close(&p->t);
    free(p);
    return 0;
}

/* The severity of the first result with id (-1 if none) and its message. */
static int find(const struct pf_report *rep, const char *id,
                const char **msg_r)
{
    size_t i;

    for (i = 0; i < rep->n; i++) {
        if (strcmp(rep->r[i].id, id)) continue;
        if (msg_r) *msg_r = rep->r[i].message;
        return (int)rep->r[i].severity;
    }
    return -1;
}

/* Worst severity of all results with id. */
static int worst(const struct pf_report *rep, const char *id)
{
    int w = -1;
    size_t i;

    for (i = 0; i < rep->n; i++)
        if (!strcmp(rep->r[i].id, id) && (int)rep->r[i].severity > w)
            w = (int)rep->r[i].severity;
    return w;
}

/* ---- reports ---- */

static void test_report_force_and_errors(void **state)
{
    struct pf_report rep;
    char *ids;

    (void)state;
    pf_report_init(&rep);
    pf_add(&rep, false, "memory", XLMIG_CHECK_ERROR, "free some",
           "needs %d MiB", 512);
    pf_add(&rep, true, "paging", XLMIG_CHECK_WARNING, NULL, "shadow");
    pf_add(&rep, true, "vtpm", XLMIG_CHECK_ERROR, "x", "line one\nline two");
    pf_add(&rep, true, "memory", XLMIG_CHECK_ERROR, "y", "again");
    assert_int_equal(pf_errors(&rep), 3);
    assert_string_equal(rep.r[2].message, "line one");
    assert_string_equal(rep.r[1].remedy, "");
    ids = pf_error_ids(&rep);
    assert_string_equal(ids, "memory vtpm");
    free(ids);
    pf_force(&rep, "paging,memory");
    assert_int_equal(pf_errors(&rep), 1);
    assert_true(rep.r[0].forced && rep.r[3].forced);
    assert_false(rep.r[1].forced);     /* only errors are forced */
    pf_force(&rep, "vtp");              /* no prefix matches */
    assert_int_equal(pf_errors(&rep), 1);
    pf_report_dispose(&rep);
    assert_true(pf_id_known("cpu-features"));
    assert_true(pf_id_known("script:10-array"));
    assert_false(pf_id_known("script:"));
    assert_false(pf_id_known("cpu"));
}

static void test_report_roundtrip(void **state)
{
    struct pf_report rep, back;
    char *json, *why = NULL;

    (void)state;
    pf_report_init(&rep);
    pf_add(&rep, true, "nic-bridge", XLMIG_CHECK_ERROR, "make \"it\"",
           "vif 0 of vm\\1: bridge \xc3\xa9 missing");
    pf_add(&rep, true, "script:x_y-1", XLMIG_CHECK_INFO, NULL, "ok");
    json = pf_report_encode(&rep);
    assert_int_equal(pf_report_decode(json, &back, &why), XLMIG_OK);
    assert_int_equal(back.n, 2);
    assert_string_equal(back.r[0].id, "nic-bridge");
    assert_int_equal(back.r[0].severity, XLMIG_CHECK_ERROR);
    assert_string_equal(back.r[0].message,
                        "vif 0 of vm\\1: bridge \xc3\xa9 missing");
    assert_string_equal(back.r[0].remedy, "make \"it\"");
    assert_true(back.r[1].destination);
    pf_report_dispose(&back);
    pf_report_dispose(&rep);
    free(json);
}

/* The peer's text cannot drive the terminal it is printed on. */
static void test_report_cleans_peer_text(void **state)
{
    struct pf_report back;
    char *why = NULL;

    (void)state;
    assert_int_equal(pf_report_decode("{\"results\": [{\"id\": \"memory\", "
                                      "\"severity\": \"error\", \"message\": "
                                      "\"a\\u001b[2Jb\\nc\\u0085d\\u00e9\", "
                                      "\"remedy\": \"\\u007f\"}]}",
                                      &back, &why), XLMIG_OK);
    assert_int_equal(back.n, 1);
    assert_string_equal(back.r[0].message,
                        "a\\x1b[2Jb\\x0ac\\xc2\\x85d\xc3\xa9");
    assert_string_equal(back.r[0].remedy, "\\x7f");
    pf_report_dispose(&back);
}

static void test_report_malformed(void **state)
{
    static const struct {
        const char *json, *why;
    } cases[] = {
        { "", "not JSON: parse error: premature EOF" },
        { "[]", "not a JSON object" },
        { "{\"results\": 3}", "results: not an array" },
        { "{\"results\": [1]}", "results[0]: not an object" },
        { "{\"results\": [{\"severity\":\"error\"}]}", "results[0].id" },
        { "{\"results\": [{\"id\":\"a b\",\"severity\":\"error\","
          "\"message\":\"m\",\"remedy\":\"\"}]}", "not a check id" },
        { "{\"results\": [{\"id\":\"memory\",\"severity\":\"fatal\","
          "\"message\":\"m\",\"remedy\":\"\"}]}", "severity: unknown" },
        { "{\"results\": [{\"id\":\"memory\",\"severity\":\"info\","
          "\"message\":7,\"remedy\":\"\"}]}", "message: missing" },
        { "{\"results\": [{\"id\":\"memory\",\"severity\":\"info\","
          "\"message\":\"m\"}]}", "remedy: missing" },
    };
    struct pf_report rep;
    char *why;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        why = NULL;
        assert_int_equal(pf_report_decode(cases[i].json, &rep, &why),
                         XLMIG_E_PROTO);
        assert_non_null(why);
        if (!strstr(why, cases[i].why))
            fail_msg("case %zu: '%s' lacks '%s'", i, why, cases[i].why);
        assert_int_equal(rep.n, 0);
        free(why);
    }
}

/* The destination's memory figures travel with its results. */
static void test_report_memory_roundtrip(void **state)
{
    static const uint64_t figures[][2] = {
        { 4194304, 16777216 }, { 0, 0 }, { PF_MEM_KB_MAX, PF_MEM_KB_MAX },
        { 1, PF_MEM_KB_MAX - 1 },
    };
    struct pf_report rep, back;
    char *json, *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(figures); i++) {
        pf_report_init(&rep);
        pf_add(&rep, true, "memory", XLMIG_CHECK_INFO, NULL, "fits");
        rep.mem_known = true;
        rep.mem_need_kb = figures[i][0];
        rep.mem_free_kb = figures[i][1];
        json = pf_report_encode(&rep);
        assert_int_equal(pf_report_decode(json, &back, &why), XLMIG_OK);
        assert_null(why);
        assert_int_equal(back.n, 1);
        assert_true(back.mem_known);
        assert_int_equal(back.mem_need_kb, figures[i][0]);
        assert_int_equal(back.mem_free_kb, figures[i][1]);
        pf_report_dispose(&back);
        assert_false(back.mem_known);
        pf_report_dispose(&rep);
        free(json);
    }
}

/* Without figures there is no "memory" object, and none decodes as
 * unknown: what an older peer sends. */
static void test_report_memory_absent(void **state)
{
    struct pf_report rep, back;
    char *json, *why = NULL;

    (void)state;
    pf_report_init(&rep);
    rep.mem_need_kb = 5;                /* not known: not sent */
    json = pf_report_encode(&rep);
    assert_null(strstr(json, "memory"));
    assert_int_equal(pf_report_decode(json, &back, &why), XLMIG_OK);
    assert_false(back.mem_known);
    assert_int_equal(back.mem_need_kb, 0);
    assert_int_equal(back.mem_free_kb, 0);
    pf_report_dispose(&back);
    free(json);
    assert_int_equal(pf_report_decode("{\"results\": [{\"id\": \"memory\", "
                                      "\"severity\": \"error\", "
                                      "\"message\": \"m\", \"remedy\": "
                                      "\"\"}]}", &back, &why), XLMIG_OK);
    assert_int_equal(back.n, 1);
    assert_false(back.mem_known);
    pf_report_dispose(&back);
    /* Keys of a newer peer's report are ignored, as before. */
    assert_int_equal(pf_report_decode("{\"results\": [], \"mem\": 1, "
                                      "\"memory2\": {}}", &back, &why),
                     XLMIG_OK);
    assert_false(back.mem_known);
    pf_report_dispose(&back);
}

static void test_report_memory_hostile(void **state)
{
    static const char *const cases[] = {
        "\"memory\": \"4096\"",
        "\"memory\": [\"1\", \"2\"]",
        "\"memory\": 7",
        "\"memory\": null",
        "\"memory\": true",
        "\"memory\": {}",
        "\"memory\": {\"need\": \"1\"}",
        "\"memory\": {\"free\": \"1\"}",
        "\"memory\": {\"need\": \"-1\", \"free\": \"1\"}",
        "\"memory\": {\"need\": \"1\", \"free\": \"-5\"}",
        "\"memory\": {\"need\": \"0x10\", \"free\": \"1\"}",
        "\"memory\": {\"need\": \"12a\", \"free\": \"1\"}",
        "\"memory\": {\"need\": \"1e3\", \"free\": \"1\"}",
        "\"memory\": {\"need\": \"1.5\", \"free\": \"1\"}",
        "\"memory\": {\"need\": \"\", \"free\": \"1\"}",
        "\"memory\": {\"need\": 1, \"free\": 1}",
        "\"memory\": {\"need\": \"1\", \"free\": null}",
        "\"memory\": {\"need\": {}, \"free\": \"1\"}",
        /* 2^40 + 1, and beyond what a uint64_t holds. */
        "\"memory\": {\"need\": \"1099511627777\", \"free\": \"1\"}",
        "\"memory\": {\"need\": \"1\", \"free\": \"1099511627777\"}",
        "\"memory\": {\"need\": \"1\", "
        "\"free\": \"18446744073709551616\"}",
        "\"memory\": {\"need\": \"18446744073709551615\", "
        "\"free\": \"1\"}",
        "\"memory\": {\"need\": \"000000000000000000001\", "
        "\"free\": \"1\"}",
    };
    struct pf_report rep;
    char *json, *why;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        why = NULL;
        json = xasprintf("{\"results\": [{\"id\": \"memory\", "
                         "\"severity\": \"info\", \"message\": \"m\", "
                         "\"remedy\": \"\"}], %s}", cases[i]);
        if (pf_report_decode(json, &rep, &why) != XLMIG_E_PROTO)
            fail_msg("case %zu accepted: %s", i, json);
        assert_non_null(why);
        if (!strstr(why, "memory"))
            fail_msg("case %zu: '%s' does not name memory", i, why);
        assert_int_equal(rep.n, 0);
        assert_false(rep.mem_known);
        free(why);
        free(json);
    }
}

/* ---- requests ---- */

static void test_request_roundtrip(void **state)
{
    struct pt *p = *state;
    struct pf_request req, back;
    char *json, *why = NULL, path[96];
    FILE *f;

    memset(&req, 0, sizeof(req));
    snprintf(path, sizeof(path), "%s/disk.img", p->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("some disk data", f);
    fclose(f);
    req.config = xstrdup("{\"c_info\":{\"name\":\"vm\"}}");
    snprintf(req.xen_version, sizeof(req.xen_version), "4.17.5");
    snprintf(req.source, sizeof(req.source), "hosta");
    req.nr_features = 3;
    req.featureset[0] = 0x178bfbff;
    req.featureset[2] = 0xdeadbeef;
    req.disks = xcalloc(2, sizeof(*req.disks));
    req.n_disks = 2;
    pf_disk_ident_get(path, &req.disks[0]);
    pf_disk_ident_get("/nonexistent/disk", &req.disks[1]);
    assert_int_equal(req.disks[0].kind, PF_DISK_FILE);
    assert_int_equal(req.disks[0].size, 14);
    assert_int_equal(req.disks[1].kind, PF_DISK_MISSING);
    json = pf_request_encode(&req);
    assert_int_equal(pf_request_decode(json, &back, &why), XLMIG_OK);
    assert_string_equal(back.config, req.config);
    assert_int_equal(back.xen_major, 4);
    assert_int_equal(back.xen_minor, 17);
    assert_int_equal(back.nr_features, 3);
    assert_int_equal(back.featureset[2], 0xdeadbeef);
    assert_int_equal(back.n_disks, 2);
    assert_string_equal(back.disks[0].path, path);
    assert_int_equal(back.disks[0].ino, req.disks[0].ino);
    assert_int_equal(back.disks[0].sample, req.disks[0].sample);
    assert_int_equal(back.disks[1].kind, PF_DISK_MISSING);
    pf_request_dispose(&back);
    pf_request_dispose(&req);
    free(json);
}

static void test_request_malformed(void **state)
{
    static const struct {
        const char *json, *why;
    } cases[] = {
        { "{", "not JSON: parse error: premature EOF" },
        { "{\"source\":\"a\"}", "request.xen_version" },
        { "{\"source\":\"a\",\"xen_version\":\"four\"}", "not N.N" },
        { "{\"source\":\"a\\u001b[2J\"}", "source: not printable" },
        { "{\"source\":\"a\",\"xen_version\":\"4.17\",\"featureset\":\"xyz\"}",
          "featureset" },
        { "{\"source\":\"a\",\"xen_version\":\"4.17\",\"featureset\":\"\","
          "\"disks\":{}}", "request.disks" },
        { "{\"source\":\"a\",\"xen_version\":\"4.17\",\"featureset\":\"\","
          "\"disks\":[{\"path\":\"/x\",\"kind\":\"tape\"}]}",
          "disks[0].kind" },
        { "{\"source\":\"a\",\"xen_version\":\"4.17\",\"featureset\":\"\","
          "\"disks\":[{\"path\":\"/x\",\"kind\":\"file\",\"size\":\"-1\","
          "\"ino\":\"1\",\"sample\":\"1\"}]}", "disks[0].size" },
        { "{\"source\":\"a\",\"xen_version\":\"4.17\",\"featureset\":\"\","
          "\"disks\":[]}", "request.config" },
    };
    struct pf_request req;
    char *why;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        why = NULL;
        assert_int_equal(pf_request_decode(cases[i].json, &req, &why),
                         XLMIG_E_PROTO);
        assert_non_null(why);
        if (!strstr(why, cases[i].why))
            fail_msg("case %zu: '%s' lacks '%s'", i, why, cases[i].why);
        assert_null(req.config);
        free(why);
    }
}

/* ---- destination checks ---- */

static void dest(struct pt *p, const char *config, struct pf_request *req,
                 struct pf_report *rep)
{
    if (!req->config) {
        req->config = xstrdup(config);
        snprintf(req->xen_version, sizeof(req->xen_version), "4.17.5");
        req->xen_major = 4;
        req->xen_minor = 17;
        req->nr_features = 4;
        req->featureset[1] = 0x1;
    }
    pf_report_init(rep);
    assert_int_equal(pf_dest_checks(p->t.ctx, &p->hv, &p->pol, req, rep),
                     XLMIG_OK);
}

#define CFG_PVH "{\"c_info\":{\"type\":\"pvh\",\"name\":\"vm1\"," \
    "\"uuid\":\"11111111-2222-3333-4444-555555555555\"},\"b_info\":" \
    "{\"max_vcpus\":1,\"max_memkb\":65536,\"target_memkb\":65536}}"

static void test_dest_passes(void **state)
{
    struct pt *p = *state;
    struct pf_request req = { 0 };
    struct pf_report rep;

    dest(p, CFG_PVH, &req, &rep);
    assert_int_equal(pf_errors(&rep), 0);
    assert_int_equal(find(&rep, "memory", NULL), XLMIG_CHECK_INFO);
    assert_int_equal(find(&rep, "paging", NULL), XLMIG_CHECK_INFO);
    assert_int_equal(find(&rep, "cpu-features", NULL), XLMIG_CHECK_INFO);
    assert_int_equal(find(&rep, "uuid-free", NULL), XLMIG_CHECK_INFO);
    pf_report_dispose(&rep);
    pf_request_dispose(&req);
}

static void test_dest_failures(void **state)
{
    struct pt *p = *state;
    struct pf_request req = { 0 };
    struct pf_report rep;
    const char *msg = NULL;

    fake_facts.xen_minor = 16;
    snprintf(fake_facts.xen_version, sizeof(fake_facts.xen_version),
             "4.16.2");
    fake_facts.cap_hap = false;
    fake_facts.featureset_hvm[1] = 0;       /* lacks what the guest has */
    fake_facts.free_kb = 32 * 1024;
    fake_pool = false;
    fake_domain_name = "vm1";
    dest(p, CFG_PVH, &req, &rep);
    assert_int_equal(find(&rep, "xen-version", &msg), XLMIG_CHECK_ERROR);
    assert_non_null(strstr(msg, "4.16.2"));
    assert_int_equal(find(&rep, "paging", NULL), XLMIG_CHECK_ERROR);
    assert_int_equal(find(&rep, "cpu-features", &msg), XLMIG_CHECK_ERROR);
    assert_non_null(strstr(msg, "sse3"));
    assert_int_equal(find(&rep, "memory", &msg), XLMIG_CHECK_ERROR);
    assert_non_null(strstr(msg, "needs 66 MiB"));
    assert_int_equal(find(&rep, "cpupool", NULL), XLMIG_CHECK_ERROR);
    assert_int_equal(find(&rep, "name-free", NULL), XLMIG_CHECK_ERROR);
    assert_int_equal(find(&rep, "uuid-free", NULL), XLMIG_CHECK_ERROR);
    pf_report_dispose(&rep);
    /* Ballooning dom0 down makes the room: a warning. */
    fake_facts.autoballoon = true;
    fake_facts.dom0_kb = 2048 * 1024;
    fake_facts.dom0_min_kb = 512 * 1024;
    /* Shadow paging instead of HAP: a warning for hap=default. */
    fake_facts.cap_shadow = true;
    dest(p, CFG_PVH, &req, &rep);
    assert_int_equal(find(&rep, "memory", NULL), XLMIG_CHECK_WARNING);
    assert_int_equal(find(&rep, "paging", NULL), XLMIG_CHECK_WARNING);
    pf_report_dispose(&rep);
    pf_request_dispose(&req);
}

static void test_dest_devices(void **state)
{
    struct pt *p = *state;
    struct pf_request req = { 0 };
    struct pf_report rep;
    char *cfg, path[96];
    const char *msg = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "%s/d.img", p->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("source data", f);
    fclose(f);
    cfg = xasprintf("{\"c_info\":{\"type\":\"pv\",\"name\":\"vm2\"},"
                    "\"b_info\":{\"max_vcpus\":2,\"max_memkb\":65536,"
                    "\"vcpu_hard_affinity\":[[0,1],[12,13]]},"
                    "\"disks\":[{\"pdev_path\":\"%s\",\"vdev\":\"xvda\","
                    "\"backend\":\"qdisk\"},{\"pdev_path\":\"%s.gone\","
                    "\"vdev\":\"xvdb\",\"backend\":\"tap\"}],"
                    "\"nics\":[{\"devid\":0,\"bridge\":\"xenbr7\"}]}",
                    path, path);
    req.disks = xcalloc(1, sizeof(*req.disks));
    req.n_disks = 1;
    pf_disk_ident_get(path, &req.disks[0]);
    fake_bridge = false;
    dest(p, cfg, &req, &rep);
    assert_int_equal(worst(&rep, "vcpu-affinity"), XLMIG_CHECK_ERROR);
    assert_int_equal(find(&rep, "vcpu-affinity", &msg), XLMIG_CHECK_ERROR);
    assert_non_null(strstr(msg, "vCPU 1 of domain vm2"));
    assert_int_equal(worst(&rep, "disk-backend"), XLMIG_CHECK_ERROR);
    assert_int_equal(worst(&rep, "disk-visible"), XLMIG_CHECK_ERROR);
    assert_int_equal(find(&rep, "disk-storage", NULL), XLMIG_CHECK_INFO);
    assert_int_equal(find(&rep, "nic-bridge", &msg), XLMIG_CHECK_ERROR);
    assert_non_null(strstr(msg, "xenbr7"));
    pf_report_dispose(&rep);
    /* Same path, same size, other data: not the same storage. */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("other data!", f);
    fclose(f);
    dest(p, cfg, &req, &rep);
    assert_int_equal(find(&rep, "disk-storage", &msg), XLMIG_CHECK_ERROR);
    assert_non_null(strstr(msg, "not the source's disk"));
    pf_report_dispose(&rep);
    pf_request_dispose(&req);
    free(cfg);
}

/* Facts it cannot read: an error the sender may force, and the checks
 * that do not need them still run; but the incoming policy cannot check
 * the memory without them, and it and the name checks are this host's
 * own, which no sender can force. */
static void test_dest_facts_unreadable(void **state)
{
    struct pt *p = *state;
    struct pf_request req = { 0 };
    struct pf_report rep;
    char *ids;

    fake_facts_rc = XLMIG_E_HV;
    fake_domain_name = "vm1";
    dest(p, CFG_PVH, &req, &rep);
    assert_int_equal(find(&rep, "host-facts", NULL), XLMIG_CHECK_ERROR);
    assert_int_equal(find(&rep, "memory", NULL), -1);
    assert_int_equal(find(&rep, "cpu-features", NULL), -1);
    assert_int_equal(find(&rep, "name-free", NULL), XLMIG_CHECK_ERROR);
    pf_force(&rep, "host-facts,name-free,uuid-free,incoming-policy");
    ids = pf_error_ids(&rep);
    assert_string_equal(ids, "incoming-policy name-free uuid-free");
    free(ids);
    assert_int_equal(pf_errors(&rep), 3);
    pf_report_dispose(&rep);
    pf_request_dispose(&req);
}

static void test_dest_bad_config(void **state)
{
    struct pt *p = *state;
    struct pf_request req = { 0 };
    struct pf_report rep;

    req.config = xstrdup("{\"c_info\": 3}");
    snprintf(req.xen_version, sizeof(req.xen_version), "4.17");
    pf_report_init(&rep);
    assert_int_equal(pf_dest_checks(p->t.ctx, &p->hv, &p->pol, &req, &rep),
                     XLMIG_E_PROTO);
    assert_int_equal(rep.n, 0);
    pf_request_dispose(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_force_and_errors),
        cmocka_unit_test(test_report_roundtrip),
        cmocka_unit_test(test_report_malformed),
        cmocka_unit_test(test_report_cleans_peer_text),
        cmocka_unit_test(test_report_memory_roundtrip),
        cmocka_unit_test(test_report_memory_absent),
        cmocka_unit_test(test_report_memory_hostile),
        cmocka_unit_test_setup_teardown(test_request_roundtrip, setup,
                                        teardown),
        cmocka_unit_test(test_request_malformed),
        cmocka_unit_test_setup_teardown(test_dest_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dest_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dest_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dest_facts_unreadable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dest_bad_config, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
