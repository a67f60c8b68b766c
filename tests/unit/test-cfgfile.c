/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-cfgfile.c - a disk of a domain config file, read and retargeted
 * (cfgfile.c): libxl JSON from tests/data and by hand, xl.cfg in its
 * spellings (quotes, comments, lists over lines, target=, positional and
 * legacy specs, a setting given twice). Each change is checked byte for
 * byte against the text expected, and read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cfgfile.h"

static char *test_read(const char *name, size_t *len_r)
{
    char *path = xasprintf("%s/%s", TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f) fail_msg("%s: cannot open", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = xmalloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    free(path);
    *len_r = (size_t)n;
    return buf;
}

/* text with its one occurrence of from replaced by to (allocated). */
static char *test_replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);

    if (!at || strstr(at + 1, from)) fail_msg("'%s' is not in it once", from);
    return xasprintf("%.*s%s%s", (int)(at - text), text, to,
                     at + strlen(from));
}

/* Disk vdev of text reads as target and format (NULL: none). */
static void test_get(const char *text, const char *vdev, const char *target,
                     const char *format)
{
    struct cfgfile_disk d;
    char *cause;
    int rc;

    rc = cfgfile_disk_get(text, strlen(text), vdev, &d, &cause);
    if (rc) fail_msg("get %s: %d: %s", vdev, rc, cause);
    assert_null(cause);
    assert_string_equal(d.target, target);
    if (format) {
        assert_non_null(d.format);
        assert_string_equal(d.format, format);
    } else {
        assert_null(d.format);
    }
    cfgfile_disk_dispose(&d);
    cfgfile_disk_dispose(&d);
}

/* The change gives exactly want, which reads back with the new values. */
static void test_ok(const char *text, const char *vdev, const char *target,
                    const char *format, const char *want)
{
    struct cfgfile_disk d;
    char *out, *cause;
    size_t len;
    int rc;

    rc = cfgfile_disk_retarget(text, strlen(text), vdev, target, format,
                               &out, &len, &cause);
    if (rc) fail_msg("retarget %s: %d: %s", vdev, rc, cause);
    assert_null(cause);
    assert_int_equal(len, strlen(out));
    if (strcmp(out, want))
        fail_msg("retarget %s:\n got: %s\nwant: %s", vdev, out, want);
    rc = cfgfile_disk_get(out, len, vdev, &d, &cause);
    if (rc) fail_msg("read back %s: %d: %s", vdev, rc, cause);
    assert_string_equal(d.target, target);
    if (format) assert_string_equal(d.format, format);
    cfgfile_disk_dispose(&d);
    free(out);
}

/* Refused with rc and a one-line cause that holds what. */
static void test_refused(const char *text, size_t len, const char *vdev,
                         const char *target, const char *format, int want,
                         const char *what)
{
    struct cfgfile_disk d;
    char *out = (char *)"x", *cause;
    size_t n = 1;
    int rc;

    if (!target) {
        rc = cfgfile_disk_get(text, len, vdev, &d, &cause);
        assert_null(d.target);
        assert_null(d.format);
    } else {
        rc = cfgfile_disk_retarget(text, len, vdev, target, format, &out,
                                   &n, &cause);
        assert_null(out);
        assert_int_equal(n, 0);
    }
    if (rc != want || !cause || !strstr(cause, what) || strchr(cause, '\n'))
        fail_msg("%s: rc %d want %d, cause '%s' want '%s'", vdev, rc, want,
                 cause ? cause : "(none)", what);
    free(cause);
}

static void test_xl_refused(const char *text, const char *vdev,
                            const char *target, const char *format,
                            int want, const char *what)
{
    test_refused(text, strlen(text), vdev, target, format, want, what);
}

/* ---- libxl JSON ------------------------------------------------------- */

