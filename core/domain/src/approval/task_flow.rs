//! Task flows: the ordered steps a kind of task must go through (e.g. a repair: diagnose →
//! quote → customer approval → repair → sign-off). A step is either an action the assignee
//! does (SOP-like) or an approval, decided by the approval state machine
//! ([`decide`](super::decide)) on a [`TaskStep`](super::RequestSubject::TaskStep) request.
//! Steps are done strictly in order. An action step done is a [`TaskStepDone`] fact; the
//! org's flow of each task kind reaches phones as a `TaskFlow` record.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::decide::ApprovalStatus;
use super::flow::{ApprovalFlow, FlowError};
use super::request::{ApprovalKind, ApprovalRequest, RequestSubject, StepId};
use crate::clock::EventTime;
use crate::ids::{FactId, TaskId, UserId};
use crate::model::{SopStepKind, TaskKind};

/// What a task step asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskStepKind {
    /// Something the assignee does and marks done.
    Action {
        /// The evidence the step asks for (a form, a photo…), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence: Option<SopStepKind>,
    },
    /// An approval, decided by this flow (of kind [`ApprovalKind::TaskStep`]).
    Approval {
        /// The approval flow.
        flow: ApprovalFlow,
    },
}

/// One step of a task flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskFlowStep {
    /// The step id, unique within the flow.
    pub id: StepId,
    /// Title shown to the assignee.
    pub title: String,
    /// Action or approval.
    pub kind: TaskStepKind,
}

/// The ordered steps of a kind of task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskFlow {
    /// The kind of task it applies to.
    pub task_kind: TaskKind,
    /// The steps, in order.
    pub steps: Vec<TaskFlowStep>,
}

/// How far a task has gone: the action steps done and the status of each approval step's
/// request (the latest request, when one was raised again).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskProgress {
    /// The action steps done.
    pub done: BTreeSet<StepId>,
    /// The status of each approval step's request.
    pub approvals: BTreeMap<StepId, ApprovalStatus>,
    /// Approval steps whose latest request was raised and is not known to be decided (a
    /// phone's request not synced yet).
    #[serde(default)]
    pub asked: BTreeSet<StepId>,
}

/// What the task waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(tag = "next", rename_all = "snake_case")]
pub enum NextTaskStep {
    /// The assignee should do this action step.
    Action {
        /// The step.
        step: StepId,
    },
    /// This approval step's request is to be raised or is pending.
    AwaitingApproval {
        /// The step.
        step: StepId,
    },
    /// This approval step's request was rejected; the task cannot go on.
    Rejected {
        /// The step.
        step: StepId,
    },
    /// Every step is done.
    Finished,
}

/// The fact that the assignee did an action step of a task flow (immutable; synced from
/// the phone, checked by the server against the flow and the task's progress).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskStepDone {
    /// The fact id.
    pub id: FactId,
    /// The task.
    pub task_id: TaskId,
    /// The action step done.
    pub step: StepId,
    /// Who did it (the task's assignee).
    pub rep_id: UserId,
    /// When.
    pub at: EventTime,
}

impl TaskProgress {
    /// The progress of task `task_id` from the action steps recorded done (`done`: any
    /// task's facts, the others are skipped) and the task's step requests with their status
    /// where known: the latest request of a step (by submission time, then id) counts.
    #[must_use]
    pub fn of<'a>(
        task_id: TaskId,
        done: impl IntoIterator<Item = &'a TaskStepDone>,
        requests: impl IntoIterator<Item = (&'a ApprovalRequest, Option<&'a ApprovalStatus>)>,
    ) -> Self {
        let mut progress = TaskProgress {
            done: done.into_iter().filter(|d| d.task_id == task_id).map(|d| d.step.clone()).collect(),
            approvals: BTreeMap::new(),
            asked: BTreeSet::new(),
        };
        let mut asked: Vec<(&ApprovalRequest, Option<&ApprovalStatus>)> = requests
            .into_iter()
            .filter(
                |(r, _)| matches!(&r.subject, RequestSubject::TaskStep { task_id: t, .. } if *t == task_id),
            )
            .collect();
        asked.sort_by_key(|(r, _)| (r.submitted_ms, r.id));
        for (request, status) in asked {
            let RequestSubject::TaskStep { step, .. } = &request.subject else { continue };
            match status {
                Some(status) => {
                    progress.asked.remove(step);
                    progress.approvals.insert(step.clone(), status.clone());
                }
                // Raised, not decided yet as far as this side knows: a later request
                // replaces an earlier decision.
                None => {
                    progress.approvals.remove(step);
                    progress.asked.insert(step.clone());
                }
            }
        }
        progress
    }
}

