/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jobrun-state.c - the state file of a run and its report: one JSON
 * format for both ({"file", "started", "jobs": [task...]}, the report
 * with "ended" and "result" too). The state file is the runner's
 * journal: written (tmp, fsync, rename, fsync of the directory) before a
 * task starts and after it ends; read back strictly when the same file
 * runs again.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "jobrun.h"
#include "jsonlim.h"

#define JOBRUN_STATE_MAX (16 * 1024 * 1024)
#define JOBRUN_STATE_DEPTH 6
#define JOBRUN_STATE_VERSION 1
#define JOBRUN_STATE_TASKS_MAX 16384

/* Creates dir and its parents (mode 0700 for what it makes). */
static int jobrun_state_mkdirs(const char *dir, char **why_r)
{
    char *p = xstrdup(dir), *s;
    int rc = 0;

    for (s = p + 1; ; s++) {
        if (*s && *s != '/') continue;
        char c = *s;

        *s = '\0';
        if (mkdir(p, 0700) && errno != EEXIST) {
            *why_r = xasprintf("cannot create %s: %s", p, strerror(errno));
            rc = -1;
            break;
        }
        *s = c;
        if (!c) break;
    }
    free(p);
    return rc;
}

char *jobrun_state_default(const char *file)
{
    const char *dir = getenv("XLMIG_STATE_DIR");
    char real[PATH_MAX], *copy, *base, *dot, *p;
    uint64_t h = 1469598103934665603ull;        /* FNV-1a 64 */
    const char *s;
    char *out;

    if (!dir || !*dir) dir = "/var/lib/xlmig";
    if (!realpath(file, real)) snprintf(real, sizeof(real), "%s", file);
    for (s = real; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    copy = xstrdup(real);
    base = basename(copy);
    dot = strrchr(base, '.');
    if (dot && dot != base) *dot = '\0';
    for (p = base; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789._-", *p))
            *p = '_';
    if (strlen(base) > 64) base[64] = '\0';
    out = xasprintf("%s/runs/%s-%016llx.json", dir, base,
                    (unsigned long long)h);
    free(copy);
    return out;
}

/* ---- writing ------------------------------------------------------------- */

static void jobrun_gen_str(yajl_gen g, const char *k, const char *v)
{
    yajl_gen_string(g, (const unsigned char *)k, strlen(k));
    if (v) yajl_gen_string(g, (const unsigned char *)v, strlen(v));
    else yajl_gen_null(g);
}

static void jobrun_gen_num(yajl_gen g, const char *k, double v)
{
    char num[64];
    int n = snprintf(num, sizeof(num), "%.3f", v);

    yajl_gen_string(g, (const unsigned char *)k, strlen(k));
    yajl_gen_number(g, num, (size_t)n);
}

static void jobrun_gen_int(yajl_gen g, const char *k, long long v)
{
    yajl_gen_string(g, (const unsigned char *)k, strlen(k));
    yajl_gen_integer(g, v);
}

static void jobrun_gen_bool(yajl_gen g, const char *k, bool v)
{
    yajl_gen_string(g, (const unsigned char *)k, strlen(k));
    yajl_gen_bool(g, v);
}

static void jobrun_gen_task(yajl_gen g, const struct jobrun *run,
                            const struct jobrun_task *t)
{
    const struct jobxml_job *job = &run->env.f->jobs[t->job];
    size_t i;

    yajl_gen_map_open(g);
    jobrun_gen_str(g, "id", t->id);
    jobrun_gen_str(g, "job", job->id);
    jobrun_gen_str(g, "kind", jobxml_kind_name(job->kind));
    jobrun_gen_str(g, "domain", t->domain);
    jobrun_gen_str(g, "uuid", t->uuid[0] ? t->uuid : NULL);
    jobrun_gen_str(g, "from", job->from);
    jobrun_gen_str(g, "to", t->to);
    jobrun_gen_str(g, "result", jobrun_state_name(t->state));
    jobrun_gen_bool(g, "already", t->already);
    jobrun_gen_int(g, "attempts", t->attempts);
    jobrun_gen_num(g, "started", t->started);
    jobrun_gen_num(g, "ended", t->ended);
    yajl_gen_string(g, (const unsigned char *)"phases", 6);
    yajl_gen_map_open(g);
    for (i = 0; i < t->n_phases; i++)
        jobrun_gen_num(g, t->phase_name[i], t->phase_s[i]);
    yajl_gen_map_close(g);
    jobrun_gen_int(g, "bytes", (long long)t->bytes);
    if (t->has_downtime) jobrun_gen_num(g, "downtime_ms", t->downtime_ms);
    jobrun_gen_str(g, "error", t->error);
    jobrun_gen_str(g, "remedy", t->remedy);
    jobrun_gen_str(g, "checks", t->checks);
    jobrun_gen_str(g, "xjob", t->xjob[0] ? t->xjob : NULL);
    yajl_gen_map_close(g);
}

/* The document; result NULL for the state file. */
static char *jobrun_state_json(const struct jobrun *run, const char *result)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    const unsigned char *buf;
    size_t len, i;
    char *out;

    if (!g) abort();
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_map_open(g);
    jobrun_gen_int(g, "version", JOBRUN_STATE_VERSION);
    jobrun_gen_str(g, "file", run->env.f->path);
    jobrun_gen_num(g, "started", run->started);
    if (result) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        jobrun_gen_num(g, "ended", (double)ts.tv_sec + ts.tv_nsec / 1e9);
        jobrun_gen_str(g, "result", result);
        jobrun_gen_bool(g, "dry_run", run->dry_run);
    }
    yajl_gen_string(g, (const unsigned char *)"jobs", 4);
    yajl_gen_array_open(g);
    for (i = 0; i < run->n_t; i++) jobrun_gen_task(g, run, &run->t[i]);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) abort();
    out = xmalloc(len + 1);
    memcpy(out, buf, len);
    out[len] = '\0';
    yajl_gen_free(g);
    return out;
}

