//! Task dispatch: managers create tasks and edit or reassign them; each change reaches
//! the assignee's phone through the change feed, and a reassigned task leaves the old
//! assignee's phone as a removal.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fieldkit_domain::ids::{CustomerId, TaskId, UserId};
use fieldkit_domain::model::{Place, Task, TaskKind, TaskStatus, User};
use fieldkit_domain::protocol::{Record, RecordKind};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;

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

fn require_dispatcher(user: &User) -> ApiResult<()> {
    if user.role.can_dispatch() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "role {} may not dispatch tasks",
            user.role.as_str()
        )))
    }
}

/// Checks that the task names only things of the caller's org.
async fn validate(state: &AppState, caller: &User, task: &Task) -> ApiResult<()> {
    if task.title.trim().is_empty() {
        return Err(ApiError::invalid("task title must not be empty"));
    }
    if let Some(assignee) = task.assignee_id
        && state.storage.user(caller.org_id, assignee).await?.is_none()
    {
        return Err(ApiError::invalid(format!(
            "assignee {assignee} is not a user of this org"
        )));
    }
    if let Some(customer) = task.customer_id
        && state
            .storage
            .record(caller.org_id, RecordKind::Customer, customer.0)
            .await?
            .is_none()
    {
        return Err(ApiError::invalid(format!(
            "customer {customer} is not a customer of this org"
        )));
    }
    Ok(())
}

pub(super) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewTask>,
) -> ApiResult<(StatusCode, Json<Task>)> {
    require_dispatcher(&caller)?;
    let task = Task {
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
    };
    validate(&state, &caller, &task).await?;
    state
        .storage
        .put_record(caller.org_id, Record::Task(task.clone()), task.assignee_id)
        .await?;
    tracing::info!(task = %task.id, "task created");
    Ok((StatusCode::CREATED, Json(task)))
}

async fn load(state: &AppState, caller: &User, id: TaskId) -> ApiResult<Task> {
    match state
        .storage
        .record(caller.org_id, RecordKind::Task, id.0)
        .await?
    {
        Some(stored) => match stored.record {
            Record::Task(task) if caller.role.can_dispatch() || task.assignee_id == Some(caller.id) => {
                Ok(task)
            }
            _ => Err(ApiError::not_found(format!("task {id} not found"))),
        },
        None => Err(ApiError::not_found(format!("task {id} not found"))),
    }
}

pub(super) async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<TaskId>,
) -> ApiResult<Json<Task>> {
    Ok(Json(load(&state, &caller, id).await?))
}

pub(super) async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<TaskId>,
    ApiJson(task): ApiJson<Task>,
) -> ApiResult<Json<Task>> {
    require_dispatcher(&caller)?;
    if task.id != id {
        return Err(ApiError::invalid(format!(
            "body names task {} but the path names {id}",
            task.id
        )));
    }
    load(&state, &caller, id).await?;
    validate(&state, &caller, &task).await?;
    state
        .storage
        .put_record(caller.org_id, Record::Task(task.clone()), task.assignee_id)
        .await?;
    tracing::info!(task = %task.id, "task replaced");
    Ok(Json(task))
}