/// Why a task flow definition or a step completion is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskFlowError {
    /// A flow without steps.
    #[error("the task flow has no steps")]
    NoSteps,
    /// Two steps with the same id.
    #[error("task step id {step} is used more than once")]
    DuplicateStepId {
        /// The repeated id.
        step: StepId,
    },
    /// An approval step whose flow is not for task steps.
    #[error("approval step {step} has a flow for {kind} requests, not task steps")]
    NotATaskStepFlow {
        /// The step.
        step: StepId,
        /// The flow's kind.
        kind: &'static str,
    },
    /// An approval step whose flow is invalid.
    #[error("approval step {step} has an invalid flow: {source}")]
    InvalidApprovalFlow {
        /// The step.
        step: StepId,
        /// What is wrong with it.
        source: FlowError,
    },
    /// A step the flow does not have.
    #[error("task step {step} does not exist")]
    UnknownStep {
        /// The step.
        step: StepId,
    },
    /// A step already done.
    #[error("task step {step} is already done")]
    AlreadyDone {
        /// The step.
        step: StepId,
    },
    /// An approval step whose request is still waiting for a decision: a second request
    /// would only duplicate it.
    #[error("task step {step} already has a request waiting for a decision")]
    AlreadyRequested {
        /// The step.
        step: StepId,
    },
    /// A step done before the one that is due.
    #[error("task step {step} cannot be done before step {expected}")]
    OutOfOrder {
        /// The step.
        step: StepId,
        /// The step due.
        expected: StepId,
    },
    /// Completing an approval step by hand, or recording an approval on an action step.
    #[error("task step {step} is not done that way (approval steps are decided, action steps done)")]
    WrongKindOfStep {
        /// The step.
        step: StepId,
    },
    /// The task stopped at a rejected approval.
    #[error("the task stopped at rejected step {step}")]
    StoppedAtRejection {
        /// The rejected step.
        step: StepId,
    },
    /// Every step is done.
    #[error("every task step is already done")]
    Finished,
}

impl TaskFlow {
    /// The record id under which phones hold the flow of `kind` (one per task kind).
    #[must_use]
    pub fn record_id(kind: TaskKind) -> Uuid {
        let index = match kind {
            TaskKind::CustomerVisit => 1,
            TaskKind::StoreInspection => 2,
            TaskKind::Promotion => 3,
            TaskKind::Repair => 4,
        };
        Uuid::from_u128(0x0000_0000_0000_7000_8000_7a5c_0000_0000 | index)
    }

    /// Checks the definition.
    ///
    /// # Errors
    /// No steps, a repeated step id, or an approval step with a flow that is invalid or not
    /// for task steps.
    pub fn validate(&self) -> Result<(), TaskFlowError> {
        if self.steps.is_empty() {
            return Err(TaskFlowError::NoSteps);
        }
        let mut seen = BTreeSet::new();
        for step in &self.steps {
            if !seen.insert(&step.id) {
                return Err(TaskFlowError::DuplicateStepId { step: step.id.clone() });
            }
            if let TaskStepKind::Approval { flow } = &step.kind {
                if flow.kind != ApprovalKind::TaskStep {
                    return Err(TaskFlowError::NotATaskStepFlow {
                        step: step.id.clone(),
                        kind: flow.kind.as_str(),
                    });
                }
                flow.validate()
                    .map_err(|source| TaskFlowError::InvalidApprovalFlow { step: step.id.clone(), source })?;
            }
        }
        Ok(())
    }

    /// The approval flow of step `step`, if it is an approval step.
    #[must_use]
    pub fn approval_flow(&self, step: &StepId) -> Option<&ApprovalFlow> {
        self.steps.iter().find(|s| &s.id == step).and_then(|s| match &s.kind {
            TaskStepKind::Approval { flow } => Some(flow),
            TaskStepKind::Action { .. } => None,
        })
    }

