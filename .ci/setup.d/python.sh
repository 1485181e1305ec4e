#!/usr/bin/env bash
# Installs the official Azure Python clients (azure-identity, azure-ai-ml, azure-cli) and the aiosmtpd SMTP server
# (pinned in tests/python/requirements.txt) into a virtual environment at .test-env/python, for
# crates/autostop/tests/official_clients.rs and the e-mail notice tests in crates/autostop/tests/cli/channels.rs.
# Does nothing when the environment exists and was built from the same requirements (their SHA-256 is kept in
# .test-env/python/requirements.sha256); rebuilds it otherwise.
# Run from the repository root (.ci/setup does).
set -euo pipefail

venv=.test-env/python
requirements=tests/python/requirements.txt
stamp=$venv/requirements.sha256
python=${PYTHON:-python3}

wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    echo "python: $venv is up to date"
    exit 0
fi

started=$(date +%s)
echo "python: creating $venv with $("$python" --version) from $requirements"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
"$venv/bin/python" -c 'import azure.identity, azure.ai.ml, azure.cli.core, aiosmtpd'
"$venv/bin/az" version --output none
echo "$wanted" > "$stamp"
echo "python: $venv ready in $(( $(date +%s) - started ))s"
