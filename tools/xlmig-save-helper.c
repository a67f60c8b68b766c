/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xlmig-save-helper - libxl's save helper (libxl-save-helper) with xlmig's
 * precopy policy: libxl runs it in place of its own for xlmig's saves
 * (LIBXL_SAVE_HELPER, set by hv-libxl-helper.c), it speaks libxl 4.17's
 * helper protocol (shmsg.h) and calls xc_domain_save with a
 * precopy_policy that runs precopy.h's policy, reports each round to
 * xlmig as a log message and throttles the guest with its scheduler cap
 * when the policy asks (and was allowed to: XLMIG_THROTTLE).
 *
 *   xlmig-save-helper --save-domain IO_FD BACK_FD DOMID XCFLAGS CBFLAGS 0
 *   xlmig-save-helper --check
 *
 * Anything else (a restore, a checkpointed stream, arguments of another
 * Xen, or a save without XLMIG_PRECOPY) is handed to libxl's own helper
 * with the same argv. --check prints the Xen release it speaks for and
 * exits 0: it ran, so its libraries load.
 *
 * As libxl's helper: on SIGTERM (libxl aborting the save) /dev/null is
 * dup2()ed over IO_FD, so libxc's next write fails and its cleanup turns
 * log-dirty mode off; the exit status is 0 once `complete` was answered.
 * The cap is back to what it was before `complete` is sent, whatever the
 * outcome; a SIGKILL leaves that to xlmig's recover (the cap is
 * journaled).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenguest.h>
#include <xentoollog.h>

#include "precopy.h"
#include "shmsg.h"

#define HELPER_NAME PRECOPY_HELPER_CONTEXT
#define HELPER_TEXT_MAX 8192        /* a log line, cut there */
#define HELPER_EXIT_FAIL 1
#define HELPER_EXIT_NOREPLY 2       /* libxl went away */

struct helper {
    xentoollog_logger lg;           /* libxc logs through it to libxl */
    xc_interface *xch;
    struct shmsg_save_args a;
    struct precopy pc;
    unsigned long written;          /* total_written at the last round */
    long long wchar;                /* helper_wchar() as the round began */
    bool throttle_ok;               /* the cap may be set */
    unsigned vcpus, orig_cap;
    uint32_t sched_id;              /* XEN_SCHEDULER_CREDIT{,2} */
    unsigned throttle;              /* as applied */
    bool capped;                    /* the cap is not orig_cap */
};

static struct helper helper_state;
/* For the signal handler. */
static int helper_io_fd = -1;
static int helper_null_fd = -1;

