#!/usr/bin/env bash
# Federation on and off: TPC-H Q1, Q6, Q3 over SF1 tables in a local Spark
# Connect server through lakefed with and without subplan federation, and
# Spark alone; Q3 across Spark and Delta beside Q3 on Delta alone
# (benches/compare_federation.py). Generates TPC-H SF1 first if missing and
# starts Spark if it is not running.
#   scripts/bench-federation.sh [--rounds 5] [--link-mbit 1000]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LAKEFED_ROOT"
ROUNDS=5
LINK=()
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --link-mbit) LINK=(--link-mbit "$2"); shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
"$LAKEFED_ROOT/scripts/setup-system.sh"
"$LAKEFED_ROOT/scripts/setup-python.sh" benches/requirements.txt scripts/requirements-spark.txt
cargo build --release --example tpch --example spark_fetch
DATA="$LAKEFED_ROOT/.tmp/tpch-sf1"
"$CARGO_TARGET_DIR/release/examples/tpch" gen --sf 1 --dir "$DATA"
URL="$("$LAKEFED_ROOT/scripts/spark-server.sh" start)"
"$LAKEFED_VENV/bin/python" benches/compare_federation.py --url "$URL" --tpch "$DATA" \
    --lakefed "$CARGO_TARGET_DIR/release/examples/spark_fetch" --rounds "$ROUNDS" "${LINK[@]}"
