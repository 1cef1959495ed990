//! Visits and the facts that open and close them: check-in and check-out.

use serde::{Deserialize, Serialize};

use crate::checkin::CheckInAssessment;
use crate::clock::EventTime;
use crate::ids::{CustomerId, FactId, TaskId, UserId, VisitId};
use crate::model::WgsPoint;

/// Which positioning source produced a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum LocationProvider {
    /// Satellite positioning.
    Gnss,
    /// Wi-Fi / cell network positioning.
    Network,
    /// The OS's fused provider.
    Fused,
    /// Unknown or not reported.
    Other,
}

/// A location fix as the phone's OS reported it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LocationFix {
    /// Where, in WGS-84.
    pub point: WgsPoint,
    /// Horizontal accuracy radius in metres (68 % confidence).
    pub accuracy_m: f64,
    /// When the fix was taken, device Unix milliseconds.
    pub fix_time_ms: i64,
    /// The source of the fix.
    pub provider: LocationProvider,
    /// The OS flagged the fix as coming from a mock-location app.
    pub is_mock: bool,
}

/// A rep's visit to a customer, from check-in to check-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Visit {
    /// The visit id.
    pub id: VisitId,
    /// The customer visited.
    pub customer_id: CustomerId,
    /// The task being done, if the visit is for one.
    pub task_id: Option<TaskId>,
    /// The rep.
    pub rep_id: UserId,
    /// The check-in that opened it.
    pub check_in_id: FactId,
    /// The check-out that closed it, once there is one.
    pub check_out_id: Option<FactId>,
    /// Device time of the check-in, Unix milliseconds.
    pub started_ms: i64,
    /// Device time of the check-out, once there is one.
    pub ended_ms: Option<i64>,
    /// Indexes of the SOP steps completed, ascending.
    pub completed_steps: Vec<u32>,
    /// Notes from the rep or the manager.
    pub notes: String,
}

/// The fact that a rep arrived at a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CheckIn {
    /// The fact id (made on the phone; the idempotency key).
    pub id: FactId,
    /// The visit this check-in opens.
    pub visit_id: VisitId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The task, if the visit is for one.
    pub task_id: Option<TaskId>,
    /// The rep.
    pub rep_id: UserId,
    /// The location fix at check-in.
    pub fix: LocationFix,
    /// When it happened.
    pub at: EventTime,
    /// The rep's note; for an out-of-range check-in, the stated reason.
    pub note: Option<String>,
    /// The phone's verdict (`None` when the phone could not judge: the customer was not
    /// on it yet). The server judges again with the same code and keeps both.
    #[serde(default)]
    pub assessment: Option<CheckInAssessment>,
}

/// The fact that a rep left a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CheckOut {
    /// The fact id.
    pub id: FactId,
    /// The visit this check-out closes.
    pub visit_id: VisitId,
    /// The customer of that visit.
    pub customer_id: CustomerId,
    /// The rep.
    pub rep_id: UserId,
    /// The location fix at check-out.
    pub fix: LocationFix,
    /// When it happened.
    pub at: EventTime,
    /// Written by the core, not the rep: the rep checked in elsewhere without checking out
    /// and the org closes the open visit automatically.
    #[serde(default)]
    pub automatic: bool,
    /// The phone's verdict, as for [`CheckIn::assessment`].
    #[serde(default)]
    pub assessment: Option<CheckInAssessment>,
    /// Required SOP steps still open at check-out (the org allowed it, flagged).
    #[serde(default)]
    pub sop_missing: Vec<u32>,
}
