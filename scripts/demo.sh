#!/usr/bin/env bash
# The main job on an embedded default: starts a local Spark Connect server
# (Spark 4.3 from the pyspark wheel) and the local Databricks workspace
# emulator on it (a SQL warehouse and a Unity Catalog whose Delta tables live
# on the emulator's own S3 server), creates sample data in Spark, in local
# Delta tables and in Unity Catalog, and runs federated queries over them,
# the last one over all four kinds of source, printing the results, the SQL
# sent to Spark and to the warehouse, and what each Delta scan read.
# Pass --no-spark for the Delta-only version (no Java needed).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LAKEFED_ROOT"
args=()
started=()
on_exit() {
    for server in "${started[@]}"; do
        "$LAKEFED_ROOT/scripts/$server" stop
    done
}
trap on_exit EXIT

# Unity Catalog table $1 (catalog.schema.table) with the rows of the Spark
# SQL query $2, and the rest of the emulator's admin body in $3.
uc_table() {
    curl -sS -o /dev/null -X DELETE "$WORKSPACE_URL/emulator/unity-catalog/tables/$1"
    "$LAKEFED_VENV/bin/python" -c '
import json, sys
body = {"full_name": sys.argv[1], "sql": sys.argv[2], **json.loads(sys.argv[3])}
print(json.dumps(body))' "$1" "$2" "${3:-{\}}" |
        curl -fsS -o /dev/null -H 'content-type: application/json' --data-binary @- \
            "$WORKSPACE_URL/emulator/unity-catalog/tables"
}

if [ "${1:-}" = "--no-spark" ]; then
    shift
else
    "$LAKEFED_ROOT/scripts/setup-system.sh"
    if ! "$LAKEFED_ROOT/scripts/spark-server.sh" status; then
        started+=(spark-server.sh)
    fi
    args=(--spark "$("$LAKEFED_ROOT/scripts/spark-server.sh" start)")
    if ! curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${LAKEFED_WORKSPACE_PORT:-18080}/.well-known/databricks-config" 2>/dev/null; then
        started=(workspace-emulator.sh "${started[@]}")
    fi
    WORKSPACE_URL="$("$LAKEFED_ROOT/scripts/workspace-emulator.sh" start)"
    uc_table spark_catalog.lakefed_demo_uc.countries \
        "SELECT * FROM VALUES ('DE', 'Germany', 'EMEA'), ('FR', 'France', 'EMEA'), ('JP', 'Japan', 'APAC'),
         ('US', 'United States', 'AMER'), ('BR', 'Brazil', 'AMER') AS t(code, name, region)"
    uc_table spark_catalog.lakefed_demo_uc.targets \
        "SELECT country, region, CAST(target AS DECIMAL(12, 2)) AS target, owner FROM VALUES
         ('DE', 'EMEA', 900000, 'anna@example.com'), ('FR', 'EMEA', 700000, 'luc@example.com'),
         ('JP', 'APAC', 500000, 'yui@example.com'), ('US', 'AMER', 1500000, 'sam@example.com'),
         ('BR', 'AMER', 400000, 'ana@example.com') AS t(country, region, target, owner)" \
        '{"row_filter": {"function_name": "spark_catalog.lakefed_demo_uc.no_apac", "input_column_names": ["region"], "condition": "region <> '"'APAC'"'"},
          "column_masks": {"owner": {"function_name": "spark_catalog.lakefed_demo_uc.hide", "using_column_names": [], "expression": "'"'***'"'"}}}'
    storage="$(curl -fsS "$WORKSPACE_URL/emulator/unity-catalog" |
        "$LAKEFED_VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["storage_endpoint"])')"
    export DATABRICKS_TOKEN="${LAKEFED_WORKSPACE_TOKEN:-dapi-lakefed-test-token}"
    args+=(--workspace "$WORKSPACE_URL" --warehouse "${LAKEFED_WORKSPACE_WAREHOUSE_ID:-lakefed-wh}"
        --uc-storage-endpoint "$storage")
fi
cargo run --quiet --bin lakefed -- demo "${args[@]}" "$@"
