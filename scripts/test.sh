#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs (Debian 12), builds into ./build with
# two jobs, runs ctest; then the hardening checks of docs/security.md: every fuzz target for
# 20 s (scripts/fuzz.sh, build-fuzz), then the unit and filters executables under ASan + UBSan
# (scripts/sanitize.sh, build-asan; docs/security.md, "CI", has its measured time). Exits
# non-zero if anything fails. CI runs exactly this.
# MAILROOM_HARDENING=0 skips the hardening checks (a quick local run); MAILROOM_ASAN=0 skips
# only the ASan step.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

mailroom_install "${MAILROOM_BUILD_PACKAGES[@]}" "${MAILROOM_TEST_PACKAGES[@]}" \
    "${MAILROOM_FUZZ_PACKAGES[@]}"
mailroom_node_deps
mailroom_build build -DMAILROOM_BUILD_TESTS=ON -DMAILROOM_BUILD_EXAMPLES=ON \
    -DMAILROOM_BUILD_BENCHMARKS=ON -DMAILROOM_WARNINGS_AS_ERRORS=ON
ctest --test-dir build --output-on-failure -j2

[ "${MAILROOM_HARDENING:-1}" = 0 ] && exit 0
bash scripts/fuzz.sh 20
[ "${MAILROOM_ASAN:-1}" = 1 ] || exit 0
# The ASan subset: the sans-I/O units, the station, the call pipeline and the filters (the
# whole suite under ASan is scripts/sanitize.sh address; docs/security.md has its result).
MAILROOM_SANITIZE_TARGETS="$MAILROOM_ASAN_CI_TARGETS" bash scripts/sanitize.sh address
