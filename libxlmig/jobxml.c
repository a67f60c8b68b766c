/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jobxml.c - job files: safe parse, schema, model, semantic checks (see
 * jobxml.h). A job file is admin input, but it may come from anywhere
 * (a ticket, a generator, a mail): libxml2 reads it with the network,
 * DTDs, entity substitution and XInclude off and an entity loader that
 * refuses everything (2.9.14 has no XML_PARSE_NO_XXE); a DOCTYPE is
 * refused before libxml2 sees the text, so no entity is ever declared.
 * libxml2's own messages echo the file's names: they are made printable.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "internal.h"
#include "jobxml.h"

/* The schema, compiled in (jobxml-schema.c, made from the .rng). */
extern const unsigned char jobxml_schema[];
extern const size_t jobxml_schema_len;

/* What the error callbacks of one load write into. */
struct jobxml_sink {
    struct jobxml_errors *errs;
    const char *path;
    long blame;                 /* the line for an error without one */
};

const char *jobxml_kind_name(enum jobxml_kind kind)
{
    switch (kind) {
    case JOBXML_MIGRATE: return "migrate";
    case JOBXML_STORAGE_MOVE: return "storage-move";
    case JOBXML_CHECK: return "check";
    case JOBXML_EVACUATE: return "evacuate";
    case JOBXML_WAIT: return "wait";
    }
    return "?";
}

const char *jobxml_on_error_name(enum jobxml_on_error e)
{
    switch (e) {
    case JOBXML_SKIP_DEPENDENTS: return "skip-dependents";
    case JOBXML_STOP: return "stop";
    case JOBXML_CONTINUE: return "continue";
    }
    return "?";
}

void jobxml_error(struct jobxml_errors *errs, const char *path, long line,
                  const char *fmt, ...)
{
    va_list ap;
    unsigned char *p;
    char *msg;

    if (errs->n == JOBXML_ERRORS_MAX) {
        errs->more = true;
        return;
    }
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) abort();
    va_end(ap);
    /* One printable line, whatever libxml2 or the file put in it: no C0
     * or C1 controls (U+0080-U+009F are 0xc2 0x80-0x9f in UTF-8). */
    msg[strcspn(msg, "\n")] = '\0';
    for (p = (unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) *p = '?';
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            p[0] = '?';
            *++p = '?';
        }
    }
    if (line > 0)
        errs->line[errs->n++] = xasprintf("%s:%ld: %s", path, line, msg);
    else
        errs->line[errs->n++] = xasprintf("%s: %s", path, msg);
    free(msg);
}

void jobxml_errors_dispose(struct jobxml_errors *errs)
{
    size_t i;

    for (i = 0; i < errs->n; i++) free(errs->line[i]);
    memset(errs, 0, sizeof(*errs));
}

/* ---- libxml2 set-up ------------------------------------------------------ */

