#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Replays each parser's seed corpus through its fuzz target (make check).
set -eu
src=${top_srcdir:-.}
build=${top_builddir:-.}
for t in stream proto domcfg preflight frame xs policy cfgfile qmp jobxml precopy \
    shmsg; do
    "$build/tests/fuzz/replay-$t" "$src/tests/fuzz/corpus/$t"
done
