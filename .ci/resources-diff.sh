#!/usr/bin/env bash
# Differential test of the resources module against json-server 0.17.4 (issue 22):
# json-server from npm and a release echobase (`serve --data db.json`), once on SQLite
# and once on PostgreSQL, each pair started from the same tests/resources-diff/db.json,
# get the same requests in the same order (tests/resources-diff/diff.py); statuses, the
# headers clients read and the bodies are compared. A third pair runs echobase on SQLite
# keeping nothing in memory, with an index on every field the requests filter on, so
# that its lists are answered from the indexes where they can be. A difference must be listed, with
# its reason, in tests/resources-diff/differences.txt; a listed one that no longer
# occurs fails the run too.
#
#   .ci/resources-diff.sh
#
# Variables: ECHOBASE_BIN (target/release/echobase; built when unset and missing),
# RD_HOME (where json-server is installed, /opt/echobase-ci/json-server), RD_PG
# (postgres://postgres@127.0.0.1:5432), RD_OUT (server logs, a temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."

home=${RD_HOME:-/opt/echobase-ci/json-server}
pg=${RD_PG:-postgres://postgres@127.0.0.1:5432}
version=0.17.4
data=$PWD/tests/resources-diff/db.json
differences=$PWD/tests/resources-diff/differences.txt

die() { echo "resources-diff: $*" >&2; exit 1; }

if [[ ! -x $home/node_modules/.bin/json-server ]]; then
    mkdir -p "$home"
    (cd "$home" && npm install --silent --no-audit --no-fund "json-server@$version" >/dev/null)
fi
installed=$(node -p "require('$home/node_modules/json-server/package.json').version")
[[ $installed == "$version" ]] || die "json-server $installed installed in $home, expected $version"

if [[ -z ${ECHOBASE_BIN:-} && ! -x target/release/echobase ]]; then
    cargo build --release --locked --bin echobase
fi
bin=$(realpath "${ECHOBASE_BIN:-target/release/echobase}")
[[ -x $bin ]] || die "no server binary at $bin"

out=${RD_OUT:-$(mktemp -d)}
mkdir -p "$out"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}


wait_for() {
    local url=$1 pid=$2 log=$3
    for _ in $(seq 1 300); do
        curl -s -o /dev/null "$url" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    die "$url did not come up: $(tail -3 "$log")"
}

# One pair: json-server on its own copy of db.json (it rewrites the file), echobase on
# `$2` with the settings given after it (NAME=VALUE). Prints the diff's output into $out/$1.txt and its status into $out/$1.rc.
# Run in a subshell of its own (`&`): its EXIT trap stops its two servers.
run_pair() {
    local pids=()
    trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; true' EXIT
    local name=$1 database_url=$2 dir=$out/$1
    shift 2
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$data" "$dir/db.json"
    local js_port eb_port
    js_port=$(free_port)
    (cd "$dir" && exec "$home/node_modules/.bin/json-server" --quiet --host 127.0.0.1 \
        --port "$js_port" db.json >"$dir/json-server.log" 2>&1) &
    local js_pid=$!
    pids+=("$js_pid")
    eb_port=$(free_port)
    (cd "$dir" && exec env -u ECHOBASE_BIN -u ECHOBASE_AUTH__KEYS ECHOBASE_LOG_LEVEL=warn "$@" \
        "$bin" serve --listen "127.0.0.1:$eb_port" --database-url "$database_url" \
        --data "$data" >"$dir/echobase.log" 2>&1) &
    local eb_pid=$!
    pids+=("$eb_pid")
    wait_for "http://127.0.0.1:$js_port/db" "$js_pid" "$dir/json-server.log"
    wait_for "http://127.0.0.1:$eb_port/readyz" "$eb_pid" "$dir/echobase.log"
    local rc=0
    python3 tests/resources-diff/diff.py "http://127.0.0.1:$js_port" \
        "http://127.0.0.1:$eb_port" "$differences" >"$out/$name.txt" 2>&1 || rc=$?
    echo "$rc" >"$out/$name.rc"
}

pg_name=echobase_resources_diff_$$
PGOPTIONS='-c client_min_messages=warning' psql -q "$pg/postgres" \
    -c "DROP DATABASE IF EXISTS $pg_name WITH (FORCE)" -c "CREATE DATABASE $pg_name" >/dev/null

run_pair sqlite "sqlite://$out/sqlite/echobase.db" &
sqlite_run=$!
run_pair postgres "$pg/$pg_name" &
postgres_run=$!
run_pair sqlite-indexed "sqlite://$out/sqlite-indexed/echobase.db" \
    ECHOBASE_RESOURCES__CACHED_DOCUMENTS=0 \
    ECHOBASE_RESOURCES__INDEXES=id,title,published,tags,draft,nope,from,postId,userId &
indexed_run=$!
wait "$sqlite_run" "$postgres_run" "$indexed_run" || true

status=0
for name in sqlite postgres sqlite-indexed; do
    echo "-- $name"
    cat "$out/$name.txt" 2>/dev/null || echo "(no output: see $out/$name)"
    [[ $(cat "$out/$name.rc" 2>/dev/null || echo 1) == 0 ]] || status=1
done
PGOPTIONS='-c client_min_messages=warning' psql -q "$pg/postgres" \
    -c "DROP DATABASE IF EXISTS $pg_name WITH (FORCE)" >/dev/null || true
exit "$status"
