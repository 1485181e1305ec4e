//! The few Blob Storage operations the Blob state needs, over the official `azure_storage_blob` client: read a
//! blob with its ETag, write one under a condition, delete, list by prefix, append a line; and a blob's client
//! for the leader lease (`lease.rs`). Every failure becomes an [`Error`] naming the state (never its SAS); a lost condition is a
//! value ([`Written::Lost`]), not an error.

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Etag, RequestContent, StatusCode};
use azure_storage_blob::models::{
    AppendBlobClientAppendBlockOptions, AppendBlobClientCreateOptions, BlobClientDeleteOptions,
    BlobContainerClientListBlobsOptions, BlockBlobClientUploadOptions,
};
use azure_storage_blob::{BlobContainerClient, BlobContainerClientOptions};
use futures::TryStreamExt as _;

use crate::blob::address::BlobAddress;
use crate::error::Error;

/// The condition a write is made under.
#[derive(Debug, Clone)]
pub(crate) enum Condition {
    /// Only if the blob does not exist (`If-None-Match: *`).
    Absent,
    /// Only if the blob is unchanged since it was read with this ETag (`If-Match`).
    Unchanged(Etag),
    /// Whatever is there (an index marker, whose content does not matter).
    Any,
}

/// What a conditional write gave.
#[derive(Debug)]
pub(crate) enum Written {
    /// It was written.
    Done,
    /// The condition did not hold (409 `BlobAlreadyExists` or 412 `ConditionNotMet`): nothing was written.
    Lost,
}

/// One container, as the Blob state uses it.
pub(crate) struct Container {
    client: BlobContainerClient,
    location: String,
    /// The SAS query, to scrub from messages.
    sas: Option<String>,
    created: tokio::sync::OnceCell<()>,
    /// When the service was last found unreachable (its retries spent), and what was said then.
    unreachable: std::sync::Mutex<Option<(std::time::Instant, String)>>,
}

/// How long operations fail at once, without a request, after the service was found unreachable: a run whose
/// state is gone ends in seconds instead of spending every retry budget on every target.
const UNREACHABLE_FOR: std::time::Duration = std::time::Duration::from_secs(30);

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container").field("location", &self.location).finish_non_exhaustive()
    }
}

impl Container {
    /// A client for the container of `address`, authenticated by its SAS if it has one, else by `credential`.
    pub fn new(
        address: &BlobAddress,
        credential: Option<Arc<dyn TokenCredential>>,
        client_options: ClientOptions,
    ) -> Result<Container, Error> {
        let location = address.location();
        let credential = if address.has_sas() { None } else { credential };
        let mut client_options = client_options;
        client_options.retry = retry_options();
        let options = BlobContainerClientOptions { client_options, ..Default::default() };
        let client =
            BlobContainerClient::new(address.container_url().clone(), credential, Some(options)).map_err(|err| {
                Error::Blob { location: location.clone(), operation: "build the client", message: err.to_string() }
            })?;
        let sas = address.container_url().query().map(str::to_owned);
        Ok(Container {
            client,
            location,
            sas,
            created: tokio::sync::OnceCell::new(),
            unreachable: std::sync::Mutex::new(None),
        })
    }

    /// The state's URL without its SAS.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The client of blob `name` in this container, for the calls this module does not wrap (the lease).
    pub fn blob_client(&self, name: &str) -> azure_storage_blob::BlobClient {
        self.client.blob_client(name)
    }

    /// An error for `operation` from what the client said, with the SAS removed.
    pub fn failed(&self, operation: &'static str, err: &azure_core::Error) -> Error {
        let message = self.describe(err);
        if matches!(err.kind(), azure_core::error::ErrorKind::Connection | azure_core::error::ErrorKind::Io) {
            let mut unreachable = self.unreachable.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *unreachable = Some((std::time::Instant::now(), message.clone()));
        }
        Error::Blob { location: self.location.clone(), operation, message }
    }

