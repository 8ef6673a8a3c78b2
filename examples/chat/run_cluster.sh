#!/usr/bin/env bash
# The chat example end to end: starts a cluster of four chat-server processes (two
# connectors, two chat servers) on free loopback ports, runs chat-driver's scripted
# conversation against it, then stops the servers with SIGTERM and waits for them.
# Exits with the driver's status (or 1 if a server did not stop cleanly).
#
# usage: run_cluster.sh [build dir]     (default ./build; the binaries are in <dir>/examples)
set -euo pipefail

if [ $# -gt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    echo "usage: $0 [build dir]     (default ./build)" >&2
    exit 2
fi
build=${1:-./build}
server=$build/examples/chat-server
driver=$build/examples/chat-driver
for bin in "$server" "$driver"; do
    if [ ! -x "$bin" ]; then
        echo "$0: $bin not found; build the chat-server and chat-driver targets first" >&2
        exit 2
    fi
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/mailroom-chat.XXXXXX")
pids=()
cleanup() {
    # Any server still running (the script failed half way) is stopped, then the files go.
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$dir"
}
trap cleanup EXIT

mapfile -t ports < <("$driver" --free-ports 4)
if [ ${#ports[@]} -ne 4 ]; then
    echo "$0: could not get 4 free ports" >&2
    exit 1
fi

config=$dir/servers.json
cat >"$config" <<JSON
{
  "development": {
    "connector": [
      {"id": "connector-server-1", "host": "127.0.0.1", "port": ${ports[0]}, "frontend": true},
      {"id": "connector-server-2", "host": "127.0.0.1", "port": ${ports[1]}, "frontend": true}
    ],
    "chat": [
      {"id": "chat-server-1", "host": "127.0.0.1", "port": ${ports[2]}},
      {"id": "chat-server-2", "host": "127.0.0.1", "port": ${ports[3]}}
    ]
  }
}
JSON

ids=(connector-server-1 connector-server-2 chat-server-1 chat-server-2)
for id in "${ids[@]}"; do
    "$server" --config "$config" --server-id "$id" >"$dir/$id.log" 2>&1 &
    pids+=($!)
done

# The driver waits until every server answers sys.health.ping: no sleeps needed.
status=0
"$driver" --config "$config" || status=$?

# Graceful stop; each server must exit 0.
kill -TERM "${pids[@]}" 2>/dev/null || true
for i in "${!pids[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "${ids[$i]} exited with status $rc" >&2
        [ "$status" -ne 0 ] || status=1
    fi
    if [ "$rc" -ne 0 ] || [ "$status" -ne 0 ]; then
        echo "--- ${ids[$i]} log:" >&2
        cat "$dir/${ids[$i]}.log" >&2
    fi
done
pids=()
exit "$status"
