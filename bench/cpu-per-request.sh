#!/usr/bin/env bash
# Server CPU time per request of the echo route (`POST /`, 1 KiB), echobase
# against the baseline, under the same wrk load, natively (no valgrind).
#
# req/s on this 2-core machine moves with whatever else runs; the CPU time a
# server spends per request moves much less, and unlike bench/instructions.sh
# it counts what instructions do not show: the kernel's share, atomics that
# bounce between cores, the CPU's SHA extension. Each round runs both servers
# back to back (alternating which goes first) and reads user and system time
# from /proc/PID/stat before and after a wrk run; the medians are printed.
#
# Usage: bench/cpu-per-request.sh [ROUNDS]   (default 3)
#   BENCH_DURATION (default 5s), ECHOBASE_BIN / BASELINE_BIN as for bench/run.sh.
#   Release builds expected (cargo build --release --bins). Needs wrk.
set -euo pipefail
BENCH_SCRIPT=cpu-per-request
# shellcheck source=bench/echo-route.sh
source "$(dirname "$0")/echo-route.sh"
rounds=${1:-3}
duration=${BENCH_DURATION:-5s}
command -v wrk >/dev/null || die "wrk is needed (apt-get install wrk)"
ticks=$(getconf CLK_TCK)

cat >"$work/post.lua" <<EOF
wrk.method = "POST"
local f = assert(io.open("$work/body", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["server_key"] = "$BENCH_KEY"
EOF

# cpu_ticks PID: user and system clock ticks so far ("utime stime").
cpu_ticks() {
    # Fields 14 and 15, counted after the ")" that ends the command name.
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $12, $13}'
}

# measure NAME -- COMMAND...: prints "us_user us_system requests" per request.
measure() {
    local name=$1 port pid before after requests
    shift 2
    start_server "$name" 10 -- "$@"
    pid=$server_pid port=$server_port
    wrk -t2 -c64 -d1s -s "$work/post.lua" "http://127.0.0.1:$port/" >/dev/null # warm-up
    before=$(cpu_ticks "$pid")
    wrk -t2 -c64 -d"$duration" -s "$work/post.lua" "http://127.0.0.1:$port/" >"$work/$name.wrk"
    after=$(cpu_ticks "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    requests=$(awk '/requests in/ {print $1}' "$work/$name.wrk")
    grep -q 'Non-2xx' "$work/$name.wrk" && die "$name answered errors: $(cat "$work/$name.wrk")"
    awk -v b="$before" -v a="$after" -v n="$requests" -v t="$ticks" 'BEGIN {
        split(b, x, " "); split(a, y, " ");
        printf "%.3f %.3f %d\n", (y[1]-x[1]) / t / n * 1e6, (y[2]-x[2]) / t / n * 1e6, n
    }'
}

for round in $(seq 1 "$rounds"); do
    order=(echobase baseline)
    ((round % 2 == 0)) && order=(baseline echobase)
    for name in "${order[@]}"; do
        if [[ $name == echobase ]]; then
            rm -f "$work"/bench.db*
            result=$(measure echobase -- "$echobase_bin" serve --listen 127.0.0.1:PORT \
                --database-url "sqlite://$work/bench.db")
        else
            result=$(measure baseline -- "$baseline_bin" --listen 127.0.0.1:PORT)
        fi
        echo "$name $result" >>"$work/results"
        echo "round $round: $name $result (us user, us system per request; requests)" >&2
    done
done

echo "POST / (1 KiB), wrk -t2 -c64 -d$duration, medians of $rounds rounds, server CPU per request"
for name in baseline echobase; do
    awk -v n="$name" '$1 == n {print $2, $3, $2 + $3, $4}' "$work/results" |
        sort -k3 -g | awk -v n="$name" '{rows[NR] = $0} END {
            split(rows[int((NR + 1) / 2)], m, " ");
            printf "  %-9s %6.2f us (user %5.2f, system %5.2f), %d requests in the median round\n", n, m[3], m[1], m[2], m[4]
        }'
done
