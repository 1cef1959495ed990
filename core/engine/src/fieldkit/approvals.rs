//! Approvals on the phone (issue #10): the org's approval flows as last synced, asking for an
//! approval (leave, a business trip, a discount…) as a fact queued offline, the user's
//! requests with where each stands as the server last reported it, and, for approvers, the
//! requests waiting for their decision and deciding them offline.
//!
//! The phone never decides where a request stands: the server replays the decisions
//! against the flow and sends the requester an `Approval` record (an [`ApprovalView`])
//! whenever that changes (a decision, a time-out). Until the record arrives, a request
//! raised here is listed from its queued fact, without a view.
//!
//! An approved leave or business trip pauses tracking inside its range: the tracking gate
//! takes its pauses from these records ([`tracking_pauses_of`]).
//!
//! A request's view reaches its requester's phone and the phones of the users whose data
//! scope covers the requester (their department's manager, an admin). An approver among
//! them decides on the phone: the decision names the step the view shows, is queued as an
//! immutable fact, and the server checks it on arrival (refusing it if the step moved on
//! meanwhile or the user is not its approver). An approver outside that scope (a named user
//! of another department) decides in the dashboard.

use std::collections::BTreeMap;

use fieldkit_domain::approval::{
    ApprovalFlow, ApprovalKind, ApprovalRequest, ApprovalView, AuthorizeError, Decision, RequestSubject,
    Verdict, tracking_pauses,
};
use fieldkit_domain::geo::Pause;
use fieldkit_domain::ids::{FactId, UserId};
use fieldkit_domain::model::User;
use fieldkit_domain::protocol::{Fact, Record, RecordKind};
use rusqlite::Connection;

use super::FieldKit;
use crate::error::{Error, Result};
use crate::session;
use crate::store::{facts, meta, outbox, records};
use crate::time::now_ms;

/// The stored kind of a request fact (`Fact::kind` of `Fact::ApprovalRequest`).
const REQUEST_FACT: &str = "approval_request";

/// Why an approval request is refused on this phone; nothing is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalRefusal {
    /// This phone holds no flow for the request's kind: the org has not configured one, or
    /// it has not reached this phone yet (sync, then try again).
    #[error("no approval flow for {} requests is on this phone", .kind.as_str())]
    NoFlow {
        /// The kind of request asked for.
        kind: ApprovalKind,
    },
    /// An order names an approval request this phone has no view of (not synced yet, or
    /// another user's).
    #[error("approval request {0} is not on this phone; sync, then try again")]
    NotHere(FactId),
    /// An order names an approval request that cannot carry its discounts.
    #[error(transparent)]
    NoAllowance(#[from] fieldkit_domain::approval::AllowanceError),
    /// An order names an approved discount another order already used.
    #[error("approval request {request} was already used by order {order}")]
    AlreadyUsed {
        /// The approval request.
        request: FactId,
        /// The order that used it.
        order: FactId,
    },
    /// The request is not waiting for this user's decision (final, another step's
    /// approvers, or already decided by them, here or as the server last said).
    #[error("approval request {request} cannot be decided by you now: {reason}")]
    NotYours {
        /// The approval request.
        request: FactId,
        /// Why.
        reason: AuthorizeError,
    },
}

/// The stored kind of a decision fact (`Fact::kind` of `Fact::ApprovalDecision`).
const DECISION_FACT: &str = "approval_decision";

/// The decisions queued or made on this phone.
fn decisions_here(conn: &Connection) -> Result<Vec<Decision>> {
    Ok(facts::recorded_between(conn, DECISION_FACT, i64::MIN, i64::MAX)?
        .into_iter()
        .filter_map(|f| if let Fact::ApprovalDecision(d) = f { Some(d) } else { None })
        .collect())
}

/// The step of `view` that `user` may decide now, counting decisions made on this phone
/// that the server's view does not show yet.
fn decidable(
    view: &ApprovalView,
    user: UserId,
    here: &[Decision],
) -> Result<fieldkit_domain::approval::StepId, AuthorizeError> {
    let step = view.status.decidable_by(user)?;
    if here.iter().any(|d| d.request_id == view.request.id && d.approver_id == user && d.step == step) {
        return Err(AuthorizeError::AlreadyDecided { step });
    }
    Ok(step)
}

