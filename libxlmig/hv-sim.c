/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-sim.c - the simulated-host backend: domains of a sim host (see
 * hv-sim.h for the layout), their guest processes, their xenstore entries
 * (kept as libxl keeps them), and the hv_ops table. Save and restore are in
 * hv-sim-stream.c.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>

#include "fdio.h"
#include "hv-sim.h"
#include "proc.h"
#include "sim-xenstored.h"

#define SIM_GUEST_STOP_S 10     /* a guest acknowledges a request in this */
#define SIM_XS_RETRIES 100      /* transaction attempts on EAGAIN */
#define SIM_MONITOR_POLL_MS 100

/* ---- paths, files, locks ---- */

char *hv_sim_path(const struct hv_sim *s, uint32_t domid, const char *file)
{
    if (file) return xasprintf("%s/dom/%u/%s", s->dir, domid, file);
    return xasprintf("%s/dom/%u", s->dir, domid);
}

static bool sim_domain_exists(struct hv_sim *s, uint32_t domid)
{
    char *p = hv_sim_path(s, domid, NULL);
    struct stat st;
    bool yes = stat(p, &st) == 0 && S_ISDIR(st.st_mode);

    free(p);
    return yes;
}

/* Takes the host lock (create, destroy, state changes); returns its fd. */
static int sim_lock(struct hv_sim *s, int *fd_r)
{
    char *p = xasprintf("%s/lock", s->dir);
    int fd;

    *fd_r = -1;
    fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOGE(s->base.ctx, ERROR, "open %s", p);
        free(p);
        return XLMIG_E_SYSTEM;
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno == EINTR) continue;
        LOGE(s->base.ctx, ERROR, "flock %s", p);
        close(fd);
        free(p);
        return XLMIG_E_SYSTEM;
    }
    free(p);
    *fd_r = fd;
    return XLMIG_OK;
}

static void sim_unlock(int *fd)
{
    fdio_close(fd);     /* closing drops the flock */
}

/* ---- the guest process ---- */

bool hv_sim_guest_alive(const struct sim_state *st)
{
    return st->pid > 0 && proc_alive(st->pid, st->start);
}

int hv_sim_state_read(struct hv_sim *s, uint32_t domid, struct sim_state *st)
{
    char *path = hv_sim_path(s, domid, "state"), *text = NULL;
    int paused, pid, rc;

    memset(st, 0, sizeof(*st));
    rc = fdio_read_file(s->base.ctx, path, 256, &text);
    if (rc) goto out;
    if (sscanf(text, "paused=%d pid=%d start=%llu", &paused, &pid,
               &st->start) != 3 || pid < 0) {
        LOG(s->base.ctx, ERROR, "%s: malformed", path);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    st->paused = paused != 0;
    st->pid = (pid_t)pid;
out:
    free(text);
    free(path);
    return rc;
}

int hv_sim_state_write(struct hv_sim *s, uint32_t domid,
                       const struct sim_state *st)
{
    char *path = hv_sim_path(s, domid, "state");
    char text[128];
    int rc;

    snprintf(text, sizeof(text), "paused=%d pid=%d start=%llu\n",
             st->paused ? 1 : 0, (int)st->pid, st->start);
    rc = fdio_write_file(s->base.ctx, path, text, strlen(text));
    free(path);
    return rc;
}

/* Reads the guest's header page (sim-image.h). */
static int sim_hdr_read(struct hv_sim *s, uint32_t domid, struct sim_hdr *h)
{
    char *path = hv_sim_path(s, domid, "mem");
    int fd, rc = XLMIG_OK;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        LOGE(s->base.ctx, ERROR, "open %s", path);
        rc = err_from_errno(errno);
        goto out;
    }
    n = pread(fd, h, sizeof(*h), 0);
    if (n != (ssize_t)sizeof(*h)) {
        LOGE(s->base.ctx, ERROR, "read the header of %s", path);
        rc = XLMIG_E_SYSTEM;
    }
    close(fd);
out:
    free(path);
    return rc;
}

/* Writes the request field of the guest's header page. */
static int sim_hdr_request(struct hv_sim *s, uint32_t domid,
                           enum sim_reason reason)
{
    char *path = hv_sim_path(s, domid, "mem");
    uint32_t v = reason;
    int fd, rc = XLMIG_OK;

    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || pwrite(fd, &v, sizeof(v), offsetof(struct sim_hdr,
                                                     request)) !=
                  (ssize_t)sizeof(v)) {
        LOGE(s->base.ctx, ERROR, "write the request into %s", path);
        rc = XLMIG_E_SYSTEM;
    }
    if (fd >= 0) close(fd);
    free(path);
    return rc;
}

/*
 * Starts the guest process, detached (its own session, reparented to
 * init) because it lives as long as the domain, not as this process.
 */
static int sim_guest_start(struct hv_sim *s, uint32_t domid, bool resume,
                           struct sim_state *st)
{
    char *img = hv_sim_path(s, domid, "mem");
    char *map = hv_sim_path(s, domid, "dirty");
    char *sched = hv_sim_path(s, domid, "sched");
    char *log = hv_sim_path(s, domid, "guest.log");
    char *argv[6];
    int p[2] = { -1, -1 }, status, i = 0, rc = XLMIG_E_SYSTEM;
    pid_t pid, guest = -1;
    ssize_t n;

