#!/usr/bin/env bash
# echobase side by side with the tools people would pick instead of it: WireMock
# (mocks), httpbin under gunicorn (the httpbin-compatible echo), json-server (people,
# and resources: both serve one db.json), and the bare hyper baseline (bench/baseline.rs, the machine's limit). Same wrk
# settings for every server; alternating rounds; medians; resident memory of each
# server after its runs. See bench/README.md, "Peers".
#
# Usage: bench/peers.sh
#        PEERS_DURATION=2s PEERS_ROUNDS=1 bench/peers.sh     # quick smoke run
#        PEERS_ONLY="echo mocks" bench/peers.sh               # a subset
#
# Environment (all optional):
#   PEERS_HOME=DIR          where the peers are installed, once (outside the repository):
#                           ${XDG_CACHE_HOME:-$HOME/.cache}/echobase-peers
#   PEERS_DURATION=8s       one measured wrk run
#   PEERS_CONNECTIONS=32    wrk -c
#   PEERS_THREADS=1         wrk -t
#   PEERS_ROUNDS=3          measured rounds; within a round every server runs once, the
#                           order alternating from round to round
#   PEERS_WARMUP=2s         unmeasured wrk run per server and scenario ("0" skips it)
#   PEERS_JVM_WARMUP=10s    one extra unmeasured wrk run on WireMock before its first
#                           scenario, for the JIT ("0" skips it)
#   PEERS_ONLY="..."        scenarios or groups to run (space separated): echo, anything,
#                           mocks (= mock-1 import-10k mock-10k), people (= people-get
#                           people-post), resources (= resources-get resources-list
#                           resources-post), resources-1m (= resources-get-1m
#                           resources-list-1m resources-post-1m: a collection of
#                           1,000,000 posts on servers of their own), bare; default all
#   PEERS_1M_CONNECTIONS=1  wrk -c for the 1,000,000-post scenarios: one request at a
#                           time, so that the median latency is one request's time
#   PEERS_WIREMOCK_JOURNAL=default  WireMock's request journal: "default" (WireMock's
#                           own, unbounded), a number N (--max-request-journal-entries N;
#                           10000 is echobase's mocks.journal_size, but WireMock 3.13
#                           counts its whole journal on every request then), "off"
#                           (--no-request-journal). Both journals are emptied before
#                           each measured mock run.
#   PEERS_START_TIMEOUT=90  seconds to wait for each server to answer
#   ECHOBASE_BIN, BASELINE_BIN  the release binaries (target/release/echobase, baseline);
#                           unless one is given or BENCH_SKIP_BUILD=1, both are built first
#
# Exits non-zero only when something could not be installed or started, or a server
# did not answer a scenario's request correctly; never because of the numbers.
set -euo pipefail

BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$BENCH_DIR/.." && pwd)
RESULTS_DIR=$BENCH_DIR/results

PEERS_HOME=${PEERS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/echobase-peers}
DURATION=${PEERS_DURATION:-8s}
CONNECTIONS=${PEERS_CONNECTIONS:-32}
THREADS=${PEERS_THREADS:-1}
ROUNDS=${PEERS_ROUNDS:-3}
WARMUP=${PEERS_WARMUP:-2s}
JVM_WARMUP=${PEERS_JVM_WARMUP:-10s}
ONLY=${PEERS_ONLY:-}
WM_JOURNAL=${PEERS_WIREMOCK_JOURNAL:-default}
START_TIMEOUT=${PEERS_START_TIMEOUT:-90}
ECHOBASE_CMD=${ECHOBASE_BIN:-$ROOT/target/release/echobase}
BASELINE_CMD=${BASELINE_BIN:-$ROOT/target/release/baseline}

# The peers' versions: the ones .ci/wiremock-clients.sh and .ci/httpbin-diff.sh pin.
WM_VERSION=3.13.2
JSON_SERVER_VERSION=0.17.4
HTTPBIN_PIP=(httpbin==0.10.4 flask==3.1.3 werkzeug==3.1.9 brotlicffi==1.2.1.0 gunicorn==27.0.1)
SERVER_KEY=bench-key
PEOPLE=1000
POSTS=1000
POSTS_1M=1000000
CONNECTIONS_1M=${PEERS_1M_CONNECTIONS:-1}

log() { printf '[peers] %s\n' "$*" >&2; }
# shellcheck source=bench/wrk-lib.sh
source "$BENCH_DIR/wrk-lib.sh"
die() {
    log "error: $*"
    exit 1
}

# --- what to run --------------------------------------------------------------

ALL_SCENARIOS=(echo anything mock-1 import-10k mock-10k people-get people-post
    resources-get resources-list resources-post resources-get-1m resources-list-1m
    resources-post-1m bare)
scenario_group() {
    case $1 in
        mock-* | import-*) echo mocks ;;
        people-*) echo people ;;
        resources-*-1m) echo resources-1m ;;
        resources-*) echo resources ;;
        *) echo "$1" ;;
    esac
}
scenarios=()
for s in "${ALL_SCENARIOS[@]}"; do
    if [[ -z $ONLY || " $ONLY " == *" $s "* || " $ONLY " == *" $(scenario_group "$s") "* ]]; then
        scenarios+=("$s")
    fi
