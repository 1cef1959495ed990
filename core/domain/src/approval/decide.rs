//! The approval state machine: where a request stands, computed from its flow, the org
//! facts, the decisions recorded so far and the current time.
//!
//! Decisions sync from phones, so they arrive in any order, late, twice, or made at the
//! same moment by two approvers. The state is therefore a pure function of the *set* of
//! decisions: they are replayed in order of (time, id), time-outs firing in between, and
//! each is applied or ignored with a reason. The first decision by (time, id) that settles
//! an any-of step wins; the others are ignored, never applied twice.
//!
//! Because the replay goes by the time a decision carries, a decision that syncs late still
//! counts from when it was made. Callers should stamp decisions with server time (the
//! server's receipt, or the phone's estimate of it) so that a late sync cannot undo what
//! already happened.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::directory::{ApproverDirectory, resolve_approvers};
use super::flow::{ApprovalFlow, Escalation, FlowError, NoApproverPolicy, StepRule};
use super::request::{ApprovalRequest, Decision, RequestError, StepId, Verdict};
use crate::ids::{FactId, UserId};

/// A set of users, as it crosses the FFI: a list without repeats, in id order
/// (`typealias UserSet = List<UserId>` in Kotlin, `[UserId]` in Swift).
#[cfg(feature = "uniffi")]
type UserSet = BTreeSet<UserId>;

#[cfg(feature = "uniffi")]
uniffi::custom_type!(UserSet, Vec<UserId>, {
    remote,
    lower: |users| users.into_iter().collect(),
    try_lift: |users| Ok(users.into_iter().collect()),
});

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting on a step.
    Pending {
        /// The current step.
        step: StepId,
        /// When the current step is an escalation step, the sequence step it stands in for.
        standing_in_for: Option<StepId>,
        /// Any-of or all-of.
        rule: StepRule,
        /// Everyone who may decide the step (empty when nobody resolved).
        approvers: BTreeSet<UserId>,
        /// Who has already approved it (all-of steps).
        approved_by: BTreeSet<UserId>,
        /// When the step became current, Unix ms.
        since_ms: i64,
        /// When it times out, Unix ms, if it can.
        deadline_ms: Option<i64>,
    },
    /// Every step that applies approved it.
    Approved {
        /// When the last step was passed, Unix ms.
        at_ms: i64,
    },
    /// A step rejected it.
    Rejected {
        /// When, Unix ms.
        at_ms: i64,
        /// The step that rejected.
        step: StepId,
        /// Who rejected.
        by: UserId,
    },
}

impl ApprovalStatus {
    /// Whether the request is approved or rejected for good.
    #[must_use]
    pub fn is_final(&self) -> bool {
        !matches!(self, ApprovalStatus::Pending { .. })
    }

    /// Whether the request is approved.
    #[must_use]
    pub fn is_approved(&self) -> bool {
        matches!(self, ApprovalStatus::Approved { .. })
    }

    /// Who may act now: the current step's approvers who have not decided yet.
    #[must_use]
    pub fn may_act(&self) -> BTreeSet<UserId> {
        match self {
            ApprovalStatus::Pending { approvers, approved_by, .. } => {
                approvers.difference(approved_by).copied().collect()
            }
            _ => BTreeSet::new(),
        }
    }
}

/// How a step that is no longer current ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StepOutcome {
    /// Approved (by one approver for any-of, by all for all-of).
    Approved {
        /// Who approved.
        by: BTreeSet<UserId>,
    },
    /// Rejected.
    Rejected {
        /// Who rejected.
        by: UserId,
    },
    /// Nobody decided in time.
    TimedOut {
        /// The escalation step that took over; `None` when the flow moved to the next step.
        escalated_to: Option<StepId>,
    },
    /// Nobody could act on it and the flow skips such steps.
    Skipped,
}

/// One step the request has been through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StepRecord {
    /// The step.
    pub step: StepId,
    /// When it became current, Unix ms.
    pub since_ms: i64,
    /// When it ended, Unix ms.
    pub ended_ms: i64,
    /// How it ended.
    pub outcome: StepOutcome,
}

