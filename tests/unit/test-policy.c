/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-policy.c - the receiver's incoming policy (policy.c, policy-path.c):
 * every rule both ways, on configs written here and on the realistic ones
 * in tests/data, against a fake backend and a temporary root that stands
 * for the host's filesystem (shared storage, /dev, sysfs). Device nodes
 * need root: where a case needs one and we are not root, it says so and
 * is skipped (cmocka prints it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "fdio.h"
#include "policy.h"
#include "test-util.h"

/* ---- a fake backend: bridge xenbr0, PCI 0000:03:00.0, 16 GiB ---- */

static int fake_facts_rc;

static int fake_host_facts(struct hv *hv, struct hv_host_facts *f)
{
    (void)hv;
    memset(f, 0, sizeof(*f));
    f->total_kb = 16ull << 20;
    return fake_facts_rc;
}

static int fake_have_bridge(struct hv *hv, const char *b, bool *yes)
{
    (void)hv;
    *yes = !strcmp(b, "xenbr0");
    return XLMIG_OK;
}

static int fake_pci(struct hv *hv, const char *bdf, bool *yes)
{
    (void)hv;
    *yes = !strcmp(bdf, "0000:03:00.0");
    return XLMIG_OK;
}

static const struct hv_ops fake_ops = {
    .name = "fake", .host_facts = fake_host_facts,
    .have_bridge = fake_have_bridge, .pci_assignable = fake_pci,
};

struct pt {
    struct test_ctx t;
    struct hv hv;
    struct policy p;
    char root[64];
};

static int setup(void **state)
{
    struct pt *t = xcalloc(1, sizeof(*t));

    test_ctx_open(&t->t);
    t->hv.ops = &fake_ops;
    t->hv.ctx = t->t.ctx;
    snprintf(t->root, sizeof(t->root), "/tmp/test-policy.XXXXXX");
    assert_non_null(mkdtemp(t->root));
    policy_init(&t->p);
    t->p.root = t->root;
    fake_facts_rc = XLMIG_OK;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct pt *t = *state;

    if (test_rm_rf(t->root)) return -1;
    policy_dispose(&t->p);
    test_ctx_close(&t->t);
    free(t);
    return 0;
}

/* ---- helpers ---- */

/* Makes ROOT/path (and its directories) with data, or a directory. */
static void mk(struct pt *t, const char *path, const char *data)
{
    char *full = xasprintf("%s%s", t->root, path), *cmd;

    cmd = xasprintf("mkdir -p \"$(dirname '%s')\"", full);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    if (data) assert_int_equal(fdio_write_file(t->t.ctx, full, data,
                                               strlen(data)), XLMIG_OK);
    else assert_int_equal(mkdir(full, 0755), 0);
    free(full);
}

static void run(struct pt *t, const char *cmdfmt, ...) PRINTF_LIKE(2, 3);

/* A shell command with $R the test's root. */
static void run(struct pt *t, const char *fmt, ...)
{
    char *cmd, *full;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&cmd, fmt, ap) < 0) abort();
    va_end(ap);
    full = xasprintf("R='%s'; %s", t->root, cmd);
    if (system(full)) fail_msg("command failed: %s", cmd);
    free(full);
    free(cmd);
}

/* Checks json; the refusals must be exactly n, each want one of them. */
static void expect(struct pt *t, const char *json, size_t n, ...)
{
    struct policy_report rep;
    const unsigned char *u;
    const char *want;
    bool found;
    size_t i;
    va_list ap;

    assert_int_equal(policy_check(t->t.ctx, &t->hv, &t->p, json, &rep),
                     XLMIG_OK);
    if (rep.n != n) {
        for (i = 0; i < rep.n; i++)
            print_error("  refused: %s\n", rep.v[i]);
        fail_msg("%zu refusals, expected %zu, for %.200s", rep.n, n, json);
    }
    /* Each one printable line of bounded length, whatever the config. */
    for (i = 0; i < rep.n; i++) {
        for (u = (const unsigned char *)rep.v[i]; *u; u++)
            if (*u < 0x20 || *u == 0x7f || (*u == 0xc2 && u[1] >= 0x80 &&
                                             u[1] <= 0x9f))
                fail_msg("refusal %zu has control character 0x%02x: %s",
                         i, *u, rep.v[i]);
        assert_in_range(strlen(rep.v[i]), 1, POLICY_REFUSAL_MAX);
    }
    va_start(ap, n);
    while ((want = va_arg(ap, const char *))) {
        for (found = false, i = 0; i < rep.n && !found; i++)
            found = strstr(rep.v[i], want) != NULL;
        if (!found) {
            for (i = 0; i < rep.n; i++)
                print_error("  refused: %s\n", rep.v[i]);
            fail_msg("no refusal names '%s'", want);
        }
    }
    va_end(ap);
    policy_report_dispose(&rep);
}

#define OK(t, json) expect((t), (json), 0, NULL)

