#!/usr/bin/env bash
# What does the shared request journal cost? Three echobase processes run side
# by side, each serving the same one stub: on SQLite (the journal in memory),
# on PostgreSQL with the journal shared by every process on the database (the
# default there), and on PostgreSQL with a journal per process
# (`mocks.journal_shared = false`). wrk measures them in alternating rounds, so
# all three see the same machine state; the medians and their ratios are
# printed, then how long a `verify` (`POST /__admin/requests/count`) takes on
# each once the journal is full, median of 21.
#
# Usage: bench/mocks-journal.sh   (env: ROUNDS=5 DURATION=5s CONNECTIONS=64 THREADS=2
#                                   ECHOBASE_BIN=target/release/echobase
#                                   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$BENCH_DIR/.." && pwd)
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
BIN=${ECHOBASE_BIN:-$ROOT/target/release/echobase}
ADMIN_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
[[ -x $BIN ]] || { echo "not an executable: $BIN (cargo build --release)" >&2; exit 1; }
for tool in wrk psql curl; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/echobase-mocks-journal.XXXXXX")
PIDS=()
DATABASES=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for name in "${DATABASES[@]}"; do
        psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>&1 || true
    done
    rm -rf -- "$WORK"
}
trap cleanup EXIT

postgres_database() { # a fresh database's URL
    local name=echobase_bench_$$_$RANDOM base=${ADMIN_URL%%\?*}
    psql -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE \"$name\"" >/dev/null
    DATABASES+=("$name")
    echo "${base%/*}/$name"
}

start() { # start NAME PORT DATABASE_URL SHARED
    local name=$1 port=$2 url=$3 shared=$4
    (cd "$WORK" && unset ECHOBASE_BIN && ECHOBASE_LOG_LEVEL=warn ECHOBASE_MOCKS__JOURNAL_SHARED=$shared \
        exec "$BIN" serve --listen "127.0.0.1:$port" --database-url "$url") >"$WORK/$name.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
        sleep 0.1
    done
    "$BENCH_DIR/mocks-stubs.sh" 1 >"$WORK/$name.json"
    curl -sf -X POST --data-binary @"$WORK/$name.json" "http://127.0.0.1:$port/__admin/mappings/import" >/dev/null
    [[ $(curl -sf "http://127.0.0.1:$port/bench/target") == target ]]
}

NAMES=(sqlite pg-shared pg-per-process)
BASE_PORT=$((20000 + RANDOM % 5000))
declare -A PORT
PORT[sqlite]=$BASE_PORT
PORT[pg-shared]=$((BASE_PORT + 1))
PORT[pg-per-process]=$((BASE_PORT + 2))
start sqlite "${PORT[sqlite]}" "sqlite://$WORK/sqlite.db" true
start pg-shared "${PORT[pg-shared]}" "$(postgres_database)" true
start pg-per-process "${PORT[pg-per-process]}" "$(postgres_database)" false

rps() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$1" | awk '/^Requests\/sec:/ {print $2}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

declare -A RESULTS
for round in $(seq "$ROUNDS"); do
    order=("${NAMES[@]}")
    # Each round starts with a different server.
    shift_by=$(((round - 1) % ${#NAMES[@]}))
    order=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
    line="round $round:"
    for name in "${order[@]}"; do
        value=$(rps "http://127.0.0.1:${PORT[$name]}/bench/target")
        RESULTS[$name]+="$value "
        line+=" $name $value"
    done
    echo "$line req/s" >&2
done

# A verify once each journal holds its 10,000 newest requests.
verify_ms() {
    local port=$1 times=()
    for _ in $(seq 21); do
        times+=("$(curl -sf -o /dev/null -w '%{time_total}' -X POST \
            --data '{"url": "/bench/target"}' "http://127.0.0.1:$port/__admin/requests/count")")
    done
    awk -v m="$(median "${times[@]}")" 'BEGIN {printf "%.1f", m * 1000}'
}

sqlite_median=$(median ${RESULTS[sqlite]})
echo
echo "| server | mock GET req/s (median of $ROUNDS) | vs SQLite | verify (count), ms |"
echo "|---|---:|---:|---:|"
for name in "${NAMES[@]}"; do
    value=$(median ${RESULTS[$name]})
    ratio=$(awk -v a="$value" -v b="$sqlite_median" 'BEGIN {printf "%.2f", a / b}')
    echo "| $name | $value | ${ratio}× | $(verify_ms "${PORT[$name]}") |"
done
shared=$(median ${RESULTS[pg-shared]})
local_=$(median ${RESULTS[pg-per-process]})
echo
awk -v a="$shared" -v b="$local_" \
    'BEGIN {printf "shared journal vs per-process journal on PostgreSQL: %.3f×\n", a / b}'
