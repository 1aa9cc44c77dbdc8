# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# The deepest cursor page of the same listing: the cursor sits at the last
# person of age 30 by id, about 700,000 rows in at 1M people (a page number
# that deep would be OFFSET 700000).
DESCRIPTION="cursor page ~700,000 rows deep into age[gte]=30&sort=-age"
METHOD=GET
ECHOBASE_PATH=/v1/people # replaced by setup
BASELINE_PATH=/
PEOPLE_LIST_ROWS=${PEOPLE_LIST_ROWS:-1000000}
setup() {
    local base=$1 token
    "$BENCH_DIR/people-rows.sh" "$base" "$PEOPLE_LIST_ROWS" || return 1
    # A cursor made for the same sort by a listing that starts at age 30.
    token=$(curl -sf -o /dev/null -D - "$base/v1/people?age%5Blte%5D=30&sort=-age&per_page=1&cursor=" |
        tr -d '\r' | awk -F': ' 'tolower($1) == "x-next-cursor" { print $2 }')
    [[ -n $token ]] || {
        echo "people-list-d-deep-cursor setup: no X-Next-Cursor" >&2
        return 1
    }
    ECHOBASE_PATH="/v1/people?age%5Bgte%5D=30&sort=-age&cursor=$token"
}
