/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jobrun-host.c - what the runner asks of a host, each a subcommand of
 * xlmig run there (jobrun-child.c): its domains, whether it holds a
 * domain, a pre-flight check, maintenance mode, a job's life and cancel.
 * Their JSON is read as hostile (a remote host's output): bounded, strict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "jobrun.h"
#include "jsonlim.h"

#define JOBRUN_JSON_DEPTH 8
#define JOBRUN_DOMAINS_MAX 4096

static yajl_val jobrun_host_get(yajl_val obj, const char *key,
                                yajl_type type)
{
    const char *path[] = { key, NULL };

    return obj ? yajl_tree_get(obj, path, type) : NULL;
}

const char *jobrun_json_str(yajl_val o, const char *key)
{
    yajl_val v = jobrun_host_get(o, key, yajl_t_string);

    return v ? YAJL_GET_STRING(v) : NULL;
}

double jobrun_json_num(yajl_val o, const char *key)
{
    yajl_val v = jobrun_host_get(o, key, yajl_t_number);

    return v ? YAJL_GET_DOUBLE(v) : 0;
}

bool jobrun_json_true(yajl_val o, const char *key)
{
    yajl_val v = jobrun_host_get(o, key, yajl_t_any);

    return v && YAJL_IS_TRUE(v);
}

/* A string member copied into out (size bytes), "" when absent. */
static void jobrun_host_str(yajl_val obj, const char *key, char *out,
                            size_t size)
{
    const char *s = jobrun_json_str(obj, key);

    snprintf(out, size, "%s", s ? s : "");
}

static uint64_t jobrun_host_u64(yajl_val obj, const char *key)
{
    yajl_val v = jobrun_host_get(obj, key, yajl_t_number);

    return v && YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) > 0
           ? (uint64_t)YAJL_GET_INTEGER(v) : 0;
}

/* The JSON object a subcommand printed, or NULL and *why_r. */
static yajl_val jobrun_host_parse(const char *out, const char *what,
                                  char **why_r)
{
    char *why = NULL;
    yajl_val root = jsonlim_parse(out, JOBRUN_OUT_MAX, JOBRUN_JSON_DEPTH,
                                  &why);

    if (root && !YAJL_IS_OBJECT(root)) {
        yajl_tree_free(root);
        root = NULL;
        why = xstrdup("not a JSON object");
    }
    if (!root) *why_r = xasprintf("%s: %s", what, why);
    free(why);
    return root;
}

int jobrun_host_domains(const struct jobrun_env *env,
                        const struct jobxml_host *host,
                        struct jobrun_domain **list_r, size_t *n_r,
                        char **why_r)
{
    const char *argv[] = { "list", "--json", NULL };
    struct jobrun_domain *list = NULL;
    yajl_val root = NULL, doms, d;
    char *out = NULL;
    size_t i, n = 0;
    int status, rc = -1;

    *list_r = NULL;
    *n_r = 0;
    if (jobrun_host_run(env, host, argv, JOBRUN_HOST_TIMEOUT_S, &out,
                        &status, why_r))
        goto out;
    if (status) goto out;
    root = jobrun_host_parse(out, "xlmig list --json", why_r);
    if (!root) goto out;
    doms = jobrun_host_get(root, "domains", yajl_t_array);
    if (!doms || YAJL_GET_ARRAY(doms)->len > JOBRUN_DOMAINS_MAX) {
        *why_r = xstrdup("xlmig list --json: no list of domains");
        goto out;
    }
    list = xcalloc(YAJL_GET_ARRAY(doms)->len + 1, sizeof(*list));
    for (i = 0; i < YAJL_GET_ARRAY(doms)->len; i++) {
        d = YAJL_GET_ARRAY(doms)->values[i];
        if (!YAJL_IS_OBJECT(d)) continue;
        jobrun_host_str(d, "name", list[n].name, sizeof(list[n].name));
        jobrun_host_str(d, "uuid", list[n].uuid, sizeof(list[n].uuid));
        list[n].domid = (uint32_t)jobrun_host_u64(d, "domid");
        list[n].memory_kib = jobrun_host_u64(d, "memory_kib");
        if (list[n].name[0]) n++;
    }
    *list_r = list;
    list = NULL;
    *n_r = n;
    rc = 0;
out:
    if (rc && !*why_r)
        *why_r = xasprintf("cannot list the domains of %s",
                           host ? host->name : "this host");
    free(list);
    free(out);
    if (root) yajl_tree_free(root);
    return rc;
}

const struct jobrun_domain *jobrun_domain_find(const struct jobrun_domain *l,
                                               size_t n, const char *dom)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!strcmp(l[i].name, dom) || !strcmp(l[i].uuid, dom))
            return &l[i];
    return NULL;
}

int jobrun_host_has(const struct jobrun_env *env,
                    const struct jobxml_host *host, const char *uuid,
                    char **why_r)
{
    const char *argv[] = { "recover", "--query", uuid, NULL };
    char *out = NULL;
    int status, rc = -1;

    if (jobrun_host_run(env, host, argv, JOBRUN_HOST_TIMEOUT_S, &out,
                        &status, why_r))
        return -1;
    out[strcspn(out, " \n")] = '\0';
    if (!status && (!strcmp(out, "running") || !strcmp(out, "taken")))
        rc = 1;
    else if (!status && (!strcmp(out, "absent") || !strcmp(out, "incoming")))
        rc = 0;
    else if (!*why_r)
        *why_r = xasprintf("%s does not say where domain %s is",
                           host ? host->name : "this host", uuid);
    free(out);
    return rc;
}