static void test_json_real(void **state)
{
    char *pv, *hvm, *want, *tmp;
    size_t len;

    (void)state;
    pv = test_read("cfg-pv-full.json", &len);
    test_get(pv, "xvda", "/dev/vg0/web-01-root", "raw");
    test_get(pv, "xvdb", "/srv/xen/web-01-data.qcow2", "qcow2");
    want = test_replace(pv, "\"/dev/vg0/web-01-root\"",
                        "\"/dev/vg1/web-01-root\"");
    test_ok(pv, "xvda", "/dev/vg1/web-01-root", NULL, want);
    test_get(want, "xvda", "/dev/vg1/web-01-root", "raw");
    free(want);
    tmp = test_replace(pv, "\"/srv/xen/web-01-data.qcow2\"",
                       "\"/srv/new/data.img\"");
    want = test_replace(tmp, "\"format\": \"qcow2\"", "\"format\": \"raw\"");
    test_ok(pv, "xvdb", "/srv/new/data.img", "raw", want);
    test_get(want, "xvdb", "/srv/new/data.img", "raw");
    free(want);
    free(tmp);
    free(pv);

    hvm = test_read("cfg-hvm-full.json", &len);
    test_get(hvm, "hda", "/srv/xen/win-build.vhd", "vhd");
    test_get(hvm, "hdc", "", "empty");
    tmp = test_replace(hvm, "\"/srv/xen/win-build.vhd\"",
                       "\"/srv/b/win.qcow2\"");
    want = test_replace(tmp, "\"format\": \"vhd\"", "\"format\": \"qcow2\"");
    test_ok(hvm, "hda", "/srv/b/win.qcow2", "qcow2", want);
    free(want);
    free(tmp);
    /* The empty CD-ROM drive has nothing to move. */
    test_refused(hvm, len, "hdc", "/srv/a.iso", NULL, XLMIG_E_INVAL,
                 "no target");
    free(hvm);
}

static void test_json_format_inserted(void **state)
{
    const char *in = "{\n    \"disks\": [\n        {\n"
        "            \"pdev_path\": \"/srv/a.img\",\n"
        "            \"vdev\": \"xvda\"\n        }\n    ]\n}\n";
    const char *nul = "{\"disks\": [{\"vdev\": \"xvda\", \"format\": null, "
        "\"pdev_path\": \"/a\"}]}";

    (void)state;
    test_get(in, "xvda", "/srv/a.img", NULL);
    test_ok(in, "xvda", "/srv/b.qcow2", "qcow2",
            "{\n    \"disks\": [\n        {\"format\": \"qcow2\", \n"
            "            \"pdev_path\": \"/srv/b.qcow2\",\n"
            "            \"vdev\": \"xvda\"\n        }\n    ]\n}\n");
    test_ok(in, "xvda", "/srv/b.img", NULL,
            "{\n    \"disks\": [\n        {\n"
            "            \"pdev_path\": \"/srv/b.img\",\n"
            "            \"vdev\": \"xvda\"\n        }\n    ]\n}\n");
    /* A null format is replaced, not doubled. */
    test_get(nul, "xvda", "/a", NULL);
    test_ok(nul, "xvda", "/b", "raw", "{\"disks\": [{\"vdev\": \"xvda\", "
            "\"format\": \"raw\", \"pdev_path\": \"/b\"}]}");
}

static void test_json_escapes(void **state)
{
    const char *in = "{\"disks\": [{\"v\\u0064ev\": \"xvda\", \"pdev_path\": "
        "\"/srv/\\\"q\\\"\\\\\\u00e9\\/x.img\", \"format\": \"QCOW2\"}]}";

    (void)state;
    test_get(in, "xvda", "/srv/\"q\"\\\xc3\xa9/x.img", "qcow2");
    test_ok(in, "xvda", "/srv/n\"e\\w \xc3\xa9.img", NULL,
            "{\"disks\": [{\"v\\u0064ev\": \"xvda\", \"pdev_path\": "
            "\"/srv/n\\\"e\\\\w \xc3\xa9.img\", \"format\": \"QCOW2\"}]}");
    test_get("{\"disks\": [{\"vdev\": \"xvda\", \"pdev_path\": "
             "\"/\\ud83d\\ude00\"}]}", "xvda", "/\xf0\x9f\x98\x80", NULL);
    test_refused(in, strlen(in), "xvda", "/srv/\xff.img", NULL,
                 XLMIG_E_INVAL, "UTF-8");
    test_refused(in, strlen(in), "xvda", "/srv/a\tb", NULL, XLMIG_E_INVAL,
                 "control character");
}

