//! What the Python SDK azureml-core needs beyond ARM, so the benchmark can run the original recipe's code against
//! this emulator: the cloud metadata document (`ARM_CLOUD_METADATA_URL`), the workspace discovery document its
//! `discoveryUrl` names, and the regional compute API behind it (`/rp/workspaces/...`).
//!
//! The `/rp/workspaces/{arm path}` routes serve only the compute list and compute GET that azureml-core calls, by
//! handing the ARM path to the ARM handler: same token check, same fleet state, same JSON. So a stop through ARM is
//! seen through them, and they fail loudly (ARM-shaped 400) on anything else. No state of its own here.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::arm;
use crate::arm_error::ArmError;
use crate::server::Shared;

/// The name of the cloud the metadata document describes (what azureml-core's auth objects take as `cloud`).
pub(crate) const CLOUD_NAME: &str = "AutostopEmulator";

/// The prefix of the regional compute API that the discovery document's `api` URL leads to.
const RP_PREFIX: &str = "/rp/workspaces";

/// Metadata `api-version`s answered with a list of clouds (what azureml-core and azure-ai-ml parse).
const METADATA_LIST_VERSIONS: [&str; 2] = ["2019-05-01", "2020-06-01"];
/// Metadata `api-version`s answered with the current cloud alone, one object (what the Azure CLI reads).
const METADATA_OBJECT_VERSIONS: [&str; 1] = ["2022-09-01"];
/// Metadata `api-version`s ARM answers with an older single-object shape the emulator does not serve.
const METADATA_OLD_VERSIONS: [&str; 2] = ["2015-01-01", "1.0"];

/// The routes: `GET /metadata/endpoints`, `GET /discovery/{location}`, `GET /rp/workspaces/...`.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/metadata/endpoints", get(metadata))
        .route("/discovery/{location}", get(discovery))
        .route("/rp/workspaces/{*rest}", get(regional_compute))
}

/// The emulated cloud as ARM describes one at `/metadata/endpoints`.
///
/// Login and resource manager are the emulator; the audiences are ARM's real ones, so tokens keep their usual
/// `aud`. Services the emulator does not serve keep the public cloud's values: using them fails loudly.
fn cloud_metadata(base_url: &str) -> Value {
    json!({
        "name": CLOUD_NAME,
        "portal": "https://portal.azure.com",
        "resourceManager": format!("{base_url}/"),
        "authentication": {
            "loginEndpoint": format!("{base_url}/"),
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD"
        },
        "media": "https://rest.media.azure.net",
        "graphAudience": "https://graph.windows.net/",
        "graph": "https://graph.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "batch": "https://batch.core.windows.net/",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/main/arm-compute/quickstart-templates/aliases.json",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "gallery": "https://gallery.azure.com/",
        "suffixes": {
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net"
        }
    })
}

/// The workspace discovery document: every Azure ML service URL of the region, all pointing at the emulator.
fn discovery_document(base_url: &str) -> Value {
    let services = [
        "api",
        "catalog",
        "experimentation",
        "gallery",
        "history",
        "hyperdrive",
        "labeling",
        "modelmanagement",
        "pipelines",
        "studio",
    ];
    Value::Object(services.iter().map(|service| (service.to_string(), json!(base_url))).collect())
}

/// `GET /metadata/endpoints?api-version=...` (anonymous, as on ARM): 2019-05-01 and 2020-06-01 answer a list of
/// clouds (here, one), 2022-09-01 the current cloud as one object, as ARM does.
async fn metadata(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let version = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(key, _)| key.eq_ignore_ascii_case("api-version"))
        .map(|(_, value)| value.into_owned());
    let cloud = cloud_metadata(&shared.config.base_url);
    match version.as_deref() {
        None => error_response(&ArmError::new(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )),
        Some(version) if METADATA_LIST_VERSIONS.contains(&version) => {
            (StatusCode::OK, axum::Json(Value::Array(vec![cloud]))).into_response()
        }
        Some(version) if METADATA_OBJECT_VERSIONS.contains(&version) => {
            (StatusCode::OK, axum::Json(cloud)).into_response()
        }
        Some(version) if METADATA_OLD_VERSIONS.contains(&version) => error_response(&ArmError::unsupported(format!(
            "cloud metadata api-version '{version}' (its older single-object shape)"
        ))),
        Some(version) => {
            let supported: Vec<&str> =
                [&METADATA_OBJECT_VERSIONS[..], &METADATA_LIST_VERSIONS[..], &METADATA_OLD_VERSIONS[..]].concat();
            error_response(&ArmError::new(
                400,
                "InvalidApiVersionParameter",
                format!(
                    "The api-version '{version}' is invalid. The supported versions are '{}'.",
                    supported.join(",")
                ),
            ))
        }
    }
}

