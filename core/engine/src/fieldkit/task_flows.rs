//! Task flows on the assignee's phone (issue #10 part 3): the ordered steps of a task's kind
//! as the org defined them (a `TaskFlow` record, as last synced), where the task stands,
//! marking an action step done (a [`TaskStepDone`] fact, queued offline) and asking for an
//! approval step (a task step approval request under the step's own flow).
//!
//! A task's progress is its local [`TaskStepDone`] facts plus the server's views of its task
//! step requests (a request raised here counts as not decided until its view arrives).
//! Steps are done strictly in order, here and again on the server; a task with a flow cannot
//! be marked done before the flow is finished.
//!
//! An action step that asks for evidence (a photo, an order, a stock count, a submitted
//! form) is done only once a visit checked in for the task holds it.

use fieldkit_domain::approval::{
    ApprovalRequest, ApprovalStatus, NextTaskStep, RequestSubject, StepId, TaskFlow, TaskFlowError,
    TaskProgress, TaskStepDone, TaskStepKind, missing_evidence,
};
use fieldkit_domain::ids::{FactId, TaskId};
use fieldkit_domain::model::{FormResponse, Task, TaskKind};
use fieldkit_domain::protocol::{Fact, Record, RecordKind};
use rusqlite::Connection;

use super::FieldKit;
use crate::error::{Error, Result};
use crate::session;
use crate::store::{facts, outbox, records, tasks, visits};
use crate::time::now_ms;

/// The stored kind of a step-done fact (`Fact::kind` of `Fact::TaskStepDone`).
const STEP_DONE_FACT: &str = "task_step_done";
/// The stored kind of a request fact.
const REQUEST_FACT: &str = "approval_request";

/// Why a task step (or finishing a task) is refused on this phone; nothing is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskStepRefusal {
    /// This phone holds no flow for the task's kind (the org has none, or it has not
    /// reached this phone yet).
    #[error("no task flow for {kind} tasks is on this phone")]
    NoFlow {
        /// The task kind, as on the wire.
        kind: String,
    },
    /// The flow refuses the step: out of order, already done, not of that kind…
    #[error(transparent)]
    Flow(#[from] TaskFlowError),
    /// The step asks for evidence (a photo, an order, a stock count, a submitted form) that
    /// no visit checked in for the task holds yet.
    #[error("task step {step} needs a {needs} in a visit for the task first")]
    EvidenceMissing {
        /// The step.
        step: StepId,
        /// What it needs.
        needs: &'static str,
    },
    /// The task cannot be finished: this step of its flow is still due.
    #[error("task {task} cannot be done before its flow is finished: step {step} is due")]
    Unfinished {
        /// The task.
        task: TaskId,
        /// The step the task waits for.
        step: StepId,
    },
}

/// Where a task stands in its kind's flow.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TaskSteps {
    /// The flow of the task's kind, as last synced.
    pub flow: TaskFlow,
    /// The steps done (action steps marked done, approval steps approved), in flow order.
    pub done: Vec<StepId>,
    /// What the task waits for.
    pub next: NextTaskStep,
}

