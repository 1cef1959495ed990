//! Approval requests: the built-in kinds of request, the facts each carries (distance,
//! amount, time range) and the decisions approvers record on them. Requests and decisions
//! are immutable facts: a change of mind is a new request, never an edit.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, FactId, TaskId, TeamId, UserId, VisitId};
use crate::model::Currency;

/// Milliseconds in a day, the unit of duration conditions.
pub const MS_PER_DAY: i64 = 86_400_000;

/// The id of a step, unique within its flow (chosen by the admin, e.g. `manager`, `finance`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StepId(pub String);

impl StepId {
    /// The step id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for StepId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

// Crosses the FFI as its text (`typealias StepId = String` in Kotlin and Swift).
#[cfg(feature = "uniffi")]
uniffi::custom_type!(StepId, String, {
    lower: |step| step.0,
    try_lift: |text| Ok(StepId(text)),
});

/// The kinds of request an org can configure a flow for (one flow per kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// A check-in made outside the customer's geofence.
    OutOfRangeCheckIn,
    /// A new customer proposed from the field.
    NewCustomer,
    /// An order discount above the rep's own limit.
    OrderDiscount,
    /// Leave: tracking pauses while it is approved.
    Leave,
    /// A business trip: tracking pauses while it is approved.
    BusinessTrip,
    /// An approval step of a task flow (e.g. the customer's approval of a repair quote).
    TaskStep,
}

impl ApprovalKind {
    /// Whether requests of this kind carry `quantity`, i.e. whether a step condition on it
    /// can ever hold.
    #[must_use]
    pub fn carries(self, quantity: Quantity) -> bool {
        matches!(
            (self, quantity),
            (ApprovalKind::OutOfRangeCheckIn, Quantity::Distance)
                | (ApprovalKind::OrderDiscount | ApprovalKind::TaskStep, Quantity::Amount)
                | (ApprovalKind::Leave | ApprovalKind::BusinessTrip, Quantity::Duration)
        )
    }

    /// The stable text form used in storage and on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::OutOfRangeCheckIn => "out_of_range_check_in",
            ApprovalKind::NewCustomer => "new_customer",
            ApprovalKind::OrderDiscount => "order_discount",
            ApprovalKind::Leave => "leave",
            ApprovalKind::BusinessTrip => "business_trip",
            ApprovalKind::TaskStep => "task_step",
        }
    }
}

/// A measurable fact of a request that a step condition can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// An amount of money in minor units (the discount of a discount request).
    Amount,
    /// A distance in metres (how far outside the geofence a check-in was).
    Distance,
    /// A duration (of a leave or trip).
    Duration,
}

impl Quantity {
    /// The stable text form used in messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Quantity::Amount => "amount",
            Quantity::Distance => "distance",
            Quantity::Duration => "duration",
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A period `[start, end)` in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimeRange {
    /// First instant inside the range.
    pub start_ms: i64,
    /// First instant after the range.
    pub end_ms: i64,
}

impl TimeRange {
    /// Whether `t_ms` falls inside the range.
    #[must_use]
    pub fn contains(&self, t_ms: i64) -> bool {
        (self.start_ms..self.end_ms).contains(&t_ms)
    }

    /// The length of the range in milliseconds (0 for an inverted range).
    #[must_use]
    pub fn duration_ms(&self) -> i64 {
        self.end_ms.saturating_sub(self.start_ms).max(0)
    }
}

/// What a request asks for, with the facts its flow's conditions test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestSubject {
    /// Accept a check-in made outside the customer's geofence.
    OutOfRangeCheckIn {
        /// The visit checked in to.
        visit_id: VisitId,
        /// The customer visited.
        customer_id: CustomerId,
        /// How far the fix was from the customer, metres.
        distance_m: f64,
    },
    /// Create the customer a rep proposed.
    NewCustomer {
        /// The proposal fact ([`crate::model::CustomerProposal`]).
        proposal_id: FactId,
    },
    /// Allow a discount above the rep's limit.
    OrderDiscount {
        /// The customer ordering.
        customer_id: CustomerId,
        /// The order, when it already exists.
        order_id: Option<FactId>,
        /// The currency of the amounts.
        currency: Currency,
        /// The order's total before the discount, minor units.
        order_total_minor: i64,
        /// The discount asked for, minor units: what amount conditions test.
        discount_minor: i64,
    },
    /// Leave: tracking pauses inside the range once approved.
    Leave {
        /// The period of leave.
        range: TimeRange,
    },
    /// A business trip: tracking pauses inside the range once approved.
    BusinessTrip {
        /// The period of the trip.
        range: TimeRange,
        /// Where to (free text).
        destination: String,
    },
    /// An approval step of a task flow.
    TaskStep {
        /// The task.
        task_id: TaskId,
        /// The task flow's step this request decides.
        step: StepId,
        /// The amount at stake (e.g. a repair quote), minor units, if any.
        amount_minor: Option<i64>,
    },
}

impl RequestSubject {
    /// The kind of request.
    #[must_use]
    pub fn kind(&self) -> ApprovalKind {
        match self {
            RequestSubject::OutOfRangeCheckIn { .. } => ApprovalKind::OutOfRangeCheckIn,
            RequestSubject::NewCustomer { .. } => ApprovalKind::NewCustomer,
            RequestSubject::OrderDiscount { .. } => ApprovalKind::OrderDiscount,
            RequestSubject::Leave { .. } => ApprovalKind::Leave,
            RequestSubject::BusinessTrip { .. } => ApprovalKind::BusinessTrip,
            RequestSubject::TaskStep { .. } => ApprovalKind::TaskStep,
        }
    }

