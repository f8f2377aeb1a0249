#!/usr/bin/env bash
# Sets up what is missing, checks formatting, builds, and runs the whole suite (real QEMU guests included).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== format check"
swift format lint --strict --recursive --parallel Package.swift Sources Tests

echo "== build"
swift build --build-tests

echo "== tests"
swift test --skip-build
