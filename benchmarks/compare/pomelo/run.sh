#!/usr/bin/env bash
# mailroom vs the raw-socket ceiling vs pomelo-rpc 1.0.7, in one run (docs/performance.md).
#
# usage: benchmarks/compare/pomelo/run.sh [BUILD_DIR]        (default: build-perf)
#
# Installs Debian's nodejs/npm if missing (apt-get; needs root), installs pomelo-rpc@1.0.7
# from npm into BUILD_DIR/compare/pomelo (never into the source tree), builds mailroom-load
# there if missing, and then, for REPS rounds, runs each configuration in turn (so drift
# hits all of them alike): mailroom-load --mode separate --vs-raw (mailroom over TCP, then
# the raw socket), pomelo as shipped, pomelo with TCP_NODELAY forced on from the harness,
# and pomelo with TCP_NODELAY and bufferMsg at each interval. Every configuration is one
# client process and one server process on loopback with N calls in flight, echoing a
# PAYLOAD-byte string. Prints medians, pomelo's best configuration and the ratios.
#
# Settings (environment): REPS=5 DURATION=3 (measured seconds per run) INFLIGHT="100 1"
# PAYLOAD=64 INTERVALS="1 2 5 10" (bufferMsg flush intervals, ms) PIN= (a CPU: pins both
# processes of every configuration to it).
# Exit status: 0 when every run succeeded, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
build=${1:-$repo/build-perf}
REPS=${REPS:-5}
DURATION=${DURATION:-3}
INFLIGHT=${INFLIGHT:-"100 1"}
PAYLOAD=${PAYLOAD:-64}
INTERVALS=${INTERVALS:-"1 2 5 10"}
PIN=${PIN:-}

say() { printf '%s\n' "$*" >&2; }
die() { say "run.sh: $*"; exit 1; }

# --- tools ---------------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    [[ $(id -u) -eq 0 ]] || die "node and npm are missing; run as root or: apt-get install nodejs npm"
    say "installing nodejs and npm (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [[ -n $PIN ]] && ! command -v taskset >/dev/null; then
    die "PIN needs taskset (util-linux)"
fi

load=$build/benchmarks/mailroom-load
if [[ ! -x $load ]]; then
    say "building mailroom-load in $build"
    cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DMAILROOM_BUILD_BENCHMARKS=ON >/dev/null || die "cmake failed for $build"
    ninja -C "$build" -j1 mailroom-load >&2 || die "building mailroom-load failed"
fi

nodedir=$build/compare/pomelo
mkdir -p "$nodedir"
installed=$(cd "$nodedir" && node -p "require('./node_modules/pomelo-rpc/package.json').version" 2>/dev/null || true)
if [[ $installed != 1.0.7 ]]; then
    say "installing pomelo-rpc@1.0.7 into $nodedir"
    [[ -f $nodedir/package.json ]] ||
        printf '{"name":"mailroom-pomelo-compare","private":true}\n' >"$nodedir/package.json"
    (cd "$nodedir" && npm install --no-audit --no-fund --loglevel=error pomelo-rpc@1.0.7 >&2) ||
        die "npm install pomelo-rpc@1.0.7 failed"
fi
export NODE_PATH=$nodedir/node_modules

# --- runs ----------------------------------------------------------------------------
results=$nodedir/results-$(date +%Y%m%d-%H%M%S).jsonl
: >"$results"
failed=0
pin_args=()
[[ -n $PIN ]] && pin_args=(--pin "$PIN")

record() { # round inflight label json
    printf '{"round":%s,"inflight":%s,"label":"%s","result":%s}\n' "$1" "$2" "$3" "$4" >>"$results"
}

run_mailroom() { # round inflight
    local out
    if out=$("$load" --mode separate --vs-raw --inflight "$2" --duration "$DURATION" \
        --payload "$PAYLOAD" "${pin_args[@]}" --json); then
        record "$1" "$2" mailroom "$out"
    else
        say "run.sh: mailroom-load failed (round $1, $2 in flight)"
        failed=1
    fi
}

run_pomelo() { # round inflight label args...
    local round=$1 n=$2 label=$3 out
    shift 3
    if out=$(node "$here/client.js" --inflight "$n" --duration "$DURATION" --payload "$PAYLOAD" \
        ${PIN:+--pin "$PIN"} "$@"); then
        record "$round" "$n" "$label" "$out"
    else
        say "run.sh: pomelo ($label) failed (round $round, $n in flight)"
        failed=1
    fi
}

say "results: $results"
# Other work on the machine changes what the ceiling is (busy vCPUs wake each other faster:
# raw gains far more than mailroom), so the load average is part of the result.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$REPS"); do
    for n in $INFLIGHT; do
        say "round $round/$REPS, $n in flight"
        run_mailroom "$round" "$n"
        run_pomelo "$round" "$n" "pomelo shipped"
        run_pomelo "$round" "$n" "pomelo nodelay" --nodelay
        for ms in $INTERVALS; do
            run_pomelo "$round" "$n" "pomelo nodelay+buffer ${ms}ms" --nodelay --buffer-ms "$ms"
        done
    done
done

echo "mailroom vs raw vs pomelo-rpc 1.0.7: $REPS rounds, ${DURATION} s each, ${PAYLOAD}-byte" \
    "payload, separate processes on loopback${PIN:+, all pinned to CPU $PIN}"
echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
node "$here/summarise.js" "$results"
exit "$failed"
