/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-smirror-qmp.c - the QMP mover against a real QEMU: qemu-system-
 * x86_64 -M pc -S (no guest runs; the block layer does) with a virtio-blk
 * disk over node "xvdb-raw", as xen-block names its nodes, and serial
 * "xvdb0" standing in for xen-block's vdev (smirror-qmp.h). The "guest"
 * writes through that device (HMP qemu-io on a monitor of the test's
 * own); each write is made to a copy in memory too, which the images
 * must equal. Cases: pivot, detach, cancel, QEMU killed, where and
 * abort, targets refused; and the qmp client's parser and escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "jsonlim.h"
#include "qmp.h"
#include "smirror-qmp.h"
#include "test-util.h"

#define MIB (1u << 20)
#define DISK_SIZE (64 * MIB)
#define SLOW (64 * 1024)        /* bytes/s: the mirror stays running */
#define QDEV "/machine/peripheral/vdisk/virtio-backend"
#define JOB "xlmig-xvdb"
#define TGT_NODE "xlmig-tgt-xvdb"
#define N_MON 3                 /* the mover's, the test's, recover's */

struct st {
    struct test_ctx t;
    char dir[PATH_MAX];
    char *src, *tgt;
    char *mon[N_MON];
    pid_t qemu;
    struct qmp *q;              /* the test's own monitor */
    uint8_t *disk;              /* the disk as the guest wrote it */
    uint64_t seed;
};

#define MOVER(s) ((s)->mon[0])
#define RECOVER(s) ((s)->mon[2])

static double in_s(struct st *s, double secs)
{
    return ctx_now(s->t.ctx) + secs;
}

static void fill_random(struct st *s, uint8_t *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        s->seed ^= s->seed << 13;
        s->seed ^= s->seed >> 7;
        s->seed ^= s->seed << 17;
        b[i] = (uint8_t)(s->seed | 1);
    }
}

static char *path(struct st *s, const char *name)
{
    return xasprintf("%s/%s", s->dir, name);
}

static void make_file(const char *p, uint64_t size, const uint8_t *data)
{
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    uint64_t off;

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    /* Only the blocks holding data: the rest stays a hole. */
    for (off = 0; data && off < size; off += MIB) {
        static const uint8_t zero[MIB];

        if (memcmp(data + off, zero, MIB))
            assert_int_equal(pwrite(fd, data + off, MIB, (off_t)off), MIB);
    }
    assert_int_equal(close(fd), 0);
}

static uint8_t *read_all(const char *p, uint64_t size)
{
    uint8_t *b = malloc(size);
    int fd = open(p, O_RDONLY);

    assert_non_null(b);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, size, 0), (ssize_t)size);
    close(fd);
    return b;
}

/* Whether file p holds exactly the n bytes of want. */
static bool file_is(const char *p, const uint8_t *want, uint64_t n)
{
    uint8_t *got = read_all(p, n);
    struct stat st;
    bool eq;

    assert_int_equal(stat(p, &st), 0);
    eq = (uint64_t)st.st_size == n && !memcmp(got, want, n);
    free(got);
    return eq;
}

/* ---- QEMU ---- */

/* A listening socket at p, inherited by QEMU (no O_CLOEXEC). */
static int listen_at(const char *p)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_true(strlen(p) < sizeof(sa.sun_path));
    strcpy(sa.sun_path, p);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static char *blockdev_json(const char *node, const char *file)
{
    struct qmp_args *a = qmp_args_new();
    char *json;

    qmp_args_str(a, "driver", "raw");
    qmp_args_str(a, "node-name", node);
    qmp_args_open(a, "file");
    qmp_args_str(a, "driver", "file");
    qmp_args_str(a, "filename", file);
    qmp_args_close(a);
    json = qmp_args_end(a);
    assert_non_null(json);
    return json;
}

static void exec_qemu(struct st *s, const int *lfd)
{
    char *argv[32], *mon[N_MON * 2];
    int i, n = 0, log;

    /* If the test dies, so does its QEMU. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!getenv("XLMIG_TEST_LOG")) {
        log = open(path(s, "qemu.log"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (log < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) _exit(126);
    }
    argv[n++] = "qemu-system-x86_64";
    argv[n++] = "-M";
    argv[n++] = "pc";
    argv[n++] = "-m";
    argv[n++] = "16";
    argv[n++] = "-S";
    argv[n++] = "-nodefaults";
    argv[n++] = "-no-user-config";
    argv[n++] = "-display";
    argv[n++] = "none";
    argv[n++] = "-blockdev";
    argv[n++] = blockdev_json("xvdb-raw", s->src);
    argv[n++] = "-device";
    argv[n++] = "virtio-blk-pci,drive=xvdb-raw,id=vdisk,serial=xvdb0";
    /* Another disk whose name starts like ours: never taken for it. */
    argv[n++] = "-blockdev";
    argv[n++] = blockdev_json("other-raw", path(s, "other.img"));
    argv[n++] = "-device";
    argv[n++] = "virtio-blk-pci,drive=other-raw,id=vdisk2,serial=xvdb1";
    for (i = 0; i < N_MON; i++) {
        mon[2 * i] = xasprintf("socket,id=m%d,fd=%d,server=on,wait=off", i,
                               lfd[i]);
        mon[2 * i + 1] = xasprintf("chardev=m%d,mode=control", i);
        argv[n++] = "-chardev";
        argv[n++] = mon[2 * i];
        argv[n++] = "-mon";
        argv[n++] = mon[2 * i + 1];
    }
    argv[n] = NULL;
    execvp(argv[0], argv);
    fprintf(stderr, "cannot run qemu-system-x86_64 (a build dependency:"
            " scripts/install-deps)\n");
    _exit(127);
}

