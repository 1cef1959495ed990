//! The PostgreSQL backend: several server instances over one database, through a pool.
//!
//! Every write runs in a READ COMMITTED transaction that first locks its org's row
//! (`SELECT … FOR UPDATE`), so writes to one org are serialised across all instances, as the
//! SQLite backend's single writer serialises them in one process: the org sequence bumped
//! inside a write is therefore assigned in commit order, and the checks a write makes before
//! inserting (is this fact already stored? is this flow version new?) cannot race another
//! instance. Writes to different orgs run in parallel. Every read runs in one REPEATABLE READ,
//! read-only snapshot, so a feed page and its cursor agree.
//!
//! The module functions mirror the SQLite backend's one for one (same names, same
//! arguments), with the SQL in PostgreSQL's dialect.

mod approval_flows;
mod assign;
mod audit;
mod blobs;
mod customer_codes;
mod departments;
mod devices;
mod facts;
mod feed;
mod migrations;
mod orgs;
mod photos;
mod proposals;
mod signals;
mod snapshots;
mod tracks;
mod visit_plans;

use std::str::FromStr;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use fieldkit_domain::ids::{DeviceId, OrgId, UserId};
use fieldkit_domain::model::{Department, Org, User};
use fieldkit_domain::protocol::{BlobStatus, MissingBlob, Record, RecordKind};
use fieldkit_domain::signing::Sha256Hash;
use tokio_postgres::IsolationLevel;
use uuid::Uuid;

use crate::audit::{AuditEntry, NewAuditEntry};

use super::{
    DeviceKey, DocResult, DocUpdate, FactInsert, FactQuery, FeedPage, FeedReader, KeyRegistration,
    LocationPoint, NewDeviceKey, NewToken, NewUser, PhotoHash, PhotoQuery, PointSource, ReceivedFact,
    Storage, StorageError, StorageResult, StoredDoc, StoredFact, StoredPhoto, StoredRecord, TrackPrune,
    UserChange,
};

/// The transaction every module function runs in.
type Tx<'a> = deadpool_postgres::Transaction<'a>;

/// Storage in a PostgreSQL database, shared by any number of server instances.
#[derive(Clone)]
pub struct PgStorage {
    pool: Pool,
    signals: tokio::sync::broadcast::Sender<OrgId>,
    _listener: std::sync::Arc<signals::ListenerGuard>,
}

impl PgStorage {
    /// Connects to the database at `url` (a libpq URL or key=value string) with a pool of at
    /// most `max_connections`, and brings its schema up to date (one instance at a time: the
    /// migration holds an advisory lock).
    pub async fn connect(url: &str, max_connections: usize) -> StorageResult<Self> {
        Self::connect_with(tokio_postgres::Config::from_str(url)?, max_connections).await
    }

    /// As [`PgStorage::connect`], with parsed connection settings.
    pub async fn connect_with(config: tokio_postgres::Config, max_connections: usize) -> StorageResult<Self> {
        let manager = Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .build()
            .map_err(|e| StorageError::Pool(e.to_string()))?;
        let (signals, _) = tokio::sync::broadcast::channel(1024);
        let listener = signals::listen(config, signals.clone());
        let storage = Self { pool, signals, _listener: listener };
        let mut client = storage.client().await?;
        migrations::to_latest(&mut client).await?;
        Ok(storage)
    }

    /// Creates the database `name` on the server at `server_url` if it does not exist, and
    /// returns the connection settings of `server_url` pointing at it. For tests and first
    /// set-up; `name` must be a plain identifier (letters, digits, `_`).
    pub async fn ensure_database(server_url: &str, name: &str) -> StorageResult<tokio_postgres::Config> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StorageError::Refused(format!("database name {name:?} is not a plain identifier")));
        }
        let config = tokio_postgres::Config::from_str(server_url)?;
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(connection);
        let exists =
            client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?.is_some();
        if !exists {
            match client.batch_execute(&format!("CREATE DATABASE {name}")).await {
                // Another process created it first.
                Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
                other => other?,
            }
        }
        drop(client);
        let _ = driver.await;
        let mut database = config;
        database.dbname(name);
        Ok(database)
    }

    async fn client(&self) -> StorageResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => StorageError::Postgres(e),
            other => StorageError::Pool(other.to_string()),
        })
    }
}

