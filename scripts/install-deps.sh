#!/usr/bin/env bash
# Installs the Debian packages balancerd builds and tests with, only when one
# is missing, so repeated `make` runs stay fast and offline.
set -euo pipefail

# build: libmicrohttpd-dev libssl-dev pkg-config; tests: openssl (interop), prometheus (promtool),
# chromium (the status page); the fault suite: iproute2 (namespaces, ss), iptables, slowhttptest.
packages=(libmicrohttpd-dev libssl-dev pkg-config openssl procps prometheus chromium iproute2 iptables slowhttptest)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The OpenAPI check uses Python's openapi-schema-validator and PyYAML.
if ! python3 -c 'import openapi_schema_validator, yaml' 2>/dev/null; then
    echo "install-deps: installing openapi-schema-validator and PyYAML (pip)" >&2
    python3 -m pip install -q openapi-schema-validator pyyaml
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null