    /// What the client said, in a line: the HTTP status and the service's error code, or the chain of causes;
    /// with the SAS removed.
    pub fn describe(&self, err: &azure_core::Error) -> String {
        let mut message = match err.kind() {
            azure_core::error::ErrorKind::HttpResponse { status, error_code, .. } => {
                format!("HTTP {} {}", u16::from(*status), error_code.as_deref().unwrap_or("(no error code)"))
            }
            _ => {
                let mut parts = vec![err.to_string()];
                let mut source = std::error::Error::source(err);
                while let Some(inner) = source {
                    let text = inner.to_string();
                    if !parts.iter().any(|part| part.contains(&text)) {
                        parts.push(text);
                    }
                    source = inner.source();
                }
                parts.join(": ")
            }
        };
        if let Some(sas) = self.sas.as_deref().filter(|sas| !sas.is_empty()) {
            message = message.replace(sas, "[SAS]");
        }
        message
    }

    /// Fails at once while the service was found unreachable less than [`UNREACHABLE_FOR`] ago; then creates
    /// the container unless it exists (once per process; not with a SAS, which names an existing container).
    async fn ready(&self, operation: &'static str) -> Result<(), Error> {
        let down = self.unreachable.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if let Some((since, message)) = down.filter(|(since, _)| since.elapsed() < UNREACHABLE_FOR) {
            return Err(Error::Blob {
                location: self.location.clone(),
                operation,
                message: format!(
                    "unreachable {:.0?} ago ({message}); not tried again for {UNREACHABLE_FOR:?}",
                    since.elapsed()
                ),
            });
        }
        self.created
            .get_or_try_init(|| async {
                // A container SAS cannot create its container (that takes an account SAS or a role): it must exist.
                if self.sas.is_some() {
                    return Ok(());
                }
                match self.client.create(None).await {
                    Ok(_) => Ok(()),
                    Err(err) if err.http_status() == Some(StatusCode::Conflict) => Ok(()),
                    Err(err) => Err(self.failed("create the container", &err)),
                }
            })
            .await
            .map(|_| ())
    }

    /// A blob's content and ETag, `None` if it does not exist.
    pub async fn get(&self, name: &str, operation: &'static str) -> Result<Option<(Vec<u8>, Etag)>, Error> {
        self.ready(operation).await?;
        let blob = self.client.blob_client(name);
        let result = match blob.download(None).await {
            Ok(result) => result,
            Err(err) if err.http_status() == Some(StatusCode::NotFound) => return Ok(None),
            Err(err) => return Err(self.failed(operation, &err)),
        };
        let etag = result.properties.etag.clone();
        let body = result.body.collect().await.map_err(|err| self.failed(operation, &err))?;
        let etag = etag.ok_or_else(|| Error::Blob {
            location: self.location.clone(),
            operation,
            message: format!("the service returned blob {name} without an ETag"),
        })?;
        Ok(Some((body.to_vec(), etag)))
    }

    /// Writes a small block blob under `condition`.
    pub async fn put(
        &self,
        name: &str,
        content: Vec<u8>,
        condition: Condition,
        operation: &'static str,
    ) -> Result<Written, Error> {
        self.ready(operation).await?;
        let mut options = BlockBlobClientUploadOptions {
            blob_content_type: Some("application/json".to_owned()),
            ..Default::default()
        };
        match condition {
            Condition::Absent => options.if_none_match = Some(Etag::from("*")),
            Condition::Unchanged(etag) => options.if_match = Some(etag),
            Condition::Any => {}
        }
        let blob = self.client.blob_client(name);
        match blob.upload(RequestContent::from(content), Some(options)).await {
            Ok(result) => result.etag.map(|_| Written::Done).ok_or_else(|| Error::Blob {
                location: self.location.clone(),
                operation,
                message: format!("the service wrote blob {name} without returning its ETag"),
            }),
            Err(err) if is_lost_condition(&err) => Ok(Written::Lost),
            Err(err) => Err(self.failed(operation, &err)),
        }
    }

