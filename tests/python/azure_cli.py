"""The Azure CLI against the autostop emulator, unchanged: register the emulator as a cloud from its ARM endpoint,
log in as the service principal it prints, list the accounts, and stop a compute instance with `az rest`, then
read its state back until it is Stopped.

Run by crates/autostop/tests/official_clients.rs with the emulator's environment and a private AZURE_CONFIG_DIR.
Usage: azure_cli.py COMPUTE_PATH (the ARM path of the compute to stop). Prints one JSON line of findings; exits
non-zero with the failing command and its output on any failure.
"""

import json
import os
import subprocess
import sys
import time

AZ = os.path.join(os.path.dirname(sys.executable), "az")
API = "api-version=2024-04-01"


def az(*args):
    """Runs one az command; its JSON output, or None when it prints nothing."""
    completed = subprocess.run([AZ, *args, "--output", "json"], capture_output=True, text=True, timeout=180)
    if completed.returncode != 0:
        sys.exit(f"az {' '.join(args[:3])} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    return json.loads(completed.stdout) if completed.stdout.strip() else None


def main():
    compute = sys.argv[1]
    arm = os.environ["AUTOSTOP_ARM_ENDPOINT"]
    az("cloud", "register", "--name", "Emulator", "--endpoint-resource-manager", arm)
    cloud = az("cloud", "show", "--name", "Emulator")
    az("cloud", "set", "--name", "Emulator")
    login = az(
        "login",
        "--service-principal",
        "--username", os.environ["AZURE_CLIENT_ID"],
        "--password", os.environ["AZURE_CLIENT_SECRET"],
        "--tenant", os.environ["AZURE_TENANT_ID"],
    )
    accounts = az("account", "list")
    stopped = az("rest", "--method", "post", "--url", f"{arm}{compute}/stop?{API}")
    deadline = time.monotonic() + 60
    while True:
        state = az("rest", "--method", "get", "--url", f"{arm}{compute}?{API}")["properties"]["properties"]["state"]
        if state == "Stopped" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(json.dumps({
        "login_endpoint": cloud["endpoints"]["activeDirectory"],
        "login_subscriptions": sorted(a["id"] for a in login),
        "accounts": sorted(a["id"] for a in accounts),
        "account_cloud": sorted({a["cloudName"] for a in accounts}),
        "stop_output": stopped,
        "state_after": state,
    }))


if __name__ == "__main__":
    main()
