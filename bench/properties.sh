#!/usr/bin/env bash
# Runs the property tests of tests/properties.rs longer than CI does.
#   bench/properties.sh            # 100,000 cases per property
#   bench/properties.sh 1000000    # more
# A failure prints the smallest input proptest found; proptest saves its seed
# in tests/properties.proptest-regressions (commit it with the fix), and every
# later run replays it first.
set -euo pipefail
cd "$(dirname "$0")/.."
PROPTEST_CASES="${1:-100000}" cargo test --release --test properties
