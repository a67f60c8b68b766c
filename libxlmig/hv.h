/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv.h - the hypervisor backend interface. Everything above it (jobs,
 * protocol, pump) is the same for every backend; everything below it knows
 * nothing about jobs. Backends: "libxl" (hv-libxl.c, real Xen) and "sim"
 * (hv-sim*.c, simulated hosts for tests and benchmarks).
 *
 * Domain configurations cross this interface as libxl JSON strings (the
 * output of libxl_domain_config_to_json), which is also what travels on
 * the wire in xl's protocol.
 */
#ifndef XLMIG_HV_H
#define XLMIG_HV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "precopy.h"

#define HV_INVALID_DOMID 0x7ff4u    /* as libxl's INVALID_DOMID */

enum hv_shutdown_reason {
    HV_SHUTDOWN_POWEROFF,
    HV_SHUTDOWN_REBOOT,
    HV_SHUTDOWN_SUSPEND,
    HV_SHUTDOWN_CRASH,
    HV_SHUTDOWN_WATCHDOG,
    HV_SHUTDOWN_SOFT_RESET,
    HV_SHUTDOWN_UNKNOWN,
};

struct hv_dominfo {
    uint32_t domid;
    uint8_t uuid[16];
    bool running, blocked, paused, shutdown, dying;
    enum hv_shutdown_reason shutdown_reason;    /* valid if shutdown */
    uint64_t current_memkb, max_memkb;
    uint64_t outstanding_memkb;     /* claimed, not yet populated */
    uint64_t cpu_time_ns;           /* 0: unknown (sim) */
};

/* One domain of a host listing. */
struct hv_domain {
    uint32_t domid;
    char *name;
    unsigned vcpus;
    struct hv_dominfo info;
};

/* What the backend reports while a save runs. */
enum hv_progress_kind {
    HV_PROGRESS_ROUND,          /* libxc sent done/total of this round */
    HV_PROGRESS_SUSPENDING,     /* the guest is asked to suspend now */
    HV_PROGRESS_SUSPENDED,      /* the guest is now suspended */
};

/*
 * How a long operation (save, restore, monitor) is watched: it stops with
 * XLMIG_E_CANCELLED soon after any of abort_fds becomes readable, and calls
 * tick() about once a second from the operation's own thread.
 */
#define HV_WAIT_FDS 3
struct hv_wait {
    int abort_fds[HV_WAIT_FDS];     /* -1: unused slot */
    void (*tick)(void *arg);
    void (*progress)(void *arg, enum hv_progress_kind kind,
                     unsigned long done, unsigned long total);
    /*
     * Monitor: asked before a domain is created again from its config
     * (JSON) on reboot; anything but XLMIG_OK leaves it destroyed (a
     * restart uses the kernel, ramdisk and disks the config names, which
     * may have changed since they were checked). NULL: always.
     */
    int (*restart_ok)(void *arg, const char *json);
    /*
     * Save: xlmig's precopy policy (precopy.h) with these params; NULL
     * leaves the backend's own (libxc's simple policy). precopy_round is
     * called after every live round with the policy's report (may be
     * NULL). throttle_vcpus: the domain's vCPUs, and orig_cap its
     * scheduler cap before the save (hv_sched_cap_get), when the policy
     * may cap them (converge=throttle, the cap journaled); 0: it may not.
     */
    const struct precopy_params *precopy;
    void (*precopy_round)(void *arg, const struct precopy_report *r);
    unsigned throttle_vcpus;
    unsigned orig_cap;
    void *arg;
};

/* Flags of hv_save(). */
#define HV_SAVE_LIVE    (1u << 0)
#define HV_SAVE_DEBUG   (1u << 1)

/* Flags of hv_config_get(). */
#define HV_CONFIG_PRESERVE_DOMID (1u << 0)

/* Words of a CPU featureset (Xen's, xen/arch-x86/cpufeatureset.h). */
#define HV_FEATURESET_WORDS 32

