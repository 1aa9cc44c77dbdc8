#!/usr/bin/env bash
# Differential test of the echo module against httpbin (issue 25): httpbin 0.10.4 from
# PyPI under gunicorn and a release echobase on SQLite, each on its own 127.0.0.1 port,
# get the same requests (tests/httpbin-diff/diff.py generates them over every route);
# the answers are compared after normalising what legitimately differs. A difference
# must be listed, with its reason, in tests/httpbin-diff/differences.txt; a listed one
# that no longer occurs fails the run too.
#
#   .ci/httpbin-diff.sh
#
# Variables: ECHOBASE_BIN (target/release/echobase; built when unset and missing),
# HB_VENV (where httpbin and gunicorn are installed, /opt/echobase-ci/httpbin), HB_OUT
# (where the server logs go, a temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${HB_VENV:-/opt/echobase-ci/httpbin}
differences=tests/httpbin-diff/differences.txt

die() { echo "httpbin-diff: $*" >&2; exit 1; }

# httpbin 0.10.4 runs on current Flask and Werkzeug; the pins keep the reference fixed.
if [[ ! -x $venv/bin/gunicorn ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        httpbin==0.10.4 flask==3.1.3 werkzeug==3.1.9 brotlicffi==1.2.1.0 gunicorn==27.0.1
fi

if [[ -z ${ECHOBASE_BIN:-} && ! -x target/release/echobase ]]; then
    cargo build --release --locked --bin echobase
fi
bin=$(realpath "${ECHOBASE_BIN:-target/release/echobase}")
[[ -x $bin ]] || die "no server binary at $bin"

out=${HB_OUT:-$(mktemp -d)}
mkdir -p "$out"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

httpbin_pid="" echobase_pid=""
trap '[[ -n $httpbin_pid ]] && kill "$httpbin_pid" 2>/dev/null; [[ -n $echobase_pid ]] && kill "$echobase_pid" 2>/dev/null; true' EXIT

wait_for() {
    local url=$1 pid=$2 log=$3
    for _ in $(seq 1 300); do
        curl -s -o /dev/null "$url" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    die "$url did not come up: $(tail -3 "$log")"
}

# Threads, so the driver's parallel requests (and /delay, /drip) do not queue behind
# one another; no control socket (gunicorn 23+), which would be shared between runs.
hb_port=$(free_port)
(cd "$out" && exec "$venv/bin/gunicorn" --bind "127.0.0.1:$hb_port" --workers 2 --threads 8 \
    --no-control-socket httpbin:app >"$out/httpbin.log" 2>&1) &
httpbin_pid=$!
wait_for "http://127.0.0.1:$hb_port/get" "$httpbin_pid" "$out/httpbin.log"

eb_port=$(free_port)
(cd "$out" && exec env -u ECHOBASE_BIN -u ECHOBASE_AUTH__KEYS ECHOBASE_LOG_LEVEL=warn \
    "$bin" serve --listen "127.0.0.1:$eb_port" --database-url "sqlite://$out/echobase.db" \
    >"$out/echobase.log" 2>&1) &
echobase_pid=$!
wait_for "http://127.0.0.1:$eb_port/readyz" "$echobase_pid" "$out/echobase.log"

"$venv/bin/python" tests/httpbin-diff/diff.py "http://127.0.0.1:$hb_port" \
    "http://127.0.0.1:$eb_port/echo" "$differences"
