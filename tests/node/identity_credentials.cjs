// @azure/identity (MSAL Node) against the autostop emulator, unchanged: ClientSecretCredential with the emulator as
// authority host, and DefaultAzureCredential with no options, from the environment `autostop emulator` prints
// (NODE_EXTRA_CA_CERTS trusts its CA; its HTTPS_PROXY answers MSAL's instance discovery). Each token is then used
// on ARM.
//
// Run by crates/autostop/tests/official_clients.rs with that environment and NODE_PATH=.test-env/node/node_modules.
// Prints one JSON line of findings; exits non-zero with the error on any failure.

"use strict";

const https = require("node:https");
const { ClientSecretCredential, DefaultAzureCredential } = require("@azure/identity");

const SCOPE = "https://management.azure.com/.default";

/** GET /subscriptions on the emulator's ARM with the token; the sorted subscription ids. */
function subscriptionsWith(token) {
  const url = `${process.env.AUTOSTOP_ARM_ENDPOINT}/subscriptions?api-version=2022-12-01`;
  return new Promise((resolve, reject) => {
    const request = https.get(url, { headers: { Authorization: `Bearer ${token.token}` }, timeout: 30000 }, (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => {
        if (response.statusCode !== 200) {
          reject(new Error(`GET /subscriptions answered ${response.statusCode}: ${body}`));
          return;
        }
        resolve(JSON.parse(body).value.map((s) => s.subscriptionId).sort());
      });
    });
    request.on("timeout", () => request.destroy(new Error("GET /subscriptions timed out")));
    request.on("error", reject);
  });
}

async function main() {
  const env = process.env;
  const credentials = {
    client_secret: new ClientSecretCredential(env.AZURE_TENANT_ID, env.AZURE_CLIENT_ID, env.AZURE_CLIENT_SECRET, {
      authorityHost: env.AZURE_AUTHORITY_HOST,
      disableInstanceDiscovery: true,
    }),
    default: new DefaultAzureCredential(),
  };
  const findings = {};
  for (const [name, credential] of Object.entries(credentials)) {
    const token = await credential.getToken(SCOPE);
    findings[name] = { expires_on: token.expiresOnTimestamp, subscriptions: await subscriptionsWith(token) };
  }
  console.log(JSON.stringify(findings));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
