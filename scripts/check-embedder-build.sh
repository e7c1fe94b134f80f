#!/usr/bin/env bash
# Builds a fresh crate that depends on lakefed by path with PROTOC pointing
# at nothing: a service that embeds lakefed needs no protoc (the Spark
# Connect code is checked in, src/sources/spark_connect/proto/). The crate
# pins lakefed's Cargo.lock and shares its target directory, so only the
# crate itself is compiled anew.
set -euo pipefail
source "$(dirname "$0")/env.sh"
CRATE="$LAKEFED_ROOT/.tmp/embedder"
rm -rf "$CRATE"
mkdir -p "$CRATE/src"
cat >"$CRATE/Cargo.toml" <<TOML
[package]
name = "embedder"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
lakefed = { path = "$LAKEFED_ROOT" }
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
TOML
cat >"$CRATE/src/main.rs" <<'RUST'
use lakefed::SessionContextExt;

#[tokio::main]
async fn main() {
    let ctx = lakefed::new_session_context();
    let missing = ctx.register_delta("t", "memory:///no-such-table").await;
    assert!(missing.is_err(), "no Delta table there");
}
RUST
cp "$LAKEFED_ROOT/Cargo.lock" "$CRATE/Cargo.lock"
PROTOC=/nonexistent/protoc cargo build --quiet --manifest-path "$CRATE/Cargo.toml"
echo "a crate depending on lakefed builds without protoc"
