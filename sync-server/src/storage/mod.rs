//! Where the server keeps its data: the [`Storage`] trait and its backends.
//!
//! Routes speak only to the trait. The embedded SQLite backend is the default (one binary,
//! one file); the PostgreSQL backend serves several server instances over one database.
//! Every accepted change gets the org's next sequence number inside the transaction that
//! stores it, and writers to one org are serialised (SQLite: one writer; PostgreSQL: a lock on
//! the org's row taken first in every write), so sequence order is commit order: a reader
//! that has seen sequence N has seen every change up to N.

mod customer_codes;
mod postgres;
mod proposals;
mod snapshots;
mod sqlite;
mod values;
mod visit_plans;

use async_trait::async_trait;
use fieldkit_domain::checkin::CheckInAssessment;
use fieldkit_domain::clock::EventTime;
use fieldkit_domain::ids::{CustomerId, DeviceId, FactId, OrgId, TeamId, UserId, VisitId};
use fieldkit_domain::model::{
    Customer, DataScope, Department, LocationFix, Org, OrgSettings, Role, TrackPoint, User,
};
use fieldkit_domain::protocol::{BlobStatus, FeedEntry, MissingBlob, PushOutcome, Record, RecordKind};
use fieldkit_domain::signing::{DevicePublicKey, KeyId, PerceptualHash, Sha256Hash, VerifyFailure};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use customer_codes::ImportedCustomer;
pub use postgres::PgStorage;
pub use proposals::{DecisionOutcome, DecisionStatus, ProposalDecision};
pub use snapshots::{FactChanges, FactMark, ReportSnapshot, SnapshotPeriod};
pub use sqlite::SqliteStorage;
pub use visit_plans::{NewPlanEntry, PlanEntry};

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A unique value (org slug, username) is taken.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// A referenced row does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// A stored body no longer parses (a bug or a hand-edited database).
    #[error("stored {what} does not parse: {source}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A stored value no longer reads as its type (a bug or a hand-edited database).
    #[error("stored {0} does not read")]
    Unreadable(String),
    /// The change would break a rule of the data (e.g. a department moved under itself).
    #[error("{0}")]
    Refused(String),
    /// The blocking worker running the query died.
    #[error("storage worker failed: {0}")]
    Worker(String),
    /// PostgreSQL failed (connection, query or constraint).
    #[error("postgres error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be taken from the pool.
    #[error("postgres pool: {0}")]
    Pool(String),
}

/// Result of storage calls.
pub type StorageResult<T> = Result<T, StorageError>;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The org.
    pub org_id: OrgId,
    /// Login name, unique within the org.
    pub username: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Team, if any.
    pub team_id: Option<TeamId>,
    /// Reach of the user's reads when not their role's default.
    pub data_scope: Option<DataScope>,
    /// The argon2id PHC string of the password.
    pub password_hash: String,
}

/// What to change about a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New department (`Some(None)`: none).
    pub team_id: Option<Option<TeamId>>,
    /// New data scope (`Some(None)`: back to the role's default).
    pub data_scope: Option<Option<DataScope>>,
}

/// A bearer token to remember (only its hash is stored).
#[derive(Debug, Clone)]
pub struct NewToken {
    /// SHA-256 of the token, lower-case hex.
    pub token_sha256: String,
    /// Whose token it is.
    pub user_id: UserId,
    /// The installation it was issued to.
    pub device_id: Uuid,
    /// When it stops working, Unix milliseconds.
    pub expires_at_ms: i64,
}

/// A fact to add to the org's grow-only set, already validated and canonically encoded.
#[derive(Debug, Clone)]
pub struct NewFact {
    /// The fact's id.
    pub id: FactId,
    /// The fact's kind (`check_in`, …).
    pub kind: &'static str,
    /// The author.
    pub rep_id: UserId,
    /// Canonical JSON of the fact as stored (a track batch without the points already past
    /// the org's retention when it arrived).
    pub body: String,
    /// SHA-256 of the fact as pushed, lower-case hex: it identifies the fact, so the same
    /// fact pushed again matches even when the stored body lost points past retention.
    pub body_sha256: String,
    /// Device clock minus the device's server-time estimate at the event. For an event made
    /// before the device ever measured server time: how far its device time is ahead of the
    /// server's receipt, a lower bound of the skew (`None` when it is not ahead: an old event
    /// from a phone that was offline says nothing about its clock).
    pub clock_skew_ms: Option<i64>,
}

