#!/usr/bin/env bash
# Start-up time: from exec of `echobase serve` to its first 200 on /healthz,
# STARTUP_RUNS times per backend, median and max. SQLite starts on a fresh file
# every run (so migrations are included); PostgreSQL on a fresh database whose
# first run migrates it.
#   bench/startup.sh            (PostgreSQL from ECHOBASE_TEST_DATABASE_URL, or skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${STARTUP_RUNS:-15}"
admin_url="${ECHOBASE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

[ "${BENCH_SKIP_BUILD:-}" = 1 ] || cargo build --release --quiet --bin echobase
bin="$PWD/target/release/echobase"
work="$(mktemp -d)"
pg_db=""
cleanup() {
  [ -n "$pg_db" ] && psql "$admin_url" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Prints the milliseconds from exec to the first healthy answer.
time_one() {
  local url="$1" port pid start end
  port="$(free_port)"
  start=$(date +%s%N)
  # Its own output goes to the log: this function's output is the one number.
  ECHOBASE_LOG_LEVEL=warn "$bin" serve --listen "127.0.0.1:$port" --database-url "$url" >>"$work/log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
    kill -0 "$pid" 2>/dev/null || { echo "echobase exited; see $work/log" >&2; cat "$work/log" >&2; exit 1; }
  done
  end=$(date +%s%N)
  kill -TERM "$pid"; wait "$pid" || true
  echo $(( (end - start) / 1000000 ))
}

report() {
  local name="$1"; shift
  sort -n | awk -v name="$name" '{ a[NR] = $1 } END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
    printf "%-10s runs=%d  median=%dms  min=%dms  max=%dms\n", name, NR, m, a[1], a[NR] }'
}

for i in $(seq 1 "$runs"); do time_one "sqlite://$work/fresh-$i.db"; done | report sqlite

if psql "$admin_url" -qAtc 'SELECT 1' >/dev/null 2>&1; then
  pg_db="echobase_startup_$$"
  psql "$admin_url" -qc "CREATE DATABASE $pg_db" >/dev/null
  pg_url="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin_url" "$pg_db")"
  for i in $(seq 1 "$runs"); do time_one "$pg_url"; done | report postgres
else
  echo "postgres   skipped: no PostgreSQL at $admin_url"
fi
