# Shared settings for the scripts: sourced, not run.
LAKEFED_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LAKEFED_ROOT
# Keep cargo's build outside the clone so repeated runs reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lakefed-target}"
# Project-local Python environment for test servers and benchmark peers.
export LAKEFED_VENV="${LAKEFED_VENV:-$LAKEFED_ROOT/.venv}"
# Logs of test servers; printed by test.sh when a run fails.
export LAKEFED_LOGS="${LAKEFED_LOGS:-$LAKEFED_ROOT/.tmp/logs}"
mkdir -p "$LAKEFED_LOGS"
