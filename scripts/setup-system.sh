#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, when missing:
# protoc (the Spark Connect protocol crate compiles .proto files) and Java 17
# (the local Spark server).
set -euo pipefail
missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