/* A PVH config with EXTRA members in b_info and TOP at the top level. */
static char *cfg(const char *name, const char *b_extra, const char *top)
{
    return xasprintf("{\"c_info\": {\"type\": \"pvh\", \"name\": \"%s\", "
                     "\"uuid\": \"11111111-2222-3333-4444-555555555555\"}, "
                     "\"b_info\": {\"max_vcpus\": 2, \"max_memkb\": 131072, "
                     "\"target_memkb\": 131072, \"type.pvh\": {}%s%s}%s%s}",
                     name, *b_extra ? ", " : "", b_extra, *top ? ", " : "",
                     top);
}

static void expect_cfg(struct pt *t, const char *b_extra, const char *top,
                       size_t n, const char *want)
{
    char *json = cfg("vm1", b_extra, top);

    expect(t, json, n, want, NULL);
    free(json);
}

/* A disk: qdisk and raw unless extra says otherwise. */
static char *disk(const char *path, const char *extra)
{
    return xasprintf("\"disks\": [{\"pdev_path\": \"%s\", \"vdev\": \"xvda\","
                     " \"readwrite\": 1%s%s%s%s}]", path,
                     strstr(extra, "\"backend\"") ? "" :
                     ", \"backend\": \"qdisk\"",
                     strstr(extra, "\"format\"") ? "" : ", \"format\": \"raw\"",
                     *extra ? ", " : "", extra);
}

static void expect_disk(struct pt *t, const char *path, const char *extra,
                        size_t n, const char *want)
{
    char *d = disk(path, extra);

    expect_cfg(t, "", d, n, want);
    free(d);
}

/* b_info with these members only. */
static void expect_b(struct pt *t, const char *b_info, size_t n,
                     const char *want)
{
    char *json = xasprintf("{\"c_info\": {\"type\": \"pvh\", \"name\": "
                           "\"vm1\"}, \"b_info\": {%s}}", b_info);

    expect(t, json, n, want, NULL);
    free(json);
}

/* A file of tests/data as a string. */
static char *data(struct pt *t, const char *name)
{
    char *path = xasprintf("%s/%s", TEST_DATA_DIR, name), *text = NULL;

    assert_int_equal(fdio_read_file(t->t.ctx, path, 1 << 20, &text),
                     XLMIG_OK);
    free(path);
    return text;
}

/* ---- cases ---- */

static void test_minimal_and_defaults(void **state)
{
    struct pt *t = *state;
    char *json = data(t, "cfg-minimal.json");

    OK(t, json);
    free(json);
    json = cfg("vm1", "", "\"on_crash\": \"coredump-destroy\"");
    OK(t, json);
    free(json);
}

static void test_names(void **state)
{
    static const char *const good[] = { "vm1", "web-01", "a.b_c+d", "9x",
                                        "A" };
    static const char *const bad[] = {
        "../../etc/cron.d/x", "x;reboot", "x y", "123", "a--incoming",
        "a--migratedaway", "-x", ".x", "x/y", "x\\u001b[2J", "$(reboot)",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    struct pt *t = *state;
    char *json;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(good); i++) {
        json = cfg(good[i], "", "");
        OK(t, json);
        assert_true(policy_name_ok(good[i]));
        free(json);
    }
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        json = cfg(bad[i], "", "");
        expect(t, json, 1, "c_info.name", "not a name this host takes",
               NULL);
        free(json);
    }
    assert_false(policy_name_ok(""));
}

static void test_disk_locations(void **state)
{
    struct pt *t = *state;

    mk(t, "/srv/xen/vm1.img", "disk");
    mk(t, "/srv/xenother/vm1.img", "disk");
    mk(t, "/etc/shadow", "root:x:");
    expect_disk(t, "/srv/xen/vm1.img", "", 0, NULL);
    /* Not there yet: pre-flight's disk-visible says so, not the policy. */
    expect_disk(t, "/srv/xen/new.img", "", 0, NULL);
    expect_disk(t, "/etc/shadow", "", 1, "outside the allowed disk");
    expect_disk(t, "/dev/sda", "", 1, "outside the allowed disk");
    expect_disk(t, "/srv/xenother/vm1.img", "", 1, "outside the allowed");
    expect_disk(t, "/srv/xen/../../etc/shadow", "", 1, "not a plain");
    expect_disk(t, "/srv/xen/./vm1.img", "", 1, "not a plain");
    expect_disk(t, "/srv/xen//vm1.img", "", 1, "not a plain");
    expect_disk(t, "/srv/xen/vm1.img,file.driver=nbd", "", 1, "not a plain");
    expect_disk(t, "srv/xen/vm1.img", "", 1, "not a plain");
    /* An allowed directory itself is no disk (nor a boot file). */
    expect_disk(t, "/srv/xen", "", 1, "is an allowed directory, not a file");
    expect_disk(t, "/var/lib/xen/images", "\"backend\": \"phy\"", 1,
                "is an allowed directory");
    expect_cfg(t, "\"kernel\": \"/var/lib/xen/boot\"", "", 1,
               "is an allowed directory");
    expect_disk(t, "/srv/xen/vm1.img", "\"backend\": \"phy\"", 0, NULL);
    /* A qdisk image must say its format: QEMU would guess it. */
    expect_disk(t, "/srv/xen/vm1.img", "\"format\": \"unknown\"", 1,
                "must say its format");
    /* An empty CD-ROM drive. */
    expect_disk(t, "", "\"is_cdrom\": 1", 0, NULL);
}

