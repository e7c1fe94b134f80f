#!/usr/bin/env bash
# Starts or stops a local Sail server (a Spark Connect server written in Rust,
# from the pysail wheel), in its own virtualenv ($LAKEFED_ROOT/.venv-sail).
#   scripts/sail-server.sh start   # prints sc://127.0.0.1:PORT once a query answers
#   scripts/sail-server.sh stop
# LAKEFED_SAIL_PORT sets the port (50051). Logs: $LAKEFED_LOGS/sail.log.
set -euo pipefail
source "$(dirname "$0")/env.sh"
PORT="${LAKEFED_SAIL_PORT:-50051}"
VENV="$LAKEFED_ROOT/.venv-sail"
PIDFILE="$LAKEFED_LOGS/sail.pid"
URL="sc://127.0.0.1:$PORT"

answers() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || return 1
    timeout 60 "$VENV/bin/python" - "$URL" <<'PY' >/dev/null 2>&1
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
assert spark.sql("SELECT 1 AS one").collect()[0].one == 1
PY
}

case "${1:-}" in
start)
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$LAKEFED_ROOT/scripts/requirements-sail.txt"
    if ! answers; then
        # Sail writes managed tables under ./spark-warehouse and keeps its
        # catalog in memory: start it in a directory of its own, emptied.
        rm -rf "$LAKEFED_ROOT/.tmp/sail"
        mkdir -p "$LAKEFED_ROOT/.tmp/sail"
        (
            cd "$LAKEFED_ROOT/.tmp/sail"
            nohup "$VENV/bin/sail" spark server --ip 127.0.0.1 --port "$PORT" \
                >"$LAKEFED_LOGS/sail.log" 2>&1 &
            echo $! >"$PIDFILE"
        )
        for _ in $(seq 1 60); do
            if answers; then break; fi
            sleep 1
        done
        if ! answers; then
            echo "Sail did not answer on port $PORT; log:" >&2
            tail -n 50 "$LAKEFED_LOGS/sail.log" >&2 || true
            exit 1
        fi
    fi
    echo "$URL"
    ;;
stop)
    if [ -f "$PIDFILE" ]; then
        kill "$(cat "$PIDFILE")" 2>/dev/null || true
        rm -f "$PIDFILE"
    fi
    ;;
*)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
