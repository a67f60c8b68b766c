/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * precopy.c - xlmig's precopy policy (see precopy.h): predicts the
 * downtime of stopping after each live round and stops when it is within
 * three quarters of the target (PRECOPY_AIM); a guest that stalls above
 * it gets its converge action.
 *
 * Stalled: the best prediction so far has not improved by a tenth for
 * PRECOPY_STALL_ROUNDS rounds. Once throttled, the throttle goes up a step
 * after every round that was more than half as long as the one before
 * (QEMU's auto-converge asks the same of the dirty rate). Limits:
 * max_rounds live rounds, max_time_s of them. force stops at a stall or a limit, throttle raises the
 * throttle a step at a stall and stops at a limit or a stall at its
 * highest step, abort gives up at either.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precopy.h"

#define PRECOPY_STALL_ROUNDS 2
/* It stops at this share of the target: the suspend, the restore there
 * and a busy host vary more than a round shows. */
#define PRECOPY_AIM 0.75
#define PRECOPY_RATE_DECAY 0.5
/* Where the fixed part alone is over the aim, the rounds end once what
 * they can still save is under this share of the target. */
#define PRECOPY_VARIABLE_MIN 0.05
#define PRECOPY_THROTTLE_CONVERGE 0.5   /* a throttled round: at most half
                                           as long as the one before */
#define PRECOPY_MIN_ROUND_S 0.001   /* a round takes at least this long */

static const char *const precopy_converge_names[] = {
    [PRECOPY_CONVERGE_FORCE] = "force",
    [PRECOPY_CONVERGE_THROTTLE] = "throttle",
    [PRECOPY_CONVERGE_ABORT] = "abort",
};

static const char *const precopy_action_names[] = {
    [PRECOPY_CONTINUE] = "continue",
    [PRECOPY_STOP] = "stop",
    [PRECOPY_ABORT] = "abort",
};

void precopy_params_default(struct precopy_params *p)
{
    p->max_downtime_ms = PRECOPY_MAX_DOWNTIME_MS_DEFAULT;
    p->converge = PRECOPY_CONVERGE_THROTTLE;
    p->max_rounds = PRECOPY_MAX_ROUNDS_DEFAULT;
    p->max_time_s = 0;
    p->fixed_ms = PRECOPY_FIXED_MS_DEFAULT;
}

const char *precopy_converge_name(enum precopy_converge c)
{
    return (unsigned)c < sizeof(precopy_converge_names) /
                             sizeof(precopy_converge_names[0])
               ? precopy_converge_names[c] : "?";
}

const char *precopy_action_name(enum precopy_action a)
{
    return (unsigned)a < sizeof(precopy_action_names) /
                             sizeof(precopy_action_names[0])
               ? precopy_action_names[a] : "?";
}

int precopy_converge_parse(const char *s, enum precopy_converge *c_r)
{
    unsigned i;

    for (i = 0; i < sizeof(precopy_converge_names) /
                        sizeof(precopy_converge_names[0]); i++)
        if (!strcmp(s, precopy_converge_names[i])) {
            *c_r = (enum precopy_converge)i;
            return 0;
        }
    return -1;
}

int precopy_params_format(const struct precopy_params *p, char *out,
                          size_t len)
{
    int n = snprintf(out, len, "downtime=%u converge=%s rounds=%u time=%u "
                     "fixed=%u", p->max_downtime_ms,
                     precopy_converge_name(p->converge), p->max_rounds,
                     p->max_time_s, p->fixed_ms);

    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * "KEY=" at *s, then a decimal in 0..max up to a space or the end; moves
 * *s past it (and the space).
 */
static int precopy_take_num(const char **s, const char *key, uint64_t max,
                            uint64_t *v_r)
{
    size_t klen = strlen(key);
    const char *p = *s;
    uint64_t v = 0;

    if (strncmp(p, key, klen) || p[klen] != '=') return -1;
    p += klen + 1;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (max - (uint64_t)(*p - '0')) / 10) return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p == ' ' && p[1]) p++;
    else if (*p) return -1;
    *s = p;
    *v_r = v;
    return 0;
}

