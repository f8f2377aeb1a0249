#!/bin/sh
# Runs Stint's benchmarks on this machine and writes docs/benchmarks.md.
#
# Installs wrk and nginx-light from Debian when missing (needs root), builds stint and the durable-write benchmark
# in release mode, then runs Benchmarks/stintbench. Takes about 10 to 15 minutes on a 2-core machine once built.
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
swift build -c release --product stint --scratch-path "$scratch"
stint_binary=$(swift build -c release --product stint --scratch-path "$scratch" --show-bin-path)/stint

# The benchmark program needs Instances. Until Package.swift declares it, a small package in the scratch directory
# links the same module sources and the program's sources.
if grep -q '"DurableWriteBenchmark"' Package.swift; then
    swift build -c release --product DurableWriteBenchmark --scratch-path "$scratch"
    durable_binary=$(swift build -c release --scratch-path "$scratch" --show-bin-path)/DurableWriteBenchmark
else
    package="$scratch/durable-package"
    mkdir -p "$package/Sources"
    for module in PhaseTracking CSystemCalls Hypervisor GuestImage CSQLite Instances; do
        ln -sfn "$repository/Sources/$module" "$package/Sources/$module"
    done
    ln -sfn "$repository/Benchmarks/DurableWriteBenchmark" "$package/Sources/DurableWriteBenchmark"
    cat >"$package/Package.swift" <<'PACKAGE'
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "DurableWriteBenchmarkBuild",
    targets: [
        .target(name: "PhaseTracking"),
        .systemLibrary(name: "CSystemCalls"),
        .target(name: "Hypervisor", dependencies: ["CSystemCalls"]),
        .target(name: "GuestImage"),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "Instances", dependencies: ["PhaseTracking", "Hypervisor", "GuestImage", "CSQLite", "CSystemCalls"]),
        .executableTarget(name: "DurableWriteBenchmark", dependencies: ["Instances", "PhaseTracking"]),
    ],
    swiftLanguageModes: [.v6]
)
PACKAGE
    swift build -c release --package-path "$package" --scratch-path "$scratch/durable-build"
    durable_binary=$(swift build -c release --package-path "$package" --scratch-path "$scratch/durable-build" \
        --show-bin-path)/DurableWriteBenchmark
fi

PYTHONPATH="$repository/Benchmarks" python3 -m stintbench \
    --stint "$stint_binary" \
    --durable-benchmark "$durable_binary" \
    --image-dir "$image_dir" \
    --findings "$repository/Benchmarks/findings.md" \
    --command "Benchmarks/run.sh${STINT_BENCH_ARGS:+ (STINT_BENCH_ARGS=$STINT_BENCH_ARGS)}" \
    --output "$repository/docs/benchmarks.md" \
    ${STINT_BENCH_RESULTS:+--save-results "$STINT_BENCH_RESULTS"} \
    ${STINT_BENCH_ARGS:-}
