/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * journal.c - a job's record on disk (journal.h): yajl-generated JSON
 * replaced by rename, and a strict reader that turns any damage into one
 * logged line and XLMIG_E_INVAL. What the record means is the job's
 * business (job.c); this file only keeps it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "fdio.h"
#include "journal.h"
#include "jsonlim.h"

#define JOURNAL_SUFFIX ".json"
#define JOURNAL_DEPTH_MAX 8     /* one object, an array of flat objects */

/* A record's strings: JSON key, offset and size in struct journal_rec. */
static const struct {
    const char *key;
    size_t off, size;
} journal_strs[] = {
#define JOURNAL_STR(f) { #f, offsetof(struct journal_rec, f), \
                         sizeof(((struct journal_rec *)0)->f) }
    JOURNAL_STR(id), JOURNAL_STR(role), JOURNAL_STR(kind),
    JOURNAL_STR(phase), JOURNAL_STR(name), JOURNAL_STR(uuid),
    JOURNAL_STR(peer), JOURNAL_STR(error),
};

/* Added later (storage moves): absent means "". */
static const struct {
    const char *key;
    size_t off, size;
} journal_opt_strs[] = {
    JOURNAL_STR(vdev), JOURNAL_STR(src), JOURNAL_STR(src_format),
    JOURNAL_STR(part), JOURNAL_STR(dst), JOURNAL_STR(dst_format),
    JOURNAL_STR(cfg), JOURNAL_STR(save),
    JOURNAL_STR(mover), JOURNAL_STR(handle), JOURNAL_STR(link),
    JOURNAL_STR(prop),
};

/* A moved disk's strings (all required in each "disks" entry). */
static const struct {
    const char *key;
    size_t off, size;
} journal_disk_strs[] = {
#define JOURNAL_DSTR(f) { #f, offsetof(struct journal_disk, f), \
                          sizeof(((struct journal_disk *)0)->f) }
    JOURNAL_DSTR(vdev), JOURNAL_DSTR(src), JOURNAL_DSTR(dst),
    JOURNAL_DSTR(fmt), JOURNAL_DSTR(mover), JOURNAL_DSTR(handle),
    JOURNAL_DSTR(prop),
#undef JOURNAL_DSTR
#undef JOURNAL_STR
};

const char *journal_dir(void)
{
    const char *d = getenv("XLMIG_STATE_DIR");

    return d && *d ? d : JOURNAL_DIR_DEFAULT;
}

/* Ids name files: 1..31 of [A-Za-z0-9_-], so no '/', no "..". */
static bool journal_id_ok(const char *id)
{
    size_t n = strnlen(id, sizeof(((struct journal_rec *)0)->id));

    return n > 0 && n < sizeof(((struct journal_rec *)0)->id) &&
           strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_-") == n;
}

static char *journal_path(const char *id)
{
    return xasprintf("%s/%s" JOURNAL_SUFFIX, journal_dir(), id);
}

/* ---- writing ---- */

static void journal_gen_key(yajl_gen g, const char *key)
{
    yajl_gen_string(g, (const unsigned char *)key, strlen(key));
}

/* A string of at most size bytes; bytes that do not make valid UTF-8
 * (say, a name cut in the middle of a character) must not make the
 * record unreadable, so such a string is stored ASCII-only. */