    argv[i++] = s->simguest;
    if (resume) argv[i++] = (char *)"--resume";
    argv[i++] = img;
    argv[i++] = map;
    argv[i++] = sched;
    argv[i] = NULL;
    if (access(s->simguest, X_OK) < 0) {
        LOGE(s->base.ctx, ERROR, "guest program %s (XLMIG_SIMGUEST)",
             s->simguest);
        goto out;
    }
    if (pipe2(p, O_CLOEXEC) < 0) {
        LOGE(s->base.ctx, ERROR, "pipe");
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        LOGE(s->base.ctx, ERROR, "fork");
        goto out;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls from here on. */
        sigset_t all;
        int fd;

        setsid();
        guest = fork();
        if (guest != 0) {
            if (guest > 0 && write(p[1], &guest, sizeof(guest)) < 0)
                _exit(1);
            _exit(guest > 0 ? 0 : 1);
        }
        fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
        }
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) dup2(fd, 2);
        signal(SIGPIPE, SIG_DFL);
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        execv(argv[0], argv);
        _exit(127);
    }
    fdio_close(&p[1]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    do
        n = read(p[0], &guest, sizeof(guest));
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(guest) || guest <= 0) {
        LOG(s->base.ctx, ERROR, "could not start the guest of domain %u",
            domid);
        goto out;
    }
    st->pid = guest;
    st->start = proc_start_time(guest);
    st->paused = false;
    if (!st->start) {
        LOG(s->base.ctx, ERROR, "the guest of domain %u died at once (see "
            "%s)", domid, log);
        goto out;
    }
    rc = XLMIG_OK;
    guest = -1;
out:
    if (guest > 0) kill(guest, SIGKILL);     /* started, but not ours */
    fdio_close_pair(p);
    free(img);
    free(map);
    free(sched);
    free(log);
    return rc;
}

/* Waits until pid is gone, at most timeout_s; false if it is still there. */
static bool sim_wait_gone(const struct sim_state *st, unsigned timeout_s)
{
    struct pollfd pfd;
    bool gone;
    int fd;

    fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (fd < 0) return !hv_sim_guest_alive(st);
    /* The pid may have been reused before the pidfd was made. */
    if (!hv_sim_guest_alive(st)) {
        close(fd);
        return true;
    }
    pfd.fd = fd;
    pfd.events = POLLIN;
    while (poll(&pfd, 1, (int)timeout_s * 1000) < 0 && errno == EINTR)
        ;
    gone = !hv_sim_guest_alive(st);
    close(fd);
    return gone;
}

int hv_sim_guest_stop(struct hv_sim *s, uint32_t domid,
                      enum sim_reason reason)
{
    struct sim_state st;
    struct sim_hdr h;
    int rc;

    rc = hv_sim_state_read(s, domid, &st);
    if (rc) return rc;
    if (!hv_sim_guest_alive(&st)) {
        LOGD(s->base.ctx, ERROR, domid, "is not running");
        return XLMIG_E_HV;
    }
    rc = sim_hdr_request(s, domid, reason);
    if (rc) return rc;
    if (kill(st.pid, SIGUSR1) < 0 || (st.paused && kill(st.pid, SIGCONT) < 0))
    {
        LOGE(s->base.ctx, ERROR, "signal the guest of domain %u", domid);
        return XLMIG_E_SYSTEM;
    }
    if (!sim_wait_gone(&st, SIM_GUEST_STOP_S)) {
        LOGD(s->base.ctx, ERROR, domid, "the guest did not stop within %d s",
             SIM_GUEST_STOP_S);
        return XLMIG_E_TIMEDOUT;
    }
    rc = sim_hdr_read(s, domid, &h);
    if (rc) return rc;
    if (h.shutdown_reason != (uint32_t)reason) {
        LOGD(s->base.ctx, ERROR, domid, "the guest stopped for reason %u, "
             "not %u", h.shutdown_reason, reason);
        return XLMIG_E_HV;
    }
    return XLMIG_OK;
}

/* SIGKILLs the guest if it runs and waits until it is gone. */
static int sim_guest_kill(struct hv_sim *s, uint32_t domid,
                          const struct sim_state *st)
{
    if (!hv_sim_guest_alive(st)) return XLMIG_OK;
    if (kill(st->pid, SIGKILL) < 0 && errno != ESRCH) {
        LOGE(s->base.ctx, ERROR, "kill the guest of domain %u", domid);
        return XLMIG_E_SYSTEM;
    }
    if (!sim_wait_gone(st, SIM_GUEST_STOP_S)) {
        LOGD(s->base.ctx, ERROR, domid, "the guest did not die");
        return XLMIG_E_TIMEDOUT;
    }
    return XLMIG_OK;
}

/* ---- memory ---- */

int hv_sim_map(struct hv_sim *s, uint32_t domid, const char *file,
               bool writable, void **p_r, size_t *len_r)
{
    char *path = hv_sim_path(s, domid, file);
    struct stat st;
    void *p;
    int fd, rc = XLMIG_E_SYSTEM;

    *p_r = NULL;
    *len_r = 0;
    fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        LOGE(s->base.ctx, ERROR, "open %s", path);
        goto out;
    }
    if (st.st_size <= 0) {
        LOG(s->base.ctx, ERROR, "%s is empty", path);
        goto out;
    }
    p = mmap(NULL, (size_t)st.st_size,
             PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        LOGE(s->base.ctx, ERROR, "mmap %s", path);
        goto out;
    }
    *p_r = p;
    *len_r = (size_t)st.st_size;
    rc = XLMIG_OK;
out:
    if (fd >= 0) close(fd);
    free(path);
    return rc;
}

void hv_sim_freeze_copy(struct hv_sim *s, uint32_t domid, const char *name)
{
    const char *dir = getenv("XLMIG_SIM_FREEZE_DIR");
    char *src, *dst;
    int in = -1, out = -1;
    ssize_t n;

    if (!dir || !*dir) return;
    src = hv_sim_path(s, domid, "mem");
    dst = xasprintf("%s/%s.mem", dir, name);
    in = open(src, O_RDONLY | O_CLOEXEC);
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (in < 0 || out < 0) {
        LOGE(s->base.ctx, WARN, "freeze copy %s -> %s", src, dst);
        goto out;
    }
    do
        n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
    while (n > 0 || (n < 0 && errno == EINTR));
    if (n < 0) LOGE(s->base.ctx, WARN, "freeze copy %s -> %s", src, dst);
    else LOG(s->base.ctx, DETAIL, "memory of %s frozen in %s", name, dst);
out:
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    free(src);
    free(dst);
}

