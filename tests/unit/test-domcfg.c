/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-domcfg.c - libxl JSON domain configs (domcfg.c): minimal and full
 * configs of each guest type, the `xl list -l` forms, lab captures, and
 * malformed input refused with the offending field named in why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "domcfg.h"

#define TEST_FILE_MAX (8u << 20)

static char *read_data(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t len;

    if (!f) fail_msg("cannot open %s", path);
    buf = malloc(TEST_FILE_MAX + 1);
    assert_non_null(buf);
    len = fread(buf, 1, TEST_FILE_MAX, f);
    assert_false(ferror(f));
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static void parse_file(const char *name, struct domcfg *c)
{
    char *path = xasprintf("%s/%s", TEST_DATA_DIR, name);
    char *json = read_data(path);
    char *why = NULL;
    int rc;

    memset(c, 0, sizeof(*c));
    rc = domcfg_parse(json, c, &why);
    if (rc) fail_msg("%s: %s", name, why);
    assert_null(why);
    free(json);
    free(path);
}

static void assert_cpus(const struct domcfg_cpumap *m, size_t n,
                        const unsigned *cpus)
{
    size_t i;

    assert_int_equal(m->n, n);
    for (i = 0; i < n; i++)
        assert_int_equal(m->cpus[i], cpus[i]);
}

static void test_minimal_config_gets_libxl_defaults(void **state)
{
    struct domcfg c;

    (void)state;
    parse_file("cfg-minimal.json", &c);
    assert_string_equal(c.name, "minimal");
    assert_int_equal(c.type, DOMCFG_PV);
    assert_string_equal(c.uuid, "");
    assert_int_equal(c.hap, DOMCFG_DEFAULT);
    assert_null(c.pool_name);
    assert_true(c.max_memkb == 32 * 1024);
    assert_true(c.target_memkb == c.max_memkb);
    assert_int_equal(c.max_vcpus, 1);
    assert_int_equal(c.n_hard, 0);
    assert_int_equal(c.n_soft, 0);
    assert_false(c.disable_migrate);
    assert_false(c.stubdom);
    assert_null(c.tsc_mode);
    assert_int_equal(c.n_disks + c.n_nics + c.n_pci + c.n_vtpms, 0);
    assert_int_equal(c.n_vnuma_nodes, 0);
    domcfg_dispose(&c);
    domcfg_dispose(&c);                 /* idempotent */
}

static void test_full_pv_config(void **state)
{
    static const unsigned cpus23[] = { 2, 3 }, cpus47[] = { 4, 5, 6, 7 };
    static const unsigned cpu3[] = { 3 };
    struct domcfg c;

    (void)state;
    parse_file("cfg-pv-full.json", &c);
    assert_string_equal(c.name, "web-01");
    assert_int_equal(c.type, DOMCFG_PV);
    assert_string_equal(c.uuid, "6f2a4c1e-0b8d-4e7a-9c3f-1d2e3f4a5b6c");
    assert_int_equal(c.hap, DOMCFG_FALSE);
    assert_string_equal(c.pool_name, "pool-fast");
    assert_true(c.max_memkb == 2097152);
    assert_true(c.target_memkb == 1048576);
    assert_int_equal(c.max_vcpus, 4);
    assert_int_equal(c.n_hard, 4);
    assert_cpus(&c.hard_affinity[0], 2, cpus23);
    assert_cpus(&c.hard_affinity[3], 4, cpus47);
    assert_int_equal(c.n_soft, 2);
    assert_cpus(&c.soft_affinity[1], 1, cpu3);
    assert_true(c.disable_migrate);
    assert_false(c.stubdom);
    assert_string_equal(c.tsc_mode, "native");

    assert_int_equal(c.n_disks, 3);
    assert_string_equal(c.disks[0].pdev_path, "/dev/vg0/web-01-root");
    assert_string_equal(c.disks[0].vdev, "xvda");
    assert_string_equal(c.disks[0].backend, "phy");
    assert_string_equal(c.disks[0].format, "raw");
    assert_string_equal(c.disks[0].script, "block");
    assert_null(c.disks[0].backend_domname);
    assert_true(c.disks[0].readwrite);
    assert_false(c.disks[0].is_cdrom);
    assert_string_equal(c.disks[1].backend, "qdisk");
    assert_string_equal(c.disks[1].format, "qcow2");
    assert_null(c.disks[1].script);
    assert_string_equal(c.disks[2].backend_domname, "stor-dd");
    assert_false(c.disks[2].readwrite);

    assert_int_equal(c.n_nics, 2);
    assert_int_equal(c.nics[0].devid, 0);
    assert_string_equal(c.nics[0].bridge, "xenbr1");
    assert_string_equal(c.nics[0].script, "vif-bridge");
    assert_string_equal(c.nics[0].mac, "00:16:3e:5a:10:01");
    assert_null(c.nics[0].ip);
    assert_int_equal(c.nics[1].devid, 1);
    assert_string_equal(c.nics[1].ip, "192.0.2.17");
    assert_null(c.nics[1].bridge);      /* routed: libxl default bridge */
    assert_string_equal(c.nics[1].script, "/etc/xen/scripts/vif-route");
    assert_null(c.nics[1].backend_domname);

    assert_int_equal(c.n_pci, 2);
    assert_string_equal(c.pci[0], "0000:03:00.1");  /* zeros omitted */
    assert_string_equal(c.pci[1], "0001:82:1f.0");
    assert_int_equal(c.n_vtpms, 1);
    assert_int_equal(c.n_usbdevs + c.n_usbctrls + c.n_dtdevs, 0);
    domcfg_dispose(&c);
}

static void test_full_hvm_config(void **state)
{
    static const unsigned cpus8[] = { 8, 9, 10, 11, 12, 13, 14, 15 };
    static const unsigned cpu9[] = { 9 };
    struct domcfg c;

    (void)state;
    parse_file("cfg-hvm-full.json", &c);
    assert_string_equal(c.name, "win-build");
    assert_int_equal(c.type, DOMCFG_HVM);
    assert_string_equal(domcfg_type_name(c.type), "hvm");
    assert_int_equal(c.hap, DOMCFG_FALSE);
    assert_string_equal(c.pool_name, "Pool-0");
    assert_true(c.stubdom);
    assert_false(c.disable_migrate);
    assert_int_equal(c.n_hard, 4);
    assert_cpus(&c.hard_affinity[2], 8, cpus8);
    assert_int_equal(c.n_soft, 4);
    assert_cpus(&c.soft_affinity[3], 1, cpu9);
    assert_int_equal(c.n_vnuma_nodes, 2);

    assert_int_equal(c.n_disks, 2);
    assert_string_equal(c.disks[0].format, "vhd");
    assert_false(c.disks[0].is_cdrom);
    assert_null(c.disks[1].pdev_path);  /* empty CD-ROM drive */
    assert_string_equal(c.disks[1].vdev, "hdc");
    assert_string_equal(c.disks[1].format, "empty");
    assert_true(c.disks[1].is_cdrom);
    assert_false(c.disks[1].readwrite);

    assert_int_equal(c.n_nics, 1);
    assert_string_equal(c.nics[0].bridge, "xenbr0");
    assert_null(c.nics[0].script);
    assert_int_equal(c.n_usbctrls, 1);
    assert_int_equal(c.n_usbdevs, 2);
    assert_int_equal(c.n_pci + c.n_vtpms, 0);
    domcfg_dispose(&c);
}

static void test_xl_list_array_form(void **state)
{
    struct domcfg c;

    (void)state;
    parse_file("cfg-xl-list-pvh.json", &c);
    assert_string_equal(c.name, "pvh-guest");
    assert_int_equal(c.type, DOMCFG_PVH);
    assert_int_equal(c.hap, DOMCFG_TRUE);
    assert_string_equal(c.uuid, "3c9d2e71-5a4b-4f0e-8d6c-2b1a09f8e7d6");
    assert_int_equal(c.max_vcpus, 2);
    assert_true(c.max_memkb == 1048576);
    assert_int_equal(c.n_disks, 1);
    assert_string_equal(c.disks[0].pdev_path, "/dev/vg0/pvh-guest");
    assert_int_equal(c.n_nics, 1);
    domcfg_dispose(&c);
}

static void test_xl_list_element_form(void **state)
{
    static const char *const forms[] = {
        "{\"domid\": 5, \"config\": {\"c_info\": {\"type\": \"pvh\", "
        "\"name\": \"el\"}, \"b_info\": {\"max_memkb\": 65536}}}",
        "{\"domid\": null, \"config\": {\"c_info\": {\"type\": \"pvh\", "
        "\"name\": \"el\"}, \"b_info\": {\"max_memkb\": 65536}}}",
        "[{\"config\": {\"c_info\": {\"type\": \"pvh\", \"name\": \"el\"},"
        " \"b_info\": {\"max_memkb\": 65536}}}]",
    };
    struct domcfg c;
    char *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(forms); i++) {
        memset(&c, 0, sizeof(c));
        if (domcfg_parse(forms[i], &c, &why))
            fail_msg("form %zu: %s", i, why);
        assert_string_equal(c.name, "el");
        assert_int_equal(c.type, DOMCFG_PVH);
        assert_true(c.max_memkb == 65536);
        assert_true(c.target_memkb == 65536);
        domcfg_dispose(&c);
    }
}

