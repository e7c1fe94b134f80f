#!/usr/bin/env bash
# The main job on an embedded default: starts a local Spark Connect server
# (Spark 4.3 from the pyspark wheel), creates sample data in it and in local
# Delta tables, and runs a federated query over both, printing the result,
# the SQL sent to Spark and what each Delta scan read.
# Pass --no-spark for the Delta-only version (no Java needed).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LAKEFED_ROOT"
args=()
if [ "${1:-}" = "--no-spark" ]; then
    shift
else
    "$LAKEFED_ROOT/scripts/setup-system.sh"
    if ! "$LAKEFED_ROOT/scripts/spark-server.sh" status; then
        trap '"$LAKEFED_ROOT/scripts/spark-server.sh" stop' EXIT
    fi
    args=(--spark "$("$LAKEFED_ROOT/scripts/spark-server.sh" start)")
fi
cargo run --quiet --bin lakefed -- demo "${args[@]}" "$@"