/// `GET /discovery/{location}` (anonymous, as the real discovery service).
async fn discovery(State(shared): State<Arc<Shared>>, Path(_location): Path<String>) -> Response {
    (StatusCode::OK, axum::Json(discovery_document(&shared.config.base_url))).into_response()
}

/// `GET /rp/workspaces/{ARM path of a workspace}/computes[/{name}]`: served by the ARM handler on the ARM path.
async fn regional_compute(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let arm_path = uri.path().strip_prefix(RP_PREFIX).unwrap_or_default();
    if !is_compute_path(arm_path) {
        return error_response(&ArmError::unsupported(format!("{method} {} on the regional compute API", uri.path())));
    }
    let arm_uri = match uri.query() {
        Some(query) => format!("{arm_path}?{query}"),
        None => arm_path.to_owned(),
    };
    match arm_uri.parse::<Uri>() {
        Ok(arm_uri) => arm::respond(&shared, arm::Front::Regional, &method, &arm_uri, &headers),
        Err(_) => error_response(&ArmError::unsupported(format!("the path {}", uri.path()))),
    }
}

/// True for `/subscriptions/{s}/resourceGroups/{rg}/providers/{provider}/workspaces/{ws}/computes[/{name}]`.
fn is_compute_path(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let is = |i: usize, word: &str| segments.get(i).is_some_and(|s| s.eq_ignore_ascii_case(word));
    matches!(segments.len(), 9 | 10)
        && segments.iter().all(|s| !s.is_empty())
        && is(0, "subscriptions")
        && is(2, "resourceGroups")
        && is(4, "providers")
        && is(6, "workspaces")
        && is(8, "computes")
}