static void journal_gen_str(yajl_gen g, const char *s, size_t size)
{
    size_t n = strnlen(s, size - 1), i;
    char *ascii;

    if (yajl_gen_string(g, (const unsigned char *)s, n) ==
        yajl_gen_status_ok)
        return;
    ascii = xmalloc(n + 1);
    for (i = 0; i < n; i++)
        ascii[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    if (yajl_gen_string(g, (const unsigned char *)ascii, n) !=
        yajl_gen_status_ok)
        abort();
    free(ascii);
}

/* "disks": [{...}, ...], at most JOURNAL_DISKS_MAX. */
static void journal_gen_disks(yajl_gen g, const struct journal_rec *r)
{
    const struct journal_disk *d;
    unsigned i, k;

    journal_gen_key(g, "disks");
    yajl_gen_array_open(g);
    for (i = 0; i < r->n_disks && i < JOURNAL_DISKS_MAX; i++) {
        d = &r->disks[i];
        yajl_gen_map_open(g);
        for (k = 0; k < ARRAY_SIZE(journal_disk_strs); k++) {
            journal_gen_key(g, journal_disk_strs[k].key);
            journal_gen_str(g, (const char *)d + journal_disk_strs[k].off,
                            journal_disk_strs[k].size);
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
}

/* The JSON of r (caller frees). */
static char *journal_to_json(const struct journal_rec *r)
{
    const unsigned char *text;
    yajl_gen g = yajl_gen_alloc(NULL);
    size_t len, i;
    char *out;

    if (!g) abort();
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_validate_utf8, 1);
    yajl_gen_map_open(g);
    journal_gen_key(g, "version");
    yajl_gen_integer(g, JOURNAL_VERSION);
    for (i = 0; i < ARRAY_SIZE(journal_strs); i++) {
        journal_gen_key(g, journal_strs[i].key);
        journal_gen_str(g, (const char *)r + journal_strs[i].off,
                        journal_strs[i].size);
    }
    for (i = 0; i < ARRAY_SIZE(journal_opt_strs); i++) {
        const char *v = (const char *)r + journal_opt_strs[i].off;

        if (!*v) continue;
        journal_gen_key(g, journal_opt_strs[i].key);
        journal_gen_str(g, v, journal_opt_strs[i].size);
    }
    if (r->keep) {
        journal_gen_key(g, "keep");
        yajl_gen_bool(g, true);
    }
    if (r->offline) {
        journal_gen_key(g, "offline");
        yajl_gen_bool(g, true);
    }
    if (r->pivoted) {
        journal_gen_key(g, "pivoted");
        yajl_gen_bool(g, true);
    }
    if (r->n_disks) journal_gen_disks(g, r);
    if (r->throttle) {
        journal_gen_key(g, "throttle");
        yajl_gen_bool(g, true);
        journal_gen_key(g, "sched_cap");
        yajl_gen_integer(g, r->sched_cap);
    }
    journal_gen_key(g, "domid");
    yajl_gen_integer(g, r->domid);
    journal_gen_key(g, "go");
    yajl_gen_bool(g, r->go);
    journal_gen_key(g, "suspended");
    yajl_gen_bool(g, r->suspended);
    journal_gen_key(g, "paused");
    yajl_gen_bool(g, r->paused);
    journal_gen_key(g, "started");
    yajl_gen_double(g, r->started);
    journal_gen_key(g, "updated");
    yajl_gen_double(g, r->updated);
    yajl_gen_map_close(g);
    if (yajl_gen_get_buf(g, &text, &len) != yajl_gen_status_ok) abort();
    out = xasprintf("%.*s\n", (int)len, (const char *)text);
    yajl_gen_free(g);
    return out;
}

/* A fresh host has no state directory, nor maybe its parents: made, the
 * directory itself 0700 (journals name domains). */
int journal_make_dir(struct xlmig_ctx *ctx)
{
    return fdio_make_dirs(ctx, journal_dir(), 0700);
}

int journal_write(struct xlmig_ctx *ctx, const struct journal_rec *r)
{
    const char *dir = journal_dir();
    char *json = NULL, *path = NULL;
    int rc;

    if (!journal_id_ok(r->id)) {
        LOG(ctx, ERROR, "journal: invalid job id '%.31s'", r->id);
        return XLMIG_E_INVAL;
    }
    if (!isfinite(r->started) || !isfinite(r->updated)) {
        LOG(ctx, ERROR, "journal of job %s: times must be finite", r->id);
        return XLMIG_E_INVAL;
    }
    rc = fdio_make_dirs(ctx, dir, 0700);
    if (rc) goto out;
    json = journal_to_json(r);
    path = journal_path(r->id);
    /* Its temporary is a dot file, which journal_list does not show. */
    rc = fdio_write_file(ctx, path, json, strlen(json));
out:
    free(path);
    free(json);
    return rc;
}

/* ---- reading ---- */

/* The file's text (caller frees); *why_r says what is wrong with it. */
static int journal_slurp(struct xlmig_ctx *ctx, const char *path,
                         char **text_r, const char **why_r)
{
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    ssize_t r;
    int fd, rc = XLMIG_E_INVAL;

    *text_r = NULL;
    *why_r = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        LOGE(ctx, ERROR, "%s: cannot open", path);
        return err_from_errno(errno);
    }
    if (fstat(fd, &st)) {
        LOGE(ctx, ERROR, "%s: cannot stat", path);
        rc = err_from_errno(errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        *why_r = "not a regular file";
        goto out;
    }
    if (st.st_size > JOURNAL_FILE_MAX) {
        *why_r = "larger than a journal can be";
        goto out;
    }
    buf = xmalloc(JOURNAL_FILE_MAX + 1);
    /* Read to the cap, whatever the size said: the file may grow. */
    while (len < JOURNAL_FILE_MAX + 1) {
        r = read(fd, buf + len, JOURNAL_FILE_MAX + 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            LOGE(ctx, ERROR, "%s: cannot read", path);
            rc = err_from_errno(errno);
            goto out;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    if (len > JOURNAL_FILE_MAX) {
        *why_r = "larger than a journal can be";
        goto out;
    }
    buf[len] = '\0';
    if (len == 0) *why_r = "empty";
    else if (strlen(buf) != len) *why_r = "not text (holds NUL bytes)";
    if (*why_r) goto out;
    *text_r = buf;
    buf = NULL;
    rc = XLMIG_OK;
out:
    free(buf);
    close(fd);
    return rc;
}

/* A true/false of root into *b_r; absent is false unless required.
 * false with why filled in if it is not one. */
static bool journal_get_bool(yajl_val root, const char *key, bool required,
                             bool *b_r, char *why, size_t size)
{
    const char *path[2] = { key, NULL };
    yajl_val v = yajl_tree_get(root, path, yajl_t_any);

    if ((v || required) && !YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
        snprintf(why, size, "%s %snot true/false", key,
                 required ? "missing or " : "");
        return false;
    }
    *b_r = YAJL_IS_TRUE(v);
    return true;
}

/* One string of an object into dst (size bytes); NULL or what is wrong. */
static const char *journal_get_str(yajl_val obj, const char *key, char *dst,
                                   size_t size, char *why, size_t wsize)
{
    const char *path[2] = { key, NULL };
    yajl_val v = yajl_tree_get(obj, path, yajl_t_any);

    if (!v || !YAJL_IS_STRING(v)) {
        snprintf(why, wsize, "%s %s", key,
                 v ? "is not a string" : "is missing");
        return why;
    }
    if (strlen(v->u.string) >= size) {
        snprintf(why, wsize, "%s longer than %zu bytes", key, size - 1);
        return why;
    }
    strcpy(dst, v->u.string);
    return NULL;
}

/* "disks" (optional): an array of at most JOURNAL_DISKS_MAX objects. */
static const char *journal_get_disks(yajl_val root, struct journal_rec *r,
                                     char *why, size_t size)
{
    const char *path[2] = { "disks", NULL }, *bad;
    yajl_val v = yajl_tree_get(root, path, yajl_t_any), o;
    size_t i, k;

    if (!v) return NULL;
    if (!YAJL_IS_ARRAY(v)) return "disks is not an array";
    if (v->u.array.len > JOURNAL_DISKS_MAX) return "more disks than a "
                                                   "migration moves";
    for (i = 0; i < v->u.array.len; i++) {
        o = v->u.array.values[i];
        if (!YAJL_IS_OBJECT(o)) return "a disk is not an object";
        for (k = 0; k < ARRAY_SIZE(journal_disk_strs); k++) {
            bad = journal_get_str(o, journal_disk_strs[k].key,
                                  (char *)&r->disks[i] +
                                      journal_disk_strs[k].off,
                                  journal_disk_strs[k].size, why, size);
            if (bad) return bad;
        }
    }
    r->n_disks = (unsigned)v->u.array.len;
    return NULL;
}

/* Fills r from the object root; returns NULL or what is wrong (into the
 * caller's why buffer). */
static const char *journal_from_tree(yajl_val root, struct journal_rec *r,
                                     char *why, size_t size)
{
    const char *path[2] = { NULL, NULL }, *bad;
    yajl_val v;
    size_t i;

    path[0] = "version";
    v = yajl_tree_get(root, path, yajl_t_any);
    if (!v) return "no version";
    if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) != JOURNAL_VERSION) {
        snprintf(why, size, "version is not %d", JOURNAL_VERSION);
        return why;
    }
    for (i = 0; i < ARRAY_SIZE(journal_strs); i++) {
        bad = journal_get_str(root, journal_strs[i].key,
                              (char *)r + journal_strs[i].off,
                              journal_strs[i].size, why, size);
        if (bad) return bad;
    }
    if (!journal_id_ok(r->id)) return "id is not a job id";
    path[0] = "domid";
    v = yajl_tree_get(root, path, yajl_t_any);
    if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 ||
        YAJL_GET_INTEGER(v) > UINT32_MAX)
        return "domid missing or not a domain id";
    r->domid = (uint32_t)YAJL_GET_INTEGER(v);
    if (!journal_get_bool(root, "go", true, &r->go, why, size) ||
        !journal_get_bool(root, "suspended", true, &r->suspended, why,
                          size) ||
        /* added later: absent means false */
        !journal_get_bool(root, "paused", false, &r->paused, why, size) ||
        !journal_get_bool(root, "keep", false, &r->keep, why, size) ||
        !journal_get_bool(root, "offline", false, &r->offline, why, size) ||
        !journal_get_bool(root, "pivoted", false, &r->pivoted, why, size) ||
        !journal_get_bool(root, "throttle", false, &r->throttle, why, size))
        return why;
    if (r->throttle) {
        path[0] = "sched_cap";
        v = yajl_tree_get(root, path, yajl_t_any);
        if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 ||
            YAJL_GET_INTEGER(v) > JOURNAL_SCHED_CAP_MAX)
            return "sched_cap missing or not a scheduler cap";
        r->sched_cap = (unsigned)YAJL_GET_INTEGER(v);
    }
    for (i = 0; i < ARRAY_SIZE(journal_opt_strs); i++) {
        path[0] = journal_opt_strs[i].key;
        v = yajl_tree_get(root, path, yajl_t_any);
        if (!v) continue;
        if (!YAJL_IS_STRING(v)) {
            snprintf(why, size, "%s is not a string",
                     journal_opt_strs[i].key);
            return why;
        }
        if (strlen(v->u.string) >= journal_opt_strs[i].size) {
            snprintf(why, size, "%s longer than %zu bytes",
                     journal_opt_strs[i].key, journal_opt_strs[i].size - 1);
            return why;
        }
        strcpy((char *)r + journal_opt_strs[i].off, v->u.string);
    }
    bad = journal_get_disks(root, r, why, size);
    if (bad) return bad;
    path[0] = "started";
    v = yajl_tree_get(root, path, yajl_t_any);
    if (!YAJL_IS_DOUBLE(v) || !isfinite(YAJL_GET_DOUBLE(v)))
        return "started missing or not a number";
    r->started = YAJL_GET_DOUBLE(v);
    path[0] = "updated";
    v = yajl_tree_get(root, path, yajl_t_any);
    if (!YAJL_IS_DOUBLE(v) || !isfinite(YAJL_GET_DOUBLE(v)))
        return "updated missing or not a number";
    r->updated = YAJL_GET_DOUBLE(v);
    return NULL;
}