    /// The amount conditions test, minor units: the discount of a discount request, the
    /// amount of a task step.
    #[must_use]
    pub fn amount_minor(&self) -> Option<i64> {
        match self {
            RequestSubject::OrderDiscount { discount_minor, .. } => Some(*discount_minor),
            RequestSubject::TaskStep { amount_minor, .. } => *amount_minor,
            _ => None,
        }
    }

    /// The distance conditions test, metres.
    #[must_use]
    pub fn distance_m(&self) -> Option<f64> {
        match self {
            RequestSubject::OutOfRangeCheckIn { distance_m, .. } => Some(*distance_m),
            _ => None,
        }
    }

    /// The period of a leave or trip.
    #[must_use]
    pub fn range(&self) -> Option<TimeRange> {
        match self {
            RequestSubject::Leave { range } | RequestSubject::BusinessTrip { range, .. } => Some(*range),
            _ => None,
        }
    }
}

/// A request for approval, raised by a user (usually a rep) and decided by a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ApprovalRequest {
    /// The fact id.
    pub id: FactId,
    /// Who asks.
    pub requester_id: UserId,
    /// The requester's department when asking (decides the department head).
    pub department_id: Option<TeamId>,
    /// What is asked for.
    pub subject: RequestSubject,
    /// Why (free text from the requester).
    pub reason: String,
    /// When it was submitted, Unix milliseconds (server time where known).
    pub submitted_ms: i64,
    /// The version of its kind's flow in force when it was raised: it is decided by that
    /// version, even after the admin edits the flow.
    pub flow_version: u32,
}

/// Why a request is malformed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// A leave or trip that does not end after it starts.
    #[error("time range {start_ms}..{end_ms} does not end after it starts")]
    EmptyRange {
        /// The start, Unix ms.
        start_ms: i64,
        /// The end, Unix ms.
        end_ms: i64,
    },
    /// A distance that is negative or not a finite number.
    #[error("distance {0} m is not a finite, non-negative number")]
    BadDistance(f64),
    /// A negative amount of money.
    #[error("amount {0} minor units is negative")]
    NegativeAmount(i64),
}

impl ApprovalRequest {
    /// Checks the facts the request carries.
    ///
    /// # Errors
    /// An empty time range, a bad distance or a negative amount.
    pub fn check(&self) -> Result<(), RequestError> {
        if let Some(range) = self.subject.range()
            && range.end_ms <= range.start_ms
        {
            return Err(RequestError::EmptyRange { start_ms: range.start_ms, end_ms: range.end_ms });
        }
        if let Some(d) = self.subject.distance_m()
            && !(d.is_finite() && d >= 0.0)
        {
            return Err(RequestError::BadDistance(d));
        }
        if let RequestSubject::OrderDiscount { order_total_minor, .. } = &self.subject
            && *order_total_minor < 0
        {
            return Err(RequestError::NegativeAmount(*order_total_minor));
        }
        match self.subject.amount_minor() {
            Some(a) if a < 0 => Err(RequestError::NegativeAmount(a)),
            _ => Ok(()),
        }
    }
}

/// An approver's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum), uniffi(name = "DecisionVerdict"))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Approve.
    Approve,
    /// Reject.
    Reject,
}

/// One approver's decision on one step of a request: an immutable fact, synced from the
/// approver's phone (so it may arrive late, twice, or concurrently with another's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Decision {
    /// The fact id; with the time, it orders concurrent decisions.
    pub id: FactId,
    /// The request decided.
    pub request_id: FactId,
    /// The step the approver saw and decided. A decision applies only to that step, so a
    /// late decision is never carried over to a later step the approver also sits on.
    pub step: StepId,
    /// Who decided.
    pub approver_id: UserId,
    /// When, Unix milliseconds (server time where known: see [`crate::clock::EventTime`]).
    pub at_ms: i64,
    /// Approve or reject.
    pub verdict: Verdict,
    /// Why (free text; may be empty for an approval).
    pub comment: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leave(start_ms: i64, end_ms: i64) -> ApprovalRequest {
        ApprovalRequest {
            id: FactId::new(),
            requester_id: UserId::new(),
            department_id: None,
            subject: RequestSubject::Leave { range: TimeRange { start_ms, end_ms } },
            reason: "family".into(),
            submitted_ms: 0,
            flow_version: 1,
        }
    }

    #[test]
    fn a_leave_that_ends_before_it_starts_is_refused() {
        assert_eq!(leave(10, 10).check(), Err(RequestError::EmptyRange { start_ms: 10, end_ms: 10 }));
        assert_eq!(leave(10, 11).check(), Ok(()));
    }

    #[test]
    fn kinds_carry_only_their_own_quantities() {
        assert!(ApprovalKind::OrderDiscount.carries(Quantity::Amount));
        assert!(!ApprovalKind::OrderDiscount.carries(Quantity::Distance));
        assert!(ApprovalKind::Leave.carries(Quantity::Duration));
        assert!(!ApprovalKind::NewCustomer.carries(Quantity::Amount));
        assert!(ApprovalKind::OutOfRangeCheckIn.carries(Quantity::Distance));
    }

    #[test]
    fn a_request_serialises_with_a_snake_case_kind_tag() {
        let request = leave(1, 2);
        let json = serde_json::to_value(&request).expect("serialise");
        assert_eq!(json["subject"]["kind"], "leave");
        let back: ApprovalRequest = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, request);
    }
}
