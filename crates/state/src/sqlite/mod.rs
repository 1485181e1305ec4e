//! The SQLite backend of [`StateStore`]: one file in WAL mode with `synchronous=FULL`. Every change is one
//! transaction whose commit is checked; a claim is an `INSERT` on the claim's primary key (the database lock
//! makes it atomic across processes); a transition is a conditional `UPDATE` plus its event, committed together.
//!
//! The file and the directories it creates are private (0600 / 0700): they hold owners' e-mail addresses and the
//! history of their machines. SQLite's locking needs a local file system: never put this file on a network
//! share (use the Blob backend for shared state).

mod queries;
mod schema;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, TransactionBehavior};

use crate::claim::{Claim, ClaimOutcome, NewClaim, Transition};
use crate::error::Error;
use crate::event::{Event, EventRecord, HistoryQuery};
use crate::pending::Pending;
use crate::postponement::Postponement;
use crate::price::CachedPrice;
use crate::run::{NewRun, RunId, RunRecord, RunStatus};
use crate::store::StateStore;
use queries::Db;
use writer::Writer;

/// How long a write waits for another autostop process holding the database lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open state database. `Send + Sync`: concurrent tasks share one store; their changes are committed in
/// batches by one writer thread (see `writer.rs`), each caller answered only once its change is durable.
#[derive(Debug)]
pub struct SqliteStore {
    writer: Writer,
    path: PathBuf,
}

impl SqliteStore {
    /// The platform's default database path: `$XDG_STATE_HOME/autostop/audit.db`, else
    /// `$HOME/.local/state/autostop/audit.db` (empty variables count as unset, as the XDG spec says).
    pub fn default_path() -> Result<PathBuf, Error> {
        Self::default_path_from(|name| std::env::var_os(name))
    }

    /// [`SqliteStore::default_path`] with the environment given as a lookup function.
    pub fn default_path_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf, Error> {
        let non_empty = |name| env(name).filter(|value| !value.is_empty()).map(PathBuf::from);
        if let Some(state) = non_empty("XDG_STATE_HOME") {
            return Ok(state.join("autostop").join("audit.db"));
        }
        let home = non_empty("HOME").ok_or(Error::NoDefaultPath)?;
        Ok(home.join(".local").join("state").join("autostop").join("audit.db"))
    }

    /// Opens (creating if needed, with its parent directories, all private) the database at `path` and brings
    /// its schema up to date. Safe when several processes open a new file at once.
    pub fn open(path: &Path) -> Result<SqliteStore, Error> {
        create_private(path)?;
        let mut conn = Connection::open(path).map_err(|err| Error::sqlite(path, "open the file", err))?;
        let err = |operation, source| Error::sqlite(path, operation, source);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|source| err("set the busy timeout", source))?;
        switch_to_wal(&conn).map_err(|source| err("switch to WAL journaling", source))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|source| err("set synchronous=FULL", source))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|source| err("enable foreign keys", source))?;
        migrate(&mut conn, path)?;
        let writer = Writer::start(conn, Db { path: path.to_owned() })?;
        Ok(SqliteStore { writer, path: path.to_owned() })
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Puts the file in WAL mode. Switching needs the file to itself, and SQLite answers `SQLITE_BUSY` at once
/// (without its busy handler) while another process opens the same new file: try again until the busy timeout.
fn switch_to_wal(conn: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(err)
                if err.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

/// Brings the schema up to date. The version is read inside the write transaction, so two processes creating
/// the same new file cannot both run a migration.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), Error> {
    let err = |operation, source| Error::sqlite(path, operation, source);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|source| err("lock the database to check its schema", source))?;
    let found: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|source| err("read the schema version", source))?;
    let supported = schema::current_version();
    if found > supported {
        return Err(Error::NewerSchema { path: path.to_owned(), found, supported });
    }
    if found == supported {
        return Ok(());
    }
    let start = usize::try_from(found).unwrap_or(0);
    for migration in schema::MIGRATIONS.iter().skip(start) {
        tx.execute_batch(migration).map_err(|source| err("migrate the schema", source))?;
    }
    tx.pragma_update(None, "user_version", supported).map_err(|source| err("record the schema version", source))?;
    tx.commit().map_err(|source| err("commit the schema migration", source))
}

