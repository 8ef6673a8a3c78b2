#!/usr/bin/env bash
# A/B of two builds of mailroom-load, side by side: ROUNDS rounds, each running A then B (the
# order alternates every round), with the same options. Prints each round's figures and the
# medians: calls/s, ratio to the bare socket (--vs-raw), CPU per call (client + server), p50;
# B/A is the ratio of the medians, "paired" the median of each round's own B / A with its
# 95 % interval.
#
#   benchmarks/compare/ab.sh A_BUILD_DIR B_BUILD_DIR [mailroom-load options...]
#   ROUNDS=5 benchmarks/compare/ab.sh /tmp/base/build build --mode separate --duration 3 \
#       --inflight 100 --vs-raw
#
# A_ARGS and B_ARGS add options to one side only, so one build can be compared with itself
# under two settings (metrics off and on):
#
#   ROUNDS=7 B_ARGS=--metrics benchmarks/compare/ab.sh build build --mode separate ...
#
# Take the figures on an otherwise idle machine (docs/performance.md, "Idle and busy vCPUs");
# the script prints the load average before and after.
set -euo pipefail
a=$1/benchmarks/mailroom-load
b=$2/benchmarks/mailroom-load
shift 2
read -r -a a_args <<< "${A_ARGS:-}"
read -r -a b_args <<< "${B_ARGS:-}"
rounds=${ROUNDS:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then order="a b"; else order="b a"; fi
    for which in $order; do
        bin=$a
        extra=("${a_args[@]}")
        if [ "$which" = b ]; then
            bin=$b
            extra=("${b_args[@]}")
        fi
        "$bin" "$@" "${extra[@]}" --json > "$out/$which.$r.json"
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" "$rounds" <<'EOF'
import json, random, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
keys = [("calls_per_sec", "calls/s"), ("ratio_calls_per_sec", "ratio to raw"),
        ("cpu_us_per_call", "CPU us/call"), ("client_cpu_us_per_call", "client us/call"),
        ("server_cpu_us_per_call", "server us/call"), ("p50_us", "p50 us")]
runs = {w: [json.load(open(f"{out}/{w}.{r}.json")) for r in range(1, rounds + 1)] for w in "ab"}
for k, label in keys:
    if k not in runs["a"][0]:
        continue
    a = [x[k] for x in runs["a"]]
    b = [x[k] for x in runs["b"]]
    ma, mb = statistics.median(a), statistics.median(b)
    # Each round's own B / A too: A and B of a round run back to back, sharing the machine's
    # state, so their ratio drifts less than the two medians do. Its 95 % interval is a
    # bootstrap of that median (5,000 resamples of the pairs, a fixed seed).
    pairs = [y / x for x, y in zip(a, b)]
    paired = statistics.median(pairs)
    rng = random.Random(1)
    boot = sorted(statistics.median(rng.choices(pairs, k=len(pairs))) for _ in range(5000))
    print(f"{label:15} A {ma:>12,.3f}  B {mb:>12,.3f}  B/A {mb / ma:6.3f}  paired {paired:6.3f} "
          f"({boot[124]:.3f}-{boot[4874]:.3f})   "
          f"rounds A {', '.join(f'{v:,.3f}' for v in a)} | B {', '.join(f'{v:,.3f}' for v in b)}")
EOF
