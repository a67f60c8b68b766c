/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * preflight.h - pre-flight checks: whether a domain can migrate to a
 * host, decided before anything changes (XAPI's assert_can_migrate,
 * vSphere's CheckMigrate). Each check adds results: an id, a severity, a
 * one-line message naming the object and a remedy. The sender runs the
 * source checks; the receiver runs the destination checks on what the
 * sender tells it (a pf_request, sent over xlmig/1) and answers with its
 * results. Admin scripts in checks.d add results on both sides (checkd.c).
 *
 * preflight.c: results, the report, and their wire form (JSON).
 * preflight-checks.c: the checks.
 */
#ifndef XLMIG_PREFLIGHT_H
#define XLMIG_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv.h"
#include "internal.h"

struct domcfg;

#define PF_ID_MAX 48                /* ids, with the NUL */
#define PF_TEXT_MAX 512             /* messages and remedies */
#define PF_RESULTS_MAX 512          /* results in one report */
#define PF_DISKS_MAX 256

/*
 * A report: results in the order the checks ran, and the destination's
 * memory figures when its "memory" check could compute them (for
 * placement: what the domain needs there, what is free there, in KiB).
 */
struct pf_report {
    struct xlmig_check_result *r;
    size_t n, alloc;
    bool mem_known;
    uint64_t mem_need_kb, mem_free_kb;
};
#define PF_MEM_KB_MAX (1ull << 40)      /* 1 EiB: beyond is a lie */

void pf_report_init(struct pf_report *rep);
void pf_report_dispose(struct pf_report *rep);
/* Adds a result; fmt makes the message. remedy may be NULL (none). */
void pf_add(struct pf_report *rep, bool destination, const char *id,
            enum xlmig_check_severity sev, const char *remedy,
            const char *fmt, ...) PRINTF_LIKE(6, 7);
/* Appends every result of from (moved; from is left empty). */
void pf_merge(struct pf_report *rep, struct pf_report *from);
/*
 * Marks the errors whose id is in the comma-separated list as forced,
 * but for those only the destination's admin may waive.
 */
void pf_force(struct pf_report *rep, const char *ids);
/*
 * Whether a sender's --force may skip this result: not the destination's
 * own policy (incoming-policy, maintenance, name-free, uuid-free, its
 * check scripts), which only its admin changes, there.
 */
bool pf_sender_may_force(const struct xlmig_check_result *r);
/* Whether id is one of the comma-separated ids. */
bool pf_listed(const char *ids, const char *id);
/* Errors not forced. */
size_t pf_errors(const struct pf_report *rep);
/* The ids of the unforced errors, ", "-separated (allocated). */
char *pf_error_ids(const struct pf_report *rep);
/* Whether id may be named in --force (a check's id or "script:NAME"). */
bool pf_id_known(const char *id);

/* What identifies a disk's storage, so both ends can compare. */
enum pf_disk_kind { PF_DISK_MISSING, PF_DISK_FILE, PF_DISK_BLOCK,
                    PF_DISK_OTHER };
struct pf_disk_ident {
    char *path;
    enum pf_disk_kind kind;
    int err;                    /* errno of a failed stat or read */
    uint64_t size;              /* bytes */
    uint64_t ino;               /* files: inode number (shared fs keep it) */
    uint64_t sample;            /* hash of the first and last 64 KiB */
    char sr_uuid[40];           /* identity of the SR holding it; "" */
};
/* Reads what identifies path here; never fails (kind MISSING, err). */
void pf_disk_ident_get(const char *path, struct pf_disk_ident *id);

/* What the sender tells the receiver (the PREFLIGHT message). */
struct pf_request {
    char *config;               /* the domain's libxl JSON, as sent */
    char xen_version[32];       /* the source's Xen */
    unsigned xen_major, xen_minor;
    unsigned nr_features;       /* the guest's featureset */
    uint32_t featureset[HV_FEATURESET_WORDS];
    struct pf_disk_ident *disks;    /* as the source sees each disk */
    size_t n_disks;
    char source[256];           /* the source host's name */
};
void pf_request_dispose(struct pf_request *req);

/* Wire form (JSON) of a request and of a report; parsers are strict. */
char *pf_request_encode(const struct pf_request *req);
MUST_CHECK int pf_request_decode(const char *json, struct pf_request *req,
                                 char **why_r);
char *pf_report_encode(const struct pf_report *rep);
MUST_CHECK int pf_report_decode(const char *json, struct pf_report *rep,
                                char **why_r);

/*
 * preflight-checks.c. Source side: the checks of domid (config json,
 * parsed as cfg) on this host, and the request to send. check_busy: also
 * whether another job holds the domain (a migration holds it itself).
 * Adds results to rep (facts it cannot read: an error "host-facts").
 */
MUST_CHECK int pf_source_checks(struct xlmig_ctx *ctx, struct hv *hv,
                                uint32_t domid, const char *json,
                                const struct domcfg *cfg, bool check_busy,
                                struct pf_request *req,
                                struct pf_report *rep);
/* preflight-dest.c. Destination side: the checks of req on this host,
 * its incoming policy pol among them; XLMIG_E_PROTO if its config cannot
 * be parsed. */
struct policy;
MUST_CHECK int pf_dest_checks(struct xlmig_ctx *ctx, struct hv *hv,
                              const struct policy *pol,
                              const struct pf_request *req,
                              struct pf_report *rep);

/*
 * checkd.c: runs the admin's check scripts (/etc/xen/xlmig/checks.d, or
 * $XLMIG_CHECKS_DIR) for one side; see docs/xlmig-checks.7 for their
 * interface. Results have the id "script:NAME".
 */
void checkd_run(struct xlmig_ctx *ctx, bool destination, const char *json,
                const struct domcfg *cfg, const char *peer,
                struct pf_report *rep);

#endif /* XLMIG_PREFLIGHT_H */