int journal_read(struct xlmig_ctx *ctx, const char *path,
                 struct journal_rec *r_r)
{
    char *err = NULL, why[128];
    const char *bad = NULL;
    yajl_val root = NULL;
    char *text = NULL;
    int rc;

    memset(r_r, 0, sizeof(*r_r));
    rc = journal_slurp(ctx, path, &text, &bad);
    if (rc) goto out;
    root = jsonlim_parse(text, JOURNAL_FILE_MAX, JOURNAL_DEPTH_MAX, &err);
    if (!root) {
        bad = err;
    } else if (!YAJL_IS_OBJECT(root)) {
        bad = "not a JSON object";
    } else {
        bad = journal_from_tree(root, r_r, why, sizeof(why));
    }
    if (bad) rc = XLMIG_E_INVAL;
out:
    if (bad) LOG(ctx, ERROR, "%s: %s", path, bad);
    if (rc) memset(r_r, 0, sizeof(*r_r));
    yajl_tree_free(root);
    free(text);
    free(err);
    return rc;
}

/* ---- removing and listing ---- */

int journal_remove(struct xlmig_ctx *ctx, const char *id)
{
    char *path;
    int rc = XLMIG_OK;

    if (!journal_id_ok(id)) {
        LOG(ctx, ERROR, "journal: invalid job id '%.31s'", id);
        return XLMIG_E_INVAL;
    }
    path = journal_path(id);
    if (unlink(path) == 0) {
        rc = fdio_sync_dir(ctx, journal_dir());
    } else if (errno != ENOENT) {
        LOGE(ctx, ERROR, "remove %s", path);
        rc = err_from_errno(errno);
    }
    free(path);
    return rc;
}

