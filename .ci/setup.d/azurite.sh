#!/usr/bin/env bash
# Installs Azurite (the Azure Storage emulator, npm package `azurite`) under .test-env/azurite, once: the Blob
# state backend's tests start its `azurite-blob` on a loopback port with HTTPS and `--oauth basic`. Does nothing
# when the pinned version is already there. Needs node and npm (installed from Debian when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
version=3.37.0
dir=.test-env/azurite
if [ -x "$dir/node_modules/.bin/azurite-blob" ] && [ "$(cat "$dir/VERSION" 2>/dev/null)" = "$version" ]; then
    echo "azurite $version already installed in $dir"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends nodejs npm
fi
rm -rf "$dir"
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --omit=dev "azurite@$version"
"$dir/node_modules/.bin/azurite-blob" --version
echo "$version" >"$dir/VERSION"
