//! Approval flow definitions, as an admin configures them per kind of request, and their
//! validation.
//!
//! A flow is an ordered list of steps. Each step names its approvers (the requester's
//! manager, a department head, everyone holding a role or in a named group, named users)
//! and whether any one of them decides (any-of) or all must approve (all-of). A step may
//! apply only under a condition (amount, distance or duration over a threshold), and may
//! time out, escalating either to the next step or to an *escalation step*: a step outside
//! the normal sequence that stands in for the one that timed out.
//!
//! Roles are modelled twice over, both resolved by the caller's
//! [`ApproverDirectory`](super::ApproverDirectory): the built-in [`Role`] (e.g. every
//! admin) and a named group id (e.g. `finance`), for the roles an org invents.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::request::{ApprovalKind, MS_PER_DAY, Quantity, RequestSubject, StepId};
use crate::ids::UserId;
use crate::model::Role;

/// Who may decide a step (a step's approver set is the union of its entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Approvers {
    /// The requester's direct manager.
    Manager,
    /// The head of the requester's department (`levels_up` 0) or of the department
    /// `levels_up` levels above it.
    DepartmentHead {
        /// How many levels above the requester's department.
        levels_up: u8,
    },
    /// Everyone holding a built-in role (e.g. every admin).
    Role {
        /// The role.
        role: Role,
    },
    /// Everyone in a named group the org defines (e.g. `finance`).
    Group {
        /// The group id.
        group: String,
    },
    /// Named users.
    Users {
        /// The users.
        users: Vec<UserId>,
    },
}

/// How a step's approvers decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum StepRule {
    /// The first decision decides the step (或签).
    AnyOf,
    /// Every approver must approve; one rejection rejects (会签).
    AllOf,
}

/// When a step applies; "over" is strictly greater than.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepCondition {
    /// The request's amount (a discount, a quote) is over this many minor units.
    AmountOver {
        /// The threshold, minor units.
        minor: i64,
    },
    /// The request's distance (an out-of-range check-in) is over this many metres.
    DistanceOver {
        /// The threshold, metres.
        metres: u32,
    },
    /// The request's time range (a leave, a trip) lasts more than this many days.
    DurationOver {
        /// The threshold, days of 24 hours.
        days: u32,
    },
}

impl StepCondition {
    /// The quantity the condition tests.
    #[must_use]
    pub fn quantity(self) -> Quantity {
        match self {
            StepCondition::AmountOver { .. } => Quantity::Amount,
            StepCondition::DistanceOver { .. } => Quantity::Distance,
            StepCondition::DurationOver { .. } => Quantity::Duration,
        }
    }

    /// Whether the condition holds for `subject`; never when the subject lacks the quantity.
    #[must_use]
    pub fn holds(self, subject: &RequestSubject) -> bool {
        match self {
            StepCondition::AmountOver { minor } => subject.amount_minor().is_some_and(|a| a > minor),
            StepCondition::DistanceOver { metres } => {
                subject.distance_m().is_some_and(|d| d > f64::from(metres))
            }
            StepCondition::DurationOver { days } => {
                subject.range().is_some_and(|r| r.duration_ms() > i64::from(days).saturating_mul(MS_PER_DAY))
            }
        }
    }
}

/// Where a step goes when it times out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Escalation {
    /// The step is passed over and the flow moves on to the next step that applies.
    NextStep,
    /// An escalation step takes over: its approval passes the timed-out step, its
    /// rejection rejects the request.
    Step {
        /// The escalation step (one with `escalation_only` set).
        step: StepId,
    },
}

/// A step's time-out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StepTimeout {
    /// How long the step may wait, from when it became current, milliseconds. A decision
    /// stamped at or after the deadline is too late.
    pub after_ms: u64,
    /// Where it goes then.
    pub escalate_to: Escalation,
}

/// One step of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FlowStep {
    /// The step id, unique within the flow.
    pub id: StepId,
    /// Title shown to approvers.
    pub title: String,
    /// Who may decide (the union of the entries; the requester is never one of them).
    pub approvers: Vec<Approvers>,
    /// Any-of or all-of.
    pub rule: StepRule,
    /// The step applies only when this holds (always without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<StepCondition>,
    /// What happens when nobody decides in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<StepTimeout>,
    /// A step outside the normal sequence, reached only by escalation.
    #[serde(default)]
    pub escalation_only: bool,
}

/// What happens to a step whose approvers resolve to nobody (no manager on record, the
/// requester being the only approver…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum NoApproverPolicy {
    /// The step stays pending with nobody able to act, until its time-out (if any).
    #[default]
    Wait,
    /// The step is passed over at once (自动通过).
    Skip,
}

