#!/usr/bin/env bash
# Installs the Debian packages balancerd builds and tests with, only when one
# is missing, so repeated `make` runs stay fast and offline.
set -euo pipefail

packages=(libmicrohttpd-dev libssl-dev pkg-config openssl procps)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
