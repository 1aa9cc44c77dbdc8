#!/usr/bin/env bash
# Indexes created for fields filtered often (docs/resources.md), at scale.
# Loads N posts (default 1,000,000; more than resources.cached_documents, so
# lists are not answered from memory) with no field named in
# resources.indexes, then sends the same filtered page one request at a time:
#   GET /posts?author=author%207&_page=3&_limit=10
# The first resources.auto_index_after (10) read the collection whole and ask
# for the index; the build runs in the background; later lists read the
# index. Prints each request's time (curl's time_total), the median before
# and after the index, and how long after the asking request the first fast
# answer came. Per backend: SQLite always, PostgreSQL when BENCH_PG_URL
# (default postgres://postgres@127.0.0.1:5432) answers to psql.
#
# Usage: bench/resources-auto-index.sh   (BENCH_POSTS=100000 for a quick run)
# Environment: BENCH_POSTS, BENCH_REQUESTS (40), BENCH_BACKENDS ("sqlite
# postgres"), BENCH_SKIP_BUILD=1, ECHOBASE_BIN (target/release/echobase),
# BENCH_PG_URL. It reports numbers; it never fails because of them.
set -euo pipefail

BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$BENCH_DIR/.." && pwd)
POSTS=${BENCH_POSTS:-1000000}
REQUESTS=${BENCH_REQUESTS:-40}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
BIN=${ECHOBASE_BIN:-$ROOT/target/release/echobase}
PORT=${BENCH_PORT:-18377}
LIST="/posts?author=author%207&_page=3&_limit=10"

log() { printf '[auto-index] %s\n' "$*" >&2; }

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "building the release binary"
    (cd "$ROOT" && cargo build --release --bin echobase)
fi

WORK=$(mktemp -d)
SERVER=
cleanup() {
    [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

log "writing $POSTS posts"
awk -v posts="$POSTS" 'BEGIN {
    printf "{\"posts\":["
    for (i = 1; i <= posts; i++) {
        if (i > 1) printf ","
        printf "{\"id\":%d,\"title\":\"post %d\",\"author\":\"author %d\",\"views\":%d}", i, i, i % 50, (i * 7919) % 1000
    }
    printf "]}\n"
}' >"$WORK/db.json"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

for backend in $BACKENDS; do
    case $backend in
    sqlite) url="sqlite://$WORK/db.sqlite" ;;
    postgres)
        if ! psql -q "$PG/postgres" -c 'SELECT 1' >/dev/null 2>&1; then
            log "PostgreSQL does not answer at $PG: skipped"
            continue
        fi
        psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS echobase_auto_index" \
            -c "CREATE DATABASE echobase_auto_index" >/dev/null
        url="$PG/echobase_auto_index"
        ;;
    *) log "unknown backend $backend"; continue ;;
    esac
    log "$backend: loading (serve --data)"
    env -u ECHOBASE_BIN ECHOBASE_LOG_LEVEL=info "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "$url" \
        --data "$WORK/db.json" >"$WORK/$backend.log" 2>&1 &
    SERVER=$!
    until curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null; do
        kill -0 "$SERVER" 2>/dev/null || { log "the server stopped: $(tail -5 "$WORK/$backend.log")"; exit 1; }
        sleep 0.5
    done
    printf '%s, %s posts, load %s\n' "$backend" "$POSTS" "$(cut -d' ' -f1-3 /proc/loadavg)"
    : >"$WORK/times"
    for i in $(seq 1 "$REQUESTS"); do
        start=$(date +%s.%N)
        ms=$(curl -fs -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT$LIST" | awk '{ printf "%.2f", $1 * 1000 }')
        printf '%s %s %s\n' "$i" "$ms" "$start" >>"$WORK/times"
        printf '  #%-3s %10s ms\n' "$i" "$ms"
    done
    asked=$(awk 'NR == 10 { print $3 }' "$WORK/times")
    # From the index: under a tenth of the slowest whole read.
    slowest=$(awk 'NR <= 10 && $2 > m { m = $2 } END { print m + 0 }' "$WORK/times")
    first_fast=$(awk -v cut="$slowest" 'NR > 10 && $2 < cut / 10 { print $1, $3; exit }' "$WORK/times")
    printf '  median of the first 10 (whole reads): %s ms\n' "$(awk 'NR <= 10 { print $2 }' "$WORK/times" | median)"
    if [[ -n $first_fast ]]; then
        read -r n at <<<"$first_fast"
        printf '  from the index: median of #%s-#%s: %s ms; first one %.1f s after #10 asked for it\n' \
            "$n" "$REQUESTS" "$(awk -v n="$n" 'NR >= n { print $2 }' "$WORK/times" | median)" \
            "$(awk -v a="$asked" -v b="$at" 'BEGIN { print b - a }')"
    else
        printf '  no answer under a tenth of the whole reads: no index was used\n'
    fi
    grep -o 'indexed a field filtered often[^}]*' "$WORK/$backend.log" | head -1 | sed 's/^/  log: /' || true
    kill "$SERVER" && wait "$SERVER" 2>/dev/null || true
    SERVER=
done