static void test_json_refused(void **state)
{
    const char *dup = "{\"disks\": [{\"vdev\": \"xvda\", \"pdev_path\": "
        "\"/a\"}, {\"vdev\": \"xvdb\", \"pdev_path\": \"/b\"}, "
        "{\"vdev\": \"xvda\", \"pdev_path\": \"/c\"}]}";
    const char *dupkey = "{\"disks\": [{\"vdev\": \"xvda\", \"pdev_path\": "
        "\"/a\", \"pdev_path\": \"/b\"}]}";
    const char *dupdisks = "{\"disks\": [], \"disks\": [{\"vdev\": \"xvda\","
        " \"pdev_path\": \"/a\"}]}";
    const char *notstr = "{\"disks\": [{\"vdev\": 1}]}";
    const char *badfmt = "{\"disks\": [{\"vdev\": \"xvda\", \"pdev_path\": "
        "\"/a\", \"format\": \"vmdk\"}]}";
    char *min, *lab;
    size_t len;

    (void)state;
    min = test_read("cfg-minimal.json", &len);
    test_refused(min, len, "xvda", NULL, NULL, XLMIG_E_NOTFOUND, "no disk");
    test_refused(min, len, "xvda", "/a", NULL, XLMIG_E_NOTFOUND, "no disk");
    free(min);
    test_refused(dup, strlen(dup), "xvda", NULL, NULL, XLMIG_E_INVAL,
                 "in 2 disks");
    test_refused(dup, strlen(dup), "xvda", "/d", NULL, XLMIG_E_INVAL,
                 "in 2 disks");
    test_get(dup, "xvdb", "/b", NULL);
    test_refused(dup, strlen(dup), "xvdc", NULL, NULL, XLMIG_E_NOTFOUND,
                 "xvdc");
    test_refused(dupkey, strlen(dupkey), "xvda", NULL, NULL, XLMIG_E_INVAL,
                 "two \"pdev_path\"");
    test_refused(dupdisks, strlen(dupdisks), "xvda", NULL, NULL,
                 XLMIG_E_INVAL, "twice");
    test_refused("{\"disks\": {}}", 13, "xvda", NULL, NULL, XLMIG_E_INVAL,
                 "not an array");
    test_refused(notstr, strlen(notstr), "xvda", NULL, NULL, XLMIG_E_INVAL,
                 "disks[0].vdev is not a string");
    test_refused(badfmt, strlen(badfmt), "xvda", NULL, NULL, XLMIG_E_INVAL,
                 "'vmdk' is not a disk format");
    test_refused(badfmt, strlen(badfmt), "xvda", "/b", "raw", XLMIG_E_INVAL,
                 "'vmdk' is not a disk format");
    test_refused("{\"a\": 1 /* c */}", 16, "xvda", NULL, NULL,
                 XLMIG_E_INVAL, "comment");
    test_refused("{\"disks\": []}", 13, "xvda", "/a", "vmdk", XLMIG_E_INVAL,
                 "not a disk format");
    test_refused("{\"disks\": []}", 13, "xvda", "", NULL, XLMIG_E_INVAL,
                 "empty");
    test_refused("{\"disks\": []}", 13, "", NULL, NULL, XLMIG_E_INVAL,
                 "no vdev");
    test_refused("{\"a\": \"\0\"}", 10, "xvda", NULL, NULL, XLMIG_E_INVAL,
                 "NUL");
    /* xl list -l's array is neither syntax. */
    lab = test_read("lab-pvh.json", &len);
    test_refused(lab, len, "xvda", NULL, NULL, XLMIG_E_INVAL, "xl.cfg:1");
    free(lab);
}

/* Depth bombs and a text over the cap: refused, no crash. */
static void test_json_bombs(void **state)
{
    size_t n = CFGFILE_LEN_MAX, i;
    char *s = xmalloc(n + 2);

    (void)state;
    memcpy(s, "{\"a\":", 5);
    memset(s + 5, '[', n - 5);
    test_refused(s, n, "xvda", NULL, NULL, XLMIG_E_INVAL, "deeper than 64");
    test_refused(s, n, "xvda", "/a", NULL, XLMIG_E_INVAL, "deeper than 64");
    test_refused(s, n + 1, "xvda", NULL, NULL, XLMIG_E_TOOBIG, "over");
    /* xl.cfg lists too (libxlutil takes them, up to its parser stack). */
    memcpy(s, "disk=", 5);
    for (i = 5; i < 205; i++) s[i] = '[';
    for (; i < 405; i++) s[i] = ']';
    s[i] = '\0';
    test_refused(s, i, "xvda", NULL, NULL, XLMIG_E_INVAL, "deeper than 64");
    free(s);
}