/// Why a decision was not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum IgnoreReason {
    /// It decides another request.
    #[error("the decision is for another request")]
    OtherRequest,
    /// The same decision (same id) was seen before.
    #[error("the same decision was received twice")]
    Repeated,
    /// It is stamped after the time the state is computed for.
    #[error("the decision is stamped after now")]
    AfterNow,
    /// It is stamped before the request was submitted.
    #[error("the decision is stamped before the request")]
    BeforeRequest,
    /// The request was already approved or rejected.
    #[error("the request was already final")]
    RequestFinal,
    /// The step it decides had timed out by then.
    #[error("step {step} had timed out")]
    AfterTimeout {
        /// The step decided.
        step: StepId,
    },
    /// It decides a step that was not current then.
    #[error("step {step} was not current (step {current} was)")]
    NotCurrentStep {
        /// The step decided.
        step: StepId,
        /// The current step.
        current: StepId,
    },
    /// The approver is not one of the step's approvers.
    #[error("the approver is not an approver of step {step}")]
    NotAnApprover {
        /// The step.
        step: StepId,
    },
    /// The approver had already decided the step.
    #[error("the approver had already decided step {step}")]
    AlreadyDecided {
        /// The step.
        step: StepId,
    },
}

/// A decision that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredDecision {
    /// The decision.
    pub decision_id: FactId,
    /// Who made it.
    pub approver_id: UserId,
    /// Why it was ignored.
    pub reason: IgnoreReason,
}

/// A request's state: its status, the steps it went through and the fate of each decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalState {
    /// The request.
    pub request_id: FactId,
    /// Where it stands.
    pub status: ApprovalStatus,
    /// The steps passed, rejected, timed out or skipped, in order.
    pub history: Vec<StepRecord>,
    /// The decisions applied, in the order they were applied.
    pub applied: Vec<FactId>,
    /// The decisions ignored, in replay order.
    pub ignored: Vec<IgnoredDecision>,
}

/// Why a request's state cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecideError {
    /// The flow definition is invalid.
    #[error("invalid flow: {0}")]
    Flow(#[from] FlowError),
    /// The request is malformed.
    #[error("invalid request: {0}")]
    Request(#[from] RequestError),
    /// The flow is another version than the one the request was raised under.
    #[error("flow version {flow} cannot decide a request raised under version {request}")]
    VersionMismatch {
        /// The flow's version.
        flow: u32,
        /// The request's flow version.
        request: u32,
    },
    /// The flow is for another kind of request.
    #[error("a {flow} flow cannot decide a {request} request")]
    KindMismatch {
        /// The flow's kind.
        flow: &'static str,
        /// The request's kind.
        request: &'static str,
    },
}

/// Why a user may not decide a request now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizeError {
    /// The state is of another request.
    #[error("the state given is of another request")]
    OtherRequest,
    /// The request is already approved or rejected.
    #[error("the request is already final")]
    RequestFinal,
    /// The user already approved the current step.
    #[error("the user already decided step {step}")]
    AlreadyDecided {
        /// The current step.
        step: StepId,
    },
    /// The user is not an approver of the current step.
    #[error("the user is not an approver of step {step}")]
    NotAnApprover {
        /// The current step.
        step: StepId,
    },
}

/// Whether `user` may decide `request` now, given its `state` (computed by [`decide`] at
/// the current time). On success, the step the decision must name.
///
/// # Errors
/// The request is final, the user already decided the current step, or is not one of its
/// approvers.
pub fn authorize(
    user: UserId,
    request: &ApprovalRequest,
    state: &ApprovalState,
) -> Result<StepId, AuthorizeError> {
    if state.request_id != request.id {
        return Err(AuthorizeError::OtherRequest);
    }
    state.status.decidable_by(user)
}

impl ApprovalStatus {
    /// The step `user` may decide now: the request is pending at a step of which the user
    /// is an approver and has not approved yet.
    ///
    /// # Errors
    /// The request is final, the user already decided the current step, or is not one of its
    /// approvers.
    pub fn decidable_by(&self, user: UserId) -> Result<StepId, AuthorizeError> {
        match self {
            ApprovalStatus::Pending { step, approvers, approved_by, .. } => {
                if approved_by.contains(&user) {
                    Err(AuthorizeError::AlreadyDecided { step: step.clone() })
                } else if !approvers.contains(&user) {
                    Err(AuthorizeError::NotAnApprover { step: step.clone() })
                } else {
                    Ok(step.clone())
                }
            }
            ApprovalStatus::Approved { .. } | ApprovalStatus::Rejected { .. } => {
                Err(AuthorizeError::RequestFinal)
            }
        }
    }
}