static xmlParserInputPtr jobxml_no_entity(const char *url, const char *id,
                                          xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

static void jobxml_structured(void *arg, xmlErrorPtr e)
{
    struct jobxml_sink *s = arg;
    long line = e->line;

    if (e->level == XML_ERR_WARNING) return;
    if (e->node && ((xmlNodePtr)e->node)->type == XML_ELEMENT_NODE)
        line = xmlGetLineNo(e->node);
    if (line <= 0) line = s->blame;
    jobxml_error(s->errs, s->path, line, "%s",
                 e->message ? e->message : "malformed XML");
}

static void jobxml_generic(void *arg, const char *msg, ...)
{
    (void)arg;
    (void)msg;
}

static bool jobxml_kind_of(xmlNodePtr n, enum jobxml_kind *kind_r);

static xmlRelaxNGPtr jobxml_rng;

/* The compiled schema, made once per process (it is ours: trusted). */
static xmlRelaxNGPtr jobxml_schema_get(void)
{
    xmlRelaxNGParserCtxtPtr pc;

    if (jobxml_rng) return jobxml_rng;
    pc = xmlRelaxNGNewMemParserCtxt((const char *)jobxml_schema,
                                    (int)jobxml_schema_len);
    if (!pc) abort();
    jobxml_rng = xmlRelaxNGParse(pc);
    xmlRelaxNGFreeParserCtxt(pc);
    if (!jobxml_rng) abort();       /* a broken build: make check says so */
    return jobxml_rng;
}

/* The line of the first "<!DOCTYPE" in text, or 0. */
static long jobxml_doctype_line(const char *text, size_t len)
{
    static const char tag[] = "<!DOCTYPE";
    long line = 1;
    size_t i;

    for (i = 0; i < len; i++) {
        if (text[i] == '\n') line++;
        else if (text[i] == '<' && len - i >= sizeof(tag) - 1 &&
                 !memcmp(text + i, tag, sizeof(tag) - 1))
            return line;
    }
    return 0;
}

/* Elements nested deeper than JOBXML_DEPTH_MAX, without recursion. */
static xmlNodePtr jobxml_too_deep(xmlNodePtr root)
{
    xmlNodePtr n = root;
    unsigned depth = 1;

    while (n) {
        if (n->type == XML_ELEMENT_NODE && depth > JOBXML_DEPTH_MAX)
            return n;
        if (n->children && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            depth++;
            continue;
        }
        while (n && !n->next && n != root) {
            n = n->parent;
            depth--;
        }
        if (!n || n == root) break;
        n = n->next;
    }
    return NULL;
}

/* ---- the model ----------------------------------------------------------- */

static bool jobxml_is(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE &&
           !strcmp((const char *)n->name, name);
}

/* An attribute, allocated by us, or NULL when absent. */
static char *jobxml_attr(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    char *s;

    if (!v) return NULL;
    s = xstrdup((const char *)v);
    xmlFree(v);
    return s;
}

static bool jobxml_attr_bool(xmlNodePtr n, const char *name)
{
    char *v = jobxml_attr(n, name);
    bool yes = v && !strcmp(v, "yes");

    free(v);
    return yes;
}

/* A number attribute within [0, max] (the schema said so; say it again);
 * def when absent. */
static unsigned jobxml_attr_uint(struct jobxml_sink *s, xmlNodePtr n,
                                 const char *name, unsigned max,
                                 unsigned def)
{
    char *v = jobxml_attr(n, name), *end;
    unsigned long u;

    if (!v) return def;
    errno = 0;
    u = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || u > max) {
        jobxml_error(s->errs, s->path, xmlGetLineNo(n),
                     "%s=\"%s\": expected a number from 0 to %u", name, v,
                     max);
        u = def;
    }
    free(v);
    return (unsigned)u;
}

/* Splits a space-separated list (the schema's "names") into *list_r. */
static size_t jobxml_words(const char *s, char ***list_r)
{
    char *copy = xstrdup(s), *w, *save = NULL;
    char **list = NULL;
    size_t n = 0;

    for (w = strtok_r(copy, " \t\n", &save); w;
         w = strtok_r(NULL, " \t\n", &save)) {
        list = xrealloc(list, (n + 1) * sizeof(*list));
        list[n++] = xstrdup(w);
    }
    free(copy);
    *list_r = list;
    return n;
}

static void jobxml_job_dispose(struct jobxml_job *j)
{
    size_t i;

    free(j->id);
    for (i = 0; i < j->n_after; i++) free(j->after[i]);
    free(j->after);
    free(j->after_idx);
    free(j->from);
    for (i = 0; i < j->n_to; i++) free(j->to[i]);
    free(j->to);
    free(j->domain);
    for (i = 0; i < j->n_sel; i++) free(j->sel[i].pattern);
    free(j->sel);
    free(j->data);
    free(j->compress);
    free(j->bandwidth);
    free(j->max_downtime);
    free(j->converge);
    free(j->force);
    free(j->config);
    for (i = 0; i < j->n_disks; i++) {
        free(j->disks[i].vdev);
        free(j->disks[i].sr);
    }
    free(j->disks);
    free(j->vdev);
    free(j->sr);
    free(j->format);
}

