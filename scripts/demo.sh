#!/usr/bin/env bash
# The main job on an embedded default: creates sample Delta tables and runs a
# federated query over them, printing the result and what reached each scan.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$LAKEFED_ROOT"
cargo run --quiet --bin lakefed -- demo "$@"
