#!/usr/bin/env bash
# Builds the release binary that `make deb` ships, in its own build folder
# (.build-deb), so that it runs on a server without Swift:
#   --static-swift-stdlib   links the Swift runtime and Foundation into the binary
#                           (otherwise it carries a RUNPATH into the toolchain and
#                           fails with "libswiftCore.so: cannot open shared object file")
#   --disable-local-rpath   no $ORIGIN RUNPATH: nothing is loaded from /usr/bin
#   -z now                  full RELRO (Debian's hardening flags)
#   -gnone, -g0             no debug info (the package strips it anyway): Swift's
#                           .swift_modhash is an MD5 of each module's LLVM IR, debug info
#                           included, and that names the clang module cache, whose folder
#                           is a hash of the checkout's path; with it two checkouts at
#                           different paths built different binaries
#   -ffile-prefix-map       the checkout's path written as "." in C's __FILE__
#                           (libyaml's and CNIOLinux's assert messages)
#   Both make two builds of one commit the same binary wherever the checkout is
#   (Tests/package/reproducible.sh, BINARY=1).
# Also builds swift-argument-parser's generate-manual tool for `make man`.
# Then checks that nothing in the binary's dynamic section points into the toolchain.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
SWIFT="${SWIFT:-swift}"
BUILD_PATH="${DEB_BUILD_PATH:-.build-deb}"
flags=(-c release --build-path "$BUILD_PATH" --static-swift-stdlib --disable-local-rpath
       -Xlinker -z -Xlinker now -Xlinker -z -Xlinker relro
       -Xswiftc -gnone -Xcc -g0 -Xcc "-ffile-prefix-map=$root=.")
"$SWIFT" build "${flags[@]}" --product balancerd
"$SWIFT" build "${flags[@]}" --product generate-manual
bin="$BUILD_PATH/release/balancerd"
toolchain="$(dirname "$(dirname "$(readlink -f "$(command -v "$SWIFT")")")")"
if readelf -d "$bin" | grep -E 'RPATH|RUNPATH'; then
    echo "static-build: $bin has a RUNPATH (above); it must have none" >&2
    exit 1
fi
if ldd "$bin" | grep -F -e "$toolchain" -e 'not found'; then
    echo "static-build: $bin needs libraries from the toolchain ($toolchain) or missing ones (above)" >&2
    exit 1
fi
echo "static-build: $bin needs no toolchain library:"
readelf -d "$bin" | awk '/NEEDED/ {print "  " $NF}'
