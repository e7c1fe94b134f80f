#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, when missing:
# protoc (only to check that the checked-in Spark Connect code is current:
# tools/generate-spark-connect; building lakefed needs none), Java 17
# (the local Spark server) and Node.js with npm (Azurite, the workspace
# emulator's Azure storage).
set -euo pipefail
missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