/// Computes where `request` stands at `now_ms` under `flow` (of the request's kind and
/// flow version), given every decision recorded
/// for it so far (in any order, possibly repeated). Deterministic: the same set of
/// decisions gives the same state whatever their order.
///
/// # Errors
/// An invalid flow or request, or a flow for another kind of request.
pub fn decide(
    flow: &ApprovalFlow,
    request: &ApprovalRequest,
    directory: &dyn ApproverDirectory,
    decisions: &[Decision],
    now_ms: i64,
) -> Result<ApprovalState, DecideError> {
    flow.validate()?;
    request.check()?;
    if flow.kind != request.subject.kind() {
        return Err(DecideError::KindMismatch {
            flow: flow.kind.as_str(),
            request: request.subject.kind().as_str(),
        });
    }
    if flow.version != request.flow_version {
        return Err(DecideError::VersionMismatch { flow: flow.version, request: request.flow_version });
    }
    let mut sorted: Vec<&Decision> = decisions.iter().collect();
    sorted.sort_by(|a, b| {
        (a.at_ms, a.id, a.approver_id, &a.step, a.verdict, &a.comment, a.request_id).cmp(&(
            b.at_ms,
            b.id,
            b.approver_id,
            &b.step,
            b.verdict,
            &b.comment,
            b.request_id,
        ))
    });

    let mut machine = Machine::new(flow, request, directory);
    let mut seen = BTreeSet::new();
    for d in sorted {
        let outcome = if d.request_id != request.id {
            Err(IgnoreReason::OtherRequest)
        } else if !seen.insert(d.id) {
            Err(IgnoreReason::Repeated)
        } else if d.at_ms > now_ms {
            Err(IgnoreReason::AfterNow)
        } else if d.at_ms < request.submitted_ms {
            Err(IgnoreReason::BeforeRequest)
        } else {
            machine.advance(d.at_ms);
            machine.apply(d)
        };
        match outcome {
            Ok(()) => machine.applied.push(d.id),
            Err(reason) => {
                machine.ignored.push(IgnoredDecision {
                    decision_id: d.id,
                    approver_id: d.approver_id,
                    reason,
                });
            }
        }
    }
    machine.advance(now_ms);
    Ok(machine.finish())
}

/// The current step of a pending request.
struct Stage {
    /// Its position in `flow.steps`.
    index: usize,
    /// The position in the applicable sequence it is (or stands in for).
    origin: usize,
    standing_in_for: Option<StepId>,
    since_ms: i64,
    approvers: BTreeSet<UserId>,
    approved_by: BTreeSet<UserId>,
}

enum Cursor {
    At(Stage),
    Done(ApprovalStatus),
}

struct Machine<'a> {
    flow: &'a ApprovalFlow,
    request: &'a ApprovalRequest,
    directory: &'a dyn ApproverDirectory,
    /// The applicable sequence steps, as positions in `flow.steps`.
    sequence: Vec<usize>,
    cursor: Cursor,
    history: Vec<StepRecord>,
    /// Steps that timed out, with their deadlines.
    timed_out: Vec<(StepId, i64)>,
    applied: Vec<FactId>,
    ignored: Vec<IgnoredDecision>,
}

impl<'a> Machine<'a> {
    fn new(
        flow: &'a ApprovalFlow,
        request: &'a ApprovalRequest,
        directory: &'a dyn ApproverDirectory,
    ) -> Self {
        let mut machine = Self {
            flow,
            request,
            directory,
            sequence: flow.applicable_steps(&request.subject),
            cursor: Cursor::Done(ApprovalStatus::Approved { at_ms: request.submitted_ms }),
            history: Vec::new(),
            timed_out: Vec::new(),
            applied: Vec::new(),
            ignored: Vec::new(),
        };
        machine.enter(0, request.submitted_ms);
        machine
    }

    /// Makes the sequence step at `origin` current (or the first after it that someone
    /// can act on), or approves the request when none is left.
    fn enter(&mut self, mut origin: usize, at_ms: i64) {
        while let Some(&index) = self.sequence.get(origin) {
            if self.open(index, origin, None, at_ms) {
                return;
            }
            origin += 1;
        }
        self.cursor = Cursor::Done(ApprovalStatus::Approved { at_ms });
    }

