#!/usr/bin/env bash
# Generates the man pages (balancerd(1) and one per subcommand, e.g.
# balancerd.serve(1)) from the argument-parser definitions into .build-deb/man/
# with swift-argument-parser's generate-manual tool: it runs the binary with
# --experimental-dump-help and writes mdoc pages.
#
# Why not `swift package plugin generate-manual`: the plugin rebuilds every
# product (benchmarks too) in its own configuration and `swift package` does not
# take --static-swift-stdlib, so it would relink the shipped binary without the
# static runtime. The plugin only builds products and then runs this same tool
# on them; we run the tool on the binary we ship.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
BUILD_PATH="${DEB_BUILD_PATH:-.build-deb}"
[ "${SKIP_STATIC_BUILD:-}" = 1 ] || ./scripts/static-build.sh
# The pages' date: SOURCE_DATE_EPOCH's (make deb sets it), else the newest Debian
# changelog entry's, so a rebuild gives the same pages.
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    date="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)"
else
    date="$(date -u -d "$(sed -n 's/^ -- .*>  //p' dist/debian/changelog | head -1)" +%Y-%m-%d)"
fi
out="$BUILD_PATH/man"
rm -rf "$out"
mkdir -p "$out"
"$BUILD_PATH/release/generate-manual" "$BUILD_PATH/release/balancerd" --multi-page \
    --date "$date" --section 1 --authors 'balancerd maintainers' --output-directory "$out"
# generate-manual copies blank lines of a discussion into the page, which mdoc
# warns about ("Empty input line"): a paragraph break is what they mean.
sed -i 's/^$/.Pp/' "$out"/*.1
# A subcommand's page is named "balancerd certs issue" in its NAME section,
# which whatis/apropos (lexgrog) cannot parse: the NAME section gets the page's
# name (balancerd.certs.issue), the synopsis and exit status keep the command.
for page in "$out"/*.1; do
    name="$(sed -n 's/^\.Nm "\(.* .*\)"$/\1/p' "$page" | head -1)"
    [ -n "$name" ] || continue
    sed -i -e "0,/^\.Nm \"$name\"\$/s//.Nm ${name// /.}/" \
        -e "s/^\.Nm\$/.Nm \"$name\"/" -e "s/^\.Ex -std\$/.Ex -std \"$name\"/" "$page"
done
# Every page must render without a groff warning, and whatis must read its NAME.
for page in "$out"/*.1; do
    lexgrog "$page" >/dev/null || { echo "make-man: $page: whatis cannot parse its NAME section" >&2; exit 1; }
done
for page in "$out"/*.1; do
    if ! warnings="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)" || [ -n "$warnings" ]; then
        echo "make-man: $page: $warnings" >&2
        exit 1
    fi
done
echo "make-man: $(ls "$out" | wc -l) pages in $out: $(cd "$out" && echo *.1)"
