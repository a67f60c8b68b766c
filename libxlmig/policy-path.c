/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy-path.c - where the files a config names may be (policy.h):
 * disks in the allowed directories (shared storage) or LVM volume groups,
 * boot files in theirs, hotplug scripts in Xen's script directory.
 *
 * Paths are judged as written, never normalised: an absolute path with
 * no ".", "..", "//" or trailing '/'. Below an allowed directory no
 * component may be a symlink and the file must be a regular one: on
 * shared storage the other host can plant a symlink or a device node
 * (say, one that is dom0's /dev/sda) between the check and the use. The
 * directory itself may be a symlink: the admin made it. Under /dev, where
 * only this host's udev and LVM make names, symlinks are resolved and the
 * result must be a block device; a volume group's must be a logical
 * volume of that group (device-mapper's name in sysfs says so). A qcow2
 * (or other format) image names its backing files itself: each of them
 * must pass the same rules (qemu-img info --backing-chain).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "child.h"
#include "fdio.h"
#include "jsonlim.h"
#include "policy-priv.h"

#define POLICY_IMG_OUT_MAX (1u << 20)   /* qemu-img info's JSON */
#define POLICY_IMG_DEPTH_MAX 8
#define POLICY_IMG_TIMEOUT_S 30
#define POLICY_CHAIN_MAX 32             /* backing files of one image */
#define POLICY_LV_MAX 127               /* LVM's NAME_LEN - 1 */

/* An absolute path as written: no ".", "..", "//", trailing '/',
 * control character, or ',' (QEMU's option separator). */
static bool policy_path_plain(const char *path)
{
    size_t n = strlen(path), i;
    const char *c;

    if (path[0] != '/' || n < 2 || n >= PATH_MAX || path[n - 1] == '/')
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f ||
            path[i] == ',')
            return false;
    for (c = path; c; c = strchr(c + 1, '/')) {
        if (c[1] == '/') return false;
        if (c[1] == '.' && (c[2] == '/' || !c[2])) return false;
        if (c[1] == '.' && c[2] == '.' && (c[3] == '/' || !c[3]))
            return false;
    }
    return true;
}

static bool policy_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    return !strncmp(path, dir, n) && (!path[n] || path[n] == '/');
}

/* The entry of dirs that holds path (the longest), or NULL. */
static const char *policy_dir_of(const char *path, char *const *dirs,
                                 size_t n, bool dev)
{
    const char *best = NULL;
    size_t i;

    for (i = 0; i < n; i++) {
        if (!strncmp(dirs[i], "/dev/", 5) != dev) continue;
        if (policy_under(path, dirs[i]) &&
            (!best || strlen(dirs[i]) > strlen(best)))
            best = dirs[i];
    }
    return best;
}

static void policy_refuse_path(struct policy_walk *w, const char *where,
                               const char *path, const char *why)
{
    char *q = policy_quote(path);

    policy_refuse(w, where, "%s %s", q, why);
    free(q);
}

/*
 * The components of path below dir: directories, none a symlink; the
 * last a regular file. Missing ones are not refused: nothing is there to
 * take (a missing disk is pre-flight's disk-visible error, and libxl
 * fails to attach it).
 */
static bool policy_below(struct policy_walk *w, const char *where,
                         const char *path, const char *dir)
{
    size_t skip = strlen(w->p->root), i;
    char *fs = xasprintf("%s%s", w->p->root, path), c, *q;
    struct stat st;
    bool ok = false;
    int r;

    /* The allowed directory itself: nothing below it to take. */
    if (!path[strlen(dir)]) {
        policy_refuse_path(w, where, path, "is an allowed directory, not a "
                           "file in it");
        free(fs);
        return false;
    }
    for (i = skip + strlen(dir) + 1;; i++) {
        if (fs[i] != '/' && fs[i]) continue;
        c = fs[i];
        fs[i] = '\0';
        r = lstat(fs, &st);
        q = policy_quote(fs + skip);
        fs[i] = c;
        if (r < 0 && errno == ENOENT) {
            ok = true;
        } else if (r < 0) {
            policy_refuse(w, where, "%s: %s here", q, strerror(errno));
        } else if (S_ISLNK(st.st_mode)) {
            policy_refuse(w, where, "%s is a symlink inside %s: refused "
                          "(another host could have planted it)", q, dir);
        } else if (!c && !S_ISREG(st.st_mode)) {
            policy_refuse(w, where, "%s is not a regular file", q);
        } else if (c && !S_ISDIR(st.st_mode)) {
            policy_refuse(w, where, "%s is not a directory", q);
        } else {
            free(q);
            if (c) continue;
            ok = true;
            break;
        }
        free(q);
        break;
    }
    free(fs);
    return ok;
}