/// Runs `$call` (a future using `$tx: &Tx`) in a write transaction that holds the lock of
/// the org `$org` (an `Option<OrgId>`: `None` for writes that belong to no org yet).
macro_rules! write_in {
    ($self:ident, $org:expr, |$tx:ident| $call:expr) => {{
        let mut client = $self.client().await?;
        let owned = client.transaction().await?;
        if let Some(org) = $org {
            lock_org(&owned, org).await?;
        }
        let out = {
            let $tx = &owned;
            $call.await?
        };
        owned.commit().await?;
        Ok(out)
    }};
}

/// Runs `$call` (a future using `$tx: &Tx`) in one read-only snapshot.
macro_rules! read_in {
    ($self:ident, |$tx:ident| $call:expr) => {{
        let mut client = $self.client().await?;
        let owned = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let out = {
            let $tx = &owned;
            $call.await?
        };
        owned.commit().await?;
        Ok(out)
    }};
}

/// Locks the org's row until the transaction ends: the one lock every write takes first.
async fn lock_org(tx: &Tx<'_>, org_id: OrgId) -> StorageResult<()> {
    let statement = tx.prepare_cached("SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE").await?;
    tx.query_opt(&statement, &[&org_id.to_string()]).await?;
    Ok(())
}

/// Reads a UUID stored as text.
fn uuid_col(row: &tokio_postgres::Row, idx: usize) -> StorageResult<Uuid> {
    let text: String = row.try_get(idx)?;
    Uuid::parse_str(&text).map_err(|_| StorageError::Unreadable(format!("id {text:?}")))
}

/// Bumps the org's sequence and returns the new value. Must run inside a write transaction.
/// Every instance's listeners hear of it once the transaction commits (see `signals`).
async fn next_seq(tx: &Tx<'_>, org_id: OrgId) -> StorageResult<u64> {
    let statement = tx
        .prepare_cached(
            "WITH bumped AS (UPDATE orgs SET last_seq = last_seq + 1 WHERE id = $1 RETURNING id, last_seq)
             SELECT last_seq, pg_notify('fieldkit_feed', id)::text FROM bumped",
        )
        .await?;
    let row = tx
        .query_opt(&statement, &[&org_id.to_string()])
        .await?
        .ok_or_else(|| StorageError::NotFound(format!("org {org_id}")))?;
    let seq: i64 = row.try_get(0)?;
    Ok(u64::try_from(seq).expect("sequence numbers start at 1 and only grow"))
}

