#!/usr/bin/env bash
# Fetching a large result into pyarrow from Python: lakefed's Python package
# beside datafusion-python 55.0.0 (the same Parquet files) and the pyspark
# Spark Connect client (the same Spark table), in one run
# (benches/compare_python.py). Installs lakefed from ./python the way a user
# does (pip, maturin via PEP 517, release build: 10+ minutes the first time)
# into .tmp/venv-bench-python with the peers, generates TPC-H SF1 if missing
# and starts Spark if it is not running.
#   scripts/bench-python.sh [--rounds 5] [--no-install]
# --no-install reuses the lakefed already installed in the venv.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LAKEFED_ROOT"
ROUNDS=5
INSTALL=1
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
"$LAKEFED_ROOT/scripts/setup-system.sh"
VENV="$LAKEFED_ROOT/.tmp/venv-bench-python"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    INSTALL=1
fi
if [ "$INSTALL" -eq 1 ]; then
    echo "installing lakefed from ./python (release build) and the peers into $VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        ./python "datafusion==55.0.0" "pyspark[connect]==4.3.0" pyarrow
fi
DATA="$LAKEFED_ROOT/.tmp/tpch-sf1"
if [ ! -d "$DATA/lineitem/_delta_log" ]; then
    cargo build --release --example tpch
    "$CARGO_TARGET_DIR/release/examples/tpch" gen --sf 1 --dir "$DATA"
fi
URL="$("$LAKEFED_ROOT/scripts/spark-server.sh" start)"
"$VENV/bin/python" benches/compare_python.py --url "$URL" --lineitem "$DATA/lineitem" --rounds "$ROUNDS"