/// Where a location point stored beside the facts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointSource {
    /// A point of a track batch.
    Track,
    /// The fix of a check-in.
    CheckIn,
    /// The fix of a check-out.
    CheckOut,
}

impl PointSource {
    /// The stable text form used in storage.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PointSource::Track => "track",
            PointSource::CheckIn => "check_in",
            PointSource::CheckOut => "check_out",
        }
    }

    /// Parses the text form produced by [`PointSource::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [PointSource::Track, PointSource::CheckIn, PointSource::CheckOut]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// A location point of a rep, kept beside the fact it came from (for the speed check of
/// later check-ins and for day reports) until the org's track retention runs out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocationPoint {
    /// Where, when, how accurate (device Unix milliseconds).
    pub point: TrackPoint,
    /// What kind of fact it came from.
    pub source: PointSource,
    /// The fact it came from.
    pub fact_id: FactId,
}

/// The server's own verdict on a check-in or check-out, kept beside the fact: the
/// assessment (JSON of [`CheckInAssessment`]) or why there is none
/// (`{"unjudged": "customer … not found"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServerAssessment {
    /// Judged with the same code as the phone.
    Judged(CheckInAssessment),
    /// Could not be judged; the fact is kept all the same.
    Unjudged {
        /// Why (lower-case, no personal data).
        unjudged: String,
    },
}

/// A fact with what the server derived from it on receipt, for [`Storage::store_facts`].
#[derive(Debug, Clone)]
pub struct ReceivedFact {
    /// The fact.
    pub fact: NewFact,
    /// Whether the device clock disagreed with the server-time estimate by more than the
    /// org's settings allow (`check_in.max_clock_skew_ms`).
    pub clock_flagged: bool,
    /// When it happened, device Unix milliseconds (a track batch: its latest point).
    pub event_ms: Option<i64>,
    /// The server's verdict (check-ins and check-outs only).
    pub server_assessment: Option<ServerAssessment>,
    /// The location points it carries that are still within retention, stored with it when
    /// it is new.
    pub points: Vec<LocationPoint>,
    /// The server's check of a photo fact (photos only), stored with it when it is new.
    pub photo: Option<PhotoCheck>,
}

/// A device's photo-signing key to register, from a login.
#[derive(Debug, Clone)]
pub struct NewDeviceKey {
    /// The installation.
    pub device_id: DeviceId,
    /// The user who logged in with it: only their receipts may use the key.
    pub user_id: UserId,
    /// The public key.
    pub key: DevicePublicKey,
    /// When it was registered, server Unix milliseconds.
    pub registered_ms: i64,
}

/// What [`Storage::register_device_key`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRegistration {
    /// The device had no key: this one is its first.
    New,
    /// The device already had this key (its chain goes on).
    Unchanged,
    /// The device had another key, which this one replaces (a new chain starts).
    Replaced {
        /// The key replaced.
        previous: KeyId,
    },
}

/// A device's registered photo-signing key.
#[derive(Debug, Clone)]
pub struct DeviceKey {
    /// The installation.
    pub device_id: DeviceId,
    /// The user it was registered by.
    pub user_id: UserId,
    /// The public key.
    pub key: DevicePublicKey,
    /// When it was registered, server Unix milliseconds.
    pub registered_ms: i64,
    /// The receipt hash of the last receipt verified under this key (`None`: none yet).
    pub chain_head: Option<Sha256Hash>,
}

/// The server's verdict on a photo fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoStatus {
    /// The receipt matches the record, was signed by the device's registered key, is new and
    /// follows the device's chain.
    Verified,
    /// The receipt failed a check (the reasons say which).
    Failed,
    /// The photo carries no receipt.
    Unsigned,
}

impl PhotoStatus {
    /// The stable text form used in storage and on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoStatus::Verified => "verified",
            PhotoStatus::Failed => "failed",
            PhotoStatus::Unsigned => "unsigned",
        }
    }

    /// Parses the text form produced by [`PhotoStatus::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [PhotoStatus::Verified, PhotoStatus::Failed, PhotoStatus::Unsigned]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// Why a photo failed a check: a stable snake_case code and a lower-case message naming
/// hashes and key ids, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoReason {
    /// `unsupported_version`, `unknown_device_key`, `other_device_key`, `bad_signature`,
    /// `bytes_mismatch`, `replayed`, `broken_chain` or `record_mismatch`.
    pub code: String,
    /// What was wrong.
    pub message: String,
}

