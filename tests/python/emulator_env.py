"""What the client scripts share: the credential for the service principal that `autostop emulator` prints."""

import os

from azure.identity import ClientSecretCredential


def client_secret_credential():
    """ClientSecretCredential for the printed tenant, client and secret, with the emulator as authority.

    MSAL asks login.microsoftonline.com about any other authority host unless told not to; here it is told not to
    (DefaultAzureCredential, in identity_credentials.py, shows the other way: the printed HTTPS_PROXY).
    """
    return ClientSecretCredential(
        os.environ["AZURE_TENANT_ID"],
        os.environ["AZURE_CLIENT_ID"],
        os.environ["AZURE_CLIENT_SECRET"],
        authority=os.environ["AZURE_AUTHORITY_HOST"],
        disable_instance_discovery=True,
    )
