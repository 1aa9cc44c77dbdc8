#!/usr/bin/env bash
# Runs echobase on a fresh PostgreSQL database instead of the SQLite file that
# bench/run.sh passes, so that any scenario can be measured on PostgreSQL
# without changing run.sh:
#
#   ECHOBASE_BIN=bench/people-postgres-server.sh bench/run.sh people-create people-get
#
# BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) is the
# server to create the database on; BENCH_ECHOBASE_BIN (default
# target/release/echobase) the binary to run. The database is dropped on exit.
# (Not ECHOBASE_*-named: run.sh passes those to echobase as settings.)
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
ADMIN_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BIN=${BENCH_ECHOBASE_BIN:-$ROOT/target/release/echobase}
NAME=echobase_bench_$$_$RANDOM

command -v psql >/dev/null || {
    echo "people-postgres-server: psql is needed to create the database" >&2
    exit 1
}
# The URL of the new database: the admin URL with its path replaced.
base=${ADMIN_URL%%\?*}
query=
[[ $ADMIN_URL == *\?* ]] && query="?${ADMIN_URL#*\?}"
DB_URL=${base%/*}/$NAME$query

psql -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE \"$NAME\"" >/dev/null

# run.sh passes `serve --listen ADDR --database-url sqlite://...`: swap the URL.
args=()
while (($# > 0)); do
    if [[ $1 == --database-url ]]; then
        args+=(--database-url "$DB_URL")
        shift 2
    else
        args+=("$1")
        shift
    fi
done

child=
cleanup() {
    if [[ -n $child ]]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$NAME\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

echo "people-postgres-server: echobase on database $NAME" >&2
"$BIN" "${args[@]}" &
child=$!
wait "$child"
