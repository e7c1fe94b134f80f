#!/usr/bin/env bash
# MERGE INTO Delta: an upsert of 1% of TPC-H lineitem with lakefed and with
# delta-rs's Python merge, in one run. Generates the data first if missing.
#   scripts/bench-merge.sh [--sf 1] [--rounds 5]
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
cargo build --release --example tpch --bin lakefed
DATA="$LAKEFED_ROOT/.tmp/tpch-sf$SF"
"$CARGO_TARGET_DIR/release/examples/tpch" gen --sf "$SF" --dir "$DATA"
"$LAKEFED_VENV/bin/python" benches/compare_merge.py --data "$DATA" \
    --lakefed "$CARGO_TARGET_DIR/release/lakefed" --rounds "$ROUNDS"