    /// The evidence action step `step` asks for, if any.
    #[must_use]
    pub fn evidence(&self, step: &StepId) -> Option<&SopStepKind> {
        self.steps.iter().find(|s| &s.id == step).and_then(|s| match &s.kind {
            TaskStepKind::Action { evidence } => evidence.as_ref(),
            TaskStepKind::Approval { .. } => None,
        })
    }

    /// The step the task waits for, given its progress.
    #[must_use]
    pub fn next(&self, progress: &TaskProgress) -> NextTaskStep {
        for step in &self.steps {
            let id = step.id.clone();
            match &step.kind {
                TaskStepKind::Action { .. } if progress.done.contains(&step.id) => {}
                TaskStepKind::Action { .. } => return NextTaskStep::Action { step: id },
                TaskStepKind::Approval { .. } => match progress.approvals.get(&step.id) {
                    Some(ApprovalStatus::Approved { .. }) => {}
                    Some(ApprovalStatus::Rejected { .. }) => return NextTaskStep::Rejected { step: id },
                    Some(ApprovalStatus::Pending { .. }) | None => {
                        return NextTaskStep::AwaitingApproval { step: id };
                    }
                },
            }
        }
        NextTaskStep::Finished
    }

    /// Checks that `step` is the one due and of the expected kind (action or approval).
    fn check_due(&self, progress: &TaskProgress, step: &StepId, approval: bool) -> Result<(), TaskFlowError> {
        let Some(def) = self.steps.iter().find(|s| &s.id == step) else {
            return Err(TaskFlowError::UnknownStep { step: step.clone() });
        };
        if matches!(def.kind, TaskStepKind::Approval { .. }) != approval {
            return Err(TaskFlowError::WrongKindOfStep { step: step.clone() });
        }
        if progress.done.contains(step)
            || progress.approvals.get(step).is_some_and(ApprovalStatus::is_approved)
        {
            return Err(TaskFlowError::AlreadyDone { step: step.clone() });
        }
        match self.next(progress) {
            NextTaskStep::Action { step: due } | NextTaskStep::AwaitingApproval { step: due }
                if &due == step =>
            {
                Ok(())
            }
            NextTaskStep::Action { step: due } | NextTaskStep::AwaitingApproval { step: due } => {
                Err(TaskFlowError::OutOfOrder { step: step.clone(), expected: due })
            }
            // A new request for a rejected approval step replaces the rejected one.
            NextTaskStep::Rejected { step: due } if approval && &due == step => Ok(()),
            NextTaskStep::Rejected { step } => Err(TaskFlowError::StoppedAtRejection { step }),
            NextTaskStep::Finished => Err(TaskFlowError::Finished),
        }
    }

    /// The progress after marking action step `step` done.
    ///
    /// # Errors
    /// An unknown or approval step, a step already done, or a step that is not due yet.
    pub fn complete(&self, progress: &TaskProgress, step: &StepId) -> Result<TaskProgress, TaskFlowError> {
        self.check_due(progress, step, false)?;
        let mut next = progress.clone();
        next.done.insert(step.clone());
        Ok(next)
    }

    /// Checks that approval step `step` is due: its request may be raised now (again, after
    /// a rejection; not while a request of it waits for a decision).
    ///
    /// # Errors
    /// An unknown or action step, a step already approved, a step that is not due yet, or
    /// one whose request is still waiting.
    pub fn check_approval_due(&self, progress: &TaskProgress, step: &StepId) -> Result<(), TaskFlowError> {
        self.check_due(progress, step, true)?;
        if progress.asked.contains(step)
            || matches!(progress.approvals.get(step), Some(ApprovalStatus::Pending { .. }))
        {
            return Err(TaskFlowError::AlreadyRequested { step: step.clone() });
        }
        Ok(())
    }

