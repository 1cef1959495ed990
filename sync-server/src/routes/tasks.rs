//! Task dispatch: managers create tasks and patch or reassign them. A task is a shared
//! document: the manager's patch and the rep's offline progress merge (see
//! `fieldkit_domain::docs::task`), every change reaches the assignee's phone through the
//! change feed, and a reassigned task leaves the old assignee's phone as a removal.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::docs::{self, DocError, task as task_doc};
use fieldkit_domain::ids::{CustomerId, TaskId, UserId};
use fieldkit_domain::model::{Place, Task, TaskKind, TaskStatus, User};
use fieldkit_domain::protocol::{ErrorCode, PushOutcome, RecordKind, RejectCode};
use serde::Deserialize;

use super::double_option;

use crate::approvals::task_steps;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::state::AppState;
use crate::storage::{DocDecision, DocResult, DocUpdate};

/// `POST /v1/tasks` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewTask {
    kind: TaskKind,
    title: String,
    #[serde(default)]
    goal: String,
    deadline_ms: Option<i64>,
    place: Option<Place>,
    customer_id: Option<CustomerId>,
    assignee_id: Option<UserId>,
    #[serde(default)]
    notes: String,
}

/// `PATCH /v1/tasks/{id}` body: only the fields present change; `null` clears a field.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskChanges {
    title: Option<String>,
    goal: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    deadline_ms: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    place: Option<Option<Place>>,
    #[serde(default, deserialize_with = "double_option")]
    customer_id: Option<Option<CustomerId>>,
    #[serde(default, deserialize_with = "double_option")]
    assignee_id: Option<Option<UserId>>,
    status: Option<TaskStatus>,
    notes: Option<String>,
}

pub(super) fn require_dispatcher(user: &User) -> ApiResult<()> {
    if user.role.can_dispatch() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("role {} may not dispatch tasks", user.role.as_str())))
    }
}

/// Checks that a task names only people and customers of the caller's org.
async fn check_refs(
    state: &AppState,
    caller: &User,
    assignee: Option<UserId>,
    customer: Option<CustomerId>,
) -> ApiResult<()> {
    if let Some(assignee) = assignee {
        let Some(user) = state.storage.user(caller.org_id, assignee).await? else {
            return Err(ApiError::invalid(format!("assignee {assignee} is not a user of this org")));
        };
        if !caller.may_read(&user) {
            return Err(ApiError::forbidden(format!("assignee {assignee} is outside your data scope")));
        }
    }
    if let Some(customer) = customer
        && state.storage.record(caller.org_id, RecordKind::Customer, customer.0).await?.is_none()
    {
        return Err(ApiError::invalid(format!("customer {customer} is not a customer of this org")));
    }
    Ok(())
}

fn doc_error(e: &DocError) -> ApiError {
    match e {
        DocError::StatusRegress { .. } => ApiError::new(ErrorCode::Conflict, e.to_string()),
        other => ApiError::invalid(other.to_string()),
    }
}

/// The storage update that stores `task` as a new shared document addressed to its assignee
/// (so it reaches their phone through the feed); refused inside the transaction if a task
/// with its id exists. Every path that creates tasks goes through it.
pub(crate) fn creation(state: &AppState, task: &Task) -> ApiResult<DocUpdate> {
    let mut doc = docs::empty(state.actor.clone());
    task_doc::create(&mut doc, task).map_err(|e| doc_error(&e))?;
    let write = DocDecision::Write {
        state: doc.save(),
        body: serde_json::to_string(task).expect("tasks always serialize"),
        audience: task.assignee_id,
        held_by: None,
    };
    Ok(DocUpdate {
        kind: RecordKind::Task,
        id: task.id.0,
        merge: Box::new(move |stored| match stored {
            None => write,
            Some(_) => DocDecision::Refuse(PushOutcome::Rejected {
                code: RejectCode::Invalid,
                reason: "task id already exists".into(),
            }),
        }),
    })
}

/// Checks `new` against the caller's org and scope and makes it an open task with a fresh
/// id (not yet stored). Every path that creates tasks from a request goes through it.
pub(super) async fn build(state: &AppState, caller: &User, new: NewTask) -> ApiResult<Task> {
    if new.title.trim().is_empty() {
        return Err(ApiError::invalid("task title must not be empty"));
    }
    check_refs(state, caller, new.assignee_id, new.customer_id).await?;
    Ok(Task {
        id: TaskId::new(),
        kind: new.kind,
        title: new.title,
        goal: new.goal,
        deadline_ms: new.deadline_ms,
        place: new.place,
        customer_id: new.customer_id,
        assignee_id: new.assignee_id,
        status: TaskStatus::Open,
        notes: new.notes,
    })
}

