#!/usr/bin/env bash
# The chat example end to end: starts a cluster of four chat-server processes (two
# connectors, two chat servers) on free loopback ports, runs chat-driver's scripted
# conversation against it, then stops the servers with SIGTERM and waits for them.
# Exits with the driver's status (or 1 if a server did not stop cleanly).
#
# With --transport redis the two chat servers are on the Redis-queue transport: they have no
# host or port, only an id; the script starts its own redis-server on a free loopback port
# (no persistence) and stops it at the end. Exits 77 (skipped) if redis-server is missing.
#
# usage: run_cluster.sh [--transport tcp|redis] [build dir]
#        (default tcp and ./build; the binaries are in <dir>/examples)
set -euo pipefail

usage() {
    echo "usage: $0 [--transport tcp|redis] [build dir]     (default tcp, ./build)" >&2
    exit 2
}
transport=tcp
if [ "${1:-}" = "--transport" ]; then
    [ $# -ge 2 ] || usage
    transport=$2
    shift 2
fi
case "$transport" in tcp | redis) ;; *) usage ;; esac
if [ $# -gt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    usage
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
if [ "$transport" = redis ] && ! command -v redis-server >/dev/null; then
    echo "$0: redis-server not found (Debian package redis-server); skipped" >&2
    exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/mailroom-chat.XXXXXX")
pids=()
redis_pid=
cleanup() {
    # Any server still running (the script failed half way) is stopped, then the files go.
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    # Redis last: the servers delete their leases when they stop.
    if [ -n "$redis_pid" ]; then
        kill -TERM "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

mapfile -t ports < <("$driver" --free-ports 4)
if [ ${#ports[@]} -ne 4 ]; then
    echo "$0: could not get 4 free ports" >&2
    exit 1
fi

if [ "$transport" = redis ]; then
    # The chat servers' entries name only an id and the Redis their requests queue in; the
    # third free port is Redis's.
    redis_port=${ports[2]}
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$dir" --logfile "$dir/redis.log" --daemonize no &
    redis_pid=$!
    # Wait for the log line that says it listens (polled, for at most 10 s).
    for _ in $(seq 200); do
        grep -q "Ready to accept connections" "$dir/redis.log" 2>/dev/null && break
        kill -0 "$redis_pid" 2>/dev/null || break
        sleep 0.05
    done
    if ! grep -q "Ready to accept connections" "$dir/redis.log" 2>/dev/null; then
        echo "$0: redis-server did not start on port $redis_port" >&2
        cat "$dir/redis.log" >&2 || true
        exit 1
    fi
    chat_servers='{"id": "chat-server-1", "transport": "redis", "redis_url": "redis://127.0.0.1:'$redis_port'"},
      {"id": "chat-server-2", "transport": "redis", "redis_url": "redis://127.0.0.1:'$redis_port'"}'
    echo "chat servers on the redis transport: ids only, requests queued in redis://127.0.0.1:$redis_port"
else
    chat_servers='{"id": "chat-server-1", "host": "127.0.0.1", "port": '${ports[2]}'},
      {"id": "chat-server-2", "host": "127.0.0.1", "port": '${ports[3]}'}'
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
      $chat_servers
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

# With MAILROOM_CLI (scripts/demo.sh sets it): the operator's command line against the live
# cluster, before it stops (docs/operations.md).
if [ "$status" -eq 0 ] && [ -n "${MAILROOM_CLI:-}" ] && [ -x "$MAILROOM_CLI" ]; then
    cli() {
        printf '$ mailroom'
        for a in "$@"; do
            case $a in *[\[\"\ ]*) printf " '%s'" "$a" ;; *) printf ' %s' "$a" ;; esac
        done
        echo
        "$MAILROOM_CLI" "$@" 2>&1 | sed 's/^/  /'
        return "${PIPESTATUS[0]}"
    }
    cli list "$config" || status=$?
    cli call "$config" connector.entryRemote.enter '["cli-user","cli-room"]' || status=$?
    cli call "$config" connector.entryRemote.members '["cli-room"]' || status=$?
fi

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
