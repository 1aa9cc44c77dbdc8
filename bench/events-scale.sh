#!/usr/bin/env bash
# Events at scale. Generates N events (bench/events-gen.sh, default 1,000,000),
# then per backend:
#   1. imports them with `echobase events import FILE.ndjson` (events/s),
#   2. starts `echobase serve` on that database and times, over BENCH_RUNS
#      sequential requests each (median, min, max in ms, curl's time_total):
#      the summary over all events (day and week buckets), a one-engineer
#      range query (one page of up to 1,000 events over three months), and
#      the compatible /listevents/{engineer} and /summaryevents,
#   3. imports the same file into a fresh database over HTTP
#      (POST /v1/events:ndjson, one request, streamed from the file) (events/s).
# Both imports go into an empty events table: the bulk path (docs/events.md,
# "Loading many events"). The machine's load average is printed before and
# after, since these machines are shared.
# SQLite always; PostgreSQL when BENCH_PG_URL (default
# postgres://postgres@127.0.0.1:5432) answers to psql. After the PostgreSQL
# import the table is VACUUM ANALYZEd, as autovacuum would after a bulk load.
#
# Usage: bench/events-scale.sh            (BENCH_EVENTS=100000 for a quick run,
#        BENCH_EVENTS=10000000 for the 10M figures)
# Environment: BENCH_EVENTS, BENCH_RUNS (11), BENCH_BACKENDS ("sqlite postgres"),
# BENCH_SKIP_BUILD=1, ECHOBASE_BIN (target/release/echobase), BENCH_PG_URL.
# It reports numbers; it never fails because of them.
set -euo pipefail

BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$BENCH_DIR/.." && pwd)
N=${BENCH_EVENTS:-1000000}
RUNS=${BENCH_RUNS:-11}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
BIN=${ECHOBASE_BIN:-$ROOT/target/release/echobase}
ENGINEER=eng-042

log() { printf '[events-bench] %s\n' "$*" >&2; }

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "building the release binary"
    (cd "$ROOT" && cargo build --release --bin echobase)
fi
[[ -x $BIN ]] || { log "no binary at $BIN"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/echobase-events-bench.XXXXXX")
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

log "generating $N events"
"$BENCH_DIR/events-gen.sh" "$N" >"$WORK/events.ndjson"
log "$(wc -c <"$WORK/events.ndjson") bytes of NDJSON"

# Environment for echobase: only what we set (it reads every ECHOBASE_* variable).
run_echobase() {
    exec env -i PATH="$PATH" HOME="${HOME:-/tmp}" ECHOBASE_LOG_LEVEL="info,echobase::access=warn,sqlx=warn" \
        ECHOBASE_LOG_FORMAT=json ECHOBASE_REQUEST_TIMEOUT=60m ECHOBASE_BODY_LIMIT=1MiB "$BIN" "$@"
}

start_server() {
    local url=$1
    # A fresh log, written before we look for the address in it; `exec` makes
    # the background job's pid the server's own.
    rm -f "$WORK/server.log"
    (run_echobase serve --listen 127.0.0.1:0 --database-url "$url" 2>"$WORK/server.log" >/dev/null) &
    SERVER_PID=$!
    local address=
    for _ in $(seq 1 300); do
        address=$(grep -o '"address":"[^"]*"' "$WORK/server.log" 2>/dev/null | head -1 | cut -d'"' -f4 || true)
        [[ -n $address ]] && break
        sleep 0.1
    done
    [[ -n $address ]] || { log "the server did not start:"; cat "$WORK/server.log" >&2; exit 1; }
    BASE=http://$address
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# Prints "median min max" in ms of RUNS sequential GETs (after one warm-up).
time_get() {
    local url=$1 status
    status=$(curl -s -o "$WORK/body" -w '%{http_code}' "$url")
    [[ $status == 200 ]] || { log "GET $url answered $status: $(head -c 300 "$WORK/body")"; exit 1; }
    for _ in $(seq 1 "$RUNS"); do
        curl -s -o /dev/null -w '%{time_total}\n' "$url"
    done | sort -g | awk '{ t[NR] = $1 * 1000 } END { printf "%.1f %.1f %.1f", t[int((NR + 1) / 2)], t[1], t[NR] }'
}

fresh_url() {
    local backend=$1 name=$2
    if [[ $backend == sqlite ]]; then
        echo "sqlite://$WORK/$name.db"
    else
        psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
        echo "$PG/$name"
    fi
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
RESULTS=()
for backend in $BACKENDS; do
    if [[ $backend == postgres ]] && ! psql -q "$PG/postgres" -c 'SELECT 1' >/dev/null 2>&1; then
        log "PostgreSQL at $PG does not answer: skipped"
        continue
    fi
    log "[$backend] CLI import"
    url=$(fresh_url "$backend" echobase_events_bench)
    started=$(now)
    (run_echobase events import "$WORK/events.ndjson" --database-url "$url" >"$WORK/import.txt")
    seconds=$(elapsed "$started" "$(now)")
    log "$(cat "$WORK/import.txt")"
    RESULTS+=("$backend  import (CLI, NDJSON)            ${seconds}s  $(rate "$N" "$seconds") events/s")
    log "${RESULTS[-1]}"
    if [[ $backend == postgres ]]; then
        psql -q "$url" -c 'VACUUM ANALYZE events' >/dev/null
    fi

    start_server "$url"
    for query in \
        "summary, day buckets|/v1/events/summary" \
        "summary, week buckets|/v1/events/summary?bucket=week" \
        "summary, one engineer|/v1/events/summary?engineer=$ENGINEER" \
        "one engineer, 3 months|/v1/events?engineer=$ENGINEER&from=2024-03-01&to=2024-06-01&limit=1000" \
        "compat /listevents/{engineer}|/listevents/$ENGINEER" \
        "compat /summaryevents|/summaryevents" \
        "DORA, one service, 30 days|/v1/dora?service=svc-07&from=2024-06-01&to=2024-07-01" \
        "DORA, one service, 90 days|/v1/dora?service=svc-07&from=2024-06-01&to=2024-08-30"; do
        name=${query%%|*}
        path=${query#*|}
        read -r median min max <<<"$(time_get "$BASE$path")"
        RESULTS+=("$(printf '%-9s %-32s median %7s ms  (min %s, max %s)' "$backend" "$name" "$median" "$min" "$max")")
        log "${RESULTS[-1]}"
    done
    stop_server

    log "[$backend] HTTP NDJSON import"
    url=$(fresh_url "$backend" echobase_events_bench_http)
    start_server "$url"
    started=$(now)
    # -T streams the file (--data-binary @file would read it all into memory first).
    curl -s -X POST -H 'content-type: application/x-ndjson' -T "$WORK/events.ndjson" \
        "$BASE/v1/events:ndjson" >"$WORK/report.json"
    seconds=$(elapsed "$started" "$(now)")
    log "report: $(head -c 200 "$WORK/report.json")"
    RESULTS+=("$backend  import (HTTP POST /v1/events:ndjson) ${seconds}s  $(rate "$N" "$seconds") events/s")
    log "${RESULTS[-1]}"
    stop_server
    if [[ $backend == postgres ]]; then
        psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS echobase_events_bench_http" \
            -c "DROP DATABASE IF EXISTS echobase_events_bench" >/dev/null
    fi
done

printf '\n%s events, %s runs per query, %s cores, load average %s before, %s after\n' \
    "$N" "$RUNS" "$(nproc)" "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "${RESULTS[@]}"