void jobrun_check_parse(const char *json, struct jobrun_check *res)
{
    yajl_val root, results, r, mem, v;
    char id[64], sev[16], *ids;
    size_t i;

    memset(res, 0, sizeof(*res));
    root = jobrun_host_parse(json, "xlmig check --json", &res->why);
    if (!root) return;
    v = jobrun_host_get(root, "ok", yajl_t_any);
    results = jobrun_host_get(root, "results", yajl_t_array);
    if (!v || !(YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) || !results) {
        res->why = xstrdup("xlmig check --json: no results");
        goto out;
    }
    res->ran = true;
    res->ok = YAJL_IS_TRUE(v);
    for (i = 0; i < YAJL_GET_ARRAY(results)->len &&
                i < 512; i++) {
        r = YAJL_GET_ARRAY(results)->values[i];
        jobrun_host_str(r, "severity", sev, sizeof(sev));
        if (strcmp(sev, "error") || jobrun_json_true(r, "forced")) continue;
        jobrun_host_str(r, "id", id, sizeof(id));
        ids = res->failed ? xasprintf("%s,%s", res->failed, id)
                          : xstrdup(id);
        free(res->failed);
        res->failed = ids;
        if (!res->remedy)
            res->remedy = xstrdup(jobrun_json_str(r, "remedy")
                                  ? jobrun_json_str(r, "remedy") : "");
    }
    mem = jobrun_host_get(root, "memory", yajl_t_object);
    if (mem) {
        res->memory_known = true;
        res->need_kib = jobrun_host_u64(mem, "need_kib");
        res->free_kib = jobrun_host_u64(mem, "free_kib");
    }
out:
    yajl_tree_free(root);
}

void jobrun_host_check(const struct jobrun_env *env,
                       const struct jobxml_host *from, const char *domain,
                       const struct jobxml_host *to, const char *force,
                       struct jobrun_check *res)
{
    const char *argv[10];
    char *out = NULL, *why = NULL;
    size_t n = 0;
    int status;

    argv[n++] = "check";
    argv[n++] = "--json";
    if (env->ssh) {
        argv[n++] = "-s";
        argv[n++] = env->ssh;
    }
    if (force) {
        argv[n++] = "--force";
        argv[n++] = force;
    }
    argv[n++] = domain;
    argv[n++] = to->address;
    argv[n] = NULL;
    if (jobrun_host_run(env, from, argv, JOBRUN_HOST_TIMEOUT_S, &out,
                        &status, &why)) {
        memset(res, 0, sizeof(*res));
        res->why = why;
        return;
    }
    jobrun_check_parse(out, res);
    if (!res->ran) {
        /* Not a report: the checks could not run; say why. */
        free(res->why);
        res->why = why ? why : xasprintf("xlmig check %s %s failed",
                                         domain, to->name);
        why = NULL;
    }
    free(why);
    free(out);
}

void jobrun_check_dispose(struct jobrun_check *res)
{
    free(res->failed);
    free(res->remedy);
    free(res->why);
    memset(res, 0, sizeof(*res));
}

int jobrun_host_maintenance(const struct jobrun_env *env,
                            const struct jobxml_host *host, bool on,
                            char **why_r)
{
    const char *argv_on[] = { "maintenance", "on", "evacuation by "
                              "xlmig job-run", NULL };
    const char *argv_off[] = { "maintenance", "off", NULL };
    char *out = NULL;
    int status;

    if (jobrun_host_run(env, host, on ? argv_on : argv_off,
                        JOBRUN_HOST_TIMEOUT_S, &out, &status, why_r))
        return -1;
    free(out);
    return status ? -1 : 0;
}

int jobrun_host_job_alive(const struct jobrun_env *env,
                          const struct jobxml_host *host, const char *id,
                          char **why_r)
{
    const char *argv[] = { "jobs", "--json", NULL };
    yajl_val root = NULL, jobs, j;
    char *out = NULL, jid[64];
    int status, rc = -1;
    size_t i;

    if (jobrun_host_run(env, host, argv, JOBRUN_HOST_TIMEOUT_S, &out,
                        &status, why_r))
        return -1;
    if (status) goto out;
    root = jobrun_host_parse(out, "xlmig jobs --json", why_r);
    jobs = jobrun_host_get(root, "jobs", yajl_t_array);
    if (!jobs) goto out;
    rc = 0;
    for (i = 0; i < YAJL_GET_ARRAY(jobs)->len; i++) {
        j = YAJL_GET_ARRAY(jobs)->values[i];
        jobrun_host_str(j, "id", jid, sizeof(jid));
        if (!strcmp(jid, id)) rc = 1;
    }
out:
    if (rc < 0 && !*why_r)
        *why_r = xasprintf("cannot list the jobs of %s",
                           host ? host->name : "this host");
    if (root) yajl_tree_free(root);
    free(out);
    return rc;
}

int jobrun_host_job_cancel(const struct jobrun_env *env,
                           const struct jobxml_host *host, const char *id,
                           char **why_r)
{
    const char *argv[] = { "job-cancel", id, NULL };
    char *out = NULL;
    int status;

    if (jobrun_host_run(env, host, argv, JOBRUN_HOST_TIMEOUT_S, &out,
                        &status, why_r))
        return -1;
    free(out);
    return status ? -1 : 0;
}
