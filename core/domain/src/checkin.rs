//! Check-in verdict rules, and the visit state machine's answers.
//!
//! The phone judges a check-in when the rep taps the button (so the app can say "you are
//! 340 m away: give a reason or move closer"), and the server judges it again with the
//! same code when the fact arrives; both verdicts are kept. The rules score and flag; the
//! org's [`CheckInPolicy`] decides which reasons reject.
//!
//! Every reason that applies is reported, not just the first:
//! * **too far**: `haversine(fix, customer) > R + min(accuracy, 50 m)`, R the customer's
//!   radius or the org default (200 m);
//! * **poor accuracy**: the accuracy radius exceeds 100 m;
//! * **stale fix**: the fix is older than 30 s (a cached position);
//! * **mock location**: the OS said the fix came from a mock-location app;
//! * **impossible speed**: from the previous fix, the accuracy-discounted distance over the
//!   elapsed time exceeds 55 m/s (≈ 200 km/h);
//! * **device clock off**: the device's wall clock differs from the server-time estimate
//!   (server time at last sync plus monotonic time since) by more than 2 minutes.
//!
//! Out-of-range check-ins are common in practice (the shop moved, the fix is bad indoors):
//! [`OutOfRange::AllowWithReason`] (the default) lets them through, flagged, when the rep
//! states a reason; without one the verdict is a rejection that says a reason would do.
//!
//! Bad input is an error, not a verdict: NaN or negative accuracy, a point off the globe
//! (refused when the [`WgsPoint`] is built), a fix stamped in the future, a previous fix
//! later than this one.

use serde::{Deserialize, Serialize};

use crate::clock::EventTime;
use crate::geo::{GeoError, check_geofence, haversine_m, validate_accuracy, validate_not_future};
use crate::ids::{CustomerId, VisitId};
use crate::model::{CheckIn, CheckOut, Customer, LocationFix, WgsPoint};

/// A check-in input that breaks a rule (not a verdict: the input itself is wrong).
/// Messages are lower-case, name the offending value and carry no personal data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckInError {
    /// A bad coordinate, accuracy, or a fix from the future.
    #[error(transparent)]
    Geo(#[from] GeoError),
    /// A geofence radius override of zero.
    #[error("geofence radius override {0} m must be positive")]
    BadRadius(u32),
    /// The previous fix is later than the one being judged.
    #[error("previous fix at {previous_ms} ms is later than the fix at {fix_ms} ms")]
    PreviousFixNotEarlier {
        /// The previous fix time.
        previous_ms: i64,
        /// The judged fix time.
        fix_ms: i64,
    },
    /// A check-out stamped before its check-in.
    #[error("check-out at {check_out_ms} ms is before the check-in at {check_in_ms} ms")]
    CheckOutBeforeCheckIn {
        /// Check-in time on the basis used.
        check_in_ms: i64,
        /// Check-out time on the same basis.
        check_out_ms: i64,
    },
    /// A policy threshold that is negative or not a number.
    #[error("policy {field} {value} must be a finite, non-negative number")]
    BadPolicy {
        /// Which threshold.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
}

/// What to do with a check-in outside the geofence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutOfRange {
    /// Allow it, flagged; no reason needed.
    Flag,
    /// Allow it, flagged, when the rep states a reason; reject it otherwise.
    AllowWithReason,
    /// Reject it.
    Reject,
}

/// What to do with a check-in at one customer while a visit to another is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenVisitRule {
    /// Refuse: the rep checks out first.
    RequireCheckOut,
    /// Close the open visit (an automatic check-out at this moment), then open the new one.
    AutoCheckOut,
}

/// The kinds of reason, for policies and summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ReasonKind {
    /// Outside the geofence.
    TooFar,
    /// Accuracy radius over the threshold.
    PoorAccuracy,
    /// Fix older than the threshold.
    StaleFix,
    /// The OS flagged a mock location.
    MockLocation,
    /// Impossible speed from the previous fix.
    ImpossibleSpeed,
    /// Device clock disagrees with the server-time estimate.
    DeviceClockOff,
}

