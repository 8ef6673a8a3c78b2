#!/usr/bin/env bash
# Latency and throughput of mailroom's pomelo transport next to stock pomelo-rpc 1.0.7, in one
# run (docs/pomelo-interop.md): for each number of calls in flight,
#   node -> node        stock client -> stock server (client.js starting server.js)
#   node -> C++         stock client -> mailroom server (mailroom-pomelo-peer serve)
#   node -> C++ noqa    the same with TCP_QUICKACK off on the C++ side
#   C++ -> node         mailroom client (mailroom-pomelo-peer call) -> stock server
#   C++ -> node noqa    the same with TCP_QUICKACK off
# Every configuration is two processes on loopback echoing a PAYLOAD-byte string; prints one
# JSON line per run, then a table of medians over REPS rounds.
#
# usage: benchmarks/compare/pomelo/interop.sh [BUILD_DIR]     (default: build)
# Settings: REPS=3 DURATION=3 INFLIGHT="1 100" PAYLOAD=64
# Needs node, tests/interop/pomelo/node_modules (npm ci there) and BUILD_DIR/benchmarks/
# mailroom-pomelo-peer (cmake --build BUILD_DIR --target mailroom-pomelo-peer).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
build=${1:-$repo/build}
REPS=${REPS:-3}
DURATION=${DURATION:-3}
INFLIGHT=${INFLIGHT:-"1 100"}
PAYLOAD=${PAYLOAD:-64}

die() { printf 'interop.sh: %s\n' "$*" >&2; exit 1; }
peer=$build/benchmarks/mailroom-pomelo-peer
[[ -x $peer ]] || die "$peer is missing: cmake --build $build --target mailroom-pomelo-peer"
modules=$repo/tests/interop/pomelo/node_modules
[[ -d $modules/pomelo-rpc ]] || die "$modules is missing: (cd tests/interop/pomelo && npm ci)"
export NODE_PATH=$modules

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# start_server <name> <command...>: runs it with stdin on a FIFO this shell holds open and
# stdout in a file; waits for "listening on PORT" and sets $port. stop_server ends it.
start_server() {
    local name=$1
    shift
    mkfifo "$tmp/$name.in"
    "$@" <"$tmp/$name.in" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    server_pid=$!
    exec {server_fd}>"$tmp/$name.in"
    port=
    for _ in $(seq 1 200); do
        port=$(sed -n 's/^listening on \([0-9]*\).*/\1/p' "$tmp/$name.out" | head -n1)
        [[ -n $port ]] && return 0
        sleep 0.05
    done
    die "$name printed no port: $(cat "$tmp/$name.err")"
}
stop_server() {
    exec {server_fd}>&-
    wait "$server_pid" 2>/dev/null || true
    rm -f "$tmp"/*.in
}
free_port() {
    node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close();})"
}

results=$tmp/results.jsonl
run() { # label inflight command...
    local label=$1 n=$2 out
    shift 2
    if out=$("$@"); then
        printf '{"label":"%s","inflight":%s,"result":%s}\n' "$label" "$n" "$out" | tee -a "$results"
    else
        die "$label failed ($n in flight)"
    fi
}

common=(--duration "$DURATION" --payload "$PAYLOAD")
for round in $(seq 1 "$REPS"); do
    for n in $INFLIGHT; do
        run "node -> node" "$n" node "$here/client.js" --inflight "$n" "${common[@]}"
        for qa in "" --no-quickack; do
            start_server cpp "$peer" serve $qa
            run "node -> C++${qa:+ noqa}" "$n" node "$here/client.js" --connect "$port" \
                --inflight "$n" "${common[@]}"
            stop_server
        done
        p=$(free_port)
        start_server node node "$here/server.js" --port "$p"
        for qa in "" --no-quickack; do
            run "C++ -> node${qa:+ noqa}" "$n" "$peer" call --port "$p" --inflight "$n" \
                "${common[@]}" $qa
        done
        stop_server
    done
done

echo
echo "pomelo interop: medians of $REPS rounds, ${DURATION} s each, ${PAYLOAD}-byte payload, loopback"
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const groups = new Map();
for (const l of lines) {
  const k = l.inflight + "\t" + l.label;
  if (!groups.has(k)) groups.set(k, []);
  groups.get(k).push(l.result);
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
console.log("| in flight | configuration | calls/s | p50 us | p99 us |");
console.log("|---|---|---|---|---|");
for (const [k, rs] of groups) {
  const [n, label] = k.split("\t");
  console.log(`| ${n} | ${label} | ${med(rs.map((r) => r.calls_per_sec))} | ${med(rs.map((r) => r.p50_us))} | ${med(rs.map((r) => r.p99_us))} |`);
}' "$results"