static void test_type_may_come_from_b_info(void **state)
{
    const char *json = "{\"c_info\": {\"name\": \"old\"}, "
                       "\"b_info\": {\"type.hvm\": {}}}";
    struct domcfg c;
    char *why = NULL;

    (void)state;
    memset(&c, 0, sizeof(c));
    assert_int_equal(domcfg_parse(json, &c, &why), XLMIG_OK);
    assert_int_equal(c.type, DOMCFG_HVM);
    domcfg_dispose(&c);
}

/* One malformed input and the start of the why it must give. */
struct bad_case {
    const char *json;
    const char *why;
};

#define HEAD "{\"c_info\": {\"type\": \"pv\", \"name\": \"g\"}"
#define CFG(ci, rest) \
    "{\"c_info\": {\"type\": \"pv\", \"name\": \"g\"" ci "}" rest "}"
#define BINFO(x) CFG("", ", \"b_info\": {" x "}")

static const struct bad_case bad_cases[] = {
    { "{\"c_info\": {\"type\": \"pv\", \"name\": ", "config: not JSON" },
    { "", "config: not JSON" },
    { CFG("", ", \"b_info\": {}") " trailing", "config: not JSON" },
    { "\"c_info\"", "config: not an object" },
    { "[]", "config: array of 0 domains" },
    { "[" CFG("", "") ", " CFG("", "") "]", "config: array of 2 domains" },
    { "[" CFG("", "") "]", "[0].config: missing" },
    { "{\"domid\": \"x\", \"config\": {}}", "domid: not a domain id" },
    { "{\"domid\": 1, \"config\": []}", "config: not an object" },
    { "{\"b_info\": {}}", "c_info: missing" },
    { "{\"c_info\": []}", "c_info: not an object" },
    { "{\"c_info\": {\"type\": \"pv\", \"name\": 7}}",
      "c_info.name: not a string" },
    { "{\"c_info\": {\"type\": \"pv\"}}", "c_info.name: missing or empty" },
    { "{\"c_info\": {\"type\": \"pv\", \"name\": \"\"}}",
      "c_info.name: missing or empty" },
    { "{\"c_info\": {\"type\": \"pv\", \"name\": \"a/b\"}}",
      "c_info.name: holds a control character" },
    { "{\"c_info\": {\"type\": \"pv\", \"name\": \"a\\u0000b\"}}",
      "config: a string holds \\u0000" },
    { "{\"c_info\": {\"type\": \"pv\", \"name\": \"a\", \"name\": \"b\"}}",
      "c_info.name: given twice" },
    { "{\"c_info\": {\"type\": \"xen\", \"name\": \"g\"}}",
      "c_info.type: unknown value" },
    { "{\"c_info\": {\"type\": 2, \"name\": \"g\"}}",
      "c_info.type: not a string" },
    { "{\"c_info\": {\"name\": \"g\"}}", "c_info.type: missing" },
    { CFG(", \"uuid\": \"not-a-uuid\"", ""), "c_info.uuid: not a UUID" },
    { CFG(", \"uuid\": \"6f2a4c1e-0b8d-4e7a-9c3f-1d2e3f4a5b6g\"", ""),
      "c_info.uuid: not a UUID" },
    { CFG(", \"uuid\": \"6f2a4c1e0b8d-4e7a-9c3f-1d2e3f4a5b6c0\"", ""),
      "c_info.uuid: not a UUID" },
    { CFG(", \"hap\": true", ""), "c_info.hap: not a string" },
    { CFG(", \"pool_name\": [\"a\"]", ""), "c_info.pool_name: not a string" },
    { CFG("", ", \"b_info\": 1"), "b_info: not an object" },
    { BINFO("\"max_memkb\": -1"), "b_info.max_memkb: negative" },
    { BINFO("\"max_memkb\": 1.5"), "b_info.max_memkb: not an integer" },
    { BINFO("\"max_memkb\": \"1024\""), "b_info.max_memkb: not an integer" },
    { BINFO("\"max_memkb\": 18446744073709551615"),
      "b_info.max_memkb: not an integer" },
    { BINFO("\"target_memkb\": null"), "b_info.target_memkb: not an integer" },
    { BINFO("\"max_vcpus\": 4097"), "b_info.max_vcpus: over 4096" },
    { BINFO("\"max_vcpus\": -2"), "b_info.max_vcpus: negative" },
    { BINFO("\"avail_vcpus\": [0, 0]"),
      "b_info.avail_vcpus[1]: not in increasing order" },
    { BINFO("\"vcpu_hard_affinity\": {}"),
      "b_info.vcpu_hard_affinity: not an array" },
    { BINFO("\"vcpu_hard_affinity\": [[0], [\"1\"]]"),
      "b_info.vcpu_hard_affinity[1][0]: not an integer" },
    { BINFO("\"vcpu_hard_affinity\": [[0], 1]"),
      "b_info.vcpu_hard_affinity[1]: not an array" },
    { BINFO("\"vcpu_soft_affinity\": [[3, 2]]"),
      "b_info.vcpu_soft_affinity[0][1]: not in increasing order" },
    { BINFO("\"vcpu_soft_affinity\": [[0, 4096]]"),
      "b_info.vcpu_soft_affinity[0][1]: over 4095" },
    { BINFO("\"disable_migrate\": \"yes\""),
      "b_info.disable_migrate: unknown value" },
    { BINFO("\"device_model_stubdomain\": 1"),
      "b_info.device_model_stubdomain: not a string" },
    { BINFO("\"tsc_mode\": \"fast\""), "b_info.tsc_mode: unknown value" },
    { BINFO("\"vnuma_nodes\": [{\"memkb\": -4}]"),
      "b_info.vnuma_nodes[0].memkb: negative" },
    { BINFO("\"vnuma_nodes\": [{}, 3]"),
      "b_info.vnuma_nodes[1]: not an object" },
    { BINFO("\"vnuma_nodes\": [{\"distances\": [10, -1]}]"),
      "b_info.vnuma_nodes[0].distances[1]: negative" },
    { BINFO("\"type.hvm\": {}"), "b_info: type.hvm does not match" },
    { BINFO("\"type.pv\": {}, \"type.pvh\": {}"),
      "b_info.type.pvh: second type.* member" },
    { BINFO("\"type.pv\": []"), "b_info.type.pv: not an object" },
    { BINFO("\"type.arm\": {}"), "b_info.type.arm: unknown type" },
    { CFG("", ", \"disks\": {}"), "disks: not an array" },
    { CFG("", ", \"disks\": [{}, {}, {\"pdev_path\": 5}]"),
      "disks[2].pdev_path: not a string" },
    { CFG("", ", \"disks\": [\"xvda\"]"), "disks[0]: not an object" },
    { CFG("", ", \"disks\": [{\"backend\": \"iscsi\"}]"),
      "disks[0].backend: unknown value" },
    { CFG("", ", \"disks\": [{\"format\": \"vmdk\"}]"),
      "disks[0].format: unknown value" },
    { CFG("", ", \"disks\": [{\"readwrite\": 2}]"),
      "disks[0].readwrite: over 1" },
    { CFG("", ", \"disks\": [{\"is_cdrom\": true}]"),
      "disks[0].is_cdrom: not an integer" },
    { CFG("", ", \"nics\": [{\"devid\": -2}]"), "nics[0].devid: negative" },
    { CFG("", ", \"nics\": [{}, {\"mac\": \"00:16:3e:zz:00:01\"}]"),
      "nics[1].mac: not a MAC address" },
    { CFG("", ", \"nics\": [{\"bridge\": false}]"),
      "nics[0].bridge: not a string" },
    { CFG("", ", \"nics\": [{}, {\"ip\": [\"192.0.2.1\"]}]"),
      "nics[1].ip: not a string" },
    { CFG("", ", \"pcidevs\": [{\"func\": 8}]"), "pcidevs[0].func: over 7" },
    { CFG("", ", \"pcidevs\": [{\"bus\": 256}]"), "pcidevs[0].bus: over 255" },
    { CFG("", ", \"pcidevs\": [{\"domain\": -1}]"),
      "pcidevs[0].domain: negative" },
    { CFG("", ", \"vtpms\": {}"), "vtpms: not an array" },
    { CFG("", ", \"usbdevs\": [{}, 1]"), "usbdevs[1]: not an object" },
    { CFG("", ", \"vfbs\": \"none\""), "vfbs: not an array" },
};

