# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# The first cursor page of the people-list-a-page listing (no count, the
# cursor default): the reference for people-list-d-deep-cursor.
DESCRIPTION="first cursor page of age[gte]=30&sort=-age, 1M people"
METHOD=GET
ECHOBASE_PATH='/v1/people?age%5Bgte%5D=30&sort=-age&cursor='
BASELINE_PATH=/
PEOPLE_LIST_ROWS=${PEOPLE_LIST_ROWS:-1000000}
setup() { "$BENCH_DIR/people-rows.sh" "$1" "$PEOPLE_LIST_ROWS"; }