static void test_json_truncated(void **state)
{
    struct cfgfile_disk d;
    char *pv, *cause;
    size_t len, n;
    int rc;

    (void)state;
    pv = test_read("cfg-pv-full.json", &len);
    for (n = 0; n < len; n += 7) {
        rc = cfgfile_disk_get(pv, n, "xvda", &d, &cause);
        if (rc != XLMIG_E_INVAL && rc != XLMIG_E_NOTFOUND)
            fail_msg("%zu bytes: rc %d", n, rc);
        assert_non_null(cause);
        assert_null(d.target);
        free(cause);
    }
    free(pv);
}

/* ---- xl.cfg ----------------------------------------------------------- */

static void test_xl_positional(void **state)
{
    const char *in = "name = \"g\"\n"
        "disk = [ '/srv/a.img,raw,xvda,rw' ]\nmemory = 512\n";

    (void)state;
    test_get(in, "xvda", "/srv/a.img", "raw");
    test_ok(in, "xvda", "/srv/b.img", NULL, "name = \"g\"\n"
            "disk = [ '/srv/b.img,raw,xvda,rw' ]\nmemory = 512\n");
    test_ok(in, "xvda", "/srv/b dir/c.qcow2", "qcow2", "name = \"g\"\n"
            "disk = [ '/srv/b dir/c.qcow2,qcow2,xvda,rw' ]\nmemory = 512\n");
    test_xl_refused(in, "xvda", "/srv/b,c.img", NULL, XLMIG_E_INVAL,
                    "positional target cannot hold ','");
    test_xl_refused(in, "xvda", "/srv/b=c.img", NULL, XLMIG_E_INVAL,
                    "positional target cannot hold");
    test_xl_refused(in, "xvda", "phy:/dev/x", NULL, XLMIG_E_INVAL,
                    "legacy prefix");
    test_xl_refused(in, "xvda", "cdrom", NULL, XLMIG_E_INVAL, "flag");
    /* Flags before the target: libxlutil says which words are flags. */
    test_ok("disk = [ 'discard, cdrom,/srv/a.iso,raw,hdc' ]", "hdc",
            "/srv/b.iso", "raw",
            "disk = [ 'discard, cdrom,/srv/b.iso,raw,hdc' ]");
    test_xl_refused(in, "xvda", "/srv/'b'.img", NULL, XLMIG_E_INVAL,
                    "quote character");
    test_xl_refused(in, "xvda", "/srv/b\\.img", NULL, XLMIG_E_INVAL,
                    "backslash");
    test_xl_refused(in, "xvda", "/srv/b\n.img", NULL, XLMIG_E_INVAL,
                    "control character");
    test_xl_refused(in, "xvdb", "/srv/b.img", NULL, XLMIG_E_NOTFOUND,
                    "no disk 'xvdb'");
}

static void test_xl_quotes(void **state)
{
    const char *in = "disk = [ \"/srv/a.img,,xvda\", '/srv/b.img,,xvdb' ]";

    (void)state;
    test_get(in, "xvda", "/srv/a.img", "raw");
    test_ok(in, "xvda", "/srv/it's.img", NULL,
            "disk = [ \"/srv/it's.img,,xvda\", '/srv/b.img,,xvdb' ]");
    test_xl_refused(in, "xvda", "/srv/\"a\".img", NULL, XLMIG_E_INVAL,
                    "quote character");
    test_ok(in, "xvdb", "/srv/\"b\".img", "vhd",
            "disk = [ \"/srv/a.img,,xvda\", '/srv/\"b\".img,vhd,xvdb' ]");
    test_xl_refused(in, "xvdb", "/srv/it's.img", NULL, XLMIG_E_INVAL,
                    "quote character");
    /* Escapes are read as libxlutil reads them, and kept as written. */
    test_ok("disk = [ '/srv/it\\'s\\tx.img,raw,xvda' ]", "xvda", "/n.img",
            "qed", "disk = [ '/n.img,qed,xvda' ]");
    test_ok("disk = [ 'vdev=xvda,target=/srv/it\\'s.img' ]", "xvda",
            "/n.img", NULL, "disk = [ 'vdev=xvda,target=/n.img' ]");
    test_get("disk = [ \"vdev=xvda,target=/srv/\\\"q\\\".img\" ]", "xvda",
             "/srv/\"q\".img", NULL);
    /* libxlutil would exit() on this one ("flex scanner jammed"). */
    test_xl_refused("disk = [ '/a,raw,xvda=\\n' ]", "xvda", NULL, NULL,
                    XLMIG_E_INVAL, "disk[0]: the spec holds a newline");
    test_xl_refused("disk = [ '/srv/\\x41.img,raw,xvda' ]", "xvda", NULL,
                    NULL, XLMIG_E_INVAL, "escape");
    test_xl_refused("disk = [ 42 ]", "xvda", NULL, NULL, XLMIG_E_INVAL,
                    "disk[0]: xl.cfg: config parsing error in disk");
}