    /// Deletes a blob, only if it is unchanged since it was read with `etag` when one is given; one already gone
    /// is fine. Returns whether it is gone (`false`: the blob changed since).
    pub async fn delete(&self, name: &str, etag: Option<Etag>, operation: &'static str) -> Result<bool, Error> {
        self.ready(operation).await?;
        let options = BlobClientDeleteOptions { if_match: etag, ..Default::default() };
        match self.client.blob_client(name).delete(Some(options)).await {
            Ok(_) => Ok(true),
            Err(err) if err.http_status() == Some(StatusCode::NotFound) => Ok(true),
            Err(err) if err.http_status() == Some(StatusCode::PreconditionFailed) => Ok(false),
            Err(err) => Err(self.failed(operation, &err)),
        }
    }

    /// The names of every blob starting with `prefix`, in name order.
    pub async fn list(&self, prefix: &str, operation: &'static str) -> Result<Vec<String>, Error> {
        self.ready(operation).await?;
        let options = BlobContainerClientListBlobsOptions { prefix: Some(prefix.to_owned()), ..Default::default() };
        let mut pages = self.client.list_blobs(Some(options)).map_err(|err| self.failed(operation, &err))?.into_pages();
        let mut names = Vec::new();
        while let Some(page) = pages.try_next().await.map_err(|err| self.failed(operation, &err))? {
            let page = page.into_model().map_err(|err| self.failed(operation, &err))?;
            names.extend(page.blob_items.into_iter().filter_map(|item| item.name));
        }
        Ok(names)
    }

    /// Appends `content` to the append blob `name` (created if missing) and returns the offset it landed at.
    pub async fn append(&self, name: &str, content: Vec<u8>, operation: &'static str) -> Result<u64, Error> {
        self.ready(operation).await?;
        let append = self.client.blob_client(name).append_blob_client();
        let length = u64::try_from(content.len()).unwrap_or(u64::MAX);
        for _ in 0..2 {
            match append
                .append_block(
                    RequestContent::from(content.clone()),
                    length,
                    None::<AppendBlobClientAppendBlockOptions<'_>>,
                )
                .await
            {
                Ok(response) => {
                    use azure_storage_blob::models::AppendBlobClientAppendBlockResultHeaders as _;
                    let offset = response.blob_append_offset().map_err(|err| self.failed(operation, &err))?;
                    return offset.and_then(|text| text.parse().ok()).ok_or_else(|| Error::Blob {
                        location: self.location.clone(),
                        operation,
                        message: format!("the service appended to blob {name} without saying where"),
                    });
                }
                Err(err) if err.http_status() == Some(StatusCode::NotFound) => {
                    let options = AppendBlobClientCreateOptions::default().if_not_exists();
                    match append.create(Some(options)).await {
                        Ok(_) => {}
                        Err(err) if is_lost_condition(&err) => {}
                        Err(err) => return Err(self.failed("create a day's audit log blob", &err)),
                    }
                }
                Err(err) => return Err(self.failed(operation, &err)),
            }
        }
        Err(Error::Blob {
            location: self.location.clone(),
            operation,
            message: format!("blob {name} disappeared while appending to it"),
        })
    }
}

/// The state's retries: `azure_core`'s exponential policy (408, 429, 5xx, connection errors) at most 3 times
/// from 0.4 s, within 15 s. Shorter than ARM calls': every action waits on its claim, so an unreachable store
/// must be reported in seconds.
fn retry_options() -> azure_core::http::RetryOptions {
    azure_core::http::RetryOptions::exponential(azure_core::http::ExponentialRetryOptions {
        initial_delay: azure_core::time::Duration::milliseconds(400),
        max_retries: 3,
        max_total_elapsed: azure_core::time::Duration::seconds(15),
        max_delay: azure_core::time::Duration::seconds(5),
    })
}

/// Whether a write failed only because its condition did not hold.
fn is_lost_condition(err: &azure_core::Error) -> bool {
    matches!(err.http_status(), Some(StatusCode::Conflict | StatusCode::PreconditionFailed))
}
