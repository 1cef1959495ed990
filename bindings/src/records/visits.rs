//! Visits as the app shows them: the check-in verdict (accepted, flagged or rejected, with
//! every reason and whether a stated reason would let it through), the check-in and
//! check-out results, and the visit itself.

use fieldkit_domain::checkin;
use fieldkit_domain::model;

/// What became of a check-in (or check-out) under the org's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum VerdictOutcome {
    /// Nothing suspicious.
    Accepted,
    /// Allowed, with reasons the manager will review.
    Flagged,
    /// Refused by the org's rules (nothing was stored).
    Rejected,
}

/// The kind of a reason a check-in is suspicious.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReasonKind {
    /// Outside the customer's geofence.
    TooFar,
    /// The fix's accuracy radius is over the org's threshold.
    PoorAccuracy,
    /// The fix is older than the threshold (a cached position, probably).
    StaleFix,
    /// The OS flagged the fix as coming from a mock-location app.
    MockLocation,
    /// Reaching the fix from the previous one needs an impossible speed.
    ImpossibleSpeed,
    /// The device clock disagrees with the server-time estimate.
    DeviceClockOff,
}

impl From<checkin::ReasonKind> for ReasonKind {
    fn from(k: checkin::ReasonKind) -> Self {
        match k {
            checkin::ReasonKind::TooFar => Self::TooFar,
            checkin::ReasonKind::PoorAccuracy => Self::PoorAccuracy,
            checkin::ReasonKind::StaleFix => Self::StaleFix,
            checkin::ReasonKind::MockLocation => Self::MockLocation,
            checkin::ReasonKind::ImpossibleSpeed => Self::ImpossibleSpeed,
            checkin::ReasonKind::DeviceClockOff => Self::DeviceClockOff,
        }
    }
}

/// One reason a check-in is suspicious, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CheckInReason {
    /// Which rule.
    pub kind: ReasonKind,
    /// The measured value (metres, milliseconds or m/s, as the kind says); `null`/`nil`
    /// for a mock location.
    pub measured: Option<f64>,
    /// The org's threshold in the same unit; `null`/`nil` for a mock location.
    pub threshold: Option<f64>,
}

impl From<&checkin::Reason> for CheckInReason {
    fn from(r: &checkin::Reason) -> Self {
        #[allow(clippy::cast_precision_loss)] // milliseconds as f64: exact far beyond any age
        let (measured, threshold) = match *r {
            checkin::Reason::TooFar { distance_m, limit_m } => (Some(distance_m), Some(limit_m)),
            checkin::Reason::PoorAccuracy { accuracy_m, max_m } => (Some(accuracy_m), Some(max_m)),
            checkin::Reason::StaleFix { age_ms, max_ms } => (Some(age_ms as f64), Some(max_ms as f64)),
            checkin::Reason::MockLocation => (None, None),
            checkin::Reason::ImpossibleSpeed { speed_mps, max_mps } => (Some(speed_mps), Some(max_mps)),
            checkin::Reason::DeviceClockOff { skew_ms, max_ms } => {
                (Some(skew_ms as f64), Some(max_ms as f64))
            }
        };
        Self { kind: r.kind().into(), measured, threshold }
    }
}

/// The verdict on a check-in or check-out, for the app to show.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CheckInVerdict {
    /// Accepted, flagged or rejected.
    pub outcome: VerdictOutcome,
    /// Every reason that applies (empty when accepted).
    pub reasons: Vec<CheckInReason>,
    /// For a rejection: the reasons the org's policy rejects on.
    pub rejected_by: Vec<ReasonKind>,
    /// For a rejection: true when stating a reason (the check-in's note) would let it
    /// through as a flagged check-in.
    pub needs_stated_reason: bool,
    /// For a flagged check-in: the reason the rep stated, if any.
    pub stated_reason: Option<String>,
    /// Distance from the fix to the customer, metres.
    pub distance_m: f64,
    /// The largest distance that passes (radius plus accuracy allowance), metres.
    pub limit_m: f64,
}

