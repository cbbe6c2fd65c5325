#!/usr/bin/env bash
# Builds balancerd_<version>_<arch>.deb in the repository's top folder
# (`make deb`), from the static release build (scripts/static-build.sh) and the
# generated man pages (scripts/make-man.sh), with dpkg-deb --root-owner-group.
#
# Version: BalancerdVersion.string in Sources/Lonc/Version.swift, plus the Debian
# revision (DEB_REVISION, default 1); the newest entry of dist/debian/changelog
# must carry that version. Depends: what the binary links against, computed by
# dpkg-shlibdeps, plus adduser (postinst makes the balancerd user with it).
# Reproducible: two builds of the same commit give the same .deb byte for byte
# (Tests/package/reproducible.sh). SOURCE_DATE_EPOCH, when not given, is the
# newest changelog entry's date (as dpkg-buildpackage sets it): every file's
# time, the archive members' times, the man pages' date. Modes are set
# explicitly under umask 022, owners are root (--root-owner-group), dpkg-deb
# sorts the members, Installed-Size counts file sizes, not the disk's blocks.
# SKIP_STATIC_BUILD=1 packages the binary already built.
set -euo pipefail
umask 022
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/apt-packages.sh
# dpkg-dev: dpkg-shlibdeps; binutils: strip, readelf; man-db: checks the pages.
install_missing dpkg-dev binutils man-db gzip

BUILD_PATH="${DEB_BUILD_PATH:-.build-deb}"
upstream="$(sed -n 's/.*static let string = "\([^"]*\)".*/\1/p' Sources/Lonc/Version.swift)"
[ -n "$upstream" ] || { echo "build-deb: no version in Sources/Lonc/Version.swift" >&2; exit 1; }
version="$upstream-${DEB_REVISION:-1}"
changelog_version="$(dpkg-parsechangelog -l dist/debian/changelog -S Version)"
if [ "$changelog_version" != "$version" ]; then
    echo "build-deb: the package is $version but dist/debian/changelog's newest entry is $changelog_version: add an entry" >&2
    exit 1
fi
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(date -u -d "$(dpkg-parsechangelog -l dist/debian/changelog -S Date)" +%s)}"
export SOURCE_DATE_EPOCH
arch="$(dpkg --print-architecture)"

[ "${SKIP_STATIC_BUILD:-}" = 1 ] || ./scripts/static-build.sh
SKIP_STATIC_BUILD=1 ./scripts/make-man.sh

stage="$BUILD_PATH/deb/root"
rm -rf "$BUILD_PATH/deb"
mkdir -p "$stage"
doc="$stage/usr/share/doc/balancerd"
install -d -m 755 "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/balancerd" \
    "$stage/usr/share/man/man1" "$doc" "$stage/DEBIAN"

# The binary, stripped as dh_strip does (the symbols are 40 MB of it).
install -m 755 "$BUILD_PATH/release/balancerd" "$stage/usr/bin/balancerd"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$stage/usr/bin/balancerd"
# The same binary from any checkout: .swift_modhash is the compiler's MD5 of each
# module's LLVM IR (for its incremental builds; nothing reads it at run time), and
# that IR names every source file by its absolute path. Zeroed, and the build ID,
# which the linker computed over it, becomes the SHA-1 of the binary's contents.
section() { readelf -S -W "$1" | sed -n 's/^ *\[ *[0-9]*\] //p' | awk -v name="$2" '$1 == name {print $4, $5}'; }
zero() { dd if=/dev/zero of="$1" bs=1 seek="$2" count="$3" conv=notrunc status=none; }
bin="$stage/usr/bin/balancerd"
read -r offset size < <(section "$bin" .swift_modhash) && zero "$bin" $((16#$offset)) $((16#$size))
read -r offset size < <(section "$bin" .note.gnu.build-id) || { echo "build-deb: $bin has no build ID note" >&2; exit 1; }
[ "$((16#$size))" = 36 ] || { echo "build-deb: $bin: a build ID note of 0x$size bytes, not 36 (SHA-1)" >&2; exit 1; }
zero "$bin" $((16#$offset + 16)) 20
id="$(sha1sum < "$bin" | cut -c1-40)"
printf "$(sed 's/../\\x&/g' <<<"$id")" | dd of="$bin" bs=1 seek=$((16#$offset + 16)) conv=notrunc status=none

install -m 644 dist/balancerd.service dist/balancerd-agent.service "$stage/lib/systemd/system/"
install -m 644 dist/etc/balancerd.yaml dist/etc/hosts.tab "$stage/etc/balancerd/"
for page in "$BUILD_PATH"/man/*.1; do
    gzip -9n < "$page" > "$stage/usr/share/man/man1/$(basename "$page").gz"
    chmod 644 "$stage/usr/share/man/man1/$(basename "$page").gz"
done
install -m 644 dist/debian/copyright "$doc/copyright"
install -d -m 755 "$stage/usr/share/lintian/overrides"
install -m 644 dist/debian/lintian-overrides "$stage/usr/share/lintian/overrides/balancerd"
gzip -9n < dist/debian/changelog > "$doc/changelog.Debian.gz"
chmod 644 "$doc/changelog.Debian.gz"

install -m 644 dist/debian/conffiles "$stage/DEBIAN/conffiles"
install -m 755 dist/debian/postinst dist/debian/prerm dist/debian/postrm "$stage/DEBIAN/"

# Depends: dpkg-shlibdeps wants a debian/control next to the tree it looks at.
shlibs_dir="$BUILD_PATH/deb/shlibs"
mkdir -p "$shlibs_dir/debian"
printf 'Source: balancerd\n\nPackage: balancerd\nArchitecture: any\n' > "$shlibs_dir/debian/control"
shlibs="$(cd "$shlibs_dir" && dpkg-shlibdeps -O -e"$root/$stage/usr/bin/balancerd" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
depends="adduser, $shlibs"

# As dpkg-gencontrol counts it: each file's size in KiB rounded up, 1 KiB per
# directory or link (du would count the file system's blocks, which differ between file systems).
installed_size="$(cd "$stage" && find . -path ./DEBIAN -prune -o ! -path . -printf '%y %s\n' |
    awk '$1 == "f" {kib += int(($2 + 1023) / 1024); next} {kib += 1} END {print kib}')"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
    -e "s/@DEPENDS@/$depends/" dist/debian/control > "$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
chmod 644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
find "$stage" -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} +

deb="balancerd_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb"
echo "build-deb: $deb ($(du -h "$deb" | cut -f1)), Depends: $depends"
