#!/usr/bin/env bash
# A Databricks SQL warehouse (the workspace emulator over the local Spark):
# TPC-H SF1 lineitem fetched whole by lakefed and by databricks-sdk + pyarrow,
# on loopback and through a per-connection pacing proxy, and TPC-H Q1, Q6, Q3
# with federation on and off (benches/compare_databricks.py). Generates
# TPC-H SF1 first if missing and starts Spark and the emulator if they are
# not running.
#   scripts/bench-databricks.sh [--rounds 5] [--link-mbit 200]
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
cargo build --release --example tpch --example spark_fetch
DATA="$LAKEFED_ROOT/.tmp/tpch-sf1"
"$CARGO_TARGET_DIR/release/examples/tpch" gen --sf 1 --dir "$DATA"
SPARK_URL="$("$LAKEFED_ROOT/scripts/spark-server.sh" start)"
URL="$("$LAKEFED_ROOT/scripts/workspace-emulator.sh" start)"
"$LAKEFED_VENV/bin/python" benches/compare_databricks.py --url "$URL" --spark-url "$SPARK_URL" \
    --tpch "$DATA" --lakefed "$CARGO_TARGET_DIR/release/examples/spark_fetch" "${ARGS[@]}"