/* What the other host can plant on shared storage. */
static void test_planted_files(void **state)
{
    struct pt *t = *state;

    mk(t, "/srv/xen/sub/vm1.img", "disk");
    mk(t, "/mnt/nfs/vm2.img", "disk");
    run(t, "ln -s /etc/shadow \"$R/srv/xen/evil.img\"");
    run(t, "ln -s ../../etc \"$R/srv/xen/link\"");
    expect_disk(t, "/srv/xen/evil.img", "", 1, "is a symlink inside");
    expect_disk(t, "/srv/xen/link/shadow", "", 1, "is a symlink inside");
    expect_disk(t, "/srv/xen/sub", "", 1, "not a regular file");
    expect_disk(t, "/srv/xen/sub/vm1.img/x", "", 1, "not a directory");
    /* The allowed directory itself may be a link: the admin made it. */
    run(t, "rm -rf \"$R/srv/xen\"; ln -s \"$R/mnt/nfs\" \"$R/srv/xen\"");
    expect_disk(t, "/srv/xen/vm2.img", "", 0, NULL);
    if (geteuid()) {
        print_message("skipping the device-node case: not root\n");
        return;
    }
    /* A device node made by the other host's root: dom0's own disk. */
    run(t, "mknod \"$R/mnt/nfs/sda.img\" b 8 0");
    expect_disk(t, "/srv/xen/sda.img", "", 1, "not a regular file");
}

static void test_lvm_and_dev(void **state)
{
    struct pt *t = *state;
    char *vgs[] = { (char *)"vg-0" };
    char *d;

    if (geteuid()) {
        skip();
        return;
    }
    /* /dev/vg-0/lv-1 -> ../dm-7, device-mapper's name "vg--0-lv--1". */
    run(t, "mkdir -p \"$R/dev/vg-0\" \"$R/dev/mapper\" "
        "\"$R/sys/dev/block/253:7/dm\" \"$R/sys/dev/block/253:8/dm\" && "
        "mknod \"$R/dev/dm-7\" b 253 7 && mknod \"$R/dev/dm-8\" b 253 8 && "
        "ln -s ../dm-7 \"$R/dev/vg-0/lv-1\" && "
        "ln -s ../dm-8 \"$R/dev/vg-0/other\" && "
        "ln -s ../dm-7 \"$R/dev/mapper/vg--0-lv--1\" && "
        "echo vg--0-lv--1 >\"$R/sys/dev/block/253:7/dm/name\" && "
        "echo vg9-other >\"$R/sys/dev/block/253:8/dm/name\" && "
        "mkdir -p \"$R/dev/disk/by-id\" && mknod \"$R/dev/sdz\" b 8 240 && "
        "ln -s ../../sdz \"$R/dev/disk/by-id/wwn-1\" && "
        "mknod \"$R/dev/ttyz\" c 4 70");
    d = xasprintf("\"backend\": \"phy\"");
    expect_disk(t, "/dev/vg-0/lv-1", d, 1, "outside the allowed disk");
    t->p.disk_vgs = realloc(t->p.disk_vgs, sizeof(char *));
    t->p.disk_vgs[0] = xstrdup(vgs[0]);
    t->p.n_disk_vgs = 1;
    expect_disk(t, "/dev/vg-0/lv-1", d, 0, NULL);
    expect_disk(t, "/dev/mapper/vg--0-lv--1", d, 0, NULL);
    /* A name in the group's directory that is not one of its LVs. */
    expect_disk(t, "/dev/vg-0/other", d, 1, "not a logical volume");
    expect_disk(t, "/dev/vg-0/../sdz", d, 1, "not a plain");
    /* An admin may list one whole device; it must be a block device. */
    expect_disk(t, "/dev/disk/by-id/wwn-1", d, 1, "outside the allowed");
    t->p.disk_paths = realloc(t->p.disk_paths, 3 * sizeof(char *));
    t->p.disk_paths[2] = xstrdup("/dev/disk/by-id/wwn-1");
    t->p.n_disk_paths = 3;
    expect_disk(t, "/dev/disk/by-id/wwn-1", d, 0, NULL);
    t->p.disk_paths = realloc(t->p.disk_paths, 4 * sizeof(char *));
    t->p.disk_paths[3] = xstrdup("/dev/ttyz");
    t->p.n_disk_paths = 4;
    expect_disk(t, "/dev/ttyz", d, 1, "not a block device");
    free(d);
}

/* qcow2 images name their backing files: each must be allowed too, and
 * is judged before qemu-img opens it. */
