/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-relink.c - a receiver's stable names for the disks that arrive
 * (job_storage_relink) and a sender's images for its own
 * (job_storage_real_paths): a movable disk (block-xlmig, qdisk) gets
 * LINKDIR/NAME-VDEV naming its image and the config names the link; a
 * link there naming something else stays and the disk keeps its path;
 * hostile names (a vdev or domain name that would leave the directory, a
 * relative path, a path that is itself in the links) make no link; the
 * links made are removed again. The sender's config names the image, not
 * its link.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "domcfg.h"
#include "job-storage.h"
#include "test-util.h"

struct rt {
    struct test_ctx t;
    char dir[64], links[96], img[96];
};

static int setup(void **state)
{
    struct rt *r = calloc(1, sizeof(*r));
    int fd;

    test_ctx_open(&r->t);
    snprintf(r->dir, sizeof(r->dir), "/tmp/xlmig-relink.XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->links, sizeof(r->links), "%s/links", r->dir);
    snprintf(r->img, sizeof(r->img), "%s/a.img", r->dir);
    fd = open(r->img, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    setenv("XLMIG_DISK_LINK_DIR", r->links, 1);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct rt *r = *state;

    unsetenv("XLMIG_DISK_LINK_DIR");
    test_rm_rf(r->dir);
    test_ctx_close(&r->t);
    free(r);
    return 0;
}

/* A libxl JSON config of domain name with one disk. */
static char *cfg(const char *name, const char *vdev, const char *path,
                 const char *extra)
{
    return xasprintf("{\"c_info\": {\"type\": \"pvh\", \"name\": \"%s\"}, "
                     "\"b_info\": {\"max_memkb\": 65536, \"type.pvh\": {}}, "
                     "\"disks\": [{\"pdev_path\": \"%s\", \"vdev\": \"%s\", "
                     "\"format\": \"raw\"%s}]}", name, path, vdev, extra);
}

/* The path disk 0 of json names. */
static char *disk0(const char *json)
{
    struct domcfg c;
    char *why = NULL, *p;

    assert_int_equal(domcfg_parse(json, &c, &why), 0);
    p = xstrdup(c.disks[0].pdev_path);
    domcfg_dispose(&c);
    return p;
}

static void test_movable_disks_get_their_name(void **state)
{
    static const char *const kinds[] = {
        ", \"backend\": \"qdisk\"", ", \"script\": \"block-xlmig\"",
    };
    struct rt *r = *state;
    struct job_links made = { 0 };
    char *json, *p, *link, got[256];
    ssize_t n;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(kinds); i++) {
        json = cfg("vm1", "xvdb", r->img, kinds[i]);
        job_storage_relink(r->t.ctx, "vm1", &json, &made);
        link = xasprintf("%s/vm1-xvdb", r->links);
        p = disk0(json);
        assert_string_equal(p, link);
        n = readlink(link, got, sizeof(got) - 1);
        assert_true(n > 0);
        got[n] = '\0';
        assert_string_equal(got, r->img);
        assert_int_equal(made.n, 1);
        /* The sender's side: the link goes as the image. */
        assert_int_equal(job_storage_real_paths(r->t.ctx, &json), 0);
        free(p);
        p = disk0(json);
        assert_string_equal(p, r->img);
        /* Not arrived: the link goes. */
        job_storage_unlink(r->t.ctx, &made);
        assert_int_equal(access(link, F_OK), -1);
        free(p);
        free(link);
        free(json);
    }
}

static void test_what_gets_no_name(void **state)
{
    struct rt *r = *state;
    struct job_links made = { 0 };
    char *json, *p, *planted, *rel, *inlinks, *other;
    const char *q = ", \"backend\": \"qdisk\"";
    struct stat st;

    /* Neither qdisk nor block-xlmig: left as it is. */
    json = cfg("vm1", "xvdb", r->img, "");
    job_storage_relink(r->t.ctx, "vm1", &json, &made);
    p = disk0(json);
    assert_string_equal(p, r->img);
    free(p);
    free(json);
    /* Hostile names: out of the directory, or not a plain vdev. */
    json = cfg("vm1", "../../x", r->img, q);
    job_storage_relink(r->t.ctx, "vm1", &json, &made);
    free(json);
    json = cfg("../vm1", "xvdb", r->img, q);
    job_storage_relink(r->t.ctx, "../vm1", &json, &made);
    free(json);
    json = cfg(".vm1", "xvdb", r->img, q);
    job_storage_relink(r->t.ctx, ".vm1", &json, &made);
    free(json);
    rel = "a.img";
    json = cfg("vm1", "xvdb", rel, q);
    job_storage_relink(r->t.ctx, "vm1", &json, &made);
    free(json);
    assert_int_equal(made.n, 0);
    assert_int_equal(stat(r->links, &st), -1);
    /* A link there naming something else stays; the disk keeps its
     * path. */
    assert_int_equal(mkdir(r->links, 0755), 0);
    planted = xasprintf("%s/vm1-xvdb", r->links);
    assert_int_equal(symlink("/nonexistent", planted), 0);
    json = cfg("vm1", "xvdb", r->img, q);
    job_storage_relink(r->t.ctx, "vm1", &json, &made);
    p = disk0(json);
    assert_string_equal(p, r->img);
    assert_int_equal(made.n, 0);
    free(p);
    free(json);
    /* One naming the same image is used, and not removed as ours. */
    assert_int_equal(unlink(planted), 0);
    assert_int_equal(symlink(r->img, planted), 0);
    json = cfg("vm1", "xvdb", r->img, q);
    job_storage_relink(r->t.ctx, "vm1", &json, &made);
    p = disk0(json);
    assert_string_equal(p, planted);
    assert_int_equal(made.n, 0);
    job_storage_unlink(r->t.ctx, &made);
    assert_int_equal(access(planted, F_OK), 0);
    free(p);
    free(json);
    /* A path in the links already: not linked again. */
    inlinks = xstrdup(planted);
    json = cfg("vm2", "xvdb", inlinks, q);
    job_storage_relink(r->t.ctx, "vm2", &json, &made);
    other = xasprintf("%s/vm2-xvdb", r->links);
    assert_int_equal(access(other, F_OK), -1);
    assert_int_equal(made.n, 0);
    free(other);
    free(inlinks);
    free(json);
    free(planted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_movable_disks_get_their_name,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_what_gets_no_name, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