/// The discount the approved request `id` allows `order` on this phone, or why none.
pub(super) fn allowance(conn: &Connection, id: FactId, order: &fieldkit_domain::model::Order) -> Result<i64> {
    let Some(Record::Approval(view)) = records::get(conn, RecordKind::Approval, id.0)? else {
        return Err(ApprovalRefusal::NotHere(id).into());
    };
    let allowed = fieldkit_domain::approval::discount_allowance(&view.request, &view.status, order)
        .map_err(ApprovalRefusal::from)?;
    let customer = order.customer_id.to_string();
    for earlier in facts::of_customer(conn, &customer, "order", u32::MAX)? {
        if let Fact::Order(o) = earlier
            && o.discount_approval == Some(id)
            && o.id != order.id
        {
            return Err(ApprovalRefusal::AlreadyUsed { request: id, order: o.id }.into());
        }
    }
    Ok(allowed)
}

/// One of the user's approval requests, as this phone knows it.
///
/// A request raised here is listed from the moment it is queued: `sent` is false until the
/// server acknowledges it, and `view` stays `None` until the server's view of it arrives
/// (the request counts as not decided until then). A request raised on another phone of
/// the same user appears once its view arrives.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MyApproval {
    /// The request, as raised.
    pub request: ApprovalRequest,
    /// Where it stands, its steps and the decisions' comments, as the server last reported
    /// them; `None` until the server has sent them.
    pub view: Option<ApprovalView>,
    /// Whether the server has the request (acknowledged it, or sent its view).
    pub sent: bool,
    /// The server's reason when it refused the request for good: it will never be decided
    /// (raise a new one).
    pub refused: Option<String>,
}

impl FieldKit {
    /// The org's approval flows on this phone, one per kind of request, in kind order (as
    /// of the last sync). Offline.
    pub fn approval_flows(&self) -> Result<Vec<ApprovalFlow>> {
        self.store.read(|conn| {
            let mut flows: Vec<ApprovalFlow> = records::all(conn, RecordKind::ApprovalFlow)?
                .into_iter()
                .filter_map(|record| match record {
                    Record::ApprovalFlow(flow) => Some(flow),
                    _ => None,
                })
                .collect();
            flows.sort_by_key(|flow| flow.kind);
            Ok(flows)
        })
    }

    /// Asks for an approval: builds the request under the local flow of its kind (whose
    /// version decides it), from the logged-in user and their department, stamped with the
    /// server-time estimate (device time before any sync), and queues it as a fact in one
    /// transaction. Offline.
    ///
    /// # Errors
    /// [`Error::NotLoggedIn`]; [`Error::Approval`] when no flow of the kind is on this
    /// phone; [`Error::ApprovalRequest`] for a range that does not end after it starts, a
    /// bad distance or a negative amount. Nothing is stored then.
    pub fn request_approval(&self, subject: RequestSubject, reason: String) -> Result<ApprovalRequest> {
        let user = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user;
        let now = now_ms();
        self.write_local(|tx, _| {
            let kind = subject.kind();
            let flow = flow_of(tx, kind)?.ok_or(ApprovalRefusal::NoFlow { kind })?;
            self.queue_request(tx, &user, &flow, subject, reason, now)
        })
    }

    /// The requests this phone holds that wait for the logged-in user's decision, oldest
    /// first: pending at a step of which the user is an approver, not decided by them yet
    /// (here or on the server). See the module documentation for which requests reach an
    /// approver's phone. Offline.
    pub fn approvals_to_decide(&self) -> Result<Vec<ApprovalView>> {
        let me = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        self.store.read(|conn| {
            let here = decisions_here(conn)?;
            let mut views: Vec<ApprovalView> = records::all(conn, RecordKind::Approval)?
                .into_iter()
                .filter_map(|record| match record {
                    Record::Approval(view) if decidable(&view, me, &here).is_ok() => Some(*view),
                    _ => None,
                })
                .collect();
            views.sort_by_key(|v| (v.request.submitted_ms, v.request.id));
            Ok(views)
        })
    }