/// The stable name of a task kind, as on the wire.
fn kind_name(kind: TaskKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The local flow of task kind `kind`, if this phone has one.
fn flow_of(conn: &Connection, kind: TaskKind) -> Result<Option<TaskFlow>> {
    Ok(match records::get(conn, RecordKind::TaskFlow, TaskFlow::record_id(kind))? {
        Some(Record::TaskFlow(flow)) if flow.task_kind == kind => Some(flow),
        _ => None,
    })
}

/// The task on this phone, or [`Error::NotFound`].
fn task_of(conn: &Connection, id: TaskId) -> Result<Task> {
    tasks::get(conn, id)?.ok_or_else(|| Error::NotFound(format!("task {id}")))
}

/// The progress of `task_id` on this phone.
fn progress_of(conn: &Connection, task_id: TaskId) -> Result<TaskProgress> {
    let done: Vec<TaskStepDone> = facts::recorded_between(conn, STEP_DONE_FACT, i64::MIN, i64::MAX)?
        .into_iter()
        .filter_map(|f| if let Fact::TaskStepDone(d) = f { Some(d) } else { None })
        .collect();
    let mut views: Vec<(ApprovalRequest, ApprovalStatus)> = records::all(conn, RecordKind::Approval)?
        .into_iter()
        .filter_map(|r| if let Record::Approval(v) = r { Some((v.request, v.status)) } else { None })
        .collect();
    let mut requests: Vec<(ApprovalRequest, Option<ApprovalStatus>)> = Vec::new();
    for fact in facts::recorded_between(conn, REQUEST_FACT, i64::MIN, i64::MAX)? {
        let Fact::ApprovalRequest(request) = fact else { continue };
        if !matches!(request.subject, RequestSubject::TaskStep { .. }) {
            continue;
        }
        let status = views.iter().position(|(r, _)| r.id == request.id).map(|i| views.remove(i).1);
        requests.push((request, status));
    }
    requests.extend(views.into_iter().map(|(r, s)| (r, Some(s))));
    Ok(TaskProgress::of(task_id, &done, requests.iter().map(|(r, s)| (r, s.as_ref()))))
}

/// The task's flow and progress, `None` when its kind has no flow on this phone.
fn flow_and_progress(conn: &Connection, task: &Task) -> Result<Option<(TaskFlow, TaskProgress)>> {
    let Some(flow) = flow_of(conn, task.kind)? else { return Ok(None) };
    Ok(Some((flow, progress_of(conn, task.id)?)))
}

/// Refuses to mark `task` done while its kind's flow (if any) is not finished.
pub(super) fn check_finished(conn: &Connection, id: TaskId) -> Result<()> {
    let task = task_of(conn, id)?;
    let Some((flow, progress)) = flow_and_progress(conn, &task)? else { return Ok(()) };
    match flow.next(&progress) {
        NextTaskStep::Finished => Ok(()),
        NextTaskStep::Action { step }
        | NextTaskStep::AwaitingApproval { step }
        | NextTaskStep::Rejected { step } => Err(TaskStepRefusal::Unfinished { task: id, step }.into()),
    }
}

impl FieldKit {
    /// Where task `task_id` stands in its kind's flow: the flow, the steps done and what it
    /// waits for; `None` when its kind has no flow on this phone. Offline.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the task is not on this phone.
    pub fn task_steps(&self, task_id: TaskId) -> Result<Option<TaskSteps>> {
        self.store.read(|conn| {
            let task = task_of(conn, task_id)?;
            let Some((flow, progress)) = flow_and_progress(conn, &task)? else { return Ok(None) };
            let done = flow
                .steps
                .iter()
                .filter(|s| match &s.kind {
                    TaskStepKind::Action { .. } => progress.done.contains(&s.id),
                    TaskStepKind::Approval { .. } => {
                        progress.approvals.get(&s.id).is_some_and(ApprovalStatus::is_approved)
                    }
                })
                .map(|s| s.id.clone())
                .collect();
            let next = flow.next(&progress);
            Ok(Some(TaskSteps { flow, done, next }))
        })
    }

    /// Marks action step `step` of task `task_id` done: checked against the task's flow and
    /// progress, stored as a [`TaskStepDone`] fact and queued in one transaction. Offline.
    ///
    /// # Errors
    /// [`Error::NotLoggedIn`]; [`Error::NotFound`] for a task not on this phone;
    /// [`Error::TaskStep`] when its kind has no flow here, or the step is unknown, an
    /// approval step, already done or not due (naming the step due), or lacks the evidence
    /// it asks for in the task's visits. Nothing is stored then.
    pub fn complete_task_step(&self, task_id: TaskId, step: StepId) -> Result<TaskStepDone> {
        let user = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user;
        let now = now_ms();
        self.write_local(|tx, _| {
            let task = task_of(tx, task_id)?;
            let (flow, progress) = flow_and_progress(tx, &task)?
                .ok_or_else(|| TaskStepRefusal::NoFlow { kind: kind_name(task.kind) })?;
            flow.complete(&progress, &step).map_err(TaskStepRefusal::from)?;
            if let Some(evidence) = flow.evidence(&step) {
                let mut held = Vec::new();
                for kind in ["check_in", "photo", "order", "stock_count"] {
                    held.extend(facts::recorded_between(tx, kind, i64::MIN, i64::MAX)?);
                }
                let responses = visits::responses(tx)?;
                let facts: Vec<&Fact> = held.iter().collect();
                let responses: Vec<&FormResponse> = responses.iter().collect();
                if let Some(needs) = missing_evidence(evidence, task_id, &facts, &responses) {
                    return Err(TaskStepRefusal::EvidenceMissing { step, needs }.into());
                }
            }
            let done = TaskStepDone {
                id: FactId::new(),
                task_id,
                step,
                rep_id: user.id,
                at: self.event_time(tx, now)?,
            };
            facts::insert(tx, &Fact::TaskStepDone(done.clone()), None, now)?;
            outbox::append(tx, outbox::KIND_FACT, &done.id.to_string(), now)?;
            tracing::debug!(step = %done.step, "task step done");
            Ok(done)
        })
    }

    /// Asks for approval step `step` of task `task_id` (e.g. the customer's approval of a
    /// quote of `amount_minor`), for `reason`: a task step request under the step's own
    /// flow, queued in one transaction, only when that step is due (again, after a
    /// rejection). Offline; `approvals` lists it, and the task moves on once the server's
    /// view says it is approved.
    ///
    /// # Errors
    /// [`Error::NotLoggedIn`]; [`Error::NotFound`] for a task not on this phone;
    /// [`Error::TaskStep`] when its kind has no flow here, or the step is unknown, an action
    /// step, already approved or not due; [`Error::ApprovalRequest`] for a negative amount.
    pub fn request_task_step_approval(
        &self,
        task_id: TaskId,
        step: StepId,
        amount_minor: Option<i64>,
        reason: String,
    ) -> Result<ApprovalRequest> {
        let user = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user;
        let now = now_ms();
        self.write_local(|tx, _| {
            let task = task_of(tx, task_id)?;
            let (flow, progress) = flow_and_progress(tx, &task)?
                .ok_or_else(|| TaskStepRefusal::NoFlow { kind: kind_name(task.kind) })?;
            flow.check_approval_due(&progress, &step).map_err(TaskStepRefusal::from)?;
            let approval = flow.approval_flow(&step).cloned().ok_or_else(|| {
                TaskStepRefusal::from(TaskFlowError::WrongKindOfStep { step: step.clone() })
            })?;
            let subject = RequestSubject::TaskStep { task_id, step, amount_minor };
            self.queue_request(tx, &user, &approval, subject, reason, now)
        })
    }
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::approval::{
        ApprovalFlow, ApprovalKind, Approvers, FlowStep, NoApproverPolicy, StepRule, TaskFlowStep,
    };
    use fieldkit_domain::docs::task;
    use fieldkit_domain::model::{TaskStatus, User};
    use tempfile::TempDir;

    use super::*;
    use crate::documents;
    use crate::fieldkit::testkit::{log_in, open};

    fn step(s: &str) -> StepId {
        StepId::from(s)
    }

    fn action(s: &str) -> TaskFlowStep {
        TaskFlowStep { id: step(s), title: s.into(), kind: TaskStepKind::Action { evidence: None } }
    }

    /// Diagnose → approval (flow version 4) → repair.
    fn repair_flow() -> TaskFlow {
        let approval = ApprovalFlow {
            kind: ApprovalKind::TaskStep,
            version: 4,
            steps: vec![FlowStep {
                id: step("manager"),
                title: "Manager".into(),
                approvers: vec![Approvers::Manager],
                rule: StepRule::AnyOf,
                condition: None,
                timeout: None,
                escalation_only: false,
            }],
            when_no_approver: NoApproverPolicy::Wait,
        };
        TaskFlow {
            task_kind: TaskKind::Repair,
            steps: vec![
                action("diagnose"),
                TaskFlowStep {
                    id: step("approval"),
                    title: "Approval".into(),
                    kind: TaskStepKind::Approval { flow: approval },
                },
                action("repair"),
            ],
        }
    }

    /// A repair task assigned to `user`, made as a synced task would be.
    fn repair_task(kit: &FieldKit, user: &User) -> TaskId {
        let task = Task {
            id: TaskId::new(),
            kind: TaskKind::Repair,
            title: "fix the fridge".into(),
            goal: String::new(),
            deadline_ms: None,
            place: None,
            customer_id: None,
            assignee_id: Some(user.id),
            status: TaskStatus::Open,
            notes: String::new(),
        };
        kit.write_local(|tx, docs| {
            documents::create(tx, docs, RecordKind::Task, task.id.0, now_ms(), |doc| task::create(doc, &task))
        })
        .expect("task stored");
        task.id
    }

    fn queued(kit: &FieldKit) -> u64 {
        kit.sync_status().expect("status").outbox.pending
    }

    #[test]
    fn steps_are_done_in_order_and_a_step_out_of_order_is_refused_naming_the_step_due() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        let user = log_in(&kit, None);
        let id = repair_task(&kit, &user);
        assert_eq!(kit.task_steps(id).expect("steps"), None, "no flow on the phone yet");
        let no_flow = kit.complete_task_step(id, step("diagnose")).expect_err("no flow");
        assert_eq!(no_flow.to_string(), "no task flow for repair tasks is on this phone");
        kit.store.write(|tx| records::upsert(tx, &Record::TaskFlow(repair_flow()))).expect("flow synced");
        let before = queued(&kit);

        let early = kit.complete_task_step(id, step("repair")).expect_err("out of order");
        assert_eq!(early.to_string(), "task step repair cannot be done before step diagnose");
        assert_eq!(queued(&kit), before, "nothing stored");
        let done = kit.complete_task_step(id, step("diagnose")).expect("due");
        assert_eq!((done.task_id, done.rep_id), (id, user.id));
        assert_eq!(queued(&kit), before + 1);
        let steps = kit.task_steps(id).expect("steps").expect("a flow");
        assert_eq!(steps.done, [step("diagnose")]);
        assert_eq!(steps.next, NextTaskStep::AwaitingApproval { step: step("approval") });

        let wrong = kit.complete_task_step(id, step("approval")).expect_err("approval steps are decided");
        assert!(matches!(
            wrong,
            Error::TaskStep(TaskStepRefusal::Flow(TaskFlowError::WrongKindOfStep { .. }))
        ));
        let asked =
            kit.request_task_step_approval(id, step("approval"), Some(9_000), "quote".into()).expect("due");
        assert_eq!(asked.flow_version, 4, "under the step's own flow");
        assert_eq!(
            asked.subject,
            RequestSubject::TaskStep { task_id: id, step: step("approval"), amount_minor: Some(9_000) }
        );
        assert!(kit.complete_task_step(id, step("repair")).is_err(), "the approval is not decided yet");

        kit.store
            .write(|tx| {
                records::upsert(
                    tx,
                    &Record::Approval(Box::new(fieldkit_domain::approval::ApprovalView {
                        request: asked.clone(),
                        status: ApprovalStatus::Approved { at_ms: 1 },
                        history: Vec::new(),
                        decisions: Vec::new(),
                    })),
                )
            })
            .expect("view synced");
        kit.complete_task_step(id, step("repair")).expect("due once approved");
        assert_eq!(kit.task_steps(id).expect("steps").map(|s| s.next), Some(NextTaskStep::Finished));
    }

    #[test]
    fn a_task_is_not_finished_before_its_flow_is() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        let user = log_in(&kit, None);
        kit.store.write(|tx| records::upsert(tx, &Record::TaskFlow(repair_flow()))).expect("flow synced");
        let id = repair_task(&kit, &user);
        let refused = kit.update_task(id, Some(TaskStatus::Done), None).expect_err("unfinished");
        assert!(
            matches!(refused, Error::TaskStep(TaskStepRefusal::Unfinished { ref step, .. }) if step.as_str() == "diagnose"),
            "{refused:?}"
        );
        assert_eq!(kit.my_tasks().expect("tasks")[0].status, TaskStatus::Open);
        let started = kit.update_task(id, Some(TaskStatus::InProgress), None).expect("other moves pass");
        assert_eq!(started.status, TaskStatus::InProgress);
    }
}
