/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * precopy.h - xlmig's precopy policy: when the live rounds of a save stop,
 * and what happens to a guest that dirties memory faster than the link
 * carries it away. One module for both savers: the sim backend's (in
 * process) and xlmig-save-helper's (libxc's precopy_policy callback, in
 * the helper libxl spawns). It knows no Xen and does no I/O: its caller
 * measures, it decides.
 *
 * The caller follows libxc's loop (xg_sr_save.c send_memory_live,
 * research/save-helper.md): before each round it calls precopy_before()
 * with the pages dirty now (the first round: every page), sends them
 * live whatever the answer is unless it is PRECOPY_ABORT, then calls
 * precopy_after() with the bytes that round put on the stream. Stopping
 * in precopy_before() therefore still sends that round live; the policy
 * decides in precopy_after(), when the length of the round just sent is
 * known: stopping there suspends the guest with what it dirtied during
 * that round still to send.
 *
 * The prediction: a round of T seconds after a round of T' seconds that
 * left D pages dirty leaves about D * T / T' pages dirty (the dirty rate
 * D / T' times the window T; an upper bound, as re-dirtied pages count
 * once). Sent at the rate R the rounds ran at (stream bytes per second,
 * each round weighing twice the one before),
 * the downtime of stopping now is that many pages * 4096 / R plus the
 * fixed cost of suspending, the last records and the receiver's restore.
 */
#ifndef XLMIG_PRECOPY_H
#define XLMIG_PRECOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRECOPY_PAGE_SIZE 4096u
#define PRECOPY_MAX_DOWNTIME_MS_DEFAULT 300u    /* as QEMU's downtime-limit */
#define PRECOPY_MAX_DOWNTIME_MS_MAX 3600000u
#define PRECOPY_MAX_ROUNDS_DEFAULT 30u          /* as Xen 3's libxc */
#define PRECOPY_MAX_ROUNDS_MAX 1000u
#define PRECOPY_MAX_TIME_S_MAX 86400u
#define PRECOPY_FIXED_MS_DEFAULT 100u           /* before one is measured */
#define PRECOPY_THROTTLE_FIRST 20u      /* % of CPU taken, as QEMU's */
#define PRECOPY_THROTTLE_STEP 10u       /* cpu-throttle-initial/-increment */
#define PRECOPY_THROTTLE_MAX 95u

/* What a guest that does not converge gets (--converge). */
enum precopy_converge {
    PRECOPY_CONVERGE_FORCE,     /* stop and copy anyway (xl's behaviour) */
    PRECOPY_CONVERGE_THROTTLE,  /* cap its vCPUs in steps, then force */
    PRECOPY_CONVERGE_ABORT,     /* roll back, naming the rates */
};

struct precopy_params {
    unsigned max_downtime_ms;   /* the target; 1..PRECOPY_MAX_DOWNTIME_MS_MAX */
    enum precopy_converge converge;
    unsigned max_rounds;        /* live rounds, 1..PRECOPY_MAX_ROUNDS_MAX */
    unsigned max_time_s;        /* of the live rounds; 0: no limit */
    unsigned fixed_ms;          /* fixed part of the downtime */
};

/* The defaults (the constants above, converge throttle). */
void precopy_params_default(struct precopy_params *p);

/*
 * The params as one line of text, "downtime=300 converge=throttle
 * rounds=30 time=0 fixed=100", how xlmig hands them to its save helper
 * (environment XLMIG_PRECOPY). parse takes exactly that grammar: every
 * key once, numbers in range, nothing else; -1 on anything else (p then
 * holds the defaults).
 */
#define PRECOPY_PARAMS_TEXT_MAX 128
#define PRECOPY_ENV "XLMIG_PRECOPY"
int precopy_params_format(const struct precopy_params *p, char *out,
                          size_t len);