/*
 * What a host offers to an incoming domain (pre-flight checks). Memory is
 * in KiB. Featuresets are the most a PV or HVM/PVH guest may see here
 * (XEN_SYSCTL_cpu_featureset_{pv,hvm}_max); nr_features words are valid.
 */
struct hv_host_facts {
    unsigned xen_major, xen_minor;
    char xen_version[32];           /* "4.17.5" */
    bool cap_pv, cap_hvm, cap_hap, cap_shadow;
    unsigned nr_cpus;               /* CPUs 0..nr_cpus-1 exist */
    unsigned nr_nodes;
    uint64_t total_kb;              /* the host's memory */
    uint64_t free_kb;               /* free + scrub, as libxl counts */
    uint64_t claimed_kb;            /* outstanding claims */
    uint64_t dom0_kb;               /* dom0's current memory */
    uint64_t dom0_min_kb;           /* as low as autoballoon may take it */
    bool autoballoon;               /* dom0 balloons down for new domains */
    unsigned nr_features;
    uint32_t featureset_pv[HV_FEATURESET_WORDS];
    uint32_t featureset_hvm[HV_FEATURESET_WORDS];
};

/* What a running domain needs of its next host (source side). */
struct hv_domain_facts {
    unsigned nr_features;
    uint32_t featureset[HV_FEATURESET_WORDS];   /* the guest's CPUID */
    bool suspend_feature;           /* control/feature-suspend is 1 */
};

/*
 * xlmig's QMP monitor of domain NAME's QEMU, the argument of "-qmp" in
 * its device_model_args_pv/_hvm (xlmig disk-prepare writes it; a
 * receiver's incoming policy lets exactly this through).
 */
#define HV_QMP_ARG_FMT "unix:/run/xen/xlmig-qmp-%s.sock,server=on,wait=off"

/* How a running domain's disk can be moved live (smirror.h). */
enum hv_disk_mover {
    HV_DISK_MOVER_NONE,             /* not live: why says what it is */
    HV_DISK_MOVER_QMP,              /* qdisk, with a QMP monitor of ours */
    HV_DISK_MOVER_DM,               /* blkback on block-xlmig's dm device */
};
struct hv_disk_live {
    enum hv_disk_mover mover;
    char handle[256];               /* QMP: the monitor's socket path;
                                       DM: the dm device's name */
    char prop[16];                  /* QMP: the QOM property naming the
                                       disk's device ("vdev": xen-block's;
                                       a sim host's QEMU: "serial") */
    char why[256];                  /* NONE: one line, for the refusal */
};

struct hv;

struct hv_ops {
    const char *name;
    int (*open)(struct xlmig_ctx *ctx, struct hv **hv_r);
    void (*close)(struct hv *hv);

    int (*lookup)(struct hv *hv, const char *name_or_id, uint32_t *domid_r);
    int (*domain_name)(struct hv *hv, uint32_t domid, char **name_r);
    int (*domain_info)(struct hv *hv, uint32_t domid,
                       struct hv_dominfo *info_r);

    int (*config_get)(struct hv *hv, uint32_t domid, unsigned flags,
                      char **json_r);
    int (*config_load)(struct hv *hv, const char *path, unsigned flags,
                       char **json_r);
    int (*config_canonical)(struct hv *hv, const char *json,
                            char **json_r);

    int (*save)(struct hv *hv, uint32_t domid, int fd, unsigned flags,
                const struct hv_wait *w);
    int (*restore)(struct hv *hv, const char *json, const char *name,
                   int fd, const struct hv_wait *w, uint32_t *domid_r);
    int (*resume)(struct hv *hv, uint32_t domid);
    int (*rename)(struct hv *hv, uint32_t domid, const char *old_name,
                  const char *new_name);
    int (*pause)(struct hv *hv, uint32_t domid);
    int (*unpause)(struct hv *hv, uint32_t domid);
    int (*destroy)(struct hv *hv, uint32_t domid);
    int (*monitor)(struct hv *hv, uint32_t domid, const struct hv_wait *w);
    int (*list)(struct hv *hv, struct hv_domain **list_r, size_t *n_r);