#[async_trait]
impl Storage for PgStorage {
    async fn feed_seq(&self, org_id: OrgId) -> StorageResult<u64> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT last_seq FROM orgs WHERE id = $1", &[&org_id.to_string()])
            .await?
            .ok_or_else(|| StorageError::NotFound(format!("org {org_id}")))?;
        Ok(u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0))
    }

    fn feed_signals(&self) -> tokio::sync::broadcast::Receiver<OrgId> {
        self.signals.subscribe()
    }

    async fn create_org(&self, slug: &str, name: &str) -> StorageResult<Org> {
        let (slug, name) = (slug.to_owned(), name.to_owned());
        write_in!(self, None, |tx| orgs::create_org(tx, &slug, &name))
    }

    async fn org_by_slug(&self, slug: &str) -> StorageResult<Option<Org>> {
        let slug = slug.to_owned();
        read_in!(self, |tx| orgs::org_by_slug(tx, &slug))
    }

    async fn create_user(&self, user: NewUser) -> StorageResult<User> {
        write_in!(self, Some(user.org_id), |tx| orgs::create_user(tx, user))
    }

    async fn user(&self, org_id: OrgId, id: UserId) -> StorageResult<Option<User>> {
        read_in!(self, |tx| orgs::user(tx, org_id, id))
    }

    async fn users(&self, org_id: OrgId) -> StorageResult<Vec<User>> {
        read_in!(self, |tx| orgs::users(tx, org_id))
    }

    async fn credentials(&self, org_slug: &str, username: &str) -> StorageResult<Option<(User, String)>> {
        let (org_slug, username) = (org_slug.to_owned(), username.to_owned());
        read_in!(self, |tx| orgs::credentials(tx, &org_slug, &username))
    }

    async fn store_token(&self, token: NewToken) -> StorageResult<()> {
        write_in!(self, None, |tx| orgs::store_token(tx, token))
    }

    async fn user_by_token(&self, token_sha256: &str, now_ms: i64) -> StorageResult<Option<User>> {
        let hash = token_sha256.to_owned();
        read_in!(self, |tx| orgs::user_by_token(tx, &hash, now_ms))
    }

    async fn token_device(&self, token_sha256: &str) -> StorageResult<Option<DeviceId>> {
        let hash = token_sha256.to_owned();
        read_in!(self, |tx| devices::token_device(tx, &hash))
    }

    async fn refresh_token(&self, old_sha256: &str, new: NewToken, now_ms: i64) -> StorageResult<bool> {
        let old = old_sha256.to_owned();
        write_in!(self, None, |tx| orgs::refresh_token(tx, &old, new, now_ms))
    }

    async fn revoke_device(
        &self,
        org_id: OrgId,
        device_id: DeviceId,
        revoked_ms: i64,
        revoked_by: UserId,
    ) -> StorageResult<Option<i64>> {
        write_in!(self, Some(org_id), |tx| devices::revoke(tx, org_id, device_id, revoked_ms, revoked_by))
    }

    async fn device_revocation(&self, org_id: OrgId, device_id: DeviceId) -> StorageResult<Option<i64>> {
        read_in!(self, |tx| devices::revocation(tx, org_id, device_id))
    }

    async fn append_audit(&self, org_id: OrgId, entry: NewAuditEntry) -> StorageResult<u64> {
        write_in!(self, Some(org_id), |tx| audit::append(tx, org_id, &entry))
    }

    async fn audit_log(
        &self,
        org_id: OrgId,
        before_seq: Option<u64>,
        limit: u32,
    ) -> StorageResult<Vec<AuditEntry>> {
        read_in!(self, |tx| audit::log(tx, org_id, before_seq, limit))
    }

    async fn store_facts(
        &self,
        org_id: OrgId,
        facts: Vec<ReceivedFact>,
        now_ms: i64,
    ) -> StorageResult<Vec<FactInsert>> {
        write_in!(self, Some(org_id), |tx| facts::insert(tx, org_id, facts, now_ms))
    }

    async fn select_facts(&self, org_id: OrgId, query: FactQuery) -> StorageResult<Vec<StoredFact>> {
        read_in!(self, |tx| facts::list(tx, org_id, &query))
    }

    async fn latest_point_before(
        &self,
        org_id: OrgId,
        rep_id: UserId,
        before_ms: i64,
    ) -> StorageResult<Option<LocationPoint>> {
        read_in!(self, |tx| tracks::latest_before(tx, org_id, rep_id, before_ms))
    }

    async fn location_points(
        &self,
        org_id: OrgId,
        rep_id: UserId,
        from_ms: i64,
        until_ms: i64,
        source: Option<PointSource>,
    ) -> StorageResult<Vec<LocationPoint>> {
        read_in!(self, |tx| tracks::between(tx, org_id, rep_id, (from_ms, until_ms), source))
    }

    async fn prune_tracks(&self, org_id: OrgId, before_ms: i64) -> StorageResult<TrackPrune> {
        write_in!(self, Some(org_id), |tx| tracks::prune(tx, org_id, before_ms))
    }

    async fn orgs(&self) -> StorageResult<Vec<Org>> {
        read_in!(self, |tx| orgs::all(tx))
    }

    async fn put_record(
        &self,
        org_id: OrgId,
        record: Record,
        audience: Option<UserId>,
    ) -> StorageResult<u64> {
        write_in!(self, Some(org_id), |tx| feed::put_record(tx, org_id, &record, audience))
    }

    async fn import_customers(
        &self,
        org_id: OrgId,
        batch: Vec<super::ImportedCustomer>,
    ) -> StorageResult<Vec<u64>> {
        write_in!(self, Some(org_id), |tx| customer_codes::import(tx, org_id, &batch))
    }

    async fn customer_codes(
        &self,
        org_id: OrgId,
    ) -> StorageResult<std::collections::HashMap<String, fieldkit_domain::ids::CustomerId>> {
        read_in!(self, |tx| customer_codes::all(tx, org_id))
    }

    async fn update_docs(&self, org_id: OrgId, updates: Vec<DocUpdate>) -> StorageResult<Vec<DocResult>> {
        write_in!(self, Some(org_id), |tx| feed::update_docs(tx, org_id, updates))
    }

    async fn delete_record(&self, org_id: OrgId, kind: RecordKind, id: Uuid) -> StorageResult<Option<u64>> {
        write_in!(self, Some(org_id), |tx| feed::delete_record(tx, org_id, kind, id))
    }

    async fn prune_removals(&self, org_id: OrgId, before_ms: i64) -> StorageResult<usize> {
        write_in!(self, Some(org_id), |tx| feed::prune_removals(tx, org_id, before_ms))
    }

    async fn departments(&self, org_id: OrgId) -> StorageResult<Vec<Department>> {
        read_in!(self, |tx| departments::all(tx, org_id))
    }

    async fn save_department(&self, org_id: OrgId, department: Department) -> StorageResult<()> {
        write_in!(self, Some(org_id), |tx| departments::save(tx, org_id, &department))
    }

    async fn update_user(&self, org_id: OrgId, id: UserId, change: UserChange) -> StorageResult<User> {
        write_in!(self, Some(org_id), |tx| orgs::update_user(tx, org_id, id, change))
    }

    async fn blob(&self, org_id: OrgId, sha256: &str) -> StorageResult<Option<BlobStatus>> {
        let sha256 = sha256.to_owned();
        read_in!(self, |tx| blobs::get(tx, org_id, &sha256))
    }

    async fn save_blob(&self, org_id: OrgId, status: BlobStatus) -> StorageResult<()> {
        write_in!(self, Some(org_id), |tx| blobs::save(tx, org_id, &status))
    }

    async fn missing_blobs(
        &self,
        org_id: OrgId,
        authors: Option<Vec<UserId>>,
    ) -> StorageResult<Vec<MissingBlob>> {
        read_in!(self, |tx| blobs::missing(tx, org_id, authors.as_deref()))
    }

    async fn complete_blob(&self, org_id: OrgId, status: BlobStatus) -> StorageResult<usize> {
        write_in!(self, Some(org_id), |tx| async {
            blobs::save(tx, org_id, &status).await?;
            photos::check_bytes(tx, &org_id.to_string(), &status.sha256, status.size, None, crate::now_ms())
                .await
        })
    }

    async fn register_device_key(&self, org_id: OrgId, key: NewDeviceKey) -> StorageResult<KeyRegistration> {
        write_in!(self, Some(org_id), |tx| photos::register_key(tx, org_id, &key))
    }

    async fn device_key(&self, org_id: OrgId, device_id: DeviceId) -> StorageResult<Option<DeviceKey>> {
        read_in!(self, |tx| photos::device_key(tx, org_id, device_id))
    }

    async fn receipt_seen(&self, org_id: OrgId, receipt_hash: Sha256Hash) -> StorageResult<bool> {
        read_in!(self, |tx| photos::receipt_seen(tx, org_id, receipt_hash))
    }

    async fn photo_hashes(&self, org_id: OrgId) -> StorageResult<Vec<PhotoHash>> {
        read_in!(self, |tx| photos::hashes(tx, org_id))
    }

    async fn photos(&self, org_id: OrgId, query: PhotoQuery) -> StorageResult<Vec<StoredPhoto>> {
        read_in!(self, |tx| photos::list(tx, org_id, &query))
    }

    async fn doc(&self, org_id: OrgId, kind: RecordKind, id: Uuid) -> StorageResult<Option<StoredDoc>> {
        read_in!(self, |tx| feed::doc(tx, org_id, kind, id))
    }

    async fn record(&self, org_id: OrgId, kind: RecordKind, id: Uuid) -> StorageResult<Option<StoredRecord>> {
        read_in!(self, |tx| feed::record(tx, org_id, kind, id))
    }

    async fn records(&self, org_id: OrgId, kind: RecordKind) -> StorageResult<Vec<StoredRecord>> {
        read_in!(self, |tx| feed::records(tx, org_id, kind))
    }

    async fn feed(
        &self,
        org_id: OrgId,
        reader: FeedReader,
        device: Option<DeviceId>,
        cursor: u64,
        limit: u32,
    ) -> StorageResult<FeedPage> {
        read_in!(self, |tx| feed::page(tx, org_id, reader, device, cursor, limit))
    }

    async fn plan_entries(
        &self,
        org_id: OrgId,
        from: fieldkit_domain::geo::CivilDate,
        to: fieldkit_domain::geo::CivilDate,
    ) -> StorageResult<Vec<super::PlanEntry>> {
        read_in!(self, |tx| visit_plans::entries(tx, org_id, from, to))
    }

    async fn add_plan_entries(
        &self,
        org_id: OrgId,
        entries: Vec<super::NewPlanEntry>,
        now_ms: i64,
    ) -> StorageResult<Vec<bool>> {
        write_in!(self, Some(org_id), |tx| visit_plans::add(tx, org_id, entries, now_ms))
    }

    async fn last_check_ins(
        &self,
        org_id: OrgId,
        before_ms: i64,
    ) -> StorageResult<std::collections::HashMap<fieldkit_domain::ids::CustomerId, i64>> {
        read_in!(self, |tx| visit_plans::last_check_ins(tx, org_id, before_ms))
    }

    async fn proposal_decisions(&self, org_id: OrgId) -> StorageResult<Vec<super::ProposalDecision>> {
        read_in!(self, |tx| proposals::all(tx, org_id))
    }

    async fn put_approval_flow(
        &self,
        org_id: OrgId,
        flow: fieldkit_domain::approval::ApprovalFlow,
        now_ms: i64,
    ) -> StorageResult<fieldkit_domain::approval::ApprovalFlow> {
        write_in!(self, Some(org_id), |tx| approval_flows::put(tx, org_id, &flow, now_ms))
    }

    async fn put_task_flow(
        &self,
        org_id: OrgId,
        flow: fieldkit_domain::approval::TaskFlow,
        now_ms: i64,
    ) -> StorageResult<fieldkit_domain::approval::TaskFlow> {
        write_in!(self, Some(org_id), |tx| approval_flows::put_task_flow(tx, org_id, &flow, now_ms))
    }

    async fn approval_flows(
        &self,
        org_id: OrgId,
    ) -> StorageResult<Vec<fieldkit_domain::approval::ApprovalFlow>> {
        read_in!(self, |tx| approval_flows::current(tx, org_id))
    }

    async fn approval_flow(
        &self,
        org_id: OrgId,
        kind: fieldkit_domain::approval::ApprovalKind,
        version: u32,
    ) -> StorageResult<Option<fieldkit_domain::approval::ApprovalFlow>> {
        read_in!(self, |tx| approval_flows::get(tx, org_id, kind, version))
    }

    async fn decide_proposal(
        &self,
        org_id: OrgId,
        decision: super::ProposalDecision,
        customer: Option<fieldkit_domain::model::Customer>,
    ) -> StorageResult<super::DecisionOutcome> {
        write_in!(self, Some(org_id), |tx| proposals::decide(tx, org_id, &decision, customer.as_ref()))
    }

    async fn assigned_tasks(
        &self,
        org_id: OrgId,
        assignees: Vec<UserId>,
    ) -> StorageResult<Vec<fieldkit_domain::model::Task>> {
        read_in!(self, |tx| assign::assigned_tasks(tx, org_id, &assignees))
    }

    async fn fact_mark(&self, org_id: OrgId, from_ms: i64, until_ms: i64) -> StorageResult<super::FactMark> {
        read_in!(self, |tx| snapshots::mark(tx, org_id, from_ms, until_ms))
    }

    async fn fact_changes(
        &self,
        org_id: OrgId,
        after_seq: u64,
        offset_minutes: i32,
    ) -> StorageResult<super::FactChanges> {
        read_in!(self, |tx| snapshots::changes(tx, org_id, after_seq, offset_minutes))
    }

    async fn summary_cursor(&self, org_id: OrgId) -> StorageResult<u64> {
        read_in!(self, |tx| snapshots::cursor(tx, org_id))
    }

    async fn set_summary_cursor(&self, org_id: OrgId, fact_seq: u64, now_ms: i64) -> StorageResult<()> {
        write_in!(self, Some(org_id), |tx| snapshots::set_cursor(tx, org_id, fact_seq, now_ms))
    }

    async fn put_report_snapshots(
        &self,
        org_id: OrgId,
        snapshots: Vec<super::ReportSnapshot>,
    ) -> StorageResult<()> {
        write_in!(self, Some(org_id), |tx| snapshots::put(tx, org_id, snapshots))
    }

    async fn report_snapshots(
        &self,
        org_id: OrgId,
        period: super::SnapshotPeriod,
        from: fieldkit_domain::geo::CivilDate,
        to: fieldkit_domain::geo::CivilDate,
    ) -> StorageResult<Vec<super::ReportSnapshot>> {
        read_in!(self, |tx| snapshots::list(tx, org_id, period, from, to))
    }
}

#[cfg(test)]
mod tests;
