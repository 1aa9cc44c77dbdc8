#!/usr/bin/env bash
# Stores N people through the batch endpoint, 1,000 per request, and prints
# the id of the first one stored. Ages run 0..99 and locales cycle through six
# tags, so filters on either match a known share of the rows.
#
# Usage: bench/people-seed.sh BASE_URL N
set -euo pipefail

base=$1 total=$2 batch=1000 first=''
body=$(mktemp "${TMPDIR:-/tmp}/people-batch.XXXXXX")
trap 'rm -f "$body"' EXIT
for ((start = 0; start < total; start += batch)); do
    awk -v start="$start" -v n="$batch" -v total="$total" 'BEGIN {
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
        echo "people-seed: the batch at $start failed" >&2
        exit 1
    }
    if [[ -z $first ]]; then
        first=${response#*\"id\":}
        first=${first%%[,\}]*}
    fi
done
[[ $first =~ ^[0-9]+$ ]] || {
    echo "people-seed: no id in the first batch's answer" >&2
    exit 1
}
echo "$first"