static void check_bad(const char *json, const char *want)
{
    struct domcfg c;
    char *why = NULL;
    int rc;

    memset(&c, 0, sizeof(c));
    rc = domcfg_parse(json, &c, &why);
    if (rc != XLMIG_E_INVAL || !why || strncmp(why, want, strlen(want)))
        fail_msg("input %.200s\n  rc %d, why \"%s\", wanted \"%s\"", json,
                 rc, why ? why : "(null)", want);
    assert_null(strchr(why, '\n'));
    assert_null(c.name);                /* disposed of on failure */
    assert_null(c.disks);
    free(why);
}

static void test_malformed_input_names_the_field(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(bad_cases); i++)
        check_bad(bad_cases[i].json, bad_cases[i].why);
}

/* PREFIX, then N copies of ITEM joined by SEP, then SUFFIX. */
static char *repeat(const char *prefix, const char *item, const char *sep,
                    size_t n, const char *suffix)
{
    size_t len = strlen(prefix) + n * (strlen(item) + strlen(sep)) +
                 strlen(suffix) + 1;
    char *s = malloc(len), *p;
    size_t i;

    assert_non_null(s);
    p = stpcpy(s, prefix);
    for (i = 0; i < n; i++) {
        p = stpcpy(p, item);
        if (i + 1 < n) p = stpcpy(p, sep);
    }
    stpcpy(p, suffix);
    return s;
}

