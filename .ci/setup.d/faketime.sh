#!/usr/bin/env bash
# Installs libfaketime (Debian's `libfaketime` package, unpacked, no root needed) into .test-env/faketime, for the
# tests that run `autostop run` at a later wall-clock time than the test's own (a postponed stop comes due an hour
# after its occurrence): crates/autostop/tests/cli/owners.rs. Does nothing when the library is there.
# Run from the repository root (.ci/setup does).
set -euo pipefail

target=.test-env/faketime
library=$target/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
if [ -f "$library" ]; then
    echo "faketime: $target is up to date"
    exit 0
fi

download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
# A fresh machine may have no package lists yet: fetch them once if the download cannot find the package.
(cd "$download" && apt-get download libfaketime) || { apt-get update -qq && (cd "$download" && apt-get download libfaketime); }
rm -rf "$target"
mkdir -p "$target"
dpkg-deb -x "$download"/libfaketime_*.deb "$target"
test -f "$library"
echo "faketime: $library ready"