/* ---- xenstore ---- */

static char *sim_xs_read(struct hv_sim *s, xs_transaction_t t,
                         const char *path)
{
    unsigned int len;
    char *v = xs_read(s->xs, t, path, &len);

    return v;
}

static char *sim_xs_name(struct hv_sim *s, xs_transaction_t t,
                         uint32_t domid)
{
    char path[64];

    snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
    return sim_xs_read(s, t, path);
}

/* The domain's uuid from its /vm path (as libxl names it); zeroes if
 * that is missing or malformed. */
static void sim_xs_uuid(struct hv_sim *s, uint32_t domid, uint8_t uuid[16])
{
    char path[64], *vm;
    unsigned b[16];
    int i;

    memset(uuid, 0, 16);
    snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
    vm = sim_xs_read(s, XBT_NULL, path);
    if (vm && sscanf(vm, "/vm/%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-"
                     "%2x%2x%2x%2x%2x%2x", &b[0], &b[1], &b[2], &b[3],
                     &b[4], &b[5], &b[6], &b[7], &b[8], &b[9], &b[10],
                     &b[11], &b[12], &b[13], &b[14], &b[15]) == 16)
        for (i = 0; i < 16; i++)
            uuid[i] = (uint8_t)b[i];
    free(vm);
}

/* Finds a domain named name other than except (in transaction t). */
static bool sim_xs_find(struct hv_sim *s, xs_transaction_t t,
                        const char *name, uint32_t except, uint32_t *domid_r)
{
    unsigned int n, i;
    char **ids, *end, *v;
    unsigned long id;
    bool found = false;

    ids = xs_directory(s->xs, t, "/local/domain", &n);
    if (!ids) return false;
    for (i = 0; i < n && !found; i++) {
        errno = 0;
        id = strtoul(ids[i], &end, 10);
        if (errno || *end || id >= HV_INVALID_DOMID || id == except)
            continue;
        v = sim_xs_name(s, t, (uint32_t)id);
        if (v && !strcmp(v, name) && sim_domain_exists(s, (uint32_t)id)) {
            *domid_r = (uint32_t)id;
            found = true;
        }
        free(v);
    }
    free(ids);
    return found;
}

/* Writes a new domain's entries as libxl does (one transaction). */
static int sim_xs_introduce(struct hv_sim *s, uint32_t domid,
                            const char *name, const struct sim_config *c)
{
    struct xs_permissions perms[2] = {
        { .id = 0, .perms = XS_PERM_NONE },
        { .id = domid, .perms = XS_PERM_READ },
    };
    char dom[64], vm[80], path[128], val[32];
    xs_transaction_t t;
    uint32_t other;
    int attempt;
    bool ok;

    snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
    snprintf(vm, sizeof(vm), "/vm/%s", c->uuid);
    for (attempt = 0; attempt < SIM_XS_RETRIES; attempt++) {
        t = xs_transaction_start(s->xs);
        if (t == XBT_NULL) break;
        if (sim_xs_find(s, t, name, domid, &other)) {
            xs_transaction_end(s->xs, t, true);
            LOG(s->base.ctx, ERROR, "a domain named %s already exists "
                "(domain %u)", name, other);
            return XLMIG_E_EXISTS;
        }
        ok = xs_mkdir(s->xs, t, dom) &&
             xs_set_permissions(s->xs, t, dom, perms, 2);
        snprintf(path, sizeof(path), "%s/name", dom);
        ok = ok && xs_write(s->xs, t, path, name, strlen(name));
        snprintf(path, sizeof(path), "%s/domid", dom);
        snprintf(val, sizeof(val), "%u", domid);
        ok = ok && xs_write(s->xs, t, path, val, strlen(val));
        snprintf(path, sizeof(path), "%s/vm", dom);
        ok = ok && xs_write(s->xs, t, path, vm, strlen(vm));
        snprintf(path, sizeof(path), "%s/memory/target", dom);
        snprintf(val, sizeof(val), "%" PRIu64, c->max_memkb);
        ok = ok && xs_write(s->xs, t, path, val, strlen(val));
        snprintf(path, sizeof(path), "%s/control/shutdown", dom);
        ok = ok && xs_write(s->xs, t, path, "", 0);
        /* What Linux's xenbus advertises once the guest is up. */
        snprintf(path, sizeof(path), "%s/control/feature-suspend", dom);
        ok = ok && xs_write(s->xs, t, path, "1", 1);
        snprintf(path, sizeof(path), "%s/name", vm);
        ok = ok && xs_write(s->xs, t, path, name, strlen(name));
        snprintf(path, sizeof(path), "%s/uuid", vm);
        ok = ok && xs_write(s->xs, t, path, c->uuid, strlen(c->uuid));
        if (!ok) {
            LOGE(s->base.ctx, ERROR, "xenstore entries of domain %u", domid);
            xs_transaction_end(s->xs, t, true);
            return XLMIG_E_XS;
        }
        if (xs_transaction_end(s->xs, t, false)) return XLMIG_OK;
        if (errno != EAGAIN) break;
    }
    LOGE(s->base.ctx, ERROR, "xenstore transaction for domain %u", domid);
    return XLMIG_E_XS;
}

