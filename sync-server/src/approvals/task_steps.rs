//! Task flows on the server (issue #10 part 3): the progress of a task (its stored
//! [`TaskStepDone`] facts and the views of its task step approval requests); the check of
//! a [`TaskStepDone`] or a task step approval request pushed by a phone (by the task's
//! assignee, for a task that exists, only for the step its kind's flow says is due, and a
//! request only once while it waits for a decision); and the step a task still waits for,
//! which keeps it from being marked done.

use std::collections::HashMap;

use fieldkit_domain::approval::{
    ApprovalRequest, NextTaskStep, RequestSubject, StepId, TaskFlow, TaskProgress, TaskStepDone,
    missing_evidence,
};
use fieldkit_domain::docs::{self, task as task_doc};
use fieldkit_domain::ids::{OrgId, TaskId};
use fieldkit_domain::model::{SopStepKind, Task, TaskKind, User};
use fieldkit_domain::protocol::{Fact, PushOutcome, Record, RecordKind, RejectCode};

use crate::error::ApiResult;
use crate::state::AppState;
use crate::storage::{FactFilter, StorageError, StorageResult};

fn rejected(code: RejectCode, reason: String) -> PushOutcome {
    PushOutcome::Rejected { code, reason }
}

/// The stable name of a task kind, as on the wire.
pub fn kind_name(kind: TaskKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The task as stored, if it exists (`None` also for a document that does not load).
async fn task(state: &AppState, org_id: OrgId, id: TaskId) -> StorageResult<Option<Task>> {
    let Some(stored) = state.storage.doc(org_id, RecordKind::Task, id.0).await? else {
        return Ok(None);
    };
    Ok(docs::load(&stored.state, state.actor.clone()).and_then(|doc| task_doc::project(&doc)).ok())
}

/// The org's flow of `kind`, if an admin defined one.
pub async fn flow_of(state: &AppState, org_id: OrgId, kind: TaskKind) -> StorageResult<Option<TaskFlow>> {
    Ok(match state.storage.record(org_id, RecordKind::TaskFlow, TaskFlow::record_id(kind)).await? {
        Some(stored) => match stored.record {
            Record::TaskFlow(flow) => Some(flow),
            _ => None,
        },
        None => None,
    })
}

/// Every stored [`TaskStepDone`] of task `task_id`.
async fn steps_done(state: &AppState, org_id: OrgId, task_id: TaskId) -> StorageResult<Vec<TaskStepDone>> {
    let filter = FactFilter { kind: Some("task_step_done".to_owned()), rep_ids: None };
    let mut done = Vec::new();
    for stored in state.storage.facts(org_id, filter).await? {
        let fact: Fact = serde_json::from_str(&stored.body)
            .map_err(|source| StorageError::Corrupt { what: "fact", source })?;
        if let Fact::TaskStepDone(d) = fact
            && d.task_id == task_id
        {
            done.push(d);
        }
    }
    Ok(done)
}

/// The progress of task `task_id`: its steps `done`, and its requests as stored (with their
/// views) plus `raised`, requests of the same push not stored yet.
async fn progress(
    state: &AppState,
    org_id: OrgId,
    task_id: TaskId,
    done: &[TaskStepDone],
    raised: &[ApprovalRequest],
) -> StorageResult<TaskProgress> {
    let views: Vec<_> = state
        .storage
        .records(org_id, RecordKind::Approval)
        .await?
        .into_iter()
        .filter_map(|stored| match stored.record {
            Record::Approval(view) => Some(*view),
            _ => None,
        })
        .collect();
    let stored = views.iter().map(|v| (&v.request, Some(&v.status)));
    Ok(TaskProgress::of(task_id, done, stored.chain(raised.iter().map(|r| (r, None)))))
}

/// The facts of one push accepted before the one being checked, by kind.
fn earlier_of(earlier: &[&Fact], task_id: TaskId) -> (Vec<TaskStepDone>, Vec<ApprovalRequest>) {
    let mut done = Vec::new();
    let mut raised = Vec::new();
    for fact in earlier {
        match fact {
            Fact::TaskStepDone(d) if d.task_id == task_id => done.push(d.clone()),
            Fact::ApprovalRequest(r) if matches!(&r.subject, RequestSubject::TaskStep { task_id: t, .. } if *t == task_id) =>
            {
                raised.push(r.clone());
            }
            _ => {}
        }
    }
    (done, raised)
}

/// Refuses, for good, a [`TaskStepDone`] or a task step approval request `user` may not push
/// now (see [`check_step_done`] and [`check_request`]). `earlier` are the facts of the same
/// push accepted before this one. Other facts pass.
pub async fn check(
    state: &AppState,
    user: &User,
    fact: &Fact,
    earlier: &[&Fact],
) -> ApiResult<Result<(), PushOutcome>> {
    match fact {
        Fact::TaskStepDone(done) => check_step_done(state, user, done, earlier).await,
        Fact::ApprovalRequest(request) => check_request(state, user, request, earlier).await,
        _ => Ok(Ok(())),
    }
}

/// Refuses a [`TaskStepDone`] not by the task's assignee, for an unknown task or a task kind
/// without a flow, or for a step that is not due (the reason names it).
async fn check_step_done(
    state: &AppState,
    user: &User,
    done: &TaskStepDone,
    earlier: &[&Fact],
) -> ApiResult<Result<(), PushOutcome>> {
    let Some(task) = task(state, user.org_id, done.task_id).await? else {
        return Ok(Err(rejected(
            RejectCode::Invalid,
            format!("task step done {}: task {} does not exist", done.id, done.task_id),
        )));
    };
    if task.assignee_id != Some(user.id) {
        return Ok(Err(rejected(
            RejectCode::NotAllowed,
            format!("task step done {}: task {} is not assigned to its author", done.id, task.id),
        )));
    }
    let Some(flow) = flow_of(state, user.org_id, task.kind).await? else {
        return Ok(Err(rejected(
            RejectCode::Invalid,
            format!("task step done {}: there is no task flow for {} tasks", done.id, kind_name(task.kind)),
        )));
    };
    let mut all = steps_done(state, user.org_id, task.id).await?;
    if all.iter().any(|d| d.id == done.id) {
        return Ok(Ok(())); // a retry: storage answers "already stored"
    }
    let (done_before, raised) = earlier_of(earlier, task.id);
    all.extend(done_before);
    let progress = progress(state, user.org_id, task.id, &all, &raised).await?;
    if let Err(e) = flow.complete(&progress, &done.step) {
        return Ok(Err(rejected(RejectCode::Invalid, format!("task step done {}: {e}", done.id))));
    }
    if let Some(evidence) = flow.evidence(&done.step)
        && let Some(evidence_kind) = evidence_fact_kind(evidence)
    {
        let mut held = Vec::new();
        for kind in ["check_in", evidence_kind] {
            let filter = FactFilter { kind: Some(kind.to_owned()), rep_ids: Some(vec![user.id]) };
            for stored in state.storage.facts(user.org_id, filter).await? {
                held.push(
                    serde_json::from_str::<Fact>(&stored.body)
                        .map_err(|source| StorageError::Corrupt { what: "fact", source })?,
                );
            }
        }
        let facts: Vec<&Fact> = held.iter().chain(earlier.iter().copied()).collect();
        if let Some(needs) = missing_evidence(evidence, task.id, &facts, &[]) {
            return Ok(Err(rejected(
                RejectCode::Invalid,
                format!(
                    "task step done {}: step {} needs a {needs} in a visit for the task first",
                    done.id, done.step
                ),
            )));
        }
    }
    Ok(Ok(()))
}

/// The kind of fact that carries `evidence`. A submitted form is a document, merged after
/// the facts of the same push, so the server cannot see it yet: for a form step the
/// phone's own check stands (`None`).
fn evidence_fact_kind(evidence: &SopStepKind) -> Option<&'static str> {
    match evidence {
        SopStepKind::Photo => Some("photo"),
        SopStepKind::Order => Some("order"),
        SopStepKind::StockCount => Some("stock_count"),
        SopStepKind::Form { .. } => None,
    }
}