    int (*host_facts)(struct hv *hv, struct hv_host_facts *f);
    int (*domain_facts)(struct hv *hv, uint32_t domid,
                        struct hv_domain_facts *f);
    int (*need_memory)(struct hv *hv, const char *json, uint64_t *kb_r);
    int (*have_bridge)(struct hv *hv, const char *bridge, bool *yes_r);
    int (*have_script)(struct hv *hv, const char *script, bool *yes_r);
    int (*have_cpupool)(struct hv *hv, const char *pool, bool *yes_r);
    int (*pci_assignable)(struct hv *hv, const char *bdf, bool *yes_r);
    int (*disk_live)(struct hv *hv, uint32_t domid, const char *vdev,
                     struct hv_disk_live *d);
    int (*sched_cap_get)(struct hv *hv, uint32_t domid, bool *capable_r,
                         unsigned *cap_r, unsigned *vcpus_r);
    int (*sched_cap_set)(struct hv *hv, uint32_t domid, unsigned cap);
};

/* Every backend begins with this. */
struct hv {
    const struct hv_ops *ops;
    struct xlmig_ctx *ctx;
};

/* hv.c */
const struct hv_ops *hv_find_ops(const char *name);
MUST_CHECK int hv_open(struct xlmig_ctx *ctx, const char *name,
                       struct hv **hv_r);
void hv_close(struct hv *hv);       /* NULL is fine */
void hv_wait_init(struct hv_wait *w);

/*
 * Finds a domain by name or numeric domid: XLMIG_E_NOTFOUND if none.
 */
MUST_CHECK int hv_lookup(struct hv *hv, const char *name_or_id,
                         uint32_t *domid_r);
/* Name of a domain; *name_r is allocated. */
MUST_CHECK int hv_domain_name(struct hv *hv, uint32_t domid, char **name_r);
/* XLMIG_E_NOTFOUND if the domain does not exist. */
MUST_CHECK int hv_domain_info(struct hv *hv, uint32_t domid,
                              struct hv_dominfo *info_r);
/* true if a domain of that name exists (lookup errors count as false). */
bool hv_name_in_use(struct hv *hv, const char *name);

/* The running domain's config as JSON, c_info.domid zeroed unless flags. */
MUST_CHECK int hv_config_get(struct hv *hv, uint32_t domid, unsigned flags,
                             char **json_r);
/* A config file (libxl JSON, or xl.cfg syntax) as JSON, domid as above. */
MUST_CHECK int hv_config_load(struct hv *hv, const char *path,
                              unsigned flags, char **json_r);
/*
 * A config as this backend reads it, written out again (allocated):
 * libxl parses it and generates its JSON, so what libxl does not know and
 * keys given twice are gone. The receiver checks and restores this form,
 * so what is checked is what is created. XLMIG_E_INVAL if the backend
 * refuses the config.
 */
MUST_CHECK int hv_config_canonical(struct hv *hv, const char *json,
                                   char **json_r);

/*
 * Writes the domain's libxl stream to fd. On success the domain stays
 * suspended. On failure it may be running or suspended: check
 * hv_domain_info() (see hv_resume_if_suspended()).
 */
MUST_CHECK int hv_save(struct hv *hv, uint32_t domid, int fd, unsigned flags,
                       const struct hv_wait *w);
/*
 * Creates a domain from json, named name, from the libxl stream on fd; the
 * domain is left paused. On failure nothing of it is left.
 */
MUST_CHECK int hv_restore(struct hv *hv, const char *json, const char *name,
                          int fd, const struct hv_wait *w,
                          uint32_t *domid_r);
/*
 * Resumes the domain only if it is shut down for suspend (a cooperative
 * resume); a running domain is left alone. *resumed_r says which.
 */
MUST_CHECK int hv_resume_if_suspended(struct hv *hv, uint32_t domid,
                                      bool *resumed_r);
/* Renames old_name -> new_name atomically (fails if the name changed). */
MUST_CHECK int hv_rename(struct hv *hv, uint32_t domid, const char *old_name,
                         const char *new_name);
