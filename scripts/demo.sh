#!/usr/bin/env bash
# The demo: installs what it needs (Debian 12), builds the examples, then runs
#  1. examples/echo: a server and a client in one process, over loopback TCP;
#  2. examples/chat: pomelo's chat demo as a cluster — two connector and two chat server
#     processes from one servers.json — and a driver that makes users join, list and leave
#     channels through the connectors, which call app.rpc.chat.chatRemote.add(session, ...);
#  3. the same chat cluster with its chat servers on the Redis-queue transport: they have no
#     host or port, only an id; requests wait in a redis-server the script starts on a free
#     loopback port and stops afterwards (docs/redis-transport.md);
#  4. the chat cluster living: every server registers in a Redis registry; a third chat
#     server joins between two rounds of the conversation and is killed (SIGKILL) before the
#     third; the connectors learn both from the registry (docs/membership.md);
#  5. examples/pomelo_mixed: a mixed cluster, a stock Node pomelo-rpc connector calling a C++
#     chat server over pomelo-rpc's own wire, and the C++ server calling back into a remote
#     that exists only in JavaScript (docs/pomelo-interop.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

mailroom_install "${MAILROOM_BUILD_PACKAGES[@]}" redis-server
mailroom_build build-demo -DMAILROOM_BUILD_TESTS=OFF -DMAILROOM_BUILD_EXAMPLES=ON \
    -DMAILROOM_BUILD_BENCHMARKS=OFF >/dev/null
echo "== examples/echo: a server and a client, one process, loopback TCP"
./build-demo/examples/echo 5
echo
echo "== examples/chat: four chat-server processes (2 connectors, 2 chat servers) and a driver,"
echo "   then the mailroom command line against the running cluster"
MAILROOM_CLI=build-demo/bin/mailroom examples/chat/run_cluster.sh build-demo
echo "(against a cluster of your own: build-demo/bin/mailroom list <servers.json>, then"
echo " build-demo/bin/mailroom call <servers.json> chat.chatRemote.get '[\"room-1\"]'; docs/operations.md)"
echo
echo "== examples/chat again, the chat servers on the redis transport: addressed by id alone"
examples/chat/run_cluster.sh --transport redis build-demo
echo
echo "== examples/chat living: servers register in Redis; a third chat server joins, then dies"
examples/chat/run_cluster.sh --registry build-demo
echo
echo "== examples/pomelo_mixed: a stock Node pomelo-rpc connector and a C++ chat server"
command -v node >/dev/null || mailroom_install nodejs
mailroom_node_deps
examples/pomelo_mixed/run.sh build-demo