impl PhotoReason {
    /// The reason for a failed [`fieldkit_domain::signing::verify`].
    #[must_use]
    pub fn of_failure(failure: &VerifyFailure) -> Self {
        Self { code: failure_code(failure).to_owned(), message: failure.to_string() }
    }

    /// The photo's bytes arrived with `found_size` bytes where the receipt says
    /// `expected_size` (the blob store already checked their SHA-256 against `sha256`).
    #[must_use]
    pub fn bytes_mismatch(sha256: &str, expected_size: u64, found_size: u64) -> Self {
        match sha256.parse::<Sha256Hash>() {
            Ok(hash) => Self::of_failure(&VerifyFailure::BytesMismatch {
                expected: hash,
                expected_size,
                found: hash,
                found_size,
            }),
            // Only an unsigned record names its blob with text that is not a SHA-256.
            Err(_) => Self {
                code: "bytes_mismatch".to_owned(),
                message: format!("photo bytes are {found_size} bytes, the record says {expected_size} bytes"),
            },
        }
    }
}

/// The stable snake_case code of a verification failure.
#[must_use]
pub fn failure_code(failure: &VerifyFailure) -> &'static str {
    match failure {
        VerifyFailure::UnsupportedVersion(_) => "unsupported_version",
        VerifyFailure::UnknownDeviceKey => "unknown_device_key",
        VerifyFailure::OtherDeviceKey { .. } => "other_device_key",
        VerifyFailure::BadSignature { .. } => "bad_signature",
        VerifyFailure::BytesMismatch { .. } => "bytes_mismatch",
        VerifyFailure::Replayed(_) => "replayed",
        VerifyFailure::BrokenChain { .. } => "broken_chain",
    }
}

/// An earlier photo of another visit that shows the same picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoReuse {
    /// The earlier photo's fact id.
    pub of_fact_id: FactId,
    /// How many of the 64 dHash bits differ.
    pub distance: u32,
}

/// What a signed photo's receipt says that the server keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPhoto {
    /// The installation that signed it.
    pub device_id: DeviceId,
    /// The key the receipt names.
    pub key_id: KeyId,
    /// The receipt's hash.
    pub receipt_hash: Sha256Hash,
    /// The code printed on the photo.
    pub verification_code: String,
    /// The picture's perceptual hash.
    pub dhash: PerceptualHash,
}

/// The server's check of a photo fact, derived before storing and stored with the fact.
/// A verified check moves its device's chain head to its receipt hash in the same
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoCheck {
    /// The visit, from the record.
    pub visit_id: Option<VisitId>,
    /// The blob's name: the record's SHA-256.
    pub sha256: String,
    /// The size the receipt signs (the record's, for an unsigned photo).
    pub size_bytes: u64,
    /// The verdict.
    pub status: PhotoStatus,
    /// Why it failed (empty unless failed).
    pub reasons: Vec<PhotoReason>,
    /// The receipt's particulars (signed photos).
    pub signed: Option<SignedPhoto>,
    /// The closest earlier photo of another visit (verified photos).
    pub reuse: Option<PhotoReuse>,
    /// The server's countersignature (verified photos).
    pub countersignature: Option<Vec<u8>>,
}

/// A verified photo's perceptual hash, for reuse detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoHash {
    /// The photo's fact id.
    pub fact_id: FactId,
    /// Its visit.
    pub visit_id: Option<VisitId>,
    /// Its dHash.
    pub dhash: PerceptualHash,
}

/// Which photos to list.
#[derive(Debug, Clone, Default)]
pub struct PhotoQuery {
    /// Only these authors (`None`: everyone in the org).
    pub rep_ids: Option<Vec<UserId>>,
    /// Only photos of this visit.
    pub visit_id: Option<VisitId>,
    /// Only photos of visits to this customer (by the visit's check-in).
    pub customer_id: Option<CustomerId>,
    /// Only photos whose bytes hash to this (lower-case hex).
    pub sha256: Option<String>,
    /// Only photos whose receipt carries this verification code.
    pub verification_code: Option<String>,
}

