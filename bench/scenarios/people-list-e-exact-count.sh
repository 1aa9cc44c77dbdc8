# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# The json-server-style default: the same page counted exactly
# (`X-Total-Count` over the ~700,000 matches), one client at a time, so its
# p50 is what one exact count costs.
DESCRIPTION="people-list-a-page with count=exact, 1 connection"
METHOD=GET
ECHOBASE_PATH='/v1/people?age%5Bgte%5D=30&sort=-age'
BASELINE_PATH=/
HEADERS=("prefer: count=exact")
SCENARIO_CONNECTIONS=1
PEOPLE_LIST_ROWS=${PEOPLE_LIST_ROWS:-1000000}
setup() { "$BENCH_DIR/people-rows.sh" "$1" "$PEOPLE_LIST_ROWS"; }