done
for word in $ONLY; do
    [[ " ${ALL_SCENARIOS[*]} echo anything mocks people resources resources-1m bare " == *" $word "* ]] ||
        die "PEERS_ONLY: unknown scenario or group '$word' (known: ${ALL_SCENARIOS[*]} mocks people resources resources-1m)"
done
((${#scenarios[@]} > 0)) || die "PEERS_ONLY selects no scenario"
wants() { [[ " ${scenarios[*]} " == *" $1 "* ]]; }
wants_group() {
    local s
    for s in "${scenarios[@]}"; do [[ $(scenario_group "$s") == "$1" ]] && return 0; done
    return 1
}
need_baseline=false need_wiremock=false need_httpbin=false need_json_server=false need_echobase=false
need_1m=false
{ wants echo || wants bare; } && need_baseline=true
wants anything && need_httpbin=true
wants_group mocks && need_wiremock=true
wants_group people && need_json_server=true
wants_group resources && need_json_server=true
wants_group resources-1m && need_1m=true
{ wants echo || wants anything || wants_group mocks || wants_group people || wants_group resources; } &&
    need_echobase=true

# --- tools and peers (installed once into PEERS_HOME) -------------------------

command -v curl >/dev/null 2>&1 || die "curl is needed"
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y wrk >/dev/null; then
        apt-get update >/dev/null
        apt-get install -y wrk >/dev/null
    fi
    command -v wrk >/dev/null 2>&1 || die "wrk is not installed and could not be installed"
fi

# From a clean clone: the release binaries are built (a no-op when up to date), unless
# they are given or BENCH_SKIP_BUILD=1, as bench/run.sh does.
if [[ -z ${ECHOBASE_BIN:-} && -z ${BASELINE_BIN:-} && ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "building the release binaries"
    (cd "$ROOT" && cargo build --release --bin echobase --bin baseline) ||
        die "cargo build --release failed"
fi
[[ $ECHOBASE_CMD == */* && $ECHOBASE_CMD != /* ]] && ECHOBASE_CMD=$PWD/$ECHOBASE_CMD
[[ $BASELINE_CMD == */* && $BASELINE_CMD != /* ]] && BASELINE_CMD=$PWD/$BASELINE_CMD
if $need_echobase; then [[ -x $ECHOBASE_CMD ]] || die "not an executable: $ECHOBASE_CMD (build it: cargo build --release)"; fi
if $need_baseline; then [[ -x $BASELINE_CMD ]] || die "not an executable: $BASELINE_CMD (build it: cargo build --release --bin baseline)"; fi

case $PEERS_HOME in
    "$ROOT" | "$ROOT"/*) die "PEERS_HOME ($PEERS_HOME) must be outside the repository" ;;
esac
mkdir -p "$PEERS_HOME"

WM_JAR=$PEERS_HOME/wiremock/package/build/wiremock-standalone-$WM_VERSION.jar
HTTPBIN_VENV=$PEERS_HOME/httpbin
JSON_SERVER_DIR=$PEERS_HOME/json-server
JSON_SERVER_BIN=$JSON_SERVER_DIR/node_modules/json-server/lib/cli/bin.js

if $need_wiremock; then
    command -v java >/dev/null 2>&1 || die "java is needed for WireMock"
    if [[ ! -f $WM_JAR ]]; then
        command -v npm >/dev/null 2>&1 || die "npm is needed to fetch WireMock"
        log "installing WireMock $WM_VERSION (npm package wiremock, which ships the standalone jar)"
        mkdir -p "$PEERS_HOME/wiremock"
        (cd "$PEERS_HOME/wiremock" && npm pack --silent "wiremock@$WM_VERSION" >/dev/null &&
            tar -xzf "wiremock-$WM_VERSION.tgz") || die "could not fetch wiremock@$WM_VERSION from npm"
    fi
    [[ -f $WM_JAR ]] || die "no WireMock jar at $WM_JAR"
fi
if $need_httpbin; then
    if [[ ! -x $HTTPBIN_VENV/bin/gunicorn ]]; then
        log "installing httpbin and gunicorn into $HTTPBIN_VENV (PyPI)"
        python3 -m venv "$HTTPBIN_VENV" || die "could not make a venv at $HTTPBIN_VENV"
        "$HTTPBIN_VENV/bin/pip" install --quiet --disable-pip-version-check "${HTTPBIN_PIP[@]}" ||
            die "could not install ${HTTPBIN_PIP[*]}"
    fi
    [[ -x $HTTPBIN_VENV/bin/gunicorn ]] || die "no gunicorn in $HTTPBIN_VENV"
fi
if $need_json_server || $need_1m; then
    command -v node >/dev/null 2>&1 || die "node is needed for json-server"
    if [[ ! -f $JSON_SERVER_BIN ]]; then
        command -v npm >/dev/null 2>&1 || die "npm is needed to fetch json-server"
        log "installing json-server $JSON_SERVER_VERSION into $JSON_SERVER_DIR (npm)"
        mkdir -p "$JSON_SERVER_DIR"
        (cd "$JSON_SERVER_DIR" && npm install --silent --no-audit --no-fund \
            "json-server@$JSON_SERVER_VERSION" >/dev/null) ||
            die "could not install json-server@$JSON_SERVER_VERSION from npm"
    fi
    [[ -f $JSON_SERVER_BIN ]] || die "no json-server at $JSON_SERVER_BIN"
fi

# --- servers ------------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/echobase-peers.XXXXXX")
declare -A PID=() URL=()
USED_PORTS=" "

stop_servers() {
    local name pid
    for name in "${!PID[@]}"; do kill -TERM "${PID[$name]}" 2>/dev/null || true; done
    for name in "${!PID[@]}"; do
        pid=${PID[$name]}
        for _ in $(seq 100); do # up to 10 s for a graceful shutdown, then SIGKILL
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PID=()
    rm -rf -- "$WORK"
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# pick_port NAME: a port nothing on 127.0.0.1 listens on (and not handed out before)
# into PORT, and the server's URL; below the usual ephemeral range so that wrk's own
# client sockets never collide with it. Not in a subshell: it records what it hands out.
PORT=
pick_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 12000))
        [[ $USED_PORTS == *" $port "* ]] && continue
        if ! (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
            USED_PORTS+="$port "
            PORT=$port
            URL[$1]=http://127.0.0.1:$port
            return 0
        fi
    done
    die "could not find a free port"
}

# wait_ready NAME PATH: polls the server's URL+PATH until it answers 200.
wait_ready() {
    local name=$1 url=${URL[$1]}$2 logfile=$WORK/$1.log deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "${PID[$name]}" 2>/dev/null; then
            log "$name exited before answering; its output:"
            tail -n 30 "$logfile" >&2 || true
            die "$name did not start"
        fi
        if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true) == 200 ]]; then
            log "$name on ${URL[$name]} (pid ${PID[$name]})"
            return 0
        fi
        sleep 0.2
    done
    log "$name did not answer 200 on $url within ${START_TIMEOUT}s; its output:"
    tail -n 30 "$logfile" >&2 || true
    die "$name did not start"
}

# start NAME CMD...: starts a server in its own folder under WORK with a clean
# environment; `exec` makes the recorded pid the server's own process.
start() {
    local name=$1
    shift
    mkdir -p "$WORK/$name"
    (cd "$WORK/$name" && exec env -i PATH="$PATH" HOME="${HOME:-/tmp}" LANG=C.UTF-8 "$@") \
        >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!
}

# posts NUMBER: db.json's posts, the same shape at every size; post i is by
# "author i % 50".
posts() {
    awk -v posts="$1" 'BEGIN {
        for (i = 1; i <= posts; i++) {
            if (i > 1) printf ","
            printf "{\"id\":%d,\"title\":\"post %d\",\"author\":\"author %d\",\"views\":%d,\"published\":%s}", i, i, i % 50, (i * 7919) % 1000, (i % 3 ? "true" : "false")
        }
    }'
}

# One db.json for json-server and echobase's resources (`serve --data`): 1,000 people,
# ids 1..1000, person i (0-based) is "person i", as echobase's seed; and 1,000 posts.
awk -v n="$PEOPLE" -v posts="$POSTS" 'BEGIN {
    split("en-US de-DE fr-FR sv-SE ja-JP pt-BR", locales, " ")
    printf "{\"people\":["
    for (i = 0; i < n; i++) {
        if (i) printf ","
        printf "{\"id\":%d,\"name\":\"person %d\",\"age\":%d,\"locale\":\"%s\"}", i + 1, i, i % 100, locales[i % 6 + 1]
    }
    printf "],\"posts\":["
}' >"$WORK/db.json"
{ posts "$POSTS"; printf ']}\n'; } >>"$WORK/db.json"

if $need_1m; then
    # A db.json of 1,000,000 posts (~80 MB), and both servers on it: echobase with an
    # index on `author` (resources.indexes), json-server with room for it in node's heap.
    log "writing a db.json of $POSTS_1M posts"
    mkdir -p "$WORK/echobase-1m" "$WORK/json-server-1m"
    { printf '{"posts":['; posts "$POSTS_1M"; printf ']}\n'; } >"$WORK/db-1m.json"
    # json-server writes its file back on every change; echobase reads its own copy once.
    cp "$WORK/db-1m.json" "$WORK/json-server-1m/db.json"
    pick_port echobase-1m
    start echobase-1m ECHOBASE_LOG_LEVEL=warn ECHOBASE_RESOURCES__INDEXES=author \
        "$ECHOBASE_CMD" serve --listen "127.0.0.1:$PORT" \
        --database-url "sqlite://$WORK/echobase-1m/db.sqlite" --data "$WORK/db-1m.json"
    pick_port json-server-1m
    start json-server-1m node --max-old-space-size=4096 "$JSON_SERVER_BIN" db.json --port "$PORT" --quiet
fi

if $need_echobase; then
    pick_port echobase
    # Log level warn (no access log), the echo key the scenario sends, no API keys
    # (every route open, as the peers are). Mocks journal: echobase's default, a ring
    # of mocks.journal_size = 10,000 requests.
    start echobase ECHOBASE_LOG_LEVEL=warn ECHOBASE_ECHO__SERVER_KEY=$SERVER_KEY \
        "$ECHOBASE_CMD" serve --listen "127.0.0.1:$PORT" --database-url "sqlite://$WORK/echobase/db.sqlite" \
        --data "$WORK/db.json"
fi
if $need_baseline; then
    pick_port baseline
    start baseline "$BASELINE_CMD" --listen "127.0.0.1:$PORT"
fi
if $need_wiremock; then
    pick_port wiremock
    wm_args=(--port "$PORT" --disable-banner --root-dir "$WORK/wiremock")
    case $WM_JOURNAL in
        default) ;;
        off) wm_args+=(--no-request-journal) ;;
        *) wm_args+=(--max-request-journal-entries "$WM_JOURNAL") ;;
    esac
    start wiremock java -Xmx512m -jar "$WM_JAR" "${wm_args[@]}"
fi
if $need_httpbin; then
    pick_port httpbin
    # As .ci/httpbin-diff.sh runs it: 2 workers of 8 threads, no control socket.
    start httpbin "$HTTPBIN_VENV/bin/gunicorn" --bind "127.0.0.1:$PORT" --workers 2 --threads 8 \
        --no-control-socket httpbin:app
fi
if $need_json_server; then
    pick_port json-server
    mkdir -p "$WORK/json-server"
    cp "$WORK/db.json" "$WORK/json-server/db.json"
    # --quiet: no per-request log line (echobase runs at log level warn, no access log).
    start json-server node "$JSON_SERVER_BIN" db.json --port "$PORT" --quiet
fi

$need_echobase && wait_ready echobase /readyz
$need_baseline && wait_ready baseline /
$need_httpbin && wait_ready httpbin /get
$need_json_server && wait_ready json-server /people/1
$need_wiremock && wait_ready wiremock /__admin/health
if $need_1m; then
    # Loading 1,000,000 documents takes longer than a server's start.
    START_TIMEOUT=$((START_TIMEOUT * 10))
    wait_ready echobase-1m /posts/1
    wait_ready json-server-1m /posts/1
    START_TIMEOUT=$((START_TIMEOUT / 10))
fi

# --- helpers ------------------------------------------------------------------

# rss_kib NAME: resident memory of the server's process, in KiB; for gunicorn the
# master and its workers together.
rss_kib() {
    local pid=${PID[$1]} total=0 p v
    local pids=("$pid")
    if [[ $1 == httpbin ]]; then
        # Children of the master: field 4 of /proc/PID/stat (after the command in parens).
        for p in /proc/[0-9]*; do
            v=$(sed -E 's/^[0-9]+ \(.*\) [A-Za-z] ([0-9]+) .*/\1/' "$p/stat" 2>/dev/null || true)
            [[ $v == "$pid" ]] && pids+=("${p#/proc/}")
        done
    fi
    for p in "${pids[@]}"; do
        v=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status" 2>/dev/null || true)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# write_lua FILE METHOD BODYFILE CONTENT_TYPE [HEADER...]: a wrk script; the body is
# read from a file so it is sent byte for byte.
write_lua() {
    local lua=$1 method=$2 body=$3 ctype=$4 header
    shift 4
    {
        echo "wrk.method = $(lua_string "$method")"
        if [[ -n $body ]]; then
            echo "local f = assert(io.open($(lua_string "$body"), \"rb\"))"
            echo "wrk.body = f:read(\"*a\")"
            echo "f:close()"
            echo "wrk.headers[\"Content-Type\"] = $(lua_string "$ctype")"
        fi
        for header in "$@"; do
            echo "wrk.headers[$(lua_string "${header%%:*}")] = $(lua_string "${header#*: }")"
        done
    } >"$lua"
}

# check NAME METHOD URL BODYFILE CONTENT_TYPE STATUS EXPECT [HEADER...]: one request
# with curl before timing; the status must be STATUS and the body must match EXPECT, an
# extended regular expression (or, when EXPECT is "=BODY", equal the request body).
check() {
    local name=$1 method=$2 url=$3 body=$4 ctype=$5 status=$6 expect=$7 header got
    shift 7
    local args=(-s -o "$WORK/check.out" -w '%{http_code}' --max-time 30 -X "$method")
    [[ -n $body ]] && args+=(--data-binary "@$body" -H "Content-Type: $ctype")
    for header in "$@"; do args+=(-H "$header"); done
    got=$(curl "${args[@]}" "$url" || true)
    if [[ $got != "$status" ]]; then
        die "$name: $method $url answered $got, expected $status: $(head -c 300 "$WORK/check.out")"
    fi
    if [[ $expect == "=BODY" ]]; then
        cmp -s "$body" "$WORK/check.out" || die "$name: $method $url did not echo the body back: $(head -c 300 "$WORK/check.out")"
    elif ! grep -qE -- "$expect" "$WORK/check.out"; then
        die "$name: $method $url: '$expect' not in the answer: $(head -c 300 "$WORK/check.out")"
    fi
}


mkdir -p "$RESULTS_DIR/peers-raw"
rm -f "$RESULTS_DIR"/peers-raw/*.txt

# Results per scenario: RES[scenario,server] = median, RSS[scenario,server] = KiB,
# ERR[scenario,server] = failed requests summed over rounds.
# LAT[scenario,server] = median of the rounds' p50 latency (ms).
declare -A RES=() RSS=() ERR=() PEER_OF=() LAT=()

# measure SCENARIO LUA NAME=URL...: warm-up, then ROUNDS alternating rounds of wrk.
# MEASURE_CONNECTIONS overrides wrk -c.
measure() {
    local scenario=$1 lua=$2 round i n target name url out r p50 e
    local connections=${MEASURE_CONNECTIONS:-$CONNECTIONS}
    shift 2
    local targets=("$@")
    declare -A rounds=() latencies=()
    if [[ $WARMUP != 0 ]]; then
        for target in "${targets[@]}"; do
            wrk -t"$THREADS" -c"$connections" -d"$WARMUP" -s "$lua" "${target#*=}" >/dev/null 2>&1 || true
        done
    fi
    n=${#targets[@]}
    for round in $(seq "$ROUNDS"); do
        # Round 1 in the given order, round 2 starting with the next server, ...
        for ((i = 0; i < n; i++)); do
            target=${targets[$(((i + round - 1) % n))]}
            name=${target%%=*} url=${target#*=}
            out=$RESULTS_DIR/peers-raw/$scenario-$name-$round.txt
            if [[ $scenario == mock-* ]]; then
                # Every run starts with an empty journal (WireMock's default one grows).
                curl -sf -o /dev/null -X DELETE "${URL[$name]}/__admin/requests" ||
                    die "$name: DELETE /__admin/requests failed"
            fi
            wrk -t"$THREADS" -c"$connections" -d"$DURATION" --latency -s "$lua" "$url" >"$out" 2>&1 ||
                log "wrk exited non-zero for $url (see $out)"
            read -r r p50 _ e < <(parse_wrk "$out")
            RSS[$scenario,$name]=$(rss_kib "$name")
            log "  round $round/$ROUNDS $name: $r req/s, p50 $p50 ms, errors $e, RSS $((RSS[$scenario,$name] / 1024)) MiB"
            rounds[$name]+=" $r"
            latencies[$name]+=" $p50"
            ERR[$scenario,$name]=$((${ERR[$scenario,$name]:-0} + e))
        done
    done
    for target in "${targets[@]}"; do
        name=${target%%=*}
        # shellcheck disable=SC2086 # the per-round list is split on purpose
        RES[$scenario,$name]=$(median ${rounds[$name]})
        # shellcheck disable=SC2086
        LAT[$scenario,$name]=$(median ${latencies[$name]})
    done
}

# as_servers SCENARIO: the 1,000,000-post servers' results under the names the
# report reads (echobase, json-server).
as_servers() {
    local key
    for key in RES RSS ERR LAT; do
        declare -n table=$key
        table[$1,echobase]=${table[$1,echobase-1m]:-}
        table[$1,json-server]=${table[$1,json-server-1m]:-}
        unset -n table
    done
}

# --- scenarios ----------------------------------------------------------------

KIB=$WORK/body-1k
head -c 1024 /dev/zero | tr '\0' 'x' >"$KIB"
# A 1 KiB JSON document for /anything.
JSON_1K=$WORK/body-1k.json
prefix='{"marker":"peers-bench","padding":"' suffix='"}'
{
    printf '%s' "$prefix"
    head -c $((1024 - ${#prefix} - ${#suffix})) /dev/zero | tr '\0' 'y'
    printf '%s' "$suffix"
} >"$JSON_1K"
PERSON=$WORK/person.json
printf '%s' '{"name":"peter","age":42,"locale":"en-US"}' >"$PERSON"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u '+%Y-%m-%d %H:%M:%SZ')

scenario_echo() {
    log "scenario echo: POST / 1 KiB, echobase (server_key) vs the bare baseline"
    local lua=$WORK/echo.lua
    check echobase POST "${URL[echobase]}/" "$KIB" application/octet-stream 200 =BODY "server_key: $SERVER_KEY"
    check baseline POST "${URL[baseline]}/" "$KIB" application/octet-stream 200 =BODY
    write_lua "$lua" POST "$KIB" application/octet-stream "server_key: $SERVER_KEY"
    PEER_OF[echo]=baseline
    measure echo "$lua" "echobase=${URL[echobase]}/" "baseline=${URL[baseline]}/"
}

scenario_anything() {
    log "scenario anything: POST /anything 1 KiB JSON, echobase /echo/anything vs httpbin /anything"
    local lua=$WORK/anything.lua
    check echobase POST "${URL[echobase]}/echo/anything" "$JSON_1K" application/json 200 '"marker": ?"peers-bench"'
    check httpbin POST "${URL[httpbin]}/anything" "$JSON_1K" application/json 200 '"marker": ?"peers-bench"'
    write_lua "$lua" POST "$JSON_1K" application/json
    PEER_OF[anything]=httpbin
    measure anything "$lua" "echobase=${URL[echobase]}/echo/anything" "httpbin=${URL[httpbin]}/anything"
}

# load_stubs NAME COUNT: resets the server's mocks and imports COUNT stubs (bench/mocks-
# stubs.sh; /bench/target last) in one POST; prints the seconds the POST took.
load_stubs() {
    local name=$1 count=$2 file=$WORK/stubs-$2.json status seconds
    [[ -f $file ]] || "$BENCH_DIR/mocks-stubs.sh" "$count" >"$file"
    curl -sf -o /dev/null -X POST "${URL[$name]}/__admin/reset" || die "$name: POST /__admin/reset failed"
    read -r status seconds < <(curl -s -o "$WORK/import.out" -w '%{http_code} %{time_total}\n' \
        --max-time 600 -X POST -H 'Content-Type: application/json' --data-binary "@$file" \
        "${URL[$name]}/__admin/mappings/import")
    [[ $status == 200 ]] || die "$name: importing $count stubs answered $status: $(head -c 300 "$WORK/import.out")"
    local total
    total=$(curl -sf "${URL[$name]}/__admin/mappings?limit=1" | grep -o '"total" *: *[0-9]*' | grep -o '[0-9]*$' || true)
    [[ $total == "$count" ]] || die "$name: $total stubs after importing $count"
    echo "$seconds"
}

JVM_WARMED=
scenario_mock() { # scenario_mock SCENARIO COUNT
    local scenario=$1 count=$2 lua=$WORK/mock.lua name
    log "scenario $scenario: GET /bench/target with $count stub(s), the requested one last, echobase vs WireMock"
    for name in echobase wiremock; do
        load_stubs "$name" "$count" >/dev/null
        check "$name" GET "${URL[$name]}/bench/target" "" "" 200 '^target$'
    done
    write_lua "$lua" GET "" ""
    if [[ $JVM_WARMUP != 0 && -z $JVM_WARMED ]]; then
        log "  warming WireMock's JIT up for $JVM_WARMUP"
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$JVM_WARMUP" -s "$lua" "${URL[wiremock]}/bench/target" >/dev/null 2>&1 || true
        JVM_WARMED=1
    fi
    PEER_OF[$scenario]=wiremock
    measure "$scenario" "$lua" "echobase=${URL[echobase]}/bench/target" "wiremock=${URL[wiremock]}/bench/target"
}

scenario_import() {
    log "scenario import-10k: one POST /__admin/mappings/import of 10,000 stubs (after a reset), echobase vs WireMock"
    local round name s
    declare -A times=()
    for round in $(seq "$ROUNDS"); do
        for name in echobase wiremock; do
            ((round % 2)) || name=$([[ $name == echobase ]] && echo wiremock || echo echobase)
            s=$(load_stubs "$name" 10000)
            RSS[import-10k,$name]=$(rss_kib "$name")
            log "  round $round/$ROUNDS $name: ${s}s"
            times[$name]+=" $s"
        done
    done
    PEER_OF[import-10k]=wiremock
    for name in echobase wiremock; do
        # shellcheck disable=SC2086 # the per-round list is split on purpose
        RES[import-10k,$name]=$(median ${times[$name]})
    done
}

ECHOBASE_PERSON=
scenario_people_get() {
    log "scenario people-get: GET one of $PEOPLE people, echobase /v1/people/{id} vs json-server /people/500"
    local batch=$WORK/people-batch.json response first
    awk -v n="$PEOPLE" 'BEGIN {
        split("en-US de-DE fr-FR sv-SE ja-JP pt-BR", locales, " ")
        printf "["
        for (i = 0; i < n; i++) {
            if (i) printf ","
            printf "{\"name\":\"person %d\",\"age\":%d,\"locale\":\"%s\"}", i, i % 100, locales[i % 6 + 1]
        }
        printf "]"
    }' >"$batch"
    response=$(curl -sf -X POST -H 'Content-Type: application/json' --data-binary "@$batch" \
        "${URL[echobase]}/v1/people:batch") || die "echobase: POST /v1/people:batch failed"
    first=${response#*\"id\":}
    first=${first%%[,\}]*}
    [[ $first =~ ^[0-9]+$ ]] || die "echobase: no id in the batch's answer: ${response:0:200}"
    ECHOBASE_PERSON=/v1/people/$((first + 499))
    check echobase GET "${URL[echobase]}$ECHOBASE_PERSON" "" "" 200 '"name": ?"person 499"'
    check json-server GET "${URL[json-server]}/people/500" "" "" 200 '"name": ?"person 499"'
    write_lua "$WORK/get.lua" GET "" ""
    PEER_OF[people-get]=json-server
    measure people-get "$WORK/get.lua" "echobase=${URL[echobase]}$ECHOBASE_PERSON" \
        "json-server=${URL[json-server]}/people/500"
}

scenario_people_post() {
    log "scenario people-post: POST one person (durable), echobase /v1/people vs json-server /people"
    check echobase POST "${URL[echobase]}/v1/people" "$PERSON" application/json 201 '"name": ?"peter"'
    check json-server POST "${URL[json-server]}/people" "$PERSON" application/json 201 '"name": ?"peter"'
    write_lua "$WORK/post.lua" POST "$PERSON" application/json
    PEER_OF[people-post]=json-server
    measure people-post "$WORK/post.lua" "echobase=${URL[echobase]}/v1/people" \
        "json-server=${URL[json-server]}/people"
}

# The same requests to both: json-server's routes, served by echobase's resources module.
POST_LIST='/posts?published=true&_sort=views&_order=desc&_page=2&_limit=10'
scenario_resources_get() {
    log "scenario resources-get: GET /posts/500 of $POSTS, echobase vs json-server"
    local name
    for name in echobase json-server; do
        check "$name" GET "${URL[$name]}/posts/500" "" "" 200 '"title": ?"post 500"'
    done
    write_lua "$WORK/get.lua" GET "" ""
    PEER_OF[resources-get]=json-server
    measure resources-get "$WORK/get.lua" "echobase=${URL[echobase]}/posts/500" \
        "json-server=${URL[json-server]}/posts/500"
}

scenario_resources_list() {
    log "scenario resources-list: GET $POST_LIST over $POSTS posts, echobase vs json-server"
    local name
    for name in echobase json-server; do
        check "$name" GET "${URL[$name]}$POST_LIST" "" "" 200 '"published": ?true'
    done
    write_lua "$WORK/list.lua" GET "" ""
    PEER_OF[resources-list]=json-server
    measure resources-list "$WORK/list.lua" "echobase=${URL[echobase]}$POST_LIST" \
        "json-server=${URL[json-server]}$POST_LIST"
}

scenario_resources_post() {
    log "scenario resources-post: POST /posts (durable on echobase; json-server rewrites its file)"
    local post=$WORK/post.json name
    printf '{"title":"new post","author":"author 1","views":1,"published":true}' >"$post"
    for name in echobase json-server; do
        check "$name" POST "${URL[$name]}/posts" "$post" application/json 201 '"title": ?"new post"'
    done
    write_lua "$WORK/post-resource.lua" POST "$post" application/json
    PEER_OF[resources-post]=json-server
    measure resources-post "$WORK/post-resource.lua" "echobase=${URL[echobase]}/posts" \
        "json-server=${URL[json-server]}/posts"
}

# The same three over 1,000,000 posts, one request at a time (PEERS_1M_CONNECTIONS):
# what one client waits. The filtered page is an equality filter on the indexed
# `author` (20,000 posts each) with json-server's paging, counted (X-Total-Count).
POST_PAGE_1M='/posts?author=author%207&_page=3&_limit=10'
scenario_1m() { # scenario_1m SCENARIO METHOD PATH BODY EXPECT STATUS
    local scenario=$1 method=$2 path=$3 body=$4 expect=$5 status=$6 name
    log "scenario $scenario: $method $path over $POSTS_1M posts, echobase vs json-server (wrk -c$CONNECTIONS_1M)"
    for name in echobase-1m json-server-1m; do
        check "$name" "$method" "${URL[$name]}$path" "$body" application/json "$status" "$expect"
    done
    write_lua "$WORK/$scenario.lua" "$method" "$body" application/json
    PEER_OF[$scenario]=json-server
    MEASURE_CONNECTIONS=$CONNECTIONS_1M measure "$scenario" "$WORK/$scenario.lua" \
        "echobase-1m=${URL[echobase-1m]}$path" "json-server-1m=${URL[json-server-1m]}$path"
    as_servers "$scenario"
}

scenario_bare() {
    log "scenario bare: GET / on the bare baseline (the limit)"
    check baseline GET "${URL[baseline]}/" "" "" 200 '^ok$'
    write_lua "$WORK/bare.lua" GET "" ""
    PEER_OF[bare]=baseline
    measure bare "$WORK/bare.lua" "baseline=${URL[baseline]}/"
}

for s in "${scenarios[@]}"; do
    case $s in
        echo) scenario_echo ;;
        anything) scenario_anything ;;
        mock-1) scenario_mock mock-1 1 ;;
        import-10k) scenario_import ;;
        mock-10k) scenario_mock mock-10k 10000 ;;
        people-get) scenario_people_get ;;
        people-post) scenario_people_post ;;
        resources-get) scenario_resources_get ;;
        resources-list) scenario_resources_list ;;
        resources-post) scenario_resources_post ;;
        resources-get-1m) scenario_1m resources-get-1m GET /posts/500000 "" '"title": ?"post 500000"' 200 ;;
        resources-list-1m) scenario_1m resources-list-1m GET "$POST_PAGE_1M" "" '"author": ?"author 7"' 200 ;;
        resources-post-1m)
            printf '{"title":"new post","author":"author 1","views":1,"published":true}' >"$WORK/post-1m.json"
            scenario_1m resources-post-1m POST /posts "$WORK/post-1m.json" '"title": ?"new post"' 201
            ;;
        bare) scenario_bare ;;
    esac
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -------------------------------------------------------------------

versions() {
    local v=()
    $need_echobase && v+=("echobase $("$ECHOBASE_CMD" --version | awk '{ print $2 }') ($ECHOBASE_CMD; checkout $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no commit'))")
    $need_wiremock && v+=("WireMock $WM_VERSION (java $(java -version 2>&1 | awk -F'"' 'NR == 1 { print $2 }'), -Xmx512m, journal ${WM_JOURNAL})")
    $need_httpbin && v+=("httpbin $("$HTTPBIN_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("httpbin"), "+ gunicorn", m.version("gunicorn"))') (2 workers x 8 threads)")
    { $need_json_server || $need_1m; } && v+=("json-server $(node -p "require('$JSON_SERVER_DIR/node_modules/json-server/package.json').version") (node $(node --version))")
    v+=("$(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }')")
    local joined
    joined=$(printf '%s; ' "${v[@]}")
    echo "${joined%; }"
}

# shellcheck disable=SC2016 # the backticks are markdown
label() {
    case $1 in
        echo) echo 'echo `POST /`, 1 KiB body' ;;
        anything) echo '`POST /anything`, 1 KiB JSON' ;;
        mock-1) echo 'mock GET, 1 stub' ;;
        mock-10k) echo 'mock GET, 10,000 stubs, the requested one last' ;;
        import-10k) echo 'import 10,000 stubs, one POST (seconds)' ;;
        people-get) echo "\`GET\` one person of 1,000" ;;
        people-post) echo '`POST` one person (durable)' ;;
        resources-get) echo "\`GET /posts/500\` of 1,000" ;;
        resources-list) echo "\`GET\` a filtered, sorted page of 1,000 posts" ;;
        resources-post) echo '`POST /posts` (durable)' ;;
        resources-get-1m) echo "\`GET /posts/500000\` of 1,000,000" ;;
        resources-list-1m) echo "\`GET\` an equality-filtered page of 1,000,000 posts" ;;
        resources-post-1m) echo '`POST /posts` to 1,000,000 (durable)' ;;
        bare) echo 'bare `GET /` (the limit)' ;;
    esac
}
peer_label() {
    case $1 in
        baseline) echo 'bare baseline (hyper)' ;;
        httpbin) echo 'httpbin (gunicorn)' ;;
        *) echo "$1" ;;
    esac
}
mib() { [[ -n ${1:-} ]] && awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }' || echo '—'; }
fmt() { # fmt VALUE ERRORS: req/s rounded, or seconds with 2 decimals for the import
    local value=$1 errors=${2:-0} s
    if [[ $value == nan || -z $value ]]; then s='n/a'
    elif [[ $scenario == import-10k ]]; then s=$(awk -v v="$value" 'BEGIN { printf "%.2f s", v }')
    else s=$(awk -v v="$value" 'BEGIN { printf "%.0f", v }'); fi
    ((errors > 0)) && s+=" ($errors errors)"
    echo "$s"
}

report() {
    echo "# echobase and its peers"
    echo
    echo "$STARTED; $(nproc) cpus shared by wrk and the servers; load average $LOAD_BEFORE before, $LOAD_AFTER after;" \
        "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP per server and scenario, WireMock $JVM_WARMUP more once), median of $ROUNDS alternating round(s);" \
        "RSS (VmRSS) after the scenario's last run."
    echo
    echo "Versions: $(versions)."
    echo
    echo "| scenario | echobase req/s | peer | peer req/s | echobase ÷ peer | RSS echobase | RSS peer |"
    echo "|---|---:|---|---:|---:|---:|---:|"
    local scenario peer e pv ratio
    for scenario in "${scenarios[@]}"; do
        peer=${PEER_OF[$scenario]:-}
        [[ -n $peer ]] || continue
        pv=${RES[$scenario,$peer]:-nan}
        if [[ $scenario == bare ]]; then
            echo "| $(label bare) | — | $(peer_label "$peer") | $(fmt "$pv" "${ERR[$scenario,$peer]:-0}") | — | — | $(mib "${RSS[$scenario,$peer]:-}") |"
            continue
        fi
        e=${RES[$scenario,echobase]:-nan}
        # Always a ratio of throughputs (> 1: echobase does more per second); for the
        # import that is the peer's seconds over echobase's.
        ratio=$(awk -v e="$e" -v p="$pv" -v inv="$([[ $scenario == import-10k ]] && echo 1 || echo 0)" 'BEGIN {
            if (e == "nan" || p == "nan" || e + 0 == 0 || p + 0 == 0) { print "n/a"; exit }
            printf "%.2f×", inv ? p / e : e / p }')
        echo "| $(label "$scenario") | $(fmt "$e" "${ERR[$scenario,echobase]:-0}") | $(peer_label "$peer") | $(fmt "$pv" "${ERR[$scenario,$peer]:-0}") | $ratio | $(mib "${RSS[$scenario,echobase]:-}") | $(mib "${RSS[$scenario,$peer]:-}") |"
    done
    local latency_rows=()
    for scenario in "${scenarios[@]}"; do
        [[ $scenario == *-1m ]] || continue
        latency_rows+=("| $(label "$scenario") | $(awk -v v="${LAT[$scenario,echobase]:-nan}" 'BEGIN { printf "%.2f", v }') | $(awk -v v="${LAT[$scenario,json-server]:-nan}" 'BEGIN { printf "%.2f", v }') |")
    done
    if ((${#latency_rows[@]} > 0)); then
        echo
        echo "The 1,000,000-post rows ran one request at a time (wrk -c$CONNECTIONS_1M); their median latency:"
        echo
        echo "| scenario | echobase p50 ms | json-server p50 ms |"
        echo "|---|---:|---:|"
        printf '%s\n' "${latency_rows[@]}"
    fi
    echo
    echo "For the import the cells are seconds and the ratio is the peer's time ÷ echobase's" \
        "(> 1: echobase is faster), like every other row. Raw wrk output: bench/results/peers-raw/."
}

out=$RESULTS_DIR/peers-$(date -u '+%Y-%m-%d-%H%M%S').md
report | tee "$out"
log "written to ${out#"$ROOT"/}"
