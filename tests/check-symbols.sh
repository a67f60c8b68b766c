#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fails if the shared library exports a symbol outside the xlmig_ API
# (STYLE.md: internals are hidden, like libxl's _hidden).
set -eu
lib=$(find "${top_builddir:-.}/libxlmig/.libs" -name 'libxlmig.so.*.*' | head -n 1)
if [ -z "$lib" ]; then
    echo "check-symbols: libxlmig.so not built" >&2
    exit 1
fi
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' |
      grep -v '^xlmig_' || true)
if [ -n "$bad" ]; then
    echo "check-symbols: $lib exports symbols without the xlmig_ prefix:" >&2
    echo "$bad" >&2
    exit 1
fi
count=$(nm -D --defined-only "$lib" | grep -c ' T xlmig_')
echo "check-symbols: $count exported functions, all xlmig_"
