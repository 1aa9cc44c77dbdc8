#!/usr/bin/env bash
# Does a mock's cost grow with the number of stubs? Two echobase processes run
# side by side, one with 1 stub and one with 10,000 (the requested stub defined
# last in both), and wrk measures them in alternating rounds (ABBA...), so both
# see the same machine state; the medians and their ratio are printed. A fairer
# comparison on a busy machine than two run.sh scenarios measured minutes apart.
#
# Usage: bench/mocks-scale.sh     (env: ROUNDS=7 DURATION=5s CONNECTIONS=64 THREADS=2
#                                   STUBS=10000 ECHOBASE_BIN=target/release/echobase)
set -euo pipefail
BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$BENCH_DIR/.." && pwd)
ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
STUBS=${STUBS:-10000}
BIN=${ECHOBASE_BIN:-$ROOT/target/release/echobase}
[[ -x $BIN ]] || { echo "not an executable: $BIN (cargo build --release)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/echobase-mocks-scale.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf -- "$WORK"
}
trap cleanup EXIT

start() { # start NAME PORT STUBS
    local name=$1 port=$2 count=$3
    (cd "$WORK" && unset ECHOBASE_BIN && ECHOBASE_LOG_LEVEL=warn exec "$BIN" serve \
        --listen "127.0.0.1:$port" --database-url "sqlite://$WORK/$name.db") >"$WORK/$name.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
        sleep 0.1
    done
    "$BENCH_DIR/mocks-stubs.sh" "$count" >"$WORK/$name.json"
    curl -sf -X POST --data-binary @"$WORK/$name.json" "http://127.0.0.1:$port/__admin/mappings/import" >/dev/null
    [[ $(curl -sf "http://127.0.0.1:$port/bench/target") == target ]]
}
PORT_ONE=$((20000 + RANDOM % 5000))
PORT_MANY=$((PORT_ONE + 1))
start one "$PORT_ONE" 1
start many "$PORT_MANY" "$STUBS"

rps() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$1" | awk '/^Requests\/sec:/ {print $2}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

one=() many=()
for round in $(seq "$ROUNDS"); do
    if ((round % 2)); then order="one many"; else order="many one"; fi
    for which in $order; do
        if [[ $which == one ]]; then one+=("$(rps "http://127.0.0.1:$PORT_ONE/bench/target")")
        else many+=("$(rps "http://127.0.0.1:$PORT_MANY/bench/target")"); fi
    done
    echo "round $round: 1 stub ${one[-1]} req/s, $STUBS stubs ${many[-1]} req/s" >&2
done
m1=$(median "${one[@]}")
m2=$(median "${many[@]}")
echo "# $(nproc) cpus; wrk -t$THREADS -c$CONNECTIONS -d$DURATION; medians of $ROUNDS alternating rounds"
printf '1 stub:        %8.0f req/s\n' "$m1"
printf '%-6s stubs:  %8.0f req/s  (%.1f%% of 1 stub)\n' "$STUBS" "$m2" "$(awk -v a="$m2" -v b="$m1" 'BEGIN {print 100 * a / b}')"
for name in one many; do
    pid_index=0; [[ $name == many ]] && pid_index=1
    echo "$name: RSS $(awk '/^VmRSS/ {print $2, $3}' "/proc/${PIDS[$pid_index]}/status")"
done