static void start_qemu(struct st *s)
{
    int lfd[N_MON], i, rc;

    for (i = 0; i < N_MON; i++)
        lfd[i] = listen_at(s->mon[i]);
    s->qemu = fork();
    assert_true(s->qemu >= 0);
    if (s->qemu == 0) exec_qemu(s, lfd);
    for (i = 0; i < N_MON; i++)
        close(lfd[i]);
    rc = qmp_connect(s->t.ctx, s->mon[1], in_s(s, 30), &s->q);
    if (rc)
        fprintf(stderr, "qemu-system-x86_64 did not answer (see %s/qemu.log)"
                "\n", s->dir);
    assert_int_equal(rc, XLMIG_OK);
}

static void kill_qemu(struct st *s)
{
    if (s->qemu <= 0) return;
    kill(s->qemu, SIGKILL);
    while (waitpid(s->qemu, NULL, 0) < 0 && errno == EINTR)
        ;
    s->qemu = -1;
}

/* A command on the test's monitor; its reply (free it). */
static yajl_val tq(struct st *s, const char *command, struct qmp_args *a)
{
    char *args = a ? qmp_args_end(a) : NULL;
    yajl_val reply = NULL;

    assert_true(!a || args);
    assert_int_equal(qmp_exec(s->t.ctx, s->q, command, args, in_s(s, 30),
                              &reply), XLMIG_OK);
    free(args);
    return reply;
}

/* The guest writes n bytes of byte at off through its disk (0: write
 * zeroes), and so does the copy in memory. */
static void guest_write(struct st *s, uint64_t off, size_t n, uint8_t byte)
{
    struct qmp_args *a = qmp_args_new();
    yajl_val reply;
    char *cmd;

    if (byte)
        cmd = xasprintf("qemu-io -d " QDEV " \"write -P 0x%02x %" PRIu64
                        " %zu\"", byte, off, n);
    else
        cmd = xasprintf("qemu-io -d " QDEV " \"write -z %" PRIu64 " %zu\"",
                        off, n);
    qmp_args_str(a, "command-line", cmd);
    reply = tq(s, "human-monitor-command", a);
    /* qemu-io reports to QEMU's stderr; HMP itself only a bad device. */
    assert_true(YAJL_IS_STRING(qmp_return(reply)));
    assert_string_equal(YAJL_GET_STRING(qmp_return(reply)), "");
    yajl_tree_free(reply);
    free(cmd);
    memset(s->disk + off, byte, n);
}

static void set_speed(struct st *s, uint64_t speed)
{
    struct qmp_args *a = qmp_args_new();

    qmp_args_str(a, "device", JOB);
    qmp_args_u64(a, "speed", speed);
    yajl_tree_free(tq(s, "block-job-set-speed", a));
}

/* Lets the mirror run at full speed and waits until it is in sync. */
static void run_to_ready(struct st *s, struct smirror *m)
{
    struct smirror_status st;

    set_speed(s, 0);
    assert_int_equal(qmp_event_wait(s->t.ctx, s->q, "BLOCK_JOB_READY", JOB,
                                    in_s(s, 30), NULL), XLMIG_OK);
    assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_OK);
    assert_true(st.ready);
    assert_int_equal(st.done, st.total);
    assert_true(st.total >= DISK_SIZE);
}

/* Whether QEMU's block graph holds a node of that name. */
static bool has_node(struct st *s, const char *node)
{
    struct qmp_args *a = qmp_args_new();
    yajl_val reply, list;
    const char *name;
    bool found = false;
    size_t i;

    qmp_args_bool(a, "flat", true);
    reply = tq(s, "query-named-block-nodes", a);
    list = qmp_return(reply);
    assert_true(YAJL_IS_ARRAY(list));
    for (i = 0; i < list->u.array.len; i++) {
        name = qmp_msg_get_str(list->u.array.values[i], "node-name");
        found = found || (name && !strcmp(name, node));
    }
    yajl_tree_free(reply);
    return found;
}

static size_t n_jobs(struct st *s)
{
    yajl_val reply = tq(s, "query-jobs", NULL);
    size_t n;

    assert_true(YAJL_IS_ARRAY(qmp_return(reply)));
    n = qmp_return(reply)->u.array.len;
    yajl_tree_free(reply);
    return n;
}

/* The disk's root node as query-block shows it (allocated). */
static char *disk_node(struct st *s)
{
    yajl_val reply = tq(s, "query-block", NULL), list = qmp_return(reply), e;
    const char *node = NULL, *qdev;
    char *out;
    size_t i;

    assert_true(YAJL_IS_ARRAY(list));
    for (i = 0; i < list->u.array.len; i++) {
        e = list->u.array.values[i];
        qdev = qmp_msg_get_str(e, "qdev");
        if (qdev && !strcmp(qdev, QDEV))
            node = qmp_msg_get_str(qmp_msg_get(e, "inserted"), "node-name");
    }
    assert_non_null(node);
    out = xstrdup(node);
    yajl_tree_free(reply);
    return out;
}

static void assert_disk_node(struct st *s, const char *want)
{
    char *node = disk_node(s);

    assert_string_equal(node, want);
    free(node);
}

/* Whether QEMU has file p open (/proc/PID/fd). */
static bool qemu_holds(struct st *s, const char *p)
{
    char *dir = xasprintf("/proc/%d/fd", (int)s->qemu), *link;
    char target[PATH_MAX];
    struct dirent *de;
    bool found = false;
    DIR *d = opendir(dir);
    ssize_t n;

    assert_non_null(d);
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        link = xasprintf("%s/%s", dir, de->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        free(link);
        if (n < 0) continue;
        target[n] = '\0';
        found = found || !strcmp(target, p);
    }
    closedir(d);
    free(dir);
    return found;
}

