/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * storage-copy.h - the disk copier of xlmig storage-move: a verified raw
 * copy (file or block device, sparse where it can be), and qemu-img for
 * what is not raw (info, measure, convert + compare). Knows nothing of
 * domains, SRs or jobs: the caller names the files and removes a failed
 * copy.
 */
#ifndef XLMIG_STORAGE_COPY_H
#define XLMIG_STORAGE_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

struct scopy_opts {
    /* Bytes per second read by the copy, and again by its verification
     * (of the source while copying, of the target while verifying);
     * 0: no limit. scopy_convert passes it to qemu-img (-r), which limits
     * its convert, not its compare. */
    uint64_t bandwidth;
    /* Readable: stop within about a second with XLMIG_E_CANCELLED
     * (qemu-img's process group killed); -1: none. */
    int cancel_fd;
    /*
     * Called about once a second, even when nothing moved (so a caller
     * may look at its own cancel requests there), and once at the end of
     * a successful copy with done == total. total is the virtual size;
     * done counts the copy and its verification as one walk over it
     * (each weighs half), so done == total only when both are complete.
     * NULL: none.
     */
    void (*progress)(void *arg, uint64_t done, uint64_t total);
    void *arg;                  /* progress's first argument */
};

struct scopy_result {
    uint64_t size;              /* virtual size (bytes) */
    /* Bytes of source data extents read (raw); scopy_convert: the bytes
     * the source image file allocates (its actual size). */
    uint64_t data;
    /* Bytes written to the target (raw); scopy_convert: the bytes the
     * target allocates when done (st_blocks * 512). */
    uint64_t written;
    double copy_s;              /* wall time of the copy, incl. fdatasync */
    double verify_s;            /* wall time of the verification */
    /* How it copied: "read-write" or "qemu-img" (NUL-terminated). */
    char method[24];
};

/*
 * Raw copy of src (a regular file or block device) to dst.
 * A regular dst is created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600
 * (XLMIG_E_EXISTS if anything is there); an existing block device dst is
 * opened O_WRONLY, must be at least src's size (else XLMIG_E_NOSPACE) and
 * gets every byte of [0, size) written, zeros included, since an LV holds
 * old data; what lies beyond is left alone.
 * A file dst is sparse: source holes (SEEK_DATA/SEEK_HOLE; everything is
 * read where the filesystem lacks them, e.g. 9p, NFSv3) and all-zero 4 KiB
 * blocks are not written, and ftruncate gives it src's size. Dirty data is
 * written back as the copy goes, so that the closing fdatasync and a
 * cancel take little time.
 * Then verified: the hash of src's content (XXH3-128 tree, see
 * storage-copy.c), taken while copying, against dst read back after
 * posix_fadvise(DONTNEED) of dst, holes taken as zeros at no cost. A
 * mismatch is XLMIG_E_STORAGE, logged naming both files.
 * ENOSPC/EDQUOT: XLMIG_E_NOSPACE, logged ("no space left on DST"); other
 * I/O errors XLMIG_E_STORAGE, errno logged. On any failure dst is left as
 * it is: the caller removes it. *res is filled in either case.
 */
MUST_CHECK int scopy_raw(struct xlmig_ctx *ctx, const char *src,
                         const char *dst, const struct scopy_opts *o,
                         struct scopy_result *res);

/*
 * The verification of scopy_raw on two existing files (or devices): src's
 * content hashed as the copy does, dst read back after DONTNEED; dst may
 * be longer (a block device), only src's size is compared. XLMIG_OK if
 * equal, XLMIG_E_STORAGE (logged naming both) if not. o may be NULL. For
 * the tests, and for checking a copy made earlier.
 */
MUST_CHECK int scopy_verify(struct xlmig_ctx *ctx, const char *src,
                            const char *dst, const struct scopy_opts *o);

/*
 * Runs of qemu-img: each under /bin/sh (which merges its stderr into its
 * stdout, for us to parse and log) and prlimit(1) (RLIMIT_AS 1 GiB; for
 * info and measure also RLIMIT_CPU 30 s and a 30 s wall-clock deadline),
 * in a process group of its own that is killed when it ends, times out or
 * is cancelled. Always with -f: never a guessed format. Paths must be
 * absolute (qemu-img reads "proto:..." as a protocol); formats are
 * qemu-img's names ("raw", "qcow2", "vpc", "vmdk").
 */