static int journal_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool journal_is_record(const char *name)
{
    size_t n = strlen(name), sn = strlen(JOURNAL_SUFFIX);

    return name[0] != '.' && n > sn &&
           !strcmp(name + n - sn, JOURNAL_SUFFIX);
}

int journal_list(struct xlmig_ctx *ctx, char ***paths_r, size_t *n_r)
{
    const char *dir = journal_dir();
    char **paths = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    DIR *d;
    int rc = XLMIG_OK;

    *paths_r = NULL;
    *n_r = 0;
    d = opendir(dir);
    if (!d && errno == ENOENT) return XLMIG_OK;
    if (!d) {
        LOGE(ctx, ERROR, "open the journal directory %s", dir);
        return err_from_errno(errno);
    }
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de) break;
        if (!journal_is_record(de->d_name)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            paths = xrealloc(paths, cap * sizeof(*paths));
        }
        paths[n++] = xasprintf("%s/%s", dir, de->d_name);
    }
    if (errno) {
        LOGE(ctx, ERROR, "read the journal directory %s", dir);
        rc = err_from_errno(errno);
        while (n) free(paths[--n]);
        free(paths);
        paths = NULL;
    }
    closedir(d);
    if (n) qsort(paths, n, sizeof(*paths), journal_cmp);
    *paths_r = paths;
    *n_r = n;
    return rc;
}
