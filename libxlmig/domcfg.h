/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domcfg.h - what pre-flight checks need to know of a domain, read from
 * its libxl JSON config (libxl_domain_config_to_json, which is also what
 * xl and xlmig send on the wire and what `xl list -l` prints inside each
 * element's "config"). Untrusted input: every field is checked for type
 * and bounds; absent fields mean libxl's default.
 */
#ifndef XLMIG_DOMCFG_H
#define XLMIG_DOMCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

enum domcfg_type { DOMCFG_PV, DOMCFG_PVH, DOMCFG_HVM };

/* A libxl_defbool: "<default>" (or absent), "False", "True". */
enum domcfg_bool { DOMCFG_DEFAULT, DOMCFG_FALSE, DOMCFG_TRUE };

struct domcfg_disk {
    char *pdev_path;            /* NULL: empty (a CD-ROM drive); also "" */
    char *vdev;                 /* "xvda" */
    char *backend;              /* "phy", "qdisk", "tap", ...; NULL: unknown */
    char *format;               /* "raw", "qcow2", "empty"...; NULL: unknown */
    char *script;               /* hotplug script; NULL: none */
    char *backend_domname;      /* driver domain; NULL: dom0 */
    bool readwrite, is_cdrom;
};

struct domcfg_nic {
    unsigned devid;             /* absent or -1: its index, as libxl numbers */
    char *bridge;               /* NULL: libxl's default, "xenbr0" */
    char *script;               /* NULL: "vif-bridge" */
    char *mac;
    char *ip;                   /* space-separated addresses; NULL: none */
    char *backend_domname;      /* NULL: dom0 */
};

/* A vCPU's affinity: the CPU numbers listed in its libxl_bitmap. */
struct domcfg_cpumap {
    unsigned *cpus;
    size_t n;
};

struct domcfg {
    char *name;
    char uuid[37];              /* "" if absent */
    enum domcfg_type type;
    enum domcfg_bool hap;       /* c_info.hap */
    char *pool_name;            /* NULL: Pool-0 */
    uint64_t max_memkb, target_memkb;   /* absent: 32768, and max_memkb */
    unsigned max_vcpus;                 /* absent or 0: 1 */
    struct domcfg_cpumap *hard_affinity;    /* one per listed vCPU */
    size_t n_hard;
    struct domcfg_cpumap *soft_affinity;
    size_t n_soft;
    bool disable_migrate;       /* b_info.disable_migrate is True */
    bool stubdom;               /* b_info.device_model_stubdomain True */
    char *tsc_mode;             /* "native", ...; NULL: "default" */
    size_t n_vnuma_nodes;
    char **pci;                 /* "0000:03:00.0" per pcidevs entry */
    size_t n_pci;
    size_t n_dtdevs, n_usbctrls, n_usbdevs, n_vtpms;
    struct domcfg_disk *disks;
    size_t n_disks;
    struct domcfg_nic *nics;
    size_t n_nics;
};

/*
 * Parses a libxl JSON domain config into c (which the caller zeroes). Also
 * accepts one `xl list -l` element ({"domid": N, "config": {...}}) or an
 * array holding exactly one. On failure returns XLMIG_E_INVAL and *why_r
 * (allocated, one line) names the field; c is then disposed of. On
 * success *why_r is NULL. Pure: no I/O, no context, so it can be fuzzed.
 */
MUST_CHECK int domcfg_parse(const char *json, struct domcfg *c,
                            char **why_r);
void domcfg_dispose(struct domcfg *c);

/* Whether s is a uuid as text: 8-4-4-4-12 hex digits, either case. */
bool domcfg_uuid_ok(const char *s);

/* "pv", "pvh", "hvm" */
const char *domcfg_type_name(enum domcfg_type t);

#endif /* XLMIG_DOMCFG_H */
