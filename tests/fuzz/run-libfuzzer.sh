#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# run-libfuzzer.sh - bounded libFuzzer runs in make check: builds each fuzz
# target with clang (libFuzzer + ASan + UBSan, UB fatal) in a temp dir and
# fuzzes it for FUZZ_SECONDS (default 15) from a fresh copy of its seed
# corpus, FUZZ_JOBS targets at once (default one per CPU). Any crash,
# leak, timeout (5 s per input) or RSS over 2 GiB fails the test; the
# inputs that caused it are kept in fuzz-failures/ of the
# build directory, to add to tests/fuzz/corpus/. Clang is a requirement
# (scripts/install-deps installs it), so its absence fails, never skips.
set -eu
src=${top_srcdir:-.}
build=${top_builddir:-.}
seconds=${FUZZ_SECONDS:-15}
clang=${CLANG:-clang}
targets="stream proto domcfg preflight frame xs policy cfgfile qmp jobxml precopy
    shmsg"

if ! command -v "$clang" >/dev/null 2>&1; then
    echo "run-libfuzzer: FAIL: $clang not found; run scripts/install-deps" \
        "(clang, libclang-rt-14-dev)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lib=$src/libxlmig
cflags="-g -O1 -fsanitize=fuzzer,address,undefined
    -fno-sanitize-recover=undefined -std=gnu11
    -include $build/config.h -I$lib
    $(pkg-config --cflags xentoollog libxml-2.0)"

# The sources of each target, listed explicitly.
sources() {
    case $1 in
    stream) echo "$src/tests/fuzz/fuzz-stream.c $lib/stream.c $lib/buf.c" \
        "$lib/xmalloc.c" ;;
    proto) echo "$src/tests/fuzz/fuzz-proto.c $lib/proto.c $lib/buf.c" \
        "$lib/xmalloc.c" ;;
    domcfg) echo "$src/tests/fuzz/fuzz-domcfg.c $lib/domcfg.c" \
        "$lib/xmalloc.c $lib/jsonlim.c" ;;
    preflight) echo "$src/tests/fuzz/fuzz-preflight.c $lib/preflight.c" \
        "$lib/cpufeat.c $lib/proto.c $lib/buf.c $lib/xmalloc.c" \
        "$lib/jsonlim.c" ;;
    frame) echo "$src/tests/fuzz/fuzz-frame.c $lib/frame.c $lib/buf.c" \
        "$lib/xmalloc.c" ;;
    xs) echo "$src/tests/fuzz/fuzz-xs.c $lib/xs-msg.c $lib/frame.c" \
        "$lib/buf.c $lib/xmalloc.c $lib/jsonlim.c $lib/proto.c" ;;
    policy) echo "$src/tests/fuzz/fuzz-policy.c $lib/policy.c $lib/sr.c" \
        "$lib/policy-path.c $lib/jsonlim.c $lib/domcfg.c $lib/proto.c" \
        "$lib/buf.c $lib/conf.c $lib/child.c $lib/fdio.c $lib/err.c" \
        "$lib/xmalloc.c" ;;
    cfgfile) echo "$src/tests/fuzz/fuzz-cfgfile.c $lib/cfgfile.c" \
        "$lib/cfgfile-json.c $lib/cfgfile-xl.c $lib/jsonlim.c" \
        "$lib/xmalloc.c" ;;
    qmp) echo "$src/tests/fuzz/fuzz-qmp.c $lib/qmp-msg.c $lib/jsonlim.c" \
        "$lib/xmalloc.c" ;;
    precopy) echo "$src/tests/fuzz/fuzz-precopy.c $lib/precopy.c" ;;
    shmsg) echo "$src/tests/fuzz/fuzz-shmsg.c $lib/shmsg.c" ;;
    # The schema's C file is made by make, in the build tree.
    jobxml) echo "$src/tests/fuzz/fuzz-jobxml.c $lib/jobxml.c" \
        "$lib/jobxml-place.c $build/libxlmig/jobxml-schema.c $lib/rate.c" \
        "$lib/preflight.c $lib/cpufeat.c $lib/proto.c $lib/buf.c" \
        "$lib/xmalloc.c $lib/jsonlim.c" ;;
    esac
}