static enum smirror_where where(struct st *s, const char *tgt)
{
    enum smirror_where w = SMIRROR_ON_SOURCE;

    assert_int_equal(smirror_qmp_where_prop(s->t.ctx, RECOVER(s), "xvdb",
                                            "serial", s->src, tgt, &w),
                     XLMIG_OK);
    return w;
}

static struct smirror *start(struct st *s, const char *tgt, uint64_t bw)
{
    struct smirror *m = NULL;

    assert_int_equal(smirror_qmp_start_prop(s->t.ctx, MOVER(s), "xvdb",
                                            "serial", tgt, "raw", bw, &m),
                     XLMIG_OK);
    assert_non_null(m);
    return m;
}

/* Start refused with rc, and nothing of ours left in QEMU. */
static void start_refused(struct st *s, const char *sock, const char *vdev,
                          const char *tgt, int rc)
{
    struct smirror *m = NULL;

    assert_int_equal(smirror_qmp_start_prop(s->t.ctx, sock, vdev, "serial",
                                            tgt, "raw", 0, &m), rc);
    assert_null(m);
    assert_false(has_node(s, TGT_NODE));
}

/* ---- fixture ---- */

static int setup_dir(void **state)
{
    struct st *s = calloc(1, sizeof(*s));
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
    char *dir, *other;
    int i;

    if (!s) return -1;
    test_ctx_open(&s->t);
    dir = xasprintf("%s/test-smirror-qmp.XXXXXX", tmp);
    if (!mkdtemp(dir) || !realpath(dir, s->dir)) return -1;
    free(dir);
    s->seed = 0x9e3779b97f4a7c15ULL;
    s->src = path(s, "src.img");
    s->tgt = path(s, "tgt.img");
    for (i = 0; i < N_MON; i++)
        s->mon[i] = xasprintf("%s/mon%d.sock", s->dir, i);
    /* Data, holes, data at the very end. */
    s->disk = calloc(1, DISK_SIZE);
    if (!s->disk) return -1;
    fill_random(s, s->disk, 2 * MIB);
    fill_random(s, s->disk + 20 * MIB, MIB);
    fill_random(s, s->disk + DISK_SIZE - MIB, MIB);
    make_file(s->src, DISK_SIZE, s->disk);
    make_file(s->tgt, DISK_SIZE, NULL);
    other = path(s, "other.img");
    make_file(other, MIB, NULL);
    free(other);
    *state = s;
    return 0;
}

static int setup(void **state)
{
    if (setup_dir(state)) return -1;
    start_qemu(*state);
    return 0;
}

static int teardown(void **state)
{
    struct st *s = *state;
    int i;

    qmp_close(s->q);
    kill_qemu(s);
    test_rm_rf(s->dir);
    test_ctx_close(&s->t);
    for (i = 0; i < N_MON; i++)
        free(s->mon[i]);
    free(s->src);
    free(s->tgt);
    free(s->disk);
    free(s);
    return 0;
}

/* ---- cases ---- */

/* The live move: writes while copying and while in sync reach the
 * target; after the switch the guest writes the target alone, and QEMU
 * has let go of the source. */
static void test_pivot(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s, s->tgt, SLOW);
    struct smirror_status st;
    uint8_t *before;

    assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_OK);
    /* Copied or not, it sleeps off its rate before it can be ready; its
     * total is 0 until it has looked at the disk. */
    assert_false(st.ready);
    assert_true(st.total == 0 || st.total == DISK_SIZE);
    assert_true(st.done <= st.total);
    assert_int_equal(smirror_pivot(s->t.ctx, m), XLMIG_E_INVAL);
    guest_write(s, MIB, 64 * 1024, 0x5a);           /* over data */
    guest_write(s, 30 * MIB, 128 * 1024, 0x6b);     /* into a hole */
    guest_write(s, 0, 4096, 0);                     /* zeroes */
    assert_int_equal(where(s, s->tgt), SMIRROR_MIRRORING);
    run_to_ready(s, m);
    guest_write(s, 40 * MIB, 64 * 1024, 0x11);      /* while in sync */
    assert_int_equal(smirror_pivot(s->t.ctx, m), XLMIG_OK);
    before = malloc(DISK_SIZE);
    assert_non_null(before);
    memcpy(before, s->disk, DISK_SIZE);
    guest_write(s, 50 * MIB, 64 * 1024, 0x22);      /* the target only */
    assert_true(file_is(s->tgt, s->disk, DISK_SIZE));
    assert_true(file_is(s->src, before, DISK_SIZE));
    assert_disk_node(s, TGT_NODE);
    assert_false(has_node(s, "xvdb-raw"));
    assert_false(qemu_holds(s, s->src));
    assert_true(qemu_holds(s, s->tgt));
    assert_int_equal(n_jobs(s), 0);
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_OK);    /* no-op */
    smirror_free(s->t.ctx, m);
    assert_true(file_is(s->tgt, s->disk, DISK_SIZE));
    assert_int_equal(where(s, s->tgt), SMIRROR_ON_TARGET);
    /* Nothing of a mirror left: abort has nothing to do (recover asks
     * where the disk is first, and finishes such a move forward). */
    assert_int_equal(smirror_qmp_abort_prop(s->t.ctx, RECOVER(s), "xvdb",
                                            "serial"), XLMIG_OK);
    assert_disk_node(s, TGT_NODE);
    free(before);
}

/* Moves one after the other: an earlier move's target stays the disk's
 * node, so the next target takes the other name, and back again. */