static void test_xl_multiline(void **state)
{
    const char *in = "# disk = [ '/srv/c.img,raw,xvdz' ]\n"
        "disk = [\n"
        "    'phy:/dev/vg/lv,xvda,w',   # root, disk = [ 'x' ]\n"
        "\n"
        "    'format=qcow2, vdev=xvdb, access=rw, target=/srv/with, comma "
        "and space.img',\n"
        "    ]\n"
        "vif = [ 'bridge=xenbr0' ]\n";

    (void)state;
    test_xl_refused(in, "xvdz", NULL, NULL, XLMIG_E_NOTFOUND, "xvdz");
    test_get(in, "xvda", "/dev/vg/lv", NULL);
    test_get(in, "xvdb", "/srv/with, comma and space.img", "qcow2");
    test_ok(in, "xvdb", "/srv/b, c=d:e.img", "raw",
            "# disk = [ '/srv/c.img,raw,xvdz' ]\n"
            "disk = [\n"
            "    'phy:/dev/vg/lv,xvda,w',   # root, disk = [ 'x' ]\n"
            "\n"
            "    'format=raw, vdev=xvdb, access=rw, target=/srv/b, c=d:e.img"
            "',\n"
            "    ]\n"
            "vif = [ 'bridge=xenbr0' ]\n");
    test_xl_refused(in, "xvdb", "/srv/b,", NULL, XLMIG_E_INVAL,
                    "cannot end in ','");
}

static void test_xl_legacy(void **state)
{
    const char *phy = "disk = [ 'phy:/dev/vg/lv,xvda,w' ]\n";
    const char *file = "disk=['file:/srv/f.img,hda,w']";
    const char *tap = "disk = [ 'tap:qcow2:/srv/q.qcow2,xvda,w',"
        " 'tap:aio:/srv/a.img,xvdb,r' ]";

    (void)state;
    test_ok(phy, "xvda", "/dev/vg/lv2", NULL,
            "disk = [ 'phy:/dev/vg/lv2,xvda,w' ]\n");
    test_ok(phy, "xvda", "/dev/vg/lv2", "raw",
            "disk = [ 'format=raw, phy:/dev/vg/lv2,xvda,w' ]\n");
    test_get(file, "hda", "/srv/f.img", NULL);
    test_ok(file, "hda", "/srv/g.qcow2", "qcow2",
            "disk=['format=qcow2, file:/srv/g.qcow2,hda,w']");
    test_get(tap, "xvda", "/srv/q.qcow2", "qcow2");
    test_get(tap, "xvdb", "/srv/a.img", NULL);
    test_ok(tap, "xvda", "/srv/r.img", "raw",
            "disk = [ 'tap:raw:/srv/r.img,xvda,w', 'tap:aio:/srv/a.img,xvdb,r'"
            " ]");
    test_ok(tap, "xvda", "/srv/r.qcow2", NULL,
            "disk = [ 'tap:qcow2:/srv/r.qcow2,xvda,w', 'tap:aio:/srv/a.img,"
            "xvdb,r' ]");
    test_xl_refused(tap, "xvda", "/srv/r.qed", "qed", XLMIG_E_INVAL,
                    "legacy prefix 'qcow2:'");
    test_ok(tap, "xvdb", "/srv/b.vhd", "vhd",
            "disk = [ 'tap:qcow2:/srv/q.qcow2,xvda,w', 'format=vhd, "
            "tap:aio:/srv/b.vhd,xvdb,r' ]");
}

