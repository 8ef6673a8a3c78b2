#!/usr/bin/env bash
# The area example end to end: two area servers and a connector, three processes on free
# loopback ports. The connector plays its scripted session and exits with its status; the
# area servers are then stopped with SIGTERM and must exit 0.
#
# usage: run_cluster.sh <area-node binary>
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 <area-node binary>" >&2
    exit 2
fi
node=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/mailroom-area.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

mapfile -t ports < <("$node" --free-ports 3)
cat >"$dir/servers.json" <<JSON
{ "development": {
    "connector": [ {"id": "connector-server-1", "host": "127.0.0.1", "port": ${ports[0]}, "frontend": true} ],
    "area": [ {"id": "area-server-1", "host": "127.0.0.1", "port": ${ports[1]}},
              {"id": "area-server-2", "host": "127.0.0.1", "port": ${ports[2]}} ] } }
JSON

ids=(area-server-1 area-server-2)
for id in "${ids[@]}"; do
    "$node" --config "$dir/servers.json" --server-id "$id" >"$dir/$id.log" 2>&1 &
    pids+=($!)
done

# The connector waits for the area servers with sys.health.ping: no sleeps here.
status=0
"$node" --config "$dir/servers.json" --server-id connector-server-1 --play || status=$?

kill -TERM "${pids[@]}" 2>/dev/null || true
for i in "${!pids[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "${ids[$i]} exited with status $rc; its log:" >&2
        cat "$dir/${ids[$i]}.log" >&2
        [ "$status" -ne 0 ] || status=1
    fi
done
pids=()
exit "$status"