/* "KEY=WORD " with WORD of lower-case letters, into word (len bytes). */
static int precopy_take_word(const char **s, const char *key, char *word,
                             size_t len)
{
    size_t klen = strlen(key), n = 0;
    const char *p = *s;

    if (strncmp(p, key, klen) || p[klen] != '=') return -1;
    for (p += klen + 1; *p >= 'a' && *p <= 'z'; p++) {
        if (n + 1 >= len) return -1;
        word[n++] = *p;
    }
    word[n] = '\0';
    if (!n) return -1;
    if (*p == ' ' && p[1]) p++;
    else if (*p) return -1;
    *s = p;
    return 0;
}

int precopy_params_parse(const char *s, struct precopy_params *p)
{
    struct precopy_params q;
    uint64_t down, rounds, time_s, fixed;
    char conv[16];

    precopy_params_default(p);
    if (precopy_take_num(&s, "downtime", PRECOPY_MAX_DOWNTIME_MS_MAX,
                         &down) ||
        precopy_take_word(&s, "converge", conv, sizeof(conv)) ||
        precopy_take_num(&s, "rounds", PRECOPY_MAX_ROUNDS_MAX, &rounds) ||
        precopy_take_num(&s, "time", PRECOPY_MAX_TIME_S_MAX, &time_s) ||
        precopy_take_num(&s, "fixed", PRECOPY_MAX_DOWNTIME_MS_MAX, &fixed) ||
        *s || down < 1 || rounds < 1 ||
        precopy_converge_parse(conv, &q.converge))
        return -1;
    q.max_downtime_ms = (unsigned)down;
    q.max_rounds = (unsigned)rounds;
    q.max_time_s = (unsigned)time_s;
    q.fixed_ms = (unsigned)fixed;
    *p = q;
    return 0;
}

void precopy_init(struct precopy *pc, const struct precopy_params *p,
                  bool throttle_allowed, double now)
{
    memset(pc, 0, sizeof(*pc));
    pc->p = *p;
    pc->start = now;
    pc->round_start = now;
    pc->best_ms = -1;
    pc->throttle_allowed = throttle_allowed;
}

enum precopy_action precopy_before(struct precopy *pc, uint64_t dirty,
                                   double now)
{
    pc->round++;
    pc->dirty = dirty;
    pc->round_start = now;
    return PRECOPY_CONTINUE;
}

/* The bandwidth at which stopping after a round like r meets the target:
 * downtime = dirty_rate * T * 4096 / L + fixed with T = D * 4096 / L. */
static double precopy_needed_rate(const struct precopy *pc,
                                  const struct precopy_report *r)
{
    double budget = (pc->p.max_downtime_ms - (double)pc->p.fixed_ms) / 1e3;

    if (budget <= 0) return -1;
    return PRECOPY_PAGE_SIZE * sqrt(r->dirty_rate * (double)r->dirty_pages /
                                    budget);
}

/* The converge action at a stall or a limit (what says which). */
static enum precopy_action precopy_converge(struct precopy *pc,
                                            struct precopy_report *r,
                                            bool limit, const char *what)
{
    const double mb = 1e6;
    double need;

    switch (pc->p.converge) {
    case PRECOPY_CONVERGE_THROTTLE:
        if (!pc->throttle_allowed) {
            snprintf(r->why, sizeof(r->why), "%s; its scheduler has no cap "
                     "to throttle it: stopped with a predicted downtime of "
                     "%.0f ms", what, r->predicted_ms);
            return PRECOPY_STOP;
        }
        if (!limit && pc->throttle < PRECOPY_THROTTLE_MAX) {
            pc->throttle = pc->throttle ? pc->throttle + PRECOPY_THROTTLE_STEP
                                        : PRECOPY_THROTTLE_FIRST;
            if (pc->throttle > PRECOPY_THROTTLE_MAX)
                pc->throttle = PRECOPY_THROTTLE_MAX;
            pc->stalled = 0;
            return PRECOPY_CONTINUE;
        }
        if (pc->throttle)
            snprintf(r->why, sizeof(r->why), "%s with %u %% of its CPU "
                     "throttled: stopped with a predicted downtime of "
                     "%.0f ms", what, pc->throttle, r->predicted_ms);
        else
            snprintf(r->why, sizeof(r->why), "%s: stopped with a predicted "
                     "downtime of %.0f ms", what, r->predicted_ms);
        return PRECOPY_STOP;
    case PRECOPY_CONVERGE_ABORT:
        need = precopy_needed_rate(pc, r);
        if (need < 0)
            snprintf(r->why, sizeof(r->why), "%s: the fixed cost of %u ms "
                     "alone exceeds the %u ms asked for", what,
                     pc->p.fixed_ms, pc->p.max_downtime_ms);
        else
            snprintf(r->why, sizeof(r->why), "%s: it dirties %.1f MB/s, the "
                     "link carries %.1f MB/s; %u ms needs about %.1f MB/s",
                     what, r->dirty_rate * PRECOPY_PAGE_SIZE / mb,
                     r->link_rate / mb, pc->p.max_downtime_ms, need / mb);
        return PRECOPY_ABORT;
    case PRECOPY_CONVERGE_FORCE:
    default:
        snprintf(r->why, sizeof(r->why), "%s: stopped with a predicted "
                 "downtime of %.0f ms", what, r->predicted_ms);
        return PRECOPY_STOP;
    }
}

