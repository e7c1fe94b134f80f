#!/usr/bin/env bash
# Starts or stops real S3-compatible servers (moto) on loopback for the tests:
# an open one on $LAKEFED_S3_PORT (default 9753) with bucket `lakefed-test`,
# and one that checks credentials on the next port (every request with an
# unknown key is refused, as AWS refuses wrong credentials).
#   scripts/s3-server.sh start   # prints the open endpoint; waits until both answer
#   scripts/s3-server.sh stop
set -euo pipefail
source "$(dirname "$0")/env.sh"
PORT="${LAKEFED_S3_PORT:-9753}"
AUTH_PORT=$((PORT + 1))
BUCKET="${LAKEFED_TEST_S3_BUCKET:-lakefed-test}"

start_server() { # name port [env...]
    local name=$1 port=$2
    shift 2
    env "$@" "$LAKEFED_VENV/bin/python" -m moto.server -H 127.0.0.1 -p "$port" \
        >"$LAKEFED_LOGS/$name.log" 2>&1 &
    echo $! >"$LAKEFED_LOGS/$name.pid"
    for _ in $(seq 1 150); do
        if curl -sS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "$name did not answer on port $port; log:" >&2
    cat "$LAKEFED_LOGS/$name.log" >&2
    return 1
}

stop_server() { # name
    local pidfile="$LAKEFED_LOGS/$1.pid"
    if [ -f "$pidfile" ]; then
        kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    fi
}

case "${1:-}" in
start)
    stop_server s3-server
    stop_server s3-server-auth
    start_server s3-server "$PORT"
    curl -fsS -X PUT "http://127.0.0.1:$PORT/$BUCKET" >/dev/null
    start_server s3-server-auth "$AUTH_PORT" INITIAL_NO_AUTH_ACTION_COUNT=0
    echo "http://127.0.0.1:$PORT"
    ;;
stop)
    stop_server s3-server
    stop_server s3-server-auth
    ;;
*)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