/* Writes text to path durably: tmp, fsync, rename, fsync the dir. */
static int jobrun_state_write(const char *path, const char *text,
                              char **why_r)
{
    char *tmp = xasprintf("%s.tmp", path), *copy = xstrdup(path);
    size_t len = strlen(text), off = 0;
    int fd = -1, dfd = -1, rc = -1;
    ssize_t r;

    if (jobrun_state_mkdirs(dirname(copy), why_r)) goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) goto fail;
    while (off < len) {
        r = write(fd, text + off, len - off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) goto fail;
        off += (size_t)r;
    }
    if (fsync(fd)) goto fail;
    if (close(fd)) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path)) goto fail;
    free(copy);
    copy = xstrdup(path);
    dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd)) goto fail;
    rc = 0;
    goto out;
fail:
    *why_r = xasprintf("%s: %s", path, strerror(errno));
    (void)unlink(tmp);
out:
    if (fd >= 0) close(fd);
    if (dfd >= 0) close(dfd);
    free(tmp);
    free(copy);
    return rc;
}

int jobrun_state_save(struct jobrun *run, char **why_r)
{
    char *text;
    int rc;

    if (!run->state_path) return 0;
    text = jobrun_state_json(run, NULL);
    rc = jobrun_state_write(run->state_path, text, why_r);
    free(text);
    return rc;
}

int jobrun_report_write(struct jobrun *run, const char *path,
                        const char *result, char **why_r)
{
    char *text = jobrun_state_json(run, result);
    int rc = jobrun_state_write(path, text, why_r);

    free(text);
    return rc;
}

void jobrun_state_remove(struct jobrun *run)
{
    char *path;
    size_t i;

    if (!run->state_path) return;
    for (i = 0; i < run->n_t; i++) {
        path = xasprintf("%s/%s.out", run->log_dir, run->t[i].id);
        (void)unlink(path);
        free(path);
        path = xasprintf("%s/%s.err", run->log_dir, run->t[i].id);
        (void)unlink(path);
        free(path);
    }
    (void)rmdir(run->log_dir);
    (void)unlink(run->state_path);
}

