#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs (Debian 12), builds into ./build with
# two jobs, runs ctest. Exits non-zero if anything fails. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

mailroom_install "${MAILROOM_BUILD_PACKAGES[@]}" "${MAILROOM_TEST_PACKAGES[@]}"
mailroom_build build -DMAILROOM_BUILD_TESTS=ON -DMAILROOM_BUILD_EXAMPLES=ON \
    -DMAILROOM_BUILD_BENCHMARKS=ON -DMAILROOM_WARNINGS_AS_ERRORS=ON
ctest --test-dir build --output-on-failure -j2