enum precopy_action precopy_after(struct precopy *pc, uint64_t bytes,
                                  double now, struct precopy_report *r)
{
    double t = now - pc->round_start, rate, left;
    double aim = pc->p.max_downtime_ms * PRECOPY_AIM;
    char what[96];

    if (t < PRECOPY_MIN_ROUND_S) t = PRECOPY_MIN_ROUND_S;
    memset(r, 0, sizeof(*r));
    r->round = pc->round;
    r->dirty_pages = pc->dirty;
    r->round_s = t;
    /*
     * The link: the rounds so far, each weighing half as much as the one
     * after it, so that a small round that a pipe's buffer swallowed at
     * once does not pass for a fast link.
     */
    pc->win_bytes = pc->win_bytes * PRECOPY_RATE_DECAY + (double)bytes;
    pc->win_s = pc->win_s * PRECOPY_RATE_DECAY + t;
    r->link_rate = rate = pc->win_bytes / pc->win_s;
    r->predicted_ms = -1;
    r->action = PRECOPY_CONTINUE;
    /*
     * Round 1 sends every page: what it leaves dirty is known only at
     * the next round. From round 2 on, the pages of this round were
     * dirtied during the round before it.
     */
    if (pc->round >= 2 && pc->prev_round_s > 0 && rate > 0) {
        r->dirty_rate = (double)pc->dirty / pc->prev_round_s;
        left = r->dirty_rate * t;           /* dirty now, about */
        r->predicted_ms = left * PRECOPY_PAGE_SIZE / rate * 1e3 +
                          pc->p.fixed_ms;
    } else if (pc->round >= 2 && !pc->dirty) {
        r->predicted_ms = pc->p.fixed_ms;   /* nothing was dirty */
    }
    pc->prev_round_s = t;

    if (r->predicted_ms >= 0 &&
        (r->predicted_ms <= aim ||
         (pc->p.fixed_ms >= aim &&
          r->predicted_ms <= pc->p.max_downtime_ms))) {
        r->action = PRECOPY_STOP;
    } else if (r->predicted_ms >= 0 && pc->p.fixed_ms >= aim &&
               r->predicted_ms - pc->p.fixed_ms <=
                   pc->p.max_downtime_ms * PRECOPY_VARIABLE_MIN) {
        /* Nothing a further round or a throttle does would help. */
        snprintf(what, sizeof(what), "the fixed part of the downtime "
                 "(%u ms) is over the target", pc->p.fixed_ms);
        r->action = precopy_converge(pc, r, true, what);
    } else if (pc->p.max_time_s && now - pc->start >= pc->p.max_time_s) {
        snprintf(what, sizeof(what), "not converged in %u s of live rounds",
                 pc->p.max_time_s);
        r->action = precopy_converge(pc, r, true, what);
    } else if (pc->round >= pc->p.max_rounds) {
        snprintf(what, sizeof(what), "not converged in %u live rounds",
                 pc->p.max_rounds);
        r->action = precopy_converge(pc, r, true, what);
    } else if (r->predicted_ms >= 0) {
        /* Each round's length over the last one's: how fast it converges. */
        double q = r->dirty_rate * PRECOPY_PAGE_SIZE / rate;

        if (pc->throttle && q > PRECOPY_THROTTLE_CONVERGE) {
            snprintf(what, sizeof(what), "converging too slowly (round %u)",
                     pc->round);
            r->action = precopy_converge(pc, r, false, what);
        } else if (pc->best_ms < 0 || r->predicted_ms < pc->best_ms * 0.9) {
            pc->best_ms = r->predicted_ms;
            pc->stalled = 0;
        } else if (++pc->stalled >= PRECOPY_STALL_ROUNDS) {
            snprintf(what, sizeof(what), "not converging (round %u)",
                     pc->round);
            r->action = precopy_converge(pc, r, false, what);
        }
    }
    r->throttle = pc->throttle;
    pc->last = *r;
    return r->action;
}

