#!/usr/bin/env bash
# Installs the official Azure Node.js client (@azure/identity, pinned with everything it pulls in by
# tests/node/package-lock.json) into .test-env/node, for crates/autostop/tests/official_clients.rs. Does nothing
# when it is there and was installed from the same lock file (its SHA-256 is kept in .test-env/node/lock.sha256);
# reinstalls it otherwise. Run from the repository root (.ci/setup does).
set -euo pipefail

target=.test-env/node
lock=tests/node/package-lock.json
stamp=$target/lock.sha256

wanted=$(cat tests/node/package.json "$lock" | sha256sum | cut -d' ' -f1)
if [ -d "$target/node_modules/@azure/identity" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    echo "node: $target is up to date"
    exit 0
fi

started=$(date +%s)
echo "node: installing into $target with Node.js $(node --version) from $lock"
rm -rf "$target"
mkdir -p "$target"
cp tests/node/package.json "$lock" "$target/"
npm ci --prefix "$target" --no-audit --no-fund --loglevel=error
node --input-type=module -e "await import('$PWD/$target/node_modules/@azure/identity/dist/esm/index.js')"
echo "$wanted" > "$stamp"
echo "node: $target ready in $(( $(date +%s) - started ))s"