# The libraries each target links beyond libFuzzer and the sanitizers.
libs() {
    case $1 in
    domcfg|preflight|qmp) pkg-config --libs yajl ;;
    jobxml) pkg-config --libs libxml-2.0 yajl ;;
    policy) pkg-config --libs yajl xlutil ;;
    cfgfile) pkg-config --libs yajl xlutil xenlight ;;
    frame|xs) pkg-config --libs libcrypto libzstd liblz4 yajl ;;
    precopy) echo -lm ;;
    esac
}

# All builds at once: they take longer than a fuzz run's start-up.
for t in $targets; do
    # shellcheck disable=SC2046,SC2086 # word splitting wanted
    "$clang" $cflags -o "$tmp/fuzz-$t" $(sources "$t") $(libs "$t") \
        >"$tmp/build-$t.log" 2>&1 &
    echo $! >"$tmp/build-$t.pid"
done
for t in $targets; do
    if ! wait "$(cat "$tmp/build-$t.pid")"; then
        cat "$tmp/build-$t.log" >&2
        echo "run-libfuzzer: FAIL: building fuzz-$t with $clang failed;" \
            "is libclang-rt-14-dev installed (scripts/install-deps)?" >&2
        exit 1
    fi
done

# fuzz_one T: one bounded run of fuzz-T; its line goes to $tmp/out-T, a
# failure's to $tmp/err-T (status 1).
fuzz_one() {
    t=$1
    cp -R "$src/tests/fuzz/corpus/$t" "$tmp/corpus-$t"
    mkdir -p "$tmp/artifacts-$t"
    rc=0
    (cd "$tmp/artifacts-$t" &&
        UBSAN_OPTIONS=print_stacktrace=1 "$tmp/fuzz-$t" \
            -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
            -detect_leaks=1 -print_final_stats=1 \
            -artifact_prefix="$tmp/artifacts-$t/" "$tmp/corpus-$t" \
            >"$tmp/fuzz-$t.log" 2>&1) || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/fuzz-$t.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$tmp/fuzz-$t.log")
    corpus=$(find "$tmp/corpus-$t" -type f | wc -l)
    : >"$tmp/out-$t"
    if [ "$rc" -ne 0 ]; then
        tail -n 40 "$tmp/fuzz-$t.log" >"$tmp/err-$t"
        mkdir -p "$build/fuzz-failures"
        cp "$tmp/artifacts-$t"/* "$build/fuzz-failures/" 2>/dev/null || true
        echo "run-libfuzzer: FAIL: fuzz-$t exited $rc after" \
            "${runs:-?} runs; inputs in $build/fuzz-failures/" >>"$tmp/err-$t"
        return 1
    fi
    echo "run-libfuzzer: fuzz-$t: ${runs:-?} runs in ${seconds} s," \
        "${rate:-?} execs/s, corpus $corpus inputs" >"$tmp/out-$t"
}

# As many runs at once as there are CPUs (each is one thread): every
# target still gets its FUZZ_SECONDS of a CPU, in less wall time.
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
status=0
# shellcheck disable=SC2086 # word splitting wanted
set -- $targets
while [ $# -gt 0 ]; do
    batch=
    n=0
    while [ $# -gt 0 ] && [ "$n" -lt "$jobs" ]; do
        fuzz_one "$1" &
        echo $! >"$tmp/run-$1.pid"
        batch="$batch $1"
        n=$((n + 1))
        shift
    done
    for t in $batch; do
        wait "$(cat "$tmp/run-$t.pid")" || status=1
        cat "$tmp/out-$t"
        [ ! -s "$tmp/err-$t" ] || cat "$tmp/err-$t" >&2
    done
done
exit "$status"
