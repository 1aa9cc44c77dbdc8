# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# Reads of stored messages: GET /v1/messages/{digest} over 256 stored 1 KiB
# messages in rotation (hot: served from the in-memory cache after the first
# read of each). The baseline answers the same requests with "ok".
DESCRIPTION="GET /v1/messages/{digest}, 256 stored 1 KiB messages in rotation"
METHOD=GET
ECHOBASE_PATH=/v1/messages # request() below picks the digest
BASELINE_PATH=/

setup() {
    local base=$1 i body location paths=$BENCH_WORK/messages-get.paths
    : >"$paths"
    for i in $(seq 256); do
        body=$(printf 'bench-get-%04d-%01009d' "$i" 0)
        location=$(curl -sf -o /dev/null -w '%header{location}' \
            -H 'content-type: application/octet-stream' --data-binary "$body" \
            "$base/v1/messages") || return 1
        [[ $location == /v1/messages/* ]] || return 1
        echo "$location" >>"$paths"
    done
}

LUA=$(
    cat <<'EOF'
local paths, next_path = {}, 0
function init(args)
  for line in io.lines(os.getenv("BENCH_WORK") .. "/messages-get.paths") do
    paths[#paths + 1] = line
  end
  next_path = math.random(#paths)
end

function request()
  next_path = next_path % #paths + 1
  return wrk.format(nil, paths[next_path])
end
EOF
)
