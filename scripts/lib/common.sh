# Shared by scripts/demo.sh and scripts/test.sh: installs missing Debian packages
# (idempotent; apt-get runs only when something is missing) and configures + builds.

# Packages the build needs on Debian 12.
MAILROOM_BUILD_PACKAGES=(g++ cmake ninja-build pkg-config libboost-dev libmsgpack-cxx-dev libfmt-dev nlohmann-json3-dev libssl-dev libhiredis-dev)
# Added for the tests and benchmarks.
MAILROOM_TEST_PACKAGES=(libgtest-dev libgmock-dev libbenchmark-dev)
# The WebSocket interop tests (label interop): Node's ws package and headless Chromium.
MAILROOM_TEST_PACKAGES+=(nodejs node-ws chromium)
# The Redis transport's tests start their own redis-server.
MAILROOM_TEST_PACKAGES+=(redis-server)
# redis-cli --cluster create joins the Redis Cluster of redis_cluster_test.
MAILROOM_TEST_PACKAGES+=(redis-tools)
# The fuzz targets (scripts/fuzz.sh): clang 14 and its runtimes (libFuzzer, ASan, UBSan);
# Debian 12 names them libclang-rt-14-dev.
MAILROOM_FUZZ_PACKAGES=(clang libclang-rt-14-dev)
# The executables of the ctest labels unit and filters, which scripts/test.sh runs under
# ASan + UBSan.
MAILROOM_ASAN_CI_TARGETS="core_unit_test client_unit_test server_unit_test link_core_test \
call_pipeline_test mail_station_test ws_unit_test tcp_framed_stream_test filters_test"

mailroom_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# mailroom_build <build dir> [cmake args...]
mailroom_build() {
    local dir=$1
    shift
    cmake -S . -B "$dir" -G Ninja "$@"
    cmake --build "$dir" -j2
}

# mailroom_node_deps: installs the pinned Node projects of the interop tests (npm ci from
# their committed package-lock.json) when node_modules is missing or older than the lock:
# tests/interop/pomelo holds stock pomelo-rpc 1.0.7 for the pomelo interop tests,
# examples/pomelo_mixed the same for the mixed-cluster example. Debian's
# npm is installed only if no npm is found (NodeSource's nodejs ships its own, and Debian's
# package would conflict with it).
mailroom_node_deps() {
    local dir
    command -v npm >/dev/null || mailroom_install npm
    for dir in tests/interop/pomelo examples/pomelo_mixed; do
        if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
            echo "== npm ci in $dir"
            (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) && touch "$dir/node_modules"
        fi
    done
}