static void test_oversized_input_is_refused(void **state)
{
    char *s, *name;

    (void)state;
    s = repeat(HEAD ", \"disks\": [", "{}", ",", 257, "]}");
    check_bad(s, "disks: 257 entries, over 256");
    free(s);
    s = repeat(HEAD ", \"b_info\": {\"vcpu_hard_affinity\": [", "[0]", ",",
               4097, "]}}");
    check_bad(s, "b_info.vcpu_hard_affinity: 4097 entries, over 4096");
    free(s);
    s = repeat(HEAD ", \"usbctrls\": [", "{}", ",", 300, "]}");
    check_bad(s, "usbctrls: 300 entries, over 256");
    free(s);
    name = repeat("", "n", "", 129, "");
    s = xasprintf("{\"c_info\": {\"type\": \"pv\", \"name\": \"%s\"}}", name);
    check_bad(s, "c_info.name: longer than 128 bytes");
    free(s);
    free(name);
    name = repeat("", "192.0.2.1 ", "", 103, "");
    s = xasprintf(CFG("", ", \"nics\": [{\"ip\": \"%s\"}]"), name);
    check_bad(s, "nics[0].ip: longer than 1024 bytes");
    free(s);
    free(name);
    name = repeat("/", "p", "", 4096, "");
    s = xasprintf(CFG("", ", \"disks\": [{\"pdev_path\": \"%s\"}]"), name);
    check_bad(s, "disks[0].pdev_path: longer than 4096 bytes");
    free(s);
    free(name);
    s = repeat("", "[", "", 10000, "");
    check_bad(s, "config: nested deeper than");
    free(s);
    s = repeat(HEAD ", \"b_info\": {\"type.pv\": ", "{\"a\":", "", 40,
               "1");
    check_bad(s, "config: nested deeper than");
    free(s);
    s = repeat("\"", "x", "", (4u << 20) + 1, "\"");
    check_bad(s, "config: over");
    free(s);
}