pub(super) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewTask>,
) -> ApiResult<(StatusCode, Json<Task>)> {
    require_dispatcher(&caller)?;
    let task = build(&state, &caller, new).await?;
    let update = creation(&state, &task)?;
    state.storage.update_docs(caller.org_id, vec![update]).await?;
    tracing::info!(task = %task.id, "task created");
    Ok((StatusCode::CREATED, Json(task)))
}

/// The task as stored, if the caller may see it: its assignee, or a dispatcher whose scope
/// reaches the assignee (any dispatcher for an unassigned task); others get not found.
pub(super) async fn load(state: &AppState, caller: &User, id: TaskId) -> ApiResult<Task> {
    let not_found = || ApiError::not_found(format!("task {id} not found"));
    let stored = state.storage.doc(caller.org_id, RecordKind::Task, id.0).await?.ok_or_else(not_found)?;
    let doc = docs::load(&stored.state, state.actor.clone()).map_err(|e| doc_error(&e))?;
    let task = task_doc::project(&doc).map_err(|e| doc_error(&e))?;
    let visible = match task.assignee_id {
        Some(assignee) if assignee == caller.id => true,
        Some(assignee) if caller.role.can_dispatch() => {
            state.storage.user(caller.org_id, assignee).await?.is_some_and(|user| caller.may_read(&user))
        }
        Some(_) => false,
        None => caller.role.can_dispatch(),
    };
    if visible { Ok(task) } else { Err(not_found()) }
}

pub(super) async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<TaskId>,
) -> ApiResult<Json<Task>> {
    Ok(Json(load(&state, &caller, id).await?))
}

pub(super) async fn patch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<TaskId>,
    ApiJson(changes): ApiJson<TaskChanges>,
) -> ApiResult<Json<Task>> {
    require_dispatcher(&caller)?;
    let task = load(&state, &caller, id).await?;
    if changes.status == Some(TaskStatus::Done)
        && task.status != TaskStatus::Done
        && let Some(step) = task_steps::unfinished_step(&state, caller.org_id, &task).await?
    {
        return Err(ApiError::new(ErrorCode::Conflict, task_steps::not_finished_reason(id, &step)));
    }
    if changes.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(ApiError::invalid("task title must not be empty"));
    }
    check_refs(&state, &caller, changes.assignee_id.flatten(), changes.customer_id.flatten()).await?;
    let patch = task_doc::TaskPatch {
        title: changes.title,
        goal: changes.goal,
        deadline_ms: changes.deadline_ms,
        place: changes.place,
        customer_id: changes.customer_id,
        assignee_id: changes.assignee_id,
        status: changes.status,
        notes: changes.notes,
    };
    let actor = state.actor.clone();
    let update = DocUpdate {
        kind: RecordKind::Task,
        id: id.0,
        merge: Box::new(move |stored| {
            let refuse = |code, reason: String| DocDecision::Refuse(PushOutcome::Rejected { code, reason });
            let Some(bytes) = stored else {
                return refuse(RejectCode::NotAllowed, format!("task {id} not found"));
            };
            let applied = docs::load(bytes, actor).and_then(|mut doc| {
                task_doc::apply(&mut doc, &patch).and_then(|()| Ok((task_doc::project(&doc)?, doc)))
            });
            match applied {
                Ok((task, mut doc)) => DocDecision::Write {
                    state: doc.save(),
                    body: serde_json::to_string(&task).expect("tasks always serialize"),
                    audience: task.assignee_id,
                    held_by: None,
                },
                Err(e @ DocError::StatusRegress { .. }) => refuse(RejectCode::Invalid, e.to_string()),
                Err(e) => refuse(RejectCode::ConflictingBody, e.to_string()),
            }
        }),
    };
    match state.storage.update_docs(caller.org_id, vec![update]).await?.pop() {
        Some(DocResult::Written(_) | DocResult::Unchanged) => {}
        Some(DocResult::Refused(PushOutcome::Rejected { code: RejectCode::NotAllowed, reason })) => {
            return Err(ApiError::not_found(reason));
        }
        Some(DocResult::Refused(PushOutcome::Rejected { code: RejectCode::Invalid, reason })) => {
            return Err(ApiError::new(ErrorCode::Conflict, reason));
        }
        Some(DocResult::Refused(other)) => {
            return Err(ApiError::invalid(format!("task not changed: {other:?}")));
        }
        None => {
            return Err(ApiError::new(ErrorCode::Internal, "internal error; try again later"));
        }
    }
    tracing::info!(task = %id, "task patched");
    Ok(Json(load(&state, &caller, id).await?))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<TaskId>,
) -> ApiResult<StatusCode> {
    require_dispatcher(&caller)?;
    load(&state, &caller, id).await?;
    match state.storage.delete_record(caller.org_id, RecordKind::Task, id.0).await? {
        Some(_) => {
            tracing::info!(task = %id, "task deleted");
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::not_found(format!("task {id} not found"))),
    }
}
