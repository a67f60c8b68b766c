/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fdio.c - bounded fd I/O (see fdio.h). Each transfer waits in poll(2) on
 * the fd and the cancel fd; the stall deadline restarts whenever a byte
 * moves. Works on blocking and non-blocking fds alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"

struct fdio_wait fdio_wait_make(unsigned timeout_s, int cancel_fd)
{
    struct fdio_wait w = { .timeout_s = timeout_s };
    int i;

    w.cancel_fds[0] = cancel_fd;
    for (i = 1; i < FDIO_CANCEL_FDS; i++)
        w.cancel_fds[i] = -1;
    return w;
}

int fdio_pipe(struct xlmig_ctx *ctx, int fds[2])
{
    if (pipe2(fds, O_CLOEXEC)) {
        LOGE(ctx, ERROR, "pipe");
        fds[0] = fds[1] = -1;
        return XLMIG_E_SYSTEM;
    }
    /* Best effort: pipe-max-size may be lower for unprivileged users. */
    if (fcntl(fds[1], F_SETPIPE_SZ, FDIO_PIPE_SIZE) < 0)
        LOGE(ctx, DEBUG, "F_SETPIPE_SZ %d", FDIO_PIPE_SIZE);
    return XLMIG_OK;
}

void fdio_close(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

void fdio_close_pair(int fds[2])
{
    fdio_close(&fds[0]);
    fdio_close(&fds[1]);
}

int fdio_ms_until(const struct xlmig_ctx *ctx, double deadline)
{
    double left;

    if (deadline == 0) return -1;
    left = deadline - ctx_now(ctx);
    if (left <= 0) return 0;
    if (left * 1000.0 > INT_MAX) return INT_MAX;
    return (int)(left * 1000.0) + 1;
}

int fdio_set_nonblock(struct xlmig_ctx *ctx, int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 ||
        fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0) {
        LOGE(ctx, ERROR, "fcntl O_NONBLOCK on fd %d", fd);
        return -1;
    }
    return fl;
}

bool fdio_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return fd >= 0 && poll(&p, 1, 0) > 0;
}

static int fdio_wait_fd(struct xlmig_ctx *ctx, int fd, short events,
                        const struct fdio_wait *w, double deadline,
                        const char *what)
{
    struct pollfd p[1 + FDIO_CANCEL_FDS];
    int i, r;

    for (;;) {
        p[0].fd = fd;
        p[0].events = events;
        for (i = 0; i < FDIO_CANCEL_FDS; i++) {
            p[1 + i].fd = w->cancel_fds[i];     /* poll ignores fd < 0 */
            p[1 + i].events = POLLIN;
        }
        r = poll(p, ARRAY_SIZE(p), fdio_ms_until(ctx, deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            LOGE(ctx, ERROR, "poll while waiting for %s", what);
            return XLMIG_E_SYSTEM;
        }
        for (i = 0; i < FDIO_CANCEL_FDS; i++) {
            if (p[1 + i].revents) {
                LOG(ctx, ERROR, "cancelled while waiting for %s", what);
                return XLMIG_E_CANCELLED;
            }
        }
        if (p[0].revents) return XLMIG_OK;
        if (r == 0 && fdio_ms_until(ctx, deadline) == 0) {
            LOG(ctx, ERROR, "timed out after %u s waiting for %s",
                w->timeout_s, what);
            return XLMIG_E_TIMEDOUT;
        }
    }
}

static double fdio_deadline(const struct xlmig_ctx *ctx,
                            const struct fdio_wait *w)
{
    return w->timeout_s ? ctx_now(ctx) + w->timeout_s : 0;
}

int fdio_ready(struct xlmig_ctx *ctx, int fd, short events,
               const struct fdio_wait *w, const char *what)
{
    return fdio_wait_fd(ctx, fd, events, w, fdio_deadline(ctx, w), what);
}

int fdio_read_some(struct xlmig_ctx *ctx, int fd, void *buf, size_t len,
                   const struct fdio_wait *w, const char *what,
                   size_t *got_r)
{
    double deadline = fdio_deadline(ctx, w);
    ssize_t r;
    int rc;

    *got_r = 0;
    for (;;) {
        rc = fdio_wait_fd(ctx, fd, POLLIN, w, deadline, what);
        if (rc) return rc;
        r = read(fd, buf, len);
        if (r >= 0) {
            *got_r = (size_t)r;
            return XLMIG_OK;
        }
        if (errno == EINTR || errno == EAGAIN) continue;
        if (errno == ECONNRESET) {
            LOG(ctx, ERROR, "peer reset the connection during %s", what);
            return XLMIG_E_PEER;
        }
        LOGE(ctx, ERROR, "read %s", what);
        return XLMIG_E_SYSTEM;
    }
}

int fdio_read_exact(struct xlmig_ctx *ctx, int fd, void *buf, size_t len,
                    const struct fdio_wait *w, const char *what)
{
    size_t done = 0, got;
    int rc;

    while (done < len) {
        rc = fdio_read_some(ctx, fd, (char *)buf + done, len - done, w,
                            what, &got);
        if (rc) return rc;
        if (got == 0) {
            LOG(ctx, ERROR, "peer closed the connection %s %s",
                done ? "in the middle of" : "instead of sending", what);
            return XLMIG_E_PEER;
        }
        done += got;
    }
    return XLMIG_OK;
}

/* What a failed write(2) or writev(2) of what means (errno), logged. */
static int fdio_write_failed(struct xlmig_ctx *ctx, const char *what)
{
    if (errno == EPIPE || errno == ECONNRESET) {
        LOG(ctx, ERROR, "peer went away while sending %s", what);
        return XLMIG_E_PEER;
    }
    LOGE(ctx, ERROR, "write %s", what);
    return XLMIG_E_SYSTEM;
}

int fdio_write_all(struct xlmig_ctx *ctx, int fd, const void *buf,
                   size_t len, const struct fdio_wait *w, const char *what)
{
    double deadline = fdio_deadline(ctx, w);
    size_t done = 0;
    ssize_t r;
    int rc;

    while (done < len) {
        rc = fdio_wait_fd(ctx, fd, POLLOUT, w, deadline, what);
        if (rc) return rc;
        r = write(fd, (const char *)buf + done, len - done);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return fdio_write_failed(ctx, what);
        }
        done += (size_t)r;
        deadline = fdio_deadline(ctx, w);
    }
    return XLMIG_OK;
}