/// A photo fact with the server's check, as listed.
#[derive(Debug, Clone)]
pub struct StoredPhoto {
    /// The fact id.
    pub fact_id: FactId,
    /// The author.
    pub rep_id: UserId,
    /// The visit.
    pub visit_id: Option<VisitId>,
    /// The visit's customer, from its check-in (when the server has it).
    pub customer_id: Option<CustomerId>,
    /// The blob's name.
    pub sha256: String,
    /// The size the receipt signs.
    pub size_bytes: u64,
    /// When it was taken (the fact's event time).
    pub taken_at: EventTime,
    /// Where it was taken.
    pub fix: Option<LocationFix>,
    /// The code printed on it (signed photos).
    pub verification_code: Option<String>,
    /// The receipt's hash (signed photos).
    pub receipt_hash: Option<Sha256Hash>,
    /// The verdict.
    pub status: PhotoStatus,
    /// Why it failed.
    pub reasons: Vec<PhotoReason>,
    /// Its bytes arrived and have the size its receipt signs.
    pub bytes_verified: bool,
    /// The closest earlier photo of another visit.
    pub reuse: Option<PhotoReuse>,
    /// Server receive time, Unix milliseconds.
    pub received_ms: i64,
    /// The server's countersignature (verified photos).
    pub countersignature: Option<Vec<u8>>,
}

/// What became of one fact offered to [`Storage::store_facts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactInsert {
    /// Stored now at this sequence number.
    Stored(u64),
    /// The same fact was already stored: nothing changed.
    AlreadyStored,
    /// A different body is stored under this id: nothing changed.
    ConflictingBody,
}

/// A fact as stored.
#[derive(Debug, Clone)]
pub struct StoredFact {
    /// The fact's id.
    pub id: FactId,
    /// Its kind.
    pub kind: String,
    /// Its author.
    pub rep_id: UserId,
    /// Its canonical JSON.
    pub body: String,
    /// The sequence number it was stored at.
    pub seq: u64,
    /// Server receive time, Unix milliseconds.
    pub received_ms: i64,
    /// Device clock minus server-time estimate at the event, if known.
    pub clock_skew_ms: Option<i64>,
    /// Whether the device clock disagreed by more than the org's limit.
    pub clock_flagged: bool,
    /// When it happened, device Unix milliseconds (`None` for facts stored before it was
    /// recorded and never backfilled).
    pub event_ms: Option<i64>,
    /// The server's verdict, for check-ins and check-outs.
    pub server_assessment: Option<ServerAssessment>,
}

/// Which facts to list.
#[derive(Debug, Clone, Default)]
pub struct FactFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only these authors (`None`: everyone in the org).
    pub rep_ids: Option<Vec<UserId>>,
}

/// Which facts to list, with the finer criteria of reports and reviews.
#[derive(Debug, Clone, Default)]
pub struct FactQuery {
    /// Kind and authors.
    pub filter: FactFilter,
    /// `Some(true)`: only facts whose phone or server verdict is flagged or rejected;
    /// `Some(false)`: only the others.
    pub flagged: Option<bool>,
    /// Only facts that happened at or after this time, Unix milliseconds.
    pub event_from_ms: Option<i64>,
    /// Only facts that happened before this time, Unix milliseconds.
    pub event_until_ms: Option<i64>,
}

/// What [`Storage::prune_tracks`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackPrune {
    /// Location points removed.
    pub points: usize,
    /// Track facts removed.
    pub facts: usize,
}

/// Whose feed is being read.
#[derive(Debug, Clone)]
pub enum FeedReader {
    /// One user: reference data and the records addressed to them.
    Member(UserId),
    /// A user whose scope reaches others (see [`User::may_read`]): reference data and the
    /// records addressed to any of these users (the reader among them).
    Users(Vec<UserId>),
    /// A reader whose scope is the whole org: everything in it.
    Everything,
}

impl FeedReader {
    /// The reader for `user`, given the org's `users`: whose records their scope reaches.
    #[must_use]
    pub fn for_user(user: &User, users: &[User]) -> Self {
        if user.scope() == DataScope::All {
            return FeedReader::Everything;
        }
        let visible: Vec<UserId> = users.iter().filter(|u| user.may_read(u)).map(|u| u.id).collect();
        match visible.as_slice() {
            [] => FeedReader::Member(user.id),
            [only] if *only == user.id => FeedReader::Member(user.id),
            _ => FeedReader::Users(visible),
        }
    }
}

/// One page of the change feed.
#[derive(Debug, Clone)]
pub struct FeedPage {
    /// The entries, in sequence order.
    pub entries: Vec<FeedEntry>,
    /// The cursor to send next time.
    pub cursor: u64,
    /// Whether more entries wait after `cursor`.
    pub has_more: bool,
    /// The reader's cursor was older than what the server still keeps: this page starts
    /// from the beginning and the reader must drop its reference data and start over.
    pub reset: bool,
}

