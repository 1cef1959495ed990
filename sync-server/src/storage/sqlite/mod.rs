//! The embedded SQLite backend: one file, one writer connection, a few readers, WAL.
//!
//! rusqlite is blocking, so every call runs on tokio's blocking pool. Writes go through the
//! single writer connection in `BEGIN IMMEDIATE` transactions, which serialises them: the
//! org sequence bumped inside a write transaction is therefore assigned in commit order.

mod approval_flows;
mod assign;
mod audit;
mod blobs;
mod customer_codes;
mod departments;
mod devices;
mod facts;
mod feed;
mod orgs;
mod photos;
mod proposals;
mod snapshots;
mod tracks;
mod visit_plans;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fieldkit_domain::ids::{DeviceId, OrgId, UserId};
use fieldkit_domain::model::{Department, Org, User};
use fieldkit_domain::protocol::{BlobStatus, MissingBlob, Record, RecordKind};
use fieldkit_domain::signing::Sha256Hash;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use rusqlite_migration::{M, Migrations};
use uuid::Uuid;

use crate::audit::{AuditEntry, NewAuditEntry};

use super::{
    DeviceKey, DocResult, DocUpdate, FactInsert, FactQuery, FeedPage, FeedReader, KeyRegistration,
    LocationPoint, NewDeviceKey, NewToken, NewUser, PhotoHash, PhotoQuery, PointSource, ReceivedFact,
    Storage, StorageError, StorageResult, StoredDoc, StoredFact, StoredPhoto, StoredRecord, TrackPrune,
    UserChange,
};

const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../../migrations/001_init.sql")),
    M::up(include_str!("../../../migrations/002_documents.sql")),
    M::up(include_str!("../../../migrations/003_feed_retention_and_clock.sql")),
    M::up(include_str!("../../../migrations/004_blobs.sql")),
    M::up(include_str!("../../../migrations/005_location.sql")),
    M::up(include_str!("../../../migrations/006_photos.sql")),
    M::up(include_str!("../../../migrations/007_visit_plans.sql")),
    M::up(include_str!("../../../migrations/008_proposal_decisions.sql")),
    M::up(include_str!("../../../migrations/009_customer_codes.sql")),
    M::up(include_str!("../../../migrations/010_report_snapshots.sql")),
    M::up(include_str!("../../../migrations/011_departments.sql")),
    M::up(include_str!("../../../migrations/012_approval_flows.sql")),
    M::up(include_str!("../../../migrations/013_doc_echoes.sql")),
    M::up(include_str!("../../../migrations/014_device_revocations.sql")),
    M::up(include_str!("../../../migrations/015_audit_log.sql")),
];
const READERS: usize = 4;

/// Storage in one SQLite file.
#[derive(Clone)]
pub struct SqliteStorage {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    signals: tokio::sync::broadcast::Sender<OrgId>,
}

thread_local! {
    /// The orgs whose sequence the write running on this thread bumped: `next_seq` notes them,
    /// `write` signals them once the transaction has committed (a write runs on one blocking
    /// thread from start to commit, under the writer lock).
    static BUMPED: std::cell::RefCell<Vec<OrgId>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a change the server acknowledged survives a power loss (the phone drops it from
    // its queue on the acknowledgement).
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
}

impl SqliteStorage {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> StorageResult<Self> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        writer.set_transaction_behavior(TransactionBehavior::Immediate);
        Migrations::from_slice(MIGRATIONS).to_latest(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_timeout(std::time::Duration::from_secs(5))?;
                Ok(Mutex::new(conn))
            })
            .collect::<StorageResult<Vec<_>>>()?;
        let (signals, _) = tokio::sync::broadcast::channel(1024);
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                signals,
            }),
        })
    }

    /// Writes a consistent copy of the database to `to` (a new file) with `VACUUM INTO`,
    /// from a reader's snapshot: writers go on meanwhile.
    pub async fn backup_to(&self, to: &Path) -> StorageResult<()> {
        if to.exists() {
            return Err(StorageError::AlreadyExists(format!("backup file {}", to.display())));
        }
        let target = to.to_string_lossy().into_owned();
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            let conn = inner.readers[0].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            conn.execute("VACUUM INTO ?1", [target])?;
            Ok(())
        })
        .await
    }

    async fn write<T, F>(&self, f: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> StorageResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            BUMPED.with_borrow_mut(Vec::clear);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            for org in BUMPED.take() {
                let _ = inner.signals.send(org);
            }
            Ok(out)
        })
        .await
    }

    async fn read<T, F>(&self, f: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> StorageResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let mut conn = inner.readers[i].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // One snapshot for the whole call, so a feed page and its cursor agree.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            f(&tx)
        })
        .await
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> StorageResult<T> + Send + 'static,
) -> StorageResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StorageError::Worker(e.to_string()))?
}

