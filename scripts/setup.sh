#!/usr/bin/env bash
# Installs the Debian packages Stint needs when any is missing, and checks the Swift toolchain.
# Runs as root (apt-get install); safe to run again.
set -euo pipefail

packages=(qemu-system-x86 busybox-static kmod cpio libmicrohttpd-dev libsqlite3-dev python3 python3-venv prometheus)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

# The guest kernel is extracted from linux-image-cloud-amd64, which needs the package lists to resolve.
if [ ${#missing[@]} -gt 0 ] || ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: need root to install: ${missing[*]:-package lists}; rerun as root" >&2
        exit 1
    fi
    apt-get update -qq
    if [ ${#missing[@]} -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: no 'swift' in PATH; install the Swift 6 toolchain for Linux (swift.org) and put its bin in PATH" >&2
    exit 1
fi

# Python tools that check the API in the test suite: the OpenAPI validator and schemathesis, from PyPI.
tools="$(cd "$(dirname "$0")/.." && pwd)/.build/python-tools"
if [ ! -x "$tools/bin/schemathesis" ] || [ ! -x "$tools/bin/openapi-spec-validator" ]; then
    mkdir -p "$(dirname "$tools")"
    /usr/bin/python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet --disable-pip-version-check \
        "openapi-spec-validator==0.9.0" "schemathesis==4.32.5"
fi
