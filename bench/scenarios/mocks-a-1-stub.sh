# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# A mock answered with 1 stub loaded: the reference for mocks-b-10k-stubs.
DESCRIPTION="mock stub, 1 stub loaded"
METHOD=GET
ECHOBASE_PATH=/bench/target
BASELINE_PATH=/
setup() {
    local stubs
    stubs=$(mktemp)
    "$BENCH_DIR/mocks-stubs.sh" 1 >"$stubs"
    curl -sf -X POST "$1/__admin/reset" >/dev/null
    curl -sf -X POST -H 'content-type: application/json' --data-binary @"$stubs" \
        "$1/__admin/mappings/import" >/dev/null
    rm -f "$stubs"
    [[ $(curl -sf "$1/bench/target") == target ]]
}
