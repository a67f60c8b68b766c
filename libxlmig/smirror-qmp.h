/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * smirror-qmp.h - the QMP mover with the one thing that differs between
 * a Xen host and a QEMU without Xen (the unit test, a sim host's disk,
 * the benchmark) made a parameter: the QOM property that names a disk.
 * xen-block's "vdev" reads "xvdb0" for disk xvdb; without a Xen bus a
 * virtio-blk disk gets the serial "xvdb0" and "serial" is passed. Everything else (the walk of query-block,
 * the node found there, every command) is the code a Xen host runs. The
 * smirror_qmp_* functions of smirror.h are these with prop "vdev".
 */
#ifndef XLMIG_SMIRROR_QMP_H
#define XLMIG_SMIRROR_QMP_H

#include "smirror.h"

#define SMIRROR_QMP_PROP "vdev"     /* xen-block's */

MUST_CHECK int smirror_qmp_start_prop(struct xlmig_ctx *ctx,
                                      const char *sock, const char *vdev,
                                      const char *prop, const char *target,
                                      const char *fmt, uint64_t bandwidth,
                                      struct smirror **m_r);
MUST_CHECK int smirror_qmp_where_prop(struct xlmig_ctx *ctx,
                                      const char *sock, const char *vdev,
                                      const char *prop, const char *source,
                                      const char *target,
                                      enum smirror_where *where_r);
MUST_CHECK int smirror_qmp_abort_prop(struct xlmig_ctx *ctx,
                                      const char *sock, const char *vdev,
                                      const char *prop);

#endif /* XLMIG_SMIRROR_QMP_H */
