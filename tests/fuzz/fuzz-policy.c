/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-policy.c - fuzz target for the receiver's incoming policy
 * (policy.c, policy-path.c) on a config a hostile sender wrote. Input:
 * one byte that picks the incoming_allow words, then the config's JSON.
 * The host is a fake: bridge xenbr0, PCI 0000:03:00.0, 16 GiB, and a
 * root directory that does not exist, so that no path exists and nothing
 * runs (no qemu-img: it reads only files that exist).
 * Every refusal must be one printable line (no C0, DEL or C1 control) of
 * bounded length: each goes to the sender's terminal and to this host's
 * log.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The log goes nowhere (ctx.c is not linked). */
void ctx_log(struct xlmig_ctx *ctx, xentoollog_level level, int errnoval,
             const char *func, const char *fmt, ...)
{
    (void)ctx;
    (void)level;
    (void)errnoval;
    (void)func;
    (void)fmt;
}

void ctx_vlog(struct xlmig_ctx *ctx, xentoollog_level level, int errnoval,
              const char *func, const char *fmt, va_list ap)
{
    (void)ctx;
    (void)level;
    (void)errnoval;
    (void)func;
    (void)fmt;
    (void)ap;
}

/* The backend's answers, for a fake host (hv.c is not linked). */
int hv_host_facts(struct hv *h, struct hv_host_facts *f)
{
    (void)h;
    memset(f, 0, sizeof(*f));
    f->total_kb = 16ull << 20;
    return XLMIG_OK;
}

int hv_have_bridge(struct hv *h, const char *b, bool *yes)
{
    (void)h;
    *yes = !strcmp(b, "xenbr0");
    return XLMIG_OK;
}

int hv_pci_assignable(struct hv *h, const char *bdf, bool *yes)
{
    (void)h;
    *yes = !strcmp(bdf, "0000:03:00.0");
    return XLMIG_OK;
}

double ctx_now(const struct xlmig_ctx *c)
{
    (void)c;
    return 0;
}

/* What the allow byte's bits stand for: a few of the words each. */
static const unsigned allow_bits[8] = {
    POLICY_ALLOW_PCI | POLICY_ALLOW_IOMEM,
    POLICY_ALLOW_IOPORTS | POLICY_ALLOW_IRQS,
    POLICY_ALLOW_DEVICE_MODEL | POLICY_ALLOW_USB,
    POLICY_ALLOW_P9 | POLICY_ALLOW_VTPM | POLICY_ALLOW_PVCALLS,
    POLICY_ALLOW_CHANNELS | POLICY_ALLOW_HOST_SERIAL,
    POLICY_ALLOW_LOCAL_DISPLAY | POLICY_ALLOW_DRIVER_DOMAINS,
    POLICY_ALLOW_VIRTIO | POLICY_ALLOW_COLO,
    POLICY_ALLOW_SECURITY_LABELS | POLICY_ALLOW_BOOTLOADER_ARGS |
        POLICY_ALLOW_TEE,
};

static char fake[] = "fake";
static struct xlmig_ctx ctx = { .backend = fake };
static struct hv hv = { .ctx = &ctx };

/* A root that does not exist: every path under it is missing. */
static const char root[] = "/nonexistent/xlmig-fuzz-policy";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct policy_report rep;
    const unsigned char *u;
    struct policy p;
    char *json;
    size_t i, j;

    if (!size) return 0;
    policy_init(&p);
    p.root = root;
    for (i = 0; i < 8; i++)
        if (data[0] & (1u << i)) p.allow |= allow_bits[i];
    json = xmalloc(size);
    memcpy(json, data + 1, size - 1);
    json[size - 1] = '\0';
    if (policy_check(&ctx, &hv, &p, json, &rep)) abort();
    for (i = 0; i < rep.n; i++) {
        u = (const unsigned char *)rep.v[i];
        for (j = 0; u[j]; j++)
            if (u[j] < 0x20 || u[j] == 0x7f ||
                (u[j] == 0xc2 && u[j + 1] >= 0x80 && u[j + 1] <= 0x9f))
                abort();
        if (!j || j > POLICY_REFUSAL_MAX) abort();
    }
    policy_report_dispose(&rep);
    policy_dispose(&p);
    free(json);
    return 0;
}