/// One reason a check-in is suspicious, with the numbers behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Reason {
    /// Outside the geofence.
    TooFar {
        /// Distance from the fix to the customer, metres.
        distance_m: f64,
        /// The largest distance that passes (radius + accuracy allowance), metres.
        limit_m: f64,
    },
    /// The accuracy radius is too large.
    PoorAccuracy {
        /// The fix's accuracy radius, metres.
        accuracy_m: f64,
        /// The threshold, metres.
        max_m: f64,
    },
    /// The fix is too old: probably a cached position.
    StaleFix {
        /// Age of the fix at check-in, milliseconds.
        age_ms: i64,
        /// The threshold, milliseconds.
        max_ms: i64,
    },
    /// The OS flagged the fix as coming from a mock-location app.
    MockLocation,
    /// Reaching this fix from the previous one needs an impossible speed.
    ImpossibleSpeed {
        /// Accuracy-discounted speed, m/s.
        speed_mps: f64,
        /// The threshold, m/s.
        max_mps: f64,
    },
    /// The device's wall clock is off the server-time estimate.
    DeviceClockOff {
        /// Device time minus server-time estimate, milliseconds (positive: device ahead).
        skew_ms: i64,
        /// The threshold, milliseconds.
        max_ms: i64,
    },
}

impl Reason {
    /// The kind of this reason.
    #[must_use]
    pub fn kind(&self) -> ReasonKind {
        match self {
            Reason::TooFar { .. } => ReasonKind::TooFar,
            Reason::PoorAccuracy { .. } => ReasonKind::PoorAccuracy,
            Reason::StaleFix { .. } => ReasonKind::StaleFix,
            Reason::MockLocation => ReasonKind::MockLocation,
            Reason::ImpossibleSpeed { .. } => ReasonKind::ImpossibleSpeed,
            Reason::DeviceClockOff { .. } => ReasonKind::DeviceClockOff,
        }
    }
}

/// The verdict on a check-in (or check-out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Verdict {
    /// Nothing suspicious.
    Accepted,
    /// Allowed, with every reason that applies, for the manager to review.
    Flagged {
        /// Every reason that applies.
        reasons: Vec<Reason>,
        /// The rep's stated reason for an out-of-range check-in, if given.
        stated_reason: Option<String>,
    },
    /// Refused by the org's policy.
    Rejected {
        /// Every reason that applies.
        reasons: Vec<Reason>,
        /// The reasons the policy rejects on.
        rejected_by: Vec<ReasonKind>,
        /// True when stating a reason would turn this into a flagged check-in (out of range
        /// under [`OutOfRange::AllowWithReason`], nothing else rejecting).
        needs_stated_reason: bool,
    },
}

impl Verdict {
    /// Every reason that applies (empty when accepted).
    #[must_use]
    pub fn reasons(&self) -> &[Reason] {
        match self {
            Verdict::Accepted => &[],
            Verdict::Flagged { reasons, .. } | Verdict::Rejected { reasons, .. } => reasons,
        }
    }

    /// Whether the check-in goes through (accepted or flagged).
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        !matches!(self, Verdict::Rejected { .. })
    }
}

/// The org's check-in rules. [`Default`] is the field-facts defaults: 200 m radius, 50 m
/// accuracy allowance, 100 m accuracy, 30 s fix age, 55 m/s, 2 min clock skew, out-of-range
/// allowed with a stated reason, nothing else rejecting, check out before the next check-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckInPolicy {
    /// Geofence radius for customers without their own, metres.
    pub default_radius_m: f64,
    /// Most of the accuracy radius credited to the geofence, metres.
    pub accuracy_allowance_cap_m: f64,
    /// Largest acceptable accuracy radius, metres.
    pub max_accuracy_m: f64,
    /// Oldest acceptable fix, milliseconds.
    pub max_fix_age_ms: i64,
    /// Fastest believable move from the previous fix, m/s.
    pub max_speed_mps: f64,
    /// Largest acceptable gap between device clock and server-time estimate, milliseconds.
    pub max_clock_skew_ms: i64,
    /// What to do out of range.
    pub out_of_range: OutOfRange,
    /// Reasons (other than too far, which [`Self::out_of_range`] governs) that reject.
    pub reject: Vec<ReasonKind>,
    /// What a check-in while another customer's visit is open does.
    pub open_visit: OpenVisitRule,
}

impl Default for CheckInPolicy {
    fn default() -> Self {
        Self {
            default_radius_m: 200.0,
            accuracy_allowance_cap_m: 50.0,
            max_accuracy_m: 100.0,
            max_fix_age_ms: 30_000,
            max_speed_mps: 55.0,
            max_clock_skew_ms: 120_000,
            out_of_range: OutOfRange::AllowWithReason,
            reject: Vec::new(),
            open_visit: OpenVisitRule::RequireCheckOut,
        }
    }
}