/// A record as stored.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// The record.
    pub record: Record,
    /// Who it is addressed to (`None`: every member).
    pub audience: Option<UserId>,
    /// Its current sequence number.
    pub seq: u64,
}

/// Decides, inside the storing transaction, what becomes of changes pushed to a shared
/// document: it gets the stored state (`None` for a new document) and answers.
pub type DocMerge = Box<dyn FnOnce(Option<&[u8]>) -> DocDecision + Send>;

/// What a [`DocMerge`] decided.
#[derive(Debug, Clone)]
pub enum DocDecision {
    /// Store this new state.
    Write {
        /// The merged automerge document.
        state: Vec<u8>,
        /// JSON of its projection.
        body: String,
        /// Who it is addressed to (`None`: every member).
        audience: Option<UserId>,
        /// The device that pushed the changes, when the merged state holds nothing that
        /// device lacks: its feed skips this state.
        held_by: Option<DeviceId>,
    },
    /// Every change was already there: nothing to store.
    Unchanged,
    /// Store nothing and answer this.
    Refuse(PushOutcome),
}

/// Changes to one shared document, for [`Storage::update_docs`].
pub struct DocUpdate {
    /// The document's kind.
    pub kind: RecordKind,
    /// The document's id.
    pub id: Uuid,
    /// The decision, taken with the stored state in hand.
    pub merge: DocMerge,
}

/// What became of one [`DocUpdate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocResult {
    /// Stored at this sequence number.
    Written(u64),
    /// Nothing to store.
    Unchanged,
    /// Refused with this answer.
    Refused(PushOutcome),
}

/// A shared document as stored.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    /// The automerge state.
    pub state: Vec<u8>,
    /// Who it is addressed to.
    pub audience: Option<UserId>,
    /// Its current sequence number.
    pub seq: u64,
}

