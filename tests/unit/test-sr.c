/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-sr.c - storage repositories (sr.c): declarations parsed strictly,
 * the SRs of xlmig.conf, which SR holds a path, identities written once
 * and read back, damaged identity files refused; and a storage move's
 * journal fields (journal.c) round-trip.
 */
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

#include "journal.h"
#include "sr.h"
#include "test-util.h"

struct st {
    struct test_ctx t;
    char top[64];
};

static int st_setup(void **state)
{
    struct st *s = calloc(1, sizeof(*s));
    char *p;

    assert_non_null(s);
    snprintf(s->top, sizeof(s->top), "/tmp/xlmig-test-sr-XXXXXX");
    assert_non_null(mkdtemp(s->top));
    p = xasprintf("%s/xlmig.conf", s->top);
    setenv("XLMIG_CONF", p, 1);
    free(p);
    p = xasprintf("%s/state", s->top);
    setenv("XLMIG_STATE_DIR", p, 1);
    free(p);
    test_ctx_open(&s->t);
    *state = s;
    return 0;
}

static int st_teardown(void **state)
{
    struct st *s = *state;

    test_ctx_close(&s->t);
    test_rm_rf(s->top);
    free(s);
    return 0;
}

static void put(const char *dir, const char *name, const char *text)
{
    char *p = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(p, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

static void test_parse(void **state)
{
    static const char *const bad[] = {
        "", "sr1", "sr1:dir", "sr1:nfs:/x", ":dir:/x", ".a:dir:/x",
        "-a:dir:/x", "a b:dir:/x", "sr1:dir:relative", "sr1:dir:/",
        "sr1:dir:/a/../b", "sr1:dir:/a/..", "sr1:dir:/a\nb",
        "sr1:lvm:vg/x", "sr1:lvm:", "sr1:lvm:-vg",
        "a234567890123456789012345678901234567890123456789012345678901234"
        ":dir:/x",
    };
    struct sr s;
    char *cause = NULL;
    size_t i;

    (void)state;
    assert_int_equal(sr_parse("gold:dir:/srv/sr/gold//", &s, &cause), 0);
    assert_string_equal(s.name, "gold");
    assert_int_equal(s.type, SR_DIR);
    assert_string_equal(s.loc, "/srv/sr/gold");
    assert_int_equal(sr_parse("san:lvm:vg_san1", &s, &cause), 0);
    assert_int_equal(s.type, SR_LVM);
    assert_string_equal(s.loc, "vg_san1");
    /* a location may hold ':' */
    assert_int_equal(sr_parse("x:dir:/mnt/a:b", &s, &cause), 0);
    assert_string_equal(s.loc, "/mnt/a:b");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(sr_parse(bad[i], &s, &cause), XLMIG_E_INVAL);
        assert_non_null(cause);
        assert_null(strchr(cause, '\n'));
        free(cause);
        cause = NULL;
    }
}

static void test_load_and_paths(void **state)
{
    struct st *s = *state;
    struct sr *list = NULL;
    char *cause = NULL, *text, *a, *b, *link;
    size_t n = 0;

    /* no file: no SRs */
    assert_int_equal(sr_load(s->t.ctx, &list, &n, &cause), 0);
    assert_int_equal(n, 0);
    free(list);
    a = xasprintf("%s/a", s->top);
    b = xasprintf("%s/a/b", s->top);
    assert_int_equal(mkdir(a, 0755), 0);
    assert_int_equal(mkdir(b, 0755), 0);
    text = xasprintf("sr = [ \"a:dir:%s\", \"ab:dir:%s\", "
                     "\"v:lvm:vg0\" ]\n", a, b);
    put(s->top, "xlmig.conf", text);
    free(text);
    assert_int_equal(sr_load(s->t.ctx, &list, &n, &cause), 0);
    assert_int_equal(n, 3);
    assert_non_null(sr_find(list, n, "ab"));
    assert_null(sr_find(list, n, "nosuch"));
    text = xasprintf("%s/x.img", a);
    assert_ptr_equal(sr_of_path(list, n, text), sr_find(list, n, "a"));
    free(text);
    /* the deepest SR wins; the SR's directory itself is no disk */
    text = xasprintf("%s/x.img", b);
    assert_ptr_equal(sr_of_path(list, n, text), sr_find(list, n, "ab"));
    free(text);
    assert_null(sr_of_path(list, n, a));
    /* through a link to the directory */
    link = xasprintf("%s/link", s->top);
    assert_int_equal(symlink(a, link), 0);
    text = xasprintf("%s/y.img", link);
    assert_ptr_equal(sr_of_path(list, n, text), sr_find(list, n, "a"));
    free(text);
    assert_ptr_equal(sr_of_path(list, n, "/dev/vg0/lv1"),
                     sr_find(list, n, "v"));
    assert_null(sr_of_path(list, n, "/dev/vg0/"));
    assert_null(sr_of_path(list, n, "/dev/vg01/lv"));
    assert_null(sr_of_path(list, n, "relative/x.img"));
    free(list);
    /* a name twice, a broken entry: the whole list is refused */
    put(s->top, "xlmig.conf", "sr = [ \"a:dir:/x\", \"a:dir:/y\" ]\n");
    assert_int_equal(sr_load(s->t.ctx, &list, &n, &cause), XLMIG_E_INVAL);
    assert_non_null(strstr(cause, "declared twice"));
    free(cause);
    put(s->top, "xlmig.conf", "sr = [ \"a:dir:/x\", 7 ]\n");
    assert_int_equal(sr_load(s->t.ctx, &list, &n, &cause), XLMIG_E_INVAL);
    free(cause);
    free(link);
    free(a);
    free(b);
}

static void test_identity(void **state)
{
    struct st *s = *state;
    static const char *const damaged[] = {
        "", "xlmig-sr 2\nuuid 6f1d3c4e-0b7a-4a55-9d39-2c1f1f0e8a11\n",
        "xlmig-sr 1\n", "xlmig-sr 1\nuuid nonsense\n",
        "xlmig-sr 1\nuuid 6f1d3c4e-0b7a-4a55-9d39-2c1f1f0e8a11",
        "xlmig-sr 1 \nuuid 6f1d3c4e-0b7a-4a55-9d39-2c1f1f0e8a11\n",
    };
    struct sr sr;
    char uuid[SR_UUID_MAX], again[SR_UUID_MAX], *why = NULL, *decl, *p;
    size_t i;

    decl = xasprintf("s1:dir:%s/s1", s->top);
    assert_int_equal(sr_parse(decl, &sr, &why), 0);
    free(decl);
    /* no directory, then no identity */
    assert_int_equal(sr_identity(s->t.ctx, &sr, uuid, &why),
                     XLMIG_E_NOTFOUND);
    free(why);
    assert_int_equal(sr_create(s->t.ctx, &sr, uuid), XLMIG_E_NOTFOUND);
    assert_int_equal(mkdir(sr.loc, 0755), 0);
    assert_int_equal(sr_identity(s->t.ctx, &sr, uuid, &why),
                     XLMIG_E_NOTFOUND);
    assert_non_null(strstr(why, "sr-create"));
    free(why);
    assert_int_equal(sr_create(s->t.ctx, &sr, uuid), 0);
    assert_int_equal(strlen(uuid), 36);
    assert_int_equal(sr_identity(s->t.ctx, &sr, again, &why), 0);
    assert_string_equal(uuid, again);
    /* once only */
    assert_int_equal(sr_create(s->t.ctx, &sr, again), XLMIG_E_EXISTS);
    p = xasprintf("%s/" SR_ID_FILE, sr.loc);
    for (i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
        assert_int_equal(unlink(p), 0);
        put(sr.loc, SR_ID_FILE, damaged[i]);
        assert_int_equal(sr_identity(s->t.ctx, &sr, again, &why),
                         XLMIG_E_INVAL);
        assert_string_equal(again, "");
        free(why);
        why = NULL;
    }
    /* a link is not followed */
    assert_int_equal(unlink(p), 0);
    assert_int_equal(symlink("/etc/hostname", p), 0);
    assert_int_equal(sr_identity(s->t.ctx, &sr, again, &why),
                     XLMIG_E_INVAL);
    free(why);
    free(p);
}

static void test_journal_storage_fields(void **state)
{
    struct st *s = *state;
    struct journal_rec r, back;
    char *path;

    (void)s;
    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "5f00aa00-1");
    snprintf(r.role, sizeof(r.role), "move");
    snprintf(r.kind, sizeof(r.kind), "storage");
    snprintf(r.phase, sizeof(r.phase), "transfer");
    snprintf(r.name, sizeof(r.name), "vm1");
    snprintf(r.vdev, sizeof(r.vdev), "xvda");
    snprintf(r.src, sizeof(r.src), "/srv/sr1/vm1 disk.img");
    snprintf(r.src_format, sizeof(r.src_format), "raw");
    snprintf(r.part, sizeof(r.part), "/srv/sr2/.xlmig-part-5f00aa00-1-x");
    snprintf(r.dst, sizeof(r.dst), "/srv/sr2/vm1 disk.img");
    snprintf(r.dst_format, sizeof(r.dst_format), "qcow2");
    snprintf(r.cfg, sizeof(r.cfg), "/etc/xen/vm1.cfg");
    r.keep = true;
    r.started = r.updated = 1.5;
    assert_int_equal(journal_write(s->t.ctx, &r), 0);
    path = xasprintf("%s/5f00aa00-1.json", journal_dir());
    assert_int_equal(journal_read(s->t.ctx, path, &back), 0);
    assert_string_equal(back.src, r.src);
    assert_string_equal(back.part, r.part);
    assert_string_equal(back.dst_format, "qcow2");
    assert_string_equal(back.cfg, r.cfg);
    assert_string_equal(back.save, "");
    assert_true(back.keep);
    assert_false(back.offline);
    free(path);
}