/// An ARM-shaped error answer.
fn error_response(error: &ArmError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(error.body())).into_response()
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::time::Duration;

    use super::*;
    use crate::{Emulator, Options};

    const WS_PATH: &str = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/ml-research/providers/Microsoft.MachineLearningServices/workspaces/research-ws";

    async fn within<F: Future>(future: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(30), future).await.expect("the emulator did not answer in time")
    }

    struct Client {
        emulator: Emulator,
        http: reqwest::Client,
    }

    impl Client {
        async fn start() -> Client {
            let emulator = within(Emulator::start(Options::default())).await.expect("emulator starts");
            let ca = reqwest::Certificate::from_pem(emulator.ca_pem().as_bytes()).expect("CA parses");
            let http = reqwest::Client::builder().tls_certs_only([ca]).build().expect("client builds");
            Client { emulator, http }
        }

        async fn token(&self) -> String {
            let url = format!("{}/{}/oauth2/v2.0/token", self.emulator.authority_host(), self.emulator.tenant_id());
            let form = [
                ("client_id", self.emulator.client_id()),
                ("client_secret", self.emulator.client_secret()),
                ("grant_type", "client_credentials"),
                ("scope", "https://management.azure.com/.default"),
            ];
            let form = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
            let request = self.http.post(url).header("content-type", "application/x-www-form-urlencoded").body(form);
            let body = self.send(request).await.1;
            body["access_token"].as_str().expect("access_token").to_owned()
        }

        async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
            let response = within(request.send()).await.expect("request is answered");
            let status = response.status().as_u16();
            let body = within(response.json::<Value>()).await.unwrap_or(Value::Null);
            (status, body)
        }

        async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
            let mut request = self.http.get(format!("{}{path}", self.emulator.base_url()));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            self.send(request).await
        }
    }

    #[tokio::test]
    async fn metadata_names_the_emulator_as_login_and_resource_manager() {
        let client = Client::start().await;
        let (status, body) = client.get("/metadata/endpoints?api-version=2019-05-01", None).await;
        assert_eq!(status, 200, "{body}");
        let cloud = &body[0];
        assert_eq!(cloud["name"], CLOUD_NAME);
        let base = format!("{}/", client.emulator.base_url());
        assert_eq!(cloud["resourceManager"], base.as_str());
        assert_eq!(cloud["authentication"]["loginEndpoint"], base.as_str());
        let (status, body) = client.get("/metadata/endpoints", None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("MissingApiVersionParameter")));
        let (status, body) = client.get("/metadata/endpoints?api-version=2015-01-01", None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("UnsupportedByEmulator")));
        let (status, body) = client.get("/metadata/endpoints?api-version=1999-01-01", None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("InvalidApiVersionParameter")));
    }

    #[tokio::test]
    async fn metadata_2022_09_01_is_the_current_cloud_as_one_object() {
        let client = Client::start().await;
        let (status, list) = client.get("/metadata/endpoints?api-version=2020-06-01", None).await;
        assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(1)), "{list}");
        let (status, cloud) = client.get("/metadata/endpoints?api-version=2022-09-01", None).await;
        assert_eq!(status, 200, "{cloud}");
        assert!(cloud.is_object(), "{cloud}");
        assert_eq!(cloud, list[0], "the same cloud, in the shape the Azure CLI reads");
        let base = format!("{}/", client.emulator.base_url());
        assert_eq!(cloud["authentication"]["loginEndpoint"], base.as_str());
        assert_eq!(cloud["authentication"]["audiences"][0], "https://management.core.windows.net/");
    }

    #[tokio::test]
    async fn discovery_url_of_the_workspace_leads_to_the_regional_api() {
        let client = Client::start().await;
        let token = client.token().await;
        let (status, workspace) = client.get(&format!("{WS_PATH}?api-version=2022-05-01"), Some(&token)).await;
        assert_eq!(status, 200, "{workspace}");
        let discovery_url = workspace["properties"]["discoveryUrl"].as_str().expect("discoveryUrl");
        let path = discovery_url.strip_prefix(&client.emulator.base_url()).expect("discoveryUrl is on the emulator");
        let (status, services) = client.get(path, None).await;
        assert_eq!(status, 200, "{services}");
        assert_eq!(services["api"], client.emulator.base_url().as_str());
    }

    #[tokio::test]
    async fn regional_computes_are_the_arm_computes_and_see_a_stop() {
        let client = Client::start().await;
        let token = client.token().await;
        let list = format!("{RP_PREFIX}{WS_PATH}/computes?api-version=2020-02-02");
        let (status, rp) = client.get(&list, Some(&token)).await;
        assert_eq!(status, 200, "{rp}");
        let (_, arm) = client.get(&format!("{WS_PATH}/computes?api-version=2024-04-01"), Some(&token)).await;
        assert_eq!(rp["value"], arm["value"]);

        let alice = format!("{WS_PATH}/computes/alice-ci");
        let stop = client.http.post(format!("{}{alice}/stop?api-version=2024-04-01", client.emulator.base_url()));
        let (status, _) = client.send(stop.bearer_auth(&token)).await;
        assert_eq!(status, 202);
        let (status, compute) = client.get(&format!("{RP_PREFIX}{alice}?api-version=2020-02-02"), Some(&token)).await;
        assert_eq!(status, 200, "{compute}");
        assert_eq!(compute["properties"]["properties"]["state"], "Stopping");
        client.emulator.control().complete_operations();
        let (_, compute) = client.get(&format!("{RP_PREFIX}{alice}?api-version=2020-02-02"), Some(&token)).await;
        assert_eq!(compute["properties"]["properties"]["state"], "Stopped");
    }

    #[tokio::test]
    async fn regional_api_checks_the_token_and_refuses_other_paths() {
        let client = Client::start().await;
        let (status, body) = client.get(&format!("{RP_PREFIX}{WS_PATH}/computes?api-version=2020-02-02"), None).await;
        assert_eq!(status, 401, "{body}");
        let token = client.token().await;
        let (status, body) = client.get(&format!("{RP_PREFIX}{WS_PATH}?api-version=2020-02-02"), Some(&token)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("UnsupportedByEmulator")));
    }

    #[test]
    fn compute_paths_are_recognised() {
        assert!(is_compute_path(&format!("{WS_PATH}/computes")));
        assert!(is_compute_path(&format!("{WS_PATH}/computes/c1")));
        assert!(!is_compute_path(WS_PATH));
        assert!(!is_compute_path(&format!("{WS_PATH}/computes/c1/stop")));
        assert!(!is_compute_path(&format!("{WS_PATH}/datastores")));
    }
}
