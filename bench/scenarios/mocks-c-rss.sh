# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# Memory: with 10,000 stubs loaded, drive 1,000,000 requests at the last stub
# (every one goes through the request journal), then report echobase's
# resident memory. The figure is logged and written to
# bench/results/mocks-rss.txt; the measured rounds that follow are the same
# request as mocks-b-10k-stubs.
DESCRIPTION="resident memory after 1,000,000 mock requests (10,000 stubs)"
METHOD=GET
ECHOBASE_PATH=/bench/target
BASELINE_PATH=/
MOCKS_RSS_REQUESTS=${MOCKS_RSS_REQUESTS:-1000000}
setup() {
    local stubs before after out
    stubs=$(mktemp)
    "$BENCH_DIR/mocks-stubs.sh" 10000 >"$stubs"
    curl -sf -X POST "$1/__admin/reset" >/dev/null
    curl -sf -X POST -H 'content-type: application/json' --data-binary @"$stubs" \
        "$1/__admin/mappings/import" >/dev/null
    rm -f "$stubs"
    before=$(awk '/^VmRSS/ {print $2}' "/proc/$ECHOBASE_PID/status")
    # wrk stops only at its -d deadline (a Lua thread:stop() ends the thread,
    # not the run), so it runs in the background and is stopped once
    # echobase's own counter of mock requests (the fallback route,
    # "unmatched" in /metrics) reaches the count; -d is only a safety cap.
    out=$(mktemp)
    wrk -t"$THREADS" -c"$CONNECTIONS" -d600s "$1/bench/target" >"$out" 2>&1 &
    local wrk_pid=$! served=0
    while kill -0 "$wrk_pid" 2>/dev/null; do
        served=$(curl -sf "$1/metrics" |
            awk '/^http_requests_total\{.*route="unmatched"/ {n += $NF} END {printf "%d", n}') ||
            served=0
        ((served >= MOCKS_RSS_REQUESTS)) && break
        sleep 0.5
    done
    kill "$wrk_pid" 2>/dev/null || true
    wait "$wrk_pid" 2>/dev/null || true
    after=$(awk '/^VmRSS/ {print $2}' "/proc/$ECHOBASE_PID/status")
    log "  $served mock requests served; echobase RSS ${before} KiB before, ${after} KiB after ($((after / 1024)) MiB)"
    printf 'requests=%s rss_before_kib=%s rss_after_kib=%s\n' "$served" "$before" "$after" \
        >"$RESULTS_DIR/mocks-rss.txt"
    rm -f "$out"
}
