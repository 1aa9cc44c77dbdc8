# shellcheck shell=bash
# What bench/instructions.sh and bench/cpu-per-request.sh share: both servers'
# binaries, a scratch directory, the 1 KiB body, and starting a server until it
# answers the echo route. Sourced; the sourcing script sets BENCH_SCRIPT (its
# name, for messages) and `set -euo pipefail` first.

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
echobase_bin=$(realpath "${ECHOBASE_BIN:-target/release/echobase}")
baseline_bin=$(realpath "${BASELINE_BIN:-target/release/baseline}")
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# The key both servers are started with and the requests send.
BENCH_KEY=bench-key

die() {
    echo "$BENCH_SCRIPT: $*" >&2
    exit 1
}

[[ -x $echobase_bin && -x $baseline_bin ]] ||
    die "build first: cargo build --release --bins"
head -c 1024 /dev/zero | tr '\0' x >"$work/body"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME SECONDS -- COMMAND...: runs COMMAND in $work (PORT in it
# replaced by a free port) and waits up to SECONDS until it answers the echo
# route. Sets server_pid and server_port. ECHOBASE_BIN is not passed on: the
# server would read it as a setting.
start_server() {
    local name=$1 seconds=$2
    shift 3
    server_port=$(free_port)
    (cd "$work" && unset ECHOBASE_BIN && ECHOBASE_LOG_LEVEL=warn ECHOBASE_ECHO__SERVER_KEY=$BENCH_KEY \
        exec "${@//PORT/$server_port}" >"$work/$name.log" 2>&1) &
    server_pid=$!
    for _ in $(seq 1 $((seconds * 10))); do
        curl -sf -o /dev/null -X POST -H "server_key: $BENCH_KEY" --data x \
            "http://127.0.0.1:$server_port/" && return 0
        kill -0 "$server_pid" 2>/dev/null || die "$name did not start: $(tail -3 "$work/$name.log")"
        sleep 0.1
    done
    die "$name did not answer within ${seconds}s: $(tail -3 "$work/$name.log")"
}
