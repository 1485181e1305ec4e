"""azure-identity against the autostop emulator, unchanged: ClientSecretCredential with the emulator as authority,
and DefaultAzureCredential with no arguments at all, from the environment `autostop emulator` prints (its
HTTPS_PROXY answers MSAL's instance discovery). Each token is then used on ARM.

Run by crates/autostop/tests/official_clients.rs with that environment. Prints one JSON line of findings; exits
non-zero with the reason on any failure.
"""

import json
import os

import requests
from azure.identity import DefaultAzureCredential

from emulator_env import client_secret_credential

ARM_SCOPE = "https://management.azure.com/.default"


def subscriptions_with(token):
    """GET /subscriptions on the emulator's ARM with the token (requests trusts REQUESTS_CA_BUNDLE)."""
    response = requests.get(
        os.environ["AUTOSTOP_ARM_ENDPOINT"] + "/subscriptions?api-version=2022-12-01",
        headers={"Authorization": "Bearer " + token.token},
        timeout=30,
    )
    response.raise_for_status()
    return sorted(s["subscriptionId"] for s in response.json()["value"])


def main():
    client_secret = client_secret_credential()
    # DefaultAzureCredential finds the client secret and the authority in the environment (EnvironmentCredential);
    # MSAL's instance discovery goes to login.microsoftonline.com through HTTPS_PROXY, which is the emulator.
    default = DefaultAzureCredential()
    findings = {}
    for name, credential in [("client_secret", client_secret), ("default", default)]:
        token = credential.get_token(ARM_SCOPE)
        findings[name] = {"expires_on": token.expires_on, "subscriptions": subscriptions_with(token)}
    print(json.dumps(findings))


if __name__ == "__main__":
    main()
