#!/usr/bin/env bash
# Builds the library and the tests with a sanitizer into their own build directory and runs
# them (docs/security.md, "Sanitizers"):
#
#   scripts/sanitize.sh address   # ASan + UBSan, build-asan, the whole suite but packaging
#   scripts/sanitize.sh thread    # TSan, build-tsan, the concurrency, Redis, registry and
#                                 # pomelo tests ($tsan_tests)
#
# Extra arguments go to ctest (e.g. -R codec). Any report fails the run: UBSan halts on its
# first finding, ASan and TSan exit non-zero. CI runs the address mode (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

mode=${1:-}
shift || true

# The concurrency tests: the station (routes, snapshots and members changing under calls on
# other threads), the call pipeline and its failure policies and broadcasts, the filters,
# the metrics (series counted per thread, read from others),
# the tcp conformance suite (servers started, stopped and restarted under load), and the
# membership churn stress (three calling threads while servers leave, join and restart).
# Then the transports that run threads of their own beside the caller's: the Redis transport
# (its queue connections, the crash test's node process, Crawlab mode, Redis Cluster), the
# live registry (membership from Redis while calls run), and pomelo (mailroom on both ends,
# and against stock Node pomelo-rpc peers). The Redis tests start their own redis-server.
tsan_tests=(mail_station_test call_pipeline_test failure_policies_test broadcast_test
    filters_test metrics_test conformance_tcp_test churn_test
    redis_unit_test redis_transport_test conformance_redis_test redis_crawlab_test
    redis_cluster_test registry_test pomelo_unit_test pomelo_test pomelo_interop_test)
# redis_transport_test's crash test runs redis_test_server as a process of its own.
tsan_targets=("${tsan_tests[@]}" redis_test_server)
tsan_regex="^($(IFS='|'; echo "${tsan_tests[*]}"))\\."

case "$mode" in
address)
    dir=build-asan
    # g++ 12 with the instrumentation reports -Wmaybe-uninitialized in Beast's HTTP parser
    # (boost::optional's storage in basic_parser::do_field), an error with -Werror; the plain
    # build does not see it.
    flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -Wno-maybe-uninitialized"
    # packaging tests the install and a consumer's build, not memory: it runs in the plain
    # build. (example.area, built the same way, runs here: its three processes are checked.)
    ctest_args=(-LE packaging)
    targets=()
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=0:strict_string_checks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    ;;
thread)
    dir=build-tsan
    # g++ warns that Asio's atomic_thread_fence is not instrumented (-Wtsan, an error with
    # -Werror); the fences sit beside the atomics TSan does see.
    flags="-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan"
    ctest_args=(-R "$tsan_regex")
    targets=("${tsan_targets[@]}")
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp}
    ;;
*)
    echo "usage: $0 address|thread [ctest args...]" >&2
    exit 2
    ;;
esac

mailroom_install "${MAILROOM_BUILD_PACKAGES[@]}" "${MAILROOM_TEST_PACKAGES[@]}"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$dir" -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
    -DCMAKE_SHARED_LINKER_FLAGS="$flags" -DMAILROOM_BUILD_TESTS=ON \
    -DMAILROOM_BUILD_EXAMPLES=ON -DMAILROOM_BUILD_BENCHMARKS=ON \
    -DMAILROOM_WARNINGS_AS_ERRORS=ON -DMAILROOM_CHECK_HEADERS=OFF
# MAILROOM_SANITIZE_TARGETS (space-separated test executables) builds only those and runs
# only their tests: the selection follows the names, so a test that gains a label elsewhere
# never leaves a NOT_BUILT placeholder in the run.
if [ -n "${MAILROOM_SANITIZE_TARGETS:-}" ]; then
    read -r -a targets <<<"$MAILROOM_SANITIZE_TARGETS"
    ctest_args+=(-R "^($(IFS='|'; echo "${targets[*]}"))\\.")
fi
cmake --build "$dir" -j2 ${targets[@]+--target "${targets[@]}"}
ctest --test-dir "$dir" --output-on-failure -j2 "${ctest_args[@]}" "$@"
