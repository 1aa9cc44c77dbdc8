#!/usr/bin/env bash
# Benchmarks echobase against the bare-hyper baseline (bench/baseline.rs) with wrk.
#
# Usage: bench/run.sh [SCENARIO ...]        (default: every bench/scenarios/*.sh)
#
# Environment (all optional):
#   BENCH_DURATION=10s     wrk duration of one measured round
#   BENCH_CONNECTIONS=64   wrk connections
#   BENCH_THREADS=2        wrk threads
#   BENCH_ROUNDS=3         measured rounds per target; targets alternate within a scenario
#   BENCH_WARMUP=2s        unmeasured warm-up per target and scenario ("0" skips it)
#   BENCH_START_TIMEOUT=60 seconds to wait for each server to answer
#   BENCH_SKIP_BUILD=1     do not run cargo build (use the binaries as they are)
#   BENCH_DATABASE_URL=URL echobase's database (e.g. postgres://postgres@127.0.0.1/bench,
#                          best empty); default: a fresh SQLite file in the temp dir
#   ECHOBASE_BIN=PATH      server under test, started as
#                          `PATH serve --listen ADDR --database-url URL`
#   BASELINE_BIN=PATH      baseline, started as `PATH --listen ADDR`
#
# It reports numbers; it never fails because of them.
set -euo pipefail

BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$BENCH_DIR/.." && pwd)
SCENARIO_DIR=$BENCH_DIR/scenarios
RESULTS_DIR=$BENCH_DIR/results

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-2s}
START_TIMEOUT=${BENCH_START_TIMEOUT:-60}
ECHOBASE_CMD=${ECHOBASE_BIN:-$ROOT/target/release/echobase}
DATABASE_URL=${BENCH_DATABASE_URL:-}
BASELINE_CMD=${BASELINE_BIN:-$ROOT/target/release/baseline}

log() { printf '[bench] %s\n' "$*" >&2; }
# shellcheck source=bench/wrk-lib.sh
source "$BENCH_DIR/wrk-lib.sh"
die() {
    log "error: $*"
    exit 1
}

# --- scenarios to run ----------------------------------------------------------

