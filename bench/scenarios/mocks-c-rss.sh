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
    local stubs lua per_thread before after out
    stubs=$(mktemp)
    "$BENCH_DIR/mocks-stubs.sh" 10000 >"$stubs"
    curl -sf -X POST "$1/__admin/reset" >/dev/null
    curl -sf -X POST -H 'content-type: application/json' --data-binary @"$stubs" \
        "$1/__admin/mappings/import" >/dev/null
    rm -f "$stubs"
    before=$(awk '/^VmRSS/ {print $2}' "/proc/$ECHOBASE_PID/status")
    per_thread=$(((MOCKS_RSS_REQUESTS + THREADS - 1) / THREADS))
    lua=$(mktemp --suffix=.lua)
    cat >"$lua" <<LUA
local done = 0
function response(status, headers, body)
    done = done + 1
    if done >= $per_thread then wrk.thread:stop() end
end
LUA
    out=$(mktemp)
    wrk -t"$THREADS" -c"$CONNECTIONS" -d600s -s "$lua" "$1/bench/target" >"$out" 2>&1 || true
    after=$(awk '/^VmRSS/ {print $2}' "/proc/$ECHOBASE_PID/status")
    local sent
    sent=$(awk '/requests in/ {print $1}' "$out")
    log "  $sent requests sent; echobase RSS ${before} KiB before, ${after} KiB after ($((after / 1024)) MiB)"
    printf 'requests=%s rss_before_kib=%s rss_after_kib=%s\n' "$sent" "$before" "$after" \
        >"$RESULTS_DIR/mocks-rss.txt"
    rm -f "$lua" "$out"
}
