#!/usr/bin/env bash
# The alerting rules, their unit tests, the runbook they link to and the Grafana
# dashboard (deploy/README.md):
#
# - `promtool check rules` and `promtool test rules` on deploy/prometheus/;
# - every alert has a `severity` label, `summary`, `description` and `runbook_url`
#   annotations, its runbook section exists in docs/runbook.md, and its tests
#   have it both firing and not firing;
# - the dashboard is valid JSON, every panel and target uses the `${datasource}`
#   variable, and every query (each target's `expr`, each `label_values()`
#   selector), with Grafana's variables replaced by concrete values, parses as
#   PromQL: they are written as recording rules to a throwaway file that
#   `promtool check rules` parses;
# - every metric the rules and the dashboard name is one the code registers
#   (a string literal under src/).
#
# Installs Debian's `prometheus` package (for promtool) when promtool is missing,
# and python3-yaml when Python lacks it. Ends with
# `prometheus-rules: N alerts tested, M dashboard queries parsed`; exits non-zero on
# any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

rules=deploy/prometheus/echobase.rules.yml
tests=deploy/prometheus/echobase.rules.test.yml
dashboard=deploy/grafana/echobase.json
runbook=docs/runbook.md

# Installs a Debian package, refreshing the package lists first when apt does not
# know it yet.
apt_install() {
  local package=$1
  if ! apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    apt-get update -qq
  fi
  if ! apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "prometheus-rules: no Debian package '$package' in the configured apt sources" >&2
    exit 1
  fi
  echo "installing Debian's $package"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null
}

command -v promtool >/dev/null || apt_install prometheus
python3 -c 'import yaml' 2>/dev/null || apt_install python3-yaml
version=$(promtool --version 2>&1 | head -n 1)
echo "$version"
case "$version" in
  *"version 2."*) ;;
  *) echo "prometheus-rules: note: the tests were written against promtool 2.x (Debian 12's 2.42): Prometheus 3 leaves the" \
       "sample at a range's start out, so values at the edges of a window may differ" >&2 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== promtool check rules"
promtool check rules "$rules"

echo "== promtool test rules"
promtool test rules "$tests"

echo "== alerts, runbook, dashboard"
python3 - "$rules" "$tests" "$runbook" "$dashboard" "$work" <<'PY'
import json, os, re, sys
import yaml

rules_path, tests_path, runbook_path, dashboard_path, work = sys.argv[1:]
errors = []

def fail(message):
    errors.append(message)

# ---------------------------------------------------------------- the rules
rules = yaml.safe_load(open(rules_path))
groups = {group["name"]: group for group in rules.get("groups", [])}
if "echobase" not in groups:
    fail(f"{rules_path}: no group named echobase")
alerts = [rule for group in rules.get("groups", []) for rule in group.get("rules", []) if "alert" in rule]
if not alerts:
    fail(f"{rules_path}: no alerts")

# GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
def anchor(heading):
    heading = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return heading.replace(" ", "-")

anchors = {anchor(line.lstrip("#")) for line in open(runbook_path) if re.match(r"#{1,6} ", line)}

for rule in alerts:
    name = rule["alert"]
    severity = rule.get("labels", {}).get("severity")
    if severity not in ("critical", "warning", "info"):
        fail(f"{name}: severity label is {severity!r}, not critical, warning or info")
    annotations = rule.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        if not annotations.get(key):
            fail(f"{name}: no {key} annotation")
    if not re.search(r"\$(value|labels)", annotations.get("description", "")):
        fail(f"{name}: the description names no value ($value, $labels...)")
    url = annotations.get("runbook_url", "")
    match = re.fullmatch(r"docs/runbook\.md#([\w-]+)", url)
    if not match:
        fail(f"{name}: runbook_url {url!r} is not docs/runbook.md#<anchor>")
    elif match.group(1) != name.lower():
        fail(f"{name}: runbook_url {url!r} does not point at #{name.lower()}")
    elif match.group(1) not in anchors:
        fail(f"{name}: {runbook_path} has no section #{match.group(1)}")

# ---------------------------------------------------------------- the tests
tests = yaml.safe_load(open(tests_path))
fires, quiet = set(), set()
for test in tests.get("tests", []):
    for case in test.get("alert_rule_test", []) or []:
        (fires if case.get("exp_alerts") else quiet).add(case["alertname"])
for rule in alerts:
    name = rule["alert"]
    if name not in fires:
        fail(f"{tests_path}: no test where {name} fires")
    if name not in quiet:
        fail(f"{tests_path}: no test where {name} must not fire")
unknown = (fires | quiet) - {rule["alert"] for rule in alerts}
for name in sorted(unknown):
    fail(f"{tests_path}: tests an alert the rules do not have: {name}")

# ---------------------------------------------------------------- the dashboard
try:
    dashboard = json.load(open(dashboard_path))