static void test_backing_files(void **state)
{
    struct pt *t = *state;

    mk(t, "/srv/xen/x", "x");
    mk(t, "/etc/secret.img", "secret");
    run(t, "cd \"$R/srv/xen\" && qemu-img create -q -f raw base.img 1M && "
        "qemu-img create -q -f qcow2 -b base.img -F raw ok.qcow2 && "
        "qemu-img create -q -f qcow2 -b ok.qcow2 -F qcow2 ok2.qcow2 && "
        "qemu-img create -q -f qcow2 -b \"$R/etc/secret.img\" -F raw "
        "evil.qcow2 && "
        "qemu-img create -q -u -f qcow2 -b /dev/sda -F raw dev.qcow2 1M && "
        "qemu-img create -q -u -f qcow2 -b nbd://192.0.2.9/x -F raw "
        "net.qcow2 1M && qemu-img create -q -f qcow2 -b "
        "../../etc/secret.img -F raw rel.qcow2 && ln -s base.img linked.img "
        "&& qemu-img create -q -f qcow2 -b linked.img -F raw link.qcow2");
    expect_disk(t, "/srv/xen/ok.qcow2", "\"format\": \"qcow2\"", 0, NULL);
    expect_disk(t, "/srv/xen/ok2.qcow2", "\"format\": \"qcow2\"", 0, NULL);
    expect_disk(t, "/srv/xen/evil.qcow2", "\"format\": \"qcow2\"", 1,
                "backing file 1");
    expect_disk(t, "/srv/xen/dev.qcow2", "\"format\": \"qcow2\"", 1,
                "outside the allowed disk");
    expect_disk(t, "/srv/xen/net.qcow2", "\"format\": \"qcow2\"", 1,
                "backing file 1");
    expect_disk(t, "/srv/xen/rel.qcow2", "\"format\": \"qcow2\"", 1,
                "backing file 1");
    expect_disk(t, "/srv/xen/link.qcow2", "\"format\": \"qcow2\"", 1,
                "is a symlink inside");
    /* A raw file that claims to be qcow2. */
    expect_disk(t, "/srv/xen/x", "\"format\": \"qcow2\"", 1,
                "cannot read the image's header");
    /* Not there: no chain to judge, so refused (qemu-img not run). */
    t->p.qemu_img = "/nonexistent/qemu-img";
    expect_disk(t, "/srv/xen/gone.qcow2", "\"format\": \"qcow2\"", 1,
                "/srv/xen/gone.qcow2 does not exist here");
    /* No qemu-img: refused, never waved through. */
    t->p.qemu_img = "/nonexistent/qemu-img";
    expect_disk(t, "/srv/xen/ok.qcow2", "\"format\": \"qcow2\"", 1,
                "cannot read the image's header");
}

static void test_boot_files(void **state)
{
    struct pt *t = *state;

    mk(t, "/var/lib/xen/boot/vmlinuz", "k");
    expect_cfg(t, "\"kernel\": \"/var/lib/xen/boot/vmlinuz\", "
               "\"ramdisk\": \"/var/lib/xen/boot/initrd\"", "", 0, NULL);
    expect_cfg(t, "\"kernel\": \"/root/guest/vmlinuz\"", "", 1,
               "b_info.kernel: /root/guest/vmlinuz is outside the allowed "
               "boot");
    expect_cfg(t, "\"ramdisk\": \"/etc/shadow\"", "", 1, "b_info.ramdisk");
    expect_cfg(t, "\"type.pv\": {\"kernel\": \"/etc/shadow\"}", "", 1,
               "b_info.type.pv.kernel");
    expect_cfg(t, "\"device_tree\": \"/boot/x.dtb\"", "", 1, "device_tree");
    run(t, "ln -s /etc/shadow \"$R/var/lib/xen/boot/initrd\"");
    expect_cfg(t, "\"ramdisk\": \"/var/lib/xen/boot/initrd\"", "", 1,
               "is a symlink");
    /* Xen's own firmware by name; a path is a boot file like the rest. */
    expect_cfg(t, "\"type.hvm\": {\"firmware\": \"hvmloader\", "
               "\"system_firmware\": \"/etc/passwd\", \"acpi_firmware\": "
               "\"/var/lib/xen/boot/vmlinuz\"}", "", 1, "system_firmware");
    expect_b(t, "\"type.pvh\": {\"pvshim_path\": \"../../etc/shadow\"}", 1,
             "not a plain");
    expect_cfg(t, "\"bootloader\": \"pygrub\"", "", 0, NULL);
    expect_cfg(t, "\"bootloader\": \"/bin/sh\"", "", 1, "not a bootloader");
    expect_cfg(t, "\"type.pv\": {\"bootloader\": \"/tmp/x\"}", "", 1,
               "not a bootloader");
    expect_cfg(t, "\"bootloader_args\": [\"--output=/etc/x\"]", "", 1,
               "bootloader-args");
}

