#!/usr/bin/env bash
# Where mailroom-load's time goes, per call: callgrind twice (N and 2N calls, in-process so
# client and server are both in the profile), then per_call.py on the difference.
#
# usage: benchmarks/profile/run.sh [BUILD_DIR] [-- mailroom-load options...]
#   default options: --inflight 100 --payload 64;  CALLS=20000 (the smaller run)
# Needs valgrind (apt-get install valgrind). For sampled wall-clock profiles of separate
# processes use perf instead (docs/performance.md, "Profiles").
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$repo/build-perf
if [[ $# -ge 1 && $1 != -- ]]; then build=$1; shift; fi
[[ ${1:-} == -- ]] && shift
opts=("$@")
[[ ${#opts[@]} -eq 0 ]] && opts=(--inflight 100 --payload 64)
CALLS=${CALLS:-20000}
load=$build/benchmarks/mailroom-load
[[ -x $load ]] || { echo "run.sh: build mailroom-load first ($load)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "run.sh: valgrind is missing" >&2; exit 1; }
out=$(mktemp -d)
for n in "$CALLS" $((2 * CALLS)); do
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.$n" "$load" --mode inproc \
        --calls "$n" "${opts[@]}" >/dev/null 2>"$out/log.$n" ||
        { cat "$out/log.$n" >&2; exit 1; }
done
python3 "$here/per_call.py" "$out/cg.$CALLS" "$out/cg.$((2 * CALLS))" "$CALLS" \
    --callers malloc 'operator new(unsigned long)' pthread_mutex_lock
echo "(callgrind files in $out)"
