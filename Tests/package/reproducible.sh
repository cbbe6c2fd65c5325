#!/usr/bin/env bash
# Two packagings of the same build give the same .deb byte for byte
# (`make reproducible`, run by `make test` after the install test built the
# release binary, about 2 minutes): scripts/build-deb.sh twice from that binary
# (SKIP_STATIC_BUILD=1), the second under another umask, time zone and locale,
# then cmp. On a difference it shows where: the ar members, the control files,
# the data listing (modes, owners, times, sizes).
#
# BINARY=1 also builds the release binary a second time from scratch, in a
# clone of this commit at another path (about 10 minutes on 2 cores) and
# compares the two binaries and the two .debs made from them.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
. Tests/package/common.sh
. scripts/apt-packages.sh
install_missing dpkg-dev binutils xz-utils
BUILD_PATH="${DEB_BUILD_PATH:-.build-deb}"
# The release build the install test made (make test); made here when missing.
[ -x "$BUILD_PATH/release/balancerd" ] || ./scripts/static-build.sh || exit 1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
arch="$(dpkg --print-architecture)"

# differences A B: what differs between two .debs, part by part.
differences() {
    local side
    for side in a b; do
        mkdir -p "$tmp/$side" && (cd "$tmp/$side" && ar x "$([ $side = a ] && echo "$1" || echo "$2")" &&
            ar tv "$([ $side = a ] && echo "$1" || echo "$2")" > members && mkdir control &&
            tar -xf control.tar.* -C control && tar -tvf data.tar.* > data.list)
    done
    diff "$tmp/a/members" "$tmp/b/members"
    diff -r "$tmp/a/control" "$tmp/b/control"
    diff "$tmp/a/data.list" "$tmp/b/data.list" | head -20
    cmp "$tmp/a/data.tar.xz" "$tmp/b/data.tar.xz"
}

# package OUT UMASK [ENV...]: one packaging of the binary already built, the .deb moved to OUT.
package() {
    local out="$1" mask="$2"
    shift 2
    (umask "$mask" && env "$@" SKIP_STATIC_BUILD=1 ./scripts/build-deb.sh) > "$out.log" 2>&1 || { tail -5 "$out.log"; return 1; }
    mv balancerd_*_"$arch".deb "$out"
}

check "make deb's packaging under umask 022, TZ UTC, LC_ALL C" package "$tmp/first.deb" 022 TZ=UTC LC_ALL=C || exit 1
check "again under umask 002, TZ Pacific/Chatham, LC_ALL C.UTF-8" package "$tmp/second.deb" 002 TZ=Pacific/Chatham LC_ALL=C.UTF-8 || exit 1
if cmp -s "$tmp/first.deb" "$tmp/second.deb"; then
    pass "the same .deb byte for byte: $(sha256sum < "$tmp/first.deb" | cut -c1-16)…, $(stat -c %s "$tmp/first.deb") bytes"
else
    fail "the two .debs differ:"
    differences "$tmp/first.deb" "$tmp/second.deb" 2>&1 | indent
fi
cp "$tmp/first.deb" "balancerd_$(dpkg-deb -f "$tmp/first.deb" Version)_$arch.deb"

if [ "${BINARY:-}" = 1 ]; then
    say "-- a second release build from scratch, in a clone at another path"
    clone="$tmp/clone-at-another-path"
    git clone -q "$root" "$clone" && git -C "$clone" checkout -q "$(git rev-parse HEAD)"
    started=$SECONDS
    if check "make deb in $clone" make -C "$clone" --no-print-directory deb; then
        say "     built in $((SECONDS - started)) s"
        # The unstripped binaries may differ: .swift_modhash hashes IR that names the
        # sources by absolute path. build-deb.sh zeroes it in the packaged binary
        # and recomputes the build ID, so what ships is compared below.
        if cmp -s "$BUILD_PATH/release/balancerd" "$clone/$BUILD_PATH/release/balancerd"; then
            say "     the unstripped release binaries are the same byte for byte"
        else
            say "     the unstripped release binaries differ ($(cmp "$BUILD_PATH/release/balancerd" "$clone/$BUILD_PATH/release/balancerd" | head -1 | sed 's/.*differ: //')); strings that differ:"
            diff <(strings -n 8 "$BUILD_PATH/release/balancerd") <(strings -n 8 "$clone/$BUILD_PATH/release/balancerd") | head -12 | indent
        fi
        if cmp -s "$tmp/first.deb" "$clone"/balancerd_*_"$arch".deb; then
            pass "the same .deb from both builds"
        else
            fail "the .debs of the two builds differ:"
            differences "$tmp/first.deb" "$(ls "$clone"/balancerd_*_"$arch".deb)" 2>&1 | indent
        fi
    fi
fi
say "reproducible: $passed passed, $failed failed"
[ $failed -eq 0 ]