static void test_scripts(void **state)
{
    struct pt *t = *state;
    static const char *const good[] = { "vif-bridge",
                                         "/etc/xen/scripts/vif-route" };
    static const char *const bad[] = {
        "../../bin/sh", "/bin/sh", "/etc/xen/scripts/../../bin/sh",
        "/etc/xen/scripts/sub/x", "/etc/xen/scriptsx/y", "x y", ".hidden",
    };
    char *top;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(good); i++) {
        top = xasprintf("\"nics\": [{\"devid\": 0, \"script\": \"%s\"}]",
                        good[i]);
        expect_cfg(t, "", top, 0, NULL);
        free(top);
    }
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        top = xasprintf("\"nics\": [{\"devid\": 0, \"script\": \"%s\"}]",
                        bad[i]);
        expect_cfg(t, "", top, 1, "nics[0].script");
        free(top);
    }
    top = disk("/srv/xen/a.img", "\"script\": \"/usr/local/bin/evil\"");
    expect_cfg(t, "", top, 1, "disks[0].script");
    t->p.scripts = realloc(t->p.scripts, sizeof(char *));
    t->p.scripts[0] = xstrdup("/usr/local/bin/evil");
    t->p.n_scripts = 1;
    expect_cfg(t, "", top, 0, NULL);
    free(top);
    /* A script's own target is a word to it. */
    top = disk("iqn.2001-05.com.example:vm1", "\"script\": \"block-iscsi\"");
    expect_cfg(t, "", top, 0, NULL);
    free(top);
    top = disk("iqn;reboot", "\"script\": \"block-iscsi\"");
    expect_cfg(t, "", top, 1, "not a target");
    free(top);
}

static void test_nics(void **state)
{
    struct pt *t = *state;
    char *long_key, *top;

    expect_cfg(t, "", "\"nics\": [{\"devid\": 0, \"bridge\": \"xenbr0\", "
               "\"mac\": \"00:16:3e:00:00:01\", \"ip\": \"192.0.2.1 "
               "2001:db8::1/64\", \"ifname\": \"vif-web\", \"model\": "
               "\"e1000\"}]", 0, NULL);
    expect_cfg(t, "", "\"nics\": [{\"bridge\": \"xenbr9\"}]", 1,
               "no bridge xenbr9");
    expect_cfg(t, "", "\"nics\": [{\"bridge\": \"br;x\"}]", 1,
               "nics[0].bridge");
    expect_cfg(t, "", "\"nics\": [{\"ip\": \"1.2.3.4; reboot\"}]", 1,
               "not a list of IP addresses");
    expect_cfg(t, "", "\"nics\": [{\"ifname\": \"eth0,x\"}]", 1,
               "nics[0].ifname");
    expect_cfg(t, "", "\"nics\": [{\"model\": \"e1000,netdev=x\"}]", 1,
               "nics[0].model");
    expect_cfg(t, "", "\"nics\": [{\"colo_sock_mirror_ip\": \"1.2.3.4\"}]",
               1, "\"colo\"");
    expect_cfg(t, "", "\"nics\": [{\"backend_domname\": \"netdd\"}]", 1,
               "driver-domains");
    expect_cfg(t, "", "\"nics\": [{\"backend_domname\": \"Domain-0\"}]", 0,
               NULL);
    expect_cfg(t, "", "\"nics\": [{\"novel\": 1}]", 1, "nics[0].novel");
    /* The sender's keys and values reach its terminal and this host's
     * log escaped (expect() checks every refusal is printable). */
    expect_cfg(t, "", "\"nics\": [{\"m\\u001b]0;x\\u0007\\nforged\": 1}]", 1,
               "nics[0].m\\x1b]0;x\\x07\\x0aforged");
    expect_cfg(t, "", "\"nics\": [{\"k\\u007f\\u0085\": 1}]", 1,
               "nics[0].k\\x7f\\xc2\\x85");
    expect_cfg(t, "", "\"nics\": [{\"bridge\": \"\\u001b[2J\"}]", 1,
               "nics[0].bridge");
    long_key = xmalloc(5001);
    memset(long_key, 'a', 5000);
    long_key[5000] = '\0';
    top = xasprintf("\"disks\": [{\"%s\": 1}]", long_key);
    expect_cfg(t, "", top, 1, "disks[0].aaaa");
    free(top);
    free(long_key);
    /* With a list, only those bridges. */
    t->p.bridges = realloc(t->p.bridges, sizeof(char *));
    t->p.bridges[0] = xstrdup("xenbr1");
    t->p.n_bridges = 1;
    t->p.bridges_set = true;
    expect_cfg(t, "", "\"nics\": [{\"bridge\": \"xenbr0\"}]", 1,
               "incoming_bridges");
    expect_cfg(t, "", "\"nics\": [{\"bridge\": \"xenbr1\"}]", 0, NULL);
}

