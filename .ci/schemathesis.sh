#!/usr/bin/env bash
# Schema-driven fuzzing: schemathesis (PyPI) against a release echobase, on SQLite and
# on PostgreSQL, open (no keys) and with an API key required, every check it has.
# Any failure fails the run. The four runs go in parallel; each is bounded by
# ST_EXAMPLES cases per operation and a fixed seed, so a failure reproduces. The open
# runs have every phase; the runs with keys skip the coverage phase (see fuzz below).
#
#   .ci/schemathesis.sh                       # all four: sqlite-open sqlite-keys postgres-open postgres-keys
#   .ci/schemathesis.sh sqlite-open           # one of them
#
# Variables: ECHOBASE_BIN (target/release/echobase; built when missing), ST_VENV (where
# schemathesis is installed, /opt/echobase-ci/schemathesis), ST_EXAMPLES (cases per
# operation, 20), ST_SEED (1), ST_PG (postgres://postgres@127.0.0.1:5432), ST_OUT (where
# each run's output and server log go, a temporary folder), ST_ARGS (more schemathesis
# options, e.g. "--include-path-regex ^/echo" to fuzz one module while working on it).
#
# The servers wait at most 50 ms in /echo/delay, /drip and between /sse events
# (echo.max_delay), and send at most 20 events (echo.max_events): the routes cut
# longer asks to these, so every case is still answered, without spending the run's
# time asleep. The webhook secrets are set so that GitHub's, GitLab's, PagerDuty's,
# Opsgenie's, Jenkins' and Argo CD's routes are fuzzed past their secret check (unset, they
# answer 503 by design); Jenkins and Argo CD get their token in X-Echobase-Token
# (schemathesis.toml), so their bodies are fuzzed too.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${ST_VENV:-/opt/echobase-ci/schemathesis}
examples=${ST_EXAMPLES:-20}
seed=${ST_SEED:-1}
pg=${ST_PG:-postgres://postgres@127.0.0.1:5432}
version='4.32.*'
runs=("$@")
[[ ${#runs[@]} -gt 0 ]] || runs=(sqlite-open sqlite-keys postgres-open postgres-keys)

die() { echo "schemathesis: $*" >&2; exit 1; }

if [[ ! -x $venv/bin/schemathesis ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi
"$venv/bin/schemathesis" --version

if [[ -z ${ECHOBASE_BIN:-} ]]; then
    cargo build --release --locked --bin echobase
fi
bin=$(realpath "${ECHOBASE_BIN:-target/release/echobase}")
[[ -x $bin ]] || die "no server binary at $bin"

config=$(realpath .ci/schemathesis.toml)
out=${ST_OUT:-$(mktemp -d)}
mkdir -p "$out"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a server for one run, setting `port` and `server`. Its database is new: a SQLite
# file in the run's folder, or a PostgreSQL database made for it.
start_server() {
    local run=$1 dir=$2 database
    case $run in
        sqlite-*) database="sqlite://$dir/echobase.db" ;;
        postgres-*)
            local name="echobase_st_${run//-/_}"
            psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" \
                -c "CREATE DATABASE $name" >/dev/null
            database="$pg/$name"
            ;;
        *) die "unknown run $run" ;;
    esac
    port=$(free_port)
    # database_acquire_timeout 5s: four servers, PostgreSQL and the fuzzers share two cores,
    # and twice a PostgreSQL server waited over its default second for a connection (a 503
    # the fuzzer counts as a fault); the default stays 1s for real deployments.
    (cd "$dir" && exec env -u ECHOBASE_BIN ECHOBASE_LOG_LEVEL=warn ECHOBASE_ECHO__MAX_DELAY=50ms \
        ECHOBASE_DATABASE_ACQUIRE_TIMEOUT=5s \
        ECHOBASE_ECHO__MAX_EVENTS=20 ECHOBASE_EVENTS__GITHUB_SECRET=schemathesis-github \
        ECHOBASE_EVENTS__GITLAB_TOKEN=schemathesis-gitlab ECHOBASE_ECHO__SERVER_KEY=schemathesis-echo \
        ECHOBASE_EVENTS__PAGERDUTY_SECRET=schemathesis-pagerduty \
        ECHOBASE_EVENTS__OPSGENIE_TOKEN=schemathesis-opsgenie \
        ECHOBASE_EVENTS__JENKINS_TOKEN=schemathesis-jenkins \
        ECHOBASE_EVENTS__ARGOCD_TOKEN=schemathesis-argocd \
        "$bin" serve --listen "127.0.0.1:$port" --database-url "$database" \
        >"$dir/server.log" 2>&1) &
    server=$!
    for _ in $(seq 1 300); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break
        sleep 0.1
    done
    curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" \
        || die "$run: the server did not start: $(tail -3 "$dir/server.log")"
}

# One run, in a subshell: its own server, the key it requires (if any), schemathesis
# against it.
fuzz() {
    local run=$1 dir="$out/$1" key=""
    port="" server="" # globals of this subshell, for the trap
    rm -rf "$dir"
    mkdir -p "$dir"
    trap '[[ -n $server ]] && kill "$server" 2>/dev/null; true' EXIT
    local -a auth=() phases=()
    if [[ $run == *-keys ]]; then
        # Without the coverage phase: its boundary cases (~90% of a run's time) are the
        # same requests with or without a key, and run in the open runs; here every
        # operation is still fuzzed and chained with a key.
        phases=(--phases examples,fuzzing,stateful)
        local generated
        generated=$("$bin" keys generate --scopes admin --id schemathesis)
        key=$(grep -o 'ebk_[A-Za-z0-9_-]*' <<<"$generated" | head -n 1)
        export ECHOBASE_AUTH__KEYS
        ECHOBASE_AUTH__KEYS=$(grep -o '"schemathesis:[^"]*"' <<<"$generated" | tr -d '"')
        [[ -n $key && -n $ECHOBASE_AUTH__KEYS ]] || die "$run: no key from keys generate"
        auth=(-H "Authorization: Bearer $key")
    else
        unset ECHOBASE_AUTH__KEYS
    fi
    start_server "$run" "$dir"
    # From the run's folder: schemathesis keeps a cache where it runs.
    (cd "$dir" && "$venv/bin/schemathesis" --config-file "$config" \
        run "http://127.0.0.1:$port/openapi.json" \
        --seed "$seed" --max-examples "$examples" --workers 1 \
        --request-timeout 10 --generation-database none --no-color "${auth[@]}" \
        --report junit --report-dir "$dir/report" "${phases[@]}" ${ST_ARGS:-} \
        >"$dir/schemathesis.log" 2>&1)
}

declare -A pids
for run in "${runs[@]}"; do
    ( fuzz "$run" ) &
    pids[$run]=$!
done
failed=0
for run in "${runs[@]}"; do
    if wait "${pids[$run]}"; then
        echo "schemathesis $run: passed ($(grep -A1 '^Test cases:' "$out/$run/schemathesis.log" | tail -n 1 | xargs))"
    else
        failed=$((failed + 1))
        echo "schemathesis $run: FAILED; its output:"
        tail -n 200 "$out/$run/schemathesis.log" || true
        echo "-- server log:"
        tail -n 20 "$out/$run/server.log" || true
    fi
done
echo "schemathesis: $(( ${#runs[@]} - failed )) passed, $failed failed"
[[ $failed -eq 0 ]]