except ValueError as error:
    print(f"{dashboard_path}: not valid JSON: {error}", file=sys.stderr)
    sys.exit(1)

variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
datasource = variables.get("datasource", {})
if datasource.get("type") != "datasource" or datasource.get("query") != "prometheus":
    fail(f"{dashboard_path}: no `datasource` variable of Prometheus data sources")
for name in ("module", "route"):
    if variables.get(name, {}).get("type") != "query":
        fail(f"{dashboard_path}: no `{name}` query variable")
if not isinstance(dashboard.get("schemaVersion"), int) or dashboard["schemaVersion"] < 36:
    fail(f"{dashboard_path}: schemaVersion {dashboard.get('schemaVersion')!r}, expected 36 or later")

def flat(panels):
    for panel in panels:
        yield panel
        yield from flat(panel.get("panels", []))

queries = []  # (where, PromQL)
ids = set()
for panel in flat(dashboard.get("panels", [])):
    where = f"panel {panel.get('title')!r}"
    if panel.get("id") in ids:
        fail(f"{where}: id {panel.get('id')} used twice")
    ids.add(panel.get("id"))
    grid = panel.get("gridPos", {})
    if grid.get("x", 0) + grid.get("w", 0) > 24:
        fail(f"{where}: wider than the 24 grid columns")
    if panel.get("type") == "row":
        continue
    if panel.get("datasource", {}).get("uid") != "${datasource}":
        fail(f"{where}: its datasource is not ${{datasource}}")
    if not panel.get("targets"):
        fail(f"{where}: no targets")
    for target in panel.get("targets", []):
        if target.get("datasource", {}).get("uid") != "${datasource}":
            fail(f"{where}, target {target.get('refId')}: its datasource is not ${{datasource}}")
        if not target.get("expr", "").strip():
            fail(f"{where}, target {target.get('refId')}: no expr")
        else:
            queries.append((f"{where}, target {target.get('refId')}", target["expr"]))
for name, variable in variables.items():
    if variable.get("type") != "query":
        continue
    query = variable.get("query")
    query = query.get("query", "") if isinstance(query, dict) else query or ""
    match = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", query, re.S)
    if match:
        queries.append((f"variable {name}", match.group(1)))
    elif not re.fullmatch(r"\s*label_values\(\s*\w+\s*\)\s*", query):
        fail(f"variable {name}: {query!r} is not label_values(...)")

# Grafana's variables, given the values they take at query time.
builtins = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h",
            "__interval_ms": "60000", "__range_s": "3600", "__range_ms": "3600000"}
def concrete(expr):
    def value(match):
        name = match.group(1) or match.group(2)
        if name in builtins:
            return builtins[name]
        if name in variables:
            return ".*"  # used in =~ matchers; a multi-value becomes a regex
        fail(f"unknown Grafana variable ${name} in {expr!r}")
        return name
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", value, expr)

recording = {"groups": [{"name": "dashboard", "rules": [
    {"record": f"dashboard:query_{i}", "expr": concrete(expr)}
    for i, (_, expr) in enumerate(queries, 1)]}]}
with open(os.path.join(work, "dashboard.rules.yml"), "w") as out:
    json.dump(recording, out, indent=1)  # JSON is YAML
with open(os.path.join(work, "dashboard.index"), "w") as out:
    for i, (where, _) in enumerate(queries, 1):
        out.write(f"dashboard:query_{i}\t{where}\n")

# ---------------------------------------------------------------- metric names
# Every metric named in the rules or the dashboard is registered by the code.
source = ""
for root, _, files in os.walk("src"):
    for file in files:
        if file.endswith(".rs"):
            source += open(os.path.join(root, file), encoding="utf-8").read()
exprs = [rule["expr"] for rule in alerts] + [expr for _, expr in queries]
names = set()
for expr in exprs:
    names.update(re.findall(r"\b((?:http|db|echobase)_[a-z0-9_]+)\b", expr))
for name in sorted(names):
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    if f'"{name}"' not in source and f'"{base}"' not in source:
        fail(f"metric {name} is not registered anywhere under src/")

for message in errors:
    print(f"prometheus-rules: {message}", file=sys.stderr)
with open(os.path.join(work, "counts"), "w") as out:
    out.write(f"{len(alerts)} {len(queries)}\n")
sys.exit(1 if errors else 0)
PY

echo "== dashboard queries (promtool check rules on a throwaway file)"
if ! promtool check rules "$work/dashboard.rules.yml" >"$work/dashboard.out" 2>&1; then
  cat "$work/dashboard.out" >&2
  echo "prometheus-rules: a dashboard query does not parse; the recording rules are numbered as:" >&2
  cat "$work/dashboard.index" >&2
  exit 1
fi
grep -m 1 "SUCCESS" "$work/dashboard.out"

read -r alerts queries <"$work/counts"
echo "prometheus-rules: $alerts alerts tested, $queries dashboard queries parsed"