/* ---- reading ------------------------------------------------------------- */

static const char *jobrun_state_str(yajl_val o, const char *key)
{
    const char *path[] = { key, NULL };
    yajl_val v = yajl_tree_get(o, path, yajl_t_string);

    return v ? YAJL_GET_STRING(v) : NULL;
}

static double jobrun_state_num(yajl_val o, const char *key)
{
    const char *path[] = { key, NULL };
    yajl_val v = yajl_tree_get(o, path, yajl_t_number);

    return v ? YAJL_GET_DOUBLE(v) : 0;
}

/* A copied string member of at most max bytes, or NULL. */
static char *jobrun_state_dup(yajl_val o, const char *key, size_t max)
{
    const char *s = jobrun_state_str(o, key);

    return s && strlen(s) <= max ? xstrdup(s) : NULL;
}

/* The job of that id in the file, or -1 (the file changed since). */
static ssize_t jobrun_state_job(const struct jobrun *run, const char *id)
{
    size_t i;

    for (i = 0; id && i < run->env.f->n_jobs; i++)
        if (!strcmp(run->env.f->jobs[i].id, id)) return (ssize_t)i;
    return -1;
}

/* Whether a task id is one this file can make for job j. */
static bool jobrun_state_id_ok(const struct jobxml_job *job, const char *id)
{
    size_t n = strlen(job->id);

    if (strlen(id) > 200 || strchr(id, '/')) return false;
    return !strcmp(id, job->id) ||
           (!strncmp(id, job->id, n) && id[n] == ':' && id[n + 1]);
}

