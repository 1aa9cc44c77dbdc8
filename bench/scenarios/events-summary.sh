# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# The native summary over BENCH_EVENTS (default 1,000,000) generated events:
# per-kind counts per day with the change from the previous day.
DESCRIPTION="/v1/events/summary over ${BENCH_EVENTS:-1000000} events"
ECHOBASE_PATH=/v1/events/summary
BASELINE_PATH=/
# shellcheck disable=SC1091 # events-load.bash, beside this file
source "$(dirname -- "${BASH_SOURCE[0]}")/events-load.bash"
setup() { events_load "$1"; }
