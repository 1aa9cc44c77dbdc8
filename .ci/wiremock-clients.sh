#!/usr/bin/env bash
# WireMock's own clients against echobase's mocks (issue 19): the Java client suite
# (tests/wiremock-clients/java, WireMock 3.x's com.github.tomakehurst.wiremock.client.WireMock)
# and, when it is there, the Python client suite (tests/wiremock-clients/python/run.sh),
# each against the real WireMock — the reference, which validates the suite itself — and
# against a release echobase on SQLite and on PostgreSQL. Any failure fails the run. Every
# run has its own server (the suites reset the server between checks, so two suites must
# never share one) and the runs go in parallel.
#
#   .ci/wiremock-clients.sh                          # every run
#   .ci/wiremock-clients.sh java-echobase-sqlite     # some of them: java-wiremock,
#                                                    # java-echobase-sqlite, java-echobase-postgres,
#                                                    # python-wiremock, python-echobase-sqlite,
#                                                    # python-echobase-postgres
#   WMC_ONLY=scenario,verify .ci/wiremock-clients.sh java-echobase-sqlite   # some Java checks
#
# Variables: ECHOBASE_BIN (target/release/echobase; built when unset and missing), WM_HOME
# (where the wiremock npm package is unpacked, /opt/echobase-ci/wiremock; it carries the
# standalone jar, which holds the server, the Java client and its Jackson), WMC_PG
# (postgres://postgres@127.0.0.1:5432), WMC_OUT (where each run's output and server log go,
# a temporary folder), WMC_TIMEOUT (seconds one suite may take, 300), WMC_ONLY (passed to
# the Java suite: only the checks whose name contains one of these comma-separated words).
set -euo pipefail
cd "$(dirname "$0")/.."