/* One task of the file; false if it is not one of this file's. */
static bool jobrun_state_task(struct jobrun *run, yajl_val o)
{
    const char *id = jobrun_state_str(o, "id"), *s, *to;
    ssize_t j = jobrun_state_job(run, jobrun_state_str(o, "job"));
    const struct jobxml_job *job;
    enum jobrun_state st;
    struct jobrun_task *t;
    yajl_val ph;
    size_t i;

    if (!id || j < 0 || !(s = jobrun_state_str(o, "result")) ||
        !jobrun_state_parse(s, &st))
        return false;
    job = &run->env.f->jobs[j];
    if (!jobrun_state_id_ok(job, id)) return false;
    /* Only what is done or may still run is kept: the rest runs again. */
    if (st != JOBRUN_DONE && st != JOBRUN_RUNNING) return true;
    to = jobrun_state_str(o, "to");
    if (to && !jobxml_host(run->env.f, to)) to = NULL;
    if (!to && job->n_to == 1) to = job->to[0];
    /* Placed on a host the file no longer names: placed again. */
    if (!to && job->kind == JOBXML_EVACUATE) return true;
    s = jobrun_state_str(o, "domain");
    if (s && (strlen(s) > 127 || !*s)) return false;
    t = jobrun_task_add(run, (size_t)j, id, s);
    t->state = st;
    t->already = yajl_tree_get(o, (const char *[]){ "already", NULL },
                               yajl_t_true) != NULL;
    if ((s = jobrun_state_str(o, "uuid")) && strlen(s) == 36)
        snprintf(t->uuid, sizeof(t->uuid), "%s", s);
    t->to = to ? xstrdup(to) : NULL;
    t->attempts = (unsigned)jobrun_state_num(o, "attempts");
    t->started = jobrun_state_num(o, "started");
    t->ended = jobrun_state_num(o, "ended");
    t->bytes = (uint64_t)jobrun_state_num(o, "bytes");
    if (yajl_tree_get(o, (const char *[]){ "downtime_ms", NULL },
                      yajl_t_number)) {
        t->downtime_ms = jobrun_state_num(o, "downtime_ms");
        t->has_downtime = true;
    }
    t->error = jobrun_state_dup(o, "error", 1024);
    t->remedy = jobrun_state_dup(o, "remedy", 1024);
    t->checks = jobrun_state_dup(o, "checks", 1024);
    if ((s = jobrun_state_str(o, "xjob")) && strlen(s) < sizeof(t->xjob) &&
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789._-") == strlen(s))
        snprintf(t->xjob, sizeof(t->xjob), "%s", s);
    ph = yajl_tree_get(o, (const char *[]){ "phases", NULL }, yajl_t_object);
    for (i = 0; ph && i < YAJL_GET_OBJECT(ph)->len &&
                i < JOBRUN_PHASES; i++) {
        yajl_val v = YAJL_GET_OBJECT(ph)->values[i];

        if (!YAJL_IS_NUMBER(v) || strlen(YAJL_GET_OBJECT(ph)->keys[i]) > 15)
            continue;
        snprintf(t->phase_name[t->n_phases], sizeof(t->phase_name[0]), "%s",
                 YAJL_GET_OBJECT(ph)->keys[i]);
        t->phase_s[t->n_phases++] = YAJL_GET_DOUBLE(v);
    }
    /* A job of one task is made; a selection is made again (it adds the
     * domains it has no task for). */
    if (job->kind == JOBXML_WAIT || job->kind == JOBXML_STORAGE_MOVE ||
        job->domain)
        run->jobs[j].expanded = true;
    return true;
}

int jobrun_state_load(struct jobrun *run, char **why_r)
{
    char *text = NULL, *why = NULL, *copy;
    yajl_val root = NULL, jobs;
    struct stat st;
    size_t i, len = 0;
    ssize_t r;
    int fd = -1, rc = -1;

    copy = xasprintf("%s", run->state_path);
    if (strlen(copy) > 5 && !strcmp(copy + strlen(copy) - 5, ".json"))
        copy[strlen(copy) - 5] = '\0';
    run->log_dir = xasprintf("%s.d", copy);
    free(copy);
    fd = open(run->state_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        rc = 0;
        goto mkdir;
    }
    if (fd < 0 || fstat(fd, &st)) goto sys;
    if (st.st_size > JOBRUN_STATE_MAX) {
        *why_r = xasprintf("%s: larger than %d bytes", run->state_path,
                           JOBRUN_STATE_MAX);
        goto out;
    }
    text = xmalloc((size_t)st.st_size + 1);
    while (len < (size_t)st.st_size) {
        r = read(fd, text + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) goto sys;
        if (r == 0) break;
        len += (size_t)r;
    }
    text[len] = '\0';
    root = jsonlim_parse(text, JOBRUN_STATE_MAX, JOBRUN_STATE_DEPTH, &why);
    jobs = root ? yajl_tree_get(root, (const char *[]){ "jobs", NULL },
                                yajl_t_array) : NULL;
    if (!jobs || jobrun_state_num(root, "version") != JOBRUN_STATE_VERSION ||
        YAJL_GET_ARRAY(jobs)->len > JOBRUN_STATE_TASKS_MAX) {
        *why_r = xasprintf("%s: not a state file of xlmig job-run%s%s "
                           "(remove it to start the run afresh)",
                           run->state_path, why ? ": " : "", why ? why : "");
        goto out;
    }
    for (i = 0; i < YAJL_GET_ARRAY(jobs)->len; i++)
        if (!YAJL_IS_OBJECT(YAJL_GET_ARRAY(jobs)->values[i]) ||
            !jobrun_state_task(run, YAJL_GET_ARRAY(jobs)->values[i])) {
            *why_r = xasprintf("%s: entry %zu is not a task of %s (the file "
                               "changed? remove the state file or give "
                               "another with --state)", run->state_path, i,
                               run->env.f->path);
            goto out;
        }
    if (jobrun_state_num(root, "started") > 0)
        run->started = jobrun_state_num(root, "started");
    rc = 0;
mkdir:
    if (!rc && jobrun_state_mkdirs(run->log_dir, why_r)) rc = -1;
    goto out;
sys:
    *why_r = xasprintf("%s: %s", run->state_path, strerror(errno));
out:
    if (fd >= 0) close(fd);
    if (root) yajl_tree_free(root);
    free(text);
    free(why);
    return rc;
}
