"""azure-ai-ml against the autostop emulator, unchanged: MLClient finds the emulated cloud through
ARM_CLOUD_METADATA_URL (set by the caller to the emulator's metadata document), gets a token, lists the computes
of a workspace, stops one with begin_stop(...).result() and reads its state back.

Run by crates/autostop/tests/official_clients.rs with the emulator's environment.
Usage: azure_ai_ml.py RESOURCE_GROUP WORKSPACE COMPUTE. Prints one JSON line of findings.
"""

import json
import os
import sys

from azure.ai.ml import MLClient

from emulator_env import client_secret_credential

CLOUD = "AutostopEmulator"  # the name in the emulator's metadata document


def main():
    group, workspace, compute = sys.argv[1:4]
    credential = client_secret_credential()
    client = MLClient(credential, os.environ["AZURE_SUBSCRIPTION_ID"], group, workspace, cloud=CLOUD)
    token = credential.get_token("https://management.azure.com/.default")
    names = sorted(c.name for c in client.compute.list())
    before = str(client.compute.get(compute).state)
    result = client.compute.begin_stop(compute).result()
    after = str(client.compute.get(compute).state)
    print(json.dumps({
        "token_expires_on": token.expires_on,
        "computes": names,
        "state_before": before,
        "stop_result": result,
        "state_after": after,
    }))


if __name__ == "__main__":
    main()