static void helper_log(struct helper *h, xentoollog_level level,
                       int errnoval, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
static void helper_die(struct helper *h, int status)
    __attribute__((noreturn));

/* ---- the channel to libxl: messages on stdout, replies on stdin ---- */

/* false if libxl's end is gone. */
static bool helper_write_all(int fd, const uint8_t *p, size_t len)
{
    ssize_t r;

    while (len) {
        r = write(fd, p, len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        len -= (size_t)r;
    }
    return true;
}

/* Leaves errno alone: libxc logs an error, then reads errno. */
static void helper_send(struct helper *h, const struct shmsg *m)
{
    static uint8_t wire[SHMSG_WIRE_MAX];
    int e = errno;
    size_t len;

    if (shmsg_encode(m, wire, sizeof(wire), &len)) {
        /* Only a log line can be this long, and those are cut first. */
        abort();
    }
    if (!helper_write_all(STDOUT_FILENO, wire, len))
        helper_die(h, HELPER_EXIT_FAIL);
    errno = e;
}

static int helper_reply(struct helper *h)
{
    uint8_t b[SHMSG_REPLY_SIZE];
    size_t got = 0;
    ssize_t r;
    int v;

    while (got < sizeof(b)) {
        r = read(STDIN_FILENO, b + got, sizeof(b) - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) helper_die(h, HELPER_EXIT_NOREPLY);
        got += (size_t)r;
    }
    if (shmsg_reply_decode(b, sizeof(b), &v)) abort();
    return v;
}

/* Sends m; its reply if it wants one, else 0. */
static int helper_call(struct helper *h, const struct shmsg *m)
{
    helper_send(h, m);
    return shmsg_wants_reply(m->type) ? helper_reply(h) : 0;
}

/* ---- the logger libxc and we log through ---- */

static struct helper *helper_of_lg(xentoollog_logger *lg)
{
    return (struct helper *)lg;     /* lg is the first member */
}

PRINTF_LIKE(5, 0)
static void helper_vmessage(xentoollog_logger *lg, xentoollog_level level,
                            int errnoval, const char *context,
                            const char *format, va_list al)
{
    char text[HELPER_TEXT_MAX];
    struct shmsg m = { .type = SHMSG_LOG };

    vsnprintf(text, sizeof(text), format, al);
    m.u.log.level = (uint32_t)level;
    m.u.log.errnoval = (uint32_t)errnoval;
    m.u.log.context = context;
    m.u.log.text = text;
    helper_send(helper_of_lg(lg), &m);
}

static void helper_progress(xentoollog_logger *lg, const char *context,
                            const char *doing_what, int percent,
                            unsigned long done, unsigned long total)
{
    struct shmsg m = { .type = SHMSG_PROGRESS };

    (void)percent;                  /* not in the protocol */
    m.u.progress.context = context;
    m.u.progress.what = doing_what;
    m.u.progress.done = done;
    m.u.progress.total = total;
    helper_send(helper_of_lg(lg), &m);
}

static void helper_lg_destroy(xentoollog_logger *lg)
{
    (void)lg;                       /* static */
}

static void helper_log(struct helper *h, xentoollog_level level,
                       int errnoval, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    helper_vmessage(&h->lg, level, errnoval, HELPER_NAME, fmt, ap);
    va_end(ap);
}

/* A round's report, for hv-libxl-helper.c (libxl passes it on). */
static void helper_report(struct helper *h, const char *text)
{
    struct shmsg m = { .type = SHMSG_LOG };

    m.u.log.level = XTL_INFO;
    m.u.log.errnoval = (uint32_t)-1;
    m.u.log.context = PRECOPY_LOG_CONTEXT;
    m.u.log.text = text;
    helper_send(h, &m);
}

/* ---- the scheduler cap ---- */

/*
 * Which scheduler runs the domain (its cpupool's): true if it has a cap;
 * false, logged, if not or if it cannot be told.
 */
static bool helper_sched_find(struct helper *h)
{
    xc_cpupoolinfo_t *pool;
    xc_dominfo_t info;

    if (xc_domain_getinfo(h->xch, h->a.domid, 1, &info) != 1 ||
        info.domid != h->a.domid) {
        helper_log(h, XTL_WARN, errno, "cannot read domain %u's info: it "
                   "will not be throttled", h->a.domid);
        return false;
    }
    pool = xc_cpupool_getinfo(h->xch, info.cpupool);
    if (!pool || pool->cpupool_id != info.cpupool) {
        helper_log(h, XTL_WARN, errno, "cannot read cpupool %u of domain "
                   "%u: it will not be throttled", info.cpupool, h->a.domid);
        if (pool) xc_cpupool_infofree(h->xch, pool);
        return false;
    }
    h->sched_id = pool->sched_id;
    xc_cpupool_infofree(h->xch, pool);
    if (h->sched_id != XEN_SCHEDULER_CREDIT &&
        h->sched_id != XEN_SCHEDULER_CREDIT2) {
        helper_log(h, XTL_WARN, -1, "domain %u: its scheduler (Xen's "
                   "number %u) has no cap: it will not be throttled",
                   h->a.domid, h->sched_id);
        return false;
    }
    return true;
}

/* Sets the domain's cap, its weight unchanged: 0 or -1 (logged). */
static int helper_cap_set(struct helper *h, unsigned cap)
{
    struct xen_domctl_sched_credit c;
    struct xen_domctl_sched_credit2 c2;
    int r;

    if (cap > SHMSG_CAP_MAX) cap = SHMSG_CAP_MAX;
    if (h->sched_id == XEN_SCHEDULER_CREDIT) {
        r = xc_sched_credit_domain_get(h->xch, h->a.domid, &c);
        if (!r) {
            c.cap = (uint16_t)cap;
            r = xc_sched_credit_domain_set(h->xch, h->a.domid, &c);
        }
    } else {
        r = xc_sched_credit2_domain_get(h->xch, h->a.domid, &c2);
        if (!r) {
            c2.cap = (uint16_t)cap;
            r = xc_sched_credit2_domain_set(h->xch, h->a.domid, &c2);
        }
    }
    if (r) {
        helper_log(h, XTL_ERROR, errno, "cannot set the scheduler cap of "
                   "domain %u to %u", h->a.domid, cap);
        return -1;
    }
    return 0;
}

/* Puts the throttle the policy asks for in place (or gives it up). */
static void helper_throttle(struct helper *h, unsigned throttle)
{
    unsigned cap;

    if (throttle == h->throttle || !h->throttle_ok) return;
    cap = precopy_cap(throttle, h->vcpus, h->orig_cap);
    if (helper_cap_set(h, cap)) {
        /* The policy stops at its next limit instead (force). */
        h->throttle_ok = false;
        h->pc.throttle_allowed = false;
        return;
    }
    h->throttle = throttle;
    h->capped = cap != h->orig_cap;
    helper_log(h, XTL_INFO, -1, "domain %u throttled by %u %%: scheduler "
               "cap %u (was %u)", h->a.domid, throttle, cap, h->orig_cap);
}

/* The cap as it was; quiet when libxl's end is gone (quiet). */
static void helper_cap_restore(struct helper *h, bool quiet)
{
    if (!h->capped) return;
    if (quiet) h->throttle_ok = false;
    if (!helper_cap_set(h, h->orig_cap)) {
        h->capped = false;
        h->throttle = 0;
        if (!quiet)
            helper_log(h, XTL_INFO, -1, "domain %u: scheduler cap %u "
                       "restored", h->a.domid, h->orig_cap);
    }
}

/* ---- libxc's callbacks ---- */

static int helper_cb_plain(struct helper *h, enum shmsg_type type)
{
    struct shmsg m = { .type = type };

    return helper_call(h, &m);
}

/*
 * The guest gets its own cap back before it is asked to suspend: a
 * throttled guest would freeze slowly, and its freeze is downtime, which
 * xlmig counts from the line said here.
 */
static int helper_cb_suspend(void *data)
{
    helper_cap_restore(data, false);
    helper_report(data, PRECOPY_SUSPEND_LINE);
    return helper_cb_plain(data, SHMSG_SUSPEND);
}

static int helper_cb_postcopy(void *data)
{
    return helper_cb_plain(data, SHMSG_POSTCOPY);
}

static int helper_cb_checkpoint(void *data)
{
    return helper_cb_plain(data, SHMSG_CHECKPOINT);
}

static int helper_cb_wait_checkpoint(void *data)
{
    return helper_cb_plain(data, SHMSG_WAIT_CHECKPOINT);
}

static int helper_cb_logdirty(uint32_t domid, unsigned enable, void *data)
{
    struct shmsg m = { .type = SHMSG_SWITCH_QEMU_LOGDIRTY };

    m.u.logdirty.domid = domid;
    m.u.logdirty.enable = enable;
    return helper_call(data, &m);
}

static double helper_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The bytes this process has written (/proc/self/io wchar: the stream's,
 * with the few of its messages to libxl), or -1. libxc counts the pages
 * of a round, and round 1 counts every pfn of the guest's p2m: 4 GiB for
 * the lab's 128 MiB PVH guest (tests/data/README-savehelper), whose holes
 * put no page on the stream. What was written is what the link carried.
 */
static long long helper_wchar(void)
{
    char buf[1024], *p;
    long long v = -1;
    ssize_t n;
    int fd;

    fd = open("/proc/self/io", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    p = strstr(buf, "wchar: ");
    if (p && sscanf(p + 7, "%lld", &v) != 1) v = -1;
    return v;
}

static int helper_action(enum precopy_action a)
{
    switch (a) {
    case PRECOPY_CONTINUE: return XGS_POLICY_CONTINUE_PRECOPY;
    case PRECOPY_STOP: return XGS_POLICY_STOP_AND_COPY;
    case PRECOPY_ABORT: return XGS_POLICY_ABORT;
    }
    return XGS_POLICY_ABORT;
}

/*
 * libxc calls this before each live round with the pages dirty now, and
 * after it with dirty_count -1 and total_written grown by that round
 * (xg_sr_save.c send_memory_live).
 */
static int helper_policy(struct precopy_stats st, void *data)
{
    struct helper *h = data;
    char text[PRECOPY_REPORT_TEXT_MAX];
    struct precopy_report r;
    enum precopy_action a;
    uint64_t pages, bytes;
    long long wchar;
    double now = helper_now();

    if (st.dirty_count >= 0) {
        h->wchar = helper_wchar();
        a = precopy_before(&h->pc, (uint64_t)st.dirty_count, now);
        if (a == PRECOPY_ABORT)
            helper_log(h, XTL_ERROR, -1, "domain %u does not converge, "
                       "precopy aborted before round %u: %s", h->a.domid,
                       h->pc.round,
                       h->pc.last.why[0] ? h->pc.last.why : "time limit");
        return a == PRECOPY_ABORT ? XGS_POLICY_ABORT
                                  : XGS_POLICY_CONTINUE_PRECOPY;
    }
    pages = st.total_written >= h->written ? st.total_written - h->written
                                           : 0;
    h->written = st.total_written;
    bytes = pages * PRECOPY_PAGE_SIZE;
    wchar = helper_wchar();
    if (h->wchar >= 0 && wchar >= h->wchar)
        bytes = (uint64_t)(wchar - h->wchar);
    a = precopy_after(&h->pc, bytes, now, &r);
    helper_throttle(h, r.throttle);
    r.throttle = h->throttle;
    if (!precopy_report_format(&r, text, sizeof(text)))
        helper_report(h, text);
    if (a == PRECOPY_ABORT)
        helper_log(h, XTL_ERROR, -1, "domain %u does not converge, precopy "
                   "aborted after round %u: %s", h->a.domid, r.round, r.why);
    return helper_action(a);
}

/* ---- the end ---- */

/*
 * Tells libxl how the save ended and waits for its answer, as libxl's
 * helper does; the cap is restored first.
 */
static void __attribute__((noreturn))
helper_complete(struct helper *h, int retval, int errnoval)
{
    struct shmsg m = { .type = SHMSG_COMPLETE };

    helper_cap_restore(h, false);
    helper_log(h, XTL_DEBUG, errnoval, "complete r=%d", retval);
    m.u.complete.retval = retval;
    m.u.complete.errnoval = errnoval;
    (void)helper_call(h, &m);
    if (h->xch) xc_interface_close(h->xch);
    exit(0);
}

/* A save that cannot start: the error, then `complete` with -1. */
static void __attribute__((noreturn)) PRINTF_LIKE(3, 4)
helper_fail(struct helper *h, int errnoval, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    helper_vmessage(&h->lg, XTL_ERROR, errnoval, HELPER_NAME, fmt, ap);
    va_end(ap);
    helper_complete(h, -1, errnoval > 0 ? errnoval : EINVAL);
}

/* libxl's end is gone: nobody to tell, but the cap goes back. */
static void helper_die(struct helper *h, int status)
{
    helper_cap_restore(h, true);
    _exit(status);
}

/* Hands the command line, unchanged, to libxl's own helper. */
static void __attribute__((noreturn))
helper_exec_stock(struct helper *h, char **argv)
{
    const char *stock = getenv(SHMSG_STOCK_ENV);
    int e;

    if (!stock || !*stock) stock = XEN_LIBEXEC_BIN "/libxl-save-helper";
    execv(stock, argv);
    e = errno;
    /* Both modes take a log message: say why, then fail. */
    fprintf(stderr, "%s: cannot run libxl's save helper %s: %s\n",
            HELPER_NAME, stock, strerror(e));
    helper_log(h, XTL_ERROR, e, "cannot run libxl's save helper %s",
               stock);
    _exit(HELPER_EXIT_FAIL);
}

/* ---- SIGTERM: libxl aborts the save ---- */

/*
 * As libxl's helper (libxl_save_helper.c): libxc's save runs straight
 * through and must reach its own cleanup, which turns log-dirty mode off.
 * An fd that cannot be written, put where the stream goes, makes its next
 * write fail (and interrupts the one it may be blocked in).
 */
static void helper_on_term(int sig)
{
    int e = errno;

    (void)sig;
    if (dup2(helper_null_fd, helper_io_fd) != helper_io_fd) abort();
    errno = e;
}

static void helper_signals(struct helper *h)
{
    struct sigaction sa;
    sigset_t set;

    helper_io_fd = h->a.io_fd;
    helper_null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (helper_null_fd < 0)
        helper_fail(h, errno, "cannot open /dev/null");
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = helper_on_term;     /* no SA_RESTART: see above */
    sigemptyset(&sa.sa_mask);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    if (sigaction(SIGTERM, &sa, NULL) ||
        sigprocmask(SIG_UNBLOCK, &set, NULL))
        helper_fail(h, errno, "cannot handle SIGTERM");
}

/*
 * A reader gone (libxl's pipe, the stream's socket) is an error to handle,
 * not death: libxc cleans up after a failed write, and the cap goes back.
 */
static void helper_no_sigpipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

/* ---- main ---- */

static int helper_check(void)
{
    printf("%s %s: Xen %d.%d save helper protocol, built with Xen %d.%d\n",
           HELPER_NAME, PACKAGE_VERSION, SHMSG_XEN_MAJOR, SHMSG_XEN_MINOR,
           XEN_BUILD_MAJOR, XEN_BUILD_MINOR);
    return fflush(stdout) ? HELPER_EXIT_FAIL : 0;
}

/*
 * XLMIG_THROTTLE: whether, and from what, the cap may be changed (with
 * a scheduler that has one: helper_sched_find, once libxc is open).
 */
static bool helper_throttle_env(struct helper *h)
{
    const char *env = getenv(SHMSG_THROTTLE_ENV);

    if (!env) return false;
    if (shmsg_throttle_parse(env, &h->vcpus, &h->orig_cap))
        helper_fail(h, EINVAL, "%s is not \"VCPUS ORIGCAP\": \"%.64s\"",
                    SHMSG_THROTTLE_ENV, env);
    return true;
}

int main(int argc, char **argv)
{
    struct helper *h = &helper_state;
    struct save_callbacks cb;
    struct precopy_params p;
    const char *env;
    bool throttle;
    int r, e;

    h->lg.vmessage = helper_vmessage;
    h->lg.progress = helper_progress;
    h->lg.destroy = helper_lg_destroy;
    if (argc == 2 && !strcmp(argv[1], "--check")) return helper_check();
    env = getenv(PRECOPY_ENV);
    /* Only a plain save with xlmig's policy is ours. */
    if (shmsg_save_args_parse(argc, argv, &h->a) || h->a.stream_type ||
        !env)
        helper_exec_stock(h, argv);

    helper_no_sigpipe();
    helper_log(h, XTL_DEBUG, -1, "starting save (xlmig's precopy policy: "
               "%.128s)", env);
    if (precopy_params_parse(env, &p))
        helper_fail(h, EINVAL, "%s is not valid precopy parameters: "
                    "\"%.128s\"", PRECOPY_ENV, env);
    throttle = helper_throttle_env(h);
    helper_signals(h);
    h->xch = xc_interface_open(&h->lg, &h->lg, 0);
    if (!h->xch) helper_fail(h, errno, "xc_interface_open failed");
    if (throttle) h->throttle_ok = helper_sched_find(h);

    memset(&cb, 0, sizeof(cb));
    if (h->a.cbflags & SHMSG_CB(SHMSG_SUSPEND))
        cb.suspend = helper_cb_suspend;
    if (h->a.cbflags & SHMSG_CB(SHMSG_POSTCOPY))
        cb.postcopy = helper_cb_postcopy;
    if (h->a.cbflags & SHMSG_CB(SHMSG_CHECKPOINT))
        cb.checkpoint = helper_cb_checkpoint;
    if (h->a.cbflags & SHMSG_CB(SHMSG_WAIT_CHECKPOINT))
        cb.wait_checkpoint = helper_cb_wait_checkpoint;
    if (h->a.cbflags & SHMSG_CB(SHMSG_SWITCH_QEMU_LOGDIRTY))
        cb.switch_qemu_logdirty = helper_cb_logdirty;
    cb.precopy_policy = helper_policy;
    cb.data = h;

    precopy_init(&h->pc, &p, h->throttle_ok, helper_now());
    r = xc_domain_save(h->xch, h->a.io_fd, h->a.domid, h->a.xcflags, &cb,
                       XC_STREAM_PLAIN, h->a.back_fd);
    e = r ? errno : 0;              /* as libxl's: no stale errno */
    helper_complete(h, r, e);
}
