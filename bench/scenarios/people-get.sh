# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# Fetching one person by id with 100,000 people stored (seeded by setup through
# the batch endpoint, 1,000 per request, on top of whatever earlier scenarios
# stored). The fetched id is in the middle of the seeded range.
# On PostgreSQL: ECHOBASE_BIN=bench/people-postgres-server.sh bench/run.sh people-get
DESCRIPTION="GET /v1/people/{id} with 100,000 people stored"
METHOD=GET
ECHOBASE_PATH=/v1/people/1 # replaced by setup with an id it stored
BASELINE_PATH=/
PEOPLE_SEED=${PEOPLE_SEED:-100000}

setup() {
    local base=$1 first
    first=$("$BENCH_DIR/people-seed.sh" "$base" "$PEOPLE_SEED") || return 1
    ECHOBASE_PATH=/v1/people/$((first + PEOPLE_SEED / 2))
    echo "people-get setup: stored $PEOPLE_SEED people; fetching $ECHOBASE_PATH" \
        "(X-Total-Count $(curl -sf -o /dev/null -D - "$base/v1/people?per_page=1" |
            tr -d '\r' | awk -F': ' 'tolower($1) == "x-total-count" { print $2 }'))" >&2
}
