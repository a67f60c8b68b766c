/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hooks.h - the admin's hook programs, run on migration events
 * (docs/xlmig-hooks.7): /etc/xen/xlmig/hooks.d/EVENT/NAME, in name order,
 * argv "NAME EVENT DOMAIN ROLE", XLMIG_* in a clean environment, the
 * domain's libxl JSON config on stdin. Exit 0 goes on, 1 warns and goes
 * on; anything else, a signal or the deadline is a veto of a pre-event
 * and a recorded failure of any other.
 *
 * An event is a record under /libxlmig/event (coord.h). The job that
 * makes it (hooks_emit) leaves its hooks to xlmig-hookd when one runs,
 * and runs them itself otherwise, with the same code (hooks_process): a
 * veto never depends on the daemon being up.
 */
#ifndef XLMIG_HOOKS_H
#define XLMIG_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord.h"
#include "fdio.h"
#include "internal.h"

/* configure --with-xlmig-hooks-dir; $XLMIG_HOOKS_DIR for tests */
#define HOOKS_DIR_DEFAULT XLMIG_HOOKS_DIR
#define HOOKS_TIMEOUT_S 30          /* each hook; xlmig.conf hook_timeout */
#define HOOKS_EVENT_TIMEOUT_S 120   /* all of one event: hook_event_timeout */

enum hooks_event {
    HOOKS_PRE_MIGRATE,
    HOOKS_PRE_INCOMING,
    HOOKS_POST_MIGRATE,
    HOOKS_INCOMING_DONE,
    HOOKS_MIGRATE_FAILED,
    HOOKS_MIGRATE_CANCELLED,
    HOOKS_MIGRATE_UNSAFE,
    HOOKS_JOB_QUEUED,
    HOOKS_STORAGE_BEGIN,
    HOOKS_STORAGE_END,
    HOOKS_NR_EVENTS
};

/* "pre-migrate", ...; "?" out of range. */
const char *hooks_event_name(enum hooks_event e);
/* Whether hooks of e may stop what is about to happen. */
bool hooks_event_vetoes(enum hooks_event e);

/* What an event says; NULL strings are "". */
struct hooks_info {
    enum hooks_event event;
    const char *job, *domain, *uuid, *peer;
    const char *role;           /* "source", "destination", "local" */
    const char *result;         /* "ok", "failed", "cancelled", "unsafe" */
    const char *error;
    uint32_t domid;             /* HOOKS_NO_DOMID: none (yet) */
    const char *config_json;    /* the domain's libxl JSON, or NULL */
};
#define HOOKS_NO_DOMID UINT32_MAX

/*
 * Records the event and sees its hooks run. A pre-event is decided before
 * this returns: XLMIG_OK to go on, XLMIG_E_PREFLIGHT (logged) when a hook
 * vetoed, with *why_r (allocated) naming the hook and what it said;
 * XLMIG_E_CANCELLED if w's cancel fds fired while hookd decided. Other
 * events return at once when hookd runs (it runs their hooks), after
 * their hooks otherwise, and XLMIG_OK whatever the hooks did. c may be
 * NULL (a connection of its own is made). *why_r is NULL unless vetoed.
 */
MUST_CHECK int hooks_emit(struct xlmig_ctx *ctx, struct coord *c,
                          const struct hooks_info *info,
                          const struct fdio_wait *w, char **why_r);

/*
 * Runs the hooks of event seq that have not started, if no other live
 * process owns the event, and marks it done with its verdict. *ran_r (may
 * be NULL): whether this call owned it. Used by hookd and hooks_emit.
 */
MUST_CHECK int hooks_process(struct xlmig_ctx *ctx, struct coord *c,
                             unsigned seq, bool *ran_r);

/* Removes the config files of events that are done or gone. */
void hooks_clean_configs(struct xlmig_ctx *ctx, struct coord *c);

/*
 * The programs in dir as run-parts takes them: regular executable files
 * named by 1..name_max of [A-Za-z0-9_-], sorted; *names_r (NULL when
 * none) and each name are freed by the caller. A missing dir has none.
 * (checks.d's scripts are found so too.)
 */
size_t hooks_list(const char *dir, size_t name_max, char ***names_r);

#endif /* XLMIG_HOOKS_H */