/// The step task `task`'s flow still waits for; `None` when its kind has no flow or the flow
/// is finished. A task is not done before: neither a phone's push nor a manager's edit may
/// mark it so.
pub async fn unfinished_step(state: &AppState, org_id: OrgId, task: &Task) -> StorageResult<Option<StepId>> {
    let Some(flow) = flow_of(state, org_id, task.kind).await? else { return Ok(None) };
    let done = steps_done(state, org_id, task.id).await?;
    let progress = progress(state, org_id, task.id, &done, &[]).await?;
    Ok(match flow.next(&progress) {
        NextTaskStep::Finished => None,
        NextTaskStep::Action { step }
        | NextTaskStep::AwaitingApproval { step }
        | NextTaskStep::Rejected { step } => Some(step),
    })
}

/// For one push of task documents: the step each pushed task's flow still waits for, for
/// the tasks whose kind has a flow. An org without task flows costs one read.
pub async fn unfinished_steps(
    state: &AppState,
    org_id: OrgId,
    task_ids: &[TaskId],
) -> StorageResult<HashMap<TaskId, StepId>> {
    let mut unfinished = HashMap::new();
    if task_ids.is_empty() || state.storage.records(org_id, RecordKind::TaskFlow).await?.is_empty() {
        return Ok(unfinished);
    }
    for &id in task_ids {
        if let Some(task) = task(state, org_id, id).await?
            && let Some(step) = unfinished_step(state, org_id, &task).await?
        {
            unfinished.insert(id, step);
        }
    }
    Ok(unfinished)
}

