# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# A proxy stub forwarding every request to the baseline: the ratio is the
# proxied request's cost against calling the upstream (the baseline) directly.
DESCRIPTION="mock proxy stub -> baseline, against the baseline directly"
METHOD=GET
ECHOBASE_PATH=/bench/proxied
BASELINE_PATH=/bench/proxied
setup() {
    curl -sf -X POST "$1/__admin/reset" >/dev/null
    curl -sf -X POST -H 'content-type: application/json' "$1/__admin/mappings" \
        -d "{\"request\": {\"urlPath\": \"/bench/proxied\"},
             \"response\": {\"proxyBaseUrl\": \"$BASELINE_URL\"}}" >/dev/null
    [[ $(curl -sf "$1/bench/proxied") == ok ]]
}
