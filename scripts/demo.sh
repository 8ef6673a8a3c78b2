#!/usr/bin/env bash
# The demo: installs what it needs (Debian 12), builds the examples, and runs the echo
# example — a server and a client in one process, calling each other over loopback TCP.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

mailroom_install "${MAILROOM_BUILD_PACKAGES[@]}"
mailroom_build build-demo -DMAILROOM_BUILD_TESTS=OFF -DMAILROOM_BUILD_EXAMPLES=ON \
    -DMAILROOM_BUILD_BENCHMARKS=OFF >/dev/null
echo "== examples/echo: a server and a client, one process, loopback TCP"
./build-demo/examples/echo 5