static int sim_xs_release(struct hv_sim *s, uint32_t domid)
{
    char dom[64], path[80], *vm;
    xs_transaction_t t;
    int attempt;

    snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
    for (attempt = 0; attempt < SIM_XS_RETRIES; attempt++) {
        t = xs_transaction_start(s->xs);
        if (t == XBT_NULL) break;
        snprintf(path, sizeof(path), "%s/vm", dom);
        vm = sim_xs_read(s, t, path);
        if (vm && !strncmp(vm, "/vm/", 4)) xs_rm(s->xs, t, vm);
        free(vm);
        xs_rm(s->xs, t, dom);
        if (xs_transaction_end(s->xs, t, false)) return XLMIG_OK;
        if (errno != EAGAIN) break;
    }
    LOGE(s->base.ctx, ERROR, "remove the xenstore entries of domain %u",
         domid);
    return XLMIG_E_XS;
}

/* ---- making and removing domains ---- */

static int sim_rm_domain_dir(struct hv_sim *s, uint32_t domid)
{
    static const char *const files[] = {
        "mem", "dirty", "sched", "config.json", "state", "guest.log",
        ".state.tmp", ".config.json.tmp",
    };
    char *p;
    size_t i;
    int rc = XLMIG_OK;

    for (i = 0; i < ARRAY_SIZE(files); i++) {
        p = hv_sim_path(s, domid, files[i]);
        if (unlink(p) < 0 && errno != ENOENT) {
            LOGE(s->base.ctx, ERROR, "remove %s", p);
            rc = XLMIG_E_SYSTEM;
        }
        free(p);
    }
    p = hv_sim_path(s, domid, NULL);
    if (rmdir(p) < 0 && errno != ENOENT) {
        LOGE(s->base.ctx, ERROR, "remove %s", p);
        rc = XLMIG_E_SYSTEM;
    }
    free(p);
    return rc;
}

/* Reserves a fresh domid: creates DIR/dom/ID. Under the host lock. */
static int sim_alloc_domid(struct hv_sim *s, uint32_t *domid_r)
{
    char *path = xasprintf("%s/next-domid", s->dir), *text = NULL, *dir;
    char val[32];
    unsigned long next = 1;
    uint32_t tries;
    int rc;

    rc = fdio_read_file(s->base.ctx, path, 32, &text);
    if (rc && rc != XLMIG_E_NOTFOUND) goto out;
    if (text) next = strtoul(text, NULL, 10);
    for (tries = 0; tries < HV_INVALID_DOMID; tries++, next++) {
        if (next == 0 || next >= 0x7ff0) next = 1;   /* DOMID_FIRST_RESERVED */
        dir = hv_sim_path(s, (uint32_t)next, NULL);
        if (mkdir(dir, 0700) == 0) {
            free(dir);
            *domid_r = (uint32_t)next;
            snprintf(val, sizeof(val), "%lu\n", next + 1);
            rc = fdio_write_file(s->base.ctx, path, val, strlen(val));
            goto out;
        }
        free(dir);
        if (errno != EEXIST) {
            LOGE(s->base.ctx, ERROR, "create a domain directory in %s/dom",
                 s->dir);
            rc = err_from_errno(errno);
            goto out;
        }
    }
    LOG(s->base.ctx, ERROR, "no free domid on this sim host");
    rc = XLMIG_E_BUSY;
out:
    free(text);
    free(path);
    return rc;
}

/* Creates an empty (sparse) file of size bytes. */
static int sim_make_file(struct hv_sim *s, uint32_t domid, const char *file,
                         uint64_t size)
{
    char *path = hv_sim_path(s, domid, file);
    int fd, rc = XLMIG_OK;

    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
        LOGE(s->base.ctx, ERROR, "create %s", path);
        rc = err_from_errno(errno);
    }
    if (fd >= 0) close(fd);
    free(path);
    return rc;
}

/* The domain's scheduler parameters (sim-image.h struct sim_sched). */
static int sim_sched_io(struct hv_sim *s, uint32_t domid, bool write,
                        struct sim_sched *sc)
{
    char *path = hv_sim_path(s, domid, "sched");
    ssize_t n;
    int fd, rc = XLMIG_OK;

    fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT ? XLMIG_E_NOTFOUND : XLMIG_E_SYSTEM;
        LOGE(s->base.ctx, ERROR, "open %s", path);
        goto out;
    }
    n = write ? pwrite(fd, sc, sizeof(*sc), 0) : pread(fd, sc, sizeof(*sc), 0);
    if (n != (ssize_t)sizeof(*sc)) {
        if (n >= 0) errno = EIO;
        LOGE(s->base.ctx, ERROR, "%s %s", write ? "write" : "read", path);
        rc = err_from_errno(errno);
    }
out:
    if (fd >= 0) close(fd);
    free(path);
    return rc;
}

static int sim_sched_write(struct hv_sim *s, uint32_t domid, unsigned cap,
                           unsigned vcpus)
{
    struct sim_sched sc = { .cap = cap, .vcpus = vcpus };

    return sim_sched_io(s, domid, true, &sc);
}

