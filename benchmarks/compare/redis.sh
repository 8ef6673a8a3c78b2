#!/usr/bin/env bash
# The Redis transport side by side with its ceilings: mailroom over its Redis-queue transport,
# the same round trip with hiredis and no framework (raw-redis), and Crawlab's round trip
# with one reply key per call (raw-crawlab). Each run is mailroom-load in separate processes
# with a redis-server of its own; ROUNDS rounds per number in flight, the columns' order
# rotating every round; prints one Markdown table per number in flight (medians, and the
# medians of the per-round ratios to the BASELINE column), ready for docs/performance.md.
#
#   benchmarks/compare/redis.sh BUILD_DIR [more mailroom-load options, e.g. --pin 0]
#   ROUNDS=5 DURATION=3 INFLIGHT="1 100" benchmarks/compare/redis.sh build
#
# One more column: EXTRA_COLUMNS, lines of "label|mailroom-load options", e.g.
#   EXTRA_COLUMNS='mailroom crawlab|--transport redis --crawlab' benchmarks/compare/redis.sh build
# JSON=DIR keeps every run's JSON there. Take the figures on an otherwise idle machine
# (docs/performance.md); the script prints the load average before and after.
set -euo pipefail
build=$1
shift
load=$build/benchmarks/mailroom-load
[ -x "$load" ] || { echo "no $load: build mailroom-load first" >&2; exit 2; }
rounds=${ROUNDS:-5}
duration=${DURATION:-3}
inflight=${INFLIGHT:-"1 100"}
baseline=${BASELINE:-raw redis}

# Each column: its label, then the options that select it.
columns=(
    "mailroom redis|--transport redis"
    "raw redis|--transport raw-redis"
    "raw crawlab|--transport raw-crawlab"
)
if [ -n "${EXTRA_COLUMNS:-}" ]; then
    while IFS= read -r line; do
        [ -n "$line" ] && columns+=("$line")
    done <<< "$EXTRA_COLUMNS"
fi

out=${JSON:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${JSON:-}" ] || trap 'rm -rf "$out"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%MZ)
n=${#columns[@]}
for f in $inflight; do
    for ((r = 1; r <= rounds; r++)); do
        for ((k = 0; k < n; k++)); do
            c=$(((k + r - 1) % n))
            opts=${columns[$c]#*|}
            # shellcheck disable=SC2086 # the column's options are words
            "$load" --mode separate $opts --duration "$duration" --inflight "$f" "$@" --json \
                > "$out/$f.$c.$r.json"
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

labels=()
for c in "${columns[@]}"; do labels+=("${c%%|*}"); done
python3 - "$out" "$rounds" "$inflight" "$baseline" "${labels[@]}" <<EOF
import json, statistics, sys
out, rounds, inflight, baseline = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
labels = sys.argv[5:]
print("Redis transport: ${rounds} rounds of ${duration} s per column, separate processes, "
      "a redis-server per run; extra options: '${*}'")
print("started ${started}, load average before ${load_before}, after ${load_after}, "
      "commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)")
def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None
def fmt(v, spec):
    return "?" if v is None else format(v, spec)
b = labels.index(baseline) if baseline in labels else 0
for f in inflight:
    runs = [[json.load(open(f"{out}/{f}.{c}.{r}.json")) for r in range(1, rounds + 1)]
            for c in range(len(labels))]
    print()
    print(f"{f} in flight (medians; ratios to {labels[b]}: median of the per-round ratios)")
    print()
    print("| configuration | calls/s | p50 µs | p99 µs | CPU µs/call total | client | server "
          "| redis-server | calls/s ratio | CPU ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c, label in enumerate(labels):
        m = {k: med([x.get(k) for x in runs[c]]) for k in runs[c][0]
             if isinstance(runs[c][0][k], (int, float)) or runs[c][0][k] is None}
        def ratio(key):
            v = [x[key] / y[key] for x, y in zip(runs[c], runs[b])
                 if x.get(key) is not None and y.get(key)]
            return med(v)
        print(f"| {label} | {fmt(m['calls_per_sec'], ',.0f')} | {fmt(m['p50_us'], ',.1f')} "
              f"| {fmt(m['p99_us'], ',.1f')} | {fmt(m['cpu_us_per_call'], '.2f')} "
              f"| {fmt(m['client_cpu_us_per_call'], '.2f')} "
              f"| {fmt(m['server_cpu_us_per_call'], '.2f')} "
              f"| {fmt(m['redis_cpu_us_per_call'], '.2f')} "
              f"| {fmt(ratio('calls_per_sec'), '.3f')} | {fmt(ratio('cpu_us_per_call'), '.3f')} |")
    for c, label in enumerate(labels):
        v = ", ".join(f"{x['calls_per_sec']:,.0f}" for x in runs[c])
        print(f"  {label} calls/s per round: {v}")
EOF