/// An org's approval flow for one kind of request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ApprovalFlow {
    /// The kind of request it decides.
    pub kind: ApprovalKind,
    /// The definition's version (a request is decided by the version it was raised under).
    pub version: u32,
    /// The steps: in order, then the escalation steps (wherever they are listed).
    pub steps: Vec<FlowStep>,
    /// What happens to a step nobody can act on.
    #[serde(default)]
    pub when_no_approver: NoApproverPolicy,
}

/// Why a flow definition is refused. Each names the offending step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// A flow with no step at all.
    #[error("the flow has no steps")]
    NoSteps,
    /// A step with an empty id.
    #[error("step {index} has an empty id")]
    EmptyStepId {
        /// The step's position in the list.
        index: usize,
    },
    /// Two steps with the same id.
    #[error("step id {step} is used more than once")]
    DuplicateStepId {
        /// The repeated id.
        step: StepId,
    },
    /// A step naming no approver, or an entry naming nobody (no users, an empty group id).
    #[error("step {step} has an empty approver set")]
    EmptyApproverSet {
        /// The step.
        step: StepId,
    },
    /// A time-out of zero milliseconds.
    #[error("step {step} has a time-out of zero")]
    ZeroTimeout {
        /// The step.
        step: StepId,
    },
    /// A condition on a quantity the flow's kind of request does not carry: the step can
    /// never apply.
    #[error("step {step} is unreachable: {kind} requests carry no {quantity} for its condition")]
    ConditionNeverHolds {
        /// The step.
        step: StepId,
        /// The flow's kind of request.
        kind: &'static str,
        /// The quantity the condition tests.
        quantity: Quantity,
    },
    /// An escalation step that no step escalates to.
    #[error("escalation step {step} is unreachable: no step escalates to it")]
    UnreachableEscalationStep {
        /// The step.
        step: StepId,
    },
    /// A time-out escalating to a step that does not exist.
    #[error("step {step} escalates to {target}, which does not exist")]
    UnknownEscalationTarget {
        /// The step.
        step: StepId,
        /// The missing target.
        target: StepId,
    },
    /// A time-out escalating to a step of the normal sequence (use `next_step` to move on).
    #[error("step {step} escalates to {target}, which is not an escalation step")]
    EscalationToSequenceStep {
        /// The step.
        step: StepId,
        /// The target.
        target: StepId,
    },
    /// Escalation steps that escalate to each other in a loop.
    #[error("step {step} is on an escalation cycle")]
    EscalationCycle {
        /// A step on the cycle.
        step: StepId,
    },
    /// A step that escalates to the next step with no step that always applies after it.
    #[error("step {step} escalates to the next step, but no unconditional step follows it")]
    NoNextStep {
        /// The step.
        step: StepId,
    },
    /// An escalation step escalating to "the next step", which it does not have.
    #[error("escalation step {step} may only escalate to another escalation step")]
    NextStepFromEscalationStep {
        /// The step.
        step: StepId,
    },
    /// An escalation step with a condition (it stands in for a step that already applied).
    #[error("escalation step {step} must not have a condition")]
    ConditionOnEscalationStep {
        /// The step.
        step: StepId,
    },
}

impl ApprovalFlow {
    /// The step with id `id`.
    #[must_use]
    pub fn step(&self, id: &StepId) -> Option<&FlowStep> {
        self.steps.iter().find(|s| &s.id == id)
    }

    /// The position of the step with id `id` in `steps`.
    #[must_use]
    pub fn position(&self, id: &StepId) -> Option<usize> {
        self.steps.iter().position(|s| &s.id == id)
    }

    /// Checks the definition; the first problem found, in step order, is returned.
    ///
    /// # Errors
    /// Every [`FlowError`] variant.
    pub fn validate(&self) -> Result<(), FlowError> {
        if self.steps.is_empty() {
            return Err(FlowError::NoSteps);
        }
        let mut seen = BTreeSet::new();
        for (index, step) in self.steps.iter().enumerate() {
            if step.id.0.is_empty() {
                return Err(FlowError::EmptyStepId { index });
            }
            if !seen.insert(&step.id) {
                return Err(FlowError::DuplicateStepId { step: step.id.clone() });
            }
        }
        for (index, step) in self.steps.iter().enumerate() {
            self.check_step(index, step)?;
        }
        for step in self.steps.iter().filter(|s| s.escalation_only) {
            let targeted = self.steps.iter().any(|s| {
                matches!(&s.timeout, Some(StepTimeout { escalate_to: Escalation::Step { step: t }, .. }) if t == &step.id)
            });
            if !targeted {
                return Err(FlowError::UnreachableEscalationStep { step: step.id.clone() });
            }
        }
        self.check_escalation_cycles()
    }

