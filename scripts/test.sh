#!/usr/bin/env bash
# Installs what the tests need and runs every test: formatting, clippy, unit
# and integration tests (S3 against a real S3-compatible server on loopback,
# Spark Connect against real local Spark 4.3 servers, one requiring a token),
# the sqllogictest suites (the Spark ones against Spark and against Sail),
# a build of the benchmarks, the Databricks workspace emulator checked with
# the official databricks-sdk, and the Python package (pip-installed into a
# virtualenv, its pytest suite and the example notebook).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LAKEFED_ROOT"

"$LAKEFED_ROOT/scripts/setup-system.sh"
"$LAKEFED_ROOT/scripts/setup-python.sh"
spark_auth() {
    LAKEFED_SPARK_PORT=15003 LAKEFED_SPARK_DRIVER_MEMORY=1g LAKEFED_SPARK_NAME=lakefed-auth \
        LAKEFED_SPARK_TOKEN="$LAKEFED_TEST_SPARK_TOKEN" "$LAKEFED_ROOT/scripts/spark-server.sh" "$1"
}
on_exit() {
    status=$?
    "$LAKEFED_ROOT/scripts/s3-server.sh" stop
    "$LAKEFED_ROOT/scripts/spark-server.sh" stop
    LAKEFED_TEST_SPARK_TOKEN=unused spark_auth stop
    "$LAKEFED_ROOT/scripts/sail-server.sh" stop
    "$LAKEFED_ROOT/scripts/workspace-emulator.sh" stop
    if [ "$status" -ne 0 ]; then
        echo "--- test server logs ($LAKEFED_LOGS) ---"
        tail -n 50 "$LAKEFED_LOGS"/*.log "$LAKEFED_LOGS"/spark/*.out 2>/dev/null || true
    fi
    exit "$status"
}
trap on_exit EXIT
LAKEFED_TEST_S3_ENDPOINT="$("$LAKEFED_ROOT/scripts/s3-server.sh" start)"
export LAKEFED_TEST_S3_ENDPOINT
LAKEFED_TEST_SPARK_URL="$("$LAKEFED_ROOT/scripts/spark-server.sh" start)"
export LAKEFED_TEST_SPARK_URL
# A second, small server that requires a bearer token.
export LAKEFED_TEST_SPARK_TOKEN="lakefed-test-token"
LAKEFED_TEST_SPARK_AUTH_URL="$(spark_auth start)"
export LAKEFED_TEST_SPARK_AUTH_URL
# Sail, a second Spark Connect implementation: the Spark suites run on it too.
LAKEFED_TEST_SAIL_URL="$("$LAKEFED_ROOT/scripts/sail-server.sh" start)"
export LAKEFED_TEST_SAIL_URL
# A Databricks workspace emulator whose SQL warehouse runs on the Spark server
# above; its PAT, warehouse and OAuth service principal are its defaults.
LAKEFED_TEST_WORKSPACE_URL="$("$LAKEFED_ROOT/scripts/workspace-emulator.sh" start)"
export LAKEFED_TEST_WORKSPACE_URL
export LAKEFED_TEST_WORKSPACE_TOKEN="dapi-lakefed-test-token"
export LAKEFED_TEST_WORKSPACE_WAREHOUSE="lakefed-wh"
export LAKEFED_TEST_WORKSPACE_CLIENT_ID="lakefed-sp"
export LAKEFED_TEST_WORKSPACE_CLIENT_SECRET="lakefed-sp-secret"
# The emulator's Unity Catalog tables live on its own S3 server (moto, with
# authentication: only the credentials it vends can read).
export LAKEFED_TEST_UC_S3_ENDPOINT="http://127.0.0.1:${LAKEFED_WORKSPACE_S3_PORT:-9755}"

# The emulator follows the API reference: the official SDK, unitycatalog-client
# and DuckDB's unity_catalog extension check it first.
"$LAKEFED_VENV/bin/pytest" tests/workspace_emulator -q -p no:cacheprovider
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
# The checked-in Spark Connect code is what the pinned .proto files generate
# (this check needs protoc), and a crate that depends on lakefed builds
# without protoc.
cargo run --quiet -p generate-spark-connect -- --check
"$LAKEFED_ROOT/scripts/check-embedder-build.sh"
# The crate packages and its package builds (the summary gives its size).
cargo publish --dry-run 2>&1 | grep -E "^\s*(Packaged|warning: aborting)" || { cargo publish --dry-run; exit 1; }
# Every public item is documented and no doc link is broken.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p lakefed --quiet
# The S3-only build (without the default azure and gcs features) must keep compiling.
cargo check --no-default-features
cargo test --benches --examples --no-run
cargo test --doc
# Unit, integration and sqllogictest suites (the runner's closing line is
# "sqllogictest: N passed, N failed"), then the Python package's tests.
cargo test --lib --bins --tests
"$LAKEFED_ROOT/scripts/test-python.sh"