/// Reads a UUID stored as text.
fn uuid_col(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    let text: String = row.get(idx)?;
    Uuid::parse_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

/// Bumps the org's sequence and returns the new value. Must run inside a write transaction.
fn next_seq(tx: &rusqlite::Transaction<'_>, org_id: OrgId) -> StorageResult<u64> {
    let seq: i64 = tx
        .query_row(
            "UPDATE orgs SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq",
            [org_id.to_string()],
            |row| row.get(0),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StorageError::NotFound(format!("org {org_id}")),
            other => other.into(),
        })?;
    BUMPED.with_borrow_mut(|bumped| {
        if !bumped.contains(&org_id) {
            bumped.push(org_id);
        }
    });
    Ok(u64::try_from(seq).expect("sequence numbers start at 1 and only grow"))
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn feed_seq(&self, org_id: OrgId) -> StorageResult<u64> {
        self.read(move |tx| {
            let seq: Option<i64> = tx
                .query_row("SELECT last_seq FROM orgs WHERE id = ?1", [org_id.to_string()], |row| row.get(0))
                .optional()?;
            let seq = seq.ok_or_else(|| StorageError::NotFound(format!("org {org_id}")))?;
            Ok(u64::try_from(seq).unwrap_or(0))
        })
        .await
    }

    fn feed_signals(&self) -> tokio::sync::broadcast::Receiver<OrgId> {
        self.inner.signals.subscribe()
    }

    async fn create_org(&self, slug: &str, name: &str) -> StorageResult<Org> {
        let (slug, name) = (slug.to_owned(), name.to_owned());
        self.write(move |tx| orgs::create_org(tx, &slug, &name)).await
    }

    async fn org_by_slug(&self, slug: &str) -> StorageResult<Option<Org>> {
        let slug = slug.to_owned();
        self.read(move |tx| orgs::org_by_slug(tx, &slug)).await
    }

    async fn create_user(&self, user: NewUser) -> StorageResult<User> {
        self.write(move |tx| orgs::create_user(tx, user)).await
    }

    async fn user(&self, org_id: OrgId, id: UserId) -> StorageResult<Option<User>> {
        self.read(move |tx| orgs::user(tx, org_id, id)).await
    }

    async fn users(&self, org_id: OrgId) -> StorageResult<Vec<User>> {
        self.read(move |tx| orgs::users(tx, org_id)).await
    }

    async fn credentials(&self, org_slug: &str, username: &str) -> StorageResult<Option<(User, String)>> {
        let (org_slug, username) = (org_slug.to_owned(), username.to_owned());
        self.read(move |tx| orgs::credentials(tx, &org_slug, &username)).await
    }

    async fn store_token(&self, token: NewToken) -> StorageResult<()> {
        self.write(move |tx| orgs::store_token(tx, token)).await
    }

    async fn user_by_token(&self, token_sha256: &str, now_ms: i64) -> StorageResult<Option<User>> {
        let hash = token_sha256.to_owned();
        self.read(move |tx| orgs::user_by_token(tx, &hash, now_ms)).await
    }

    async fn token_device(&self, token_sha256: &str) -> StorageResult<Option<DeviceId>> {
        let hash = token_sha256.to_owned();
        self.read(move |tx| devices::token_device(tx, &hash)).await
    }

    async fn refresh_token(&self, old_sha256: &str, new: NewToken, now_ms: i64) -> StorageResult<bool> {
        let old = old_sha256.to_owned();
        self.write(move |tx| orgs::refresh_token(tx, &old, new, now_ms)).await
    }

    async fn revoke_device(
        &self,
        org_id: OrgId,
        device_id: DeviceId,
        revoked_ms: i64,
        revoked_by: UserId,
    ) -> StorageResult<Option<i64>> {
        self.write(move |tx| devices::revoke(tx, org_id, device_id, revoked_ms, revoked_by)).await
    }

    async fn device_revocation(&self, org_id: OrgId, device_id: DeviceId) -> StorageResult<Option<i64>> {
        self.read(move |tx| devices::revocation(tx, org_id, device_id)).await
    }

    async fn append_audit(&self, org_id: OrgId, entry: NewAuditEntry) -> StorageResult<u64> {
        self.write(move |tx| audit::append(tx, org_id, &entry)).await
    }

    async fn audit_log(
        &self,
        org_id: OrgId,
        before_seq: Option<u64>,
        limit: u32,
    ) -> StorageResult<Vec<AuditEntry>> {
        self.read(move |tx| audit::log(tx, org_id, before_seq, limit)).await
    }

    async fn store_facts(
        &self,
        org_id: OrgId,
        facts: Vec<ReceivedFact>,
        now_ms: i64,
    ) -> StorageResult<Vec<FactInsert>> {
        self.write(move |tx| facts::insert(tx, org_id, facts, now_ms)).await
    }

    async fn select_facts(&self, org_id: OrgId, query: FactQuery) -> StorageResult<Vec<StoredFact>> {
        self.read(move |tx| facts::list(tx, org_id, &query)).await
    }

    async fn latest_point_before(
        &self,
        org_id: OrgId,
        rep_id: UserId,
        before_ms: i64,
    ) -> StorageResult<Option<LocationPoint>> {
        self.read(move |tx| tracks::latest_before(tx, org_id, rep_id, before_ms)).await
    }

    async fn location_points(
        &self,
        org_id: OrgId,
        rep_id: UserId,
        from_ms: i64,
        until_ms: i64,
        source: Option<PointSource>,
    ) -> StorageResult<Vec<LocationPoint>> {
        self.read(move |tx| tracks::between(tx, org_id, rep_id, (from_ms, until_ms), source)).await
    }

    async fn prune_tracks(&self, org_id: OrgId, before_ms: i64) -> StorageResult<TrackPrune> {
        self.write(move |tx| tracks::prune(tx, org_id, before_ms)).await
    }

    async fn orgs(&self) -> StorageResult<Vec<Org>> {
        self.read(orgs::all).await
    }

    async fn put_record(
        &self,
        org_id: OrgId,
        record: Record,
        audience: Option<UserId>,
    ) -> StorageResult<u64> {
        self.write(move |tx| feed::put_record(tx, org_id, &record, audience)).await
    }

    async fn import_customers(
        &self,
        org_id: OrgId,
        batch: Vec<super::ImportedCustomer>,
    ) -> StorageResult<Vec<u64>> {
        self.write(move |tx| customer_codes::import(tx, org_id, &batch)).await
    }

    async fn customer_codes(
        &self,
        org_id: OrgId,
    ) -> StorageResult<std::collections::HashMap<String, fieldkit_domain::ids::CustomerId>> {
        self.read(move |tx| customer_codes::all(tx, org_id)).await
    }

    async fn update_docs(&self, org_id: OrgId, updates: Vec<DocUpdate>) -> StorageResult<Vec<DocResult>> {
        self.write(move |tx| feed::update_docs(tx, org_id, updates)).await
    }

    async fn delete_record(&self, org_id: OrgId, kind: RecordKind, id: Uuid) -> StorageResult<Option<u64>> {
        self.write(move |tx| feed::delete_record(tx, org_id, kind, id)).await
    }

    async fn prune_removals(&self, org_id: OrgId, before_ms: i64) -> StorageResult<usize> {
        self.write(move |tx| feed::prune_removals(tx, org_id, before_ms)).await
    }

    async fn departments(&self, org_id: OrgId) -> StorageResult<Vec<Department>> {
        self.read(move |tx| departments::all(tx, org_id)).await
    }

    async fn save_department(&self, org_id: OrgId, department: Department) -> StorageResult<()> {
        self.write(move |tx| departments::save(tx, org_id, &department)).await
    }

    async fn update_user(&self, org_id: OrgId, id: UserId, change: UserChange) -> StorageResult<User> {
        self.write(move |tx| orgs::update_user(tx, org_id, id, change)).await
    }

    async fn blob(&self, org_id: OrgId, sha256: &str) -> StorageResult<Option<BlobStatus>> {
        let sha256 = sha256.to_owned();
        self.read(move |tx| blobs::get(tx, org_id, &sha256)).await
    }

    async fn save_blob(&self, org_id: OrgId, status: BlobStatus) -> StorageResult<()> {
        self.write(move |tx| blobs::save(tx, org_id, &status)).await
    }

    async fn missing_blobs(
        &self,
        org_id: OrgId,
        authors: Option<Vec<UserId>>,
    ) -> StorageResult<Vec<MissingBlob>> {
        self.read(move |tx| blobs::missing(tx, org_id, authors.as_deref())).await
    }

    async fn complete_blob(&self, org_id: OrgId, status: BlobStatus) -> StorageResult<usize> {
        self.write(move |tx| {
            blobs::save(tx, org_id, &status)?;
            photos::check_bytes(tx, &org_id.to_string(), &status.sha256, status.size, None, crate::now_ms())
        })
        .await
    }

    async fn register_device_key(&self, org_id: OrgId, key: NewDeviceKey) -> StorageResult<KeyRegistration> {
        self.write(move |tx| photos::register_key(tx, org_id, &key)).await
    }

    async fn device_key(&self, org_id: OrgId, device_id: DeviceId) -> StorageResult<Option<DeviceKey>> {
        self.read(move |tx| photos::device_key(tx, org_id, device_id)).await
    }

    async fn receipt_seen(&self, org_id: OrgId, receipt_hash: Sha256Hash) -> StorageResult<bool> {
        self.read(move |tx| photos::receipt_seen(tx, org_id, receipt_hash)).await
    }

    async fn photo_hashes(&self, org_id: OrgId) -> StorageResult<Vec<PhotoHash>> {
        self.read(move |tx| photos::hashes(tx, org_id)).await
    }

    async fn photos(&self, org_id: OrgId, query: PhotoQuery) -> StorageResult<Vec<StoredPhoto>> {
        self.read(move |tx| photos::list(tx, org_id, &query)).await
    }

    async fn doc(&self, org_id: OrgId, kind: RecordKind, id: Uuid) -> StorageResult<Option<StoredDoc>> {
        self.read(move |tx| feed::doc(tx, org_id, kind, id)).await
    }

    async fn record(&self, org_id: OrgId, kind: RecordKind, id: Uuid) -> StorageResult<Option<StoredRecord>> {
        self.read(move |tx| feed::record(tx, org_id, kind, id)).await
    }

    async fn records(&self, org_id: OrgId, kind: RecordKind) -> StorageResult<Vec<StoredRecord>> {
        self.read(move |tx| feed::records(tx, org_id, kind)).await
    }

    async fn feed(
        &self,
        org_id: OrgId,
        reader: FeedReader,
        device: Option<DeviceId>,
        cursor: u64,
        limit: u32,
    ) -> StorageResult<FeedPage> {
        self.read(move |tx| feed::page(tx, org_id, reader, device, cursor, limit)).await
    }

    async fn plan_entries(
        &self,
        org_id: OrgId,
        from: fieldkit_domain::geo::CivilDate,
        to: fieldkit_domain::geo::CivilDate,
    ) -> StorageResult<Vec<super::PlanEntry>> {
        self.read(move |tx| visit_plans::entries(tx, org_id, from, to)).await
    }

    async fn add_plan_entries(
        &self,
        org_id: OrgId,
        entries: Vec<super::NewPlanEntry>,
        now_ms: i64,
    ) -> StorageResult<Vec<bool>> {
        self.write(move |tx| visit_plans::add(tx, org_id, entries, now_ms)).await
    }

    async fn last_check_ins(
        &self,
        org_id: OrgId,
        before_ms: i64,
    ) -> StorageResult<std::collections::HashMap<fieldkit_domain::ids::CustomerId, i64>> {
        self.read(move |tx| visit_plans::last_check_ins(tx, org_id, before_ms)).await
    }

    async fn proposal_decisions(&self, org_id: OrgId) -> StorageResult<Vec<super::ProposalDecision>> {
        self.read(move |tx| proposals::all(tx, org_id)).await
    }

    async fn put_approval_flow(
        &self,
        org_id: OrgId,
        flow: fieldkit_domain::approval::ApprovalFlow,
        now_ms: i64,
    ) -> StorageResult<fieldkit_domain::approval::ApprovalFlow> {
        self.write(move |tx| approval_flows::put(tx, org_id, &flow, now_ms)).await
    }

    async fn put_task_flow(
        &self,
        org_id: OrgId,
        flow: fieldkit_domain::approval::TaskFlow,
        now_ms: i64,
    ) -> StorageResult<fieldkit_domain::approval::TaskFlow> {
        self.write(move |tx| approval_flows::put_task_flow(tx, org_id, &flow, now_ms)).await
    }

    async fn approval_flows(
        &self,
        org_id: OrgId,
    ) -> StorageResult<Vec<fieldkit_domain::approval::ApprovalFlow>> {
        self.read(move |tx| approval_flows::current(tx, org_id)).await
    }

    async fn approval_flow(
        &self,
        org_id: OrgId,
        kind: fieldkit_domain::approval::ApprovalKind,
        version: u32,
    ) -> StorageResult<Option<fieldkit_domain::approval::ApprovalFlow>> {
        self.read(move |tx| approval_flows::get(tx, org_id, kind, version)).await
    }

    async fn decide_proposal(
        &self,
        org_id: OrgId,
        decision: super::ProposalDecision,
        customer: Option<fieldkit_domain::model::Customer>,
    ) -> StorageResult<super::DecisionOutcome> {
        self.write(move |tx| proposals::decide(tx, org_id, &decision, customer.as_ref())).await
    }

    async fn assigned_tasks(
        &self,
        org_id: OrgId,
        assignees: Vec<UserId>,
    ) -> StorageResult<Vec<fieldkit_domain::model::Task>> {
        self.read(move |tx| assign::assigned_tasks(tx, org_id, &assignees)).await
    }

    async fn fact_mark(&self, org_id: OrgId, from_ms: i64, until_ms: i64) -> StorageResult<super::FactMark> {
        self.read(move |tx| snapshots::mark(tx, org_id, from_ms, until_ms)).await
    }

    async fn fact_changes(
        &self,
        org_id: OrgId,
        after_seq: u64,
        offset_minutes: i32,
    ) -> StorageResult<super::FactChanges> {
        self.read(move |tx| snapshots::changes(tx, org_id, after_seq, offset_minutes)).await
    }

    async fn summary_cursor(&self, org_id: OrgId) -> StorageResult<u64> {
        self.read(move |tx| snapshots::cursor(tx, org_id)).await
    }

    async fn set_summary_cursor(&self, org_id: OrgId, fact_seq: u64, now_ms: i64) -> StorageResult<()> {
        self.write(move |tx| snapshots::set_cursor(tx, org_id, fact_seq, now_ms)).await
    }

    async fn put_report_snapshots(
        &self,
        org_id: OrgId,
        snapshots: Vec<super::ReportSnapshot>,
    ) -> StorageResult<()> {
        self.write(move |tx| snapshots::put(tx, org_id, snapshots)).await
    }

    async fn report_snapshots(
        &self,
        org_id: OrgId,
        period: super::SnapshotPeriod,
        from: fieldkit_domain::geo::CivilDate,
        to: fieldkit_domain::geo::CivilDate,
    ) -> StorageResult<Vec<super::ReportSnapshot>> {
        self.read(move |tx| snapshots::list(tx, org_id, period, from, to)).await
    }
}

#[cfg(test)]
mod tests;
