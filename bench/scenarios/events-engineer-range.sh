# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# One engineer's events over three months (one page of up to 1,000) among
# BENCH_EVENTS (default 1,000,000) generated events.
DESCRIPTION="one engineer, 3 months, among ${BENCH_EVENTS:-1000000} events"
ECHOBASE_PATH="/v1/events?engineer=eng-042&from=2024-03-01&to=2024-06-01&limit=1000"
BASELINE_PATH=/
# shellcheck disable=SC1091 # events-load.bash, beside this file
source "$(dirname -- "${BASH_SOURCE[0]}")/events-load.bash"
setup() { events_load "$1"; }