static void test_limits_themselves_are_accepted(void **state)
{
    struct domcfg c;
    char *s, *why = NULL;

    (void)state;
    s = repeat(HEAD ", \"disks\": [", "{\"vdev\": \"xvda\"}", ",", 256,
               "]}");
    memset(&c, 0, sizeof(c));
    if (domcfg_parse(s, &c, &why)) fail_msg("%s", why);
    assert_int_equal(c.n_disks, 256);
    domcfg_dispose(&c);
    free(s);
    s = repeat(HEAD ", \"b_info\": {\"max_vcpus\": 4096, "
               "\"vcpu_hard_affinity\": [", "[0, 4095]", ",", 4096,
               "]}}");
    memset(&c, 0, sizeof(c));
    if (domcfg_parse(s, &c, &why)) fail_msg("%s", why);
    assert_int_equal(c.n_hard, 4096);
    assert_int_equal(c.hard_affinity[4095].cpus[1], 4095);
    domcfg_dispose(&c);
    free(s);
}

/*
 * Captures from real guests (`xl list -l <guest>` on the lab's Xen), added
 * as tests/data/lab-*.json; each must parse into something sensible.
 */
static void test_lab_captures_parse(void **state)
{
    struct domcfg c;
    glob_t g;
    char *json, *why = NULL;
    size_t i;
    int r;

    (void)state;
    r = glob(TEST_DATA_DIR "/lab-*.json", 0, NULL, &g);
    if (r == GLOB_NOMATCH) skip();
    assert_int_equal(r, 0);
    for (i = 0; i < g.gl_pathc; i++) {
        json = read_data(g.gl_pathv[i]);
        memset(&c, 0, sizeof(c));
        if (domcfg_parse(json, &c, &why))
            fail_msg("%s: %s", g.gl_pathv[i], why);
        assert_non_null(c.name);
        assert_true(c.name[0] != '\0');
        assert_string_not_equal(domcfg_type_name(c.type), "unknown");
        assert_true(c.max_memkb > 0);
        domcfg_dispose(&c);
        free(json);
    }
    globfree(&g);
}