    /// Decides request `request_id` at the step it waits at, as the logged-in user:
    /// approve, or reject with `comment` saying why. Queued as an immutable decision fact,
    /// stamped with the server-time estimate; the server checks it at sync and sends
    /// everyone the request's new standing. Offline.
    ///
    /// # Errors
    /// [`Error::NotLoggedIn`]; [`Error::Approval`] when the request is not on this phone
    /// ([`ApprovalRefusal::NotHere`]) or not waiting for this user's decision
    /// ([`ApprovalRefusal::NotYours`]); nothing is stored then.
    pub fn decide_approval(&self, request_id: FactId, verdict: Verdict, comment: String) -> Result<Decision> {
        let me = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        let now = now_ms();
        self.write_local(|tx, _| {
            let Some(Record::Approval(view)) = records::get(tx, RecordKind::Approval, request_id.0)? else {
                return Err(ApprovalRefusal::NotHere(request_id).into());
            };
            let step = decidable(&view, me, &decisions_here(tx)?)
                .map_err(|reason| ApprovalRefusal::NotYours { request: request_id, reason })?;
            let offset = meta::get_i64(tx, meta::CLOCK_OFFSET_MS)?;
            let at_ms = self.server_clock.estimate(offset.map(|o| now.saturating_add(o))).unwrap_or(now);
            let decision =
                Decision { id: FactId::new(), request_id, step, approver_id: me, at_ms, verdict, comment };
            facts::insert(tx, &Fact::ApprovalDecision(decision.clone()), None, now)?;
            outbox::append(tx, outbox::KIND_FACT, &decision.id.to_string(), now)?;
            tracing::debug!(step = %decision.step, "approval decided on the phone");
            Ok(decision)
        })
    }

    /// Queues `subject` as `user`'s request under `flow` in `tx` (the caller's transaction,
    /// so that a check-in and the request it raises are stored together or not at all).
    pub(super) fn queue_request(
        &self,
        tx: &rusqlite::Transaction<'_>,
        user: &User,
        flow: &ApprovalFlow,
        subject: RequestSubject,
        reason: String,
        now: i64,
    ) -> Result<ApprovalRequest> {
        let offset = meta::get_i64(tx, meta::CLOCK_OFFSET_MS)?;
        let submitted_ms = self.server_clock.estimate(offset.map(|o| now.saturating_add(o))).unwrap_or(now);
        let request = ApprovalRequest {
            id: FactId::new(),
            requester_id: user.id,
            department_id: user.team_id,
            subject,
            reason,
            submitted_ms,
            flow_version: flow.version,
        };
        request.check()?;
        facts::insert(tx, &Fact::ApprovalRequest(request.clone()), None, now)?;
        outbox::append(tx, outbox::KIND_FACT, &request.id.to_string(), now)?;
        tracing::debug!(
            kind = request.subject.kind().as_str(),
            flow_version = flow.version,
            "approval requested"
        );
        Ok(request)
    }

    /// The logged-in user's approval requests, newest first: those raised here (sent or
    /// still queued) and those the server reported, each with the server's latest view
    /// when there is one. Offline.
    pub fn approvals(&self) -> Result<Vec<MyApproval>> {
        let user = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        self.store.read(|conn| my_approvals(conn, user))
    }
}

/// The local flow of `kind`, if this phone has one.
pub(super) fn flow_of(conn: &Connection, kind: ApprovalKind) -> Result<Option<ApprovalFlow>> {
    Ok(match records::get(conn, RecordKind::ApprovalFlow, ApprovalFlow::record_id(kind))? {
        Some(Record::ApprovalFlow(flow)) if flow.kind == kind => Some(flow),
        _ => None,
    })
}

/// The server's views of `user`'s requests on this phone, by request id.
fn views_of(conn: &Connection, user: UserId) -> Result<BTreeMap<FactId, ApprovalView>> {
    Ok(records::all(conn, RecordKind::Approval)?
        .into_iter()
        .filter_map(|record| match record {
            Record::Approval(view) if view.request.requester_id == user => Some((view.request.id, *view)),
            _ => None,
        })
        .collect())
}

fn my_approvals(conn: &Connection, user: UserId) -> Result<Vec<MyApproval>> {
    let mut views = views_of(conn, user)?;
    let refusals: BTreeMap<String, String> = outbox::parked(conn)?
        .into_iter()
        .filter(|item| item.item_kind == outbox::KIND_FACT)
        .map(|item| (item.item_id, item.reason))
        .collect();
    let mut mine = Vec::new();
    for fact in facts::recorded_between(conn, REQUEST_FACT, i64::MIN, i64::MAX)? {
        let Fact::ApprovalRequest(request) = fact else { continue };
        if request.requester_id != user {
            continue;
        }
        let view = views.remove(&request.id);
        let sent = view.is_some() || facts::is_synced(conn, request.id)? == Some(true);
        let refused = refusals.get(&request.id.to_string()).cloned();
        mine.push(MyApproval { request, view, sent, refused });
    }
    mine.extend(views.into_values().map(|view| MyApproval {
        request: view.request.clone(),
        view: Some(view),
        sent: true,
        refused: None,
    }));
    mine.sort_by_key(|a| std::cmp::Reverse((a.request.submitted_ms, a.request.id)));
    Ok(mine)
}