    fn check_step(&self, index: usize, step: &FlowStep) -> Result<(), FlowError> {
        let id = || step.id.clone();
        let names_nobody = |a: &Approvers| match a {
            Approvers::Users { users } => users.is_empty(),
            Approvers::Group { group } => group.is_empty(),
            _ => false,
        };
        if step.approvers.is_empty() || step.approvers.iter().any(names_nobody) {
            return Err(FlowError::EmptyApproverSet { step: id() });
        }
        if let Some(condition) = step.condition {
            if step.escalation_only {
                return Err(FlowError::ConditionOnEscalationStep { step: id() });
            }
            if !self.kind.carries(condition.quantity()) {
                return Err(FlowError::ConditionNeverHolds {
                    step: id(),
                    kind: self.kind.as_str(),
                    quantity: condition.quantity(),
                });
            }
        }
        let Some(timeout) = &step.timeout else { return Ok(()) };
        if timeout.after_ms == 0 {
            return Err(FlowError::ZeroTimeout { step: id() });
        }
        match &timeout.escalate_to {
            Escalation::NextStep if step.escalation_only => {
                Err(FlowError::NextStepFromEscalationStep { step: id() })
            }
            Escalation::NextStep => {
                let followed =
                    self.steps[index + 1..].iter().any(|s| !s.escalation_only && s.condition.is_none());
                if followed { Ok(()) } else { Err(FlowError::NoNextStep { step: id() }) }
            }
            Escalation::Step { step: target } => match self.step(target) {
                None => Err(FlowError::UnknownEscalationTarget { step: id(), target: target.clone() }),
                Some(t) if !t.escalation_only => {
                    Err(FlowError::EscalationToSequenceStep { step: id(), target: target.clone() })
                }
                Some(_) => Ok(()),
            },
        }
    }

