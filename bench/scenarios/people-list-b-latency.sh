# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# The people-list-a-page request from one client at a time: its p50 is the
# latency of one page (no request queues behind another).
DESCRIPTION="people-list-a-page from 1 connection (latency)"
METHOD=GET
ECHOBASE_PATH='/v1/people?age%5Bgte%5D=30&sort=-age'
BASELINE_PATH=/
HEADERS=("prefer: count=estimated")
SCENARIO_CONNECTIONS=1
PEOPLE_LIST_ROWS=${PEOPLE_LIST_ROWS:-1000000}
setup() { "$BENCH_DIR/people-rows.sh" "$1" "$PEOPLE_LIST_ROWS"; }