void jobxml_dispose(struct jobxml_file *f)
{
    size_t i;

    for (i = 0; i < f->n_hosts; i++) {
        free(f->hosts[i].name);
        free(f->hosts[i].address);
    }
    free(f->hosts);
    for (i = 0; i < f->n_jobs; i++) jobxml_job_dispose(&f->jobs[i]);
    free(f->jobs);
    free(f->order);
    free(f->path);
    memset(f, 0, sizeof(*f));
}

const struct jobxml_host *jobxml_host(const struct jobxml_file *f,
                                     const char *name)
{
    size_t i;

    for (i = 0; i < f->n_hosts; i++)
        if (!strcmp(f->hosts[i].name, name)) return &f->hosts[i];
    return NULL;
}

bool jobxml_selects(const struct jobxml_job *job, const char *name,
                    const char *uuid)
{
    bool chosen = false, any_select = false;
    const struct jobxml_sel *s;
    size_t i;

    if (job->domain)
        return !strcmp(job->domain, name) || !strcmp(job->domain, uuid);
    for (i = 0; i < job->n_sel; i++) {
        s = &job->sel[i];
        if (!s->exclude) any_select = true;
        if (s->uuid ? strcmp(s->pattern, uuid)
                    : fnmatch(s->pattern, name, 0))
            continue;
        if (s->exclude) return false;
        chosen = true;
    }
    return chosen || (!any_select && job->kind == JOBXML_EVACUATE);
}

/* The options migrate and evacuate share (check: force only). */
static void jobxml_read_options(xmlNodePtr n, struct jobxml_job *j,
                                struct jobxml_sink *s)
{
    char *no_live;

    j->force = jobxml_attr(n, "force");
    if (j->kind == JOBXML_CHECK) return;
    j->data = jobxml_attr(n, "data");
    j->compress = jobxml_attr(n, "compress");
    j->bandwidth = jobxml_attr(n, "bandwidth");
    j->encrypt = jobxml_attr_bool(n, "encrypt");
    j->no_encrypt = xmlHasProp(n, (const xmlChar *)"encrypt") &&
                    !j->encrypt;
    j->paused = jobxml_attr_bool(n, "paused");
    j->max_downtime = jobxml_attr(n, "max-downtime");
    j->converge = jobxml_attr(n, "converge");
    no_live = jobxml_attr(n, "live");
    j->no_live = no_live && !strcmp(no_live, "no");
    free(no_live);
    j->has_peer_timeout = xmlHasProp(n, (const xmlChar *)"peer-timeout");
    j->peer_timeout = jobxml_attr_uint(s, n, "peer-timeout", 86400, 0);
}

/* <select>, <exclude> and <disk> children. */
static void jobxml_read_children(xmlNodePtr n, struct jobxml_job *j,
                                 struct jobxml_sink *s)
{
    struct jobxml_sel *sel;
    xmlNodePtr c;

    for (c = n->children; c; c = c->next) {
        if (jobxml_is(c, "disk")) {
            if (j->n_disks == JOBXML_DISKS_MAX) {
                jobxml_error(s->errs, s->path, xmlGetLineNo(c), "job %s: "
                             "more than %d disks", j->id, JOBXML_DISKS_MAX);
                continue;
            }
            j->disks = xrealloc(j->disks, (j->n_disks + 1) *
                                sizeof(*j->disks));
            j->disks[j->n_disks].vdev = jobxml_attr(c, "vdev");
            j->disks[j->n_disks++].sr = jobxml_attr(c, "sr");
            continue;
        }
        if (!jobxml_is(c, "select") && !jobxml_is(c, "exclude")) continue;
        if (j->n_sel == JOBXML_SELECT_MAX) {
            jobxml_error(s->errs, s->path, xmlGetLineNo(c), "job %s: more "
                         "than %d selections", j->id, JOBXML_SELECT_MAX);
            continue;
        }
        j->sel = xrealloc(j->sel, (j->n_sel + 1) * sizeof(*j->sel));
        sel = &j->sel[j->n_sel++];
        sel->exclude = jobxml_is(c, "exclude");
        sel->pattern = jobxml_attr(c, "name");
        sel->uuid = !sel->pattern;
        if (!sel->pattern) sel->pattern = jobxml_attr(c, "uuid");
        if (!sel->pattern) sel->pattern = xstrdup("");
    }
}

