//! What approved leave and business trips mean for tracking: inside an approved request's
//! range, the requester's location is not recorded. The answers feed the tracking gate
//! ([`crate::geo::TrackingPolicy`]) as [`Pause`]s.

use super::decide::ApprovalStatus;
use super::request::{ApprovalRequest, RequestSubject};
use crate::geo::{Pause, PauseKind};
use crate::ids::UserId;

/// The pause kind of an approved leave or trip, `None` for other kinds of request.
fn pause_kind(subject: &RequestSubject) -> Option<PauseKind> {
    match subject {
        RequestSubject::Leave { .. } => Some(PauseKind::Leave),
        RequestSubject::BusinessTrip { .. } => Some(PauseKind::Trip),
        _ => None,
    }
}

/// Whether tracking is paused for `user` at `t_ms`, and by what kind of request, given
/// requests with their current statuses: only an *approved* leave or trip of that user
/// whose range `[start, end)` holds `t_ms` pauses it.
pub fn tracking_paused<'a>(
    user: UserId,
    t_ms: i64,
    requests: impl IntoIterator<Item = (&'a ApprovalRequest, &'a ApprovalStatus)>,
) -> Option<PauseKind> {
    requests.into_iter().find_map(|(request, status)| {
        let kind = pause_kind(&request.subject)?;
        let range = request.subject.range()?;
        (request.requester_id == user && status.is_approved() && range.contains(t_ms)).then_some(kind)
    })
}

/// The tracking pauses of `user` from their approved leave and trips, for
/// [`TrackingPolicy::pauses`](crate::geo::TrackingPolicy::pauses). Ranges that do not end
/// after they start are left out.
pub fn tracking_pauses<'a>(
    user: UserId,
    requests: impl IntoIterator<Item = (&'a ApprovalRequest, &'a ApprovalStatus)>,
) -> Vec<Pause> {
    requests
        .into_iter()
        .filter(|(request, status)| request.requester_id == user && status.is_approved())
        .filter_map(|(request, _)| {
            let range = request.subject.range()?;
            Pause::new(range.start_ms, range.end_ms, pause_kind(&request.subject)?).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::decide::decide;
    use crate::approval::flow::{Approvers, StepRule};
    use crate::approval::request::{ApprovalKind, Verdict};
    use crate::approval::testkit::{Org, decision, flow, step};

    #[test]
    fn approved_leave_pauses_tracking_only_inside_its_range() {
        let org = Org::new();
        let flow =
            flow(ApprovalKind::Leave, vec![step("manager", vec![Approvers::Manager], StepRule::AnyOf)]);
        let request = org.leave(10_000, 20_000);
        let pending = decide(&flow, &request, &org.directory, &[], 5_000).expect("decide");
        assert_eq!(tracking_paused(org.rep, 15_000, [(&request, &pending.status)]), None);

        let approval = [decision(&request, "manager", org.manager, 6_000, Verdict::Approve)];
        let approved = decide(&flow, &request, &org.directory, &approval, 7_000).expect("decide");
        let requests = [(&request, &approved.status)];
        assert_eq!(tracking_paused(org.rep, 9_999, requests), None);
        assert_eq!(tracking_paused(org.rep, 10_000, requests), Some(PauseKind::Leave));
        assert_eq!(tracking_paused(org.rep, 19_999, requests), Some(PauseKind::Leave));
        assert_eq!(tracking_paused(org.rep, 20_000, requests), None);
        assert_eq!(tracking_paused(org.manager, 15_000, requests), None);

        let pauses = tracking_pauses(org.rep, requests);
        assert_eq!(pauses, [Pause::new(10_000, 20_000, PauseKind::Leave).expect("pause")]);
    }

    #[test]
    fn rejected_leave_does_not_pause_tracking() {
        let org = Org::new();
        let flow =
            flow(ApprovalKind::Leave, vec![step("manager", vec![Approvers::Manager], StepRule::AnyOf)]);
        let request = org.leave(10_000, 20_000);
        let rejection = [decision(&request, "manager", org.manager, 6_000, Verdict::Reject)];
        let rejected = decide(&flow, &request, &org.directory, &rejection, 7_000).expect("decide");
        assert_eq!(tracking_paused(org.rep, 15_000, [(&request, &rejected.status)]), None);
        assert!(tracking_pauses(org.rep, [(&request, &rejected.status)]).is_empty());
    }
}