unsigned precopy_cap(unsigned throttle, unsigned vcpus, unsigned orig_cap)
{
    unsigned cap;

    if (!throttle) return orig_cap;
    if (throttle > 100) throttle = 100;
    if (!vcpus) vcpus = 1;
    cap = (100 - throttle) * vcpus;
    if (!cap) cap = 1;                  /* 0 would mean no cap at all */
    if (orig_cap && orig_cap < cap) cap = orig_cap;
    return cap;
}

int precopy_report_format(const struct precopy_report *r, char *out,
                          size_t len)
{
    int n = snprintf(out, len, "round=%u pages=%" PRIu64 " round_ms=%.0f "
                     "rate=%.0f dirty_rate=%.0f predicted_ms=%.0f "
                     "throttle=%u action=%s why=%s", r->round, r->dirty_pages,
                     r->round_s * 1e3, r->link_rate, r->dirty_rate,
                     r->predicted_ms < 0 ? -1.0 : r->predicted_ms,
                     r->throttle, precopy_action_name(r->action), r->why);

    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int precopy_report_parse(const char *s, struct precopy_report *r)
{
    struct precopy_report q;
    uint64_t round, pages, round_ms, rate, drate, pred, thr;
    int neg = 0;
    char act[16];
    size_t i;

    memset(&q, 0, sizeof(q));
    if (precopy_take_num(&s, "round", UINT32_MAX, &round) ||
        precopy_take_num(&s, "pages", UINT64_MAX / 2, &pages) ||
        precopy_take_num(&s, "round_ms", UINT32_MAX, &round_ms) ||
        precopy_take_num(&s, "rate", UINT64_MAX / 2, &rate) ||
        precopy_take_num(&s, "dirty_rate", UINT64_MAX / 2, &drate))
        return -1;
    if (!strncmp(s, "predicted_ms=-1 ", 16)) {
        neg = 1;
        s += 16;
        pred = 0;
    } else if (precopy_take_num(&s, "predicted_ms", UINT32_MAX, &pred)) {
        return -1;
    }
    if (precopy_take_num(&s, "throttle", 100, &thr) ||
        precopy_take_word(&s, "action", act, sizeof(act)) ||
        strncmp(s, "why=", 4))
        return -1;
    for (i = 0; i < sizeof(precopy_action_names) /
                        sizeof(precopy_action_names[0]); i++)
        if (!strcmp(act, precopy_action_names[i])) break;
    if (i == sizeof(precopy_action_names) / sizeof(precopy_action_names[0]))
        return -1;
    s += 4;
    if (strlen(s) >= sizeof(q.why)) return -1;
    for (const char *p = s; *p; p++)
        if (*p < 0x20 || *p > 0x7e) return -1;
    q.round = (unsigned)round;
    q.dirty_pages = pages;
    q.round_s = (double)round_ms / 1e3;
    q.link_rate = (double)rate;
    q.dirty_rate = (double)drate;
    q.predicted_ms = neg ? -1 : (double)pred;
    q.throttle = (unsigned)thr;
    q.action = (enum precopy_action)i;
    strcpy(q.why, s);
    *r = q;
    return 0;
}