/* "vg-1" as device-mapper writes it in a name: '-' doubled. */
static char *policy_dm_mangle(const char *s)
{
    char *out = xmalloc(2 * strlen(s) + 1), *p = out;

    for (; *s; s++) {
        *p++ = *s;
        if (*s == '-') *p++ = '-';
    }
    *p = '\0';
    return out;
}

/*
 * /dev/VG/LV or /dev/mapper/VG-LV of a volume group in disk_vgs: the
 * device-mapper name that LV must have (allocated), or NULL.
 */
static char *policy_lv_name(const struct policy *p, const char *path,
                            const char **vg_r)
{
    char *mvg, *mlv, *name = NULL;
    const char *lv;
    size_t i, n;

    for (i = 0; i < p->n_disk_vgs && !name; i++) {
        *vg_r = p->disk_vgs[i];
        n = strlen(*vg_r);
        mvg = policy_dm_mangle(*vg_r);
        lv = NULL;
        if (!strncmp(path, "/dev/", 5) && !strncmp(path + 5, *vg_r, n) &&
            path[5 + n] == '/')
            lv = path + 6 + n;
        if (lv && !strchr(lv, '/') && policy_word_ok(lv, POLICY_LV_MAX)) {
            mlv = policy_dm_mangle(lv);
            name = xasprintf("%s-%s", mvg, mlv);
            free(mlv);
        } else if (!strncmp(path, "/dev/mapper/", 12) &&
                   !strncmp(path + 12, mvg, strlen(mvg)) &&
                   path[12 + strlen(mvg)] == '-' &&
                   policy_word_ok(path + 12, 2 * POLICY_LV_MAX)) {
            name = xstrdup(path + 12);
        }
        free(mvg);
    }
    return name;
}

/* A disk under /dev: an allowed device, or a logical volume of an
 * allowed group; either way, a block device. */
static void policy_dev_disk(struct policy_walk *w, const char *where,
                            const char *path)
{
    const char *dir = policy_dir_of(path, w->p->disk_paths,
                                    w->p->n_disk_paths, true), *vg = NULL;
    char *lv = dir ? NULL : policy_lv_name(w->p, path, &vg);
    char *fs = xasprintf("%s%s", w->p->root, path), real[PATH_MAX];
    char *sys = NULL, *got = NULL;
    struct stat st;
    int rc;

    if (!dir && !lv) {
        policy_refuse_path(w, where, path, "is outside the allowed disk "
                           "locations (incoming_disk_paths, "
                           "incoming_disk_vgs)");
        goto out;
    }
    if (!realpath(fs, real) || stat(real, &st) < 0) {
        policy_refuse(w, where, "%s: %s here", path, strerror(errno));
        goto out;
    }
    if (!S_ISBLK(st.st_mode)) {
        policy_refuse_path(w, where, path, "is not a block device");
        goto out;
    }
    if (!lv) goto out;
    sys = xasprintf("%s/sys/dev/block/%u:%u/dm/name", w->p->root,
                    major(st.st_rdev), minor(st.st_rdev));
    rc = fdio_read_file(w->ctx, sys, 256, &got);
    if (!rc) got[strcspn(got, "\n")] = '\0';
    if (rc || strcmp(got, lv))
        policy_refuse(w, where, "%s is not a logical volume of volume "
                      "group %s", path, vg);
out:
    free(got);
    free(sys);
    free(fs);
    free(lv);
}

