#!/usr/bin/env bash
# Webhook payloads nobody on this project wrote, sent to a real echobase (issue 28):
#
# - GitHub: every example delivery of every event type in @octokit/webhooks-examples
#   (npm, api.github.com/index.json), signed with X-Hub-Signature-256, as content type
#   `json`, and each deployment_status, workflow_run, push and issues one again as
#   content type `form` (GitHub's default, `payload=<URL-encoded JSON>`);
# - CloudEvents: the CDEvents of tests/data/events/cdevents/ (written from the CDEvents
#   specification's conformance examples) sent through the `cloudevents` Python SDK
#   (PyPI) in structured, binary and batch mode;
# - Jenkins and Argo CD: the fixtures of tests/data/events/jenkins/ and argocd/.
#
# Each answer is checked against what docs/events.md says of the payload (200 stored,
# 202 ignored, never 5xx), then the stored events are counted against what the payloads
# hold (deploys by result, commits, incidents). Runs on SQLite and on a fresh
# PostgreSQL database, in parallel; any mismatch fails the run. Ends with
# `events-fixtures: N passed, M failed`.
#
#   .ci/events-fixtures.sh                 # sqlite and postgres
#   .ci/events-fixtures.sh sqlite          # one of them
#
# Variables: ECHOBASE_BIN (target/release/echobase; built when unset and missing),
# EF_HOME (where the npm package and the Python venv go, /opt/echobase-ci/events-fixtures),
# EF_PG (postgres://postgres@127.0.0.1:5432), EF_OUT (where each run's output and server
# log go, a temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."

