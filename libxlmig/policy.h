/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy.h - the receiver's incoming policy: what a domain arriving from
 * another host (an xlmig or a stock xl sender alike) may take of this
 * host, decided on its config before anything is created. The sender is
 * hostile until checked: it may name dom0's own disks or any file, run
 * any program as a hotplug script or bootloader, hand PCI devices, I/O
 * memory, ports and interrupts to the guest, pass options to the device
 * model, or pick a name that becomes a path. Every field of the config
 * must be one the policy knows and accepts; it never edits one (the
 * memory stream depends on them): it accepts the config as sent or
 * refuses it, naming the field and the rule. Set in /etc/xen/xlmig.conf
 * (docs/xlmig.conf.5).
 *
 * policy.c: settings, the walk over the config and the rules for each
 * field; policy-path.c: where files may be (disks, boot files, scripts),
 * symlinks, LVM volumes and qcow2 backing files.
 */
#ifndef XLMIG_POLICY_H
#define XLMIG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv.h"
#include "internal.h"

/* What incoming_allow may name: refused unless listed. */
enum policy_allow {
    POLICY_ALLOW_PCI = 1u << 0,          /* pcidevs, rdms, dtdevs, e820_host,
                                           gfx_passthru, passthrough */
    POLICY_ALLOW_IOMEM = 1u << 1,
    POLICY_ALLOW_IOPORTS = 1u << 2,
    POLICY_ALLOW_IRQS = 1u << 3,
    POLICY_ALLOW_DEVICE_MODEL = 1u << 4, /* device_model, extra*, _user,
                                           stubdomain_* */
    POLICY_ALLOW_USB = 1u << 5,          /* usbdevs, usbdevice host: */
    POLICY_ALLOW_P9 = 1u << 6,           /* p9s: dom0 directories */
    POLICY_ALLOW_VTPM = 1u << 7,
    POLICY_ALLOW_PVCALLS = 1u << 8,
    POLICY_ALLOW_CHANNELS = 1u << 9,     /* channels on dom0 sockets */
    POLICY_ALLOW_HOST_SERIAL = 1u << 10, /* serial= files, devices, net */
    POLICY_ALLOW_LOCAL_DISPLAY = 1u << 11,   /* sdl on dom0's X */
    POLICY_ALLOW_DRIVER_DOMAINS = 1u << 12,  /* backends not in dom0 */
    POLICY_ALLOW_VIRTIO = 1u << 13,
    POLICY_ALLOW_COLO = 1u << 14,
    POLICY_ALLOW_SECURITY_LABELS = 1u << 15, /* XSM ssidref, labels */
    POLICY_ALLOW_BOOTLOADER_ARGS = 1u << 16,
    POLICY_ALLOW_TEE = 1u << 17,
};

struct policy {
    char **disk_paths;          /* directories (or /dev paths) of disks */
    size_t n_disk_paths;
    char **disk_vgs;            /* LVM volume groups of phy disks */
    size_t n_disk_vgs;
    char **boot_paths;          /* directories of kernels, ramdisks... */
    size_t n_boot_paths;
    char **bootloaders;         /* exactly as the config names them */
    size_t n_bootloaders;
    char **scripts;             /* hotplug scripts outside script_dir */
    size_t n_scripts;
    char **bridges;             /* if set: only these */
    size_t n_bridges;
    bool bridges_set;
    unsigned allow;             /* POLICY_ALLOW_* */
    uint64_t max_memkb;         /* 0: the host's memory */
    unsigned max_vcpus;
    unsigned max_weight;        /* scheduler weight */
    bool require_xlmig;         /* refuse stock xl senders */
    bool require_encrypt;       /* a data connection must be encrypted */
    const char *script_dir;     /* where relative script names live */
    const char *qemu_img;       /* the program that reads image headers */
    const char *root;           /* tests: prefix of every file looked at */
};

/* The defaults (documented in xlmig.conf(5)). */
void policy_init(struct policy *p);
void policy_dispose(struct policy *p);
/*
 * The defaults, then what /etc/xen/xlmig.conf says. A file that cannot
 * be read, or a setting that is wrong, is XLMIG_E_INVAL with *cause_r
 * (allocated): the caller must take no domain then.
 */
MUST_CHECK int policy_load(struct xlmig_ctx *ctx, struct policy *p,
                           char **cause_r);

/* What a check found: one line per field refused, "FIELD: RULE",
 * printable (control characters escaped), POLICY_REFUSAL_MAX bytes at
 * most. */
#define POLICY_REFUSAL_MAX 1024
struct policy_report {
    char **v;
    size_t n;
};
void policy_report_dispose(struct policy_report *rep);

/*
 * Checks a domain config (libxl JSON, as hv_config_canonical() gives it)
 * against p on this host (hv: bridges, PCI devices, memory). Every field
 * refused adds a line to rep (zeroed on entry). Returns XLMIG_OK when the
 * check ran, whatever it found.
 */
MUST_CHECK int policy_check(struct xlmig_ctx *ctx, struct hv *hv,
                            const struct policy *p, const char *json,
                            struct policy_report *rep);

/*
 * Whether name is one the policy takes: 1..64 of A-Z a-z 0-9 _ . + -,
 * starting with a letter or digit, not all digits (xl would take it for
 * a domid), not ending in --incoming or --migratedaway. Such a name is
 * safe in a file name and a shell word.
 */
bool policy_name_ok(const char *name);
/* The incoming_allow word of a POLICY_ALLOW_* bit. */
const char *policy_allow_name(unsigned bit);

#endif /* XLMIG_POLICY_H */
