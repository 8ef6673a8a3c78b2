#!/usr/bin/env bash
# mailroom-cluster-sim over several cluster sizes and registry settings, RUNS runs each,
# niced; prints one Markdown table of medians for docs/membership.md ("Past one machine").
#
#   benchmarks/cluster_sim/sweep.sh BUILD_DIR
#   RUNS=3 CONFIGS=$'100|\n100|--lease-ttl 600 --resync 200' benchmarks/cluster_sim/sweep.sh build
#
# CONFIGS: lines of "members|more options" (empty: none). TABLES: sizes for --table (the Redis
# side alone, a second table; default none). JSON=DIR keeps every run's JSON there. The
# script prints the load average before and after: the machine is shared, say so.
set -euo pipefail
build=$1
sim=$build/benchmarks/mailroom-cluster-sim
[ -x "$sim" ] || { echo "no $sim: build mailroom-cluster-sim first" >&2; exit 2; }
runs=${RUNS:-3}
configs=${CONFIGS-$'100|\n100|--lease-ttl 600 --resync 200\n200|\n400|'}
out=${JSON:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${JSON:-}" ] || trap 'rm -rf "$out"' EXIT

started=$(date -u +%H:%M)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
i=0
while IFS='|' read -r members opts; do
    [ -n "$members" ] || continue
    i=$((i + 1))
    for r in $(seq 1 "$runs"); do
        # shellcheck disable=SC2086
        nice -n 5 "$sim" --members "$members" $opts --json > "$out/$i.$r.json" || true
    done
    echo "$members|$opts" > "$out/$i.config"
done <<< "$configs"
tables=${TABLES:-}
for t in $tables; do
    for r in $(seq 1 "$runs"); do
        nice -n 5 "$sim" --table "$t" --json > "$out/table.$t.$r.json" || true
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$out" "$runs" "$i" "$tables" <<PY
import json, statistics, sys
out, runs, n, tables = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None
def f(v):
    return "?" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}" if abs(v) < 1 else f"{v:.1f}")
print(f"mailroom-cluster-sim, {runs} runs per row (medians), started ${started} UTC, "
      f"load average before ${load_before}, after ${load_after}")
print()
if n:
  cols = [("cold start ms", "cold_start_ms_all_tables_full"),
          ("Redis cmds/s", "steady_redis_commands_per_s"), ("EVAL/s", "steady_redis_eval_per_s"),
          ("in KiB/s", "steady_redis_in_kib_per_s"), ("out KiB/s", "steady_redis_out_kib_per_s"),
          ("Redis CPU %", "steady_redis_cpu_pct"), ("sim CPU %", "steady_sim_cpu_pct"),
          ("list µs", "list_usec_per_call"), ("list KiB", "list_reply_kib"),
          ("join ms med / last", ("join_ms_median_peer", "join_ms_last_peer")),
          ("leave ms med / last", ("leave_ms_median_peer", "leave_ms_last_peer")),
          ("kill ms med / last", ("kill_ms_median_peer", "kill_ms_last_peer")),
          ("Redis out KiB per join", "join_redis_out_kib"), ("missed", "peer_changes_missed"),
          ("warnings", "registry_warnings")]
  print("| members | lease / resync ms | " + " | ".join(c for c, _ in cols) + " |")
  print("|---:|---|" + "---:|" * len(cols))
  for k in range(1, n + 1):
      rows = [x for x in (load(f"{out}/{k}.{r}.json") for r in range(1, runs + 1)) if x]
      if not rows:
          print(f"| {open(f'{out}/{k}.config').read().strip()} | (no run completed) |")
          continue
      def med(key):
          v = [x[key] for x in rows if isinstance(x.get(key), (int, float))]
          return statistics.median(v) if v else None
      cells = []
      for _, key in cols:
          cells.append(" / ".join(f(med(x)) for x in key) if isinstance(key, tuple) else f(med(key)))
      x = rows[0]
      print(f"| {x['members']} | {x['lease_ttl_ms']} / {x['resync_period_ms']} | "
            + " | ".join(cells) + f" |{'' if len(rows) == runs else f' ({len(rows)} of {runs} runs)'}")
if tables:
    print()
    cols = [("entry B", "entry_bytes_member0"), ("list µs", "list_usec_per_call"),
            ("list KiB", "list_reply_kib"), ("storm ms", "storm_ms"),
            ("Redis CPU ms per change", "change_redis_cpu_ms"),
            ("Redis out MiB per change", "change_redis_out_mib"),
            ("Redis cores at resync 1 s", "steady_redis_core_fraction_resync_1s"),
            ("out MiB/s at resync 1 s", "steady_redis_out_mib_per_s_resync_1s"),
            ("Redis cores at resync 10 s", "steady_redis_core_fraction_resync_10s"),
            ("one HGET each: ms", "delta_storm_ms"),
            ("one HGET each: out KiB", "delta_change_redis_out_kib")]
    print("| table (members) | " + " | ".join(c for c, _ in cols) + " |")
    print("|---:|" + "---:|" * len(cols))
    for t in tables:
        rows = [x for x in (load(f"{out}/table.{t}.{r}.json") for r in range(1, runs + 1)) if x]
        def med(key):
            v = [x[key] for x in rows if isinstance(x.get(key), (int, float))]
            return statistics.median(v) if v else None
        print(f"| {int(t):,} | " + " | ".join(f(med(k)) for _, k in cols) + " |")
PY
