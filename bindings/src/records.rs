//! The plain values crossing the FFI (uniffi records and enums): users, tasks, sync reports
//! and queue counts here; the other areas in the submodules. Ids travel as strings (UUIDs);
//! times as Unix milliseconds; counts as signed integers (Kotlin's `Int`/`Long`, which apps
//! use everywhere, rather than `UInt`) except small counts and indexes taken from the engine.

pub mod forms;
pub mod geo;
pub mod photos;
pub mod route;
pub mod sales;
pub mod sync;
pub mod tracking;
pub mod visits;

use fieldkit_domain::model;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Role {
    /// Works in the field: sees own tasks and customers, records visits.
    Rep,
    /// Leads a team: dispatches tasks, sees the team's data.
    Manager,
    /// Configures the org.
    Admin,
}

impl From<model::Role> for Role {
    fn from(role: model::Role) -> Self {
        match role {
            model::Role::Rep => Role::Rep,
            model::Role::Manager => Role::Manager,
            model::Role::Admin => Role::Admin,
        }
    }
}

/// The logged-in user.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct User {
    /// The user id (a UUID).
    pub id: String,
    /// The org the user belongs to (a UUID).
    pub org_id: String,
    /// Login name, unique within the org.
    pub username: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// The department (team) the user belongs to, if any (a UUID).
    pub team_id: Option<String>,
}

impl From<model::User> for User {
    fn from(user: model::User) -> Self {
        Self {
            id: user.id.to_string(),
            org_id: user.org_id.to_string(),
            username: user.username,
            display_name: user.display_name,
            role: user.role.into(),
            team_id: user.team_id.map(|t| t.to_string()),
        }
    }
}

/// What kind of work a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TaskKind {
    /// A routine customer visit.
    CustomerVisit,
    /// A store inspection (display, stock, prices).
    StoreInspection,
    /// A promotion event at a store.
    Promotion,
    /// An after-sales repair.
    Repair,
}

impl From<model::TaskKind> for TaskKind {
    fn from(kind: model::TaskKind) -> Self {
        match kind {
            model::TaskKind::CustomerVisit => TaskKind::CustomerVisit,
            model::TaskKind::StoreInspection => TaskKind::StoreInspection,
            model::TaskKind::Promotion => TaskKind::Promotion,
            model::TaskKind::Repair => TaskKind::Repair,
        }
    }
}

/// Where a task stands. A status only moves forward: open, in progress, then done or
/// cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TaskStatus {
    /// Dispatched, not started.
    Open,
    /// The rep has started it.
    InProgress,
    /// Finished by the rep.
    Done,
    /// Called off by a manager.
    Cancelled,
}

impl From<model::TaskStatus> for TaskStatus {
    fn from(status: model::TaskStatus) -> Self {
        match status {
            model::TaskStatus::Open => TaskStatus::Open,
            model::TaskStatus::InProgress => TaskStatus::InProgress,
            model::TaskStatus::Done => TaskStatus::Done,
            model::TaskStatus::Cancelled => TaskStatus::Cancelled,
        }
    }
}

impl From<TaskStatus> for model::TaskStatus {
    fn from(status: TaskStatus) -> Self {
        match status {
            TaskStatus::Open => model::TaskStatus::Open,
            TaskStatus::InProgress => model::TaskStatus::InProgress,
            TaskStatus::Done => model::TaskStatus::Done,
            TaskStatus::Cancelled => model::TaskStatus::Cancelled,
        }
    }
}

/// A place on the map, in WGS-84 (GPS) coordinates; convert to GCJ-02 or BD-09 only to show
/// it on a Chinese map SDK.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Place {
    /// Latitude in degrees, WGS-84.
    pub latitude: f64,
    /// Longitude in degrees, WGS-84.
    pub longitude: f64,
    /// Postal address as printed for people (may be empty).
    pub address: String,
}

impl From<model::Place> for Place {
    fn from(place: model::Place) -> Self {
        Self { latitude: place.point.lat(), longitude: place.point.lng(), address: place.address }
    }
}

/// A task assigned to the rep.
// `FieldTask` in Kotlin and Swift: a Swift type named `Task` would hide Swift's concurrency
// `Task` in every file that imports the module.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
#[uniffi(name = "FieldTask")]
pub struct Task {
    /// The task id (a UUID).
    pub id: String,
    /// What kind of work it is.
    pub kind: TaskKind,
    /// Short title shown in lists.
    pub title: String,
    /// What the rep should achieve.
    pub goal: String,
    /// Where it stands.
    pub status: TaskStatus,
    /// Deadline, Unix milliseconds.
    pub deadline_ms: Option<i64>,
    /// The customer concerned (a UUID).
    pub customer_id: Option<String>,
    /// Where the work happens (usually the customer's place).
    pub place: Option<Place>,
    /// Notes from the manager or the rep.
    pub notes: String,
}

impl From<model::Task> for Task {
    fn from(task: model::Task) -> Self {
        Self {
            id: task.id.to_string(),
            kind: task.kind.into(),
            title: task.title,
            goal: task.goal,
            status: task.status.into(),
            deadline_ms: task.deadline_ms,
            customer_id: task.customer_id.map(|c| c.to_string()),
            place: task.place.map(Place::from),
            notes: task.notes,
        }
    }
}

/// What one sync did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Queued items the server stored now.
    pub pushed: i32,
    /// Queued items the server already had (a retry after a lost answer).
    pub already_stored: i32,
    /// Queued items the server refused for good (now parked, with the reason).
    pub rejected: i32,
    /// Changes received from the server and applied on this phone.
    pub pulled: i32,
    /// HTTP round trips made.
    pub round_trips: i32,
    /// Request bytes sent.
    pub bytes_sent: i64,
    /// Response bytes received.
    pub bytes_received: i64,
    /// Photos and other files whose upload finished now.
    pub blobs_uploaded: i32,
    /// Photos and other files whose upload failed and waits for a retry.
    pub blobs_failed: i32,
}

impl From<fieldkit_engine::SyncReport> for SyncReport {
    fn from(r: fieldkit_engine::SyncReport) -> Self {
        Self {
            pushed: count(r.pushed),
            already_stored: count(r.already_stored),
            rejected: count(r.rejected),
            pulled: count(r.pulled),
            round_trips: count(r.round_trips),
            bytes_sent: long(r.bytes_sent),
            bytes_received: long(r.bytes_received),
            blobs_uploaded: count(r.blobs.completed),
            blobs_failed: count(r.blobs.failed),
        }
    }
}

/// The offline queue's counts, for the app's status line.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QueueStatus {
    /// Items waiting to be pushed.
    pub pending: i64,
    /// Items the server refused for good.
    pub parked: i64,
    /// Device time when the oldest waiting item was queued, Unix milliseconds.
    pub oldest_pending_ms: Option<i64>,
    /// Device time of the last successful sync, Unix milliseconds.
    pub last_sync_ms: Option<i64>,
    /// Photos and other files still to upload.
    pub blobs_pending: i64,
}

impl From<fieldkit_engine::SyncStatus> for QueueStatus {
    fn from(s: fieldkit_engine::SyncStatus) -> Self {
        Self {
            pending: long(s.outbox.pending),
            parked: long(s.outbox.parked),
            oldest_pending_ms: s.outbox.oldest_pending_ms,
            last_sync_ms: s.last_sync_ms,
            blobs_pending: long(s.blobs_pending),
        }
    }
}

/// A count as Kotlin's `Int` (saturating; no count comes near it).
fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A count or size as Kotlin's `Long` (saturating).
fn long(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