static void test_pivot_again(void **state)
{
    struct st *s = *state;
    char *t[3] = { path(s, "t1.img"), path(s, "t2.img"), path(s, "t3.img") };
    const char *node[3] = { TGT_NODE, "xlmig-tgu-xvdb", TGT_NODE };
    const char *from = s->src;
    enum smirror_where w;
    struct smirror *m;
    int i;

    for (i = 0; i < 3; i++) {
        make_file(t[i], DISK_SIZE, NULL);
        m = start(s, t[i], SLOW);
        guest_write(s, (uint64_t)(i + 1) * MIB, 4096, (uint8_t)(0x30 + i));
        assert_int_equal(smirror_qmp_where_prop(s->t.ctx, RECOVER(s), "xvdb",
                                                "serial", from, t[i], &w),
                         XLMIG_OK);
        assert_int_equal(w, SMIRROR_MIRRORING);
        run_to_ready(s, m);
        assert_int_equal(smirror_pivot(s->t.ctx, m), XLMIG_OK);
        smirror_free(s->t.ctx, m);
        assert_disk_node(s, node[i]);
        assert_false(qemu_holds(s, from));
        assert_true(file_is(t[i], s->disk, DISK_SIZE));
        assert_int_equal(smirror_qmp_where_prop(s->t.ctx, RECOVER(s), "xvdb",
                                                "serial", from, t[i], &w),
                         XLMIG_OK);
        assert_int_equal(w, SMIRROR_ON_TARGET);
        from = t[i];
    }
    /* A leftover target next to the disk's node is found by abort. */
    make_file(s->tgt, DISK_SIZE, NULL);
    m = start(s, s->tgt, SLOW);
    assert_disk_node(s, TGT_NODE);
    assert_true(has_node(s, "xlmig-tgu-xvdb"));
    assert_int_equal(smirror_qmp_abort_prop(s->t.ctx, RECOVER(s), "xvdb",
                                            "serial"), XLMIG_OK);
    assert_false(has_node(s, "xlmig-tgu-xvdb"));
    assert_int_equal(n_jobs(s), 0);
    assert_disk_node(s, TGT_NODE);
    smirror_free(s->t.ctx, m);
    for (i = 0; i < 3; i++)
        free(t[i]);
}

/* The migration's stop: the target is the disk as of the stop, later
 * writes go to the source alone. The target's name needs escaping. */
static void test_detach(void **state)
{
    struct st *s = *state;
    char *tgt = path(s, "t\"a\\b\n.img");
    struct smirror *m;
    uint8_t *copy;

    make_file(tgt, DISK_SIZE, NULL);
    m = start(s, tgt, SLOW);
    guest_write(s, 20 * MIB + 512, 8192, 0x77);
    assert_int_equal(smirror_detach(s->t.ctx, m), XLMIG_E_INVAL);
    run_to_ready(s, m);
    guest_write(s, 33 * MIB, 64 * 1024, 0x44);
    copy = malloc(DISK_SIZE);
    assert_non_null(copy);
    memcpy(copy, s->disk, DISK_SIZE);
    assert_true(qemu_holds(s, tgt));
    assert_int_equal(smirror_detach(s->t.ctx, m), XLMIG_OK);
    guest_write(s, 5 * MIB, 64 * 1024, 0x33);       /* the source only */
    assert_true(file_is(tgt, copy, DISK_SIZE));
    assert_true(file_is(s->src, s->disk, DISK_SIZE));
    assert_false(has_node(s, TGT_NODE));
    assert_false(qemu_holds(s, tgt));
    assert_true(qemu_holds(s, s->src));
    assert_disk_node(s, "xvdb-raw");
    assert_int_equal(n_jobs(s), 0);
    smirror_free(s->t.ctx, m);
    assert_int_equal(where(s, tgt), SMIRROR_ON_SOURCE);
    free(copy);
    free(tgt);
}

/* Abandoned while copying: the source as the guest wrote it, nothing of
 * the mirror left; a second cancel does nothing. */
static void test_cancel(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s, s->tgt, SLOW);
    struct smirror_status st;

    guest_write(s, 3 * MIB, 64 * 1024, 0x3c);
    assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_OK);
    assert_false(st.ready);
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_OK);
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_OK);
    guest_write(s, 4 * MIB, 64 * 1024, 0x3d);
    assert_true(file_is(s->src, s->disk, DISK_SIZE));
    assert_false(has_node(s, TGT_NODE));
    assert_false(qemu_holds(s, s->tgt));
    assert_int_equal(n_jobs(s), 0);
    assert_disk_node(s, "xvdb-raw");
    assert_int_equal(where(s, s->tgt), SMIRROR_ON_SOURCE);
    smirror_free(s->t.ctx, m);
}

/* The job fails under the mirror (here someone cancels it): poll says
 * so, and a cancel leaves nothing. */
static void test_job_failed(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s, s->tgt, SLOW);
    struct smirror_status st;
    struct qmp_args *a = qmp_args_new();

    qmp_args_str(a, "device", JOB);
    qmp_args_bool(a, "force", true);
    yajl_tree_free(tq(s, "block-job-cancel", a));
    assert_int_equal(qmp_event_wait(s->t.ctx, s->q, "BLOCK_JOB_CANCELLED",
                                    JOB, in_s(s, 30), NULL), XLMIG_OK);
    assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_E_STORAGE);
    assert_int_equal(n_jobs(s), 1);     /* concluded, not dismissed */
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_OK);
    assert_int_equal(n_jobs(s), 0);
    assert_false(has_node(s, TGT_NODE));
    assert_disk_node(s, "xvdb-raw");
    smirror_free(s->t.ctx, m);
}

