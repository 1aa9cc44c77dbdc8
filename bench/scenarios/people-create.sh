# shellcheck shell=bash disable=SC2034 # sourced by bench/run.sh
# Creating one person through the native API: validation, one INSERT ... RETURNING
# committed (and on SQLite fsynced) before the 201 is sent. Every request adds a
# row, so the table grows through the run.
# On PostgreSQL: ECHOBASE_BIN=bench/people-postgres-server.sh bench/run.sh people-create
DESCRIPTION="POST /v1/people, one durable insert per request"
METHOD=POST
ECHOBASE_PATH=/v1/people
BASELINE_PATH=/
CONTENT_TYPE=application/json
BODY='{"name":"peter","age":42,"locale":"en-US"}'
