#!/usr/bin/env bash
# Unity Catalog (the workspace emulator over the local Spark): planning one
# table of a 1,000-table schema, lakefed vs DuckDB's unity_catalog extension
# (time and REST requests), and a 4M-row Delta table read directly with
# vended credentials vs through the warehouse, on loopback and through a
# per-connection pacing proxy (benches/compare_unity_catalog.py). Starts Spark
# and the emulator if they are not running.
#   scripts/bench-unity-catalog.sh [--rounds 5] [--link-mbit 200]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LAKEFED_ROOT"
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds | --link-mbit) ARGS+=("$1" "$2"); shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
"$LAKEFED_ROOT/scripts/setup-system.sh"
"$LAKEFED_ROOT/scripts/setup-python.sh" benches/requirements.txt scripts/requirements-spark.txt \
    scripts/requirements-workspace.txt
cargo build --release --bin lakefed
SPARK_URL="$("$LAKEFED_ROOT/scripts/spark-server.sh" start)"
URL="$("$LAKEFED_ROOT/scripts/workspace-emulator.sh" start)"
"$LAKEFED_VENV/bin/python" benches/compare_unity_catalog.py --url "$URL" --spark-url "$SPARK_URL" \
    --lakefed "$CARGO_TARGET_DIR/release/lakefed" "${ARGS[@]}"
