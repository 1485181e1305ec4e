"""The baseline of `cargo xtask bench`: the well-known Azure Functions recipe's stop script, run as a process.

What the recipe does, unchanged: with azureml-core, open one workspace, list its compute targets, and for each
ComputeInstance whose state is Running call stop(wait_for_completion=True), one after the other.

What differs, and why:
- Authentication. The recipe builds ServicePrincipalAuthentication; its MSAL flow validates the authority against
  login.microsoftonline.com (instance discovery), which cannot be reached here. So this script makes the same
  client-credentials request itself (one POST to the token endpoint, as MSAL would after discovery) and hands
  the token to ArmTokenAuthentication. This saves the baseline MSAL's discovery round trip, never costs it.
- Endpoints. azureml-core has no setting for the ARM URL; the harness sets ARM_CLOUD_METADATA_URL to the
  emulator's cloud metadata, and this script names that cloud (BENCH_CLOUD).
- A failed stop is counted and the loop goes on (the recipe would die on the first exception), so that the
  benchmark can report failed actions; a summary line of JSON is printed on stdout at the end.

Inputs (environment): AZURE_AUTHORITY_HOST, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
BENCH_CLOUD, BENCH_SCOPE (the token scope), BENCH_SUBSCRIPTION, BENCH_RESOURCE_GROUP, BENCH_WORKSPACE.
"""

import json
import os
import sys

import requests
from azureml.core import Workspace
from azureml.core.authentication import ArmTokenAuthentication
from azureml.core.compute import ComputeInstance


def token():
    """One client-credentials request to the Entra token endpoint, as ServicePrincipalAuthentication makes."""
    url = "{}/{}/oauth2/v2.0/token".format(os.environ["AZURE_AUTHORITY_HOST"].rstrip("/"), os.environ["AZURE_TENANT_ID"])
    response = requests.post(url, data={
        "grant_type": "client_credentials",
        "client_id": os.environ["AZURE_CLIENT_ID"],
        "client_secret": os.environ["AZURE_CLIENT_SECRET"],
        "scope": os.environ["BENCH_SCOPE"],
    })
    response.raise_for_status()
    return response.json()["access_token"]


def main():
    auth = ArmTokenAuthentication(token(), cloud=os.environ["BENCH_CLOUD"])
    ws = Workspace(
        subscription_id=os.environ["BENCH_SUBSCRIPTION"],
        resource_group=os.environ["BENCH_RESOURCE_GROUP"],
        workspace_name=os.environ["BENCH_WORKSPACE"],
        auth=auth,
    )
    stopped, failed = 0, 0
    for name, compute in ws.compute_targets.items():
        if isinstance(compute, ComputeInstance) and compute.get_status().state == "Running":
            try:
                compute.stop(wait_for_completion=True, show_output=False)
                stopped += 1
            except Exception as error:  # noqa: BLE001 - counted and reported, as the benchmark needs
                print("stop of {} failed: {}".format(name, error), file=sys.stderr)
                failed += 1
    print(json.dumps({"stopped": stopped, "failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
