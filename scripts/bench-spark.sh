#!/usr/bin/env bash
# Fetching from a local Spark Connect server: lakefed beside the pyspark
# client and adbc-driver-spark, in one run (benches/compare_spark.py); then
# lakefed and ADBC against Sail. Generates TPC-H SF1 first if missing and
# starts Spark and Sail if they are not running.
#   scripts/bench-spark.sh [--rounds 5]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LAKEFED_ROOT"
ROUNDS=5
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
"$LAKEFED_ROOT/scripts/setup-system.sh"
"$LAKEFED_ROOT/scripts/setup-python.sh" benches/requirements.txt scripts/requirements-spark.txt
cargo build --release --example tpch --example spark_fetch
DATA="$LAKEFED_ROOT/.tmp/tpch-sf1"
"$CARGO_TARGET_DIR/release/examples/tpch" gen --sf 1 --dir "$DATA"
URL="$("$LAKEFED_ROOT/scripts/spark-server.sh" start)"
SAIL_URL="$("$LAKEFED_ROOT/scripts/sail-server.sh" start)"
"$LAKEFED_VENV/bin/python" benches/compare_spark.py --url "$URL" --sail-url "$SAIL_URL" --lineitem "$DATA/lineitem" \
    --lakefed "$CARGO_TARGET_DIR/release/examples/spark_fetch" --rounds "$ROUNDS"
