#!/bin/sh
# Runs Stint's benchmarks on this machine and writes docs/benchmarks.md.
#
# Installs wrk and nginx-light from Debian when missing (needs root), builds stint and the durable-write benchmark
# in release mode, then runs Benchmarks/stintbench. Takes about 4 minutes on a 2-core machine once built.
#
# Environment:
#   STINT_BENCH_SCRATCH  SwiftPM scratch directory for the release builds (default /tmp/stint-bench-build)
#   STINT_IMAGE_DIR      guest kernel and initramfs cache (default /tmp/stint-test-images)
#   STINT_BENCH_ARGS     extra arguments for stintbench, e.g. "--rounds 7 --wrk-runs 5"
#   STINT_BENCH_RESULTS  also write the raw samples to this JSON file (re-render with stintbench --from-results)
set -eu

repository=$(cd "$(dirname "$0")/.." && pwd)
scratch=${STINT_BENCH_SCRATCH:-/tmp/stint-bench-build}
image_dir=${STINT_IMAGE_DIR:-/tmp/stint-test-images}

missing=""
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v nginx >/dev/null 2>&1 || missing="$missing nginx-light"
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing="$missing qemu-system-x86"
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "run.sh: packages missing:$missing. Run as root so that apt-get can install them." >&2
        exit 1
    fi
    apt-get update
    # shellcheck disable=SC2086 # the list is meant to split into package names
    apt-get install -y --no-install-recommends $missing
fi

cd "$repository"
# stint starts each guest's monitor from the stint-monitor executable next to it, so all products are built, with
# the Swift libraries linked statically as scripts/demo.sh and the README build them.
swift build -c release --static-swift-stdlib --scratch-path "$scratch"
bin_path=$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)
stint_binary="$bin_path/stint"
durable_binary="$bin_path/DurableWriteBenchmark"

PYTHONPATH="$repository/Benchmarks" python3 -m stintbench \
    --stint "$stint_binary" \
    --durable-benchmark "$durable_binary" \
    --image-dir "$image_dir" \
    --findings "$repository/Benchmarks/findings.md" \
    --command "Benchmarks/run.sh${STINT_BENCH_ARGS:+ (STINT_BENCH_ARGS=$STINT_BENCH_ARGS)}" \
    --output "$repository/docs/benchmarks.md" \
    ${STINT_BENCH_RESULTS:+--save-results "$STINT_BENCH_RESULTS"} \
    ${STINT_BENCH_ARGS:-}
