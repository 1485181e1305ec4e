//! How a Blob state reads its JSON documents and changes them: a read with the document's ETag, many reads at
//! once, and the compare-and-set loop (read, decide, write under the ETag read, again on losing to a writer).

use azure_core::http::Etag;
use futures::{StreamExt as _, TryStreamExt as _};

use super::BlobStore;
use super::container::{Condition, Written};
use super::documents::{Unreadable, parse};
use crate::error::Error;

/// How many blobs are read at once when a listing is followed by reads.
pub(super) const PARALLEL_READS: usize = 16;

/// How many times a compare-and-set is tried again after losing to another writer before giving up.
pub(super) const CAS_ATTEMPTS: usize = 100;

/// What a read-modify-write decided.
pub(super) enum Step<T, R> {
    /// Nothing to write; the result.
    Stop(R),
    /// Write this document; the result once written.
    Write(T, R),
}

impl BlobStore {
    /// The error for the blob `blob`, whose content did not read as its document.
    pub(super) fn corrupt(&self, blob: &str, unreadable: Unreadable) -> Error {
        Error::BlobCorrupt {
            location: self.container.location().to_owned(),
            blob: blob.to_owned(),
            what: unreadable.what,
            expected: unreadable.expected,
            found: unreadable.found,
        }
    }

    pub(super) fn exhausted(&self, operation: &'static str) -> Error {
        Error::Blob {
            location: self.container.location().to_owned(),
            operation,
            message: format!("lost the compare-and-set to other writers {CAS_ATTEMPTS} times in a row"),
        }
    }

    /// A JSON document and its ETag, `None` if the blob does not exist.
    pub(super) async fn read<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        what: &'static str,
        operation: &'static str,
    ) -> Result<Option<(T, Etag)>, Error> {
        let Some((bytes, etag)) = self.container.get(name, operation).await? else {
            return Ok(None);
        };
        let doc = parse(what, &bytes).map_err(|unreadable| self.corrupt(name, unreadable))?;
        Ok(Some((doc, etag)))
    }

    /// Reads a document, lets `decide` choose, and writes its choice under the ETag it was read with (or only if
    /// still absent), trying again whenever another writer came first.
    pub(super) async fn update<T, R>(
        &self,
        name: &str,
        what: &'static str,
        operation: &'static str,
        mut decide: impl FnMut(Option<T>) -> Result<Step<T, R>, Error>,
    ) -> Result<R, Error>
    where
        T: serde::de::DeserializeOwned + serde::Serialize,
    {
        for _ in 0..CAS_ATTEMPTS {
            let current = self.read::<T>(name, what, operation).await?;
            let (doc, etag) = match current {
                Some((doc, etag)) => (Some(doc), Some(etag)),
                None => (None, None),
            };
            let (new, result) = match decide(doc)? {
                Step::Stop(result) => return Ok(result),
                Step::Write(new, result) => (new, result),
            };
            let condition = etag.map_or(Condition::Absent, Condition::Unchanged);
            if let Written::Done = self.container.put(name, to_json(&new), condition, operation).await? {
                return Ok(result);
            }
        }
        Err(self.exhausted(operation))
    }

    /// Reads many documents at once; the ones gone since they were listed are left out.
    pub(super) async fn read_all<T: serde::de::DeserializeOwned>(
        &self,
        names: Vec<String>,
        what: &'static str,
        operation: &'static str,
    ) -> Result<Vec<(String, T, Etag)>, Error> {
        let found: Vec<Option<(String, T, Etag)>> = futures::stream::iter(names)
            .map(|name| async move {
                Ok::<_, Error>(self.read::<T>(&name, what, operation).await?.map(|(doc, etag)| (name, doc, etag)))
            })
            .buffered(PARALLEL_READS)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }
}

/// A document's JSON.
pub(super) fn to_json<T: serde::Serialize>(doc: &T) -> Vec<u8> {
    serde_json::to_vec(doc).unwrap_or_default()
}
