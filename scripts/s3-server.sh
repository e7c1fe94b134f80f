#!/usr/bin/env bash
# Starts or stops a real S3-compatible server (moto) on loopback for the tests.
#   scripts/s3-server.sh start   # prints the endpoint; waits until it answers
#   scripts/s3-server.sh stop
set -euo pipefail
source "$(dirname "$0")/env.sh"
PORT="${LAKEFED_S3_PORT:-9753}"
PIDFILE="$LAKEFED_LOGS/s3-server.pid"
BUCKET="${LAKEFED_TEST_S3_BUCKET:-lakefed-test}"
case "${1:-}" in
start)
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        echo "http://127.0.0.1:$PORT"; exit 0
    fi
    "$LAKEFED_VENV/bin/python" -m moto.server -H 127.0.0.1 -p "$PORT" \
        >"$LAKEFED_LOGS/s3-server.log" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$PORT/moto-api/" >/dev/null 2>&1; then
            # The bucket the tests write into.
            curl -fsS -X PUT "http://127.0.0.1:$PORT/$BUCKET" >/dev/null
            echo "http://127.0.0.1:$PORT"; exit 0
        fi
        sleep 0.2
    done
    echo "S3 server did not answer on port $PORT; log:" >&2
    cat "$LAKEFED_LOGS/s3-server.log" >&2
    exit 1
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
