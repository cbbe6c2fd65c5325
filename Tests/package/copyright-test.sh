#!/usr/bin/env bash
# `make copyright` (run by `make test`): dist/debian/copyright against the
# packages this build resolved (Tests/package/copyright-check.py), then the
# same check on four broken copies, each of which it must refuse: a package's
# paragraph gone, a version behind, a NOTICE line missing, a package the build
# does not use. Needs the build's resolution (make build first).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
SWIFT="${SWIFT:-swift}"
. Tests/package/common.sh
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if ! "$SWIFT" package show-dependencies --format json > "$tmp/dependencies.json" 2> "$tmp/show.err"; then
    cat "$tmp/show.err" >&2
    exit 1
fi
checker=(python3 Tests/package/copyright-check.py)
check "dist/debian/copyright names every resolved package at its version, with its licence and NOTICE" \
    "${checker[@]}" dist/debian/copyright "$tmp/dependencies.json" .build/checkouts

# refused NAME EXPECTED-TEXT PYTHON-EDIT: the check fails on the edited copy and says EXPECTED-TEXT.
refused() {
    python3 -c "import re, sys; s = open('dist/debian/copyright').read(); $3; open('$tmp/copyright', 'w').write(s)" || return 1
    local out
    out="$("${checker[@]}" "$tmp/copyright" "$tmp/dependencies.json" .build/checkouts)" && { echo "accepted"; return 1; }
    echo "$out" | head -2
    grep -qF "$2" <<<"$out"
}
check "refused: swift-nio's paragraph removed" \
    refused nio "no paragraph 'Files: embedded/swift-packages/swift-nio'" \
    "s = re.sub(r'\nFiles: embedded/swift-packages/swift-nio\n.*?\n\n', '\n', s, flags=re.S)"
check "refused: swift-log at another version" \
    refused log "package swift-log" "s = re.sub(r'Comment: swift-log [0-9.]+ ', 'Comment: swift-log 0.0.1 ', s)"
check "refused: a line of swift-metrics' NOTICE missing" \
    refused notice "its NOTICE.txt line" "s = s.replace(' Copyright 2018, 2019 The SwiftMetrics Project\n', '', 1)"
check "refused: a package the build does not resolve" \
    refused stale "the build resolves no such package" \
    "s = s.replace('\nFiles: *\n', '\nFiles: embedded/swift-packages/swift-numerics\nCopyright: 2019 Apple Inc.\nLicense: Apache-2.0\nComment: swift-numerics 1.0.0 (x).\n\nFiles: *\n', 1)"
say "copyright: $passed passed, $failed failed"
[ $failed -eq 0 ]