impl CheckInPolicy {
    /// Checks every threshold is a finite, non-negative number and the radius positive.
    pub fn validate(&self) -> Result<(), CheckInError> {
        let numbers = [
            ("default radius", self.default_radius_m),
            ("accuracy allowance cap", self.accuracy_allowance_cap_m),
            ("max accuracy", self.max_accuracy_m),
            ("max fix age", self.max_fix_age_ms as f64),
            ("max speed", self.max_speed_mps),
            ("max clock skew", self.max_clock_skew_ms as f64),
        ];
        for (field, value) in numbers {
            if !(value.is_finite() && value >= 0.0) {
                return Err(CheckInError::BadPolicy { field, value });
            }
        }
        if self.default_radius_m <= 0.0 {
            return Err(CheckInError::BadPolicy { field: "default radius", value: self.default_radius_m });
        }
        Ok(())
    }
}

/// Where the rep should be: the customer's point and its own geofence radius, if any.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CheckInTarget {
    /// The customer's location.
    pub point: WgsPoint,
    /// The customer's radius, metres; `None` means the org default.
    pub radius_override_m: Option<u32>,
}

impl CheckInTarget {
    /// The target for `customer`.
    #[must_use]
    pub fn of_customer(customer: &Customer) -> Self {
        Self { point: customer.place.point, radius_override_m: customer.geofence_radius_m }
    }
}

/// Everything a verdict depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckInInput {
    /// The fix the OS reported.
    pub fix: LocationFix,
    /// Where the rep should be.
    pub target: CheckInTarget,
    /// The rep's previous fix (last track point or check-in), for the speed check.
    pub previous_fix: Option<LocationFix>,
    /// The device's wall clock at the check-in, Unix milliseconds.
    pub device_now_ms: i64,
    /// The server-time estimate at the check-in, if the device has synced since boot.
    pub server_estimate_ms: Option<i64>,
    /// The rep's stated reason (for an out-of-range check-in).
    pub stated_reason: Option<String>,
}

impl CheckInInput {
    /// The input for a recorded check-in fact (how the server re-checks it): its fix, its
    /// event time and its note as the stated reason.
    #[must_use]
    pub fn from_check_in(fact: &CheckIn, target: CheckInTarget, previous_fix: Option<LocationFix>) -> Self {
        Self::from_parts(fact.fix, &fact.at, fact.note.clone(), target, previous_fix)
    }

    /// The input for a recorded check-out fact.
    #[must_use]
    pub fn from_check_out(fact: &CheckOut, target: CheckInTarget, previous_fix: Option<LocationFix>) -> Self {
        Self::from_parts(fact.fix, &fact.at, None, target, previous_fix)
    }

    fn from_parts(
        fix: LocationFix,
        at: &EventTime,
        stated_reason: Option<String>,
        target: CheckInTarget,
        previous_fix: Option<LocationFix>,
    ) -> Self {
        Self {
            fix,
            target,
            previous_fix,
            device_now_ms: at.device_ms,
            server_estimate_ms: at.server_estimate_ms,
            stated_reason,
        }
    }
}

/// A verdict with the geofence numbers behind it (kept with the fact on both sides).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CheckInAssessment {
    /// The verdict.
    pub verdict: Verdict,
    /// Distance from the fix to the customer, metres.
    pub distance_m: f64,
    /// Radius plus accuracy allowance: the largest distance that passes, metres.
    pub limit_m: f64,
}

