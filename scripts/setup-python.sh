#!/usr/bin/env bash
# Creates the project-local virtualenv (.venv) with the packages the tests
# need (moto's S3 server). Pass extra requirement files to add more, e.g.
# scripts/setup-python.sh benches/requirements.txt
set -euo pipefail
source "$(dirname "$0")/env.sh"
if [ ! -x "$LAKEFED_VENV/bin/python" ]; then
    python3 -m venv "$LAKEFED_VENV"
fi
"$LAKEFED_VENV/bin/pip" install --quiet --disable-pip-version-check \
    -r "$LAKEFED_ROOT/scripts/requirements-test.txt" "${@/#/-r}"