/* What hands the host's own hardware or dom0 resources over. */
static void test_hardware_and_device_model(void **state)
{
    static const struct {
        const char *b_info, *top, *want;
        unsigned allow;
    } cases[] = {
        { "\"iomem\": [{\"start\": 1, \"number\": 1}]", "", "\"iomem\"",
          POLICY_ALLOW_IOMEM },
        { "\"ioports\": [{\"first\": 888, \"number\": 8}]", "", "\"ioports\"",
          POLICY_ALLOW_IOPORTS },
        { "\"irqs\": [7]", "", "\"irqs\"", POLICY_ALLOW_IRQS },
        { "\"device_model\": \"/bin/sh\"", "", "\"device-model\"",
          POLICY_ALLOW_DEVICE_MODEL },
        { "\"extra\": [\"-monitor\", \"unix:/x\"]", "", "device-model",
          POLICY_ALLOW_DEVICE_MODEL },
        { "\"extra_hvm\": [\"-x\"]", "", "device-model",
          POLICY_ALLOW_DEVICE_MODEL },
        { "\"device_model_user\": \"root\"", "", "device-model",
          POLICY_ALLOW_DEVICE_MODEL },
        { "\"stubdomain_kernel\": \"/x\"", "", "device-model",
          POLICY_ALLOW_DEVICE_MODEL },
        { "\"type.pv\": {\"e820_host\": \"True\"}", "", "\"pci\"",
          POLICY_ALLOW_PCI },
        { "\"type.hvm\": {\"gfx_passthru\": \"True\"}", "", "\"pci\"",
          POLICY_ALLOW_PCI },
        { "\"type.hvm\": {\"serial\": \"file:/etc/cron.d/x\"}", "",
          "host-serial", POLICY_ALLOW_HOST_SERIAL },
        { "\"type.hvm\": {\"serial_list\": [\"pty\", \"/dev/ttyS0\"]}", "",
          "serial_list[1]", POLICY_ALLOW_HOST_SERIAL },
        { "\"type.hvm\": {\"usbdevice\": \"host:1234:5678\"}", "", "\"usb\"",
          POLICY_ALLOW_USB },
        { "\"type.hvm\": {\"sdl\": {\"enable\": \"True\", \"xauthority\": "
          "\"/root/.Xauthority\"}}", "", "local-display",
          POLICY_ALLOW_LOCAL_DISPLAY },
        { "\"type.hvm\": {\"rdm\": {\"strategy\": \"host\"}}", "", "\"pci\"",
          POLICY_ALLOW_PCI },
        { "\"bootloader_args\": [\"-q\"]", "", "bootloader-args",
          POLICY_ALLOW_BOOTLOADER_ARGS },
        { "\"tee\": \"optee\"", "", "\"tee\"", POLICY_ALLOW_TEE },
        { "\"exec_ssid_label\": \"system_u:system_r:dom0_t\"", "",
          "security-labels", POLICY_ALLOW_SECURITY_LABELS },
        { "", "\"p9s\": [{\"tag\": \"t\", \"path\": \"/\", "
          "\"security_model\": \"none\"}]", "\"p9\"", POLICY_ALLOW_P9 },
        { "", "\"pvcallsifs\": [{\"devid\": 0}]", "pvcalls",
          POLICY_ALLOW_PVCALLS },
        { "", "\"channels\": [{\"name\": \"c\", \"connection\": \"socket\", "
          "\"connection.socket\": {\"path\": \"/run/x\"}}]", "channels",
          POLICY_ALLOW_CHANNELS },
        { "", "\"vtpms\": [{\"devid\": 0}]", "\"vtpm\"", POLICY_ALLOW_VTPM },
        { "", "\"usbdevs\": [{\"ctrl\": 0, \"port\": 1}]", "\"usb\"",
          POLICY_ALLOW_USB },
        { "", "\"virtios\": [{\"type\": \"x\"}]", "\"virtio\"",
          POLICY_ALLOW_VIRTIO },
        { "", "\"rdms\": [{\"start\": 1}]", "\"pci\"", POLICY_ALLOW_PCI },
        { "", "\"dtdevs\": [{\"path\": \"/x\"}]", "\"pci\"",
          POLICY_ALLOW_PCI },
        { "", "\"c_info\": {\"type\": \"pvh\", \"name\": \"vm1\", "
          "\"driver_domain\": \"True\"}", "driver-domains",
          POLICY_ALLOW_DRIVER_DOMAINS },
        { "", "\"c_info\": {\"type\": \"pvh\", \"name\": \"vm1\", "
          "\"passthrough\": \"sync_pt\"}", "\"pci\"", POLICY_ALLOW_PCI },
    };
    struct pt *t = *state;
    char *json;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        /* A second c_info would be a key given twice: replace it. */
        if (!strncmp(cases[i].top, "\"c_info\"", 8))
            json = xasprintf("{%s, \"b_info\": {\"type.pvh\": {}}}",
                             cases[i].top);
        else
            json = cfg("vm1", cases[i].b_info, cases[i].top);
        t->p.allow = 0;
        expect(t, json, 1, cases[i].want, NULL);
        t->p.allow = cases[i].allow;
        OK(t, json);
        free(json);
    }
    /* Empty is not set: what libxl writes for "none". */
    t->p.allow = 0;
    expect_cfg(t, "\"iomem\": [], \"irqs\": [], \"extra\": [], "
               "\"device_model\": \"\", \"type.hvm\": {\"serial\": \"pty\", "
               "\"usbdevice\": \"tablet\", \"sdl\": {\"enable\": \"False\"}, "
               "\"vnc\": {\"enable\": \"True\", \"listen\": \"0.0.0.0\"}}",
               "\"channels\": [{\"name\": \"org.qemu.guest_agent.0\", "
               "\"connection\": \"pty\"}]", 0, NULL);
}

