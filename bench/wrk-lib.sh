# shellcheck shell=bash
# What bench/run.sh and bench/peers.sh both need to drive wrk: sourced by them.

lua_string() { # a Lua string literal for $1
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# parse_wrk FILE -> "req_per_sec p50_ms p99_ms errors" ("nan" when missing)
parse_wrk() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /s$/)  return substr(v, 1, length(v) - 1) * 1000
            if (v ~ /m$/)  return substr(v, 1, length(v) - 1) * 60000
            return "nan"
        }
        BEGIN { rps = "nan"; p50 = "nan"; p99 = "nan"; errors = 0 }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /^ *Non-2xx or 3xx responses:/ { errors += $NF }
        /^ *Socket errors:/ {
            for (i = 3; i <= NF; i += 2) { v = $(i + 1); sub(/,$/, "", v); errors += v }
        }
        END { print rps, p50, p99, errors }
    ' "$1"
}

median() { # median of the arguments, ignoring "nan"
    printf '%s\n' "$@" | grep -v '^nan$' | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "nan"; exit }
            if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}
