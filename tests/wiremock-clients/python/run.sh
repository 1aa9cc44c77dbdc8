#!/usr/bin/env bash
# Run the python-wiremock (PyPI wiremock 2.7.0) client suite against a server.
#   bash run.sh BASE_URL        e.g. bash run.sh http://127.0.0.1:8080
#   bash run.sh --install       only make sure the venv is there (before runs in parallel)
# The venv is ${PYWM_VENV:-/opt/echobase-ci/pywiremock}; it is created if missing.
# Exit code: pytest's.
set -euo pipefail

if [ $# -lt 1 ] || [ -z "$1" ]; then
    echo "usage: bash run.sh BASE_URL | --install   (for example http://127.0.0.1:8080)" >&2
    exit 2
fi
base_url="${1%/}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${PYWM_VENV:-/opt/echobase-ci/pywiremock}"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import wiremock, pytest, sys; from importlib.metadata import version; sys.exit(version("wiremock") != "2.7.0")' 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check wiremock==2.7.0 pytest
fi
[ "$1" = "--install" ] && exit 0

cd "$here"
export WIREMOCK_URL="$base_url"
export PYTHONDONTWRITEBYTECODE=1
set +e
"$venv/bin/python" -m pytest -p no:cacheprovider -q -rfE "$here"
status=$?
set -e
exit "$status"