/* The two captures from real Xen 4.17.7 (tests/lab), field by field. */
static void test_lab_captures_exact(void **state)
{
    static const struct {
        const char *file, *name, *uuid, *tsc;
        enum domcfg_type type;
    } caps[] = {
        { "lab-pv.json", "p1pv", "d1ab50cd-0549-4be7-aa0a-7028d58d0d07",
          "native", DOMCFG_PV },
        { "lab-pvh.json", "p1pvh", NULL, "native", DOMCFG_PVH },
    };
    struct domcfg c;
    char *json, *why = NULL, *path;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(caps); i++) {
        path = xasprintf("%s/%s", TEST_DATA_DIR, caps[i].file);
        json = read_data(path);
        memset(&c, 0, sizeof(c));
        if (domcfg_parse(json, &c, &why)) fail_msg("%s: %s", path, why);
        assert_string_equal(c.name, caps[i].name);
        if (caps[i].uuid) assert_string_equal(c.uuid, caps[i].uuid);
        assert_int_equal(strlen(c.uuid), 36);
        assert_int_equal(c.type, caps[i].type);
        assert_int_equal(c.max_memkb, 131072);
        assert_int_equal(c.target_memkb, 131072);
        assert_int_equal(c.max_vcpus, 1);
        assert_string_equal(c.tsc_mode, caps[i].tsc);
        assert_int_equal(c.hap, DOMCFG_DEFAULT);
        assert_false(c.disable_migrate);
        assert_int_equal(c.n_disks + c.n_nics + c.n_pci + c.n_vtpms, 0);
        assert_int_equal(c.n_hard + c.n_vnuma_nodes, 0);
        domcfg_dispose(&c);
        free(json);
        free(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_config_gets_libxl_defaults),
        cmocka_unit_test(test_full_pv_config),
        cmocka_unit_test(test_full_hvm_config),
        cmocka_unit_test(test_xl_list_array_form),
        cmocka_unit_test(test_xl_list_element_form),
        cmocka_unit_test(test_type_may_come_from_b_info),
        cmocka_unit_test(test_malformed_input_names_the_field),
        cmocka_unit_test(test_oversized_input_is_refused),
        cmocka_unit_test(test_limits_themselves_are_accepted),
        cmocka_unit_test(test_lab_captures_parse),
        cmocka_unit_test(test_lab_captures_exact),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
