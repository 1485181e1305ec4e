//! The state store's one error type: every variant names the store it concerns.

use std::path::PathBuf;

/// Why the state store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Neither `XDG_STATE_HOME` nor `HOME` is set, so there is no default place for the database.
    #[error("cannot choose a default state database path: neither XDG_STATE_HOME nor HOME is set (use --state PATH)")]
    NoDefaultPath,
    /// The directory or file that should hold the database could not be created with private permissions.
    #[error("cannot create the directory {} for the state database", dir.display())]
    CreateDir {
        /// The directory autostop tried to create.
        dir: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not an SQLite database (or is encrypted or damaged beyond its header).
    #[error("state database {}: expected an SQLite database, found a file that is not one", path.display())]
    NotADatabase {
        /// The database file.
        path: PathBuf,
    },
    /// The database was written by a newer autostop whose schema this one does not know.
    #[error(
        "state database {}: expected schema version {supported} or older, found {found} (written by a newer autostop)",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The `user_version` found in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// A stored value could not be read back (the file was edited by hand or damaged).
    #[error("state database {}: {what}: expected {expected}, found {found:?}", path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// Which value was unreadable.
        what: &'static str,
        /// What a valid value looks like.
        expected: &'static str,
        /// The stored value.
        found: String,
    },
    /// The Blob state URL is not one autostop can use.
    #[error(transparent)]
    BlobAddress(#[from] crate::blob::AddressError),
    /// Blob Storage refused an operation, or could not be reached: the change may or may not have happened.
    #[error("Blob state {location}: cannot {operation}: {message}")]
    Blob {
        /// The state's URL, without its SAS.
        location: String,
        /// What autostop was doing, e.g. "take a claim".
        operation: &'static str,
        /// What the service or the connection said (never the SAS).
        message: String,
    },
    /// A stored blob could not be read back (edited by hand, or written by something else).
    #[error("Blob state {location}: blob {blob}: {what}: expected {expected}, found {found:?}")]
    BlobCorrupt {
        /// The state's URL, without its SAS.
        location: String,
        /// The blob's name.
        blob: String,
        /// Which value was unreadable.
        what: &'static str,
        /// What a valid value looks like.
        expected: &'static str,
        /// The stored value.
        found: String,
    },
    /// SQLite refused an operation.
    #[error("state database {}: cannot {operation}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What autostop was doing, e.g. "record an event".
        operation: &'static str,
        /// SQLite's own error.
        #[source]
        source: rusqlite::Error,
    },
}

impl Error {
    /// Wraps a SQLite error, recognising the "not a database" case so the user is told plainly.
    pub(crate) fn sqlite(path: &std::path::Path, operation: &'static str, source: rusqlite::Error) -> Error {
        if source.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
            return Error::NotADatabase { path: path.to_owned() };
        }
        Error::Sqlite { path: path.to_owned(), operation, source }
    }
}