examples_version=7.6.1
cloudevents_version='2.2.*'
home=${EF_HOME:-/opt/echobase-ci/events-fixtures}
examples=$home/octokit/package/api.github.com/index.json
venv=$home/venv
pg=${EF_PG:-postgres://postgres@127.0.0.1:5432}
runs=("$@")
[[ ${#runs[@]} -gt 0 ]] || runs=(sqlite postgres)

die() { echo "events-fixtures: $*" >&2; exit 1; }

for run in "${runs[@]}"; do
    [[ $run == sqlite || $run == postgres ]] || die "unknown run $run"
done

# Installed once, outside the repository; a later run finds them in place.
if [[ ! -f $examples ]]; then
    mkdir -p "$home/octokit"
    (cd "$home/octokit" && npm pack --silent "@octokit/webhooks-examples@$examples_version" >/dev/null \
        && tar -xzf "octokit-webhooks-examples-$examples_version.tgz")
fi
[[ -f $examples ]] || die "no $examples"
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import cloudevents.core.bindings.http' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "cloudevents==$cloudevents_version"
fi

if [[ -z ${ECHOBASE_BIN:-} && ! -x target/release/echobase ]]; then
    cargo build --release --locked --bin echobase
fi
bin=$(realpath "${ECHOBASE_BIN:-target/release/echobase}")
[[ -x $bin ]] || die "no server binary at $bin"

out=${EF_OUT:-$(mktemp -d)}
mkdir -p "$out"
fixtures=$(realpath tests/data/events)

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The secrets the deliveries are signed or authenticated with.
export EF_GITHUB_SECRET=fixtures-github EF_JENKINS_TOKEN=fixtures-jenkins EF_ARGOCD_TOKEN=fixtures-argocd
# The examples have no deploy workflow and no incident label: their test workflow and their
# `bug` label stand in for them, so that workflow_run and issues payloads are stored too.
export EF_DEPLOY_WORKFLOW=test.yml EF_INCIDENT_LABEL=bug

# Starts the server of one run on a new database, setting `port` and `server`.
start_server() {
    local run=$1 dir=$2 database
    case $run in
        sqlite) database="sqlite://$dir/echobase.db" ;;
        postgres)
            local name=echobase_events_fixtures
            PGOPTIONS='-c client_min_messages=warning' psql -q "$pg/postgres" \
                -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null
            database="$pg/$name"
            ;;
    esac
    port=$(free_port)
    (cd "$dir" && exec env -u ECHOBASE_BIN -u ECHOBASE_AUTH__KEYS ECHOBASE_LOG_LEVEL=warn \
        ECHOBASE_EVENTS__GITHUB_SECRET="$EF_GITHUB_SECRET" \
        ECHOBASE_EVENTS__JENKINS_TOKEN="$EF_JENKINS_TOKEN" \
        ECHOBASE_EVENTS__ARGOCD_TOKEN="$EF_ARGOCD_TOKEN" \
        ECHOBASE_EVENTS__GITHUB_DEPLOY_WORKFLOW="$EF_DEPLOY_WORKFLOW" \
        ECHOBASE_EVENTS__INCIDENT_LABEL="$EF_INCIDENT_LABEL" \
        "$bin" serve --listen "127.0.0.1:$port" --database-url "$database" \
        >"$dir/server.log" 2>&1) &
    server=$!
    for _ in $(seq 1 300); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && return 0
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    die "$run: the server did not start: $(tail -3 "$dir/server.log")"
}

# The deliveries and the checks, in Python: the SDK is Python, and so is the arithmetic
# of what the payloads should store.
send_all() {
    "$venv/bin/python" - "$@" <<'PY'
import base64, datetime, glob, hashlib, hmac, json, os, sys, urllib.error, urllib.parse, urllib.request

from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

base, examples_path, fixtures, run = sys.argv[1:5]
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAILED {what}", flush=True)


def post(path, body, headers):
    request = urllib.request.Request(base + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, None


def answer(what, status, body, expected):
    """Never 5xx, and the status the docs give the payload."""
    check(status < 500, f"{what}: {status} is a server error: {body}")
    check(status == expected, f"{what}: expected {expected}, got {status}: {body}")


# -- GitHub: every example, as `json`; the used event types again as `form` --------------
secret = os.environ["EF_GITHUB_SECRET"].encode()
RULES_LABEL = os.environ["EF_INCIDENT_LABEL"].lower()
RULES_WORKFLOW = os.environ["EF_DEPLOY_WORKFLOW"].lower()


def github_expectation(event, payload):
    """(status, events) per docs/events.md: events as (kind, key, result)."""
    repo = (payload.get("repository") or {}).get("full_name", "-")
    if event == "ping":
        return 200, []
    if event == "deployment_status":
        status = payload["deployment_status"]
        if status["state"] in ("success", "failure", "error"):
            return 200, [("deploy", ("ds", repo, status["id"]), status["state"])]
        return 202, []
    if event == "workflow_run":
        run_ = payload["workflow_run"]
        name, path = run_.get("name") or "", run_.get("path") or ""
        deploy = RULES_WORKFLOW in name.lower() or RULES_WORKFLOW in path.lower()
        conclusion = {"success": "success", "failure": "failure", "timed_out": "failure"}
        if payload["action"] == "completed" and deploy and run_.get("conclusion") in conclusion:
            key = ("wr", repo, run_["id"], run_.get("run_attempt", 1))
            return 200, [("deploy", key, conclusion[run_["conclusion"]])]
        return 202, []
    if event == "push":
        commits = payload.get("commits") or []
        return (200, [("commit", (repo, c["id"]), None) for c in commits]) if commits else (202, [])
    if event == "issues":
        labels = [l.get("name", "").lower() for l in payload["issue"].get("labels") or []]
        used = ("opened", "edited", "labeled", "reopened", "closed")
        action, issue = payload["action"], payload["issue"]
        if RULES_LABEL not in labels or action not in used:
            return 202, []
        # An edit or relabel is the opening again (its time is the issue's creation).
        at = {"reopened": issue.get("updated_at"),
              "closed": issue.get("closed_at") or issue.get("updated_at")}.get(action, issue.get("created_at"))
        kind = "incident_resolved" if action == "closed" else "incident_opened"
        return 200, [(kind, (repo, issue["number"], kind, at), None)]
    return 202, []


def github_send(event, payload, delivery, form):
    body = json.dumps(payload).encode()
    content_type = "application/json"
    if form:
        body = urllib.parse.urlencode({"payload": body.decode()}).encode()
        content_type = "application/x-www-form-urlencoded"
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return post("/v1/webhooks/github", body, {
        "Content-Type": content_type, "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": signature,
        "User-Agent": "GitHub-Hookshot/fixtures"})


index = json.load(open(examples_path))
expected_github = {}  # key -> (kind, result)
sent = 0
for entry in index:
    event = entry["name"]
    for i, payload in enumerate(entry["examples"]):
        status_expected, events = github_expectation(event, payload)
        status, body = github_send(event, payload, f"{run}-{event}-{i}-json", form=False)
        sent += 1
        answer(f"github {event}[{i}] json", status, body, status_expected)
        for kind, key, result in events:
            expected_github[key] = (kind, result)
        if event in ("deployment_status", "workflow_run", "push", "issues"):
            status, body = github_send(event, payload, f"{run}-{event}-{i}-form", form=True)
            sent += 1
            answer(f"github {event}[{i}] form", status, body, status_expected)
            if status == 200 and events:
                # The json delivery stored these events already: the same facts.
                check(body.get("stored") == 0 and body.get("duplicates") == len(events),
                      f"github {event}[{i}] form stores nothing new: {body}")

# A bad signature is a 401 and stores nothing.
status, body = post("/v1/webhooks/github", b"{}", {
    "Content-Type": "application/json", "X-GitHub-Event": "push",
    "X-GitHub-Delivery": f"{run}-bad", "X-Hub-Signature-256": "sha256=00"})
answer("github with a wrong signature", status, body, 401)

# -- CloudEvents: the CDEvents through the SDK, structured, binary, batch ----------------
USED = {"dev.cdevents.service.deployed": "deploy", "dev.cdevents.service.upgraded": "deploy",
        "dev.cdevents.incident.detected": "incident_opened",
        "dev.cdevents.incident.resolved": "incident_resolved",
        "dev.cdevents.change.merged": "change_merged"}
fmt = JSONFormat()
cdevents = [json.load(open(p)) for p in sorted(glob.glob(f"{fixtures}/cdevents/*.json"))]
check(len(cdevents) >= 5, f"cdevents fixtures found: {len(cdevents)}")


def used_kind(cdevent):
    type_ = cdevent["context"]["type"]
    return next((k for prefix, k in USED.items() if type_.startswith(prefix + ".")), None)


def cloudevent(cdevent, suffix):
    context = cdevent["context"]
    time = datetime.datetime.fromisoformat(context["timestamp"].replace("Z", "+00:00"))
    return CloudEvent({"id": context["id"] + suffix, "source": context["source"],
                       "type": context["type"], "time": time,
                       "datacontenttype": "application/json"}, cdevent)


expected_ce = {}  # kind -> count
for mode in ("structured", "binary"):
    for cdevent in cdevents:
        message = (to_structured if mode == "structured" else to_binary)(
            cloudevent(cdevent, f"-{mode}"), fmt)
        status, body = post("/v1/webhooks/cloudevents", message.body, dict(message.headers))
        kind = used_kind(cdevent)
        what = f"cloudevents {mode} {cdevent['context']['type']}"
        answer(what, status, body, 200 if kind else 202)
        stored = sum(o.get("stored", 0) for o in body) if isinstance(body, list) else None
        check(stored == (1 if kind else 0), f"{what}: stored {stored}")
        if kind:
            expected_ce[kind] = expected_ce.get(kind, 0) + 1
# The structured events again in binary mode: the same source and id, nothing new.
for cdevent in cdevents:
    message = to_binary(cloudevent(cdevent, "-structured"), fmt)
    status, body = post("/v1/webhooks/cloudevents", message.body, dict(message.headers))
    replayed = isinstance(body, list) and all(o.get("replayed") for o in body)
    check(status < 500 and replayed, f"cloudevents structured re-sent binary is a replay: {status} {body}")
# A batch (application/cloudevents-batch+json) of all of them, anew.
batch = b"[" + b",".join(fmt.write(cloudevent(c, "-batch")) for c in cdevents) + b"]"
status, body = post("/v1/webhooks/cloudevents", batch,
                    {"Content-Type": "application/cloudevents-batch+json"})
answer("cloudevents batch", status, body, 200)
used = [c for c in cdevents if used_kind(c)]
stored = sum(o.get("stored", 0) for o in body) if isinstance(body, list) else None
check(stored == len(used), f"cloudevents batch stored {stored}, expected {len(used)}")
for cdevent in used:
    expected_ce[used_kind(cdevent)] += 1

# -- Jenkins and Argo CD: the fixtures, authenticated as each tool does ------------------
jenkins_basic = "Basic " + base64.b64encode(f"jenkins:{os.environ['EF_JENKINS_TOKEN']}".encode()).decode()
expected_deploys = {"jenkins": {}, "argocd": {}}
for name, status_expected, result in [("completed-success", 200, "success"),
                                      ("completed-failure", 200, "failure"),
                                      ("started", 202, None), ("finalized-success", 202, None)]:
    body = open(f"{fixtures}/jenkins/{name}.json", "rb").read()
    status, answer_ = post("/v1/webhooks/jenkins", body, {
        "Content-Type": "application/json;charset=UTF-8", "Authorization": jenkins_basic})
    answer(f"jenkins {name}", status, answer_, status_expected)
    if result:
        expected_deploys["jenkins"][result] = expected_deploys["jenkins"].get(result, 0) + 1
for name, status_expected, result in [("sync-succeeded", 200, "success"),
                                      ("sync-failed", 200, "failure"), ("sync-running", 202, None)]:
    body = open(f"{fixtures}/argocd/{name}.json", "rb").read()
    status, answer_ = post("/v1/webhooks/argocd", body, {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {os.environ['EF_ARGOCD_TOKEN']}"})
    answer(f"argocd {name}", status, answer_, status_expected)
    if result:
        expected_deploys["argocd"][result] = expected_deploys["argocd"].get(result, 0) + 1

# -- What was stored ----------------------------------------------------------------------
stored_events, cursor = [], None
while True:
    query = "/v1/events?order=asc&limit=1000" + (f"&cursor={cursor}" if cursor else "")
    with urllib.request.urlopen(base + query, timeout=30) as response:
        page = json.loads(response.read())
    stored_events += page["events"]
    cursor = page.get("next_cursor")
    if not cursor:
        break


def tally(source, kind):
    events = [e for e in stored_events if e["kind"] == kind and e["attributes"].get("source") == source]
    by_result = {}
    for e in events:
        by_result[e.get("result")] = by_result.get(e.get("result"), 0) + 1
    return len(events), by_result


for kind in ("deploy", "commit", "incident_opened", "incident_resolved"):
    wanted = [r for k, r in expected_github.values() if k == kind]
    by_result = {}
    for r in wanted:
        by_result[r] = by_result.get(r, 0) + 1
    count, results = tally("github", kind)
    check((count, results) == (len(wanted), by_result) if wanted else count == 0,
          f"github {kind}: stored {count} {results}, expected {len(wanted)} {by_result}")
for kind in set(USED.values()):
    count, _ = tally("cloudevents", kind)
    check(count == expected_ce.get(kind, 0),
          f"cloudevents {kind}: stored {count}, expected {expected_ce.get(kind, 0)}")
for source, results in expected_deploys.items():
    count, by_result = tally(source, "deploy")
    check(by_result == results, f"{source} deploys: stored {by_result}, expected {results}")
expected_kinds = {}
for kind, _ in expected_github.values():
    expected_kinds[kind] = expected_kinds.get(kind, 0) + 1
print(f"{run}: {sent} GitHub deliveries of {len(index)} event types (storing "
      + ", ".join(f"{n} {k}" for k, n in sorted(expected_kinds.items()))
      + f"), {len(cdevents)} CDEvents in 3 modes, {len(stored_events)} events stored")
print(f"{run}: {passed} passed, {failed} failed", flush=True)
sys.exit(1 if failed else 0)
PY
}

# One run, in a subshell: its own server and database, every delivery to it.
fixtures_run() {
    local run=$1 dir="$out/$1"
    port="" server="" # globals of this subshell, for the trap
    rm -rf "$dir"
    mkdir -p "$dir"
    trap '[[ -n $server ]] && kill "$server" 2>/dev/null; true' EXIT
    start_server "$run" "$dir"
    send_all "http://127.0.0.1:$port" "$examples" "$fixtures" "$run" >"$dir/run.log" 2>&1
}

declare -A pids
for run in "${runs[@]}"; do
    ( fixtures_run "$run" ) &
    pids[$run]=$!
done
total_passed=0 total_failed=0
for run in "${runs[@]}"; do
    ok=true
    wait "${pids[$run]}" || ok=false
    counts=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$out/$run/run.log" 2>/dev/null | tail -n 1 || true)
    p=$(grep -Eo '^[0-9]+' <<<"${counts:-0}" || echo 0)
    f=$(grep -Eo '[0-9]+ failed' <<<"${counts:-0 failed}" | grep -Eo '^[0-9]+' || echo 0)
    if $ok; then
        echo "events-fixtures $run: passed ($(grep -v 'passed, ' "$out/$run/run.log" | tail -n 1))"
    else
        # A run that died before counting still counts as one failure.
        [[ $f -gt 0 ]] || f=1
        echo "events-fixtures $run: FAILED; its output:"
        tail -n 60 "$out/$run/run.log" 2>/dev/null || true
        echo "-- server log:"
        tail -n 20 "$out/$run/server.log" 2>/dev/null || true
    fi
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
done
echo "events-fixtures: logs in $out"
echo "events-fixtures: $total_passed passed, $total_failed failed"
[[ $total_failed -eq 0 ]]