/* QEMU dies mid-mirror: a clean error, and freeing does not hang. */
static void test_qemu_killed(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s, s->tgt, SLOW);
    struct smirror_status st;
    enum smirror_where w;
    double t0;

    kill_qemu(s);
    assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_E_PEER);
    t0 = in_s(s, 0);
    smirror_free(s->t.ctx, m);
    assert_true(in_s(s, 0) - t0 < 10);
    assert_int_equal(smirror_qmp_where_prop(s->t.ctx, RECOVER(s), "xvdb",
                                            "serial", s->src, s->tgt, &w),
                     XLMIG_E_NOTFOUND);
    assert_int_equal(smirror_qmp_abort_prop(s->t.ctx, RECOVER(s), "xvdb",
                                            "serial"), XLMIG_E_NOTFOUND);
}

/* What a crashed xlmig left (a job and node of ours) is seen by where()
 * and ended by abort(); a second mirror of the disk is refused. */
static void test_where_abort(void **state)
{
    struct st *s = *state;
    char *nosock = path(s, "none.sock");
    struct qmp_args *a;
    struct smirror *m;
    struct smirror_status st;
    enum smirror_where w;

    assert_int_equal(where(s, s->tgt), SMIRROR_ON_SOURCE);
    assert_int_equal(smirror_qmp_where_prop(s->t.ctx, RECOVER(s), "xvdc",
                                            "serial", s->src, s->tgt, &w),
                     XLMIG_E_NOTFOUND);
    assert_int_equal(smirror_qmp_where_prop(s->t.ctx, nosock, "xvdb",
                                            "serial", s->src, s->tgt, &w),
                     XLMIG_E_NOTFOUND);
    assert_int_equal(smirror_qmp_abort_prop(s->t.ctx, RECOVER(s), "xvdb",
                                            "serial"), XLMIG_OK);
    /* As a previous xlmig would have left it. */
    a = qmp_args_new();
    qmp_args_str(a, "driver", "raw");
    qmp_args_str(a, "node-name", TGT_NODE);
    qmp_args_open(a, "file");
    qmp_args_str(a, "driver", "file");
    qmp_args_str(a, "filename", s->tgt);
    qmp_args_close(a);
    yajl_tree_free(tq(s, "blockdev-add", a));
    a = qmp_args_new();
    qmp_args_str(a, "job-id", JOB);
    qmp_args_str(a, "device", "xvdb-raw");
    qmp_args_str(a, "target", TGT_NODE);
    qmp_args_str(a, "sync", "full");
    qmp_args_u64(a, "speed", SLOW);
    qmp_args_bool(a, "auto-dismiss", false);
    yajl_tree_free(tq(s, "blockdev-mirror", a));
    assert_int_equal(where(s, s->tgt), SMIRROR_MIRRORING);
    assert_int_equal(smirror_qmp_start_prop(s->t.ctx, MOVER(s), "xvdb",
                                            "serial", s->tgt, "raw", 0, &m),
                     XLMIG_E_BUSY);
    assert_int_equal(smirror_qmp_abort_prop(s->t.ctx, RECOVER(s), "xvdb",
                                            "serial"), XLMIG_OK);
    assert_int_equal(n_jobs(s), 0);
    assert_false(has_node(s, TGT_NODE));
    assert_int_equal(where(s, s->tgt), SMIRROR_ON_SOURCE);
    assert_int_equal(smirror_qmp_abort_prop(s->t.ctx, RECOVER(s), "xvdb",
                                            "serial"), XLMIG_OK);
    /* Ended under a live mirror: it reports the job gone. */
    m = start(s, s->tgt, SLOW);
    assert_int_equal(smirror_qmp_abort_prop(s->t.ctx, RECOVER(s), "xvdb",
                                            "serial"), XLMIG_OK);
    assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_E_STORAGE);
    smirror_free(s->t.ctx, m);
    assert_int_equal(n_jobs(s), 0);
    assert_false(has_node(s, TGT_NODE));
    assert_disk_node(s, "xvdb-raw");
    free(nosock);
}

/* Targets QEMU cannot mirror to are refused with nothing left; a larger
 * raw target (an LV rounded up) is cut to the disk's size. */
static void test_targets(void **state)
{
    struct st *s = *state;
    char *small = path(s, "small.img"), *big = path(s, "big.img");
    char *missing = path(s, "missing.img"), *bad = path(s, "bad\xff.img");
    struct smirror *m;
    uint8_t *b;

    make_file(small, DISK_SIZE / 2, NULL);
    make_file(big, DISK_SIZE + 16 * MIB, NULL);
    make_file(bad, DISK_SIZE, NULL);
    start_refused(s, MOVER(s), "xvdb", small, XLMIG_E_STORAGE);
    start_refused(s, MOVER(s), "xvdb", missing, XLMIG_E_STORAGE);
    start_refused(s, MOVER(s), "xvdb", bad, XLMIG_E_INVAL);
    start_refused(s, MOVER(s), "xvdb", "rel.img", XLMIG_E_INVAL);
    start_refused(s, MOVER(s), "xvd/b", s->tgt, XLMIG_E_INVAL);
    start_refused(s, MOVER(s), "xvdc", s->tgt, XLMIG_E_NOTFOUND);
    assert_int_equal(n_jobs(s), 0);
    assert_false(qemu_holds(s, small));
    m = start(s, big, 0);
    assert_int_equal(qmp_event_wait(s->t.ctx, s->q, "BLOCK_JOB_READY", JOB,
                                    in_s(s, 30), NULL), XLMIG_OK);
    assert_int_equal(smirror_poll(s->t.ctx, m, &(struct smirror_status){0}),
                     XLMIG_OK);
    assert_int_equal(smirror_detach(s->t.ctx, m), XLMIG_OK);
    smirror_free(s->t.ctx, m);
    b = read_all(big, DISK_SIZE);
    assert_memory_equal(b, s->disk, DISK_SIZE);
    free(b);
    assert_int_equal(n_jobs(s), 0);
    free(small);
    free(big);
    free(missing);
    free(bad);
}

