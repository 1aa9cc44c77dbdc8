# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# The same mock with 10,000 stubs loaded, the requested one defined last
# (WireMock's linear scan is at its slowest here). Compare echobase's req/s
# with mocks-a-1-stub from the same run.
DESCRIPTION="mock stub, 10,000 stubs loaded, the last one requested"
METHOD=GET
ECHOBASE_PATH=/bench/target
BASELINE_PATH=/
setup() {
    local stubs started
    stubs=$(mktemp)
    "$BENCH_DIR/mocks-stubs.sh" 10000 >"$stubs"
    curl -sf -X POST "$1/__admin/reset" >/dev/null
    started=$SECONDS
    curl -sf -X POST -H 'content-type: application/json' --data-binary @"$stubs" \
        "$1/__admin/mappings/import" >/dev/null
    log "  imported 10,000 stubs in $((SECONDS - started))s"
    rm -f "$stubs"
    [[ $(curl -sf "$1/__admin/mappings" | grep -o '"total":[0-9]*') == '"total":10000' ]]
    [[ $(curl -sf "$1/bench/target") == target ]]
}
