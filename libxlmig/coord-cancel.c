/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * coord-cancel.c - the fds that tell a job it was asked to cancel: a
 * thread with its own xenstore handle watches job/<id>/cancel of each job
 * asked for and makes that job's pipe readable, for good, once the node
 * is non-empty. Requests are made by coord_request_cancel (coord.c).
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coord-priv.h"

/* With c->lock held: fires the watcher of id if job/<id>/cancel is set
 * (re-read on every event: the initial and spurious ones too). */
static void coord_cancel_check(struct coord *c, const char *id)
{
    struct coord_watcher *cw = NULL;
    char path[COORD_PATH_MAX], *v;
    unsigned int len;
    size_t i;

    for (i = 0; i < c->nw && !cw; i++)
        if (!strcmp(c->w[i]->id, id)) cw = c->w[i];
    if (!cw || cw->fired) return;
    coord_path(path, COORD_ROOT "/job/%s/cancel", id);
    v = xs_read(c->wxs, XBT_NULL, path, &len);
    if (v && len > 0) {
        if (write(cw->pipe[1], "x", 1) == 1)
            cw->fired = true;
        else
            LOGE(c->ctx, ERROR, "job %s: signal the cancel fd", id);
    }
    free(v);
}

static void *coord_cancel_main(void *arg)
{
    struct coord *c = arg;
    struct pollfd p[2];
    char **ev;
    int r;

    p[0].fd = xs_fileno(c->wxs);
    p[0].events = POLLIN;
    p[1].fd = c->stop[0];
    p[1].events = POLLIN;
    for (;;) {
        r = poll(p, ARRAY_SIZE(p), -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            LOGE(c->ctx, ERROR, "poll in the cancel watch thread");
            break;
        }
        if (p[1].revents) break;
        pthread_mutex_lock(&c->lock);
        while ((ev = xs_check_watch(c->wxs))) {
            coord_cancel_check(c, ev[XS_WATCH_TOKEN]);
            free(ev);
        }
        pthread_mutex_unlock(&c->lock);
    }
    return NULL;
}

/* With c->lock held: the thread and its handle, if not yet there. */
static int coord_cancel_start(struct coord *c)
{
    sigset_t all, old;
    int r;

    if (c->thread_on) return XLMIG_OK;
    if (!c->wxs) c->wxs = xs_open(0);
    if (!c->wxs) {
        LOGE(c->ctx, ERROR, "cannot connect to xenstored for cancel "
             "watches");
        return XLMIG_E_XS;
    }
    if (xs_fileno(c->wxs) < 0) {
        LOGE(c->ctx, ERROR, "xenstore watch fd");
        return XLMIG_E_XS;
    }
    if (c->stop[0] < 0 && fdio_pipe(c->ctx, c->stop)) return XLMIG_E_SYSTEM;
    /* Signals stay with the caller's threads. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&c->thread, NULL, coord_cancel_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r) {
        LOGEV(c->ctx, ERROR, r, "start the cancel watch thread");
        return XLMIG_E_SYSTEM;
    }
    c->thread_on = true;
    return XLMIG_OK;
}

void coord_cancel_stop(struct coord *c)
{
    size_t i;

    if (c->thread_on) {
        /* The thread sees the hang-up of its stop pipe. */
        fdio_close(&c->stop[1]);
        pthread_join(c->thread, NULL);
        c->thread_on = false;
    }
    if (c->wxs) xs_close(c->wxs);
    c->wxs = NULL;
    fdio_close_pair(c->stop);
    for (i = 0; i < c->nw; i++) {
        fdio_close_pair(c->w[i]->pipe);
        free(c->w[i]);
    }
    free(c->w);
    c->w = NULL;
    c->nw = 0;
}

int coord_cancel_fd(struct coord *c, const char *id, int *fd_r)
{
    struct coord_watcher *cw = NULL;
    char path[COORD_PATH_MAX];
    size_t i;
    int rc;

    *fd_r = -1;
    rc = coord_check_id(c, id);
    if (rc) return rc;
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->nw; i++) {
        if (!strcmp(c->w[i]->id, id)) {
            *fd_r = c->w[i]->pipe[0];
            goto out;
        }
    }
    rc = coord_cancel_start(c);
    if (rc) goto out;
    cw = xcalloc(1, sizeof(*cw));
    snprintf(cw->id, sizeof(cw->id), "%s", id);
    if (fdio_pipe(c->ctx, cw->pipe)) {
        free(cw);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    /* Listed before the watch: its first event may come at once. */
    c->w = xrealloc(c->w, (c->nw + 1) * sizeof(*c->w));
    c->w[c->nw++] = cw;
    coord_path(path, COORD_ROOT "/job/%s/cancel", id);
    if (!xs_watch(c->wxs, path, id)) {
        LOGE(c->ctx, ERROR, "xenstore watch %s", path);
        fdio_close_pair(cw->pipe);
        free(cw);
        c->nw--;
        rc = XLMIG_E_XS;
        goto out;
    }
    *fd_r = cw->pipe[0];
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}