/// The same operations as [`StateStore`], blocking the calling thread until each is committed: for tests and
/// tools that have no async runtime. Never call them from async code (use the trait).
impl SqliteStore {
    /// See [`StateStore::begin_run`].
    pub fn begin_run(&self, run: &NewRun) -> Result<RunId, Error> {
        let run = run.clone();
        self.writer.call(move |db, conn| db.begin_run(conn, &run))
    }

    /// See [`StateStore::heartbeat`].
    pub fn heartbeat(&self, run: &RunId, at: Timestamp) -> Result<(), Error> {
        let run = run.clone();
        self.writer.call(move |db, conn| db.heartbeat(conn, &run, at))
    }

    /// See [`StateStore::finish_run`].
    pub fn finish_run(&self, run: &RunId, at: Timestamp, status: RunStatus) -> Result<(), Error> {
        let run = run.clone();
        self.writer.call(move |db, conn| db.finish_run(conn, &run, at, status))
    }

    /// See [`StateStore::run`].
    pub fn run(&self, run: &RunId) -> Result<Option<RunRecord>, Error> {
        let run = run.clone();
        self.writer.call(move |db, conn| db.run(conn, &run))
    }

    /// See [`StateStore::claim`].
    pub fn claim(&self, claim: &NewClaim) -> Result<ClaimOutcome, Error> {
        let claim = claim.clone();
        self.writer.call(move |db, conn| db.claim(conn, &claim))
    }

    /// See [`StateStore::transition`].
    pub fn transition(&self, transition: &Transition<'_>) -> Result<bool, Error> {
        let owned = OwnedTransition::from(transition);
        self.writer.call(move |db, conn| db.transition(conn, &owned.borrow()))
    }

    /// See [`StateStore::claims_of`].
    pub fn claims_of(&self, rule: &str, occurrence: Timestamp) -> Result<Vec<Claim>, Error> {
        let rule = rule.to_owned();
        self.writer.call(move |db, conn| db.claims_of(conn, &rule, occurrence))
    }

    /// See [`StateStore::last_stops_sent`].
    pub fn last_stops_sent(&self) -> Result<BTreeMap<String, Timestamp>, Error> {
        self.writer.call(|db, conn| db.last_stops_sent(conn))
    }

    /// See [`StateStore::open_claims`].
    pub fn open_claims(&self) -> Result<Vec<Claim>, Error> {
        self.writer.call(|db, conn| db.open_claims(conn))
    }

    /// See [`StateStore::record`].
    pub fn record(&self, event: &Event) -> Result<i64, Error> {
        let event = event.clone();
        self.writer.call(move |db, conn| db.record(conn, &event))
    }

    /// See [`StateStore::history`].
    pub fn history(&self, query: &HistoryQuery) -> Result<Vec<EventRecord>, Error> {
        let query = query.clone();
        self.writer.call(move |db, conn| db.history(conn, &query))
    }

    /// See [`StateStore::last_evaluated`].
    pub fn last_evaluated(&self, key: &str) -> Result<Option<Timestamp>, Error> {
        let key = key.to_owned();
        self.writer.call(move |db, conn| db.last_evaluated(conn, &key))
    }

    /// See [`StateStore::advance_last_evaluated`].
    pub fn advance_last_evaluated(&self, key: &str, at: Timestamp) -> Result<Timestamp, Error> {
        let key = key.to_owned();
        self.writer.call(move |db, conn| db.advance_last_evaluated(conn, &key, at))
    }

    /// See [`StateStore::pending`].
    pub fn pending(&self) -> Result<Vec<Pending>, Error> {
        self.writer.call(|db, conn| db.pending(conn))
    }