int hv_sim_domain_make(struct hv_sim *s, const char *json, const char *name,
                       uint32_t *domid_r)
{
    struct sim_config c;
    struct sim_state st = { .paused = true };
    uint32_t domid = HV_INVALID_DOMID, other;
    char *path = NULL, *stored = NULL;
    int lock = -1, rc;
    bool made = false;

    *domid_r = HV_INVALID_DOMID;
    rc = hv_sim_config_parse(s->base.ctx, json, &c);
    if (rc) return rc;
    rc = sim_lock(s, &lock);
    if (rc) goto out;
    if (sim_xs_find(s, XBT_NULL, name, HV_INVALID_DOMID, &other)) {
        LOG(s->base.ctx, ERROR, "a domain named %s already exists (domain "
            "%u)", name, other);
        rc = XLMIG_E_EXISTS;
        goto out;
    }
    rc = sim_alloc_domid(s, &domid);
    if (rc) goto out;
    made = true;
    rc = hv_sim_config_rewrite(s->base.ctx, json, name, NULL, false, 0,
                               &stored);
    if (rc) goto out;
    path = hv_sim_path(s, domid, "config.json");
    rc = fdio_write_file(s->base.ctx, path, stored, strlen(stored));
    if (!rc) rc = hv_sim_state_write(s, domid, &st);
    if (!rc) rc = sim_make_file(s, domid, "mem", c.max_memkb * 1024);
    if (!rc)
        rc = sim_make_file(s, domid, "dirty",
                           sim_dirty_map_bytes(c.max_memkb * 1024 /
                                               SIM_PAGE_SIZE));
    if (!rc) rc = sim_make_file(s, domid, "sched", SIM_PAGE_SIZE);
    if (!rc) rc = sim_sched_write(s, domid, 0, c.vcpus);
    if (!rc) rc = sim_xs_introduce(s, domid, name, &c);
    if (rc) goto out;
    *domid_r = domid;
out:
    if (rc && made) sim_rm_domain_dir(s, domid);
    sim_unlock(&lock);
    free(path);
    free(stored);
    hv_sim_config_dispose(&c);
    return rc;
}

/* ---- hv_ops ---- */

static int hv_sim_open(struct xlmig_ctx *ctx, struct hv **hv_r)
{
    const char *dir = getenv("XLMIG_SIM_HOST"), *guest;
    struct hv_sim *s;
    char *sock, *dom;
    struct stat st;
    int rc = XLMIG_E_INVAL;

    *hv_r = NULL;
    if (!dir || !*dir) {
        LOG(ctx, ERROR, "the sim backend needs XLMIG_SIM_HOST (a sim host "
            "directory made by xlmig sim-host-create)");
        return XLMIG_E_INVAL;
    }
    dom = xasprintf("%s/dom", dir);
    if (stat(dom, &st) < 0 || !S_ISDIR(st.st_mode)) {
        LOG(ctx, ERROR, "%s is not a sim host (no %s; see xlmig "
            "sim-host-create)", dir, dom);
        free(dom);
        return XLMIG_E_NOTFOUND;
    }
    free(dom);
    /* As on libxl: a dead peer is an EPIPE to handle, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    s = xcalloc(1, sizeof(*s));
    s->dir = xstrdup(dir);
    guest = getenv("XLMIG_SIMGUEST");
    s->simguest = guest && *guest ? xstrdup(guest)
                                  : xstrdup(PKGLIBEXECDIR "/xlmig-simguest");
    /* libxenstore takes the socket from the environment. */
    sock = simxs_socket_path(dir);
    if (setenv("XENSTORED_PATH", sock, 1) < 0) {
        LOGE(ctx, ERROR, "setenv");
        free(sock);
        rc = XLMIG_E_SYSTEM;
        goto fail;
    }
    s->xs = xs_open(0);
    if (!s->xs) {
        LOGE(ctx, ERROR, "cannot connect to the sim host's xenstored at %s",
             sock);
        free(sock);
        rc = XLMIG_E_XS;
        goto fail;
    }
    free(sock);
    *hv_r = &s->base;
    return XLMIG_OK;
fail:
    free(s->simguest);
    free(s->dir);
    free(s);
    return rc;
}

static void hv_sim_close(struct hv *hv)
{
    struct hv_sim *s = hv_sim_of(hv);

    if (s->xs) xs_close(s->xs);
    free(s->simguest);
    free(s->dir);
    free(s);
}

static int hv_sim_lookup(struct hv *hv, const char *name_or_id,
                         uint32_t *domid_r)
{
    struct hv_sim *s = hv_sim_of(hv);
    unsigned long id;
    char *end;

    errno = 0;
    id = strtoul(name_or_id, &end, 10);
    if (*name_or_id && !*end && !errno) {
        if (id >= HV_INVALID_DOMID || !sim_domain_exists(s, (uint32_t)id))
            return XLMIG_E_NOTFOUND;
        *domid_r = (uint32_t)id;
        return XLMIG_OK;
    }
    if (!sim_xs_find(s, XBT_NULL, name_or_id, HV_INVALID_DOMID, domid_r))
        return XLMIG_E_NOTFOUND;
    return XLMIG_OK;
}

static int hv_sim_domain_name(struct hv *hv, uint32_t domid, char **name_r)
{
    struct hv_sim *s = hv_sim_of(hv);
    char *name;

    if (!sim_domain_exists(s, domid)) return XLMIG_E_NOTFOUND;
    name = sim_xs_name(s, XBT_NULL, domid);
    if (!name) {
        LOGD(hv->ctx, ERROR, domid, "has no name in xenstore");
        return XLMIG_E_XS;
    }
    *name_r = name;
    return XLMIG_OK;
}

static enum hv_shutdown_reason sim_reason(uint32_t r)
{
    switch (r) {
    case SIM_REASON_POWEROFF: return HV_SHUTDOWN_POWEROFF;
    case SIM_REASON_REBOOT: return HV_SHUTDOWN_REBOOT;
    case SIM_REASON_SUSPEND: return HV_SHUTDOWN_SUSPEND;
    default: return HV_SHUTDOWN_CRASH;  /* died without saying why */
    }
}

