//! What the server derives from the location facts phones push, before storing them: the
//! points each fact carries, the track points already past the org's retention (dropped),
//! and the server's own verdict on check-ins and check-outs.
//!
//! The verdict is the domain's ([`assess_check_in`], [`assess_check_out`]): the same code
//! the phone ran, given what the server holds: the customer record, the org's check-in
//! policy and the rep's latest point before the fix (stored, or earlier in the same push).
//! It is computed before the insert and stored with the fact in one transaction. A fact the
//! server cannot judge (unknown customer, input the domain refuses, a customer record that
//! no longer parses) is kept with the reason instead: judging never costs a fact.

use std::collections::HashMap;

use fieldkit_domain::checkin::{
    CheckInInput, CheckInPolicy, CheckInTarget, assess_check_in, assess_check_out,
};
use fieldkit_domain::ids::{CustomerId, OrgId};
use fieldkit_domain::model::{Customer, LocationFix, LocationProvider, TrackBatch, TrackPoint};
use fieldkit_domain::protocol::{Fact, Record, RecordKind};

use crate::storage::{
    LocationPoint, PointSource, ServerAssessment, Storage, StorageError, StorageResult, StoredRecord,
};

/// The location points `fact` carries that were taken at or after `cutoff_ms`: every point
/// of a track batch, the fix of a check-in or check-out.
pub(crate) fn points_of(fact: &Fact, cutoff_ms: i64) -> Vec<LocationPoint> {
    let fix_point = |fix: &LocationFix, source, fact_id| LocationPoint {
        point: TrackPoint { point: fix.point, accuracy_m: fix.accuracy_m, time_ms: fix.fix_time_ms },
        source,
        fact_id,
    };
    let all = match fact {
        Fact::Track(batch) => batch
            .points
            .iter()
            .map(|p| LocationPoint { point: *p, source: PointSource::Track, fact_id: batch.id })
            .collect(),
        Fact::CheckIn(c) => vec![fix_point(&c.fix, PointSource::CheckIn, c.id)],
        Fact::CheckOut(c) => vec![fix_point(&c.fix, PointSource::CheckOut, c.id)],
        Fact::Photo(_)
        | Fact::Order(_)
        | Fact::DayPlan(_)
        | Fact::CustomerProposal(_)
        | Fact::StockCount(_)
        | Fact::ApprovalRequest(_)
        | Fact::ApprovalDecision(_)
        | Fact::TaskStepDone(_)
        | Fact::VoiceNote(_) => Vec::new(),
    };
    all.into_iter().filter(|p| p.point.time_ms >= cutoff_ms).collect()
}

/// A track batch without its points taken before `cutoff_ms`, or `None` when `fact` keeps
/// everything (not a track, or nothing that old). Points past retention are not kept
/// anywhere, not even in the stored body; the fact itself is still stored (and answered)
/// so that the phone stops sending it.
pub(crate) fn without_expired_points(fact: &Fact, cutoff_ms: i64) -> Option<Fact> {
    let Fact::Track(batch) = fact else { return None };
    if batch.points.iter().all(|p| p.time_ms >= cutoff_ms) {
        return None;
    }
    Some(Fact::Track(TrackBatch {
        id: batch.id,
        rep_id: batch.rep_id,
        points: batch.points.iter().filter(|p| p.time_ms >= cutoff_ms).copied().collect(),
    }))
}

/// When `fact` happened, device Unix milliseconds: its event time, or a track batch's
/// latest point (as pushed, so that a batch stripped of expired points still ages out).
pub(crate) fn event_ms(fact: &Fact) -> Option<i64> {
    match fact {
        Fact::Track(batch) => batch.points.iter().map(|p| p.time_ms).max(),
        other => other.at().map(|at| at.device_ms),
    }
}

/// Judges check-ins and check-outs of one push, looking each customer up once.
pub(crate) struct Judge<'a> {
    storage: &'a dyn Storage,
    org_id: OrgId,
    policy: &'a CheckInPolicy,
    /// Points of the push being judged, which the server does not hold yet.
    pushed: &'a [LocationPoint],
    customers: HashMap<CustomerId, Option<Customer>>,
}