/* A storage move's fields in a damaged journal: each refused, one line. */
static void test_journal_storage_damaged(void **state)
{
    struct st *s = *state;
    static const char *const bad[] = {
        "\"keep\": true",         /* the control: this one is good */
        "\"keep\": \"yes\"", "\"offline\": 1", "\"src\": 7",
        "\"vdev\": [\"xvda\"]", "\"dst_format\": \"qcow2qcow2qcow2qc\"",
        "\"part\": null",
    };
    struct journal_rec back;
    char *path, *text, *dir, *vdev;
    size_t i;

    dir = xasprintf("%s/state", s->top);
    assert_int_equal(mkdir(dir, 0700), 0);
    path = xasprintf("%s/5f00aa00-2.json", dir);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        text = xasprintf("{\"version\": 1, \"id\": \"5f00aa00-2\", "
                         "\"role\": \"move\", \"kind\": \"storage\", "
                         "\"phase\": \"transfer\", \"name\": \"v\", "
                         "\"uuid\": \"\", \"peer\": \"\", \"error\": \"\", "
                         "\"domid\": 1, \"go\": false, \"suspended\": false, "
                         "\"started\": 1.5, \"updated\": 1.5, %s}\n", bad[i]);
        put(dir, "5f00aa00-2.json", text);
        assert_int_equal(journal_read(s->t.ctx, path, &back),
                         i ? XLMIG_E_INVAL : XLMIG_OK);
        free(text);
    }
    assert_true(back.keep == false);    /* zeroed by the last refusal */
    /* a path as long as a field holds is refused, not cut */
    vdev = xcalloc(1, 2000);
    memset(vdev, 'a', 1999);
    text = xasprintf("{\"version\": 1, \"id\": \"5f00aa00-2\", "
                     "\"role\": \"move\", \"kind\": \"storage\", "
                     "\"phase\": \"transfer\", \"name\": \"v\", \"uuid\": \"\", "
                     "\"peer\": \"\", \"error\": \"\", \"domid\": 1, "
                     "\"go\": false, \"suspended\": false, \"started\": 1.5, "
                     "\"updated\": 1.5, \"src\": \"/%s\"}\n", vdev);
    put(dir, "5f00aa00-2.json", text);
    assert_int_equal(journal_read(s->t.ctx, path, &back), XLMIG_E_INVAL);
    free(text);
    free(vdev);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test_setup_teardown(test_load_and_paths, st_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_identity, st_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_journal_storage_fields,
                                        st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_journal_storage_damaged,
                                        st_setup, st_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