static int hv_sim_domain_info(struct hv *hv, uint32_t domid,
                              struct hv_dominfo *info)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct sim_state st;
    struct sim_hdr h;
    struct stat sb;
    char *mem;
    int rc;

    if (!sim_domain_exists(s, domid)) return XLMIG_E_NOTFOUND;
    rc = hv_sim_state_read(s, domid, &st);
    if (rc) return rc;
    info->domid = domid;
    sim_xs_uuid(s, domid, info->uuid);
    mem = hv_sim_path(s, domid, "mem");
    if (stat(mem, &sb) == 0)
        info->max_memkb = info->current_memkb = (uint64_t)sb.st_size / 1024;
    free(mem);
    if (hv_sim_guest_alive(&st)) {
        info->paused = st.paused;
        info->running = !st.paused;
        return XLMIG_OK;
    }
    if (st.pid == 0) {          /* built, never started: paused */
        info->paused = true;
        return XLMIG_OK;
    }
    rc = sim_hdr_read(s, domid, &h);
    if (rc) return rc;
    info->shutdown = true;
    info->shutdown_reason = sim_reason(h.shutdown_reason);
    return XLMIG_OK;
}

static int hv_sim_config_get(struct hv *hv, uint32_t domid, unsigned flags,
                             char **json_r)
{
    struct hv_sim *s = hv_sim_of(hv);
    char *path = hv_sim_path(s, domid, "config.json"), *text = NULL;
    char *name = NULL;
    int rc;

    rc = fdio_read_file(hv->ctx, path, 1u << 20, &text);
    if (rc) goto out;
    rc = hv_sim_domain_name(hv, domid, &name);
    if (rc) goto out;
    rc = hv_sim_config_rewrite(hv->ctx, text, name, NULL,
                               flags & HV_CONFIG_PRESERVE_DOMID, domid,
                               json_r);
out:
    free(name);
    free(text);
    free(path);
    return rc;
}

static int hv_sim_config_load(struct hv *hv, const char *path,
                              unsigned flags, char **json_r)
{
    struct sim_config c;
    char *text = NULL;
    int rc;

    (void)flags;    /* a file names no domid to keep */
    rc = fdio_read_file(hv->ctx, path, 1u << 20, &text);
    if (rc == XLMIG_E_NOTFOUND) LOG(hv->ctx, ERROR, "%s: no such file", path);
    if (rc) goto out;
    if (text[strspn(text, " \t\r\n")] != '{') {
        LOG(hv->ctx, ERROR, "%s: the sim backend takes libxl JSON configs "
            "only", path);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    rc = hv_sim_config_parse(hv->ctx, text, &c);
    if (rc) goto out;
    rc = hv_sim_config_rewrite(hv->ctx, text, c.name, NULL, false, 0,
                               json_r);
    hv_sim_config_dispose(&c);
out:
    free(text);
    return rc;
}

/* The sim reads configs as they are (first of a key given twice, as
 * yajl_tree_get finds it); the receiver's policy refuses duplicates. */
static int hv_sim_config_canonical(struct hv *hv, const char *json,
                                   char **json_r)
{
    struct sim_config c;
    int rc;

    rc = hv_sim_config_parse(hv->ctx, json, &c);
    if (rc) return rc;
    hv_sim_config_dispose(&c);
    *json_r = xstrdup(json);
    return XLMIG_OK;
}

/* Starts the guest of a built (never run) or suspended domain. */
static int sim_start(struct hv_sim *s, uint32_t domid, bool resume)
{
    struct sim_state st;
    struct sim_hdr h;
    int rc;

    rc = sim_hdr_read(s, domid, &h);
    if (rc) return rc;
    /* A guest that has run before goes on from its memory. */
    rc = sim_guest_start(s, domid, resume || h.boots > 0, &st);
    if (rc) return rc;
    return hv_sim_state_write(s, domid, &st);
}

static int hv_sim_resume(struct hv *hv, uint32_t domid)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct hv_dominfo info = { 0 };
    int rc;

    rc = hv_sim_domain_info(hv, domid, &info);
    if (rc) return rc;
    if (!info.shutdown || info.shutdown_reason != HV_SHUTDOWN_SUSPEND) {
        LOGD(hv->ctx, ERROR, domid, "is not suspended; cannot resume");
        return XLMIG_E_HV;
    }
    return sim_start(s, domid, true);
}

static int hv_sim_rename(struct hv *hv, uint32_t domid, const char *old_name,
                         const char *new_name)
{
    struct hv_sim *s = hv_sim_of(hv);
    char dom[64], path[128], *cur, *vm;
    xs_transaction_t t;
    uint32_t other;
    int attempt;
    bool ok;

    snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
    for (attempt = 0; attempt < SIM_XS_RETRIES; attempt++) {
        t = xs_transaction_start(s->xs);
        if (t == XBT_NULL) break;
        cur = sim_xs_name(s, t, domid);
        if (!cur || strcmp(cur, old_name)) {
            LOGD(hv->ctx, ERROR, domid, "is named %s, not %s", cur ? cur : "?",
                 old_name);
            free(cur);
            xs_transaction_end(s->xs, t, true);
            return XLMIG_E_HV;
        }
        free(cur);
        if (sim_xs_find(s, t, new_name, domid, &other)) {
            LOG(hv->ctx, ERROR, "cannot rename domain %u to %s: domain %u has "
                "that name", domid, new_name, other);
            xs_transaction_end(s->xs, t, true);
            return XLMIG_E_EXISTS;
        }
        snprintf(path, sizeof(path), "%s/name", dom);
        ok = xs_write(s->xs, t, path, new_name, strlen(new_name));
        snprintf(path, sizeof(path), "%s/vm", dom);
        vm = sim_xs_read(s, t, path);
        if (ok && vm) {
            snprintf(path, sizeof(path), "%s/name", vm);
            ok = xs_write(s->xs, t, path, new_name, strlen(new_name));
        }
        free(vm);
        if (!ok) {
            xs_transaction_end(s->xs, t, true);
            break;
        }
        if (xs_transaction_end(s->xs, t, false)) return XLMIG_OK;
        if (errno != EAGAIN) break;
    }
    LOGE(hv->ctx, ERROR, "rename of domain %u from %s to %s", domid, old_name,
         new_name);
    return XLMIG_E_XS;
}

