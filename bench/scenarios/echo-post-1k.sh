# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# The original echo route: POST / with a 1 KiB body behind the server_key
# header, echoed back byte for byte. The baseline echoes the same body.
DESCRIPTION="POST / echo, 1 KiB body"
METHOD=POST
ECHOBASE_PATH=/
BASELINE_PATH=/
BODY_BYTES=1024
HEADERS=("server_key: bench-key")