/* An emulated disk on the same image beside ours (what an HVM guest that
 * has not unplugged its emulated drive looks like): no mirror, which
 * would leave that one on the source. */
static void test_shared_image(void **state)
{
    struct st *s = *state;
    struct qmp_args *a = qmp_args_new();

    qmp_args_str(a, "driver", "raw");
    qmp_args_str(a, "node-name", "emul-raw");
    qmp_args_bool(a, "read-only", true);
    qmp_args_open(a, "file");
    qmp_args_str(a, "driver", "file");
    qmp_args_str(a, "filename", s->src);
    qmp_args_str(a, "locking", "off");
    qmp_args_close(a);
    yajl_tree_free(tq(s, "blockdev-add", a));
    a = qmp_args_new();
    qmp_args_str(a, "driver", "virtio-blk-pci");
    qmp_args_str(a, "drive", "emul-raw");
    qmp_args_str(a, "id", "emul");
    yajl_tree_free(tq(s, "device_add", a));
    start_refused(s, MOVER(s), "xvdb", s->tgt, XLMIG_E_BUSY);
    assert_int_equal(n_jobs(s), 0);
    assert_false(qemu_holds(s, s->tgt));
}

/* Arms a write threshold on the source node: the next guest write past
 * it makes QEMU send BLOCK_WRITE_THRESHOLD (once). */
static void arm_threshold(struct st *s)
{
    struct qmp_args *a = qmp_args_new();

    qmp_args_str(a, "node-name", "xvdb-raw");
    qmp_args_u64(a, "write-threshold", MIB);
    yajl_tree_free(tq(s, "block-set-write-threshold", a));
}

/* The client: QEMU's error reply; events that come while a command waits
 * for its reply are queued, at most QMP_EVENTS_MAX of them. */
static void test_client(void **state)
{
    struct st *s = *state;
    struct qmp_args *a = qmp_args_new();
    yajl_val reply = NULL, ev = NULL;
    char *args, *err = NULL;
    unsigned i;

    qmp_args_str(a, "node-name", "no-such-node");
    args = qmp_args_end(a);
    assert_int_equal(qmp_exec_try(s->t.ctx, s->q, "blockdev-del", args,
                                  in_s(s, 30), &reply, &err),
                     XLMIG_E_STORAGE);
    assert_null(reply);
    assert_non_null(strstr(err, "GenericError: "));
    assert_non_null(strstr(err, "no-such-node"));
    free(err);
    assert_int_equal(qmp_exec(s->t.ctx, s->q, "blockdev-del", args,
                              in_s(s, 30), NULL), XLMIG_E_STORAGE);
    free(args);
    /* Nothing comes: the deadline, not a hang. */
    assert_int_equal(qmp_event_wait(s->t.ctx, s->q, "BLOCK_WRITE_THRESHOLD",
                                    NULL, in_s(s, 0.2), NULL),
                     XLMIG_E_TIMEDOUT);
    arm_threshold(s);
    guest_write(s, 2 * MIB, 4096, 0x01);
    assert_int_equal(qmp_event_wait(s->t.ctx, s->q, "BLOCK_WRITE_THRESHOLD",
                                    NULL, in_s(s, 30), &ev), XLMIG_OK);
    assert_string_equal(qmp_msg_get_str(qmp_event_data(ev), "node-name"),
                        "xvdb-raw");
    yajl_tree_free(ev);
    for (i = 0; i < QMP_EVENTS_MAX + 6; i++) {
        arm_threshold(s);
        guest_write(s, 2 * MIB, 4096, (uint8_t)(i + 2));
    }
    for (i = 0; i < QMP_EVENTS_MAX; i++)
        assert_int_equal(qmp_event_wait(s->t.ctx, s->q,
                                        "BLOCK_WRITE_THRESHOLD", NULL,
                                        in_s(s, 0), NULL), XLMIG_OK);
    assert_int_equal(qmp_event_wait(s->t.ctx, s->q, "BLOCK_WRITE_THRESHOLD",
                                    NULL, in_s(s, 0.2), NULL),
                     XLMIG_E_TIMEDOUT);
    assert_true(file_is(s->src, s->disk, DISK_SIZE));
}

/* ---- the client against a QMP server of the test's own ---- */

static void fake_write(int fd, const char *text, size_t len)
{
    ssize_t r;

    while (len) {
        r = write(fd, text, len);
        if (r <= 0) return;     /* the client gave up: fine */
        text += r;
        len -= (size_t)r;
    }
}

static void fake_printf(int fd, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void fake_printf(int fd, const char *fmt, ...)
{
    va_list ap;
    char *text;

    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0) _exit(3);
    va_end(ap);
    fake_write(fd, text, strlen(text));
    free(text);
}

/* Reads a command, which must be want; its id (allocated). */
static char *fake_read(int fd, const char *want)
{
    char line[4096], c, *why = NULL, *id;
    const char *cmd;
    yajl_val root;
    size_t n = 0;

    while (n < sizeof(line) - 1 && read(fd, &c, 1) == 1 && c != '\n')
        line[n++] = c;
    line[n] = '\0';
    root = jsonlim_parse(line, sizeof(line), 8, &why);
    cmd = qmp_msg_get_str(root, "execute");
    if (!cmd || strcmp(cmd, want) || !qmp_msg_get_str(root, "id")) _exit(2);
    id = strdup(qmp_msg_get_str(root, "id"));
    yajl_tree_free(root);
    return id;
}