    /// See [`StateStore::keep_pending`].
    pub fn keep_pending(&self, pending: &Pending) -> Result<(), Error> {
        let pending = pending.clone();
        self.writer.call(move |db, conn| db.keep_pending(conn, &pending))
    }

    /// See [`StateStore::postpone`].
    pub fn postpone(&self, postponement: &Postponement, event: &Event) -> Result<(), Error> {
        let (postponement, event) = (postponement.clone(), event.clone());
        self.writer.call(move |db, conn| db.postpone(conn, &postponement, &event))
    }

    /// See [`StateStore::postponements`].
    pub fn postponements(&self, since: Timestamp) -> Result<Vec<Postponement>, Error> {
        self.writer.call(move |db, conn| db.postponements(conn, since))
    }

    /// See [`StateStore::clear_pending`].
    pub fn clear_pending(&self, rule: &str, occurrence: Timestamp) -> Result<(), Error> {
        let rule = rule.to_owned();
        self.writer.call(move |db, conn| db.clear_pending(conn, &rule, occurrence))
    }

    /// See [`StateStore::cached_prices`].
    pub fn cached_prices(&self, currency: &str) -> Result<Vec<CachedPrice>, Error> {
        let currency = currency.to_owned();
        self.writer.call(move |db, conn| db.cached_prices(conn, &currency))
    }

    /// See [`StateStore::store_prices`].
    pub fn store_prices(&self, prices: &[CachedPrice]) -> Result<(), Error> {
        let prices = prices.to_vec();
        self.writer.call(move |db, conn| db.store_prices(conn, &prices))
    }
}

/// A [`Transition`] with owned parts, to send to the writer thread.
struct OwnedTransition {
    key: crate::claim::ClaimKey,
    from: Vec<crate::claim::ClaimStatus>,
    to: crate::claim::ClaimStatus,
    at: Timestamp,
    event: Option<Event>,
}

impl OwnedTransition {
    fn from(transition: &Transition<'_>) -> OwnedTransition {
        OwnedTransition {
            key: transition.key.clone(),
            from: transition.from.to_vec(),
            to: transition.to,
            at: transition.at,
            event: transition.event.cloned(),
        }
    }

    fn borrow(&self) -> Transition<'_> {
        Transition { key: &self.key, from: &self.from, to: self.to, at: self.at, event: self.event.as_ref() }
    }
}

/// Creates the database's missing parent directories (0700) and the file itself (0600) before SQLite opens it,
/// so that nothing is ever readable by others, even for a moment.
fn create_private(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        builder.mode(0o700);
        builder.create(dir).map_err(|source| Error::CreateDir { dir: dir.to_owned(), source })?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::CreateDir { dir: path.to_owned(), source }),
    }
}