fn collect_reasons(
    input: &CheckInInput,
    policy: &CheckInPolicy,
) -> Result<(Vec<Reason>, f64, f64), CheckInError> {
    policy.validate()?;
    let fix = &input.fix;
    let accuracy_m = validate_accuracy(fix.accuracy_m)?;
    // A fix may not be stamped later than the later of the two clocks, give or take the
    // clock-skew allowance (GNSS time and the device clock may disagree a little).
    let reference_ms = input.server_estimate_ms.map_or(input.device_now_ms, |s| s.max(input.device_now_ms));
    validate_not_future(fix.fix_time_ms, reference_ms, policy.max_clock_skew_ms)?;
    let radius_m = match input.target.radius_override_m {
        Some(0) => return Err(CheckInError::BadRadius(0)),
        Some(r) => f64::from(r),
        None => policy.default_radius_m,
    };

    let mut reasons = Vec::new();
    let fence =
        check_geofence(fix.point, accuracy_m, input.target.point, radius_m, policy.accuracy_allowance_cap_m)?;
    if !fence.inside {
        reasons.push(Reason::TooFar { distance_m: fence.distance_m, limit_m: fence.limit_m });
    }
    if accuracy_m > policy.max_accuracy_m {
        reasons.push(Reason::PoorAccuracy { accuracy_m, max_m: policy.max_accuracy_m });
    }
    let age_ms = input.device_now_ms.saturating_sub(fix.fix_time_ms);
    if age_ms > policy.max_fix_age_ms {
        reasons.push(Reason::StaleFix { age_ms, max_ms: policy.max_fix_age_ms });
    }
    if fix.is_mock {
        reasons.push(Reason::MockLocation);
    }
    if let Some(prev) = &input.previous_fix {
        let prev_accuracy = validate_accuracy(prev.accuracy_m)?;
        if prev.fix_time_ms > fix.fix_time_ms {
            return Err(CheckInError::PreviousFixNotEarlier {
                previous_ms: prev.fix_time_ms,
                fix_ms: fix.fix_time_ms,
            });
        }
        let d = (haversine_m(prev.point, fix.point) - prev_accuracy - accuracy_m).max(0.0);
        let dt_s = (fix.fix_time_ms - prev.fix_time_ms).max(1_000) as f64 / 1_000.0;
        let speed_mps = d / dt_s;
        if speed_mps > policy.max_speed_mps {
            reasons.push(Reason::ImpossibleSpeed { speed_mps, max_mps: policy.max_speed_mps });
        }
    }
    if let Some(server_ms) = input.server_estimate_ms {
        let skew_ms = input.device_now_ms.saturating_sub(server_ms);
        if skew_ms.saturating_abs() > policy.max_clock_skew_ms {
            reasons.push(Reason::DeviceClockOff { skew_ms, max_ms: policy.max_clock_skew_ms });
        }
    }
    Ok((reasons, fence.distance_m, fence.limit_m))
}

fn verdict(
    reasons: Vec<Reason>,
    stated: Option<&str>,
    policy: &CheckInPolicy,
    out_of_range: OutOfRange,
) -> Verdict {
    if reasons.is_empty() {
        return Verdict::Accepted;
    }
    let stated = stated.map(str::trim).filter(|s| !s.is_empty());
    let mut rejected_by: Vec<ReasonKind> = reasons
        .iter()
        .map(Reason::kind)
        .filter(|k| *k != ReasonKind::TooFar && policy.reject.contains(k))
        .collect();
    let too_far = reasons.iter().any(|r| r.kind() == ReasonKind::TooFar);
    let mut needs_stated_reason = false;
    if too_far {
        match out_of_range {
            OutOfRange::Flag => {}
            OutOfRange::Reject => rejected_by.insert(0, ReasonKind::TooFar),
            OutOfRange::AllowWithReason if stated.is_none() => {
                rejected_by.insert(0, ReasonKind::TooFar);
                needs_stated_reason = rejected_by.len() == 1;
            }
            OutOfRange::AllowWithReason => {}
        }
    }
    if rejected_by.is_empty() {
        Verdict::Flagged { reasons, stated_reason: if too_far { stated.map(str::to_owned) } else { None } }
    } else {
        Verdict::Rejected { reasons, rejected_by, needs_stated_reason }
    }
}

/// Judges a check-in under `policy`.
pub fn assess_check_in(
    input: &CheckInInput,
    policy: &CheckInPolicy,
) -> Result<CheckInAssessment, CheckInError> {
    let (reasons, distance_m, limit_m) = collect_reasons(input, policy)?;
    let verdict = verdict(reasons, input.stated_reason.as_deref(), policy, policy.out_of_range);
    Ok(CheckInAssessment { verdict, distance_m, limit_m })
}

/// Judges a check-out: the same checks, but being out of range only flags (reps often tap
/// check-out on the way to the car), and no stated reason is asked for.
pub fn assess_check_out(
    input: &CheckInInput,
    policy: &CheckInPolicy,
) -> Result<CheckInAssessment, CheckInError> {
    let (reasons, distance_m, limit_m) = collect_reasons(input, policy)?;
    let verdict = verdict(reasons, None, policy, OutOfRange::Flag);
    Ok(CheckInAssessment { verdict, distance_m, limit_m })
}

/// The visit open on the device, as the visit state machine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OpenVisit {
    /// The open visit.
    pub visit_id: VisitId,
    /// Its customer.
    pub customer_id: CustomerId,
    /// Its check-in time.
    pub checked_in: EventTime,
}

