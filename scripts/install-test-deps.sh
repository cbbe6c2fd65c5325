#!/usr/bin/env bash
# Installs what the tests drive besides the build (`make test`, `make faults`):
# promtool (prometheus), headless Chromium and w3m for the status page, haproxy
# for the agent-check interop test, nginx and haproxy terminating TLS in front
# of serve and curl from chosen source addresses (ProxyInteropTests), keepalived for the two-instance test, iproute2,
# iptables and slowhttptest for the fault suite, and Python's
# openapi-schema-validator in a virtual environment under .build/ (Debian's
# own Python refuses system-wide pip installs, PEP 668). `make fuzz` needs
# nothing more: libFuzzer and AddressSanitizer ship with the Swift toolchain
# (-sanitize=fuzzer,address).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/apt-packages.sh"
install_missing procps prometheus chromium w3m haproxy nginx curl keepalived iproute2 iptables slowhttptest python3 python3-venv

venv="$root/.build/test-venv"
if ! "$venv/bin/python3" -c 'import openapi_schema_validator, yaml' 2>/dev/null; then
    echo "install-test-deps: making $venv with openapi-schema-validator and PyYAML" >&2
    rm -rf "$venv"
    mkdir -p "$root/.build"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/python3" -m pip install -q openapi-schema-validator pyyaml
fi
