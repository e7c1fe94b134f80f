#!/usr/bin/env bash
# Starts or stops a real local Spark Connect server (Spark 4.3 from the pyspark
# wheel, Java 17) for tests, benchmarks and the demo.
#   scripts/spark-server.sh start   # prints sc://127.0.0.1:PORT once a query answers
#   scripts/spark-server.sh stop
#   scripts/spark-server.sh status  # exit 0 when a server answers
# Settings (environment): LAKEFED_SPARK_PORT (15002), LAKEFED_SPARK_DRIVER_MEMORY
# (8g), LAKEFED_SPARK_TOKEN (when set, the server requires this bearer token
# and the URL printed is sc://localhost:PORT, Spark's plaintext-with-token
# host), LAKEFED_SPARK_NAME (lakefed; tells two servers apart).
# Logs: $LAKEFED_LOGS/spark (printed by test.sh when a run fails).
set -euo pipefail
source "$(dirname "$0")/env.sh"
PORT="${LAKEFED_SPARK_PORT:-15002}"
DRIVER_MEMORY="${LAKEFED_SPARK_DRIVER_MEMORY:-8g}"
TOKEN="${LAKEFED_SPARK_TOKEN:-}"
NAME="${LAKEFED_SPARK_NAME:-lakefed}"
PYTHON="$LAKEFED_VENV/bin/python"
export SPARK_LOG_DIR="$LAKEFED_LOGS/spark"
export SPARK_PID_DIR="$LAKEFED_LOGS/spark"
export SPARK_IDENT_STRING="$NAME"
mkdir -p "$SPARK_LOG_DIR"
if [ -n "$TOKEN" ]; then
    URL="sc://localhost:$PORT"
    AUTH_CONF=(--conf "spark.connect.authenticate.token=$TOKEN")
else
    URL="sc://127.0.0.1:$PORT"
    AUTH_CONF=()
fi

spark_home() {
    "$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'
}

port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
}

# A real query through the pyspark client; the client retries a closed port
# for minutes, so the port is checked first and the query is bounded.
answers() {
    port_open || return 1
    timeout 120 "$PYTHON" - "$URL" "$TOKEN" <<'PY' >/dev/null 2>&1
import sys
from pyspark.sql import SparkSession
url, token = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.remote(url + (f"/;token={token}" if token else "")).getOrCreate()
assert spark.sql("SELECT 1 AS one").collect()[0].one == 1
PY
}

case "${1:-}" in
start)
    "$LAKEFED_ROOT/scripts/setup-python.sh" "$LAKEFED_ROOT/scripts/requirements-spark.txt"
    SPARK_HOME="$(spark_home)"
    export SPARK_HOME
    if ! answers; then
        # The pyspark wheel has no Hive: the catalog lives in the server's
        # memory, so tables left in the warehouse by an earlier server are
        # orphans that would block creating them again.
        rm -rf "$LAKEFED_ROOT/.tmp/$NAME-warehouse"
        "$SPARK_HOME/sbin/start-connect-server.sh" \
            --driver-memory "$DRIVER_MEMORY" \
            --conf spark.driver.maxResultSize=4g \
            --conf spark.connect.grpc.binding.address=127.0.0.1 \
            --conf spark.connect.grpc.binding.port="$PORT" \
            --conf spark.ui.enabled=false \
            "${AUTH_CONF[@]}" \
            --conf spark.sql.warehouse.dir="$LAKEFED_ROOT/.tmp/$NAME-warehouse" \
            >"$SPARK_LOG_DIR/$NAME-start.log" 2>&1
        for _ in $(seq 1 120); do
            if port_open; then break; fi
            sleep 1
        done
        if ! answers; then
            echo "Spark Connect did not answer on port $PORT; logs:" >&2
            tail -n 50 "$SPARK_LOG_DIR"/*.out >&2 || true
            exit 1
        fi
    fi
    echo "$URL"
    ;;
status)
    [ -x "$PYTHON" ] && answers
    ;;
stop)
    if [ -x "$PYTHON" ]; then
        SPARK_HOME="$(spark_home)" && export SPARK_HOME && "$SPARK_HOME/sbin/stop-connect-server.sh" >/dev/null 2>&1 || true
    fi
    ;;
*)
    echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
