#!/usr/bin/env bash
# Sets up what is missing, builds Stint, and takes a real guest through run, standby, restore, fork and stop,
# printing both instances' phase tables. Uses a fresh data directory that it removes at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# Every stint command is a new process, and linking the Swift libraries statically halves its start time.
swift build -c release --static-swift-stdlib --product stint
# stint starts each guest's monitor from the stint-monitor executable next to it.
swift build -c release --static-swift-stdlib --product stint-monitor
stint="$(swift build -c release --static-swift-stdlib --show-bin-path)/stint"

export STINT_DATA_DIR="${STINT_DATA_DIR:-$(mktemp -d /tmp/stint-demo.XXXXXX)}"
cleanup() { "$stint" rm --force demo demo-fork >/dev/null 2>&1 || true; }
trap cleanup EXIT

step() { printf '\n$ stint %s\n' "$*"; "$stint" "$@"; }

step run --name demo --memory 256 -- sh -c 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done'
sleep 3
step standby demo
sleep 2
step restore demo
sleep 2
step fork demo --name demo-fork --target running
sleep 2
step stop demo
step stop demo-fork
step ps
step inspect demo
step inspect demo-fork
printf '\n$ stint logs --tail 5 demo\n'; "$stint" logs --tail 5 demo
