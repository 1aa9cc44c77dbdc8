#!/usr/bin/env bash
# Prints a WireMock import document (POST /__admin/mappings/import) with COUNT
# stubs: GET /bench/stub/0 .. /bench/stub/COUNT-2, and GET /bench/target as
# the last one defined (the one the mocks scenarios request).
# Usage: bench/mocks-stubs.sh COUNT
set -euo pipefail
count=${1:?usage: $0 COUNT}
((count >= 1)) || { echo "COUNT must be at least 1" >&2; exit 2; }
printf '{"mappings":['
for ((i = 0; i < count - 1; i++)); do
    printf '{"request":{"method":"GET","urlPath":"/bench/stub/%d"},"response":{"status":200,"body":"stub %d"}},' "$i" "$i"
done
printf '{"request":{"method":"GET","urlPath":"/bench/target"},"response":{"status":200,"headers":{"Content-Type":"text/plain"},"body":"target"}}'
printf ']}\n'