/* xlmig's own QMP monitor of the domain passes without "device-model";
 * anything more, another socket or another domain's name does not. */
static void test_xlmig_qmp_monitor(void **state)
{
    struct pt *t = *state;

    t->p.allow = 0;
    expect_cfg(t, "\"extra_pv\": [\"-qmp\", \"unix:/run/xen/xlmig-qmp-vm1.sock,"
               "server=on,wait=off\"]", "", 0, NULL);
    expect_cfg(t, "\"extra_hvm\": [\"-qmp\", \"unix:/run/xen/xlmig-qmp-vm1.sock,"
               "server=on,wait=off\"]", "", 0, NULL);
    expect_cfg(t, "\"extra_pv\": [\"-qmp\", \"unix:/run/xen/xlmig-qmp-vm2.sock,"
               "server=on,wait=off\"]", "", 1, "device-model");
    expect_cfg(t, "\"extra_pv\": [\"-qmp\", \"unix:/run/xen/xlmig-qmp-vm1.sock,"
               "server=on,wait=off\", \"-x\"]", "", 1, "device-model");
    expect_cfg(t, "\"extra_pv\": [\"-qmp\", \"tcp:0.0.0.0:4444,server=on\"]",
               "", 1, "device-model");
    expect_cfg(t, "\"extra\": [\"-qmp\", \"unix:/run/xen/xlmig-qmp-vm1.sock,"
               "server=on,wait=off\"]", "", 1, "device-model");
}

static void test_pci(void **state)
{
    struct pt *t = *state;
    const char *ok = "\"pcidevs\": [{\"bus\": 3}]";
    const char *no = "\"pcidevs\": [{\"bus\": 3, \"func\": 1}]";

    expect_cfg(t, "", ok, 1, "does not allow PCI passthrough");
    t->p.allow = POLICY_ALLOW_PCI;
    expect_cfg(t, "", ok, 0, NULL);
    expect_cfg(t, "", no, 1, "0000:03:00.1 is not assignable");
    expect_cfg(t, "", "\"pcidevs\": [{\"bus\": 300}]", 1, "pcidevs[0].bus");
}

static void test_limits(void **state)
{
    struct pt *t = *state;

    expect_b(t, "\"max_memkb\": 33554432", 1, "over this host's limit");
    expect_b(t, "\"max_memkb\": 16777216", 0, NULL);
    t->p.max_memkb = 65536;
    expect_cfg(t, "", "", 2, "incoming_max_memory_mb");
    t->p.max_memkb = 0;
    expect_cfg(t, "\"video_memkb\": 99999999999", "", 1, "video_memkb");
    expect_b(t, "\"max_vcpus\": 129", 1, "incoming_max_vcpus");
    expect_b(t, "\"max_vcpus\": -1", 1, "not an integer");
    expect_b(t, "\"max_memkb\": \"lots\"", 1, "not an integer");
    expect_cfg(t, "\"sched_params\": {\"sched\": \"credit2\", \"weight\": "
               "256, \"cap\": 200}", "", 0, NULL);
    expect_cfg(t, "\"sched_params\": {\"cap\": 201}", "", 1, "cap");
    t->p.max_weight = 512;
    expect_cfg(t, "\"sched_params\": {\"weight\": 1024}", "", 1,
               "incoming_max_weight");
    expect_cfg(t, "\"sched_params\": {\"weight\": -1, \"period\": -1}", "",
               0, NULL);
    expect_cfg(t, "\"sched_params\": {\"evil\": 1}", "", 1,
               "sched_params.evil");
    /* The host's memory unknown: refused once, not once per field. */
    fake_facts_rc = XLMIG_E_HV;
    expect_cfg(t, "", "", 1, "cannot read this host's memory");
}

static void test_structure(void **state)
{
    struct pt *t = *state;

    expect_cfg(t, "\"evil_field\": 1", "", 1, "b_info.evil_field: not a "
               "field");
    expect_cfg(t, "", "\"toplevel\": {}", 1, "toplevel");
    expect_cfg(t, "\"max_memkb\": 1", "", 1, "given twice");
    expect(t, "{\"c_info\": {\"name\": \"a\", \"name\": \"b\"}}", 1,
           "c_info: key 'name' given twice", NULL);
    expect(t, "[1]", 1, "config: not an object", NULL);
    expect(t, "{\"c_info\": {\"name\": \"a\"} /* x */}", 1, "comment", NULL);
    expect(t, "{\"c_info\": {\"xsdata\": {\"../../tool/x\": \"1\", "
           "\"ok-key\": \"v\"}}}", 1, "not a key", NULL);
    expect(t, "{\"c_info\": {\"platformdata\": {\"k\": 5}}}", 1,
           "not a string", NULL);
    /* `xl list -l`'s wrapping is not what a sender sends. */
    expect(t, "[{\"domid\": 1, \"config\": {}}]", 1, "not an object", NULL);
}

