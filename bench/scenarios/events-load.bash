# shellcheck shell=bash # sourced by the events-*.sh scenarios (not a scenario: no .sh)
# Loads BENCH_EVENTS generated events once per server, in 100,000-line
# NDJSON requests (each well within the request timeout). Loading again would
# store nothing new (the ids are fixed); finding the newest generated event
# already there skips the work.
events_load() {
    local base=$1 n=${BENCH_EVENTS:-1000000} dir marker
    marker=$(curl -sf "$base/v1/events?limit=1" || true)
    if [[ $marker == *"\"gen-$((n - 1))\""* ]]; then
        return 0
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/events-load.XXXXXX")
    "$(dirname -- "${BASH_SOURCE[0]}")/../events-gen.sh" "$n" | split -l 100000 - "$dir/part-"
    for part in "$dir"/part-*; do
        curl -sf -X POST -H 'content-type: application/x-ndjson' --data-binary "@$part" \
            "$base/v1/events:ndjson" >/dev/null || { rm -rf "$dir"; return 1; }
    done
    rm -rf "$dir"
}
