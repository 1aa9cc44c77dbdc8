#!/usr/bin/env bash
# Instructions per request, counted by valgrind (callgrind): echobase's echo
# route (`POST /`, 1 KiB) against the baseline's, for the same N requests.
#
# Unlike req/s, an instruction count does not move with the noise of a shared
# machine, so it shows what a change to the request path costs or saves, to a
# fraction of a percent. It counts user-space instructions only (the kernel's
# share, about half the CPU time of a request here, is the same for both) and
# under valgrind SHA-256 runs without its CPU extension, so the server-key
# check counts ~3,400 instructions more than it costs natively.
#
# Usage: bench/instructions.sh [REQUESTS]   (default 20000)
#   ECHOBASE_BIN / BASELINE_BIN as for bench/run.sh; release builds expected.
#   Needs valgrind and ab (Debian: valgrind, apache2-utils); installs them if missing.
set -euo pipefail
BENCH_SCRIPT=instructions
# shellcheck source=bench/echo-route.sh
source "$(dirname "$0")/echo-route.sh"
requests=${1:-20000}

for tool in valgrind:valgrind ab:apache2-utils callgrind_annotate:valgrind; do
    command -v "${tool%%:*}" >/dev/null 2>&1 && continue
    echo "instructions: installing ${tool#*:}" >&2
    apt-get install -y "${tool#*:}" >/dev/null 2>&1 ||
        sudo apt-get install -y "${tool#*:}" >/dev/null 2>&1 ||
        die "${tool%%:*} is needed (apt-get install ${tool#*:})"
done

# count NAME -- COMMAND...: runs COMMAND under callgrind, sends the requests,
# prints the instructions per request counted between the first and the last.
count() {
    local name=$1 pid port
    shift 2
    start_server "$name" 120 -- valgrind --tool=callgrind --callgrind-out-file="$work/$name.out" "$@"
    pid=$server_pid port=$server_port
    callgrind_control -z "$pid" >/dev/null 2>&1
    ab -q -k -n "$requests" -c 4 -p "$work/body" -T application/octet-stream \
        -H "server_key: $BENCH_KEY" "http://127.0.0.1:$port/" >"$work/$name.ab"
    grep -q "^Failed requests: *0" "$work/$name.ab" || die "$name: failed requests: $(cat "$work/$name.ab")"
    callgrind_control -d "$pid" >/dev/null 2>&1
    sleep 1
    kill -INT "$pid"
    wait "$pid" || true
    local total
    total=$(callgrind_annotate "$work/$name.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    [[ -n $total ]] || die "$name: no callgrind dump"
    echo $((total / requests))
}

baseline=$(count baseline -- "$baseline_bin" --listen 127.0.0.1:PORT)
echobase=$(count echobase -- \
    "$echobase_bin" serve --listen 127.0.0.1:PORT --database-url "sqlite://$work/echobase.db")
printf 'POST / (1 KiB), %s requests, instructions per request (user space)\n' "$requests"
printf '  baseline  %7d\n  echobase  %7d  (%s x baseline)\n' "$baseline" "$echobase" \
    "$(python3 -c "print(round($echobase / $baseline, 2))")"
