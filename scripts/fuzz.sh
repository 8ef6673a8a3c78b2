#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan + UBSan) into build-fuzz and runs each
# for [seconds] (default 30), one after the other, single-threaded:
#
#   scripts/fuzz.sh [seconds] [target...]     # targets: see MAILROOM_FUZZ_TARGETS below
#
# Each target starts from its seed corpus (fuzz/corpus/<target>, committed) plus what earlier
# runs found (build-fuzz/corpus/<target>, not committed). A crash, a sanitizer report or a
# failed invariant stops that target, leaves the input in build-fuzz/artifacts/ and fails the
# script after the other targets ran. The last line per target gives its executions.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(frame_parser codec values ws_batch servers_json pomelo redis)

mailroom_install "${MAILROOM_BUILD_PACKAGES[@]}" "${MAILROOM_FUZZ_PACKAGES[@]}"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-fuzz -G Ninja "${launcher[@]}" -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILROOM_BUILD_TESTS=OFF \
    -DMAILROOM_BUILD_EXAMPLES=OFF -DMAILROOM_BUILD_BENCHMARKS=OFF \
    -DMAILROOM_BUILD_FUZZERS=ON -DMAILROOM_WARNINGS_AS_ERRORS=ON >/dev/null
# Only the fuzz targets: they compile the decoders' sources themselves.
cmake --build build-fuzz -j2 --target "${targets[@]/#/mailroom_fuzz_}"

mkdir -p build-fuzz/artifacts
failed=()
for t in "${targets[@]}"; do
    mkdir -p "build-fuzz/corpus/$t"
    log="build-fuzz/fuzz-$t.log"
    echo "== fuzz $t for ${seconds}s"
    if ! "build-fuzz/fuzz/mailroom_fuzz_$t" -max_total_time="$seconds" -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" \
        "build-fuzz/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
        tail -n 40 "$log"
        failed+=("$t")
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "$t: ${execs:-?} executions in ${seconds}s"
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: failed: ${failed[*]} (inputs in build-fuzz/artifacts/)" >&2
    exit 1
fi