/// Why a task may not be marked done yet (the phone says the same).
pub fn not_finished_reason(task: TaskId, step: &StepId) -> String {
    format!("task {task} cannot be done before its flow is finished: step {step} is due")
}

/// Refuses a task step approval request `user` may not raise now: a task that does not
/// exist or is not theirs, a kind without a flow, a step that is not due or not an approval
/// step, or one whose earlier request still waits for a decision. A retry of a stored
/// request passes (storage answers "already stored"); requests of other kinds pass.
async fn check_request(
    state: &AppState,
    user: &User,
    request: &ApprovalRequest,
    earlier: &[&Fact],
) -> ApiResult<Result<(), PushOutcome>> {
    let RequestSubject::TaskStep { task_id, step, .. } = &request.subject else { return Ok(Ok(())) };
    let refuse =
        |code, why: String| Ok(Err(rejected(code, format!("approval request {}: {why}", request.id))));
    let Some(task) = task(state, user.org_id, *task_id).await? else {
        return refuse(RejectCode::Invalid, format!("task {task_id} does not exist"));
    };
    if task.assignee_id != Some(user.id) {
        return refuse(RejectCode::NotAllowed, format!("task {task_id} is not assigned to its requester"));
    }
    let Some(flow) = flow_of(state, user.org_id, task.kind).await? else {
        return refuse(
            RejectCode::Invalid,
            format!("there is no task flow for {} tasks", kind_name(task.kind)),
        );
    };
    let stored = state.storage.record(user.org_id, RecordKind::Approval, request.id.0).await?;
    if stored.is_some() {
        return Ok(Ok(()));
    }
    let mut done = steps_done(state, user.org_id, task.id).await?;
    let (done_before, raised) = earlier_of(earlier, task.id);
    done.extend(done_before);
    let progress = progress(state, user.org_id, task.id, &done, &raised).await?;
    match flow.check_approval_due(&progress, step) {
        Ok(()) => Ok(Ok(())),
        Err(e) => refuse(RejectCode::Invalid, e.to_string()),
    }
}