static bool jobxml_kind_of(xmlNodePtr n, enum jobxml_kind *kind_r)
{
    static const struct { const char *name; enum jobxml_kind kind; } k[] = {
        { "migrate", JOBXML_MIGRATE },
        { "storage-move", JOBXML_STORAGE_MOVE },
        { "check", JOBXML_CHECK },
        { "evacuate", JOBXML_EVACUATE },
        { "wait", JOBXML_WAIT },
    };
    size_t i;

    for (i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (jobxml_is(n, k[i].name)) {
            *kind_r = k[i].kind;
            return true;
        }
    return false;
}

static void jobxml_read_job(xmlNodePtr n, enum jobxml_kind kind,
                            struct jobxml_job *j, struct jobxml_sink *s)
{
    char *v;

    j->kind = kind;
    j->line = xmlGetLineNo(n);
    j->id = jobxml_attr(n, "id");
    if (!j->id) j->id = xstrdup("");
    v = jobxml_attr(n, "after");
    if (v) j->n_after = jobxml_words(v, &j->after);
    free(v);
    v = jobxml_attr(n, "on-error");
    j->on_error = !v ? JOBXML_SKIP_DEPENDENTS
                : !strcmp(v, "stop") ? JOBXML_STOP
                : !strcmp(v, "continue") ? JOBXML_CONTINUE
                : JOBXML_SKIP_DEPENDENTS;
    free(v);
    j->retries = jobxml_attr_uint(s, n, "retries", 10, 0);
    j->retry_delay = jobxml_attr_uint(s, n, "retry-delay", 86400, 10);
    j->timeout = jobxml_attr_uint(s, n, "timeout", 86400, 0);
    j->from = jobxml_attr(n, "from");
    v = jobxml_attr(n, "to");
    if (v) j->n_to = jobxml_words(v, &j->to);
    free(v);
    j->domain = jobxml_attr(n, "domain");
    j->config = jobxml_attr(n, "config");
    j->keep_source = jobxml_attr_bool(n, "keep-source");
    switch (kind) {
    case JOBXML_MIGRATE:
    case JOBXML_EVACUATE:
    case JOBXML_CHECK:
        jobxml_read_options(n, j, s);
        break;
    case JOBXML_STORAGE_MOVE:
        j->vdev = jobxml_attr(n, "vdev");
        j->sr = jobxml_attr(n, "sr");
        j->format = jobxml_attr(n, "format");
        j->offline = jobxml_attr_bool(n, "offline");
        j->bandwidth = jobxml_attr(n, "bandwidth");
        break;
    case JOBXML_WAIT:
        j->seconds = jobxml_attr_uint(s, n, "seconds", 86400, 0);
        break;
    }
    j->leave_maintenance = jobxml_attr_bool(n, "leave-maintenance");
    jobxml_read_children(n, j, s);
}

static void jobxml_read_host(xmlNodePtr n, struct jobxml_host *h,
                             struct jobxml_sink *s)
{
    h->line = xmlGetLineNo(n);
    h->name = jobxml_attr(n, "name");
    h->address = jobxml_attr(n, "address");
    if (!h->name) h->name = xstrdup("");
    if (!h->address) h->address = xstrdup("");
    h->limit = jobxml_attr_uint(s, n, "limit", 64, 0);
}

static void jobxml_read(xmlNodePtr root, struct jobxml_file *f,
                        struct jobxml_sink *s)
{
    enum jobxml_kind kind;
    xmlNodePtr n;

    for (n = root->children; n; n = n->next) {
        if (jobxml_is(n, "limits")) {
            f->limit_total = jobxml_attr_uint(s, n, "total", 64, 0);
            f->limit_source = jobxml_attr_uint(s, n, "per-source", 64, 0);
            f->limit_dest = jobxml_attr_uint(s, n, "per-destination", 64,
                                             0);
            f->limit_sr = jobxml_attr_uint(s, n, "per-sr", 64, 0);
        } else if (jobxml_is(n, "host")) {
            if (f->n_hosts == JOBXML_HOSTS_MAX) {
                jobxml_error(s->errs, s->path, xmlGetLineNo(n), "more than "
                             "%d hosts", JOBXML_HOSTS_MAX);
                return;
            }
            f->hosts = xrealloc(f->hosts, (f->n_hosts + 1) *
                                sizeof(*f->hosts));
            memset(&f->hosts[f->n_hosts], 0, sizeof(*f->hosts));
            jobxml_read_host(n, &f->hosts[f->n_hosts++], s);
        } else if (jobxml_kind_of(n, &kind)) {
            if (f->n_jobs == JOBXML_JOBS_MAX) {
                jobxml_error(s->errs, s->path, xmlGetLineNo(n), "more than "
                             "%d jobs", JOBXML_JOBS_MAX);
                return;
            }
            f->jobs = xrealloc(f->jobs, (f->n_jobs + 1) * sizeof(*f->jobs));
            memset(&f->jobs[f->n_jobs], 0, sizeof(*f->jobs));
            jobxml_read_job(n, kind, &f->jobs[f->n_jobs++], s);
        }
    }
}

/* ---- semantic checks ----------------------------------------------------- */

static ssize_t jobxml_job_index(const struct jobxml_file *f, const char *id)
{
    size_t i;

    for (i = 0; i < f->n_jobs; i++)
        if (!strcmp(f->jobs[i].id, id)) return (ssize_t)i;
    return -1;
}

static void jobxml_check_host(const struct jobxml_file *f,
                              const struct jobxml_job *j, const char *name,
                              const char *what, struct jobxml_sink *s)
{
    if (!jobxml_host(f, name))
        jobxml_error(s->errs, s->path, j->line, "job %s: %s host '%s' is "
                     "not declared (add <host name=\"%s\" address=...>)",
                     j->id, what, name, name);
}

static bool jobxml_force_ok(const char *list)
{
    char *copy = xstrdup(list), *id, *save = NULL;
    bool ok = true;

    for (id = strtok_r(copy, ",", &save); id && ok;
         id = strtok_r(NULL, ",", &save))
        ok = xlmig_check_id_known(id);
    free(copy);
    return ok;
}

static void jobxml_check_job(const struct jobxml_file *f,
                             struct jobxml_job *j, struct jobxml_sink *s)
{
    uint64_t rate;
    size_t i, k;
    ssize_t x;

    j->after_idx = xcalloc(j->n_after ? j->n_after : 1,
                           sizeof(*j->after_idx));
    if (j->n_after > JOBXML_AFTER_MAX)
        jobxml_error(s->errs, s->path, j->line, "job %s: after= names "
                     "more than %d jobs", j->id, JOBXML_AFTER_MAX);
    for (i = 0; i < j->n_after; i++) {
        x = jobxml_job_index(f, j->after[i]);
        if (x < 0)
            jobxml_error(s->errs, s->path, j->line, "job %s: after= names "
                         "'%s', which is not a job of this file", j->id,
                         j->after[i]);
        else if (&f->jobs[x] == j)
            jobxml_error(s->errs, s->path, j->line, "job %s: after= names "
                         "the job itself", j->id);
        j->after_idx[i] = x < 0 ? 0 : (size_t)x;
    }
    if (j->from) jobxml_check_host(f, j, j->from, "source", s);
    if (j->n_to > JOBXML_TO_MAX)
        jobxml_error(s->errs, s->path, j->line, "job %s: more than %d "
                     "targets", j->id, JOBXML_TO_MAX);
    for (i = 0; i < j->n_to; i++) {
        jobxml_check_host(f, j, j->to[i], "target", s);
        if (j->from && !strcmp(j->from, j->to[i]))
            jobxml_error(s->errs, s->path, j->line, "job %s: host '%s' is "
                         "both its source and a target", j->id, j->to[i]);
        for (k = 0; k < i; k++)
            if (!strcmp(j->to[k], j->to[i]))
                jobxml_error(s->errs, s->path, j->line, "job %s: target "
                             "'%s' given twice", j->id, j->to[i]);
    }
    if (j->force && !jobxml_force_ok(j->force))
        jobxml_error(s->errs, s->path, j->line, "job %s: force=\"%s\" names "
                     "an unknown check (see xlmig help check)", j->id,
                     j->force);
    if (j->bandwidth && xlmig_parse_rate(j->bandwidth, &rate))
        jobxml_error(s->errs, s->path, j->line, "job %s: bandwidth=\"%s\" "
                     "is not a rate (100M, 800Mbit, ...)", j->id,
                     j->bandwidth);
    if (j->max_downtime && (strspn(j->max_downtime, "0123456789") !=
                                strlen(j->max_downtime) ||
                            strlen(j->max_downtime) > 7 ||
                            atoi(j->max_downtime) < 1 ||
                            atoi(j->max_downtime) > 3600000))
        jobxml_error(s->errs, s->path, j->line, "job %s: max-downtime=\"%s\" "
                     "is not 1 to 3600000 ms", j->id, j->max_downtime);
    if (j->converge && strcmp(j->converge, "force") &&
        strcmp(j->converge, "throttle") && strcmp(j->converge, "abort"))
        jobxml_error(s->errs, s->path, j->line, "job %s: converge=\"%s\" is "
                     "not force, throttle or abort", j->id, j->converge);
    if (j->no_live && (j->max_downtime || j->converge))
        jobxml_error(s->errs, s->path, j->line, "job %s: live=\"no\" has no "
                     "live rounds for max-downtime or converge", j->id);
    if (j->data && !strncmp(j->data, "tcp:", 4) &&
        (atoi(j->data + 4) < 1 || atoi(j->data + 4) > 65535))
        jobxml_error(s->errs, s->path, j->line, "job %s: data=\"%s\": the "
                     "port must be 1 to 65535", j->id, j->data);
    for (i = 0; i < j->n_disks; i++)
        for (k = 0; k < i; k++)
            if (!strcmp(j->disks[k].vdev, j->disks[i].vdev))
                jobxml_error(s->errs, s->path, j->line, "job %s: disk %s "
                             "given twice", j->id, j->disks[i].vdev);
    if (j->kind == JOBXML_MIGRATE && j->config && !j->domain)
        jobxml_error(s->errs, s->path, j->line, "job %s: config= moves one "
                     "domain: name it with domain=", j->id);
    if (j->kind == JOBXML_MIGRATE && j->keep_source && !j->n_disks)
        jobxml_error(s->errs, s->path, j->line, "job %s: keep-source only "
                     "with <disk> children", j->id);
}

/*
 * Orders the jobs so that each comes after what it names (Kahn); jobs
 * left over are on a cycle, one of which is reported with its path.
 */
static void jobxml_order(struct jobxml_file *f, struct jobxml_sink *s)
{
    bool *placed = xcalloc(f->n_jobs + 1, sizeof(*placed));
    size_t n = 0, i, k, guard;
    bool progress = true;
    char *path, *more;
    struct jobxml_job *j;

    f->order = xcalloc(f->n_jobs + 1, sizeof(*f->order));
    while (progress) {
        progress = false;
        for (i = 0; i < f->n_jobs; i++) {
            if (placed[i]) continue;
            j = &f->jobs[i];
            for (k = 0; k < j->n_after; k++)
                if (!placed[j->after_idx[k]]) break;
            if (k < j->n_after) continue;
            placed[i] = true;
            f->order[n++] = i;
            progress = true;
        }
    }
    if (n < f->n_jobs) {
        /* Walk from a job left over along unplaced edges until a job
         * repeats: that job is on a cycle; then print the cycle. */
        for (i = 0; placed[i]; i++) { }
        for (guard = 0; guard < f->n_jobs; guard++) {
            j = &f->jobs[i];
            for (k = 0; placed[j->after_idx[k]]; k++) { }
            i = j->after_idx[k];
        }
        k = i;
        path = xstrdup(f->jobs[k].id);
        do {
            j = &f->jobs[i];
            for (guard = 0; placed[j->after_idx[guard]]; guard++) { }
            i = j->after_idx[guard];
            more = xasprintf("%s after %s", path, f->jobs[i].id);
            free(path);
            path = more;
        } while (i != k);
        jobxml_error(s->errs, s->path, f->jobs[k].line, "dependency cycle: "
                     "%s", path);
        free(path);
    }
    free(placed);
}

static void jobxml_check(struct jobxml_file *f, struct jobxml_sink *s)
{
    size_t i, k;
    size_t before = s->errs->n;

    for (i = 0; i < f->n_hosts; i++)
        for (k = 0; k < i; k++)
            if (!strcmp(f->hosts[k].name, f->hosts[i].name))
                jobxml_error(s->errs, s->path, f->hosts[i].line, "host '%s' "
                             "declared twice (first on line %ld)",
                             f->hosts[i].name, f->hosts[k].line);
    for (i = 0; i < f->n_jobs; i++)
        for (k = 0; k < i; k++)
            if (!strcmp(f->jobs[k].id, f->jobs[i].id))
                jobxml_error(s->errs, s->path, f->jobs[i].line, "job id '%s' "
                             "used twice (first on line %ld)", f->jobs[i].id,
                             f->jobs[k].line);
    for (i = 0; i < f->n_jobs; i++) jobxml_check_job(f, &f->jobs[i], s);
    /* A cycle is only meaningful among ids that all resolved. */
    if (s->errs->n == before) jobxml_order(f, s);
}

/* ---- the load ------------------------------------------------------------ */

static void jobxml_quiet(void *arg, xmlErrorPtr e)
{
    (void)arg;
    (void)e;
}

static bool jobxml_valid(xmlDocPtr doc, xmlStructuredErrorFunc fn,
                         void *arg)
{
    xmlRelaxNGValidCtxtPtr vc = xmlRelaxNGNewValidCtxt(jobxml_schema_get());
    int r;

    if (!vc) abort();
    xmlRelaxNGSetValidStructuredErrors(vc, fn, arg);
    r = xmlRelaxNGValidateDoc(vc, doc);
    xmlRelaxNGFreeValidCtxt(vc);
    return r == 0;
}

/*
 * The line to give an error libxml2 reports without an element (a failed
 * choice, as "Element wait failed to validate attributes"): that of the
 * first child of the root that fails the schema in a document of its own
 * (with one barrier, for what is not a job), else the root's.
 */
static long jobxml_blame(xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc), c, r, w;
    long line = xmlGetLineNo(root);
    enum jobxml_kind kind;
    xmlDocPtr d;
    bool ok;

    for (c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        d = xmlNewDoc((const xmlChar *)"1.0");
        r = xmlDocCopyNode(root, d, 2);
        if (!d || !r) abort();
        xmlDocSetRootElement(d, r);
        if (!xmlAddChild(r, xmlDocCopyNode(c, d, 1))) abort();
        if (!jobxml_kind_of(c, &kind)) {
            w = xmlNewChild(r, r->ns, (const xmlChar *)"wait", NULL);
            if (!w || !xmlNewProp(w, (const xmlChar *)"id",
                                  (const xmlChar *)"w"))
                abort();
        }
        xmlReconciliateNs(d, r);
        ok = jobxml_valid(d, jobxml_quiet, NULL);
        xmlFreeDoc(d);
        if (!ok) return xmlGetLineNo(c);
    }
    return line;
}

