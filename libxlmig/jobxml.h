/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jobxml.h - job files (xlmig-jobs(5)): the loader that turns an XML file
 * into a checked batch of jobs, and the evacuation placement. Pure: bytes
 * in, structs out, no I/O beyond what the caller hands in, no context.
 * The loader is the trust boundary for job files: libxml2 with network,
 * DTDs, entities and XInclude off, a DOCTYPE refused, size and depth
 * bounded; then the compiled-in RELAX NG schema; then what a schema cannot
 * say (unique ids, known hosts and ids, no cycles). Every error is
 * "FILE:LINE: message". Fuzzed (tests/fuzz/fuzz-jobxml.c).
 */
#ifndef XLMIG_JOBXML_H
#define XLMIG_JOBXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOBXML_FILE_MAX (1024 * 1024)   /* bytes of a job file */
#define JOBXML_DEPTH_MAX 8              /* the schema needs 3 */
#define JOBXML_JOBS_MAX 1024
#define JOBXML_HOSTS_MAX 64
#define JOBXML_SELECT_MAX 64            /* select + exclude of a job */
#define JOBXML_DISKS_MAX 8              /* as migrate --storage */
#define JOBXML_AFTER_MAX 64
#define JOBXML_TO_MAX 16                /* targets of an evacuation */
#define JOBXML_ERRORS_MAX 32            /* errors kept of one file */
#define JOBXML_NS "urn:xlmig:jobs:1"

enum jobxml_kind {
    JOBXML_MIGRATE,
    JOBXML_STORAGE_MOVE,
    JOBXML_CHECK,
    JOBXML_EVACUATE,
    JOBXML_WAIT,
};

/* What a failed job does to the rest of the run. */
enum jobxml_on_error {
    JOBXML_SKIP_DEPENDENTS,     /* its dependents are skipped (default) */
    JOBXML_STOP,                /* nothing more starts */
    JOBXML_CONTINUE,            /* its dependents run all the same */
};

/* <select> or <exclude>: a name glob (fnmatch) or a uuid. */
struct jobxml_sel {
    bool exclude;
    bool uuid;
    char *pattern;
};

struct jobxml_disk {
    char *vdev;
    char *sr;
};

struct jobxml_job {
    enum jobxml_kind kind;
    long line;
    char *id;
    char **after;               /* ids, as written */
    size_t n_after;
    size_t *after_idx;          /* the same, as indexes into jobs */
    enum jobxml_on_error on_error;
    unsigned retries, retry_delay;
    unsigned timeout;           /* seconds for the whole job; 0: none */
    char *from;                 /* host name; NULL: the host of job-run */
    char **to;                  /* host names: 1, or an evacuation's */
    size_t n_to;
    char *domain;               /* name or uuid; NULL: see sel */
    struct jobxml_sel *sel;
    size_t n_sel;
    /* migrate, evacuate (check: force only) */
    char *data, *compress, *bandwidth, *force;
    bool encrypt, paused;
    bool no_encrypt;            /* encrypt="no": --no-encrypt */
    /* migrate --max-downtime, --converge (NULL: absent), --no-live */
    char *max_downtime, *converge;
    bool no_live;
    unsigned peer_timeout;      /* migrate --timeout; valid if has_ */
    bool has_peer_timeout;
    char *config;               /* migrate, storage-move: a config file */
    bool keep_source;
    struct jobxml_disk *disks;  /* migrate */
    size_t n_disks;
    /* storage-move */
    char *vdev, *sr, *format;
    bool offline;
    /* evacuate */
    bool leave_maintenance;
    /* wait */
    unsigned seconds;
};

struct jobxml_host {
    char *name;
    char *address;
    unsigned limit;             /* jobs going to it at once; 0: none */
    long line;
};

struct jobxml_file {
    char *path;
    unsigned limit_total, limit_source, limit_dest, limit_sr;  /* 0: none */
    struct jobxml_host *hosts;
    size_t n_hosts;
    struct jobxml_job *jobs;    /* in file order */
    size_t n_jobs;
    size_t *order;              /* jobs in an order where after comes first */
};

/* Errors of one load, each "FILE:LINE: message" (at most _ERRORS_MAX). */
struct jobxml_errors {
    char *line[JOBXML_ERRORS_MAX];
    size_t n;
    bool more;                  /* some were left out */
};

/*
 * Loads the job file text (len bytes, need not be NUL-terminated) that
 * came from path (used in messages). XLMIG_OK and *f filled in, or
 * XLMIG_E_INVAL with errs listing what is wrong (f left empty). errs may
 * hold errors only on failure. Dispose both either way.
 */
int jobxml_load(const char *path, const char *text, size_t len,
                struct jobxml_file *f, struct jobxml_errors *errs);
void jobxml_dispose(struct jobxml_file *f);
void jobxml_errors_dispose(struct jobxml_errors *errs);
/* Adds "FILE:LINE: message" (line <= 0: "FILE: message"). */
void jobxml_error(struct jobxml_errors *errs, const char *path, long line,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The host of that name, or NULL. */
const struct jobxml_host *jobxml_host(const struct jobxml_file *f,
                                     const char *name);
/* "migrate", "storage-move", ... / "stop", "continue", ... */
const char *jobxml_kind_name(enum jobxml_kind kind);
const char *jobxml_on_error_name(enum jobxml_on_error e);
/*
 * Whether a domain (name, uuid) is chosen by job's selection: selected
 * (by any <select>, or by none given for an evacuation) and not excluded.
 * A job with a domain attribute chooses that domain by name or uuid.
 */
bool jobxml_selects(const struct jobxml_job *job, const char *name,
                    const char *uuid);

/*
 * Evacuation placement (vSphere's maintenance mode in miniature): each
 * domain goes to the target with the most free memory left after it,
 * among the targets whose pre-flight passed and that still have room,
 * the biggest domains placed first; ties go to the earlier target.
 * fits[d * n_tgt + t]: the checks of domain d against target t passed;
 * need_kb[d * n_tgt + t]: what d needs on t; free_kb[t]: free on t.
 * choice_r[d]: the target, or -1 when none is left; fits and needs of
 * domains placed earlier are subtracted, so *no_room_r[d] (may be NULL)
 * says that d passed somewhere but no target has room left for it.
 */
void jobxml_place(size_t n_dom, size_t n_tgt, const bool *fits,
                  const uint64_t *need_kb, const uint64_t *free_kb,
                  int *choice_r, bool *no_room_r);

#endif /* XLMIG_JOBXML_H */
