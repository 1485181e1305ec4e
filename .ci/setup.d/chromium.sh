#!/usr/bin/env bash
# Installs Debian's chromium, which the status page's browser test drives headless (--dump-dom, --screenshot).
# Does nothing when a chromium is already on PATH.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "setup: chromium is missing and installing it needs root: run 'apt-get install -y chromium' as root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium fonts-dejavu-core
command -v chromium >/dev/null
