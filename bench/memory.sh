#!/usr/bin/env bash
# Memory: echobase's resident and anonymous memory at idle after start, after
# importing 10,000 stubs, and after a short load on one of them, on a fresh
# SQLite file (docs/architecture.md, "Memory").
#
#   bench/memory.sh                          # builds target/release/echobase first
#   MEMORY_SKIP_BUILD=1 bench/memory.sh      # use the binary as it is
#   ECHOBASE_BIN=/path/to/echobase bench/memory.sh
#
# Variables: MEMORY_STUBS (10000), MEMORY_LOAD (seconds of wrk on the last
# stub, 20; 0 skips the load; over 60 also reads after the first minute, so
# MEMORY_LOAD=600 is the 10-minute soak of docs/architecture.md), MEMORY_CONNECTIONS (wrk -c, 32), MEMORY_SETTLE
# (seconds to wait after start before the idle reading, 2), MEMORY_MAPPINGS=1
# (also print the largest anonymous mappings at each reading). Other
# ECHOBASE_* variables reach the server as settings, so
# ECHOBASE_MOCKS__JOURNAL_SIZE=1000 bench/memory.sh measures that setting.
#
# Each row: VmRSS and RssAnon from /proc/PID/status, Pss_Anon from
# /proc/PID/smaps_rollup (anonymous memory: heap, thread stacks, allocator
# arenas; the rest of RSS is the binary's pages and other files), and the
# number of threads. It reports; it never fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."

stubs=${MEMORY_STUBS:-10000}
load=${MEMORY_LOAD:-20}
connections=${MEMORY_CONNECTIONS:-32}
settle=${MEMORY_SETTLE:-2}

die() { echo "memory: $*" >&2; exit 1; }
if [[ ${MEMORY_SKIP_BUILD:-} != 1 && -z ${ECHOBASE_BIN:-} ]]; then
    cargo build --release --bin echobase >&2
fi
bin=$(realpath "${ECHOBASE_BIN:-${CARGO_TARGET_DIR:-target}/release/echobase}")
[[ -x $bin ]] || die "no server binary at $bin"
if ((load > 0)); then
    command -v wrk >/dev/null || die "wrk is needed for the load (apt-get install wrk), or MEMORY_LOAD=0"
fi

work=$(mktemp -d)
pid=
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
(cd "$work" && unset ECHOBASE_BIN && ECHOBASE_LOG_LEVEL=warn ECHOBASE_ECHO__SERVER_KEY=memory-key \
    exec "$bin" serve --listen "127.0.0.1:$port" --database-url "sqlite://$work/memory.db" \
    >"$work/server.log" 2>&1) &
pid=$!
for _ in $(seq 1 300); do
    curl -sf -o /dev/null "$url/healthz" && break
    kill -0 "$pid" 2>/dev/null || die "the server did not start: $(tail -3 "$work/server.log")"
    sleep 0.1
done
curl -sf -o /dev/null "$url/healthz" || die "the server did not answer"

kib() { awk -v key="$1:" '$1 == key {print $2}' "$2"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

printf '%-34s %9s %9s %9s %8s\n' reading "RSS MiB" "anon MiB" "Pss_Anon" threads
reading() {
    local rss anon pss threads
    kill -0 "$pid" 2>/dev/null || die "the server died: $(tail -5 "$work/server.log")"
    rss=$(kib VmRSS "/proc/$pid/status")
    anon=$(kib RssAnon "/proc/$pid/status")
    pss=$(kib Pss_Anon "/proc/$pid/smaps_rollup")
    threads=$(kib Threads "/proc/$pid/status")
    printf '%-34s %9s %9s %9s %8s\n' "$1" "$(mib "$rss")" "$(mib "$anon")" "$(mib "$pss")" "$threads"
    if [[ ${MEMORY_MAPPINGS:-} == 1 ]]; then
        # The largest anonymous mappings: heap segments, allocator arenas and
        # thread stacks (a stack is a mapping with a guard page before it).
        awk '/^[0-9a-f]+-[0-9a-f]+ / {name = $6 == "" ? "anonymous:" $1 : $6}
             /^Anonymous:/ && $2 > 0 {printf "    %8.1f MiB  %s\n", $2 / 1024, name}' "/proc/$pid/smaps" |
            sort -rn | head -8
    fi
}

sleep "$settle"
reading "idle after start"

bench/mocks-stubs.sh "$stubs" >"$work/stubs.json"
curl -sf -o /dev/null -X POST -H 'content-type: application/json' \
    --data-binary @"$work/stubs.json" "$url/__admin/mappings/import" || die "the import failed"
imported=$(curl -sf "$url/__admin/mappings?limit=1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["meta"]["total"])')
((imported == stubs)) || die "$imported stubs after the import, expected $stubs"
sleep "$settle"
reading "after importing $stubs stubs"

if ((load > 0)); then
    wrk -t2 -c"$connections" -d"${load}s" "$url/bench/target" >"$work/wrk.txt" 2>&1 &
    wrk_pid=$!
    # A load over a minute is a soak: it stores nothing new (the journal is a
    # bounded ring), so the last reading should stay near this one.
    if ((load > 60)); then
        sleep 60
        reading "after the load's first 60s"
    fi
    wait "$wrk_pid" || die "wrk failed: $(tail -3 "$work/wrk.txt")"
    requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
    sleep "$settle"
    reading "after $requests requests (${load}s)"
fi
