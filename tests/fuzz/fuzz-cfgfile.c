/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-cfgfile.c - fuzz target for one disk of a domain config file, read
 * and retargeted (cfgfile.c, cfgfile-json.c, cfgfile-xl.c), both
 * syntaxes. Input: one byte (bits 0-2 pick the vdev, 3-4 the new format
 * or none, 5-6 the new target), then the config text. Every failure says
 * why on one printable line; none is XLMIG_E_INTERNAL (a failed
 * self-check is a bug); a retarget succeeds only where a read does, and
 * its result reads back with the new target and format. disk-prepare's
 * reading and rewriting (bit 7: with a script and a setting appended)
 * keep the same promises.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"

#define FUZZ_CAUSE_MAX 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libxlutil 4.17 leaks the values it parses after a syntax error (its
 * xlu__cfg_list_append() returns early without freeing them): text that
 * is refused anyway; not ours to fix. */
const char *__lsan_default_suppressions(void)
{
    return "leak:xlu__cfg_string_mk\n"
           "leak:xlu__cfg_list_mk\n"
           "leak:xlu__cfgl_dequote\n"
           "leak:xlu__cfgl_strdup\n";
}

static const char *const vdevs[8] = {
    "xvda", "xvdb", "hda", "hdc", "sda", "xvda1", "d", "xvdc",
};
static const char *const formats[4] = { NULL, "raw", "qcow2", "qed" };
static const char *const targets[4] = {
    "/srv/new/disk.img", "/dev/vg0/new-lv", "/srv/new dir/a,b=c:d.img",
    "/srv/\xc3\xa9t\xc3\xa9 'q' \"dq\".qcow2",
};

/* rc and cause agree: a cause for each failure, one printable line. */
static void fuzz_cause(int rc, const char *cause)
{
    size_t i;

    if (!rc) {
        if (cause) abort();
        return;
    }
    if (rc == XLMIG_E_INTERNAL || !cause || !*cause) abort();
    for (i = 0; cause[i]; i++)
        if ((unsigned char)cause[i] < 0x20 || cause[i] >= 0x7f) abort();
    if (i > FUZZ_CAUSE_MAX) abort();
}

/* disk-prepare's side: info, then the rewrite, which reads back. */
static void fuzz_prepare(const char *text, size_t len, const char *vdev,
                         const char *target, bool more)
{
    struct cfgfile_info inf, back;
    char *out = NULL, *cause = NULL;
    size_t out_len;
    int ri, rp, rc;

    ri = cfgfile_info_get(text, len, vdev, &inf, &cause);
    fuzz_cause(ri, cause);
    free(cause);
    if (!ri && (!inf.target || !inf.format || !inf.backend)) abort();
    rp = cfgfile_disk_prepare(text, len, vdev, target,
                              more ? "block-xlmig" : NULL,
                              more ? "device_model_args_pv = [ \"-qmp\" ]"
                                   : NULL, &out, &out_len, &cause);
    fuzz_cause(rp, cause);
    free(cause);
    if (rp) {
        if (out) abort();
    } else {
        if (ri || !out || strlen(out) != out_len) abort();
        rc = cfgfile_info_get(out, out_len, vdev, &back, &cause);
        fuzz_cause(rc, cause);
        free(cause);
        if (rc || strcmp(back.target, target) ||
            (more && (!back.script || !back.has_dm_args)))
            abort();
        cfgfile_info_dispose(&back);
    }
    free(out);
    cfgfile_info_dispose(&inf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfgfile_disk d, back;
    const char *vdev, *format, *target, *text;
    char *out, *cause;
    size_t out_len;
    int rg, rr, rc;

    if (!size) return 0;
    vdev = vdevs[data[0] & 7];
    format = formats[data[0] >> 3 & 3];
    target = targets[data[0] >> 5 & 3];
    text = (const char *)data + 1;
    fuzz_prepare(text, size - 1, vdev, target, data[0] >> 7);
    rg = cfgfile_disk_get(text, size - 1, vdev, &d, &cause);
    fuzz_cause(rg, cause);
    if (!rg && !d.target) abort();
    if (rg && (d.target || d.format)) abort();
    cfgfile_disk_dispose(&d);
    free(cause);
    rr = cfgfile_disk_retarget(text, size - 1, vdev, target, format, &out,
                               &out_len, &cause);
    fuzz_cause(rr, cause);
    free(cause);
    if (rr) {
        if (out || (rg == XLMIG_E_NOTFOUND && rr != XLMIG_E_NOTFOUND))
            abort();
        return 0;
    }
    if (rg || !out || out[out_len] || strlen(out) != out_len) abort();
    rc = cfgfile_disk_get(out, out_len, vdev, &back, &cause);
    fuzz_cause(rc, cause);
    if (rc || strcmp(back.target, target) ||
        (format && (!back.format || strcmp(back.format, format))))
        abort();
    cfgfile_disk_dispose(&back);
    free(out);
    return 0;
}