    /// Makes step `index` current; false (and the step recorded as skipped) when nobody
    /// can act on it and the flow skips such steps.
    fn open(&mut self, index: usize, origin: usize, standing_in_for: Option<StepId>, at_ms: i64) -> bool {
        let step = &self.flow.steps[index];
        let approvers = resolve_approvers(step, self.request, self.directory);
        if approvers.is_empty() && self.flow.when_no_approver == NoApproverPolicy::Skip {
            self.history.push(StepRecord {
                step: step.id.clone(),
                since_ms: at_ms,
                ended_ms: at_ms,
                outcome: StepOutcome::Skipped,
            });
            return false;
        }
        self.cursor = Cursor::At(Stage {
            index,
            origin,
            standing_in_for,
            since_ms: at_ms,
            approvers,
            approved_by: BTreeSet::new(),
        });
        true
    }

    fn deadline(&self, stage: &Stage) -> Option<i64> {
        let after = self.flow.steps[stage.index].timeout.as_ref()?.after_ms;
        Some(stage.since_ms.saturating_add(i64::try_from(after).unwrap_or(i64::MAX)))
    }

    /// Fires every time-out due at or before `t_ms`.
    fn advance(&mut self, t_ms: i64) {
        let flow = self.flow;
        // Each time-out moves along an acyclic escalation chain or to a later sequence
        // step, so this many rounds is more than enough; the bound only guards the loop.
        let rounds = self.flow.steps.len().saturating_mul(self.flow.steps.len()).saturating_add(1);
        for _ in 0..rounds {
            let Cursor::At(stage) = &self.cursor else { return };
            let Some(deadline) = self.deadline(stage).filter(|d| *d <= t_ms) else { return };
            let step = &flow.steps[stage.index];
            let origin = stage.origin;
            let since_ms = stage.since_ms;
            let escalation = step.timeout.as_ref().map(|t| t.escalate_to.clone());
            let target = match &escalation {
                Some(Escalation::Step { step }) => self.flow.position(step),
                _ => None,
            };
            self.timed_out.push((step.id.clone(), deadline));
            self.history.push(StepRecord {
                step: step.id.clone(),
                since_ms,
                ended_ms: deadline,
                outcome: StepOutcome::TimedOut {
                    escalated_to: target.map(|t| self.flow.steps[t].id.clone()),
                },
            });
            match target {
                Some(target) => {
                    let origin_id = self.flow.steps[self.sequence[origin]].id.clone();
                    if !self.open(target, origin, Some(origin_id), deadline) {
                        self.enter(origin + 1, deadline);
                    }
                }
                None => self.enter(origin + 1, deadline),
            }
        }
    }

