#!/usr/bin/env bash
# The mixed cluster end to end: a stock Node pomelo-rpc connector (connector.js) and the C++
# chat server (pomelo-chat-server) from one servers.json on free loopback ports, both on the
# pomelo transport. The connector calls chatRemote on the C++ server; the C++ server pushes
# each line back through the connector's Node-only connectorRemote. Exits with the
# connector's status (0: every answer as expected).
#
# usage: run.sh [build dir]     (default ./build; needs <dir>/examples/pomelo-chat-server,
#                               node, and examples/pomelo_mixed/node_modules: npm ci there)
# Exit status 77: node or node_modules is missing (ctest reports the test as skipped).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-./build}
server=$build/examples/pomelo-chat-server
[ -x "$server" ] || { echo "$0: $server not found; build pomelo-chat-server first" >&2; exit 2; }
if ! command -v node >/dev/null || [ ! -d "$here/node_modules/pomelo-rpc" ]; then
    echo "$0: skipped: needs node and $here/node_modules (npm ci there; scripts/test.sh does)" >&2
    exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/mailroom-pomelo-mixed.XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
    node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close();})"
}
connector_port=$(free_port)
chat_port=$(free_port)
cat >"$dir/servers.json" <<JSON
{
  "development": {
    "connector": [{"id": "connector-server-1", "host": "127.0.0.1", "port": $connector_port,
                   "frontend": true, "transport": "pomelo"}],
    "chat": [{"id": "chat-server-1", "host": "127.0.0.1", "port": $chat_port,
              "transport": "pomelo"}]
  }
}
JSON

echo "== C++ chat-server-1 (pomelo transport) on $chat_port; Node connector-server-1 on $connector_port"
"$server" --config "$dir/servers.json" --server-id chat-server-1 &
pid=$!
# The Node connector calls at once: wait until the C++ server listens.
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$chat_port") 2>/dev/null && break
    sleep 0.05
done
cd "$here"
node connector.js "$dir/servers.json" connector-server-1 | grep -v '^connected$'
