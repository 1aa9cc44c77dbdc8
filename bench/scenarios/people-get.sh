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
    local base=$1 batch=1000 start first='' body response
    body=$(mktemp "${TMPDIR:-/tmp}/people-batch.XXXXXX")
    for ((start = 0; start < PEOPLE_SEED; start += batch)); do
        awk -v start="$start" -v n="$batch" -v total="$PEOPLE_SEED" 'BEGIN {
            split("en-US de-DE fr-FR sv-SE ja-JP pt-BR", locales, " ")
            printf "["
            for (i = start; i < start + n && i < total; i++) {
                if (i > start) printf ","
                printf "{\"name\":\"person %d\",\"age\":%d,\"locale\":\"%s\"}", i, i % 100, locales[i % 6 + 1]
            }
            printf "]"
        }' >"$body"
        response=$(curl -sf -X POST -H 'content-type: application/json' \
            --data-binary "@$body" "$base/v1/people:batch") || {
            rm -f "$body"
            echo "people-get setup: the batch at $start failed" >&2
            return 1
        }
        if [[ -z $first ]]; then
            first=${response#*\"id\":}
            first=${first%%[,\}]*}
        fi
    done
    rm -f "$body"
    [[ $first =~ ^[0-9]+$ ]] || {
        echo "people-get setup: no id in the first batch's answer" >&2
        return 1
    }
    ECHOBASE_PATH=/v1/people/$((first + PEOPLE_SEED / 2))
    echo "people-get setup: stored $PEOPLE_SEED people; fetching $ECHOBASE_PATH" \
        "(X-Total-Count $(curl -sf -o /dev/null -D - "$base/v1/people?per_page=1" |
            tr -d '\r' | awk -F': ' 'tolower($1) == "x-total-count" { print $2 }'))" >&2
}