static int hv_sim_pause(struct hv *hv, uint32_t domid)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct sim_state st;
    int rc;

    rc = hv_sim_state_read(s, domid, &st);
    if (rc) return rc;
    if (st.paused) return XLMIG_OK;
    if (hv_sim_guest_alive(&st) && kill(st.pid, SIGSTOP) < 0) {
        LOGE(hv->ctx, ERROR, "pause the guest of domain %u", domid);
        return XLMIG_E_SYSTEM;
    }
    st.paused = true;
    return hv_sim_state_write(s, domid, &st);
}

static int hv_sim_unpause(struct hv *hv, uint32_t domid)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct sim_state st;
    int rc;

    rc = hv_sim_state_read(s, domid, &st);
    if (rc) return rc;
    if (st.pid == 0) return sim_start(s, domid, false);
    if (!st.paused) return XLMIG_OK;
    if (!hv_sim_guest_alive(&st)) {
        LOGD(hv->ctx, ERROR, domid, "is shut down; cannot unpause");
        return XLMIG_E_HV;
    }
    if (kill(st.pid, SIGCONT) < 0) {
        LOGE(hv->ctx, ERROR, "unpause the guest of domain %u", domid);
        return XLMIG_E_SYSTEM;
    }
    st.paused = false;
    return hv_sim_state_write(s, domid, &st);
}

static int hv_sim_destroy(struct hv *hv, uint32_t domid)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct sim_state st;
    int lock = -1, rc;

    if (!sim_domain_exists(s, domid)) return XLMIG_E_NOTFOUND;
    rc = sim_lock(s, &lock);
    if (rc) return rc;
    rc = hv_sim_state_read(s, domid, &st);
    if (!rc || rc == XLMIG_E_NOTFOUND) rc = sim_guest_kill(s, domid, &st);
    if (!rc) rc = sim_xs_release(s, domid);
    if (!rc) rc = sim_rm_domain_dir(s, domid);
    sim_unlock(&lock);
    return rc;
}

/* Reboots in place: fresh memory with the same workload, a new boot. */
static int sim_reboot(struct hv_sim *s, uint32_t domid)
{
    char *path = hv_sim_path(s, domid, "mem");
    struct sim_state st = { .paused = true };
    struct sim_hdr h;
    uint64_t size;
    int fd = -1, rc;

    rc = sim_hdr_read(s, domid, &h);
    if (rc) goto out;
    size = h.pages * SIM_PAGE_SIZE;
    h.counter = 0;
    h.request = h.shutdown_reason = SIM_REASON_NONE;
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 || ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0 ||
        pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
        LOGE(s->base.ctx, ERROR, "reset the memory of domain %u", domid);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    rc = hv_sim_state_write(s, domid, &st);
    if (!rc) rc = sim_guest_start(s, domid, false, &st);
    if (!rc) rc = hv_sim_state_write(s, domid, &st);
out:
    if (fd >= 0) close(fd);
    free(path);
    return rc;
}

/* Asks the caller before a reboot (hv_wait.restart_ok). */
static int sim_restart_ok(struct hv *hv, uint32_t domid,
                          const struct hv_wait *w)
{
    char *json = NULL;
    int rc;

    if (!w || !w->restart_ok) return XLMIG_OK;
    rc = hv_sim_config_get(hv, domid, 0, &json);
    if (!rc) rc = w->restart_ok(w->arg, json);
    if (rc) LOGD(hv->ctx, ERROR, domid, "not restarted: %s",
                 xlmig_strerror(rc));
    free(json);
    return rc;
}

/*
 * The lifecycle monitor: polls the domain and carries out its on_*
 * action when the guest shuts down (destroy, restart, preserve; the
 * coredump variants act as their plain forms, without a core).
 */
static int hv_sim_monitor(struct hv *hv, uint32_t domid,
                          const struct hv_wait *w)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct hv_dominfo info;
    struct sim_config c;
    struct pollfd pfd[HV_WAIT_FDS];
    const char *action;
    char *json = NULL;
    int i, rc;

    rc = hv_sim_config_get(hv, domid, 0, &json);
    if (rc) return rc;
    rc = hv_sim_config_parse(hv->ctx, json, &c);
    free(json);
    if (rc) return rc;
    for (;;) {
        memset(&info, 0, sizeof(info));
        rc = hv_sim_domain_info(hv, domid, &info);
        if (rc == XLMIG_E_NOTFOUND) {
            LOGD(hv->ctx, INFO, domid, "is gone; the monitor ends");
            rc = XLMIG_OK;
            break;
        }
        if (rc) break;
        if (info.shutdown && info.shutdown_reason != HV_SHUTDOWN_SUSPEND) {
            action = info.shutdown_reason == HV_SHUTDOWN_POWEROFF
                         ? c.on_poweroff
                     : info.shutdown_reason == HV_SHUTDOWN_REBOOT
                         ? c.on_reboot : c.on_crash;
            LOGD(hv->ctx, INFO, domid, "shut down (%s): %s", 
                 info.shutdown_reason == HV_SHUTDOWN_POWEROFF ? "poweroff"
                 : info.shutdown_reason == HV_SHUTDOWN_REBOOT ? "reboot"
                                                               : "crash",
                 action);
            if (strstr(action, "restart")) {
                rc = sim_restart_ok(hv, domid, w);
                if (!rc) rc = sim_reboot(s, domid);
                if (rc) {
                    if (hv_sim_destroy(hv, domid))
                        LOGD(hv->ctx, ERROR, domid, "cannot be destroyed");
                    break;
                }
                continue;
            }
            if (!strcmp(action, "preserve")) {
                rc = XLMIG_OK;
                break;
            }
            rc = hv_sim_destroy(hv, domid);
            break;
        }
        for (i = 0; i < HV_WAIT_FDS; i++) {
            pfd[i].fd = w ? w->abort_fds[i] : -1;
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        if (poll(pfd, HV_WAIT_FDS, SIM_MONITOR_POLL_MS) > 0) {
            rc = XLMIG_E_CANCELLED;
            break;
        }
        if (w && w->tick) w->tick(w->arg);
    }
    hv_sim_config_dispose(&c);
    return rc;
}

