#!/usr/bin/env bash
# Generates N deployment-pipeline events as NDJSON on standard output, for the
# events benchmarks. Deterministic: the same N gives the same events (and ids),
# so loading the output twice stores it once.
#
# Usage: bench/events-gen.sh [N=1000000] [DAYS=365]
#
# Each change is a commit, then a stage, then (mostly) a production deploy of
# the same sha; about 1 event in 100 opens or resolves an incident. 300
# engineers, 20 services, spread evenly over DAYS days ending 2024-12-31.
set -euo pipefail
N=${1:-1000000}
DAYS=${2:-365}
exec awk -v n="$N" -v days="$DAYS" 'BEGIN {
    end_ms = 1735689600000            # 2025-01-01T00:00:00Z
    span = days * 86400000
    start = end_ms - span
    step = span / n
    for (i = 0; i < n; i++) {
        t = int(start + i * step)
        change = int(i / 10)
        slot = i % 10
        actor = sprintf("eng-%03d", (change * 7919) % 300)
        service = sprintf("svc-%02d", change % 20)
        sha = sprintf("%08x%08x", change, (change * 2654435761) % 4294967296)
        if (i % 100 == 99) {
            kind = (int(i / 100) % 2 == 0) ? "incident_opened" : "incident_resolved"
            printf "{\"id\":\"gen-%d\",\"kind\":\"%s\",\"service\":\"%s\",\"environment\":\"production\",\"attributes\":{\"incident_id\":\"INC-%d\"},\"time\":%.3f}\n", i, kind, service, int(i / 200), t / 1000
            continue
        }
        if (slot < 4)      { kind = "commit"; env = "" }
        else if (slot < 7) { kind = "stage";  env = ",\"environment\":\"staging\"" }
        else               { kind = "deploy"; env = ",\"environment\":\"production\"" }
        result = (kind == "deploy") ? ((change % 23 == 0) ? ",\"result\":\"failure\"" : ",\"result\":\"success\"") : ""
        printf "{\"id\":\"gen-%d\",\"time\":%.3f,\"kind\":\"%s\",\"actor\":\"%s\",\"service\":\"%s\",\"sha\":\"%s\"%s%s}\n", i, t / 1000, kind, actor, service, sha, env, result
    }
}'
