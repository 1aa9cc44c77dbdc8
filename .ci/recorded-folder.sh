#!/usr/bin/env bash
# `echobase mocks record` writes a folder that both echobase and the real WireMock load
# (issue 21): an echobase is the service recorded (a stub of its own answers), a
# recording proxy sits in front of it, a request goes through, Ctrl-C writes the folder;
# then WireMock (--root-dir) and echobase (--mappings) each serve the folder alone and
# must answer the request as the service did.
#
# Variables: ECHOBASE_BIN (target/release/echobase), WM_HOME (/opt/echobase-ci/wiremock,
# as .ci/wiremock-clients.sh fetches it).
set -euo pipefail
cd "$(dirname "$0")/.."

wm_version=3.13.2
jar=${WM_HOME:-/opt/echobase-ci/wiremock}/package/build/wiremock-standalone-$wm_version.jar
bin=$(realpath "${ECHOBASE_BIN:-target/release/echobase}")
[[ -f $jar ]] || { echo "recorded-folder: no WireMock jar at $jar (run .ci/wiremock-clients.sh first)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # url
    for _ in $(seq 1 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "recorded-folder: $1 did not answer" >&2; return 1
}
run() { # name, command...: in the background, its output in $work/<name>.log
    local name=$1; shift
    (cd "$work" && exec env -u ECHOBASE_BIN ECHOBASE_LOG_LEVEL=warn "$@") >"$work/$name.log" 2>&1 &
    pids+=($!)
}

service=$(free_port) recorder=$(free_port) wiremock=$(free_port) player=$(free_port)
run service "$bin" serve --listen "127.0.0.1:$service" --database-url "sqlite://$work/service.db"
wait_for "http://127.0.0.1:$service/readyz"
curl -sf -X POST "http://127.0.0.1:$service/__admin/mappings" -d '{
  "request": {"method": "GET", "urlPath": "/api/orders/7"},
  "response": {"status": 200, "jsonBody": {"id": 7, "state": "shipped"},
               "headers": {"Content-Type": "application/json"}}}' >/dev/null

run recorder "$bin" mocks record --listen "127.0.0.1:$recorder" \
    --target "http://127.0.0.1:$service" --out "$work/recorded"
recorder_pid=${pids[-1]}
wait_for "http://127.0.0.1:$recorder/__admin/health"
expected=$(curl -sf "http://127.0.0.1:$recorder/api/orders/7")
[[ $expected == '{"id":7,"state":"shipped"}' ]] || { echo "recorded-folder: proxied answer was $expected" >&2; exit 1; }
kill -INT "$recorder_pid"
for _ in $(seq 1 100); do kill -0 "$recorder_pid" 2>/dev/null || break; sleep 0.1; done
ls "$work/recorded/mappings"/*.json >/dev/null

run wiremock java -jar "$jar" --port "$wiremock" --disable-banner --root-dir "$work/recorded"
run player "$bin" serve --listen "127.0.0.1:$player" --database-url "sqlite://$work/player.db" \
    --mappings "$work/recorded"
kill "${pids[0]}" # the service is gone: only the folder answers now
wait_for "http://127.0.0.1:$wiremock/__admin/health"
wait_for "http://127.0.0.1:$player/readyz"
for server in "wiremock $wiremock" "echobase $player"; do
    set -- $server
    got=$(curl -s "http://127.0.0.1:$2/api/orders/7")
    if [[ $got != "$expected" ]]; then
        echo "recorded-folder: $1 answered $got from the recorded folder, expected $expected" >&2
        tail -5 "$work/$([[ $1 == wiremock ]] && echo wiremock || echo player).log" >&2
        exit 1
    fi
    echo "recorded-folder: $1 serves the recorded folder"
done
