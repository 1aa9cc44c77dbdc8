# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# A filtered, sorted first page over 1,000,000 people (PEOPLE_LIST_ROWS),
# counted with `Prefer: count=estimated`: throughput with many clients.
# The rows are seeded once (bench/people-rows.sh) and kept for the other
# people-list-* scenarios; ages run 0..99, so 70% of the rows match.
DESCRIPTION="GET /v1/people?age[gte]=30&sort=-age, count=estimated, 1M people"
METHOD=GET
ECHOBASE_PATH='/v1/people?age%5Bgte%5D=30&sort=-age'
BASELINE_PATH=/
HEADERS=("prefer: count=estimated")
PEOPLE_LIST_ROWS=${PEOPLE_LIST_ROWS:-1000000}
setup() { "$BENCH_DIR/people-rows.sh" "$1" "$PEOPLE_LIST_ROWS"; }