impl<'a> Judge<'a> {
    /// A judge for one push of `org_id` under `policy`; `pushed` are the location points of
    /// the facts in the push.
    pub(crate) fn new(
        storage: &'a dyn Storage,
        org_id: OrgId,
        policy: &'a CheckInPolicy,
        pushed: &'a [LocationPoint],
    ) -> Self {
        Self { storage, org_id, policy, pushed, customers: HashMap::new() }
    }

    /// The server's verdict on `fact`; `None` for facts that are not check-ins or check-outs.
    /// Only a failing database is an error (the push is answered with a retryable error).
    pub(crate) async fn judge(&mut self, fact: &Fact) -> StorageResult<Option<ServerAssessment>> {
        let (customer_id, fix) = match fact {
            Fact::CheckIn(c) => (c.customer_id, c.fix),
            Fact::CheckOut(c) => (c.customer_id, c.fix),
            Fact::Track(_)
            | Fact::Photo(_)
            | Fact::Order(_)
            | Fact::DayPlan(_)
            | Fact::CustomerProposal(_)
            | Fact::StockCount(_)
            | Fact::ApprovalRequest(_)
            | Fact::ApprovalDecision(_)
            | Fact::TaskStepDone(_)
            | Fact::VoiceNote(_) => return Ok(None),
        };
        let unjudged = |why: String| Ok(Some(ServerAssessment::Unjudged { unjudged: why }));
        let customer = match self.customer(customer_id).await {
            Ok(Some(customer)) => customer,
            Ok(None) => return unjudged(format!("customer {customer_id} not found")),
            Err(StorageError::Corrupt { what, source }) => {
                tracing::error!(customer = %customer_id, error = %source, "stored {what} does not parse");
                return unjudged(format!("customer {customer_id} cannot be read"));
            }
            Err(e) => return Err(e),
        };
        let target = CheckInTarget::of_customer(&customer);
        let previous = self.previous_fix(fact.rep_id(), fix.fix_time_ms).await?;
        let assessment = match fact {
            Fact::CheckIn(c) => {
                assess_check_in(&CheckInInput::from_check_in(c, target, previous), self.policy)
            }
            Fact::CheckOut(c) => {
                assess_check_out(&CheckInInput::from_check_out(c, target, previous), self.policy)
            }
            Fact::Track(_)
            | Fact::Photo(_)
            | Fact::Order(_)
            | Fact::DayPlan(_)
            | Fact::CustomerProposal(_)
            | Fact::StockCount(_)
            | Fact::ApprovalRequest(_)
            | Fact::ApprovalDecision(_)
            | Fact::TaskStepDone(_)
            | Fact::VoiceNote(_) => return Ok(None),
        };
        match assessment {
            Ok(assessment) => Ok(Some(ServerAssessment::Judged(assessment))),
            Err(e) => unjudged(e.to_string()),
        }
    }

    async fn customer(&mut self, id: CustomerId) -> StorageResult<Option<Customer>> {
        if let Some(known) = self.customers.get(&id) {
            return Ok(known.clone());
        }
        let customer = match self.storage.record(self.org_id, RecordKind::Customer, id.0).await? {
            Some(StoredRecord { record: Record::Customer(c), .. }) => Some(c),
            _ => None,
        };
        self.customers.insert(id, customer.clone());
        Ok(customer)
    }

    /// The rep's latest point strictly before `before_ms`: stored, or pushed with this push.
    async fn previous_fix(
        &self,
        rep: fieldkit_domain::ids::UserId,
        before_ms: i64,
    ) -> StorageResult<Option<LocationFix>> {
        let stored = self.storage.latest_point_before(self.org_id, rep, before_ms).await?.map(|p| p.point);
        let pushed =
            self.pushed.iter().map(|p| p.point).filter(|p| p.time_ms < before_ms).max_by_key(|p| p.time_ms);
        let latest = match (stored, pushed) {
            (Some(a), Some(b)) => Some(if b.time_ms > a.time_ms { b } else { a }),
            (a, b) => a.or(b),
        };
        // The server keeps no provider or mock flag for points: only position, accuracy and
        // time matter for the speed check.
        Ok(latest.map(|p| LocationFix {
            point: p.point,
            accuracy_m: p.accuracy_m,
            fix_time_ms: p.time_ms,
            provider: LocationProvider::Other,
            is_mock: false,
        }))
    }
}