/* Realistic configs (tests/data): all their fields known; refused for
 * what they take of the host, accepted once the admin allows it. */
static void test_realistic_configs(void **state)
{
    struct pt *t = *state;
    char *json = data(t, "cfg-pv-full.json");

    expect(t, json, 11, "b_info.kernel", "b_info.ramdisk", "e820_host",
           "disks[0].pdev_path", "disks[1].pdev_path",
           "disks[2].backend_domname",
           "nics[0].bridge", "pcidevs[0]", "pcidevs[1]", "vtpms[0]", NULL);
    free(json);
    json = data(t, "cfg-hvm-full.json");
    expect(t, json, 3, "usbdevs[0]", "usbdevs[1]", "disks[0].pdev_path",
           NULL);
    free(json);
}

/* /etc/xen/xlmig.conf: read as xl.conf, and a broken one takes nothing. */
static void test_conf(void **state)
{
    struct pt *t = *state;
    char *path = xasprintf("%s/xlmig.conf", t->root), *cause = NULL;
    struct policy p;

    setenv("XLMIG_CONF", path, 1);
    /* No file: the defaults. */
    assert_int_equal(policy_load(t->t.ctx, &p, &cause), XLMIG_OK);
    assert_int_equal(p.n_disk_paths, 2);
    assert_int_equal(p.max_vcpus, 128);
    assert_false(p.require_xlmig);
    policy_dispose(&p);
    mk(t, "/xlmig.conf",
       "# the incoming policy\n"
       "incoming_disk_paths = [ \"/srv/nfs/sr1\" ]\n"
       "incoming_disk_vgs = [ \"vg0\", \"vg1\" ]\n"
       "incoming_bridges = [ \"xenbr1\" ]\n"
       "incoming_allow = [ \"pci\", \"usb\" ]\n"
       "incoming_max_memory_mb = 8192\n"
       "incoming_max_vcpus = 8\n"
       "incoming_require_xlmig = 1\n"
       "incoming_require_encrypt = 1\n"
       "limit_in = 3\n");
    assert_int_equal(policy_load(t->t.ctx, &p, &cause), XLMIG_OK);
    assert_int_equal(p.n_disk_paths, 1);
    assert_string_equal(p.disk_paths[0], "/srv/nfs/sr1");
    assert_int_equal(p.n_disk_vgs, 2);
    assert_true(p.bridges_set);
    assert_int_equal(p.allow, POLICY_ALLOW_PCI | POLICY_ALLOW_USB);
    assert_int_equal(p.max_memkb, 8192 * 1024);
    assert_int_equal(p.max_vcpus, 8);
    assert_true(p.require_xlmig && p.require_encrypt);
    assert_int_equal(p.n_boot_paths, 4);       /* untouched default */
    policy_dispose(&p);
    {
        static const struct {
            const char *text, *why;
        } bad[] = {
            { "incoming_disk_paths = [ \"srv/x\" ]\n", "not an absolute" },
            { "incoming_disk_paths = [ \"/srv/../etc\" ]\n", "'..'" },
            { "incoming_disk_paths = \"/srv\"\n", "not a list" },
            { "incoming_allow = [ \"everything\" ]\n", "unknown" },
            { "incoming_max_vcpus = 0\n", "not a number in 1..4096" },
            { "incoming_require_xlmig = 2\n", "0..1" },
            { "incoming_disk_paths = [ \"/srv\"\n", "xlmig.conf:" },
        };
        size_t i;

        for (i = 0; i < ARRAY_SIZE(bad); i++) {
            mk(t, "/xlmig.conf", bad[i].text);
            cause = NULL;
            assert_int_equal(policy_load(t->t.ctx, &p, &cause),
                             XLMIG_E_INVAL);
            if (!cause || !strstr(cause, bad[i].why))
                fail_msg("%s: cause '%s' lacks '%s'", bad[i].text,
                         cause ? cause : "(none)", bad[i].why);
            free(cause);
        }
    }
    unsetenv("XLMIG_CONF");
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_minimal_and_defaults),
        T(test_names),
        T(test_disk_locations),
        T(test_planted_files),
        T(test_lvm_and_dev),
        T(test_backing_files),
        T(test_boot_files),
        T(test_scripts),
        T(test_nics),
        T(test_hardware_and_device_model),
        T(test_xlmig_qmp_monitor),
        T(test_pci),
        T(test_limits),
        T(test_structure),
        T(test_realistic_configs),
        T(test_conf),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
