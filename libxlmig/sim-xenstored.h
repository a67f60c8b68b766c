/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sim-xenstored.h - the xenstored of a sim host: Debian's real C daemon run
 * as a plain process under the xlmig-xsshim LD_PRELOAD shim (no
 * hypervisor), detached so that it outlives the process that started it.
 *
 * Files, all under HOSTDIR/xenstored: socket, pid (the daemon's -F pid
 * file) and log (its stdout and stderr, appended to on each start).
 * The daemon is XLMIG_XENSTORED, else the one scripts/install-deps
 * unpacks into /var/cache/xlmig, else /usr/lib/xen-4.17/bin/xenstored;
 * the shim is XLMIG_XSSHIM, else the installed xlmig-xsshim.so.
 */
#ifndef XLMIG_SIM_XENSTORED_H
#define XLMIG_SIM_XENSTORED_H

#include "internal.h"

/*
 * Starts the daemon for the sim host at hostdir (which must exist) and
 * returns once it answers on its socket, within 10 s. XLMIG_E_EXISTS if
 * one already runs there; XLMIG_E_NOTFOUND if the daemon or the shim is
 * missing. On failure no daemon is left running.
 */
MUST_CHECK int simxs_start(struct xlmig_ctx *ctx, const char *hostdir);
/*
 * Stops that daemon (SIGTERM, SIGKILL after 5 s) and removes its socket
 * and pid file; the log stays. XLMIG_OK if none ran.
 */
MUST_CHECK int simxs_stop(struct xlmig_ctx *ctx, const char *hostdir);
/* Its socket, for XENSTORED_PATH; the caller frees it. */
char *simxs_socket_path(const char *hostdir);

#endif /* XLMIG_SIM_XENSTORED_H */