impl From<&checkin::CheckInAssessment> for CheckInVerdict {
    fn from(a: &checkin::CheckInAssessment) -> Self {
        let reasons = a.verdict.reasons().iter().map(CheckInReason::from).collect();
        let (outcome, rejected_by, needs_stated_reason, stated_reason) = match &a.verdict {
            checkin::Verdict::Accepted => (VerdictOutcome::Accepted, Vec::new(), false, None),
            checkin::Verdict::Flagged { stated_reason, .. } => {
                (VerdictOutcome::Flagged, Vec::new(), false, stated_reason.clone())
            }
            checkin::Verdict::Rejected { rejected_by, needs_stated_reason, .. } => (
                VerdictOutcome::Rejected,
                rejected_by.iter().map(|k| ReasonKind::from(*k)).collect(),
                *needs_stated_reason,
                None,
            ),
        };
        Self {
            outcome,
            reasons,
            rejected_by,
            needs_stated_reason,
            stated_reason,
            distance_m: a.distance_m,
            limit_m: a.limit_m,
        }
    }
}

/// A check-in that was stored: the visit it opened and the phone's verdict.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CheckInResult {
    /// The check-in fact's id (a UUID).
    pub id: String,
    /// The visit it opened (a UUID): pass it to photos, orders, forms and the check-out.
    pub visit_id: String,
    /// The customer (a UUID).
    pub customer_id: String,
    /// The task, if the visit is for one (a UUID).
    pub task_id: Option<String>,
    /// Device time of the check-in, Unix milliseconds.
    pub at_ms: i64,
    /// The rep's note.
    pub note: Option<String>,
    /// The phone's verdict (accepted or flagged); `null`/`nil` when the customer was not
    /// on the phone yet and only the server can judge.
    pub verdict: Option<CheckInVerdict>,
}

impl From<model::CheckIn> for CheckInResult {
    fn from(c: model::CheckIn) -> Self {
        Self {
            id: c.id.to_string(),
            visit_id: c.visit_id.to_string(),
            customer_id: c.customer_id.to_string(),
            task_id: c.task_id.map(|t| t.to_string()),
            at_ms: c.at.device_ms,
            note: c.note,
            verdict: c.assessment.as_ref().map(CheckInVerdict::from),
        }
    }
}

/// A check-out that was stored: how long the visit lasted and the phone's verdict.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CheckOutResult {
    /// The check-out fact's id (a UUID).
    pub id: String,
    /// The visit it closed (a UUID).
    pub visit_id: String,
    /// Check-in to check-out, milliseconds.
    pub duration_ms: i64,
    /// Required SOP steps still open when the visit closed (flagged for the manager).
    pub sop_missing: Vec<u32>,
    /// The phone's verdict (out of range only flags a check-out).
    pub verdict: Option<CheckInVerdict>,
}

impl From<fieldkit_engine::CheckedOut> for CheckOutResult {
    fn from(c: fieldkit_engine::CheckedOut) -> Self {
        Self {
            id: c.check_out.id.to_string(),
            visit_id: c.check_out.visit_id.to_string(),
            duration_ms: c.duration.ms,
            sop_missing: c.check_out.sop_missing,
            verdict: c.check_out.assessment.as_ref().map(CheckInVerdict::from),
        }
    }
}

/// A rep's visit to a customer, from check-in to check-out.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Visit {
    /// The visit id (a UUID).
    pub id: String,
    /// The customer visited (a UUID).
    pub customer_id: String,
    /// The task, if the visit is for one (a UUID).
    pub task_id: Option<String>,
    /// Device time of the check-in, Unix milliseconds.
    pub started_ms: i64,
    /// Device time of the check-out, once there is one.
    pub ended_ms: Option<i64>,
    /// Indexes of the SOP steps completed, ascending.
    pub completed_steps: Vec<u32>,
    /// Notes from the rep or the manager.
    pub notes: String,
}

impl From<model::Visit> for Visit {
    fn from(v: model::Visit) -> Self {
        Self {
            id: v.id.to_string(),
            customer_id: v.customer_id.to_string(),
            task_id: v.task_id.map(|t| t.to_string()),
            started_ms: v.started_ms,
            ended_ms: v.ended_ms,
            completed_steps: v.completed_steps,
            notes: v.notes,
        }
    }
}