/* Moves *i and iov[*i] past n written bytes (and empty pieces). */
static void fdio_iov_advance(struct iovec *iov, int cnt, int *i, size_t n)
{
    while (*i < cnt && n >= iov[*i].iov_len) {
        n -= iov[*i].iov_len;
        (*i)++;
    }
    if (n) {
        iov[*i].iov_base = (char *)iov[*i].iov_base + n;
        iov[*i].iov_len -= n;
    }
}

int fdio_writev_all(struct xlmig_ctx *ctx, int fd, struct iovec *iov,
                    int cnt, const struct fdio_wait *w, const char *what)
{
    double deadline = fdio_deadline(ctx, w);
    ssize_t r;
    int i = 0, rc;

    fdio_iov_advance(iov, cnt, &i, 0);
    while (i < cnt) {
        rc = fdio_wait_fd(ctx, fd, POLLOUT, w, deadline, what);
        if (rc) return rc;
        r = writev(fd, iov + i, cnt - i < IOV_MAX ? cnt - i : IOV_MAX);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return fdio_write_failed(ctx, what);
        }
        fdio_iov_advance(iov, cnt, &i, (size_t)r);
        deadline = fdio_deadline(ctx, w);
    }
    return XLMIG_OK;
}

int fdio_read_file(struct xlmig_ctx *ctx, const char *path, size_t max,
                   char **text_r)
{
    char *text = NULL;
    size_t len = 0;
    ssize_t r;
    int fd, rc = XLMIG_OK;

    *text_r = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return XLMIG_E_NOTFOUND;
        LOGE(ctx, ERROR, "cannot open %s", path);
        return err_from_errno(errno);
    }
    text = xmalloc(max + 1);
    /* One byte more than allowed tells a file that is too large. */
    while (len <= max) {
        r = read(fd, text + len, max + 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            LOGE(ctx, ERROR, "cannot read %s", path);
            rc = XLMIG_E_SYSTEM;
            goto out;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    if (len > max) {
        LOG(ctx, ERROR, "%s is over %zu bytes", path, max);
        rc = XLMIG_E_TOOBIG;
        goto out;
    }
    text[len] = '\0';
    *text_r = text;
    text = NULL;
out:
    free(text);
    close(fd);
    return rc;
}

int fdio_make_dirs(struct xlmig_ctx *ctx, const char *dir, mode_t mode)
{
    char *path = xstrdup(dir), *p;
    int rc = XLMIG_OK;

    for (p = strchr(path + 1, '/'); p && !rc; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            LOGE(ctx, ERROR, "create %s for %s", path, dir);
            rc = err_from_errno(errno);
        }
        *p = '/';
    }
    if (!rc && mkdir(path, mode) < 0 && errno != EEXIST) {
        LOGE(ctx, ERROR, "create the directory %s", dir);
        rc = err_from_errno(errno);
    }
    free(path);
    return rc;
}

