/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fdio.h - reads and writes on fds with a stall deadline and a cancel fd,
 * so that no read from a peer can hang for ever (STYLE.md, untrusted
 * input rule 5), plus pipe and fd-flag helpers.
 */
#ifndef XLMIG_FDIO_H
#define XLMIG_FDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "internal.h"

#define FDIO_PIPE_SIZE (1 << 20)    /* research/perf.md section 5.1 */

/*
 * How a transfer is bounded: it fails with XLMIG_E_TIMEDOUT when no byte
 * moves for timeout_s seconds (0: never), and with XLMIG_E_CANCELLED as
 * soon as one of cancel_fds (-1: unused) is readable.
 */
#define FDIO_CANCEL_FDS 3     /* as many as HV_WAIT_FDS */
struct fdio_wait {
    unsigned timeout_s;
    int cancel_fds[FDIO_CANCEL_FDS];
};

/* A wait with the given timeout and one cancel fd (-1: none). */
struct fdio_wait fdio_wait_make(unsigned timeout_s, int cancel_fd);

/* Pipe with O_CLOEXEC on both ends, enlarged to FDIO_PIPE_SIZE if allowed.
 * Returns 0, or XLMIG_E_SYSTEM (errno logged) with both fds -1. */
MUST_CHECK int fdio_pipe(struct xlmig_ctx *ctx, int fds[2]);
/* Closes both fds that are >= 0 and sets them to -1. */
void fdio_close_pair(int fds[2]);
void fdio_close(int *fd);
/* Milliseconds until a monotonic deadline: -1 if deadline is 0, 0 if it
 * has passed, capped to INT_MAX. */
int fdio_ms_until(const struct xlmig_ctx *ctx, double deadline);
/* Sets or clears O_NONBLOCK; returns the previous flags or -1 (logged). */
int fdio_set_nonblock(struct xlmig_ctx *ctx, int fd, bool on);
/* true if fd is readable now (or has hung up). */
bool fdio_readable(int fd);

/*
 * Waits until fd is ready for events (POLLIN, POLLOUT) within the wait's
 * timeout; XLMIG_E_TIMEDOUT / XLMIG_E_CANCELLED (logged, naming what).
 */
MUST_CHECK int fdio_ready(struct xlmig_ctx *ctx, int fd, short events,
                          const struct fdio_wait *w, const char *what);

/*
 * Reads exactly len bytes. XLMIG_E_PEER when the peer closes first,
 * XLMIG_E_TIMEDOUT / XLMIG_E_CANCELLED as in struct fdio_wait. Logs the
 * failure naming what was being read.
 */
MUST_CHECK int fdio_read_exact(struct xlmig_ctx *ctx, int fd, void *buf,
                               size_t len, const struct fdio_wait *w,
                               const char *what);
/* Reads what is there, 1..len bytes; *got_r 0 means end of file. */
MUST_CHECK int fdio_read_some(struct xlmig_ctx *ctx, int fd, void *buf,
                              size_t len, const struct fdio_wait *w,
                              const char *what, size_t *got_r);
/* Writes all len bytes; XLMIG_E_PEER if the reader went away. */
MUST_CHECK int fdio_write_all(struct xlmig_ctx *ctx, int fd, const void *buf,
                              size_t len, const struct fdio_wait *w,
                              const char *what);
/*
 * Writes all bytes of the cnt pieces in iov (writev(2), at most IOV_MAX
 * pieces a call); iov is used up: its entries are changed as bytes go
 * out. Errors as fdio_write_all().
 */
MUST_CHECK int fdio_writev_all(struct xlmig_ctx *ctx, int fd,
                               struct iovec *iov, int cnt,
                               const struct fdio_wait *w, const char *what);

/*
 * Small files. fdio_read_file reads a whole file of at most max bytes,
 * NUL-terminated, into *text_r (allocated): XLMIG_E_NOTFOUND, not logged,
 * if it does not exist; XLMIG_E_TOOBIG if it is larger; other failures
 * logged. fdio_write_file replaces path atomically and durably: a
 * temporary .NAME.tmp beside it, fsync, rename, fsync of the directory.
 * A stale .NAME.tmp (a crash, or a planted file or symlink) is removed
 * and the new one created with O_EXCL|O_NOFOLLOW, so nothing is written
 * through a link; XLMIG_E_BUSY (logged) if another writer of path gets in
 * the way. On failure path is as it was and no .NAME.tmp of ours is left.
 * fdio_sync_dir makes a rename or unlink in dir durable.
 */
MUST_CHECK int fdio_read_file(struct xlmig_ctx *ctx, const char *path,
                              size_t max, char **text_r);
MUST_CHECK int fdio_write_file(struct xlmig_ctx *ctx, const char *path,
                               const void *data, size_t len);
/* As fdio_write_file, the new file with like's owner and mode (NULL:
 * ours, 0600): a config file rewritten stays the admin's. */
struct stat;
MUST_CHECK int fdio_write_file_as(struct xlmig_ctx *ctx, const char *path,
                                  const void *data, size_t len,
                                  const struct stat *like);
MUST_CHECK int fdio_sync_dir(struct xlmig_ctx *ctx, const char *dir);
/* Makes dir (mode) and its missing parents (0755); one existing is fine. */
MUST_CHECK int fdio_make_dirs(struct xlmig_ctx *ctx, const char *dir,
                              mode_t mode);
/* fsync(2) of the file or device at path (what others wrote to it). */
MUST_CHECK int fdio_sync_file(struct xlmig_ctx *ctx, const char *path);

#endif /* XLMIG_FDIO_H */
