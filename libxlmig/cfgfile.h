/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cfgfile.h - one disk of a domain's config file, read and retargeted in
 * place (storage-move points the domain at the copy). Both syntaxes: the
 * first non-blank byte '{' means libxl JSON (libxl_domain_config_to_json),
 * anything else xl.cfg(5). Pure: text in, text out; no I/O, no context.
 */
#ifndef XLMIG_CFGFILE_H
#define XLMIG_CFGFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "internal.h"

#define CFGFILE_LEN_MAX (1u << 20)      /* longer text: XLMIG_E_TOOBIG */

/* The disk whose virtual device is vdev ("xvda", "hda", "sdb", "xvda1"? match libxl's vdev string exactly) in config text. */
struct cfgfile_disk {
    char *target;   /* its target (pdev_path), allocated */
    char *format;   /* "raw", "qcow2", "qcow", "vhd", "qed", "empty" or NULL when the spec gives none */
};
/*
 * Reads disk vdev (compared byte for byte with libxl's vdev string) from
 * the config text (len bytes, need not be NUL-terminated). On success
 * *d_r is filled (free with cfgfile_disk_dispose()) and *cause_r is NULL.
 * On failure *d_r is empty and *cause_r (one printable line, allocated)
 * says why: XLMIG_E_NOTFOUND no such disk, XLMIG_E_TOOBIG over
 * CFGFILE_LEN_MAX, XLMIG_E_INVAL the text cannot be read (or vdev is in
 * it twice). A format is reported only when the spec gives one: in
 * xl.cfg by format=, a positional format or a legacy prefix ("qcow2:").
 */
MUST_CHECK int cfgfile_disk_get(const char *text, size_t len, const char *vdev, struct cfgfile_disk *d_r, char **cause_r);
void cfgfile_disk_dispose(struct cfgfile_disk *d);     /* idempotent */
/*
 * Returns (*out_r, allocated, NUL-terminated, *out_len_r) the text with the target of disk vdev replaced by new_target
 * and, if new_format is not NULL, its format set to new_format (added to the spec when it had none). Every byte outside the
 * changed spans stays as it was. XLMIG_E_NOTFOUND: no disk vdev (or the file has no disk setting); XLMIG_E_INVAL with *cause_r
 * (one line, allocated): the text cannot be read, vdev appears twice, the new target cannot be written into this spec
 * (e.g. a quote char of the enclosing string, a comma in a positional target, a control char, a NUL), etc.
 *
 * Also XLMIG_E_TOOBIG (over CFGFILE_LEN_MAX) and XLMIG_E_INTERNAL (the
 * result failed the self-check: it must read back as the same config
 * but for the changed fields). Every failure sets *cause_r and leaves
 * *out_r NULL; success leaves *cause_r NULL. In xl.cfg the last "disk"
 * setting wins (and "disk += [...]" appends), as in xl; a legacy format
 * prefix ("qcow2:", "tap:qcow2:") is rewritten in place when the new
 * format has a prefix (raw, qcow, qcow2, vhd) and refused otherwise.
 */
MUST_CHECK int cfgfile_disk_retarget(const char *text, size_t len, const char *vdev, const char *new_target,
                                     const char *new_format, char **out_r, size_t *out_len_r, char **cause_r);

/*
 * What `xlmig disk-prepare` reads of an xl.cfg (libxl JSON is
 * XLMIG_E_INVAL): the domain's name, whether it is HVM, disk vdev (its
 * target, format, backend as libxl names them, "" when the spec leaves
 * them to libxl; its hotplug script or NULL) and the device model's
 * extra arguments (device_model_args_hvm for HVM, _pv otherwise).
 */
struct cfgfile_info {
    char *name;
    bool hvm;
    char *target, *format, *backend, *script;
    bool has_dm_args;
    char **dm_args;
    size_t n_dm_args;
};
MUST_CHECK int cfgfile_info_get(const char *text, size_t len,
                                const char *vdev, struct cfgfile_info *inf,
                                char **cause_r);
void cfgfile_info_dispose(struct cfgfile_info *inf);     /* idempotent */
/*
 * xl.cfg: disk vdev's target made target, "script=SCRIPT" added to its
 * spec if script is not NULL and the spec has none (another one is
 * XLMIG_E_INVAL), and line (one whole setting) appended if not NULL.
 * Every other byte stays; the result reads back through libxlutil as
 * intended (XLMIG_E_INTERNAL otherwise). Outputs as
 * cfgfile_disk_retarget.
 */
MUST_CHECK int cfgfile_disk_prepare(const char *text, size_t len,
                                    const char *vdev, const char *target,
                                    const char *script, const char *line,
                                    char **out_r, size_t *out_len_r,
                                    char **cause_r);

#endif /* XLMIG_CFGFILE_H */
