#!/usr/bin/env bash
# The 22 TPC-H queries on Delta: lakefed beside DuckDB (delta extension), Polars and
# datafusion-python, in one run. Generates the data first if missing.
#   scripts/bench-peers.sh [--sf 1] [--rounds 5]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LAKEFED_ROOT"
SF=1; ROUNDS=5
while [ $# -gt 0 ]; do
    case "$1" in
    --sf) SF="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
"$LAKEFED_ROOT/scripts/setup-python.sh" benches/requirements.txt
cargo build --release --example tpch
DATA="$LAKEFED_ROOT/.tmp/tpch-sf$SF"
"$CARGO_TARGET_DIR/release/examples/tpch" gen --sf "$SF" --dir "$DATA"
"$LAKEFED_VENV/bin/python" benches/compare_peers.py --data "$DATA" \
    --sf "$SF" --lakefed "$CARGO_TARGET_DIR/release/examples/tpch" --rounds "$ROUNDS"
