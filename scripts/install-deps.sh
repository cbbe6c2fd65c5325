#!/usr/bin/env bash
# Installs the Debian packages balancerd needs to build and run (`make build`,
# `make demo`), only when one is missing, so repeated `make` runs stay fast and
# offline. The test tools are scripts/install-test-deps.sh's job.
set -euo pipefail
cd "$(dirname "$0")"
. ./apt-packages.sh
# libmicrohttpd and OpenSSL to link against, pkg-config to find them, openssl for `balancerd certs`.
install_missing libmicrohttpd-dev libssl-dev pkg-config openssl
