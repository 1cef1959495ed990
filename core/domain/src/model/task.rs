//! Tasks: the work a manager dispatches to a rep.

use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, TaskId, UserId};
use crate::model::Place;

/// What kind of work a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
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

/// Where a task stands. Statuses only move forward (see [`TaskStatus::rank`]): a task done
/// on the phone is never reopened by a stale edit made before it was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TaskStatus {
    /// Dispatched, not started.
    Open,
    /// The rep has started it (e.g. checked in).
    InProgress,
    /// Finished by the rep.
    Done,
    /// Called off by a manager.
    Cancelled,
}

impl TaskStatus {
    /// Progress order: `Open` < `InProgress` < `Done` = `Cancelled` (both final).
    #[must_use]
    pub fn rank(self) -> u8 {
        match self {
            TaskStatus::Open => 0,
            TaskStatus::InProgress => 1,
            TaskStatus::Done | TaskStatus::Cancelled => 2,
        }
    }

    /// Whether the task can no longer change status.
    #[must_use]
    pub fn is_final(self) -> bool {
        self.rank() == 2
    }

    /// The stable text form used in storage.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

/// A unit of dispatched work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record), uniffi(name = "FieldTask"))]
pub struct Task {
    /// The task id.
    pub id: TaskId,
    /// What kind of work it is.
    pub kind: TaskKind,
    /// Short title shown in lists.
    pub title: String,
    /// What the rep should achieve.
    pub goal: String,
    /// Deadline, Unix milliseconds.
    pub deadline_ms: Option<i64>,
    /// Where the work happens (usually the customer's place).
    pub place: Option<Place>,
    /// The customer concerned.
    pub customer_id: Option<CustomerId>,
    /// The rep who should do it.
    pub assignee_id: Option<UserId>,
    /// Where it stands.
    pub status: TaskStatus,
    /// Notes from the manager or the rep.
    pub notes: String,
}