static void fake_until_eof(int fd)
{
    char c;

    while (read(fd, &c, 1) == 1)
        ;
    close(fd);
}

static int fake_greet(int lfd)
{
    int fd = accept(lfd, NULL, NULL);
    char *id;

    if (fd < 0) _exit(4);
    fake_printf(fd, "{\"QMP\": {\"version\"");      /* in two pieces */
    fake_printf(fd, ": {}, \"capabilities\": []}}\r\n");
    id = fake_read(fd, "qmp_capabilities");
    fake_printf(fd, "{\"return\": {}, \"id\": \"%s\"}\r\n", id);
    free(id);
    return fd;
}

/* The first client: what QEMU may send, framed as it may come. */
static void fake_session(int lfd)
{
    int fd = fake_greet(lfd);
    char *id, *late, *big;

    id = fake_read(fd, "query-a");
    fake_printf(fd, "{\"event\": \"E1\", \"data\": {\"id\": \"j\"}}\r\n"
                "{\"return\": 1, \"id\": \"stale\"}\r\n{\"return\": 2}\r\n"
                "\r\n{\"return\": 3, \"id\": \"%s\"}\r\n{\"event\": \"E2\"",
                id);
    free(id);
    id = fake_read(fd, "query-b");
    fake_printf(fd, "}\n{\"id\": \"%s\", \"error\": {\"class\":"
                " \"GenericError\", \"desc\": \"bad\\u001b[31m\\nline\"}}\r\n",
                id);
    free(id);
    id = fake_read(fd, "query-c");
    fake_printf(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\":"
                " \"JSON parse error\"}}\r\n");
    free(id);
    late = fake_read(fd, "query-d");                 /* no reply in time */
    id = fake_read(fd, "query-e");
    fake_printf(fd, "{\"return\": 4, \"id\": \"%s\"}\r\n"
                "{\"return\": 5, \"id\": \"%s\"}\r\n", late, id);
    free(late);
    free(id);
    id = fake_read(fd, "query-big");
    free(id);
    big = malloc(QMP_MSG_LINE_MAX + 16);
    if (!big) _exit(3);
    memset(big, ' ', QMP_MSG_LINE_MAX + 16);
    big[0] = '{';
    fake_write(fd, big, QMP_MSG_LINE_MAX + 16);
    free(big);
    fake_until_eof(fd);
}

static void fake_server(int lfd)
{
    int fd;
    char *id;

    signal(SIGPIPE, SIG_IGN);
    fake_session(lfd);
    fd = accept(lfd, NULL, NULL);       /* a client it never greets */
    if (fd < 0) _exit(4);
    fake_until_eof(fd);
    fd = fake_greet(lfd);               /* dies in the middle of a reply */
    id = fake_read(fd, "query-f");
    fake_printf(fd, "{\"return\": {\"id\": \"%s\"", id);
    free(id);
    close(fd);
    _exit(0);
}

static void test_client_framing(void **state)
{
    struct st *s = *state;
    char sock[PATH_MAX + 16], *err = NULL;
    struct qmp *q = NULL;
    yajl_val reply = NULL;
    int lfd, status;
    pid_t pid;

    /* On the stack: the server child leaves by _exit(), leaking nothing. */
    snprintf(sock, sizeof(sock), "%s/fake.sock", s->dir);
    lfd = listen_at(sock);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) fake_server(lfd);
    close(lfd);
    assert_int_equal(qmp_connect(s->t.ctx, sock, in_s(s, 30), &q), XLMIG_OK);
    /* An event, a stale reply, one without id, an empty line, then the
     * reply, and half an event in the same read. */
    assert_int_equal(qmp_exec(s->t.ctx, q, "query-a", NULL, in_s(s, 30),
                              &reply), XLMIG_OK);
    assert_int_equal(YAJL_GET_INTEGER(qmp_return(reply)), 3);
    yajl_tree_free(reply);
    /* QEMU's reason, made printable. */
    assert_int_equal(qmp_exec_try(s->t.ctx, q, "query-b", NULL, in_s(s, 30),
                                  &reply, &err), XLMIG_E_STORAGE);
    assert_string_equal(err, "GenericError: bad\\x1b[31m\\x0aline");
    free(err);
    /* An error without id answers the command in flight. */
    assert_int_equal(qmp_exec(s->t.ctx, q, "query-c", NULL, in_s(s, 30),
                              NULL), XLMIG_E_STORAGE);
    /* No reply in time; it comes late and is skipped. */
    assert_int_equal(qmp_exec(s->t.ctx, q, "query-d", NULL, in_s(s, 0.3),
                              NULL), XLMIG_E_TIMEDOUT);
    assert_int_equal(qmp_exec(s->t.ctx, q, "query-e", NULL, in_s(s, 30),
                              &reply), XLMIG_OK);
    assert_int_equal(YAJL_GET_INTEGER(qmp_return(reply)), 5);
    yajl_tree_free(reply);
    assert_int_equal(qmp_event_wait(s->t.ctx, q, "E2", NULL, in_s(s, 0),
                                    NULL), XLMIG_OK);
    assert_int_equal(qmp_event_wait(s->t.ctx, q, "E1", "k", in_s(s, 0),
                                    NULL), XLMIG_E_TIMEDOUT);
    assert_int_equal(qmp_event_wait(s->t.ctx, q, "E1", "j", in_s(s, 0),
                                    NULL), XLMIG_OK);
    /* A line over the limit: the connection is done for. */
    assert_int_equal(qmp_exec(s->t.ctx, q, "query-big", NULL, in_s(s, 30),
                              NULL), XLMIG_E_TOOBIG);
    assert_int_equal(qmp_exec(s->t.ctx, q, "query-a", NULL, in_s(s, 30),
                              NULL), XLMIG_E_TOOBIG);
    qmp_close(q);
    /* A monitor that never greets (another client has it). */
    assert_int_equal(qmp_connect(s->t.ctx, sock, in_s(s, 0.3), &q),
                     XLMIG_E_TIMEDOUT);
    assert_null(q);
    /* QEMU gone in the middle of a reply. */
    assert_int_equal(qmp_connect(s->t.ctx, sock, in_s(s, 30), &q), XLMIG_OK);
    assert_int_equal(qmp_exec(s->t.ctx, q, "query-f", NULL, in_s(s, 30),
                              NULL), XLMIG_E_PEER);
    assert_int_equal(qmp_exec(s->t.ctx, q, "query-f", NULL, in_s(s, 30),
                              NULL), XLMIG_E_PEER);
    qmp_close(q);
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

