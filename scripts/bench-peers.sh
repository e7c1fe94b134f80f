#!/usr/bin/env bash
# The 22 TPC-H queries on Delta: lakefed beside DuckDB (delta extension), Polars and
# datafusion-python, in one run, every answer checked. Generates the data
# first if missing; extra arguments go to benches/compare_peers.py.
#   scripts/bench-peers.sh [--sf 1] [--rounds 5] [--queries q1,q6] [--set KEY=VALUE]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LAKEFED_ROOT"
SF=1; ROUNDS=5; EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
    --sf) SF="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    *) EXTRA+=("$1"); shift ;;
    esac
done
"$LAKEFED_ROOT/scripts/setup-python.sh" benches/requirements.txt
cargo build --release --example tpch
# TPC-H's own dbgen (through DuckDB), the data the official answers were computed on.
DATA="$LAKEFED_ROOT/.tmp/tpch-dbgen-sf$SF"
"$LAKEFED_VENV/bin/python" benches/tpch_dbgen.py --sf "$SF" --dir "$DATA"
"$LAKEFED_VENV/bin/python" benches/compare_peers.py --data "$DATA" \
    --sf "$SF" --lakefed "$CARGO_TARGET_DIR/release/examples/tpch" --rounds "$ROUNDS" "${EXTRA[@]}"
