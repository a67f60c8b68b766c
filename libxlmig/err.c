/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * err.c - names and phrases for the one xlmig error space (libxlmig.h).
 * Both tables are switches without default so -Wswitch catches a new code.
 */
#include <errno.h>

#include "internal.h"

const char *xlmig_strerror(int rc)
{
    switch ((enum xlmig_err)rc) {
    case XLMIG_OK: return "success";
    case XLMIG_E_INTERNAL: return "internal error";
    case XLMIG_E_INVAL: return "invalid argument";
    case XLMIG_E_SYSTEM: return "system call failed";
    case XLMIG_E_NOTFOUND: return "not found";
    case XLMIG_E_BUSY: return "busy";
    case XLMIG_E_PROTO: return "protocol error";
    case XLMIG_E_TRUNC: return "input truncated";
    case XLMIG_E_TOOBIG: return "length over limit";
    case XLMIG_E_PEER: return "peer failed or hung up";
    case XLMIG_E_PREFLIGHT: return "pre-flight check failed";
    case XLMIG_E_CANCELLED: return "cancelled";
    case XLMIG_E_TIMEDOUT: return "timed out";
    case XLMIG_E_HV: return "hypervisor operation failed";
    case XLMIG_E_XS: return "xenstore operation failed";
    case XLMIG_E_STORAGE: return "storage operation failed";
    case XLMIG_E_UNSAFE: return "domain ownership unknown";
    case XLMIG_E_EXISTS: return "already exists";
    case XLMIG_E_NOSPACE: return "no space left";
    case XLMIG_E_AUTH: return "authentication failed";
    case XLMIG_E_CONVERGE: return "the guest does not converge";
    }
    return "unknown error";
}

const char *xlmig_errname(int rc)
{
    switch ((enum xlmig_err)rc) {
    case XLMIG_OK: return "OK";
    case XLMIG_E_INTERNAL: return "E_INTERNAL";
    case XLMIG_E_INVAL: return "E_INVAL";
    case XLMIG_E_SYSTEM: return "E_SYSTEM";
    case XLMIG_E_NOTFOUND: return "E_NOTFOUND";
    case XLMIG_E_BUSY: return "E_BUSY";
    case XLMIG_E_PROTO: return "E_PROTO";
    case XLMIG_E_TRUNC: return "E_TRUNC";
    case XLMIG_E_TOOBIG: return "E_TOOBIG";
    case XLMIG_E_PEER: return "E_PEER";
    case XLMIG_E_PREFLIGHT: return "E_PREFLIGHT";
    case XLMIG_E_CANCELLED: return "E_CANCELLED";
    case XLMIG_E_TIMEDOUT: return "E_TIMEDOUT";
    case XLMIG_E_HV: return "E_HV";
    case XLMIG_E_XS: return "E_XS";
    case XLMIG_E_STORAGE: return "E_STORAGE";
    case XLMIG_E_UNSAFE: return "E_UNSAFE";
    case XLMIG_E_EXISTS: return "E_EXISTS";
    case XLMIG_E_NOSPACE: return "E_NOSPACE";
    case XLMIG_E_AUTH: return "E_AUTH";
    case XLMIG_E_CONVERGE: return "E_CONVERGE";
    }
    return "E_UNKNOWN";
}

int err_from_errno(int errnoval)
{
    switch (errnoval) {
    case ENOENT: return XLMIG_E_NOTFOUND;
    case EPIPE: case ECONNRESET: return XLMIG_E_PEER;
    case ETIMEDOUT: return XLMIG_E_TIMEDOUT;
    case EINVAL: return XLMIG_E_INVAL;
    case EBUSY: case EAGAIN: return XLMIG_E_BUSY;
    case EEXIST: return XLMIG_E_EXISTS;
    case ENOSPC: case EDQUOT: return XLMIG_E_NOSPACE;
    default: return XLMIG_E_SYSTEM;
    }
}