/// The server's data. Each call is one transaction.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// The org's newest change-feed sequence number (0 before its first change).
    async fn feed_seq(&self, org_id: OrgId) -> StorageResult<u64>;
    /// Signals of committed changes: each message names an org whose feed grew, sent after
    /// the commit (on PostgreSQL, by whichever instance over the same database committed it).
    /// Signals can be missed (a lagging receiver, a lost listening connection): a waiter
    /// re-reads [`Storage::feed_seq`] after each signal and after a time-out.
    fn feed_signals(&self) -> tokio::sync::broadcast::Receiver<OrgId>;
    /// Creates an org with a unique slug.
    async fn create_org(&self, slug: &str, name: &str) -> StorageResult<Org>;
    /// Finds an org by slug.
    async fn org_by_slug(&self, slug: &str) -> StorageResult<Option<Org>>;
    /// Creates a user in an existing org.
    async fn create_user(&self, user: NewUser) -> StorageResult<User>;
    /// A user of the org by id.
    async fn user(&self, org_id: OrgId, id: UserId) -> StorageResult<Option<User>>;
    /// The users of an org.
    async fn users(&self, org_id: OrgId) -> StorageResult<Vec<User>>;
    /// A user and their password hash, by org slug and username.
    async fn credentials(&self, org_slug: &str, username: &str) -> StorageResult<Option<(User, String)>>;
    /// Remembers a token.
    async fn store_token(&self, token: NewToken) -> StorageResult<()>;
    /// The user a token belongs to, if it is known and not expired at `now_ms`.
    async fn user_by_token(&self, token_sha256: &str, now_ms: i64) -> StorageResult<Option<User>>;
    /// The device a token was issued to, if the token is known.
    async fn token_device(&self, token_sha256: &str) -> StorageResult<Option<DeviceId>>;
    /// Replaces the token `old_sha256` with `new`, in one transaction: the old token is
    /// deleted and the new one stored, but only if the old one is known, not expired at
    /// `now_ms`, was issued to `new`'s user and device, and that device is not revoked in the
    /// user's org. Answers whether it was replaced (`false`: nothing changed).
    async fn refresh_token(&self, old_sha256: &str, new: NewToken, now_ms: i64) -> StorageResult<bool>;
    /// Revokes the org's device at `revoked_ms` (by `revoked_by`) unless it was revoked
    /// before; answers the revocation time kept (the first), or `None` when no token of the
    /// org's users and no key registered in the org names the device.
    async fn revoke_device(
        &self,
        org_id: OrgId,
        device_id: DeviceId,
        revoked_ms: i64,
        revoked_by: UserId,
    ) -> StorageResult<Option<i64>>;
    /// When the org's device was revoked, if it was.
    async fn device_revocation(&self, org_id: OrgId, device_id: DeviceId) -> StorageResult<Option<i64>>;
    /// Appends one entry to the org's audit log (append-only: entries are never changed)
    /// and answers its sequence number, one above the org's previous entry's.
    async fn append_audit(&self, org_id: OrgId, entry: crate::audit::NewAuditEntry) -> StorageResult<u64>;
    /// The org's audit entries, newest first: those with a sequence number below
    /// `before_seq` (every one when `None`), at most `limit` of them.
    async fn audit_log(
        &self,
        org_id: OrgId,
        before_seq: Option<u64>,
        limit: u32,
    ) -> StorageResult<Vec<crate::audit::AuditEntry>>;
    /// Adds facts to the org's grow-only set in one transaction, in order; a fact stored now
    /// is stored with its verdict, its location points and its photo check (which moves the
    /// device's chain head when verified, and checks the bytes if the blob already arrived).
    async fn store_facts(
        &self,
        org_id: OrgId,
        facts: Vec<ReceivedFact>,
        now_ms: i64,
    ) -> StorageResult<Vec<FactInsert>>;
    /// Lists the org's facts matching `query` in sequence order.
    async fn select_facts(&self, org_id: OrgId, query: FactQuery) -> StorageResult<Vec<StoredFact>>;
    /// Lists the org's facts in sequence order.
    async fn facts(&self, org_id: OrgId, filter: FactFilter) -> StorageResult<Vec<StoredFact>> {
        self.select_facts(org_id, FactQuery { filter, ..FactQuery::default() }).await
    }
    /// The rep's latest location point strictly earlier than `before_ms`, of any source.
    async fn latest_point_before(
        &self,
        org_id: OrgId,
        rep_id: UserId,
        before_ms: i64,
    ) -> StorageResult<Option<LocationPoint>>;
    /// The rep's location points in `[from_ms, until_ms)` in time order, of one source or
    /// all.
    async fn location_points(
        &self,
        org_id: OrgId,
        rep_id: UserId,
        from_ms: i64,
        until_ms: i64,
        source: Option<PointSource>,
    ) -> StorageResult<Vec<LocationPoint>>;
    /// Deletes the org's location points taken before `before_ms` and its track facts whose
    /// latest point is before it.
    async fn prune_tracks(&self, org_id: OrgId, before_ms: i64) -> StorageResult<TrackPrune>;
    /// Every org.
    async fn orgs(&self) -> StorageResult<Vec<Org>>;
    /// The org's settings as stored, or the defaults when none are.
    async fn org_settings(&self, org_id: OrgId) -> StorageResult<OrgSettings> {
        Ok(match self.record(org_id, RecordKind::OrgSettings, OrgSettings::RECORD_ID).await? {
            Some(StoredRecord { record: Record::OrgSettings(settings), .. }) => settings,
            _ => OrgSettings::default(),
        })
    }
    /// The org's customers.
    async fn customers(&self, org_id: OrgId) -> StorageResult<Vec<Customer>> {
        Ok(self
            .records(org_id, RecordKind::Customer)
            .await?
            .into_iter()
            .filter_map(|r| match r.record {
                Record::Customer(c) => Some(c),
                _ => None,
            })
            .collect())
    }
    /// Creates or replaces a record, addressed to `audience` (`None`: every member). If the
    /// record was addressed to someone else before, they receive a removal. Returns the
    /// record's new sequence number.
    async fn put_record(&self, org_id: OrgId, record: Record, audience: Option<UserId>)
    -> StorageResult<u64>;
    /// Creates or replaces many customers in ONE transaction, each as [`Storage::put_record`]
    /// would (addressed to its owner), remembering each one's external code: the whole batch
    /// is stored or, if any write fails, nothing is. A code already held by another live
    /// customer fails the batch with [`StorageError::AlreadyExists`]. Returns the sequence
    /// numbers, in order.
    async fn import_customers(&self, org_id: OrgId, batch: Vec<ImportedCustomer>) -> StorageResult<Vec<u64>>;
    /// The org's external customer codes whose customer is live, code → customer.
    async fn customer_codes(
        &self,
        org_id: OrgId,
    ) -> StorageResult<std::collections::HashMap<String, CustomerId>>;
    /// Applies changes to shared documents in one transaction, in order; each decision is
    /// taken with the state stored at that moment, so concurrent pushes never overwrite
    /// each other.
    async fn update_docs(&self, org_id: OrgId, updates: Vec<DocUpdate>) -> StorageResult<Vec<DocResult>>;
    /// Deletes a record for good: its tombstone stays, so the record never comes back, and
    /// its audience receives a removal. Returns the new sequence number, `None` if absent.
    async fn delete_record(&self, org_id: OrgId, kind: RecordKind, id: Uuid) -> StorageResult<Option<u64>>;
    /// Forgets removals older than `before_ms`; phones whose cursor predates what is kept
    /// start their feed over. Returns how many were pruned.
    async fn prune_removals(&self, org_id: OrgId, before_ms: i64) -> StorageResult<usize>;
    /// Every department of the org.
    async fn departments(&self, org_id: OrgId) -> StorageResult<Vec<Department>>;
    /// Creates or updates a department; refuses a parent that is unknown or inside it.
    async fn save_department(&self, org_id: OrgId, department: Department) -> StorageResult<()>;
    /// Changes a user's name, role, department or data scope.
    async fn update_user(&self, org_id: OrgId, id: UserId, change: UserChange) -> StorageResult<User>;
    /// How far a blob of the org has arrived, if any of it has.
    async fn blob(&self, org_id: OrgId, sha256: &str) -> StorageResult<Option<BlobStatus>>;
    /// Records how far a blob has arrived.
    async fn save_blob(&self, org_id: OrgId, status: BlobStatus) -> StorageResult<()>;
    /// The blobs named by the org's photo facts (by `authors`, or anyone's with `None`) that
    /// have not fully arrived.
    async fn missing_blobs(
        &self,
        org_id: OrgId,
        authors: Option<Vec<UserId>>,
    ) -> StorageResult<Vec<MissingBlob>>;
    /// Records that a blob fully arrived and, in the same transaction, checks its size
    /// against every photo naming it (a match marks the photo's bytes verified; a mismatch
    /// fails a verified photo with `bytes_mismatch`). Returns how many photos were checked.
    async fn complete_blob(&self, org_id: OrgId, status: BlobStatus) -> StorageResult<usize>;
    /// Registers a device's photo-signing key; a different key replaces the device's old one
    /// and starts a new chain.
    async fn register_device_key(&self, org_id: OrgId, key: NewDeviceKey) -> StorageResult<KeyRegistration>;
    /// The key registered for a device, with its chain head.
    async fn device_key(&self, org_id: OrgId, device_id: DeviceId) -> StorageResult<Option<DeviceKey>>;
    /// Whether a receipt with this hash was verified before in the org.
    async fn receipt_seen(&self, org_id: OrgId, receipt_hash: Sha256Hash) -> StorageResult<bool>;
    /// The perceptual hashes of the org's verified photos, oldest first.
    async fn photo_hashes(&self, org_id: OrgId) -> StorageResult<Vec<PhotoHash>>;
    /// The org's photo facts matching `query` with the server's checks, in sequence order.
    async fn photos(&self, org_id: OrgId, query: PhotoQuery) -> StorageResult<Vec<StoredPhoto>>;
    /// A shared document by kind and id.
    async fn doc(&self, org_id: OrgId, kind: RecordKind, id: Uuid) -> StorageResult<Option<StoredDoc>>;
    /// A record by kind and id.
    async fn record(&self, org_id: OrgId, kind: RecordKind, id: Uuid) -> StorageResult<Option<StoredRecord>>;
    /// Every record of a reference-data kind (not deleted), in id order.
    async fn records(&self, org_id: OrgId, kind: RecordKind) -> StorageResult<Vec<StoredRecord>>;
    /// The changes after `cursor` that `reader` may see, at most `limit` of them. With
    /// `device`, documents whose stored state that device already holds (it pushed it) are
    /// left out: they would be an echo of its own push.
    async fn feed(
        &self,
        org_id: OrgId,
        reader: FeedReader,
        device: Option<DeviceId>,
        cursor: u64,
        limit: u32,
    ) -> StorageResult<FeedPage>;
    /// The org's planned visits dated `from..=to` (local dates), by date then customer, with
    /// their tasks as they stand now.
    async fn plan_entries(
        &self,
        org_id: OrgId,
        from: fieldkit_domain::geo::CivilDate,
        to: fieldkit_domain::geo::CivilDate,
    ) -> StorageResult<Vec<PlanEntry>>;
    /// Plans visits in one transaction, in order: each one's task is created and its entry
    /// written, unless its customer already has a visit planned that day. Returns, per
    /// visit, whether it was planned now.
    async fn add_plan_entries(
        &self,
        org_id: OrgId,
        entries: Vec<NewPlanEntry>,
        now_ms: i64,
    ) -> StorageResult<Vec<bool>>;
    /// The device time of the latest check-in at each customer before `before_ms` that the
    /// server did not reject.
    async fn last_check_ins(
        &self,
        org_id: OrgId,
        before_ms: i64,
    ) -> StorageResult<std::collections::HashMap<CustomerId, i64>>;
    /// Stores `flow` as the next version of its kind's approval flow (its `version` is
    /// replaced: one more than the latest) and sends it to every phone, in one transaction.
    async fn put_approval_flow(
        &self,
        org_id: OrgId,
        flow: fieldkit_domain::approval::ApprovalFlow,
        now_ms: i64,
    ) -> StorageResult<fieldkit_domain::approval::ApprovalFlow>;
    /// Stores the flow of each approval step of `flow` as the next `task_step` approval
    /// flow version without making it the kind's current flow (requests for the step name
    /// that version), writes those versions into the task flow and sends it to every phone,
    /// in one transaction.
    async fn put_task_flow(
        &self,
        org_id: OrgId,
        flow: fieldkit_domain::approval::TaskFlow,
        now_ms: i64,
    ) -> StorageResult<fieldkit_domain::approval::TaskFlow>;
    /// The org's current approval flow of every kind that has one.
    async fn approval_flows(
        &self,
        org_id: OrgId,
    ) -> StorageResult<Vec<fieldkit_domain::approval::ApprovalFlow>>;
    /// One version of a kind's approval flow, if it exists.
    async fn approval_flow(
        &self,
        org_id: OrgId,
        kind: fieldkit_domain::approval::ApprovalKind,
        version: u32,
    ) -> StorageResult<Option<fieldkit_domain::approval::ApprovalFlow>>;
    /// The decisions on the org's customer proposals, oldest first.
    async fn proposal_decisions(&self, org_id: OrgId) -> StorageResult<Vec<ProposalDecision>>;
    /// Records a decision on a proposal and, for an approval, creates `customer` (addressed
    /// to its owner) in the same transaction; a proposal decided before keeps its decision.
    async fn decide_proposal(
        &self,
        org_id: OrgId,
        decision: ProposalDecision,
        customer: Option<fieldkit_domain::model::Customer>,
    ) -> StorageResult<DecisionOutcome>;
    /// The live tasks addressed to each of `assignees` (any status), by assignee then id.
    async fn assigned_tasks(
        &self,
        org_id: OrgId,
        assignees: Vec<UserId>,
    ) -> StorageResult<Vec<fieldkit_domain::model::Task>>;
    /// How many of the org's facts happened in `[from_ms, until_ms)` (event time), and the
    /// highest sequence number among them.
    async fn fact_mark(&self, org_id: OrgId, from_ms: i64, until_ms: i64) -> StorageResult<FactMark>;
    /// The org's facts stored after `after_seq`: the local days (in `offset_minutes` east of
    /// UTC) they happened on, the highest fact sequence number, the day of the first fact.
    async fn fact_changes(
        &self,
        org_id: OrgId,
        after_seq: u64,
        offset_minutes: i32,
    ) -> StorageResult<FactChanges>;
    /// The highest fact sequence number the summary generator has looked at (0: none).
    async fn summary_cursor(&self, org_id: OrgId) -> StorageResult<u64>;
    /// Moves the summary generator's cursor forward to `fact_seq` (never back).
    async fn set_summary_cursor(&self, org_id: OrgId, fact_seq: u64, now_ms: i64) -> StorageResult<()>;
    /// Stores snapshots in one transaction, each replacing the one of the same period, start
    /// date and team.
    async fn put_report_snapshots(&self, org_id: OrgId, snapshots: Vec<ReportSnapshot>) -> StorageResult<()>;
    /// The org's snapshots of `period` overlapping `from..=to` (local dates), by start date,
    /// the whole org's before the teams'.
    async fn report_snapshots(
        &self,
        org_id: OrgId,
        period: SnapshotPeriod,
        from: fieldkit_domain::geo::CivilDate,
        to: fieldkit_domain::geo::CivilDate,
    ) -> StorageResult<Vec<ReportSnapshot>>;
}
