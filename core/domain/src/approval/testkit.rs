//! Test fixtures shared by the approval tests: a small org and builders for steps,
//! requests and decisions.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::ids::{CustomerId, FactId, TeamId, UserId};
use crate::model::{Currency, Role};

/// A rep in the east sales team, their manager, the team's head, the sales VP above, two
/// finance clerks, an admin and a stranger.
pub(crate) struct Org {
    pub rep: UserId,
    pub manager: UserId,
    pub head: UserId,
    pub vp: UserId,
    pub finance: [UserId; 2],
    pub admin: UserId,
    pub stranger: UserId,
    pub team: TeamId,
    pub directory: StaticDirectory,
}

impl Org {
    pub fn new() -> Self {
        let [rep, manager, head, vp, f1, f2, admin, stranger] = [(); 8].map(|()| UserId::new());
        let (team, sales) = (TeamId::new(), TeamId::new());
        let directory = StaticDirectory {
            managers: BTreeMap::from([(rep, manager), (manager, head)]),
            parents: BTreeMap::from([(team, sales)]),
            heads: BTreeMap::from([(team, head), (sales, vp)]),
            roles: vec![(Role::Admin, admin), (Role::Manager, manager)],
            groups: BTreeMap::from([("finance".to_owned(), BTreeSet::from([f1, f2]))]),
        };
        Self { rep, manager, head, vp, finance: [f1, f2], admin, stranger, team, directory }
    }

    pub fn request(&self, subject: RequestSubject, submitted_ms: i64) -> ApprovalRequest {
        ApprovalRequest {
            id: FactId::new(),
            requester_id: self.rep,
            department_id: Some(self.team),
            subject,
            reason: "needed".into(),
            submitted_ms,
            flow_version: 1,
        }
    }

    pub fn discount(&self, discount_minor: i64, submitted_ms: i64) -> ApprovalRequest {
        self.request(
            RequestSubject::OrderDiscount {
                customer_id: CustomerId::new(),
                order_id: None,
                currency: Currency::CNY,
                order_total_minor: 1_000_000,
                discount_minor,
            },
            submitted_ms,
        )
    }

    pub fn leave(&self, start_ms: i64, end_ms: i64) -> ApprovalRequest {
        self.request(RequestSubject::Leave { range: TimeRange { start_ms, end_ms } }, 0)
    }
}

/// A sequence step without condition or time-out.
pub(crate) fn step(id: &str, approvers: Vec<Approvers>, rule: StepRule) -> FlowStep {
    FlowStep {
        id: StepId::from(id),
        title: id.to_owned(),
        approvers,
        rule,
        condition: None,
        timeout: None,
        escalation_only: false,
    }
}

/// A flow of `kind` with `steps`, waiting on steps nobody can act on.
pub(crate) fn flow(kind: ApprovalKind, steps: Vec<FlowStep>) -> ApprovalFlow {
    ApprovalFlow { kind, version: 1, steps, when_no_approver: NoApproverPolicy::Wait }
}

/// A decision on `request`'s step `step`, with a fresh id.
pub(crate) fn decision(
    request: &ApprovalRequest,
    step: &str,
    by: UserId,
    at_ms: i64,
    verdict: Verdict,
) -> Decision {
    Decision {
        id: FactId::new(),
        request_id: request.id,
        step: StepId::from(step),
        approver_id: by,
        at_ms,
        verdict,
        comment: String::new(),
    }
}
