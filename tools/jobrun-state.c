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
    jobrun_gen_int(g, "wire_bytes", (long long)t->wire_bytes);
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

/* Writes text to path durably (xlmig_file_write). */
static int jobrun_state_write(struct jobrun *run, const char *path,
                              const char *text, char **why_r)
{
    struct xlmig_ctx *lib = cmd_lib(run->env.c);
    int rc;

    if (!lib) {
        *why_r = xstrdup("no library context");
        return -1;
    }
    rc = xlmig_file_write(lib, path, text, strlen(text));
    if (rc) *why_r = xasprintf("%s: %s", path, xlmig_strerror(rc));
    return rc ? -1 : 0;
}

int jobrun_state_save(struct jobrun *run, char **why_r)
{
    char *text;
    int rc;

    if (!run->state_path) return 0;
    text = jobrun_state_json(run, NULL);
    rc = jobrun_state_write(run, run->state_path, text, why_r);
    free(text);
    return rc;
}

int jobrun_report_write(struct jobrun *run, const char *path,
                        const char *result, char **why_r)
{
    char *text = jobrun_state_json(run, result);
    int rc = jobrun_state_write(run, path, text, why_r);

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

/* A copied string member of at most max bytes, or NULL. */
static char *jobrun_state_dup(yajl_val o, const char *key, size_t max)
{
    const char *s = jobrun_json_str(o, key);

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
    const char *id = jobrun_json_str(o, "id"), *s, *to;
    ssize_t j = jobrun_state_job(run, jobrun_json_str(o, "job"));
    const struct jobxml_job *job;
    enum jobrun_state st;
    struct jobrun_task *t;
    yajl_val ph;
    size_t i;

    if (!id || j < 0 || !(s = jobrun_json_str(o, "result")) ||
        !jobrun_state_parse(s, &st))
        return false;
    job = &run->env.f->jobs[j];
    if (!jobrun_state_id_ok(job, id)) return false;
    /* Only what is done or may still run is kept: the rest runs again. */
    if (st != JOBRUN_DONE && st != JOBRUN_RUNNING) return true;
    to = jobrun_json_str(o, "to");
    if (to && !jobxml_host(run->env.f, to)) to = NULL;
    if (!to && job->n_to == 1) to = job->to[0];
    /* Placed on a host the file no longer names: placed again. */
    if (!to && job->kind == JOBXML_EVACUATE) return true;
    s = jobrun_json_str(o, "domain");
    /* A name a receiver takes, or a uuid (domain= may be one). */
    if (s && !xlmig_name_ok(s) &&
        (strlen(s) != 36 || strspn(s, "0123456789abcdef-") != 36))
        return false;
    t = jobrun_task_add(run, (size_t)j, id, s);
    t->state = st;
    t->already = jobrun_json_true(o, "already");
    if ((s = jobrun_json_str(o, "uuid")) && strlen(s) == 36)
        snprintf(t->uuid, sizeof(t->uuid), "%s", s);
    t->to = to ? xstrdup(to) : NULL;
    t->attempts = (unsigned)jobrun_json_num(o, "attempts");
    t->started = jobrun_json_num(o, "started");
    t->ended = jobrun_json_num(o, "ended");
    t->bytes = (uint64_t)jobrun_json_num(o, "bytes");
    t->wire_bytes = (uint64_t)jobrun_json_num(o, "wire_bytes");
    if (yajl_tree_get(o, (const char *[]){ "downtime_ms", NULL },
                      yajl_t_number)) {
        t->downtime_ms = jobrun_json_num(o, "downtime_ms");
        t->has_downtime = true;
    }
    t->error = jobrun_state_dup(o, "error", 1024);
    t->remedy = jobrun_state_dup(o, "remedy", 1024);
    t->checks = jobrun_state_dup(o, "checks", 1024);
    if ((s = jobrun_json_str(o, "xjob")) && strlen(s) < sizeof(t->xjob) &&
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

int jobrun_read_file(const char *path, size_t max, char **text_r,
                     size_t *len_r, char **why_r)
{
    struct stat st;
    size_t len = 0;
    ssize_t r;
    char *text;
    int fd;

    *text_r = NULL;
    *len_r = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return 1;
    if (fd < 0 || fstat(fd, &st)) goto sys;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        *why_r = xasprintf("%s: not a regular file of at most %zu bytes",
                           path, max);
        close(fd);
        return -1;
    }
    text = xmalloc((size_t)st.st_size + 1);
    while (len < (size_t)st.st_size) {
        r = read(fd, text + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            free(text);
            goto sys;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    text[len] = '\0';
    *text_r = text;
    *len_r = len;
    return 0;
sys:
    *why_r = xasprintf("%s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
}

int jobrun_state_load(struct jobrun *run, char **why_r)
{
    char *text = NULL, *why = NULL, *copy;
    yajl_val root = NULL, jobs;
    size_t i, len = 0;
    int r, rc = -1;

    copy = xasprintf("%s", run->state_path);
    if (strlen(copy) > 5 && !strcmp(copy + strlen(copy) - 5, ".json"))
        copy[strlen(copy) - 5] = '\0';
    run->log_dir = xasprintf("%s.d", copy);
    free(copy);
    r = jobrun_read_file(run->state_path, JOBRUN_STATE_MAX, &text, &len,
                         why_r);
    if (r) {
        rc = r > 0 ? 0 : -1;        /* none: a new run */
        goto out;
    }
    root = jsonlim_parse(text, JOBRUN_STATE_MAX, JOBRUN_STATE_DEPTH, &why);
    jobs = root ? yajl_tree_get(root, (const char *[]){ "jobs", NULL },
                                yajl_t_array) : NULL;
    if (!jobs || jobrun_json_num(root, "version") != JOBRUN_STATE_VERSION ||
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
    if (jobrun_json_num(root, "started") > 0)
        run->started = jobrun_json_num(root, "started");
    rc = 0;
out:
    if (root) yajl_tree_free(root);
    free(text);
    free(why);
    return rc;
}