static int hv_sim_list(struct hv *hv, struct hv_domain **list_r, size_t *n_r)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct hv_domain *list = NULL, *d;
    struct sim_config c;
    struct dirent *de;
    char *dir = xasprintf("%s/dom", s->dir), *end, *json;
    unsigned long id;
    size_t n = 0;
    DIR *dp;

    *list_r = NULL;
    *n_r = 0;
    dp = opendir(dir);
    if (!dp) {
        LOGE(hv->ctx, ERROR, "opendir %s", dir);
        free(dir);
        return XLMIG_E_SYSTEM;
    }
    while ((de = readdir(dp))) {
        errno = 0;
        id = strtoul(de->d_name, &end, 10);
        if (errno || *end || end == de->d_name || id >= HV_INVALID_DOMID)
            continue;
        list = xrealloc(list, (n + 1) * sizeof(*list));
        d = &list[n];
        memset(d, 0, sizeof(*d));
        d->domid = (uint32_t)id;
        if (hv_sim_domain_name(hv, d->domid, &d->name))
            d->name = xstrdup("(unnamed)");
        if (hv_sim_domain_info(hv, d->domid, &d->info)) {
            free(d->name);      /* destroyed meanwhile */
            continue;
        }
        d->vcpus = 1;
        if (!hv_sim_config_get(hv, d->domid, 0, &json)) {
            if (!hv_sim_config_parse(hv->ctx, json, &c)) {
                d->vcpus = c.vcpus;
                hv_sim_config_dispose(&c);
            }
            free(json);
        }
        n++;
    }
    closedir(dp);
    free(dir);
    *list_r = list;
    *n_r = n;
    return XLMIG_OK;
}

int hv_sim_host_wipe(struct xlmig_ctx *ctx, const char *dir)
{
    struct hv_sim s = { .base = { .ctx = ctx } };
    struct sim_state st;
    struct dirent *de;
    char *path = xasprintf("%s/dom", dir), *end;
    unsigned long id;
    int rc = XLMIG_OK, r;
    DIR *dp;

    s.dir = (char *)dir;
    dp = opendir(path);
    if (!dp) {
        if (errno != ENOENT) {
            LOGE(ctx, ERROR, "opendir %s", path);
            rc = XLMIG_E_SYSTEM;
        }
        free(path);
        return rc;
    }
    while ((de = readdir(dp))) {
        errno = 0;
        id = strtoul(de->d_name, &end, 10);
        if (errno || *end || end == de->d_name || id >= HV_INVALID_DOMID)
            continue;
        r = hv_sim_state_read(&s, (uint32_t)id, &st);
        if (!r) r = sim_guest_kill(&s, (uint32_t)id, &st);
        if (!r || r == XLMIG_E_NOTFOUND) r = sim_rm_domain_dir(&s, (uint32_t)id);
        if (r && !rc) rc = r;
    }
    closedir(dp);
    free(path);
    return rc;
}

static int hv_sim_sched_cap_get(struct hv *hv, uint32_t domid,
                                bool *capable_r, unsigned *cap_r,
                                unsigned *vcpus_r)
{
    struct sim_sched sc;
    int rc;

    rc = sim_sched_io(hv_sim_of(hv), domid, false, &sc);
    if (rc) return rc;
    *capable_r = true;
    *cap_r = sc.cap;
    *vcpus_r = sc.vcpus;
    return XLMIG_OK;
}

static int hv_sim_sched_cap_set(struct hv *hv, uint32_t domid, unsigned cap)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct sim_sched sc;
    int rc;

    if (cap > SIM_SCHED_CAP_MAX) return XLMIG_E_INVAL;
    rc = sim_sched_io(s, domid, false, &sc);
    if (rc) return rc;
    sc.cap = cap;
    return sim_sched_io(s, domid, true, &sc);
}

const struct hv_ops hv_sim_ops = {
    .name = "sim",
    .open = hv_sim_open,
    .close = hv_sim_close,
    .lookup = hv_sim_lookup,
    .domain_name = hv_sim_domain_name,
    .domain_info = hv_sim_domain_info,
    .config_get = hv_sim_config_get,
    .config_load = hv_sim_config_load,
    .config_canonical = hv_sim_config_canonical,
    .save = hv_sim_save,
    .restore = hv_sim_restore,
    .resume = hv_sim_resume,
    .rename = hv_sim_rename,
    .pause = hv_sim_pause,
    .unpause = hv_sim_unpause,
    .destroy = hv_sim_destroy,
    .monitor = hv_sim_monitor,
    .list = hv_sim_list,
    .host_facts = hv_sim_host_facts,
    .domain_facts = hv_sim_domain_facts,
    .need_memory = hv_sim_need_memory,
    .have_bridge = hv_sim_have_bridge,
    .have_script = hv_sim_have_script,
    .disk_live = hv_sim_disk_live,
    .have_cpupool = hv_sim_have_cpupool,
    .pci_assignable = hv_sim_pci_assignable,
    .sched_cap_get = hv_sim_sched_cap_get,
    .sched_cap_set = hv_sim_sched_cap_set,
};
