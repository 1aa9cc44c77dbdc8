#!/usr/bin/env bash
# Soak: every module under mixed load for a bounded time, reporting over time
# the server's resident memory, open files and p99 latency; at the end, whether
# memory levelled off.
#
#   bench/soak.sh                          # 10 minutes, 30 s rows, SQLite
#   SOAK_DURATION=120 bench/soak.sh        # 2 minutes
#   SOAK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/soak bench/soak.sh
#
# Variables: SOAK_DURATION (seconds, 600), SOAK_INTERVAL (seconds per row, 30),
# SOAK_CONNECTIONS (wrk -c, 32), SOAK_MAX_GROWTH (percent, 10: the most the
# resident memory may grow over the second half of the run), SOAK_DATABASE_URL
# (a fresh SQLite file by default), SOAK_SKIP_BUILD=1 (use target/release as is),
# ECHOBASE_BIN (target/release/echobase).
#
# Each row is one wrk run of SOAK_INTERVAL over the same mixed request list
# (echo, messages, people, events, a mock, DORA, a 404), then a sample of the
# server's VmRSS and /proc/PID/fd. Exits 1 when memory grew more than
# SOAK_MAX_GROWTH over the second half, or when any request failed.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${SOAK_DURATION:-600}
interval=${SOAK_INTERVAL:-30}
connections=${SOAK_CONNECTIONS:-32}
max_growth=${SOAK_MAX_GROWTH:-10}
key=soak-key

die() { echo "soak: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is needed (apt-get install wrk)"
if [[ ${SOAK_SKIP_BUILD:-} != 1 && -z ${ECHOBASE_BIN:-} ]]; then
    cargo build --release --bin echobase >&2
fi
bin=$(realpath "${ECHOBASE_BIN:-target/release/echobase}")
[[ -x $bin ]] || die "no server binary at $bin"

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
database=${SOAK_DATABASE_URL:-sqlite://$work/soak.db}
(cd "$work" && unset ECHOBASE_BIN && ECHOBASE_LOG_LEVEL=warn ECHOBASE_ECHO__SERVER_KEY=$key \
    exec "$bin" serve --listen "127.0.0.1:$port" --database-url "$database" >"$work/server.log" 2>&1) &
pid=$!
for _ in $(seq 1 300); do
    curl -sf -o /dev/null "$url/healthz" && break
    kill -0 "$pid" 2>/dev/null || die "the server did not start: $(tail -3 "$work/server.log")"
    sleep 0.1
done
curl -sf -o /dev/null "$url/healthz" || die "the server did not answer"

# What the mixed load reads: a stored message and a mock.
digest=$(curl -sf -X POST -H 'content-type: application/json' -d '{"message": "soak"}' \
    "$url/v1/messages" | python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])')
curl -sf -o /dev/null -X POST -H 'content-type: application/json' \
    -d '{"request": {"method": "GET", "urlPath": "/soak/mock"}, "response": {"status": 200, "jsonBody": {"ok": true}}}' \
    "$url/__admin/mappings"

cat >"$work/mixed.lua" <<LUA
-- Every request of the list in turn; writes carry a per-thread counter so that
-- each stores something new.
local threads = {}
function setup(thread)
    table.insert(threads, thread)
    thread:set("tid", #threads)
    thread:set("unexpected", 0)
end
local n = 0
local json = {["Content-Type"] = "application/json"}
local requests = {
    function() return wrk.format("GET", "/echo/get?n=" .. n) end,
    function() return wrk.format("POST", "/", {["server_key"] = "$key"}, "echo " .. n) end,
    function() return wrk.format("POST", "/v1/messages", json, '{"message": "soak ' .. tid .. "-" .. n .. '"}') end,
    function() return wrk.format("GET", "/v1/messages/$digest") end,
    function() return wrk.format("POST", "/v1/people", json, '{"name": "p' .. tid .. "-" .. n .. '", "age": 30, "locale": "en-GB"}') end,
    function() return wrk.format("GET", "/v1/people?per_page=10") end,
    function() return wrk.format("POST", "/v1/events", json, '{"id": "soak-' .. tid .. "-" .. n .. '", "time": ' .. (1714557600 + n) .. ', "kind": "deploy", "actor": "a' .. (n % 7) .. '"}') end,
    function() return wrk.format("GET", "/v1/events?limit=10&engineer=a" .. (n % 7)) end,
    function() return wrk.format("GET", "/soak/mock") end,
    function() return wrk.format("GET", "/v1/dora") end,
    function() return wrk.format("GET", "/soak/missing") end,
}
function request()
    n = n + 1
    return requests[(n % #requests) + 1]()
end
-- The one 404 on purpose is the missing mock: any other status of 400 or
-- more is unexpected.
function response(status)
    if status >= 400 and status ~= 404 then
        unexpected = unexpected + 1
    end
end
function done()
    local total = 0
    for _, thread in ipairs(threads) do
        total = total + thread:get("unexpected")
    end
    io.write("unexpected: " .. total .. "\n")
end
LUA

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
open_files() { find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }

printf '%8s %10s %9s %8s %9s %6s\n' seconds "req/s" "p99 ms" errors "RSS MiB" files
rss_samples=()
failed=0
elapsed=0
while ((elapsed < duration)); do
    wrk -t2 -c"$connections" -d"${interval}s" --latency -s "$work/mixed.lua" "$url" >"$work/wrk.txt" 2>&1 ||
        die "wrk failed: $(tail -3 "$work/wrk.txt")"
    elapsed=$((elapsed + interval))
    read -r rps p99 errors < <(awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /s$/)  return substr(v, 1, length(v) - 1) * 1000
            return "nan"
        }
        BEGIN { errors = 0 }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "99%" { p99 = ms($2) }
        /^ *Socket errors:/ { for (i = 3; i <= NF; i += 2) { v = $(i + 1); sub(/,$/, "", v); errors += v } }
        END { print rps, p99, errors }' "$work/wrk.txt")
    errors=$((errors + $(awk '/^unexpected:/ {print $2}' "$work/wrk.txt")))
    kill -0 "$pid" 2>/dev/null || die "the server died: $(tail -5 "$work/server.log")"
    rss=$(rss_kib)
    rss_samples+=("$rss")
    ((errors > 0)) && failed=1
    printf '%8d %10.0f %9.2f %8d %9.1f %6d\n' "$elapsed" "$rps" "$p99" "$errors" "$(echo "$rss / 1024" | bc -l)" "$(open_files)"
done

count=${#rss_samples[@]}
half=${rss_samples[$((count / 2))]}
last=${rss_samples[$((count - 1))]}
growth=$(echo "($last - $half) * 100 / $half" | bc -l)
printf 'memory over the second half: %.1f MiB -> %.1f MiB (%+.1f%%, at most %s%%)\n' \
    "$(echo "$half / 1024" | bc -l)" "$(echo "$last / 1024" | bc -l)" "$growth" "$max_growth"
if (($(echo "$growth > $max_growth" | bc -l))); then
    echo "soak: memory did not level off" >&2
    exit 1
fi
((failed == 0)) || die "some requests failed (see the errors column)"
echo "soak: memory levelled off; no request failed"
