# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# Durable writes: POST /v1/messages with a distinct 1 KiB raw body per request
# (a per-run random nonce, the wrk thread and a counter lead the body), so every
# request stores a new message (201) and is acknowledged only after its group
# commit. The baseline echoes the same bodies.
DESCRIPTION="POST /v1/messages, distinct 1 KiB raw bodies (durable writes)"
METHOD=POST
ECHOBASE_PATH=/v1/messages
BASELINE_PATH=/
BODY_BYTES=1024 # sets Content-Type and a default body; request() below replaces it
CONTENT_TYPE=application/octet-stream
LUA=$(
    cat <<'EOF'
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local nonce, counter = "", 0
local padding = string.rep("x", 1024)
function init(args)
  local random = assert(io.open("/dev/urandom", "rb"))
  nonce = random:read(8):gsub(".", function(c) return string.format("%02x", c:byte()) end)
  random:close()
end

function request()
  counter = counter + 1
  local head = string.format("%s-%d-%d-", nonce, id or 0, counter)
  return wrk.format(nil, nil, nil, head .. padding:sub(1, 1024 - #head))
end
EOF
)