static int jobxml_validate(xmlDocPtr doc, struct jobxml_sink *s)
{
    if (jobxml_valid(doc, jobxml_quiet, NULL)) return XLMIG_OK;
    /* Again, to report: now knowing where to put what has no line. */
    s->blame = jobxml_blame(doc);
    if (!jobxml_valid(doc, jobxml_structured, s) && !s->errs->n)
        jobxml_error(s->errs, s->path, s->blame, "does not follow the "
                     "schema of xlmig job files");
    return XLMIG_E_INVAL;
}

int jobxml_load(const char *path, const char *text, size_t len,
                struct jobxml_file *f, struct jobxml_errors *errs)
{
    struct jobxml_sink sink = { .errs = errs, .path = path };
    xmlParserCtxtPtr pc = NULL;
    xmlDocPtr doc = NULL;
    xmlNodePtr root, deep;
    long line;
    int rc = XLMIG_E_INVAL;

    memset(f, 0, sizeof(*f));
    memset(errs, 0, sizeof(*errs));
    if (len > JOBXML_FILE_MAX) {
        jobxml_error(errs, path, 0, "larger than %d bytes", JOBXML_FILE_MAX);
        goto out;
    }
    line = jobxml_doctype_line(text, len);
    if (line) {
        jobxml_error(errs, path, line, "a DOCTYPE is refused (job files "
                     "have no DTD, and entities are not expanded)");
        goto out;
    }
    xmlInitParser();
    xmlSetExternalEntityLoader(jobxml_no_entity);
    xmlSetGenericErrorFunc(NULL, jobxml_generic);
    xmlSetStructuredErrorFunc(&sink, jobxml_structured);
    pc = xmlNewParserCtxt();
    if (!pc) abort();
    /* UTF-8 whatever the file declares or starts with: in UTF-16 or
     * UTF-7 a DOCTYPE would pass the scan above. */
    doc = xmlCtxtReadMemory(pc, text, (int)len, path, "UTF-8",
                            XML_PARSE_NONET | XML_PARSE_NOCDATA |
                            XML_PARSE_BIG_LINES | XML_PARSE_IGNORE_ENC);
    if (!doc) {
        if (!errs->n) jobxml_error(errs, path, 0, "not well-formed XML");
        goto out;
    }
    if (doc->intSubset || doc->extSubset) {
        jobxml_error(errs, path, 0, "a DOCTYPE is refused");
        goto out;
    }
    root = xmlDocGetRootElement(doc);
    if (!root) {
        jobxml_error(errs, path, 0, "no root element");
        goto out;
    }
    deep = jobxml_too_deep(root);
    if (deep) {
        jobxml_error(errs, path, xmlGetLineNo(deep), "elements nested "
                     "deeper than %d", JOBXML_DEPTH_MAX);
        goto out;
    }
    if (jobxml_validate(doc, &sink)) goto out;
    f->path = xstrdup(path);
    jobxml_read(root, f, &sink);
    if (errs->n) goto out;
    jobxml_check(f, &sink);
    if (errs->n) goto out;
    rc = XLMIG_OK;
out:
    xmlSetStructuredErrorFunc(NULL, NULL);
    xmlSetGenericErrorFunc(NULL, NULL);
    if (doc) xmlFreeDoc(doc);
    if (pc) xmlFreeParserCtxt(pc);
    if (rc) jobxml_dispose(f);
    return rc;
}