static void policy_file_disk(struct policy_walk *w, const char *where,
                             const char *path)
{
    const char *dir = policy_dir_of(path, w->p->disk_paths,
                                    w->p->n_disk_paths, false);

    if (!dir)
        policy_refuse_path(w, where, path, "is outside the allowed disk "
                           "locations (incoming_disk_paths)");
    else
        (void)policy_below(w, where, path, dir);
}

/* A disk's image or a backing file of it. */
static void policy_disk_file(struct policy_walk *w, const char *where,
                             const char *path)
{
    if (!policy_path_plain(path))
        policy_refuse_path(w, where, path, "is not a plain absolute path "
                           "(no '.', '..', '//', trailing '/', ',' or "
                           "control characters)");
    else if (!strncmp(path, "/dev/", 5))
        policy_dev_disk(w, where, path);
    else
        policy_file_disk(w, where, path);
}

/*
 * One image's header through qemu-img (which opens no backing file unless
 * asked): *backing_r its backing file (allocated) or NULL, as an absolute
 * path when the image names one relative to itself.
 */
static int policy_img_info(struct policy_walk *w, const char *where,
                           const char *path, const char *format,
                           char **backing_r, char **bformat_r)
{
    const char *bpath[] = { "full-backing-filename", NULL };
    const char *fpath[] = { "backing-filename-format", NULL };
    char *fs = xasprintf("%s%s", w->p->root, path), *out = NULL;
    char *argv[] = { (char *)w->p->qemu_img, (char *)"info", (char *)"-U",
                     (char *)"--output=json", (char *)"-f", (char *)format,
                     (char *)"--", fs, NULL };
    yajl_val v, b, f;
    char *why = NULL, *q;
    int rc;

    *backing_r = *bformat_r = NULL;
    /* Nothing to read: refused, as the chain cannot be judged. */
    if (access(fs, F_OK) < 0 && errno == ENOENT) {
        q = policy_quote(path);
        policy_refuse(w, where, "%s does not exist here, so its backing "
                      "files cannot be checked", q);
        free(q);
        rc = XLMIG_E_NOTFOUND;
        goto out;
    }
    /* Without a format qemu-img would guess it from the file. */
    if (!format) {
        argv[4] = (char *)"--";
        argv[5] = fs;
        argv[6] = NULL;
    }
    rc = child_capture(w->ctx, "qemu-img info", argv, POLICY_IMG_OUT_MAX,
                       POLICY_IMG_TIMEOUT_S, &out);
    if (rc) {
        policy_refuse(w, where, "cannot read the image's header with %s: %s "
                      "(is qemu-utils installed?)", w->p->qemu_img,
                      xlmig_strerror(rc));
        goto out;
    }
    v = jsonlim_parse(out, POLICY_IMG_OUT_MAX, POLICY_IMG_DEPTH_MAX, &why);
    if (!v || !YAJL_IS_OBJECT(v)) {
        policy_refuse(w, where, "qemu-img's answer: %s",
                      why ? why : "not an object");
        rc = XLMIG_E_PROTO;
    } else {
        b = yajl_tree_get(v, bpath, yajl_t_string);
        f = yajl_tree_get(v, fpath, yajl_t_string);
        if (b) *backing_r = xstrdup(b->u.string);
        if (b && f) *bformat_r = xstrdup(f->u.string);
    }
    yajl_tree_free(v);
out:
    free(why);
    free(out);
    free(fs);
    return rc;
}

/*
 * Formats that can name other files (qcow2, qcow, vhd, qed): each backing
 * file must pass the same rules, and is judged before it is opened, so a
 * hostile image cannot make this host open a device, a file elsewhere or
 * a network address ("nbd://", "json:").
 */