/// The tracking pauses of `user` from the approved leave and business trips the server
/// reported to this phone.
pub(crate) fn tracking_pauses_of(conn: &Connection, user: UserId) -> Result<Vec<Pause>> {
    let views = views_of(conn, user)?;
    Ok(tracking_pauses(user, views.values().map(|v| (&v.request, &v.status))))
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::approval::{
        ApprovalStatus, Approvers, FlowStep, NoApproverPolicy, RequestError, StepId, StepRule, TimeRange,
    };
    use fieldkit_domain::geo::{UtcOffset, Weekday, WorkWindow, WorkingHours};
    use fieldkit_domain::ids::TeamId;
    use fieldkit_domain::model::{LocationFix, LocationProvider, OrgSettings, WgsPoint};
    use tempfile::TempDir;

    use super::*;
    use crate::fieldkit::TrackIntake;
    use crate::fieldkit::testkit::{log_in, open};

    const MINUTE: i64 = 60_000;

    /// Stores a reference record as the pull does.
    fn receive(kit: &FieldKit, record: Record) {
        kit.store.write(|tx| records::upsert(tx, &record)).expect("record stored");
    }

    fn flow(kind: ApprovalKind, version: u32) -> ApprovalFlow {
        ApprovalFlow {
            kind,
            version,
            steps: vec![FlowStep {
                id: StepId::from("manager"),
                title: "Manager".into(),
                approvers: vec![Approvers::Manager],
                rule: StepRule::AnyOf,
                condition: None,
                timeout: None,
                escalation_only: false,
            }],
            when_no_approver: NoApproverPolicy::Wait,
        }
    }

    fn leave(start_ms: i64, end_ms: i64) -> RequestSubject {
        RequestSubject::Leave { range: TimeRange { start_ms, end_ms } }
    }

    fn view(request: &ApprovalRequest, status: ApprovalStatus) -> Record {
        Record::Approval(Box::new(ApprovalView {
            request: request.clone(),
            status,
            history: Vec::new(),
            decisions: Vec::new(),
        }))
    }

    fn rejected(at_ms: i64, by: UserId) -> ApprovalStatus {
        ApprovalStatus::Rejected { at_ms, step: StepId::from("manager"), by }
    }

    fn queued(kit: &FieldKit) -> u64 {
        kit.sync_status().expect("status").outbox.pending
    }

    #[test]
    fn requesting_without_a_flow_of_the_kind_is_refused_naming_the_kind_and_stores_nothing() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        log_in(&kit, None);
        receive(&kit, Record::ApprovalFlow(flow(ApprovalKind::BusinessTrip, 1)));

        let err = kit.request_approval(leave(1_000, 2_000), "family".into()).expect_err("no leave flow");
        assert!(
            matches!(err, Error::Approval(ApprovalRefusal::NoFlow { kind: ApprovalKind::Leave })),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "no approval flow for leave requests is on this phone");
        assert_eq!(queued(&kit), 0);
        assert!(kit.approvals().expect("approvals").is_empty());
    }

    #[test]
    fn requesting_needs_a_login() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        receive(&kit, Record::ApprovalFlow(flow(ApprovalKind::Leave, 1)));
        let err = kit.request_approval(leave(1_000, 2_000), String::new()).expect_err("no session");
        assert!(matches!(err, Error::NotLoggedIn), "{err:?}");
        assert_eq!(queued(&kit), 0);
    }

    #[test]
    fn a_leave_that_does_not_end_after_it_starts_is_invalid_and_stores_nothing() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        log_in(&kit, None);
        receive(&kit, Record::ApprovalFlow(flow(ApprovalKind::Leave, 1)));
        let err = kit.request_approval(leave(2_000, 2_000), "family".into()).expect_err("empty range");
        assert!(
            matches!(
                err,
                Error::ApprovalRequest(RequestError::EmptyRange { start_ms: 2_000, end_ms: 2_000 })
            ),
            "{err:?}"
        );
        assert_eq!(queued(&kit), 0);
        assert!(kit.approvals().expect("approvals").is_empty());
    }

    #[test]
    fn a_request_is_queued_as_one_fact_under_the_local_flow_and_listed_unsent_after_a_reopen() {
        let dir = TempDir::new().expect("temp dir");
        let team = TeamId::new();
        let (user, request) = {
            let kit = open(&dir);
            let user = log_in(&kit, Some(team));
            receive(&kit, Record::ApprovalFlow(flow(ApprovalKind::Leave, 3)));
            assert_eq!(kit.approval_flows().expect("flows"), vec![flow(ApprovalKind::Leave, 3)]);
            let before = now_ms();
            let request = kit.request_approval(leave(1_000, 2_000), "family".into()).expect("queued");
            let after = now_ms();
            assert_eq!(request.requester_id, user.id);
            assert_eq!(request.department_id, Some(team));
            assert_eq!(request.flow_version, 3);
            assert_eq!(request.reason, "family");
            assert!((before..=after).contains(&request.submitted_ms), "device time before any sync");
            assert_eq!(queued(&kit), 1);
            (user, request)
        };
        let kit = open(&dir);
        assert_eq!(queued(&kit), 1, "the queue survives a reopen");
        assert_eq!(kit.is_synced(request.id).expect("fact"), Some(false));
        let stored = kit.store.read(|conn| facts::bodies(conn, &[request.id.to_string()])).expect("fact");
        assert_eq!(stored, vec![Fact::ApprovalRequest(request.clone())]);
        assert_eq!(kit.current_user().expect("session").map(|u| u.id), Some(user.id));
        assert_eq!(
            kit.approvals().expect("approvals"),
            vec![MyApproval { request, view: None, sent: false, refused: None }]
        );
    }

    #[test]
    fn the_request_is_stamped_with_the_server_time_estimate_once_an_offset_is_known() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        log_in(&kit, None);
        receive(&kit, Record::ApprovalFlow(flow(ApprovalKind::Leave, 1)));
        let offset = 3_600_000;
        kit.store.write(|tx| meta::set(tx, meta::CLOCK_OFFSET_MS, &offset.to_string())).expect("offset");
        let before = now_ms();
        let request = kit.request_approval(leave(1_000, 2_000), String::new()).expect("queued");
        let after = now_ms();
        assert!(
            (before + offset..=after + offset).contains(&request.submitted_ms),
            "{}",
            request.submitted_ms
        );
    }

    #[test]
    fn the_servers_views_replace_the_queued_requests_and_add_those_raised_elsewhere() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        let user = log_in(&kit, None);
        receive(&kit, Record::ApprovalFlow(flow(ApprovalKind::Leave, 1)));
        let first = kit.request_approval(leave(1_000, 2_000), "first".into()).expect("queued");
        let second = kit.request_approval(leave(3_000, 4_000), "second".into()).expect("queued");
        // The server acknowledges the first request, as the sync records it.
        kit.store
            .write(|tx| {
                facts::mark_synced(tx, first.id, Some(7))?;
                outbox::remove(tx, &first.id.to_string())
            })
            .expect("acknowledged");
        let listed = kit.approvals().expect("approvals");
        assert_eq!(
            listed.iter().map(|a| (a.request.id, a.sent)).collect::<Vec<_>>(),
            [(second.id, false), (first.id, true)]
        );
        assert!(listed.iter().all(|a| a.view.is_none()));

        receive(&kit, view(&first, ApprovalStatus::Approved { at_ms: 5_000 }));
        let manager = UserId::new();
        receive(&kit, view(&second, rejected(5_000, manager)));
        let elsewhere = ApprovalRequest {
            id: FactId::new(),
            submitted_ms: first.submitted_ms.saturating_sub(MINUTE),
            reason: "raised on another phone".into(),
            ..first.clone()
        };
        receive(&kit, view(&elsewhere, ApprovalStatus::Approved { at_ms: 5_000 }));
        let someone_else =
            ApprovalRequest { id: FactId::new(), requester_id: UserId::new(), ..first.clone() };
        receive(&kit, view(&someone_else, ApprovalStatus::Approved { at_ms: 5_000 }));

        let listed = kit.approvals().expect("approvals");
        let statuses: Vec<_> = listed
            .iter()
            .map(|a| (a.request.id, a.sent, a.view.as_ref().map(|v| v.status.clone())))
            .collect();
        assert_eq!(
            statuses,
            [
                (second.id, true, Some(rejected(5_000, manager))),
                (first.id, true, Some(ApprovalStatus::Approved { at_ms: 5_000 })),
                (elsewhere.id, true, Some(ApprovalStatus::Approved { at_ms: 5_000 })),
            ]
        );
        assert!(listed.iter().all(|a| a.request.requester_id == user.id));

        // A later view replaces the earlier one: still one entry per request.
        receive(&kit, view(&second, ApprovalStatus::Approved { at_ms: 6_000 }));
        let listed = kit.approvals().expect("approvals");
        assert_eq!(listed.len(), 3);
        assert_eq!(
            listed[0].view.as_ref().map(|v| v.status.clone()),
            Some(ApprovalStatus::Approved { at_ms: 6_000 })
        );
    }

    #[test]
    fn a_request_the_server_refused_for_good_is_listed_with_its_reason() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        log_in(&kit, None);
        receive(&kit, Record::ApprovalFlow(flow(ApprovalKind::Leave, 1)));
        let request = kit.request_approval(leave(1_000, 2_000), String::new()).expect("queued");
        kit.store
            .write(|tx| outbox::park(tx, &request.id.to_string(), "invalid", "flow version 1 is unknown"))
            .expect("parked");
        let listed = kit.approvals().expect("approvals");
        assert_eq!(listed.len(), 1);
        assert!(!listed[0].sent);
        assert_eq!(listed[0].refused.as_deref(), Some("flow version 1 is unknown"));
    }

    fn fix(time_ms: i64) -> LocationFix {
        LocationFix {
            point: WgsPoint::new(31.2304, 121.4737).expect("point"),
            accuracy_m: 10.0,
            fix_time_ms: time_ms,
            provider: LocationProvider::Gnss,
            is_mock: false,
        }
    }

    #[test]
    fn an_approved_leave_drops_the_fixes_in_its_range_only() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        let user = log_in(&kit, None);
        let always = WorkingHours {
            offset: UtcOffset::UTC,
            days: Weekday::ALL.to_vec(),
            windows: vec![WorkWindow::new(0, 1_440).expect("all day")],
            days_off: Vec::new(),
            extra_work_days: Vec::new(),
        };
        receive(&kit, Record::OrgSettings(OrgSettings { working_hours: always, ..OrgSettings::default() }));
        kit.set_on_duty(true).expect("on duty");
        let now = now_ms();
        let request = |subject: RequestSubject| ApprovalRequest {
            id: FactId::new(),
            requester_id: user.id,
            department_id: None,
            subject,
            reason: String::new(),
            submitted_ms: now - 60 * MINUTE,
            flow_version: 1,
        };
        let approved = request(leave(now - 30 * MINUTE, now - 10 * MINUTE));
        receive(&kit, view(&approved, ApprovalStatus::Approved { at_ms: now - 50 * MINUTE }));
        let refused = request(leave(now - 45 * MINUTE, now - 38 * MINUTE));
        receive(&kit, view(&refused, rejected(now - 50 * MINUTE, UserId::new())));
        let trip = RequestSubject::BusinessTrip {
            range: TimeRange { start_ms: now - 8 * MINUTE, end_ms: now + MINUTE },
            destination: "Hangzhou".into(),
        };
        let pending = request(trip);
        receive(
            &kit,
            view(
                &pending,
                ApprovalStatus::Pending {
                    step: StepId::from("manager"),
                    standing_in_for: None,
                    rule: StepRule::AnyOf,
                    approvers: [UserId::new()].into(),
                    approved_by: Default::default(),
                    since_ms: now - 50 * MINUTE,
                    deadline_ms: None,
                },
            ),
        );

        let fixes: Vec<LocationFix> =
            [40, 35, 30, 25, 11, 10, 5].iter().map(|m| fix(now - m * MINUTE)).collect();
        let intake = kit.record_fixes(&fixes).expect("fed");
        assert_eq!(intake, TrackIntake { kept: 4, on_leave: 3, ..TrackIntake::default() });
        let waiting = kit.store.read(crate::store::tracks::pending).expect("waiting points");
        let kept: Vec<i64> = waiting.iter().map(|p| (now - p.time_ms) / MINUTE).collect();
        assert_eq!(kept, [40, 35, 10, 5]);
    }
}
