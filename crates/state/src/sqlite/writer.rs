//! The writer thread: the one connection of a [`super::SqliteStore`], off the async runtime. Work arrives on a
//! channel; the thread takes everything waiting (up to [`MAX_BATCH`]), runs each piece in its own savepoint
//! inside one `BEGIN IMMEDIATE` transaction, commits once, and only then answers each caller — with its result,
//! or with the commit's error if the commit failed. This is group commit: under load many changes share one
//! fsync, and no caller hears "done" before its change is durable.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;

use super::queries::Db;
use crate::error::Error;

/// The most pieces of work one transaction carries.
const MAX_BATCH: usize = 512;

/// What the thread calls once the batch's commit is known: `None` when it succeeded.
type Deliver = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;

/// One piece of work: runs on the connection (or learns that the transaction could not begin), says whether it
/// succeeded (else its savepoint is rolled back), and returns how to deliver its result after the commit.
type Job = Box<dyn FnOnce(Result<&Connection, &rusqlite::Error>) -> (bool, Deliver) + Send>;

/// The handle to the writer thread.
#[derive(Debug)]
pub(super) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    db: Db,
}

impl Writer {
    /// Starts the thread that owns `conn`.
    pub(super) fn start(conn: Connection, db: Db) -> Result<Writer, Error> {
        let (jobs, receiver) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("autostop-sqlite".to_owned())
            .spawn(move || run(conn, receiver))
            .map_err(|source| Error::CreateDir { dir: PathBuf::from("(writer thread)"), source })?;
        Ok(Writer { jobs: Some(jobs), thread: Some(thread), db })
    }

    /// Runs `work` in the next batch and hands its result, once committed, to `reply`.
    pub(super) fn submit<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Db, &Connection) -> Result<R, Error> + Send + 'static,
        reply: impl FnOnce(Result<R, Error>) + Send + 'static,
    ) {
        let db = self.db.clone();
        let job: Job = Box::new(move |conn| match conn {
            Err(begin) => {
                let error = commit_error(&db, begin);
                (false, Box::new(move |_| reply(Err(error))))
            }
            Ok(conn) => {
                let result = work(&db, conn);
                let ok = result.is_ok();
                let deliver: Deliver = Box::new(move |commit| match commit {
                    Some(err) => reply(Err(commit_error(&db, err))),
                    None => reply(result),
                });
                (ok, deliver)
            }
        });
        if let Some(jobs) = &self.jobs
            && let Err(mpsc::SendError(job)) = jobs.send(job)
        {
            // The thread is gone (it only ends when the store is dropped): answer with an error, never hang.
            let (_, deliver) = job(Err(&rusqlite::Error::InvalidQuery));
            deliver(None);
        }
    }

    /// Runs `work` and waits for its committed result, blocking this thread (not for async code).
    pub(super) fn call<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Db, &Connection) -> Result<R, Error> + Send + 'static,
    ) -> Result<R, Error> {
        let (sender, receiver) = mpsc::channel();
        self.submit(work, move |result| {
            let _ = sender.send(result);
        });
        receiver.recv().unwrap_or_else(|_| Err(commit_error(&self.db, &rusqlite::Error::InvalidQuery)))
    }

    /// Runs `work` and awaits its committed result.
    pub(super) async fn call_async<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Db, &Connection) -> Result<R, Error> + Send + 'static,
    ) -> Result<R, Error> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        self.submit(work, move |result| {
            let _ = sender.send(result);
        });
        receiver.await.unwrap_or_else(|_| Err(commit_error(&self.db, &rusqlite::Error::InvalidQuery)))
    }
}

impl Drop for Writer {
    /// Lets the thread finish what it was given and close the connection (checkpointing the WAL).
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: batches, savepoints, one commit per batch.
fn run(conn: Connection, receiver: mpsc::Receiver<Job>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
            for job in batch {
                let (_, deliver) = job(Err(&err));
                deliver(None);
            }
            continue;
        }
        let mut deliveries = Vec::with_capacity(batch.len());
        for job in batch {
            // Prepared once: a batch opens and closes a savepoint per piece of work, thousands a second.
            let deliver = match conn.prepare_cached("SAVEPOINT job").and_then(|mut savepoint| savepoint.execute([])) {
                Ok(_) => {
                    let (ok, deliver) = job(Ok(&conn));
                    let end = if ok {
                        conn.prepare_cached("RELEASE job").and_then(|mut release| release.execute([])).map(drop)
                    } else {
                        conn.execute_batch("ROLLBACK TO job; RELEASE job")
                    };
                    match end {
                        Ok(()) => deliver,
                        // The work's own answer cannot stand if its savepoint could not be closed.
                        Err(err) => Box::new(move |_: Option<&rusqlite::Error>| deliver(Some(&err))),
                    }
                }
                Err(err) => job(Err(&err)).1,
            };
            deliveries.push(deliver);
        }
        let committed = conn.execute_batch("COMMIT");
        if committed.is_err() {
            // A failed COMMIT may leave the transaction open; end it so the next batch starts clean.
            let _ = conn.execute_batch("ROLLBACK");
        }
        for deliver in deliveries {
            deliver(committed.as_ref().err());
        }
    }
}

/// The error each caller of a batch gets when the batch could not begin or commit.
fn commit_error(db: &Db, err: &rusqlite::Error) -> Error {
    let copy = match err {
        rusqlite::Error::SqliteFailure(code, message) => rusqlite::Error::SqliteFailure(*code, message.clone()),
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    };
    Error::sqlite(&db.path, "commit the change", copy)
}
