/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-sim.h - the simulated-host backend (DESIGN.md "Backends"), shared by
 * its files: hv-sim.c (domains: create, state, xenstore, lifecycle),
 * hv-sim-stream.c (save and restore as real libxl/libxc streams) and
 * hv-sim-config.c (libxl-shaped config JSON).
 *
 * A sim host is a directory with its own real xenstored (sim-xenstored.c):
 *
 *   DIR/xenstored/     the daemon's socket, pid file and log
 *   DIR/lock           flock()ed while domains are created or destroyed
 *   DIR/next-domid     the next domid to try
 *   DIR/dom/ID/        one domain ("the hypervisor's view"):
 *       config.json    its libxl domain config (name as created)
 *       mem            its memory image (sim-image.h)
 *       dirty          its dirty map (sim-image.h)
 *       state          "paused=0 pid=N start=T": the guest process, if any
 *
 * Names, uuids and /vm live in the host's xenstore under /local/domain/ID
 * as libxl keeps them, so lookups and renames behave as on Xen. A domain
 * exists while DIR/dom/ID exists. Its guest process (xlmig-simguest) runs
 * while the domain runs; a guest that exited left its reason in the
 * image header, and the domain then counts as shut down for that reason.
 */
#ifndef XLMIG_HV_SIM_H
#define XLMIG_HV_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hv.h"
#include "sim-image.h"

struct xs_handle;

struct hv_sim {
    struct hv base;
    char *dir;                  /* the host directory */
    char *simguest;             /* path of xlmig-simguest */
    struct xs_handle *xs;
};

/* What DIR/dom/ID/state says. */
struct sim_state {
    bool paused;
    pid_t pid;                  /* 0: no guest process was started */
    unsigned long long start;   /* its start time (/proc/PID/stat) */
};

/* The parts of a config the sim uses. */
struct sim_config {
    char *name;
    char *uuid;                 /* "xxxxxxxx-xxxx-..." */
    uint32_t guest_type;        /* STREAM_DHDR_TYPE_* */
    char type[8];               /* "pv", "pvh", "hvm" */
    uint64_t max_memkb;
    unsigned vcpus;
    char on_poweroff[24], on_reboot[24], on_crash[24];
};

static inline struct hv_sim *hv_sim_of(struct hv *hv)
{
    return (struct hv_sim *)hv;
}

/* hv-sim.c */
char *hv_sim_path(const struct hv_sim *s, uint32_t domid, const char *file);
MUST_CHECK int hv_sim_state_read(struct hv_sim *s, uint32_t domid,
                                 struct sim_state *st);
MUST_CHECK int hv_sim_state_write(struct hv_sim *s, uint32_t domid,
                                  const struct sim_state *st);
/* true if st's guest process is alive (not a zombie, same start time). */
bool hv_sim_guest_alive(const struct sim_state *st);
/*
 * Makes a domain (paused, no guest) named name from a config: its
 * directory, an empty memory image of the config's size, xenstore
 * entries. XLMIG_E_EXISTS if the name is taken.
 */
MUST_CHECK int hv_sim_domain_make(struct hv_sim *s, const char *json,
                                  const char *name, uint32_t *domid_r);
/* Asks the running guest to stop for reason and waits until it has. */
MUST_CHECK int hv_sim_guest_stop(struct hv_sim *s, uint32_t domid,
                                 enum sim_reason reason);
/* Maps the domain's memory image; *pages_r pages. */
MUST_CHECK int hv_sim_map(struct hv_sim *s, uint32_t domid, const char *file,
                          bool writable, void **p_r, size_t *len_r);
/* Copies the image of a domain about to be suspended for tests. */
void hv_sim_freeze_copy(struct hv_sim *s, uint32_t domid, const char *name);

/* Kills every guest of the host at dir and removes its domains (no
 * xenstore needed: the host is going away). */
MUST_CHECK int hv_sim_host_wipe(struct xlmig_ctx *ctx, const char *dir);

/* hv-sim-config.c */
#define SIM_NIL_UUID "00000000-0000-0000-0000-000000000000"   /* absent */
MUST_CHECK int hv_sim_config_parse(struct xlmig_ctx *ctx, const char *json,
                                   struct sim_config *c);
void hv_sim_config_dispose(struct sim_config *c);
/* json with c_info.name set to name (and c_info.uuid to uuid if not
 * NULL); c_info.domid kept if keep_domid. */
MUST_CHECK int hv_sim_config_rewrite(struct xlmig_ctx *ctx, const char *json,
                                     const char *name, const char *uuid,
                                     bool keep_domid, uint32_t domid,
                                     char **out_r);
/* A new config for a sim domain (see xlmig_sim_domain_create). */
char *hv_sim_config_new(const char *name, const char *uuid, const char *type,
                        uint64_t memkb, unsigned vcpus);

/* hv-sim-stream.c */
MUST_CHECK int hv_sim_save(struct hv *hv, uint32_t domid, int fd,
                           unsigned flags, const struct hv_wait *w);
MUST_CHECK int hv_sim_restore(struct hv *hv, const char *json,
                              const char *name, int fd,
                              const struct hv_wait *w, uint32_t *domid_r);

/* hv-sim-facts.c: pre-flight facts (hv.h), from DIR/facts */
/* Writes the default DIR/facts unless the file exists. */
MUST_CHECK int hv_sim_facts_init(struct xlmig_ctx *ctx, const char *dir);
int hv_sim_host_facts(struct hv *hv, struct hv_host_facts *f);
int hv_sim_domain_facts(struct hv *hv, uint32_t domid,
                        struct hv_domain_facts *f);
int hv_sim_need_memory(struct hv *hv, const char *json, uint64_t *kb_r);
int hv_sim_have_bridge(struct hv *hv, const char *bridge, bool *yes_r);
int hv_sim_have_script(struct hv *hv, const char *script, bool *yes_r);
int hv_sim_disk_live(struct hv *hv, uint32_t domid, const char *vdev,
                     struct hv_disk_live *d);
int hv_sim_have_cpupool(struct hv *hv, const char *pool, bool *yes_r);
int hv_sim_pci_assignable(struct hv *hv, const char *bdf, bool *yes_r);

#endif /* XLMIG_HV_SIM_H */