/* fsync of what open(path, flags) opens. */
static int fdio_sync_path(struct xlmig_ctx *ctx, const char *path, int flags,
                          const char *what)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
    int rc = XLMIG_OK;

    if (fd < 0 || fsync(fd)) {
        LOGE(ctx, ERROR, "fsync %s%s", what, path);
        rc = XLMIG_E_SYSTEM;
    }
    if (fd >= 0) close(fd);
    return rc;
}

int fdio_sync_dir(struct xlmig_ctx *ctx, const char *dir)
{
    return fdio_sync_path(ctx, dir, O_DIRECTORY, "the directory ");
}

int fdio_sync_file(struct xlmig_ctx *ctx, const char *path)
{
    return fdio_sync_path(ctx, path, 0, "");
}

/*
 * Creates tmp afresh and writes data to it, durably; *st_r identifies it.
 * A stale tmp (a crash, a planted file or symlink) is removed first: the
 * new one is made with O_EXCL, so nothing is ever written through a link
 * or into a file someone else holds open. Fails XLMIG_E_BUSY if tmp
 * reappears in between (another writer of the same file).
 */
static int fdio_write_tmp(struct xlmig_ctx *ctx, const char *tmp,
                          const void *data, size_t len,
                          const struct stat *like, struct stat *st_r)
{
    size_t done = 0;
    ssize_t r;
    int fd, rc = XLMIG_OK;

    if (unlink(tmp) && errno != ENOENT) {
        LOGE(ctx, ERROR, "cannot remove the stale %s", tmp);
        return err_from_errno(errno);
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0 && errno == EEXIST) {
        LOG(ctx, ERROR, "%s was created by someone else while we made it: "
            "another writer?", tmp);
        return XLMIG_E_BUSY;
    }
    if (fd < 0) {
        LOGE(ctx, ERROR, "cannot create %s", tmp);
        return err_from_errno(errno);
    }
    while (done < len && !rc) {
        r = write(fd, (const char *)data + done, len - done);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            LOGE(ctx, ERROR, "write %s", tmp);
            rc = err_from_errno(errno);
        } else {
            done += (size_t)r;
        }
    }
    if (!rc && like &&
        (fchown(fd, like->st_uid, like->st_gid) ||
         fchmod(fd, like->st_mode & 07777))) {
        LOGE(ctx, ERROR, "give %s the owner and mode of the file it "
             "replaces", tmp);
        rc = err_from_errno(errno);
    }
    if (!rc && fsync(fd)) {
        LOGE(ctx, ERROR, "fsync %s", tmp);
        rc = err_from_errno(errno);
    }
    if (!rc && fstat(fd, st_r)) {
        LOGE(ctx, ERROR, "fstat %s", tmp);
        rc = err_from_errno(errno);
    }
    if (close(fd) && !rc) {
        LOGE(ctx, ERROR, "close %s", tmp);
        rc = err_from_errno(errno);
    }
    if (rc) unlink(tmp);
    return rc;
}

int fdio_write_file(struct xlmig_ctx *ctx, const char *path,
                    const void *data, size_t len)
{
    return fdio_write_file_as(ctx, path, data, len, NULL);
}

int xlmig_file_write(struct xlmig_ctx *ctx, const char *path,
                     const void *data, size_t len)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int rc;

    if (slash && slash != path) {
        dir = xasprintf("%.*s", (int)(slash - path), path);
        rc = fdio_make_dirs(ctx, dir, 0700);
        free(dir);
        if (rc) return rc;
    }
    return fdio_write_file(ctx, path, data, len);
}

int fdio_write_file_as(struct xlmig_ctx *ctx, const char *path,
                       const void *data, size_t len, const struct stat *like)
{
    const char *slash = strrchr(path, '/');
    struct stat st, now;
    char *dir, *tmp;
    int rc;

    dir = slash ? xasprintf("%.*s", (int)(slash - path), path)
                : xstrdup(".");
    if (!*dir) {
        free(dir);
        dir = xstrdup("/");
    }
    tmp = xasprintf("%s/.%s.tmp", dir, slash ? slash + 1 : path);
    rc = fdio_write_tmp(ctx, tmp, data, len, like, &st);
    if (rc) goto out;
    /* Ours still: another writer's stale-file removal may have hit it. */
    if (lstat(tmp, &now) || now.st_dev != st.st_dev ||
        now.st_ino != st.st_ino) {
        LOG(ctx, ERROR, "%s was replaced while we wrote it: another "
            "writer of %s?", tmp, path);
        rc = XLMIG_E_BUSY;
        goto out;
    }
    if (rename(tmp, path)) {
        LOGE(ctx, ERROR, "rename %s to %s", tmp, path);
        rc = err_from_errno(errno);
        unlink(tmp);
        goto out;
    }
    rc = fdio_sync_dir(ctx, dir);
out:
    free(tmp);
    free(dir);
    return rc;
}