static void policy_backing(struct policy_walk *w, const char *where,
                           const char *path, const char *format)
{
    char at[POLICY_WHERE_MAX], *cur = xstrdup(path), *fmt = NULL;
    char *next = NULL, *nfmt = NULL;
    size_t before, root = strlen(w->p->root), i;

    /* libxl's names of formats, as QEMU knows them. */
    fmt = xstrdup(!strcmp(format, "vhd") ? "vpc" : format);
    for (i = 1; i <= POLICY_CHAIN_MAX; i++) {
        if (policy_img_info(w, where, cur, fmt, &next, &nfmt)) break;
        if (!next) goto out;
        /* qemu-img made a relative name absolute with our root prefix. */
        if (root && !strncmp(next, w->p->root, root) && next[root] == '/')
            memmove(next, next + root, strlen(next + root) + 1);
        snprintf(at, sizeof(at), "%s (backing file %zu)", where, i);
        before = w->rep->n;
        policy_disk_file(w, at, next);
        if (w->rep->n != before) break;
        free(cur);
        free(fmt);
        cur = next;
        fmt = nfmt;
        next = nfmt = NULL;
    }
    if (i > POLICY_CHAIN_MAX)
        policy_refuse(w, where, "more than %d backing files",
                      POLICY_CHAIN_MAX);
out:
    free(next);
    free(nfmt);
    free(fmt);
    free(cur);
}

void policy_disk_path(struct policy_walk *w, const char *where,
                      const char *path, const char *backend,
                      const char *format, const char *script)
{
    const char *base = script ? strrchr(script, '/') : NULL;
    size_t before = w->rep->n;
    bool qdisk = backend && !strcmp(backend, "qdisk");

    base = base ? base + 1 : script;
    /* A script of its own reads its own kind of target (an iSCSI IQN,
     * an NBD address): a word to it, not a file here. */
    if (path[0] != '/' && base && *base && strcmp(base, "block")) {
        if (strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                   "WXYZ0123456789_.:@=+-") != strlen(path))
            policy_refuse_path(w, where, path, "is not a target a hotplug "
                               "script may be given here");
        return;
    }
    policy_disk_file(w, where, path);
    if (w->rep->n != before || !qdisk) return;
    if (!format || !strcmp(format, "unknown"))
        policy_refuse(w, where, "a qdisk disk must say its format (QEMU "
                      "would guess it from the file)");
    else if (strcmp(format, "raw") && strcmp(format, "empty"))
        policy_backing(w, where, path, format);
}

void policy_boot_path(struct policy_walk *w, const char *where,
                      const char *path, bool firmware)
{
    const char *dir;

    /* A bare name: one of Xen's own firmware files. */
    if (firmware && !strchr(path, '/')) {
        if (!policy_word_ok(path, 64))
            policy_refuse_path(w, where, path, "is not a firmware name");
        return;
    }
    if (!policy_path_plain(path)) {
        policy_refuse_path(w, where, path, "is not a plain absolute path "
                           "(no '.', '..', '//', trailing '/', ',' or "
                           "control characters)");
        return;
    }
    dir = policy_dir_of(path, w->p->boot_paths, w->p->n_boot_paths, false);
    if (!dir)
        policy_refuse_path(w, where, path, "is outside the allowed boot "
                           "file locations (incoming_boot_paths)");
    else
        (void)policy_below(w, where, path, dir);
}

void policy_script(struct policy_walk *w, const char *where,
                   const char *script)
{
    const char *slash = strrchr(script, '/');
    size_t i;

    /* libxl runs a bare name from its script directory. */
    if (!slash) {
        if (!policy_word_ok(script, 64))
            policy_refuse_path(w, where, script, "is not a script name");
        return;
    }
    if (policy_path_plain(script)) {
        if ((size_t)(slash - script) == strlen(w->p->script_dir) &&
            !strncmp(script, w->p->script_dir, (size_t)(slash - script)) &&
            policy_word_ok(slash + 1, 64))
            return;
        for (i = 0; i < w->p->n_scripts; i++)
            if (!strcmp(script, w->p->scripts[i])) return;
    }
    policy_refuse_path(w, where, script, "is not a hotplug script this host "
                       "runs (only names in its script directory, or paths "
                       "in incoming_scripts)");
}
