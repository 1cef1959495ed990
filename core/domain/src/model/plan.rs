//! A rep's plan for a day: the order in which they mean to visit today's tasks, with the
//! times the route solver expects. Each (re-)plan is a new fact; the latest one counts, and
//! the earlier ones tell the manager when and why the day was re-planned.

use serde::{Deserialize, Serialize};

use crate::clock::EventTime;
use crate::geo::CivilDate;
use crate::ids::{CustomerId, FactId, TaskId, UserId};

/// Why a plan was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PlanTrigger {
    /// The rep asked (the morning plan).
    Requested,
    /// A visit ran past its planned departure.
    VisitRanLong,
    /// A task for today arrived after the last plan.
    TaskAdded,
}

/// One planned stop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PlannedStop {
    /// The task.
    pub task_id: TaskId,
    /// Its customer, if any.
    pub customer_id: Option<CustomerId>,
    /// Expected arrival, Unix milliseconds.
    pub arrive_ms: i64,
    /// Expected departure (after waiting for the window and the visit), Unix milliseconds.
    pub depart_ms: i64,
}

/// Why a task is not on the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum UnplannedReason {
    /// The task has no place to go to.
    NoPlace,
    /// Its deadline passes before the rep can get there.
    DeadlineMissed,
    /// The working day ends before it can be done.
    DayTooShort,
}

/// A task left off the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct UnplannedTask {
    /// The task.
    pub task_id: TaskId,
    /// Why.
    pub reason: UnplannedReason,
}

/// A rep's plan for one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DayPlan {
    /// The fact id.
    pub id: FactId,
    /// The rep.
    pub rep_id: UserId,
    /// The day, in the org's time zone.
    pub date: CivilDate,
    /// The stops in visiting order.
    pub stops: Vec<PlannedStop>,
    /// Today's tasks left off, with the reason.
    pub unplanned: Vec<UnplannedTask>,
    /// Route length, metres (including the way to the end point, if any).
    pub distance_m: f64,
    /// Whether no better order exists (the exact solver's answer).
    pub proven_optimal: bool,
    /// Why it was made.
    pub trigger: PlanTrigger,
    /// When it was made.
    pub at: EventTime,
}