MUST_CHECK int hv_pause(struct hv *hv, uint32_t domid);
MUST_CHECK int hv_unpause(struct hv *hv, uint32_t domid);
MUST_CHECK int hv_destroy(struct hv *hv, uint32_t domid);
/* Runs the domain's lifecycle actions until it is gone (see xlmig_monitor). */
MUST_CHECK int hv_monitor(struct hv *hv, uint32_t domid,
                          const struct hv_wait *w);

/* Every domain of the host, by ascending domid. */
MUST_CHECK int hv_list(struct hv *hv, struct hv_domain **list_r,
                       size_t *n_r);
void hv_list_free(struct hv_domain *list, size_t n);

/* Pre-flight facts of this host (see struct hv_host_facts). */
MUST_CHECK int hv_host_facts(struct hv *hv, struct hv_host_facts *f);
/* Pre-flight facts of a running domain. */
MUST_CHECK int hv_domain_facts(struct hv *hv, uint32_t domid,
                               struct hv_domain_facts *f);
/*
 * Memory a domain of this config needs to be created here, in KiB, as
 * libxl_domain_need_memory() counts it (overheads included).
 */
MUST_CHECK int hv_need_memory(struct hv *hv, const char *json,
                              uint64_t *kb_r);
/* Whether a vif could attach to bridge here (vif-bridge's view). */
MUST_CHECK int hv_have_bridge(struct hv *hv, const char *bridge,
                              bool *yes_r);
/* Whether a hotplug script (a name in /etc/xen/scripts, or a path) runs. */
MUST_CHECK int hv_have_script(struct hv *hv, const char *script,
                              bool *yes_r);
/* Whether a cpupool of that name exists here. */
MUST_CHECK int hv_have_cpupool(struct hv *hv, const char *pool,
                               bool *yes_r);
/* Whether the PCI device "SSSS:BB:DD.F" may be given to a guest here
 * (xl pci-assignable-list). */
MUST_CHECK int hv_pci_assignable(struct hv *hv, const char *bdf,
                                 bool *yes_r);
/*
 * How disk vdev of running domain domid is attached, as far as a live
 * move cares: by the domain's QEMU with a QMP monitor of ours (-qmp
 * unix:PATH on its command line), by blkback on the dm device of
 * block-xlmig, or neither (why). XLMIG_E_NOTFOUND if the domain has no
 * such disk.
 */
MUST_CHECK int hv_disk_live(struct hv *hv, uint32_t domid, const char *vdev,
                            struct hv_disk_live *d);

/*
 * The scheduler cap of a domain (Xen's: % of one CPU, 0 for none) and its
 * vCPUs; *capable_r false where its scheduler has no cap (null, RTDS),
 * *cap_r then 0; set fails there with XLMIG_E_HV.
 */
MUST_CHECK int hv_sched_cap_get(struct hv *hv, uint32_t domid,
                                bool *capable_r, unsigned *cap_r,
                                unsigned *vcpus_r);
MUST_CHECK int hv_sched_cap_set(struct hv *hv, uint32_t domid, unsigned cap);
/*
 * After a throttle: the domain's cap put back to cap where it is not.
 * *was_r is the cap it had (cap itself where its scheduler has none), or
 * HV_CAP_UNKNOWN where it could not be read (nothing set then).
 */
#define HV_CAP_UNKNOWN UINT_MAX
MUST_CHECK int hv_sched_cap_restore(struct hv *hv, uint32_t domid,
                                    unsigned cap, unsigned *was_r);

/* A uuid as text, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
#define HV_UUID_STR_LEN 37
void hv_uuid_str(const uint8_t u[16], char out[HV_UUID_STR_LEN]);

/* domain.c: looks a domain up (logging a miss) and opens the backend. */
MUST_CHECK int domain_open(struct xlmig_ctx *ctx, const char *domain,
                           struct hv **hv_r, uint32_t *domid_r);

/* The backends. */
extern const struct hv_ops hv_libxl_ops;
extern const struct hv_ops hv_sim_ops;

#endif /* XLMIG_HV_H */