/// The answer to "the rep taps check-in at `customer`".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum CheckInTransition {
    /// No visit is open: open a new one.
    Open,
    /// A visit to the same customer is already open: a second check-in opens nothing; the
    /// app shows the open visit.
    AlreadyCheckedIn {
        /// The visit that stays open.
        visit_id: VisitId,
    },
    /// A visit to another customer is open and the policy wants a check-out first.
    CheckOutFirst {
        /// The open visit.
        open_visit_id: VisitId,
        /// Its customer.
        open_customer_id: CustomerId,
    },
    /// A visit to another customer is open and the policy closes it: write an automatic
    /// check-out for it at this moment, then open the new visit.
    AutoCheckOutThenOpen {
        /// The visit to close.
        close_visit_id: VisitId,
        /// Its customer.
        close_customer_id: CustomerId,
    },
}

/// Decides what a check-in at `customer_id` does given the open visit, if any.
#[must_use]
pub fn on_check_in(
    open: Option<&OpenVisit>,
    customer_id: CustomerId,
    rule: OpenVisitRule,
) -> CheckInTransition {
    match open {
        None => CheckInTransition::Open,
        Some(v) if v.customer_id == customer_id => {
            CheckInTransition::AlreadyCheckedIn { visit_id: v.visit_id }
        }
        Some(v) => match rule {
            OpenVisitRule::RequireCheckOut => CheckInTransition::CheckOutFirst {
                open_visit_id: v.visit_id,
                open_customer_id: v.customer_id,
            },
            OpenVisitRule::AutoCheckOut => CheckInTransition::AutoCheckOutThenOpen {
                close_visit_id: v.visit_id,
                close_customer_id: v.customer_id,
            },
        },
    }
}

/// Which clock a duration was measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DurationBasis {
    /// Both ends had a server-time estimate (monotonic since the last sync: immune to the
    /// rep changing the wall clock).
    ServerEstimate,
    /// The device wall clock.
    DeviceClock,
    /// The device's hybrid logical clock, which never runs backwards on one device: used
    /// when the wall clock was set back between the taps.
    LogicalClock,
}

/// How long a visit lasted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VisitDuration {
    /// Milliseconds from check-in to check-out.
    pub ms: i64,
    /// Which clock measured it.
    pub basis: DurationBasis,
}

/// The duration from a check-in to a check-out, on the first clock that runs forward
/// between them: the server-time estimates when both ends have one (a sync between the taps
/// may re-anchor them, moving them back a little), else the device clock, else — both
/// taps on one device — its logical clock. A check-out before its check-in on every clock
/// is an error.
pub fn visit_duration(check_in: &EventTime, check_out: &EventTime) -> Result<VisitDuration, CheckInError> {
    let server = match (check_in.server_estimate_ms, check_out.server_estimate_ms) {
        (Some(a), Some(b)) => Some((a, b, DurationBasis::ServerEstimate)),
        _ => None,
    };
    let device = Some((check_in.device_ms, check_out.device_ms, DurationBasis::DeviceClock));
    let logical = (check_in.hlc.node == check_out.hlc.node).then(|| {
        let (a, b) = (check_in.hlc.wall_ms, check_out.hlc.wall_ms);
        (0, i64::try_from(b.saturating_sub(a)).unwrap_or(i64::MAX), DurationBasis::LogicalClock)
    });
    [server, device, logical]
        .into_iter()
        .flatten()
        .find(|(start, end, _)| end >= start)
        .map(|(start, end, basis)| VisitDuration { ms: end - start, basis })
        .ok_or(CheckInError::CheckOutBeforeCheckIn {
            check_in_ms: check_in.device_ms,
            check_out_ms: check_out.device_ms,
        })
}

/// The answer to "the rep taps check-out of `visit_id`".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum CheckOutTransition {
    /// Close the open visit; it lasted `duration`.
    Close {
        /// The visit closed.
        visit_id: VisitId,
        /// How long it lasted.
        duration: VisitDuration,
    },
    /// No visit is open: a check-out without a check-in is refused.
    NoOpenVisit,
    /// Another visit is open: the check-out names the wrong visit and is refused.
    NotTheOpenVisit {
        /// The visit that is open.
        open_visit_id: VisitId,
    },
}