wm_version=3.13.2
wm_home=${WM_HOME:-/opt/echobase-ci/wiremock}
jar=$wm_home/package/build/wiremock-standalone-$wm_version.jar
pg=${WMC_PG:-postgres://postgres@127.0.0.1:5432}
suite_timeout=${WMC_TIMEOUT:-300}
python_suite=tests/wiremock-clients/python/run.sh
known_differences=tests/wiremock-clients/known-differences.txt

die() { echo "wiremock-clients: $*" >&2; exit 1; }

runs=("$@")
if [[ ${#runs[@]} -eq 0 ]]; then
    runs=(java-wiremock java-echobase-sqlite java-echobase-postgres)
    # The Python suite is written apart; it joins the default runs once it exists.
    [[ -f $python_suite ]] && runs+=(python-wiremock python-echobase-sqlite python-echobase-postgres)
fi
for run in "${runs[@]}"; do
    case $run in
        java-wiremock | java-echobase-sqlite | java-echobase-postgres) ;;
        python-wiremock | python-echobase-sqlite | python-echobase-postgres)
            [[ -f $python_suite ]] || die "$run: no $python_suite" ;;
        *) die "unknown run $run" ;;
    esac
done

# The npm package "wiremock" ships the standalone jar; it is the pinned reference server
# and, on the client side, the exact classes a Java user of WireMock 3.x has.
if [[ ! -f $jar ]]; then
    mkdir -p "$wm_home"
    (cd "$wm_home" && npm pack --silent "wiremock@$wm_version" >/dev/null \
        && tar -xzf "wiremock-$wm_version.tgz")
fi
[[ -f $jar ]] || die "no WireMock jar at $jar"

# python-wiremock's venv, once: the Python runs start together.
if [[ " ${runs[*]} " == *" python-"* ]]; then
    bash "$python_suite" --install
fi

# The echobase binary, only when a run needs one.
bin=""
if [[ " ${runs[*]} " == *-echobase-* ]]; then
    if [[ -z ${ECHOBASE_BIN:-} && ! -x target/release/echobase ]]; then
        cargo build --release --locked --bin echobase
    fi
    bin=$(realpath "${ECHOBASE_BIN:-target/release/echobase}")
    [[ -x $bin ]] || die "no server binary at $bin"
fi

out=${WMC_OUT:-$(mktemp -d)}
mkdir -p "$out"

# One compilation for every Java run, before they start in parallel.
if [[ " ${runs[*]} " == *" java-"* ]]; then
    rm -rf "$out/java-classes"
    mkdir -p "$out/java-classes"
    javac -nowarn -cp "$jar" -d "$out/java-classes" tests/wiremock-clients/java/*.java \
        || die "the Java suite does not compile"
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until url answers (2xx), at most 30 s; a JVM takes a few seconds to come up.
wait_for() {
    local url=$1 log=$2 what=$3
    for _ in $(seq 1 300); do
        curl -sf -o /dev/null "$url" && return 0
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    curl -sf -o /dev/null "$url" || die "$what: the server did not start: $(tail -3 "$log")"
}

# Starts the server of one run, setting `port` and `server`: a WireMock with its own root
# folder (saveMappings writes there), or an echobase on a new SQLite file or a PostgreSQL
# database made for the run.
start_server() {
    local run=$1 dir=$2 database
    port=$(free_port)
    case $run in
        *-wiremock)
            mkdir -p "$dir/wiremock-root"
            java -jar "$jar" --port "$port" --disable-banner --root-dir "$dir/wiremock-root" \
                >"$dir/server.log" 2>&1 &
            server=$!
            wait_for "http://127.0.0.1:$port/__admin/health" "$dir/server.log" "$run"
            return
            ;;
        *-echobase-sqlite) database="sqlite://$dir/echobase.db" ;;
        *-echobase-postgres)
            local name="echobase_wmc_${run//-/_}"
            # (the NOTICE that a first run's database did not exist is noise)
            PGOPTIONS='-c client_min_messages=warning' psql -q "$pg/postgres" \
                -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" \
                -c "CREATE DATABASE $name" >/dev/null
            database="$pg/$name"
            ;;
    esac
    # No API keys: the WireMock clients are used as most users use them, unauthenticated.
    # The journal keeps credential headers and cookies as sent, as WireMock's does (the
    # suites check them); echobase redacts them unless told to (docs/mocks.md). Proxy
    # stubs may reach loopback (the proxy checks proxy to the server itself), as
    # WireMock's may reach anything.
    (cd "$dir" && exec env -u ECHOBASE_BIN -u ECHOBASE_AUTH__KEYS ECHOBASE_LOG_LEVEL=warn \
        ECHOBASE_MOCKS__JOURNAL_CREDENTIALS=true ECHOBASE_MOCKS__PROXY_ALLOWED_TARGETS=127.0.0.0/8 \
        "$bin" serve --listen "127.0.0.1:$port" --database-url "$database" \
        >"$dir/server.log" 2>&1) &
    server=$!
    wait_for "http://127.0.0.1:$port/readyz" "$dir/server.log" "$run"
}

# One run, in a subshell: its own server, then the suite against it, bounded in time.
suite() {
    local run=$1 dir="$out/$1"
    port="" server="" # globals of this subshell, for the trap
    rm -rf "$dir"
    mkdir -p "$dir"
    trap '[[ -n $server ]] && kill "$server" 2>/dev/null; true' EXIT
    start_server "$run" "$dir"
    local target=${run#*-} # wiremock, echobase-sqlite, echobase-postgres
    local suite_name=${run%%-*} # java, python
    # echobase's known differences (tests/wiremock-clients/known-differences.txt); none for WireMock.
    local known=""
    if [[ $target == echobase-* ]]; then
        known=$(awk -v suite="$suite_name" '$1 == suite { print $2 }' "$known_differences" | paste -sd, -)
    fi
    export WMC_KNOWN_DIFFERENCES=$known
    case $run in
        java-*)
            timeout "$suite_timeout" java -cp "$jar:$out/java-classes" WireMockClientSuite \
                "http://127.0.0.1:$port" "$target" >"$dir/suite.log" 2>&1
            ;;
        python-*)
            timeout "$suite_timeout" bash "$python_suite" "http://127.0.0.1:$port" \
                >"$dir/suite.log" 2>&1
            ;;
    esac
}

declare -A pids
for run in "${runs[@]}"; do
    ( suite "$run" ) &
    pids[$run]=$!
done
failed=0
for run in "${runs[@]}"; do
    ok=true
    wait "${pids[$run]}" || ok=false
    # The Java suite ends with its count; pytest with its summary line.
    summary=$(grep -E 'passed|failed' "$out/$run/suite.log" 2>/dev/null | tail -n 1 || true)
    if $ok; then
        echo "wiremock clients $run: passed (${summary:-no summary})"
    else
        failed=$((failed + 1))
        echo "wiremock clients $run: FAILED (${summary:-no summary}); its output:"
        tail -n 150 "$out/$run/suite.log" 2>/dev/null || true
        echo "-- server log:"
        tail -n 20 "$out/$run/server.log" 2>/dev/null || true
    fi
done
echo "wiremock clients: logs in $out"
echo "wiremock clients: $(( ${#runs[@]} - failed )) passed, $failed failed"
[[ $failed -eq 0 ]]
