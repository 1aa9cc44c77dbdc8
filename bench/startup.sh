#!/usr/bin/env bash
# Start-up time: from exec of `echobase serve` to its first 200 on /healthz,
# STARTUP_RUNS times per backend, median and max. SQLite starts on a fresh file
# every run (so migrations are included); PostgreSQL on a fresh database whose
# first run migrates it. Then, on one SQLite file holding STARTUP_STUBS stubs
# (10,000) and STARTUP_MESSAGES messages (1,000,000; 0 skips this case), the
# start-up of a server that has data to load (the stubs' index and the
# messages' digest index).
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
  if [ -n "${STARTUP_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
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

messages="${STARTUP_MESSAGES:-1000000}"
stubs="${STARTUP_STUBS:-10000}"
if [ "$messages" -gt 0 ]; then
  loaded="$work/loaded.db"
  port="$(free_port)"
  ECHOBASE_LOG_LEVEL=warn "$bin" serve --listen "127.0.0.1:$port" --database-url "sqlite://$loaded" >>"$work/log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.05; done
  bench/mocks-stubs.sh "$stubs" >"$work/stubs.json"
  curl -sf -o /dev/null -X POST -H 'content-type: application/json' \
    --data-binary @"$work/stubs.json" "http://127.0.0.1:$port/__admin/mappings/import"
  kill -TERM "$pid"; wait "$pid" || true
  # Messages written straight into the file, in the shape the store keeps
  # (migration 0007): distinct 16-byte contents under their SHA-256.
  python3 - "$loaded" "$messages" <<'PY'
import hashlib, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time() * 1000)
def rows(first, last):
    for i in range(first, last):
        content = i.to_bytes(16, "big")
        yield i, hashlib.sha256(content).digest(), content
total = int(sys.argv[2])
for first in range(1, total + 1, 100_000):
    batch = list(rows(first, min(first + 100_000, total + 1)))
    db.executemany("INSERT INTO message_contents (id, content) VALUES (?, ?)", ((i, c) for i, _, c in batch))
    db.executemany("INSERT INTO messages (id, digest, size, content_type, created_at_ms) VALUES (?, ?, 16, 'application/octet-stream', ?)",
                   ((i, d, now) for i, d, _ in batch))
    db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
PY
  for i in $(seq 1 "$runs"); do time_one "sqlite://$loaded"; done | report "loaded"
  echo "loaded: $stubs stubs and $messages messages in one SQLite file"
fi
