#!/usr/bin/env bash
# Installs the Python package the way its README says (pip, into a
# virtualenv: .tmp/venv-python, created when missing) with cargo's dev profile
# instead of release, then runs its pytest suite, which also executes
# examples/federated_join.ipynb in a Jupyter kernel. The Spark tests need
# LAKEFED_TEST_SPARK_URL (scripts/test.sh starts the server and sets it).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LAKEFED_ROOT"
VENV="$LAKEFED_ROOT/.tmp/venv-python"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
MATURIN_PEP517_ARGS="--profile dev" "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "$LAKEFED_ROOT/python[test]"
# From the repository root, so python/lakefed (sources without the built
# extension) does not shadow the installed package.
"$VENV/bin/pytest" python/tests -p no:cacheprovider -o faulthandler_timeout=600 "$@"