static void test_xl_twice(void **state)
{
    const char *in = "disk = [ '/srv/old.img,raw,xvda' ]\n"
        "xdisk = [ '/srv/x.img,raw,xvda' ]\n"
        "disk = [ '/srv/a.img,raw,xvda' ]\n"
        "disk += [ 'vdev=xvdb,target=/srv/b.img' ]\n";
    const char *two = "disk = [ '/a,raw,xvda', '/b,raw,xvda' ]";

    (void)state;
    test_get(in, "xvda", "/srv/a.img", "raw");
    test_get(in, "xvdb", "/srv/b.img", NULL);
    test_ok(in, "xvda", "/srv/n.img", NULL,
            "disk = [ '/srv/old.img,raw,xvda' ]\n"
            "xdisk = [ '/srv/x.img,raw,xvda' ]\n"
            "disk = [ '/srv/n.img,raw,xvda' ]\n"
            "disk += [ 'vdev=xvdb,target=/srv/b.img' ]\n");
    test_ok(in, "xvdb", "/srv/n.img", "qcow2",
            "disk = [ '/srv/old.img,raw,xvda' ]\n"
            "xdisk = [ '/srv/x.img,raw,xvda' ]\n"
            "disk = [ '/srv/a.img,raw,xvda' ]\n"
            "disk += [ 'format=qcow2, vdev=xvdb,target=/srv/n.img' ]\n");
    test_xl_refused(two, "xvda", NULL, NULL, XLMIG_E_INVAL,
                    "disk[0] and disk[1]");
    test_xl_refused("xdisk = [ '/a,raw,xvda' ]; disk_ = 1", "xvda", NULL,
                    NULL, XLMIG_E_NOTFOUND, "no disk setting");
    test_xl_refused("disk = '/a,raw,xvda'", "xvda", NULL, NULL,
                    XLMIG_E_INVAL, "not a list");
    test_xl_refused("disk = [ ['/a,raw,xvda'] ]", "xvda", NULL, NULL,
                    XLMIG_E_INVAL, "a list, not a disk spec");
}

static void test_xl_refused_text(void **state)
{
    char *many = xmalloc(16 + 65 * 8 + 32);
    size_t i;

    (void)state;
    strcpy(many, "disk = [ '");
    for (i = 0; i < 65; i++) strcat(many, "discard,");
    strcat(many, "/a,raw,xvda' ]");
    test_xl_refused(many, "xvda", NULL, NULL, XLMIG_E_INVAL,
                    "too many parameters");
    free(many);
    test_xl_refused("disk = [ '/a,raw,xvda' ", "xvda", NULL, NULL,
                    XLMIG_E_INVAL, "xl.cfg:1: config parsing error");
    test_xl_refused("disk = [ '/a,raw,xvda' ]\n# no newline", "xvda", NULL,
                    NULL, XLMIG_E_INVAL, "xl.cfg:2");
    test_xl_refused("disk = [ '/a,raw,xvda,rw,x' ]", "xvda", NULL, NULL,
                    XLMIG_E_INVAL, "too many positional parameters");
    test_xl_refused("disk = [ ',raw,hdc:cdrom,r' ]", "hdc", "/a.iso", NULL,
                    XLMIG_E_INVAL, "no target");
    test_get("disk = [ ',raw,hdc:cdrom,r' ]", "hdc", "", "empty");
    test_refused("disk = [ '/a,,xvda' ]\0", 22, "xvda", NULL, NULL,
                 XLMIG_E_INVAL, "NUL");
    test_xl_refused("", "xvda", NULL, NULL, XLMIG_E_NOTFOUND, "no disk");
    /* libxlutil overlooks one bad byte at the very end; so do we. */
    test_ok("disk = [ '/a,,xvda' ]\n~", "xvda", "/b", NULL,
            "disk = [ '/b,,xvda' ]\n~");
    test_xl_refused("disk = [ '/a,,xvda' ]\n~~", "xvda", NULL, NULL,
                    XLMIG_E_INVAL, "lexical error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_real),
        cmocka_unit_test(test_json_format_inserted),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_json_refused),
        cmocka_unit_test(test_json_bombs),
        cmocka_unit_test(test_json_truncated),
        cmocka_unit_test(test_xl_positional),
        cmocka_unit_test(test_xl_quotes),
        cmocka_unit_test(test_xl_multiline),
        cmocka_unit_test(test_xl_legacy),
        cmocka_unit_test(test_xl_twice),
        cmocka_unit_test(test_xl_refused_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