    /// The progress after approval step `step`'s request reached `status` (computed by
    /// [`decide`](super::decide) with the step's [`approval_flow`](Self::approval_flow)).
    ///
    /// # Errors
    /// An unknown or action step, a step already approved, or a step that is not due yet.
    pub fn record_approval(
        &self,
        progress: &TaskProgress,
        step: &StepId,
        status: ApprovalStatus,
    ) -> Result<TaskProgress, TaskFlowError> {
        self.check_due(progress, step, true)?;
        let mut next = progress.clone();
        next.approvals.insert(step.clone(), status);
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::decide::decide;
    use crate::approval::flow::{Approvers, StepRule};
    use crate::approval::request::{RequestSubject, Verdict};
    use crate::approval::testkit::{Org, decision, flow, step};
    use crate::ids::TaskId;
    use crate::model::Role;

    fn id(s: &str) -> StepId {
        StepId::from(s)
    }

    fn action(name: &str) -> TaskFlowStep {
        TaskFlowStep { id: id(name), title: name.to_owned(), kind: TaskStepKind::Action { evidence: None } }
    }

    /// Diagnose → quote → customer approval (signed off by an admin) → repair → sign-off.
    fn repair_flow() -> TaskFlow {
        let approval = flow(
            ApprovalKind::TaskStep,
            vec![step("admin", vec![Approvers::Role { role: Role::Admin }], StepRule::AnyOf)],
        );
        TaskFlow {
            task_kind: TaskKind::Repair,
            steps: vec![
                action("diagnose"),
                TaskFlowStep {
                    id: id("quote"),
                    title: "Quote".into(),
                    kind: TaskStepKind::Action { evidence: Some(SopStepKind::Photo) },
                },
                TaskFlowStep {
                    id: id("customer_approval"),
                    title: "Approval".into(),
                    kind: TaskStepKind::Approval { flow: approval },
                },
                action("repair"),
                action("sign_off"),
            ],
        }
    }

    #[test]
    fn task_steps_are_done_in_order_and_approval_steps_are_decided_by_the_approval_flow() {
        let org = Org::new();
        let repair = repair_flow();
        assert_eq!(repair.validate(), Ok(()));
        let start = TaskProgress::default();
        assert_eq!(repair.next(&start), NextTaskStep::Action { step: id("diagnose") });
        assert_eq!(
            repair.complete(&start, &id("repair")),
            Err(TaskFlowError::OutOfOrder { step: id("repair"), expected: id("diagnose") })
        );

        let diagnosed = repair.complete(&start, &id("diagnose")).expect("diagnose is due");
        assert_eq!(
            repair.complete(&diagnosed, &id("diagnose")),
            Err(TaskFlowError::AlreadyDone { step: id("diagnose") })
        );
        let quoted = repair.complete(&diagnosed, &id("quote")).expect("quote is due");
        assert_eq!(repair.next(&quoted), NextTaskStep::AwaitingApproval { step: id("customer_approval") });
        assert_eq!(
            repair.complete(&quoted, &id("repair")),
            Err(TaskFlowError::OutOfOrder { step: id("repair"), expected: id("customer_approval") })
        );
        assert_eq!(
            repair.complete(&quoted, &id("customer_approval")),
            Err(TaskFlowError::WrongKindOfStep { step: id("customer_approval") })
        );

        let approval_flow = repair.approval_flow(&id("customer_approval")).expect("an approval step");
        let request = org.request(
            RequestSubject::TaskStep {
                task_id: TaskId::new(),
                step: id("customer_approval"),
                amount_minor: Some(30_000),
            },
            100,
        );
        let decisions = [decision(&request, "admin", org.admin, 200, Verdict::Approve)];
        let state = decide(approval_flow, &request, &org.directory, &decisions, 300).expect("decide");
        let approved =
            repair.record_approval(&quoted, &id("customer_approval"), state.status).expect("approval is due");
        assert_eq!(repair.next(&approved), NextTaskStep::Action { step: id("repair") });

        let repaired = repair.complete(&approved, &id("repair")).expect("repair is due");
        let done = repair.complete(&repaired, &id("sign_off")).expect("sign-off is due");
        assert_eq!(repair.next(&done), NextTaskStep::Finished);
    }

    #[test]
    fn a_rejected_approval_stops_the_task_until_a_new_request_is_approved() {
        let org = Org::new();
        let repair = repair_flow();
        let mut progress = TaskProgress::default();
        for s in ["diagnose", "quote"] {
            progress = repair.complete(&progress, &id(s)).expect("due");
        }
        let rejected = ApprovalStatus::Rejected { at_ms: 10, step: id("admin"), by: org.admin };
        progress = repair.record_approval(&progress, &id("customer_approval"), rejected).expect("due");
        assert_eq!(repair.next(&progress), NextTaskStep::Rejected { step: id("customer_approval") });
        assert_eq!(
            repair.complete(&progress, &id("repair")),
            Err(TaskFlowError::StoppedAtRejection { step: id("customer_approval") })
        );
        let approved = ApprovalStatus::Approved { at_ms: 20 };
        progress = repair.record_approval(&progress, &id("customer_approval"), approved).expect("re-raised");
        assert_eq!(repair.next(&progress), NextTaskStep::Action { step: id("repair") });
    }

    #[test]
    fn an_approval_step_is_asked_for_once_until_its_request_is_decided() {
        let org = Org::new();
        let repair = repair_flow();
        let mut progress = TaskProgress::default();
        for s in ["diagnose", "quote"] {
            progress = repair.complete(&progress, &id(s)).expect("due");
        }
        let step = id("customer_approval");
        assert_eq!(repair.check_approval_due(&progress, &step), Ok(()));
        let mut asked = progress.clone();
        asked.asked.insert(step.clone());
        let again = Err(TaskFlowError::AlreadyRequested { step: step.clone() });
        assert_eq!(repair.check_approval_due(&asked, &step), again, "raised offline, not synced");
        let pending = ApprovalStatus::Pending {
            step: id("admin"),
            standing_in_for: None,
            rule: StepRule::AnyOf,
            approvers: BTreeSet::from([org.admin]),
            approved_by: BTreeSet::new(),
            since_ms: 1,
            deadline_ms: None,
        };
        let waiting = repair.record_approval(&progress, &step, pending).expect("due");
        assert_eq!(repair.check_approval_due(&waiting, &step), again, "waiting for a decision");
        let rejected = ApprovalStatus::Rejected { at_ms: 10, step: id("admin"), by: org.admin };
        let refused = repair.record_approval(&progress, &step, rejected).expect("due");
        assert_eq!(repair.check_approval_due(&refused, &step), Ok(()), "asked again after a rejection");
    }

    #[test]
    fn a_task_flow_with_an_approval_flow_for_another_kind_is_refused() {
        let mut repair = repair_flow();
        repair.steps[2].kind = TaskStepKind::Approval {
            flow: flow(ApprovalKind::Leave, vec![step("m", vec![Approvers::Manager], StepRule::AnyOf)]),
        };
        assert_eq!(
            repair.validate(),
            Err(TaskFlowError::NotATaskStepFlow { step: id("customer_approval"), kind: "leave" })
        );
        repair.steps[2] = action("diagnose");
        assert_eq!(repair.validate(), Err(TaskFlowError::DuplicateStepId { step: id("diagnose") }));
    }

    #[test]
    fn progress_counts_the_tasks_own_steps_and_the_latest_request_of_each_approval_step() {
        let org = Org::new();
        let task = TaskId::new();
        let at = EventTime {
            device_ms: 0,
            hlc: crate::clock::Hlc { wall_ms: 0, counter: 0, node: 0 },
            server_estimate_ms: None,
        };
        let done = |task_id: TaskId, s: &str| TaskStepDone {
            id: FactId::new(),
            task_id,
            step: id(s),
            rep_id: org.admin,
            at,
        };
        let facts = [done(task, "diagnose"), done(TaskId::new(), "quote")];
        let subject = |task_id: TaskId| RequestSubject::TaskStep {
            task_id,
            step: id("customer_approval"),
            amount_minor: None,
        };
        let first = org.request(subject(task), 100);
        let second = org.request(subject(task), 200);
        let other = org.request(subject(TaskId::new()), 300);
        let rejected = ApprovalStatus::Rejected { at_ms: 150, step: id("admin"), by: org.admin };
        let approved = ApprovalStatus::Approved { at_ms: 250 };
        let progress = TaskProgress::of(
            task,
            &facts,
            [(&second, Some(&approved)), (&first, Some(&rejected)), (&other, Some(&rejected))],
        );
        assert_eq!(progress.done, BTreeSet::from([id("diagnose")]));
        assert_eq!(progress.approvals, BTreeMap::from([(id("customer_approval"), approved)]));
        let undecided = TaskProgress::of(task, &facts, [(&first, Some(&rejected)), (&second, None)]);
        assert!(undecided.approvals.is_empty(), "a newer request not decided yet replaces the rejection");
        assert_eq!(undecided.asked, BTreeSet::from([id("customer_approval")]));
        assert_ne!(TaskFlow::record_id(TaskKind::Repair), TaskFlow::record_id(TaskKind::Promotion));
    }
}
