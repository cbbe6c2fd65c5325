#!/usr/bin/env bash
# `systemd-analyze verify` of dist/balancerd.service and dist/balancerd-agent.service,
# run by `make test`; skipped with a reason when systemd-analyze is missing.
#
# verify insists that ExecStart='s binary exists: before the package is
# installed there is no /usr/bin/balancerd, so the units are checked from a
# temporary copy whose /usr/bin/balancerd is replaced by BINARY (the first
# argument, e.g. the debug build), without the man-page check (the pages come
# with the package; the install test verifies the installed units in full).
# Any line verify prints counts as a failure: it warns about unknown or
# misspelt settings without failing.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
if ! command -v systemd-analyze >/dev/null; then
    echo "verify-units: skipped: systemd-analyze is not installed (apt-get install systemd)"
    exit 0
fi
binary="$(readlink -f "${1:-$root/.build/debug/balancerd}")"
[ -x "$binary" ] || { echo "verify-units: $binary is not an executable (make build first)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
for unit in balancerd.service balancerd-agent.service; do
    sed "s#/usr/bin/balancerd#$binary#g" "$root/dist/$unit" > "$tmp/$unit"
    out="$(cd "$tmp" && systemd-analyze verify --man=no "./$unit" 2>&1)"
    rc=$?
    if [ $rc -eq 0 ] && [ -z "$out" ]; then
        echo "ok   systemd-analyze verify $unit"
        passed=$((passed + 1))
    else
        echo "FAIL systemd-analyze verify $unit (exit $rc):"
        echo "$out" | sed 's/^/     /'
        failed=$((failed + 1))
    fi
done
echo "verify-units: $passed passed, $failed failed"
[ $failed -eq 0 ]
