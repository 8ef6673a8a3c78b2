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
# With --registry every server also registers in a Redis registry (docs/membership.md) and
# the cluster lives: the conversation is played with two chat servers; then a third chat
# server starts, with a config that lists only what it needs, and joins every connector's
# table through the registry; the conversation is played again over three chat servers; then
# the third is killed (SIGKILL: no goodbye), its lease runs out, the connectors drop it, and
# the conversation is played a third time over the two left. Same Redis rules as above.
#
# usage: run_cluster.sh [--transport tcp|redis | --registry] [build dir]
#        (default tcp and ./build; the binaries are in <dir>/examples)
set -euo pipefail

usage() {
    echo "usage: $0 [--transport tcp|redis | --registry] [build dir]     (default tcp, ./build)" >&2
    exit 2
}
transport=tcp
registry=false
if [ "${1:-}" = "--transport" ]; then
    [ $# -ge 2 ] || usage
    transport=$2
    shift 2
elif [ "${1:-}" = "--registry" ]; then
    registry=true
    shift
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
if { [ "$transport" = redis ] || $registry; } && ! command -v redis-server >/dev/null; then
    echo "$0: redis-server not found (Debian package redis-server); skipped" >&2
    exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/mailroom-chat.XXXXXX")
pids=()
redis_pid=
third=
cleanup() {
    [ -z "$third" ] || kill -KILL "$third" 2>/dev/null || true
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

# Two connectors, two (or three) chat servers, Redis.
mapfile -t ports < <("$driver" --free-ports 6)
if [ ${#ports[@]} -ne 6 ]; then
    echo "$0: could not get 6 free ports" >&2
    exit 1
fi

redis_port=${ports[5]}
start_redis() {
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
}

server_args=()
if [ "$transport" = redis ] || $registry; then
    start_redis
fi
if $registry; then
    server_args=(--registry "redis://127.0.0.1:$redis_port")
    echo "the servers register in redis://127.0.0.1:$redis_port (lease 3 s, resync 1 s)"
fi
if [ "$transport" = redis ]; then
    # The chat servers' entries name only an id and the Redis their requests queue in.
    chat_servers='{"id": "chat-server-1", "transport": "redis", "redis_url": "redis://127.0.0.1:'$redis_port'"},
      {"id": "chat-server-2", "transport": "redis", "redis_url": "redis://127.0.0.1:'$redis_port'"}'
    echo "chat servers on the redis transport: ids only, requests queued in redis://127.0.0.1:$redis_port"
else
    chat_servers='{"id": "chat-server-1", "host": "127.0.0.1", "port": '${ports[2]}'},
      {"id": "chat-server-2", "host": "127.0.0.1", "port": '${ports[3]}'}'
fi

# write_config FILE CHAT_SERVERS
write_config() {
    cat >"$1" <<JSON
{
  "development": {
    "connector": [
      {"id": "connector-server-1", "host": "127.0.0.1", "port": ${ports[0]}, "frontend": true},
      {"id": "connector-server-2", "host": "127.0.0.1", "port": ${ports[1]}, "frontend": true}
    ],
    "chat": [
      $2
    ]
  }
}
JSON
}
config=$dir/servers.json
write_config "$config" "$chat_servers"

ids=(connector-server-1 connector-server-2 chat-server-1 chat-server-2)
for id in "${ids[@]}"; do
    "$server" --config "$config" --server-id "$id" "${server_args[@]}" >"$dir/$id.log" 2>&1 &
    pids+=($!)
done

# The driver waits until every server answers sys.health.ping, and every connector routes
# over the config's chat servers: no sleeps needed.
status=0
"$driver" --config "$config" || status=$?

if $registry && [ "$status" -eq 0 ]; then
    # A third chat server joins: only its own config names it; the connectors learn of it
    # from the registry. The driver's config for this round lists it too.
    config3=$dir/servers-3.json
    write_config "$config3" "$chat_servers,
      {\"id\": \"chat-server-3\", \"host\": \"127.0.0.1\", \"port\": ${ports[4]}}"
    echo
    echo "== chat-server-3 joins the running cluster (registered in Redis)"
    "$server" --config "$config3" --server-id chat-server-3 "${server_args[@]}" \
        >"$dir/chat-server-3.log" 2>&1 &
    third=$!
    "$driver" --config "$config3" || status=$?
    echo
    echo "== chat-server-3 is killed (SIGKILL): its lease runs out, the connectors drop it"
    kill -KILL "$third"
    wait "$third" 2>/dev/null || true
    [ "$status" -ne 0 ] || "$driver" --config "$config" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "--- chat-server-3 log:" >&2
        cat "$dir/chat-server-3.log" >&2
    fi
fi

# With MAILROOM_CLI (scripts/demo.sh and the example.chat test set it): the operator's command
# line against the live cluster, before it stops (docs/operations.md).
if [ -n "${MAILROOM_CLI:-}" ] && [ ! -x "$MAILROOM_CLI" ]; then
    echo "MAILROOM_CLI=$MAILROOM_CLI is not an executable" >&2
    status=1
fi
if [ "$status" -eq 0 ] && [ -n "${MAILROOM_CLI:-}" ]; then
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
    members=$(cli call "$config" connector.entryRemote.members '["cli-room"]') || status=$?
    echo "$members"
    case $members in
    *'"members":["cli-user"]'*) ;;
    *) echo "mailroom call: cli-room should hold cli-user alone" >&2; status=1 ;;
    esac
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