/// Decides what a check-out of `visit_id` at `at` does given the open visit, if any.
pub fn on_check_out(
    open: Option<&OpenVisit>,
    visit_id: VisitId,
    at: &EventTime,
) -> Result<CheckOutTransition, CheckInError> {
    match open {
        None => Ok(CheckOutTransition::NoOpenVisit),
        Some(v) if v.visit_id != visit_id => {
            Ok(CheckOutTransition::NotTheOpenVisit { open_visit_id: v.visit_id })
        }
        Some(v) => Ok(CheckOutTransition::Close { visit_id, duration: visit_duration(&v.checked_in, at)? }),
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::clock::Hlc;
    use crate::geo::LocalFrame;
    use crate::model::LocationProvider;

    const NOW: i64 = 1_741_000_000_000;

    fn shop() -> WgsPoint {
        WgsPoint::new(31.2304, 121.4737).expect("valid")
    }

    fn north(metres: f64) -> WgsPoint {
        LocalFrame::new(shop()).to_point(0.0, metres).expect("valid")
    }

    fn fix_at(point: WgsPoint, accuracy_m: f64, fix_time_ms: i64) -> LocationFix {
        LocationFix { point, accuracy_m, fix_time_ms, provider: LocationProvider::Gnss, is_mock: false }
    }

    fn input(fix: LocationFix) -> CheckInInput {
        CheckInInput {
            fix,
            target: CheckInTarget { point: shop(), radius_override_m: None },
            previous_fix: None,
            device_now_ms: NOW,
            server_estimate_ms: Some(NOW + 1_500),
            stated_reason: None,
        }
    }

    fn good() -> CheckInInput {
        input(fix_at(north(50.0), 10.0, NOW - 2_000))
    }

    fn kinds(v: &Verdict) -> Vec<ReasonKind> {
        v.reasons().iter().map(Reason::kind).collect()
    }

    fn assess(i: &CheckInInput) -> Verdict {
        assess_check_in(i, &CheckInPolicy::default()).expect("valid input").verdict
    }

    #[test]
    fn a_clean_check_in_is_accepted() {
        let a = assess_check_in(&good(), &CheckInPolicy::default()).expect("valid");
        assert_eq!(a.verdict, Verdict::Accepted);
        assert!((a.distance_m - 50.0).abs() < 0.5);
        assert_eq!(a.limit_m, 210.0);
    }

    #[test]
    fn each_reason_on_its_own() {
        // Too far: 300 m with a 10 m fix; the per-customer radius override changes the limit.
        let mut far = good();
        far.fix.point = north(300.0);
        far.stated_reason = Some("shop moved next door".into());
        let v = assess(&far);
        assert!(
            matches!(v.reasons(), [Reason::TooFar { distance_m, limit_m }] if (*distance_m - 300.0).abs() < 0.5 && *limit_m == 210.0)
        );
        far.target.radius_override_m = Some(400);
        assert_eq!(assess(&far), Verdict::Accepted);

        let mut vague = good();
        vague.fix.accuracy_m = 150.0;
        assert_eq!(kinds(&assess(&vague)), vec![ReasonKind::PoorAccuracy]);

        let mut stale = good();
        stale.fix.fix_time_ms = NOW - 45_000;
        assert_eq!(assess(&stale).reasons(), &[Reason::StaleFix { age_ms: 45_000, max_ms: 30_000 }]);

        let mut mock = good();
        mock.fix.is_mock = true;
        assert_eq!(assess(&mock).reasons(), &[Reason::MockLocation]);

        let mut teleport = good();
        // 20 km in 60 s.
        teleport.previous_fix = Some(fix_at(north(-20_000.0), 10.0, NOW - 62_000));
        assert_eq!(kinds(&assess(&teleport)), vec![ReasonKind::ImpossibleSpeed]);
        // 2 km in 60 s by car is fine.
        teleport.previous_fix = Some(fix_at(north(-2_000.0), 10.0, NOW - 62_000));
        assert_eq!(assess(&teleport), Verdict::Accepted);

        let mut clock = good();
        clock.server_estimate_ms = Some(NOW - 5 * 60_000);
        assert_eq!(assess(&clock).reasons(), &[Reason::DeviceClockOff { skew_ms: 300_000, max_ms: 120_000 }]);
        clock.server_estimate_ms = None;
        assert_eq!(assess(&clock), Verdict::Accepted);
    }

    #[test]
    fn every_reason_is_reported_together() {
        let mut bad = good();
        bad.fix = LocationFix { is_mock: true, ..fix_at(north(900.0), 120.0, NOW - 40_000) };
        bad.previous_fix = Some(fix_at(north(-50_000.0), 5.0, NOW - 100_000));
        bad.server_estimate_ms = Some(NOW + 10 * 60_000);
        bad.stated_reason = Some("  ".into());
        let v = assess(&bad);
        assert_eq!(
            kinds(&v),
            vec![
                ReasonKind::TooFar,
                ReasonKind::PoorAccuracy,
                ReasonKind::StaleFix,
                ReasonKind::MockLocation,
                ReasonKind::ImpossibleSpeed,
                ReasonKind::DeviceClockOff,
            ]
        );
        // A blank reason is no reason: out of range rejects (a real reason would turn it into
        // a flag, as the other reasons only flag by default).
        assert!(
            matches!(&v, Verdict::Rejected { rejected_by, needs_stated_reason: true, .. } if rejected_by == &[ReasonKind::TooFar])
        );
    }

    #[test]
    fn out_of_range_follows_the_policy() {
        let mut far = good();
        far.fix.point = north(400.0);
        let mut policy = CheckInPolicy::default();
        // Allow with reason: none given → rejected, and a reason would do.
        let v = assess_check_in(&far, &policy).expect("valid").verdict;
        assert!(matches!(v, Verdict::Rejected { needs_stated_reason: true, .. }), "{v:?}");
        far.stated_reason = Some("customer asked to meet at the warehouse".into());
        let v = assess_check_in(&far, &policy).expect("valid").verdict;
        assert!(
            matches!(&v, Verdict::Flagged { stated_reason: Some(s), .. } if s.contains("warehouse")),
            "{v:?}"
        );
        assert!(v.is_allowed());
        policy.out_of_range = OutOfRange::Reject;
        assert!(!assess_check_in(&far, &policy).expect("valid").verdict.is_allowed());
        policy.out_of_range = OutOfRange::Flag;
        far.stated_reason = None;
        assert!(matches!(assess_check_in(&far, &policy).expect("valid").verdict, Verdict::Flagged { .. }));
        // A check-out out of range only flags.
        let v = assess_check_out(&far, &CheckInPolicy::default()).expect("valid").verdict;
        assert!(matches!(v, Verdict::Flagged { stated_reason: None, .. }));
    }

    #[test]
    fn the_policy_decides_which_reasons_reject() {
        let mut mock = good();
        mock.fix.is_mock = true;
        let policy = CheckInPolicy { reject: vec![ReasonKind::MockLocation], ..CheckInPolicy::default() };
        let v = assess_check_in(&mock, &policy).expect("valid").verdict;
        assert_eq!(
            v,
            Verdict::Rejected {
                reasons: vec![Reason::MockLocation],
                rejected_by: vec![ReasonKind::MockLocation],
                needs_stated_reason: false,
            }
        );
        // Out of range with a reason, plus a rejecting mock: rejected for the mock only.
        mock.fix.point = north(500.0);
        mock.stated_reason = Some("gate closed".into());
        let v = assess_check_in(&mock, &policy).expect("valid").verdict;
        assert!(
            matches!(&v, Verdict::Rejected { rejected_by, .. } if rejected_by == &[ReasonKind::MockLocation])
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_verdict() {
        let policy = CheckInPolicy::default();
        let mut nan = good();
        nan.fix.accuracy_m = f64::NAN;
        assert!(matches!(assess_check_in(&nan, &policy), Err(CheckInError::Geo(GeoError::BadAccuracy(_)))));
        let mut negative = good();
        negative.fix.accuracy_m = -5.0;
        assert_eq!(assess_check_in(&negative, &policy), Err(CheckInError::Geo(GeoError::BadAccuracy(-5.0))));
        let mut future = good();
        future.fix.fix_time_ms = NOW + 10 * 60_000;
        assert!(matches!(
            assess_check_in(&future, &policy),
            Err(CheckInError::Geo(GeoError::FixFromFuture { ahead_ms, .. })) if ahead_ms == 10 * 60_000 - 1_500
        ));
        let mut zero = good();
        zero.target.radius_override_m = Some(0);
        assert_eq!(assess_check_in(&zero, &policy), Err(CheckInError::BadRadius(0)));
        let mut backwards = good();
        backwards.previous_fix = Some(fix_at(north(0.0), 5.0, NOW));
        assert!(matches!(
            assess_check_in(&backwards, &policy),
            Err(CheckInError::PreviousFixNotEarlier { .. })
        ));
        let bad_policy = CheckInPolicy { max_speed_mps: f64::NAN, ..CheckInPolicy::default() };
        assert!(matches!(
            assess_check_in(&good(), &bad_policy),
            Err(CheckInError::BadPolicy { field: "max speed", .. })
        ));
        // Off-the-globe points never get this far: the point refuses to exist.
        assert!(WgsPoint::new(f64::NAN, 121.0).is_err());
        assert!(serde_json::from_str::<LocationFix>(
            r#"{"point":{"lat":95.0,"lng":121.0},"accuracy_m":5.0,"fix_time_ms":0,"provider":"gnss","is_mock":false}"#
        )
        .is_err());
        // Messages name the value, lower-case.
        assert_eq!(
            CheckInError::Geo(GeoError::BadAccuracy(-5.0)).to_string(),
            "accuracy -5 m must be a finite, non-negative number of metres"
        );
    }

    #[test]
    fn verdicts_serialize_for_the_server_to_keep() {
        let mut far = good();
        far.fix.point = north(300.0);
        far.fix.is_mock = true;
        far.stated_reason = Some("门店搬迁".into());
        let a = assess_check_in(&far, &CheckInPolicy::default()).expect("valid");
        let json = serde_json::to_value(&a).expect("serializes");
        assert_eq!(json["verdict"]["outcome"], "flagged");
        assert_eq!(json["verdict"]["reasons"][0]["kind"], "too_far");
        assert_eq!(json["verdict"]["reasons"][1]["kind"], "mock_location");
        assert_eq!(json["verdict"]["stated_reason"], "门店搬迁");
        let back: CheckInAssessment = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, a);
        let accepted = serde_json::to_string(&Verdict::Accepted).expect("serializes");
        assert_eq!(accepted, r#"{"outcome":"accepted"}"#);
    }

    fn at(device_ms: i64, server: Option<i64>) -> EventTime {
        EventTime { device_ms, hlc: Hlc { wall_ms: 0, counter: 0, node: 1 }, server_estimate_ms: server }
    }

    #[test]
    fn the_visit_state_machine_answers() {
        let a = CustomerId(Uuid::from_u128(1));
        let b = CustomerId(Uuid::from_u128(2));
        let visit = VisitId(Uuid::from_u128(10));
        let open = OpenVisit { visit_id: visit, customer_id: a, checked_in: at(NOW, Some(NOW + 100)) };
        assert_eq!(on_check_in(None, a, OpenVisitRule::RequireCheckOut), CheckInTransition::Open);
        assert_eq!(
            on_check_in(Some(&open), a, OpenVisitRule::RequireCheckOut),
            CheckInTransition::AlreadyCheckedIn { visit_id: visit }
        );
        assert_eq!(
            on_check_in(Some(&open), b, OpenVisitRule::RequireCheckOut),
            CheckInTransition::CheckOutFirst { open_visit_id: visit, open_customer_id: a }
        );
        assert_eq!(
            on_check_in(Some(&open), b, OpenVisitRule::AutoCheckOut),
            CheckInTransition::AutoCheckOutThenOpen { close_visit_id: visit, close_customer_id: a }
        );
        let out = at(NOW + 25 * 60_000, Some(NOW + 100 + 24 * 60_000));
        assert_eq!(on_check_out(None, visit, &out), Ok(CheckOutTransition::NoOpenVisit));
        let other = VisitId(Uuid::from_u128(11));
        assert_eq!(
            on_check_out(Some(&open), other, &out),
            Ok(CheckOutTransition::NotTheOpenVisit { open_visit_id: visit })
        );
        // The server estimates (monotonic) win over a wall clock the rep moved by a minute.
        assert_eq!(
            on_check_out(Some(&open), visit, &out),
            Ok(CheckOutTransition::Close {
                visit_id: visit,
                duration: VisitDuration { ms: 24 * 60_000, basis: DurationBasis::ServerEstimate }
            })
        );
        let no_sync = at(NOW + 25 * 60_000, None);
        assert_eq!(
            visit_duration(&open.checked_in, &no_sync),
            Ok(VisitDuration { ms: 25 * 60_000, basis: DurationBasis::DeviceClock })
        );
        // A sync between the taps re-anchored the estimate a little back: the device clock.
        assert_eq!(
            visit_duration(&at(NOW, Some(NOW + 500)), &at(NOW + 60_000, Some(NOW + 499))),
            Ok(VisitDuration { ms: 60_000, basis: DurationBasis::DeviceClock })
        );
        // The wall clock set back between the taps on one device: its logical clock.
        let stamped = |device_ms, wall_ms, node| EventTime {
            device_ms,
            hlc: Hlc { wall_ms, counter: 0, node },
            server_estimate_ms: None,
        };
        let before = stamped(NOW, NOW.unsigned_abs(), 1);
        assert_eq!(
            visit_duration(&before, &stamped(NOW - 3_600_000, NOW.unsigned_abs() + 5_000, 1)),
            Ok(VisitDuration { ms: 5_000, basis: DurationBasis::LogicalClock })
        );
        // Two devices and no clock running forward: an error.
        assert!(matches!(
            visit_duration(&before, &stamped(NOW - 1, NOW.unsigned_abs() + 5_000, 2)),
            Err(CheckInError::CheckOutBeforeCheckIn { .. })
        ));
    }
}