/* ---- the parser (no QEMU) ---- */

static void parse_ok(const char *line, enum qmp_msg_type type)
{
    struct qmp_msg m;
    char *why = NULL;

    assert_int_equal(qmp_msg_parse(line, strlen(line), &m, &why), XLMIG_OK);
    assert_null(why);
    assert_int_equal(m.type, type);
    qmp_msg_dispose(&m);
    qmp_msg_dispose(&m);
}

static void parse_bad_len(const char *line, size_t len, int rc)
{
    struct qmp_msg m;
    char *why = NULL;

    assert_int_equal(qmp_msg_parse(line, len, &m, &why), rc);
    assert_non_null(why);
    assert_null(m.root);
    free(why);
}

static void parse_bad(const char *line)
{
    parse_bad_len(line, strlen(line), XLMIG_E_PROTO);
}

static void test_parse(void **state)
{
    struct qmp_msg m;
    char *why = NULL, *deep;
    const char *err = "{\"id\": \"x\", \"error\": {\"class\": \"C\","
                      " \"desc\": \"d\\n\"}}";
    size_t big = QMP_MSG_LINE_MAX + 1;

    (void)state;
    parse_ok("{\"QMP\": {\"version\": {}, \"capabilities\": []}}",
             QMP_MSG_GREETING);
    parse_ok("{\"return\": {}, \"id\": \"xlmig-1\"}", QMP_MSG_REPLY);
    parse_ok("{\"return\": []}", QMP_MSG_REPLY);
    parse_ok("{\"event\": \"STOP\", \"timestamp\": {}}", QMP_MSG_EVENT);
    assert_int_equal(qmp_msg_parse(err, strlen(err), &m, &why), XLMIG_OK);
    assert_true(m.error);
    assert_string_equal(m.id, "x");
    assert_string_equal(m.err_class, "C");
    assert_string_equal(m.err_desc, "d\n");
    qmp_msg_dispose(&m);
    parse_bad("{\"return\": {}, \"id\": 7}");
    parse_bad("{\"return\": 1, \"error\": {}}");
    parse_bad("{\"error\": {\"class\": \"C\"}}");
    parse_bad("{\"event\": \"X\", \"data\": 1}");
    parse_bad("{\"event\": 1}");
    parse_bad("{\"QMP\": 1}");
    parse_bad("{\"id\": \"x\"}");
    parse_bad("[1]");
    parse_bad("{} {}");
    parse_bad("{\"return\": 1 /* */}");
    parse_bad("{\"return\": \"\\u0000\"}");
    parse_bad_len("{\"return\": 1}\0x", 15, XLMIG_E_PROTO);
    deep = malloc(big);
    assert_non_null(deep);
    memset(deep, '[', QMP_MSG_DEPTH_MAX + 1);
    parse_bad_len(deep, QMP_MSG_DEPTH_MAX + 1, XLMIG_E_PROTO);
    memset(deep, ' ', big);
    parse_bad_len(deep, big, XLMIG_E_TOOBIG);
    free(deep);
}

static void test_args_escape(void **state)
{
    const char *nasty = "a\"b\\c\n\t\x01\x7f/\xc3\xa9";
    struct qmp_args *a = qmp_args_new();
    yajl_val root;
    char *json, *why = NULL;

    (void)state;
    qmp_args_str(a, "s", nasty);
    qmp_args_u64(a, "n", UINT64_MAX);
    qmp_args_bool(a, "b", false);
    qmp_args_open(a, "o");
    qmp_args_str(a, "\"k", "v");
    qmp_args_close(a);
    json = qmp_args_end(a);
    assert_non_null(json);
    assert_non_null(strstr(json, "18446744073709551615"));
    root = jsonlim_parse(json, 4096, 4, &why);
    assert_non_null(root);
    assert_string_equal(qmp_msg_get_str(root, "s"), nasty);
    assert_true(YAJL_IS_FALSE(qmp_msg_get(root, "b")));
    assert_string_equal(qmp_msg_get_str(qmp_msg_get(root, "o"), "\"k"), "v");
    yajl_tree_free(root);
    free(json);
    a = qmp_args_new();
    qmp_args_str(a, "s", "bad\xff");
    qmp_args_str(a, "t", "ok");
    assert_null(qmp_args_end(a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_args_escape),
        cmocka_unit_test_setup_teardown(test_client_framing, setup_dir,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pivot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pivot_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qemu_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_where_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_image, setup, teardown),
    };

    /* A last guard: each wait has its own deadline well below this. */
    alarm(300);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