/*
 * What qemu-img info says of an image and its backing chain. Not with
 * --backing-chain, which opens every backing file before anyone could
 * look at its name (a device, "nbd://", "json:{...}"): one file at a
 * time (qemu-img info -U --output=json -f FORMAT), each backing file
 * taken only if its name is absolute and its format recorded, then with
 * -f that format; a loop or more than 64 files fail.
 */
struct scopy_image {
    char format[16];            /* as given */
    uint64_t virtual_size;      /* bytes */
    uint64_t actual_size;       /* bytes allocated by the file itself */
    size_t n_chain;             /* files of the backing chain after the
                                   image itself */
    char **chain;               /* their absolute filenames (allocated,
                                   n_chain of them; NULL if none) */
    /*
     * The image or a file of its chain is a vmdk descriptor, or names
     * external data files (vmdk extents elsewhere, a qcow2 data-file):
     * refuse it. A text vmdk descriptor is recognised by its first bytes,
     * before qemu-img could open the files it names: then only format and
     * descriptor are filled in.
     */
    bool descriptor;
};

/*
 * Fills in *img (scopy_image_dispose() it, on failure too). XLMIG_E_NOTFOUND
 * if path does not exist, XLMIG_E_INVAL for a bad format name or relative
 * path, XLMIG_E_STORAGE if qemu-img fails (its last line logged) or a
 * backing file is refused, XLMIG_E_PROTO if it answers nonsense,
 * XLMIG_E_TIMEDOUT after 30 s.
 */
MUST_CHECK int scopy_image_info(struct xlmig_ctx *ctx, const char *path,
                                const char *format, struct scopy_image *img);
/* Frees what *img holds and zeroes it; idempotent. */
void scopy_image_dispose(struct scopy_image *img);

/*
 * Creates an empty image of format at path (absent: XLMIG_E_EXISTS if
 * anything is there), size bytes virtual: a sparse raw file made here
 * (0600), anything else by qemu-img create. For a live mirror's target.
 */
MUST_CHECK int scopy_create(struct xlmig_ctx *ctx, const char *path,
                            const char *format, uint64_t size);
/* A raw image's size (a file's length, a block device's) and the bytes
 * it allocates (the size for a device). */
MUST_CHECK int scopy_raw_size(struct xlmig_ctx *ctx, const char *path,
                              uint64_t *size_r, uint64_t *data_r);
/*
 * Bytes the image src would take as dst_format: "required" of
 * qemu-img measure --output=json -f SRC_FORMAT -O DST_FORMAT SRC.
 * Errors as scopy_image_info. It opens src's whole backing chain: judge
 * that first (scopy_image_info).
 */
MUST_CHECK int scopy_measure(struct xlmig_ctx *ctx, const char *src,
                             const char *src_format, const char *dst_format,
                             uint64_t *bytes_r);

/*
 * Format-converting (or backing-chain-flattening) copy:
 * qemu-img convert -p -f SRC_FORMAT -O DST_FORMAT [-r BANDWIDTH] src dst.
 * dst must not exist (XLMIG_E_EXISTS): its name is taken first with an
 * empty file of mode 0600, O_EXCL|O_NOFOLLOW, which qemu-img then
 * rewrites. An existing block device is the exception (an LV made for
 * the copy): written in place (convert -n), it must hold the virtual
 * size (else XLMIG_E_NOSPACE).
 * Progress comes from qemu-img's -p output ("(12.34/100%)"). Then dst is
 * fsynced and compared with qemu-img compare -p -f SRC_FORMAT -F
 * DST_FORMAT (a raw block device: only its first virtual-size bytes):
 * exit 1 (different) is XLMIG_E_STORAGE naming both files.
 * A failing qemu-img: XLMIG_E_STORAGE with its last line logged escaped;
 * "No space left" in it: XLMIG_E_NOSPACE. Cancel kills its process
 * group: XLMIG_E_CANCELLED. There is no deadline: a copy takes what it
 * takes; cancel is the way to stop it. src's chain is judged first as
 * scopy_image_info does; a descriptor is refused (XLMIG_E_INVAL). dst is
 * left as it is on failure. *res is filled in either case.
 */
MUST_CHECK int scopy_convert(struct xlmig_ctx *ctx, const char *src,
                             const char *src_format, const char *dst,
                             const char *dst_format,
                             const struct scopy_opts *o,
                             struct scopy_result *res);

#endif /* XLMIG_STORAGE_COPY_H */