    /// Follows each escalation step's own escalation; every step has at most one target,
    /// so a walk longer than the number of steps has gone round a cycle.
    fn check_escalation_cycles(&self) -> Result<(), FlowError> {
        let next: BTreeMap<&StepId, &StepId> = self
            .steps
            .iter()
            .filter_map(|s| match &s.timeout {
                Some(StepTimeout { escalate_to: Escalation::Step { step }, .. }) => Some((&s.id, step)),
                _ => None,
            })
            .collect();
        for start in next.keys() {
            let mut current = *start;
            for _ in 0..=self.steps.len() {
                match next.get(current) {
                    Some(target) if *target == *start => {
                        return Err(FlowError::EscalationCycle { step: (*start).clone() });
                    }
                    Some(target) => current = target,
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// The positions (in `steps`) of the sequence steps that apply to `subject`, in order.
    #[must_use]
    pub fn applicable_steps(&self, subject: &RequestSubject) -> Vec<usize> {
        self.steps
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.escalation_only && s.condition.is_none_or(|c| c.holds(subject)))
            .map(|(i, _)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::testkit::{flow, step};

    fn timeout(after_ms: u64, escalate_to: Escalation) -> Option<StepTimeout> {
        Some(StepTimeout { after_ms, escalate_to })
    }

    fn to(step: &str) -> Escalation {
        Escalation::Step { step: StepId::from(step) }
    }

    fn escalation_step(id: &str, users: Vec<UserId>) -> FlowStep {
        FlowStep { escalation_only: true, ..step(id, vec![Approvers::Users { users }], StepRule::AnyOf) }
    }

    fn manager_step(id: &str) -> FlowStep {
        step(id, vec![Approvers::Manager], StepRule::AnyOf)
    }

    #[test]
    fn a_flow_without_steps_is_refused() {
        assert_eq!(flow(ApprovalKind::Leave, vec![]).validate(), Err(FlowError::NoSteps));
    }

    #[test]
    fn a_step_with_an_empty_approver_set_is_refused() {
        let no_entries =
            flow(ApprovalKind::Leave, vec![manager_step("a"), step("b", vec![], StepRule::AnyOf)]);
        let error = no_entries.validate().expect_err("step b names nobody");
        assert_eq!(error, FlowError::EmptyApproverSet { step: StepId::from("b") });
        assert_eq!(error.to_string(), "step b has an empty approver set");
        let no_users = flow(
            ApprovalKind::Leave,
            vec![step("c", vec![Approvers::Users { users: vec![] }], StepRule::AllOf)],
        );
        assert_eq!(no_users.validate(), Err(FlowError::EmptyApproverSet { step: StepId::from("c") }));
        let empty_group = flow(
            ApprovalKind::Leave,
            vec![step("d", vec![Approvers::Group { group: String::new() }], StepRule::AnyOf)],
        );
        assert_eq!(empty_group.validate(), Err(FlowError::EmptyApproverSet { step: StepId::from("d") }));
    }

    #[test]
    fn two_steps_with_the_same_id_are_refused() {
        let f = flow(ApprovalKind::Leave, vec![manager_step("a"), manager_step("a")]);
        assert_eq!(f.validate(), Err(FlowError::DuplicateStepId { step: StepId::from("a") }));
    }

    #[test]
    fn a_time_out_of_zero_is_refused() {
        let mut a = manager_step("a");
        a.timeout = timeout(0, Escalation::NextStep);
        let f = flow(ApprovalKind::Leave, vec![a, manager_step("b")]);
        assert_eq!(f.validate(), Err(FlowError::ZeroTimeout { step: StepId::from("a") }));
    }

    #[test]
    fn a_condition_on_a_quantity_the_kind_does_not_carry_makes_the_step_unreachable() {
        let mut far = manager_step("far");
        far.condition = Some(StepCondition::DistanceOver { metres: 500 });
        let f = flow(ApprovalKind::OrderDiscount, vec![manager_step("a"), far.clone()]);
        assert_eq!(
            f.validate(),
            Err(FlowError::ConditionNeverHolds {
                step: StepId::from("far"),
                kind: "order_discount",
                quantity: Quantity::Distance
            })
        );
        assert_eq!(flow(ApprovalKind::OutOfRangeCheckIn, vec![far]).validate(), Ok(()));
    }

    #[test]
    fn an_escalation_step_nobody_escalates_to_is_unreachable() {
        let f =
            flow(ApprovalKind::Leave, vec![manager_step("a"), escalation_step("boss", vec![UserId::new()])]);
        assert_eq!(f.validate(), Err(FlowError::UnreachableEscalationStep { step: StepId::from("boss") }));
    }

    #[test]
    fn escalating_to_a_missing_or_sequence_step_is_refused() {
        let mut a = manager_step("a");
        a.timeout = timeout(1_000, to("nobody"));
        let f = flow(ApprovalKind::Leave, vec![a.clone(), manager_step("b")]);
        assert_eq!(
            f.validate(),
            Err(FlowError::UnknownEscalationTarget {
                step: StepId::from("a"),
                target: StepId::from("nobody")
            })
        );
        a.timeout = timeout(1_000, to("b"));
        let f = flow(ApprovalKind::Leave, vec![a, manager_step("b")]);
        assert_eq!(
            f.validate(),
            Err(FlowError::EscalationToSequenceStep { step: StepId::from("a"), target: StepId::from("b") })
        );
    }

    #[test]
    fn escalation_steps_escalating_to_each_other_are_a_cycle() {
        let mut a = manager_step("a");
        a.timeout = timeout(1_000, to("x"));
        let mut x = escalation_step("x", vec![UserId::new()]);
        x.timeout = timeout(1_000, to("y"));
        let mut y = escalation_step("y", vec![UserId::new()]);
        y.timeout = timeout(1_000, to("x"));
        let f = flow(ApprovalKind::Leave, vec![a, x, y.clone()]);
        assert_eq!(f.validate(), Err(FlowError::EscalationCycle { step: StepId::from("x") }));

        y.timeout = None;
        let mut fixed = f;
        fixed.steps[2] = y;
        assert_eq!(fixed.validate(), Ok(()));
    }

    #[test]
    fn escalating_to_the_next_step_needs_an_unconditional_step_after_it() {
        let mut a = manager_step("a");
        a.timeout = timeout(1_000, Escalation::NextStep);
        let mut big = manager_step("big");
        big.condition = Some(StepCondition::AmountOver { minor: 50_000 });
        let f = flow(ApprovalKind::OrderDiscount, vec![a.clone(), big.clone()]);
        assert_eq!(f.validate(), Err(FlowError::NoNextStep { step: StepId::from("a") }));
        let f = flow(ApprovalKind::OrderDiscount, vec![a, big, manager_step("last")]);
        assert_eq!(f.validate(), Ok(()));
    }

    #[test]
    fn a_flow_round_trips_through_snake_case_json() {
        let mut a = step("head", vec![Approvers::DepartmentHead { levels_up: 1 }], StepRule::AllOf);
        a.condition = Some(StepCondition::DurationOver { days: 3 });
        a.timeout = timeout(86_400_000, to("admins"));
        let admins = FlowStep {
            escalation_only: true,
            ..step("admins", vec![Approvers::Role { role: Role::Admin }], StepRule::AnyOf)
        };
        let f = flow(ApprovalKind::BusinessTrip, vec![manager_step("m"), a, admins]);
        assert_eq!(f.validate(), Ok(()));
        let json = serde_json::to_value(&f).expect("serialise");
        assert_eq!(json["kind"], "business_trip");
        assert_eq!(json["steps"][1]["rule"], "all_of");
        assert_eq!(json["steps"][1]["approvers"][0]["type"], "department_head");
        assert_eq!(json["steps"][1]["condition"]["type"], "duration_over");
        assert_eq!(json["steps"][1]["timeout"]["escalate_to"]["type"], "step");
        assert_eq!(json["when_no_approver"], "wait");
        let back: ApprovalFlow = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, f);
    }
}