scenarios=()
if (($# > 0)); then
    for name in "$@"; do
        name=${name%.sh}
        [[ -f $SCENARIO_DIR/$name.sh ]] ||
            die "no scenario '$name' in $SCENARIO_DIR"
        scenarios+=("$name")
    done
else
    for file in "$SCENARIO_DIR"/*.sh; do
        [[ -e $file ]] || continue
        name=${file##*/}
        scenarios+=("${name%.sh}")
    done
fi
((${#scenarios[@]} > 0)) || die "no scenarios in $SCENARIO_DIR"

# --- tools and binaries -------------------------------------------------------

if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y wrk >/dev/null; then
        apt-get update >/dev/null
        apt-get install -y wrk >/dev/null
    fi
    command -v wrk >/dev/null 2>&1 || die "wrk is not installed and could not be installed"
fi
command -v curl >/dev/null 2>&1 || die "curl is needed to check that the servers are up"

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release --bin echobase --bin baseline)
fi
# The servers run in a temp dir: make relative paths absolute.
[[ $ECHOBASE_CMD == */* && $ECHOBASE_CMD != /* ]] && ECHOBASE_CMD=$PWD/$ECHOBASE_CMD
[[ $BASELINE_CMD == */* && $BASELINE_CMD != /* ]] && BASELINE_CMD=$PWD/$BASELINE_CMD
for bin in "$ECHOBASE_CMD" "$BASELINE_CMD"; do
    [[ -x $bin ]] || command -v "$bin" >/dev/null || die "not an executable: $bin"
done

# --- servers ------------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/echobase-bench.XXXXXX")
# Scratch space for scenarios (their setup and Lua may keep files here).
export BENCH_WORK=$WORK
DATABASE_URL=${DATABASE_URL:-sqlite://$WORK/bench.db}
ECHOBASE_PID=
BASELINE_PID=

stop_servers() {
    local pid
    for pid in $ECHOBASE_PID $BASELINE_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $ECHOBASE_PID $BASELINE_PID; do
        for _ in $(seq 100); do # up to 10s for a graceful shutdown, then SIGKILL
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    ECHOBASE_PID='' BASELINE_PID=''
    rm -rf -- "$WORK"
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port nothing on 127.0.0.1 listens on, below the usual ephemeral range so that
# wrk's own client sockets never collide with it.
free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 12000))
        if ! (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "could not find a free port"
}

# wait_ready NAME PID URL LOGFILE: polls URL until it answers 200.
wait_ready() {
    local name=$1 pid=$2 url=$3 logfile=$4 deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$name exited before answering; its output:"
            tail -n 30 "$logfile" >&2 || true
            return 1
        fi
        if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true) == 200 ]]; then
            return 0
        fi
        sleep 0.1
    done
    log "$name did not answer 200 on $url within ${START_TIMEOUT}s; its output:"
    tail -n 30 "$logfile" >&2 || true
    return 1
}

# The server's cwd is the temp dir (so no ./echobase.toml is picked up) and the
# harness's own ECHOBASE_BIN is not passed on: echobase reads ECHOBASE_* as settings.
ECHOBASE_PORT=$(free_port)
ECHOBASE_URL=http://127.0.0.1:$ECHOBASE_PORT
(
    cd "$WORK"
    unset ECHOBASE_BIN BENCH_DATABASE_URL
    export ECHOBASE_LOG_LEVEL=${ECHOBASE_LOG_LEVEL:-warn}
    # The echo scenarios send this key in their server_key header.
    export ECHOBASE_ECHO__SERVER_KEY=bench-key
    # mocks-e-proxy forwards to the baseline, on loopback.
    export ECHOBASE_MOCKS__PROXY_ALLOWED_TARGETS=127.0.0.0/8
    exec "$ECHOBASE_CMD" serve --listen "127.0.0.1:$ECHOBASE_PORT" \
        --database-url "$DATABASE_URL"
) >"$WORK/echobase.log" 2>&1 &
ECHOBASE_PID=$!

BASELINE_PORT=$(free_port)
while [[ $BASELINE_PORT == "$ECHOBASE_PORT" ]]; do BASELINE_PORT=$(free_port); done
BASELINE_URL=http://127.0.0.1:$BASELINE_PORT
(cd "$WORK" && exec "$BASELINE_CMD" --listen "127.0.0.1:$BASELINE_PORT") \
    >"$WORK/baseline.log" 2>&1 &
BASELINE_PID=$!

wait_ready echobase "$ECHOBASE_PID" "$ECHOBASE_URL/healthz" "$WORK/echobase.log" ||
    die "echobase did not start"
wait_ready baseline "$BASELINE_PID" "$BASELINE_URL/" "$WORK/baseline.log" ||
    die "baseline did not start"
log "echobase on $ECHOBASE_URL (pid $ECHOBASE_PID, database ${DATABASE_URL%%://*}), baseline on $BASELINE_URL (pid $BASELINE_PID)"
export ECHOBASE_URL BASELINE_URL

# --- measuring ----------------------------------------------------------------

# load_scenario NAME: resets the scenario variables, then sources the file.
load_scenario() {
    unset ECHOBASE_PATH BASELINE_PATH METHOD BODY BODY_BYTES CONTENT_TYPE DESCRIPTION LUA \
        SCENARIO_CONNECTIONS
    HEADERS=()
    unset -f setup 2>/dev/null || true
    # shellcheck source=/dev/null
    source "$SCENARIO_DIR/$1.sh"
    [[ -n ${ECHOBASE_PATH:-} ]] || die "scenario $1: ECHOBASE_PATH is not set"
    BASELINE_PATH=${BASELINE_PATH:-/}
    METHOD=${METHOD:-GET}
}

# write_lua NAME: the wrk script for the loaded scenario; the body is read from a
# file so it is sent byte for byte.
write_lua() {
    local name=$1 lua=$WORK/$1.lua body=$WORK/$1.body header
    {
        echo "wrk.method = $(lua_string "$METHOD")"
        if [[ -n ${BODY+set} || ${BODY_BYTES:-0} -gt 0 ]]; then
            if [[ -n ${BODY+set} ]]; then
                printf '%s' "$BODY" >"$body"
            else
                head -c "$BODY_BYTES" /dev/zero | tr '\0' 'x' >"$body"
            fi
            echo "local f = assert(io.open($(lua_string "$body"), \"rb\"))"
            echo "wrk.body = f:read(\"*a\")"
            echo "f:close()"
            echo "wrk.headers[\"Content-Type\"] = $(lua_string "${CONTENT_TYPE:-application/octet-stream}")"
        fi
        for header in "${HEADERS[@]}"; do
            [[ $header == *:* ]] || die "scenario $name: header '$header' is not 'Name: value'"
            local key=${header%%:*} value=${header#*:}
            value=${value# }
            echo "wrk.headers[$(lua_string "$key")] = $(lua_string "$value")"
        done
        # The scenario's own Lua (setup/init/request/response functions) goes last.
        if [[ -n ${LUA:-} ]]; then
            printf '%s\n' "$LUA"
        fi
    } >"$lua"
    echo "$lua"
}

# run_wrk URL DURATION LUA OUTFILE. A scenario that measures latency rather
# than throughput sets SCENARIO_CONNECTIONS (e.g. 1: no request waits for another).
run_wrk() {
    local connections=${SCENARIO_CONNECTIONS:-$CONNECTIONS}
    wrk -t"$((THREADS < connections ? THREADS : connections))" -c"$connections" \
        -d"$2" --latency -s "$3" "$1" >"$4" 2>&1 ||
        log "wrk exited non-zero for $1 (see $4)"
}


mkdir -p "$RESULTS_DIR/raw"
[[ -f $RESULTS_DIR/.gitignore ]] || printf '*\n!.gitignore\n' >"$RESULTS_DIR/.gitignore"
rm -f "$RESULTS_DIR"/raw/*.txt

rows=()
for name in "${scenarios[@]}"; do
    load_scenario "$name"
    log "scenario $name: $METHOD $ECHOBASE_PATH (echobase) vs $METHOD $BASELINE_PATH (baseline)${DESCRIPTION:+ - $DESCRIPTION}"
    if declare -F setup >/dev/null; then
        log "  setup"
        setup "$ECHOBASE_URL"
    fi
    lua=$(write_lua "$name")

    if [[ $WARMUP != 0 ]]; then
        run_wrk "$ECHOBASE_URL$ECHOBASE_PATH" "$WARMUP" "$lua" "$WORK/warmup.txt"
        run_wrk "$BASELINE_URL$BASELINE_PATH" "$WARMUP" "$lua" "$WORK/warmup.txt"
    fi

    declare -A rps=() p50=() p99=() errors=()
    for target in echobase baseline; do rps[$target]='' p50[$target]='' p99[$target]='' errors[$target]=0; done
    for round in $(seq "$ROUNDS"); do
        # Alternate which target goes first (ABBA...) so neither always follows the other.
        order="echobase baseline"
        ((round % 2)) || order="baseline echobase"
        for target in $order; do
            if [[ $target == echobase ]]; then url=$ECHOBASE_URL$ECHOBASE_PATH; else url=$BASELINE_URL$BASELINE_PATH; fi
            out=$RESULTS_DIR/raw/$name-$target-$round.txt
            run_wrk "$url" "$DURATION" "$lua" "$out"
            read -r r a b e < <(parse_wrk "$out")
            log "  round $round/$ROUNDS $target: $r req/s, p50 $a ms, p99 $b ms, errors $e"
            rps[$target]+=" $r" p50[$target]+=" $a" p99[$target]+=" $b"
            errors[$target]=$((errors[$target] + e))
        done
    done

    # shellcheck disable=SC2086 # word splitting of the per-round lists is intended
    for target in echobase baseline; do
        rows+=("$name $target ${SCENARIO_CONNECTIONS:-$CONNECTIONS} $(median ${rps[$target]}) $(median ${p50[$target]}) $(median ${p99[$target]}) ${errors[$target]}")
    done
    unset rps p50 p99 errors
done

# --- report -------------------------------------------------------------------

report() {
    echo "# echobase vs baseline: $(date -u '+%Y-%m-%d %H:%M:%SZ'), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
    echo "# echobase database: ${DATABASE_URL%%://*}${ECHOBASE_BIN:+ (as passed to $ECHOBASE_BIN, which may swap it)}"
    echo "# $(nproc) cpus (shared by wrk and the servers); wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency; medians of $ROUNDS rounds"
    printf '%s\n' "${rows[@]}" | awk '
        function num(v, fmt) { return v == "nan" ? "n/a" : sprintf(fmt, v) }
        BEGIN {
            fmt = "%-22s %-9s %5s %12s %9s %9s %12s %8s\n"
            printf fmt, "scenario", "target", "conns", "req/s", "p50 ms", "p99 ms", "vs baseline", "errors"
        }
        { name[NR] = $1; target[NR] = $2; conns[NR] = $3; rps[NR] = $4; p50[NR] = $5; p99[NR] = $6; err[NR] = $7
          if ($2 == "baseline") base[$1] = $4 }
        END {
            for (i = 1; i <= NR; i++) {
                b = base[name[i]]
                ratio = (rps[i] == "nan" || b == "nan" || b == 0) ? "n/a" : sprintf("%.1f%%", 100 * rps[i] / b)
                printf fmt, name[i], target[i], conns[i], num(rps[i], "%.0f"), num(p50[i], "%.2f"),
                    num(p99[i], "%.2f"), ratio, err[i]
            }
        }'
}

report | tee "$RESULTS_DIR/latest.txt"
if grep -qE ' [1-9][0-9]*$' "$RESULTS_DIR/latest.txt"; then
    log "warning: some requests failed (errors column: non-2xx responses + socket errors); raw wrk output in $RESULTS_DIR/raw/"
fi
