//! Task flows on the server (issue #10 part 3): the progress of a task (its stored
//! [`TaskStepDone`] facts and the views of its task step approval requests) and the check
//! of a [`TaskStepDone`] pushed by a phone: by the task's assignee, for a task that exists,
//! and only for the step its kind's flow says is due.

use std::collections::HashMap;

use fieldkit_domain::approval::{NextTaskStep, StepId, TaskFlow, TaskProgress, TaskStepDone};
use fieldkit_domain::docs::{self, task as task_doc};
use fieldkit_domain::ids::{OrgId, TaskId};
use fieldkit_domain::model::{Task, TaskKind, User};
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

/// The progress of task `task_id` as stored, plus the `earlier` facts of the same push.
async fn progress(
    state: &AppState,
    org_id: OrgId,
    task_id: TaskId,
    done: &[TaskStepDone],
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
    Ok(TaskProgress::of(task_id, done, views.iter().map(|v| (&v.request, Some(&v.status)))))
}

/// Refuses, for good, a [`TaskStepDone`] `user` may not push now: not the task's assignee,
/// an unknown task, a task kind without a flow, or a step that is not due (the reason
/// names it). `earlier` are the facts of the same push accepted before this one. Other facts
/// pass.
pub async fn check(
    state: &AppState,
    user: &User,
    fact: &Fact,
    earlier: &[&Fact],
) -> ApiResult<Result<(), PushOutcome>> {
    let Fact::TaskStepDone(done) = fact else { return Ok(Ok(())) };
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
    all.extend(earlier.iter().filter_map(|f| match f {
        Fact::TaskStepDone(d) if d.task_id == task.id => Some(d.clone()),
        _ => None,
    }));
    let progress = progress(state, user.org_id, task.id, &all).await?;
    Ok(flow
        .complete(&progress, &done.step)
        .map(|_| ())
        .map_err(|e| rejected(RejectCode::Invalid, format!("task step done {}: {e}", done.id))))
}

/// The step task `task`'s flow still waits for; `None` when its kind has no flow or the flow
/// is finished. A task is not done before: neither a phone's push nor a manager's edit may
/// mark it so.
pub async fn unfinished_step(state: &AppState, org_id: OrgId, task: &Task) -> StorageResult<Option<StepId>> {
    let Some(flow) = flow_of(state, org_id, task.kind).await? else { return Ok(None) };
    let done = steps_done(state, org_id, task.id).await?;
    let progress = progress(state, org_id, task.id, &done).await?;
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
