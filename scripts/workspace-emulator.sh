#!/usr/bin/env bash
# Starts or stops the local Databricks workspace emulator
# (scripts/workspace_emulator): Statement Execution API, Unity Catalog
# listing and credential vending, OAuth M2M over a real Spark Connect server,
# which must be running (scripts/spark-server.sh start), and the S3 server of
# its Unity Catalog tables (in the emulator's process, so it starts and stops
# with it).
#   scripts/workspace-emulator.sh start   # prints http://127.0.0.1:PORT once it answers
#   scripts/workspace-emulator.sh stop
# Settings (environment): LAKEFED_WORKSPACE_PORT (18080),
# LAKEFED_WORKSPACE_SPARK_URL (sc://127.0.0.1:15002), LAKEFED_WORKSPACE_TOKEN
# (dapi-lakefed-test-token), LAKEFED_WORKSPACE_CLIENT_ID (lakefed-sp),
# LAKEFED_WORKSPACE_CLIENT_SECRET (lakefed-sp-secret),
# LAKEFED_WORKSPACE_WAREHOUSE_ID (lakefed-wh), LAKEFED_WORKSPACE_SPOOL_DIR (where
# result chunks are spooled: $LAKEFED_ROOT/.tmp/workspace-emulator),
# LAKEFED_WORKSPACE_S3_PORT (9755, the S3 server; 9753/9754 are
# scripts/s3-server.sh's), LAKEFED_WORKSPACE_AZURE_PORT (9756, Azurite's blob
# service), LAKEFED_WORKSPACE_GCS_PORT (9757, the GCS gate; fake-gcs-server
# behind it on the next port). Azurite (npm package `azurite`, Node.js) is
# installed into ~/.cache/lakefed/azurite-VERSION on first start.
# Log: $LAKEFED_LOGS/workspace-emulator.log.
set -euo pipefail
source "$(dirname "$0")/env.sh"
PORT="${LAKEFED_WORKSPACE_PORT:-18080}"
PIDFILE="$LAKEFED_LOGS/workspace-emulator.pid"
URL="http://127.0.0.1:$PORT"
SPARK_URL="${LAKEFED_WORKSPACE_SPARK_URL:-sc://127.0.0.1:15002}"
SPOOL="${LAKEFED_WORKSPACE_SPOOL_DIR:-$LAKEFED_ROOT/.tmp/workspace-emulator}"
AZURITE_VERSION=3.37.0
AZURITE_DIR="$HOME/.cache/lakefed/azurite-$AZURITE_VERSION"
AZURITE="$AZURITE_DIR/node_modules/.bin/azurite-blob"

install_azurite() {
    if [ -x "$AZURITE" ]; then return; fi
    if ! command -v npm >/dev/null; then
        "$LAKEFED_ROOT/scripts/setup-system.sh"
    fi
    mkdir -p "$AZURITE_DIR"
    npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --silent "azurite@$AZURITE_VERSION"
}

answers() {
    curl -fsS -o /dev/null --max-time 2 "$URL/.well-known/databricks-config" 2>/dev/null
}

spark_answers() {
    local address="${SPARK_URL#sc://}"
    address="${address%%/*}"
    timeout 2 bash -c "exec 3<>/dev/tcp/${address%:*}/${address##*:}" 2>/dev/null
}

case "${1:-}" in
start)
    "$LAKEFED_ROOT/scripts/setup-python.sh" "$LAKEFED_ROOT/scripts/requirements-workspace.txt"
    install_azurite
    if ! spark_answers; then
        echo "warning: no Spark Connect server at $SPARK_URL (scripts/spark-server.sh start): statements wait for one" >&2
    fi
    if ! answers; then
        # Results of an emulator that did not shut down cleanly.
        rm -rf "$SPOOL"/results-*
        (
            cd "$LAKEFED_ROOT/scripts"
            LAKEFED_WORKSPACE_SPOOL_DIR="$SPOOL" LAKEFED_WORKSPACE_AZURITE="$AZURITE" nohup "$LAKEFED_VENV/bin/python" -m workspace_emulator \
                --host 127.0.0.1 --port "$PORT" >"$LAKEFED_LOGS/workspace-emulator.log" 2>&1 &
            echo $! >"$PIDFILE"
        )
        for _ in $(seq 1 100); do
            if answers; then break; fi
            sleep 0.2
        done
        if ! answers; then
            echo "the workspace emulator did not answer on port $PORT; log:" >&2
            tail -n 50 "$LAKEFED_LOGS/workspace-emulator.log" >&2 || true
            exit 1
        fi
    fi
    echo "$URL"
    ;;
stop)
    if [ -f "$PIDFILE" ]; then
        PID="$(cat "$PIDFILE")"
        kill "$PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$PID" 2>/dev/null || break
            sleep 0.1
        done
        rm -f "$PIDFILE"
    fi
    ;;
*)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
