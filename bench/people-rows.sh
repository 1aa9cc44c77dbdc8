#!/usr/bin/env bash
# Makes sure at least N people are stored (seeding the rest with
# bench/people-seed.sh), for the listing scenarios.
#
# Usage: bench/people-rows.sh BASE_URL N
set -euo pipefail

base=$1 wanted=$2
count() {
    curl -sf -o /dev/null -D - -H 'prefer: count=exact' "$base/v1/people?per_page=1" |
        tr -d '\r' | awk -F': ' 'tolower($1) == "x-total-count" { print $2 }'
}
stored=$(count)
[[ $stored =~ ^[0-9]+$ ]] || {
    echo "people-rows: no X-Total-Count from $base/v1/people" >&2
    exit 1
}
if ((stored < wanted)); then
    echo "people-rows: storing $((wanted - stored)) people (there are $stored)" >&2
    "$(dirname -- "${BASH_SOURCE[0]}")/people-seed.sh" "$base" "$((wanted - stored))" >/dev/null
fi
echo "people-rows: $(count) people stored" >&2