#[async_trait]
impl StateStore for SqliteStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    async fn begin_run(&self, run: &NewRun) -> Result<RunId, Error> {
        let run = run.clone();
        self.writer.call_async(move |db, conn| db.begin_run(conn, &run)).await
    }

    async fn heartbeat(&self, run: &RunId, at: Timestamp) -> Result<(), Error> {
        let run = run.clone();
        self.writer.call_async(move |db, conn| db.heartbeat(conn, &run, at)).await
    }

    async fn finish_run(&self, run: &RunId, at: Timestamp, status: RunStatus) -> Result<(), Error> {
        let run = run.clone();
        self.writer.call_async(move |db, conn| db.finish_run(conn, &run, at, status)).await
    }

    async fn run(&self, run: &RunId) -> Result<Option<RunRecord>, Error> {
        let run = run.clone();
        self.writer.call_async(move |db, conn| db.run(conn, &run)).await
    }

    async fn claim(&self, claim: &NewClaim) -> Result<ClaimOutcome, Error> {
        let claim = claim.clone();
        self.writer.call_async(move |db, conn| db.claim(conn, &claim)).await
    }

    async fn transition(&self, transition: &Transition<'_>) -> Result<bool, Error> {
        let owned = OwnedTransition::from(transition);
        self.writer.call_async(move |db, conn| db.transition(conn, &owned.borrow())).await
    }

    async fn claims_of(&self, rule: &str, occurrence: Timestamp) -> Result<Vec<Claim>, Error> {
        let rule = rule.to_owned();
        self.writer.call_async(move |db, conn| db.claims_of(conn, &rule, occurrence)).await
    }

    async fn last_stops_sent(&self) -> Result<BTreeMap<String, Timestamp>, Error> {
        self.writer.call_async(|db, conn| db.last_stops_sent(conn)).await
    }

    async fn open_claims(&self) -> Result<Vec<Claim>, Error> {
        self.writer.call_async(|db, conn| db.open_claims(conn)).await
    }

    async fn record(&self, event: &Event) -> Result<i64, Error> {
        let event = event.clone();
        self.writer.call_async(move |db, conn| db.record(conn, &event)).await
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<EventRecord>, Error> {
        let query = query.clone();
        self.writer.call_async(move |db, conn| db.history(conn, &query)).await
    }

    async fn last_evaluated(&self, key: &str) -> Result<Option<Timestamp>, Error> {
        let key = key.to_owned();
        self.writer.call_async(move |db, conn| db.last_evaluated(conn, &key)).await
    }

    async fn advance_last_evaluated(&self, key: &str, at: Timestamp) -> Result<Timestamp, Error> {
        let key = key.to_owned();
        self.writer.call_async(move |db, conn| db.advance_last_evaluated(conn, &key, at)).await
    }

    async fn pending(&self) -> Result<Vec<Pending>, Error> {
        self.writer.call_async(|db, conn| db.pending(conn)).await
    }

    async fn keep_pending(&self, pending: &Pending) -> Result<(), Error> {
        let pending = pending.clone();
        self.writer.call_async(move |db, conn| db.keep_pending(conn, &pending)).await
    }

    async fn clear_pending(&self, rule: &str, occurrence: Timestamp) -> Result<(), Error> {
        let rule = rule.to_owned();
        self.writer.call_async(move |db, conn| db.clear_pending(conn, &rule, occurrence)).await
    }

    async fn postpone(&self, postponement: &Postponement, event: &Event) -> Result<(), Error> {
        let (postponement, event) = (postponement.clone(), event.clone());
        self.writer.call_async(move |db, conn| db.postpone(conn, &postponement, &event)).await
    }

    async fn postponements(&self, since: Timestamp) -> Result<Vec<Postponement>, Error> {
        self.writer.call_async(move |db, conn| db.postponements(conn, since)).await
    }

    async fn link_signing_key(&self, generated: &[u8]) -> Result<Vec<u8>, Error> {
        let generated = generated.to_vec();
        self.writer.call_async(move |db, conn| db.link_signing_key(conn, &generated)).await
    }

    async fn cached_prices(&self, currency: &str) -> Result<Vec<CachedPrice>, Error> {
        let currency = currency.to_owned();
        self.writer.call_async(move |db, conn| db.cached_prices(conn, &currency)).await
    }

    async fn store_prices(&self, prices: &[CachedPrice]) -> Result<(), Error> {
        let prices = prices.to_vec();
        self.writer.call_async(move |db, conn| db.store_prices(conn, &prices)).await
    }

    async fn prune_events(&self, before: Timestamp) -> Result<u64, Error> {
        // Small transactions, each its own call: an evaluation's writes go in between.
        const BATCH: usize = 1000;
        let mut total = 0;
        loop {
            let deleted = self.writer.call_async(move |db, conn| db.prune_events(conn, before, BATCH)).await?;
            total += deleted;
            if deleted < BATCH as u64 {
                break;
            }
        }
        StateStore::advance_last_evaluated(self, crate::store::PRUNED_EVENTS_KEY, before).await?;
        Ok(total)
    }
}