    /// Applies one decision, made at a time when every earlier time-out has fired.
    fn apply(&mut self, d: &Decision) -> Result<(), IgnoreReason> {
        let flow = self.flow;
        let Cursor::At(stage) = &mut self.cursor else { return Err(IgnoreReason::RequestFinal) };
        let current = &flow.steps[stage.index];
        if d.step != current.id {
            if self.timed_out.iter().any(|(s, deadline)| *s == d.step && d.at_ms >= *deadline) {
                return Err(IgnoreReason::AfterTimeout { step: d.step.clone() });
            }
            return Err(IgnoreReason::NotCurrentStep { step: d.step.clone(), current: current.id.clone() });
        }
        if !stage.approvers.contains(&d.approver_id) {
            return Err(IgnoreReason::NotAnApprover { step: d.step.clone() });
        }
        if !stage.approved_by.insert(d.approver_id) {
            return Err(IgnoreReason::AlreadyDecided { step: d.step.clone() });
        }
        let record = |outcome| StepRecord {
            step: current.id.clone(),
            since_ms: stage.since_ms,
            ended_ms: d.at_ms,
            outcome,
        };
        match d.verdict {
            Verdict::Reject => {
                self.history.push(record(StepOutcome::Rejected { by: d.approver_id }));
                self.cursor = Cursor::Done(ApprovalStatus::Rejected {
                    at_ms: d.at_ms,
                    step: d.step.clone(),
                    by: d.approver_id,
                });
            }
            Verdict::Approve => {
                if current.rule == StepRule::AnyOf || stage.approved_by == stage.approvers {
                    let by = std::mem::take(&mut stage.approved_by);
                    let origin = stage.origin;
                    self.history.push(record(StepOutcome::Approved { by }));
                    self.enter(origin + 1, d.at_ms);
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> ApprovalState {
        let status = match &self.cursor {
            Cursor::Done(status) => status.clone(),
            Cursor::At(stage) => {
                let step = &self.flow.steps[stage.index];
                ApprovalStatus::Pending {
                    step: step.id.clone(),
                    standing_in_for: stage.standing_in_for.clone(),
                    rule: step.rule,
                    approvers: stage.approvers.clone(),
                    approved_by: stage.approved_by.clone(),
                    since_ms: stage.since_ms,
                    deadline_ms: self.deadline(stage),
                }
            }
        };
        ApprovalState {
            request_id: self.request.id,
            status,
            history: self.history,
            applied: self.applied,
            ignored: self.ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::flow::{Approvers, FlowStep, StepCondition, StepTimeout};
    use crate::approval::request::ApprovalKind;
    use crate::approval::testkit::{Org, decision, flow, step};

    const APPROVE: Verdict = Verdict::Approve;
    const REJECT: Verdict = Verdict::Reject;

    fn id(s: &str) -> StepId {
        StepId::from(s)
    }

    /// Manager first; the department head too when the discount is over 500.00 CNY.
    fn discount_flow() -> ApprovalFlow {
        let mut head = step("head", vec![Approvers::DepartmentHead { levels_up: 0 }], StepRule::AnyOf);
        head.condition = Some(StepCondition::AmountOver { minor: 50_000 });
        flow(
            ApprovalKind::OrderDiscount,
            vec![step("manager", vec![Approvers::Manager], StepRule::AnyOf), head],
        )
    }

    fn finance_flow(rule: StepRule) -> ApprovalFlow {
        flow(
            ApprovalKind::Leave,
            vec![step("finance", vec![Approvers::Group { group: "finance".into() }], rule)],
        )
    }

    fn pending_step(state: &ApprovalState) -> Option<&StepId> {
        match &state.status {
            ApprovalStatus::Pending { step, .. } => Some(step),
            _ => None,
        }
    }

    #[test]
    fn a_large_discount_needs_the_manager_then_the_department_head() {
        let org = Org::new();
        let request = org.discount(80_000, 1_000);
        let decisions = [
            decision(&request, "manager", org.manager, 2_000, APPROVE),
            decision(&request, "head", org.head, 3_000, APPROVE),
        ];
        let flow = discount_flow();

        let midway = decide(&flow, &request, &org.directory, &decisions, 2_500).expect("decide");
        assert_eq!(pending_step(&midway), Some(&id("head")));
        assert_eq!(midway.status.may_act(), BTreeSet::from([org.head]));

        let state = decide(&flow, &request, &org.directory, &decisions, 5_000).expect("decide");
        assert_eq!(state.status, ApprovalStatus::Approved { at_ms: 3_000 });
        let steps: Vec<&StepId> = state.history.iter().map(|r| &r.step).collect();
        assert_eq!(steps, [&id("manager"), &id("head")]);
        assert_eq!(state.applied, [decisions[0].id, decisions[1].id]);
        assert!(state.ignored.is_empty());
    }

    #[test]
    fn a_small_discount_needs_only_the_manager() {
        let org = Org::new();
        let request = org.discount(20_000, 1_000);
        let decisions = [decision(&request, "manager", org.manager, 2_000, APPROVE)];
        let state = decide(&discount_flow(), &request, &org.directory, &decisions, 5_000).expect("decide");
        assert_eq!(state.status, ApprovalStatus::Approved { at_ms: 2_000 });
        assert_eq!(state.history.len(), 1);
    }

    #[test]
    fn an_all_of_step_needs_every_approver() {
        let org = Org::new();
        let request = org.leave(10_000, 20_000);
        let [f1, f2] = org.finance;
        let first = decision(&request, "finance", f1, 10, APPROVE);
        let flow = finance_flow(StepRule::AllOf);

        let half =
            decide(&flow, &request, &org.directory, std::slice::from_ref(&first), 100).expect("decide");
        assert_eq!(pending_step(&half), Some(&id("finance")));
        assert_eq!(half.status.may_act(), BTreeSet::from([f2]));

        let both = [first, decision(&request, "finance", f2, 20, APPROVE)];
        let state = decide(&flow, &request, &org.directory, &both, 100).expect("decide");
        assert_eq!(state.status, ApprovalStatus::Approved { at_ms: 20 });
        assert_eq!(state.history[0].outcome, StepOutcome::Approved { by: BTreeSet::from([f1, f2]) });
    }

    #[test]
    fn one_rejection_rejects_an_all_of_step() {
        let org = Org::new();
        let request = org.leave(10_000, 20_000);
        let [f1, f2] = org.finance;
        let decisions =
            [decision(&request, "finance", f1, 10, APPROVE), decision(&request, "finance", f2, 20, REJECT)];
        let state = decide(&finance_flow(StepRule::AllOf), &request, &org.directory, &decisions, 100)
            .expect("decide");
        assert_eq!(state.status, ApprovalStatus::Rejected { at_ms: 20, step: id("finance"), by: f2 });
    }

    #[test]
    fn a_timed_out_step_escalates_to_the_named_approver_who_then_approves() {
        let org = Org::new();
        let mut manager = step("manager", vec![Approvers::Manager], StepRule::AnyOf);
        manager.timeout =
            Some(StepTimeout { after_ms: 1_000, escalate_to: Escalation::Step { step: id("vp") } });
        let vp = FlowStep {
            escalation_only: true,
            ..step("vp", vec![Approvers::Users { users: vec![org.vp] }], StepRule::AnyOf)
        };
        let flow = flow(ApprovalKind::Leave, vec![manager, vp]);
        let request = org.leave(10_000, 20_000);
        let decisions = [
            decision(&request, "manager", org.manager, 1_500, APPROVE),
            decision(&request, "vp", org.vp, 2_000, APPROVE),
        ];

        let before = decide(&flow, &request, &org.directory, &[], 999).expect("decide");
        assert!(matches!(
            before.status,
            ApprovalStatus::Pending { deadline_ms: Some(1_000), ref step, .. } if *step == id("manager")
        ));

        let escalated = decide(&flow, &request, &org.directory, &decisions[..1], 1_600).expect("decide");
        let ApprovalStatus::Pending { step, standing_in_for, since_ms, .. } = &escalated.status else {
            panic!("still pending: {:?}", escalated.status);
        };
        assert_eq!((step, standing_in_for, *since_ms), (&id("vp"), &Some(id("manager")), 1_000));
        assert_eq!(escalated.ignored[0].reason, IgnoreReason::AfterTimeout { step: id("manager") });
        assert_eq!(
            authorize(org.manager, &request, &escalated),
            Err(AuthorizeError::NotAnApprover { step: id("vp") })
        );
        assert_eq!(authorize(org.vp, &request, &escalated), Ok(id("vp")));

        let state = decide(&flow, &request, &org.directory, &decisions, 3_000).expect("decide");
        assert_eq!(state.status, ApprovalStatus::Approved { at_ms: 2_000 });
        assert_eq!(state.history[0].outcome, StepOutcome::TimedOut { escalated_to: Some(id("vp")) });
        assert_eq!(state.applied, [decisions[1].id]);
    }

    #[test]
    fn a_step_timing_out_to_the_next_step_is_passed_over() {
        let org = Org::new();
        let mut manager = step("manager", vec![Approvers::Manager], StepRule::AnyOf);
        manager.timeout = Some(StepTimeout { after_ms: 1_000, escalate_to: Escalation::NextStep });
        let head = step("head", vec![Approvers::DepartmentHead { levels_up: 0 }], StepRule::AnyOf);
        let flow = flow(ApprovalKind::Leave, vec![manager, head]);
        let request = org.leave(10_000, 20_000);
        let state = decide(&flow, &request, &org.directory, &[], 1_500).expect("decide");
        assert!(matches!(
            state.status,
            ApprovalStatus::Pending { ref step, since_ms: 1_000, deadline_ms: None, .. } if *step == id("head")
        ));
    }

    #[test]
    fn concurrent_any_of_decisions_resolve_to_the_earliest_whatever_the_input_order() {
        let org = Org::new();
        let request = org.leave(10_000, 20_000);
        let [f1, f2] = org.finance;
        let flow = finance_flow(StepRule::AnyOf);
        // Same millisecond: the smaller id (made first) wins.
        let approve = decision(&request, "finance", f1, 500, APPROVE);
        let reject = decision(&request, "finance", f2, 500, REJECT);
        assert!(approve.id < reject.id);

        let one = decide(&flow, &request, &org.directory, &[approve.clone(), reject.clone()], 1_000)
            .expect("decide");
        let other = decide(&flow, &request, &org.directory, &[reject.clone(), approve.clone()], 1_000)
            .expect("decide");
        assert_eq!(one, other);
        assert_eq!(one.status, ApprovalStatus::Approved { at_ms: 500 });
        assert_eq!(one.applied, [approve.id]);
        assert_eq!(one.ignored[0].decision_id, reject.id);
        assert_eq!(one.ignored[0].reason, IgnoreReason::RequestFinal);

        // An earlier time wins over a smaller id.
        let early_reject = Decision { at_ms: 499, ..reject };
        let state = decide(&flow, &request, &org.directory, &[approve, early_reject], 1_000).expect("decide");
        assert_eq!(state.status, ApprovalStatus::Rejected { at_ms: 499, step: id("finance"), by: f2 });
    }

    #[test]
    fn a_decision_from_outside_the_step_is_ignored_and_authorize_refuses_the_outsider() {
        let org = Org::new();
        let request = org.discount(20_000, 0);
        let flow = discount_flow();
        let decisions = [decision(&request, "manager", org.stranger, 10, APPROVE)];
        let state = decide(&flow, &request, &org.directory, &decisions, 100).expect("decide");
        assert_eq!(pending_step(&state), Some(&id("manager")));
        assert_eq!(state.ignored[0].reason, IgnoreReason::NotAnApprover { step: id("manager") });
        assert_eq!(
            authorize(org.stranger, &request, &state),
            Err(AuthorizeError::NotAnApprover { step: id("manager") })
        );
        assert_eq!(
            authorize(org.rep, &request, &state),
            Err(AuthorizeError::NotAnApprover { step: id("manager") })
        );
        assert_eq!(authorize(org.manager, &request, &state), Ok(id("manager")));
    }

    #[test]
    fn deciding_twice_is_refused_and_never_applied_twice() {
        let org = Org::new();
        let request = org.leave(10_000, 20_000);
        let [f1, f2] = org.finance;
        let first = decision(&request, "finance", f1, 10, APPROVE);
        let again = decision(&request, "finance", f1, 20, APPROVE);
        let decisions = [first.clone(), again.clone(), first.clone()];
        let state = decide(&finance_flow(StepRule::AllOf), &request, &org.directory, &decisions, 100)
            .expect("decide");
        assert_eq!(state.applied, [first.id]);
        let reasons: Vec<&IgnoreReason> = state.ignored.iter().map(|i| &i.reason).collect();
        assert_eq!(reasons, [&IgnoreReason::Repeated, &IgnoreReason::AlreadyDecided { step: id("finance") }]);
        assert_eq!(
            authorize(f1, &request, &state),
            Err(AuthorizeError::AlreadyDecided { step: id("finance") })
        );
        assert_eq!(authorize(f2, &request, &state), Ok(id("finance")));
    }

    #[test]
    fn a_decision_after_the_request_is_final_is_ignored() {
        let org = Org::new();
        let request = org.discount(80_000, 0);
        let decisions = [
            decision(&request, "manager", org.manager, 10, REJECT),
            decision(&request, "manager", org.manager, 20, APPROVE),
        ];
        let state = decide(&discount_flow(), &request, &org.directory, &decisions, 100).expect("decide");
        assert_eq!(
            state.status,
            ApprovalStatus::Rejected { at_ms: 10, step: id("manager"), by: org.manager }
        );
        assert_eq!(state.ignored[0].reason, IgnoreReason::RequestFinal);
        assert_eq!(authorize(org.head, &request, &state), Err(AuthorizeError::RequestFinal));
    }

    #[test]
    fn a_late_decision_is_not_carried_over_to_a_later_step_its_approver_sits_on() {
        let org = Org::new();
        let flow = flow(
            ApprovalKind::Leave,
            vec![
                step("manager", vec![Approvers::Manager], StepRule::AnyOf),
                step(
                    "managers",
                    vec![Approvers::Role { role: crate::model::Role::Manager }],
                    StepRule::AnyOf,
                ),
            ],
        );
        let request = org.leave(10_000, 20_000);
        let decisions = [
            decision(&request, "manager", org.manager, 10, APPROVE),
            decision(&request, "manager", org.manager, 20, APPROVE),
        ];
        let state = decide(&flow, &request, &org.directory, &decisions, 100).expect("decide");
        assert_eq!(pending_step(&state), Some(&id("managers")));
        assert_eq!(
            state.ignored[0].reason,
            IgnoreReason::NotCurrentStep { step: id("manager"), current: id("managers") }
        );
    }

    #[test]
    fn a_step_nobody_can_act_on_waits_or_is_skipped_as_the_flow_says() {
        let org = Org::new();
        let mut flow = flow(
            ApprovalKind::Leave,
            vec![
                step("far_up", vec![Approvers::DepartmentHead { levels_up: 5 }], StepRule::AnyOf),
                step("manager", vec![Approvers::Manager], StepRule::AnyOf),
            ],
        );
        let request = org.leave(10_000, 20_000);
        let waiting = decide(&flow, &request, &org.directory, &[], 100).expect("decide");
        assert_eq!(pending_step(&waiting), Some(&id("far_up")));
        assert!(waiting.status.may_act().is_empty());

        flow.when_no_approver = NoApproverPolicy::Skip;
        let skipped = decide(&flow, &request, &org.directory, &[], 100).expect("decide");
        assert_eq!(pending_step(&skipped), Some(&id("manager")));
        assert_eq!(skipped.history[0].outcome, StepOutcome::Skipped);
    }

    #[test]
    fn decisions_stamped_before_the_request_or_after_now_are_ignored() {
        let org = Org::new();
        let request = org.discount(20_000, 1_000);
        let decisions = [
            decision(&request, "manager", org.manager, 999, APPROVE),
            decision(&request, "manager", org.manager, 5_000, APPROVE),
        ];
        let state = decide(&discount_flow(), &request, &org.directory, &decisions, 2_000).expect("decide");
        assert_eq!(pending_step(&state), Some(&id("manager")));
        let reasons: Vec<&IgnoreReason> = state.ignored.iter().map(|i| &i.reason).collect();
        assert_eq!(reasons, [&IgnoreReason::BeforeRequest, &IgnoreReason::AfterNow]);
    }

    #[test]
    fn a_flow_of_another_kind_or_version_cannot_decide_a_request() {
        let org = Org::new();
        let request = org.leave(10_000, 20_000);
        assert_eq!(
            decide(&discount_flow(), &request, &org.directory, &[], 0),
            Err(DecideError::KindMismatch { flow: "order_discount", request: "leave" })
        );
        let mut newer = finance_flow(StepRule::AnyOf);
        newer.version = 2;
        assert_eq!(
            decide(&newer, &request, &org.directory, &[], 0),
            Err(DecideError::VersionMismatch { flow: 2, request: 1 })
        );
    }

    /// Every ordering of `items`.
    fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
        if items.len() <= 1 {
            return vec![items.to_vec()];
        }
        let mut all = Vec::new();
        for i in 0..items.len() {
            let mut rest = items.to_vec();
            let first = rest.remove(i);
            for mut tail in permutations(&rest) {
                tail.insert(0, first.clone());
                all.push(tail);
            }
        }
        all
    }

    #[test]
    fn every_arrival_order_of_the_same_decisions_gives_the_same_state() {
        let org = Org::new();
        let [f1, f2] = org.finance;
        let mut finance =
            step("finance", vec![Approvers::Group { group: "finance".into() }], StepRule::AnyOf);
        finance.timeout = Some(StepTimeout { after_ms: 1_000, escalate_to: Escalation::NextStep });
        let heads = step(
            "heads",
            vec![Approvers::DepartmentHead { levels_up: 0 }, Approvers::DepartmentHead { levels_up: 1 }],
            StepRule::AllOf,
        );
        let flow = flow(ApprovalKind::Leave, vec![finance, heads]);
        let request = org.leave(10_000, 20_000);
        let approve = decision(&request, "finance", f1, 500, APPROVE);
        let decisions = [
            approve.clone(),
            decision(&request, "finance", f2, 500, REJECT),
            approve,
            decision(&request, "heads", org.head, 600, APPROVE),
            decision(&request, "heads", org.stranger, 650, APPROVE),
            decision(&request, "heads", org.head, 700, APPROVE),
            decision(&request, "heads", org.vp, 800, APPROVE),
        ];
        let expected = decide(&flow, &request, &org.directory, &decisions, 1_000).expect("decide");
        assert_eq!(expected.status, ApprovalStatus::Approved { at_ms: 800 });
        assert_eq!(expected.applied, [decisions[0].id, decisions[3].id, decisions[6].id]);
        assert_eq!(expected.ignored.len(), 4);
        for order in permutations(&decisions) {
            let state = decide(&flow, &request, &org.directory, &order, 1_000).expect("decide");
            assert_eq!(state, expected);
        }
    }

    #[test]
    fn a_state_serialises_with_snake_case_tags() {
        let org = Org::new();
        let request = org.discount(20_000, 0);
        let state = decide(&discount_flow(), &request, &org.directory, &[], 10).expect("decide");
        let json = serde_json::to_value(&state).expect("serialise");
        assert_eq!(json["status"]["status"], "pending");
        assert_eq!(json["status"]["rule"], "any_of");
        let back: ApprovalState = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, state);
    }
}