int precopy_params_parse(const char *s, struct precopy_params *p);
/* "force", "throttle", "abort"; -1 if none of them. */
int precopy_converge_parse(const char *s, enum precopy_converge *c_r);
const char *precopy_converge_name(enum precopy_converge c);

enum precopy_action {
    PRECOPY_CONTINUE,           /* send another live round */
    PRECOPY_STOP,               /* suspend and send what is left */
    PRECOPY_ABORT,              /* fail the save; the guest keeps running */
};

/* What the policy reports after each round (and why it stopped). */
struct precopy_report {
    unsigned round;             /* 1-based: round 1 sends every page */
    uint64_t dirty_pages;       /* pages this round sent */
    double round_s;             /* how long it took */
    double link_rate;           /* stream bytes per second it ran at */
    double dirty_rate;          /* pages the guest dirties per second
                                   (0 until round 2) */
    double predicted_ms;        /* downtime of stopping now (-1: unknown) */
    unsigned throttle;          /* % of the guest's CPU taken (0: none) */
    enum precopy_action action;
    /* One line when it stopped short of the target or aborted. */
    char why[200];
};

struct precopy {
    struct precopy_params p;
    double start;               /* when the first round began */
    double round_start;
    unsigned round;
    uint64_t dirty;             /* pages of the round being sent */
    double prev_round_s;        /* the round before it */
    double win_bytes, win_s;    /* the rounds' bytes and time, decaying */
    double best_ms;             /* lowest prediction so far */
    unsigned stalled;           /* rounds since the best improved by 10 % */
    unsigned throttle;
    bool throttle_allowed;      /* the caller can cap the vCPUs */
    struct precopy_report last;
};

/*
 * throttle_allowed false turns converge=throttle into force (a scheduler
 * without caps, or a caller that cannot set them): the report says so.
 */
void precopy_init(struct precopy *pc, const struct precopy_params *p,
                  bool throttle_allowed, double now);
/* Before a round: dirty pages to send now. CONTINUE, or ABORT when the
 * time limit of converge=abort has passed. */
enum precopy_action precopy_before(struct precopy *pc, uint64_t dirty,
                                   double now);
/*
 * After the round: bytes it put on the stream. The decision is in
 * r->action; r->throttle is the throttle the guest should have from now
 * on (the caller applies a change: precopy_cap()).
 */
enum precopy_action precopy_after(struct precopy *pc, uint64_t bytes,
                                  double now, struct precopy_report *r);
/*
 * The scheduler cap for a throttle on a domain of vcpus vCPUs: Xen's cap
 * is % of one CPU, 0 meaning none; orig_cap is the domain's own cap
 * (0: none), which a throttle never raises.
 */
unsigned precopy_cap(unsigned throttle, unsigned vcpus, unsigned orig_cap);

/*
 * A report as one line of text, how the save helper sends it to xlmig (a
 * log message of libxl's helper protocol with context PRECOPY_LOG_CONTEXT)
 * and how the job record keeps it: "round=3 pages=1234 round_ms=812
 * rate=52428800 dirty_rate=1500 predicted_ms=240 throttle=0
 * action=continue why=TEXT" (why last, the rest of the line, printable
 * ASCII). parse is strict (every key, in this order, numbers in range):
 * -1 on anything else.
 */
#define PRECOPY_LOG_CONTEXT "xlmig-precopy"
/* The context of the helper's own messages. */
#define PRECOPY_HELPER_CONTEXT "xlmig-save-helper"
/* The helper's one other line in that context: the guest is asked to
 * suspend now (its freeze is the first part of the downtime). */
#define PRECOPY_SUSPEND_LINE "suspend"
#define PRECOPY_REPORT_TEXT_MAX 400
int precopy_report_format(const struct precopy_report *r, char *out,
                          size_t len);
int precopy_report_parse(const char *s, struct precopy_report *r);
const char *precopy_action_name(enum precopy_action a);

#endif /* XLMIG_PRECOPY_H */
