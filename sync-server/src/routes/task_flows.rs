//! Task flows over HTTP (issue #10 part 3):
//!
//! - `GET /v1/task-flows`: the org's flow of each task kind that has one (anyone signed in).
//! - `PUT /v1/task-flows/{task_kind}`, body `{steps: [{id, title, kind}]}` where `kind` is
//!   `{type: "action", evidence?}` or `{type: "approval", flow: {steps, when_no_approver?}}`:
//!   an admin defines the ordered steps of a task kind; an invalid definition is refused
//!   naming the step (422). Each approval step's flow is stored as a new `task_step` approval
//!   flow version (requests for the step are decided by it) without becoming the org's
//!   current `task_step` flow; phones receive the task flow at their next sync.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::approval::{
    ApprovalFlow, ApprovalKind, FlowStep, NoApproverPolicy, StepId, TaskFlow, TaskFlowStep, TaskStepKind,
};
use fieldkit_domain::model::{Role, SopStepKind, TaskKind};
use fieldkit_domain::protocol::{Record, RecordKind};
use serde::Deserialize;

use crate::audit::{AuditAction, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::state::AppState;

/// `PUT /v1/task-flows/{task_kind}` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewTaskFlow {
    steps: Vec<NewStep>,
}

/// One step of a new task flow.
#[derive(Debug, Deserialize)]
struct NewStep {
    id: StepId,
    title: String,
    kind: NewStepKind,
}

/// What a new step asks for.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum NewStepKind {
    Action {
        #[serde(default)]
        evidence: Option<SopStepKind>,
    },
    Approval {
        flow: NewStepFlow,
    },
}

/// An approval step's flow (its version is assigned when stored).
#[derive(Debug, Deserialize)]
struct NewStepFlow {
    #[serde(default = "task_step")]
    kind: ApprovalKind,
    steps: Vec<FlowStep>,
    #[serde(default)]
    when_no_approver: NoApproverPolicy,
}

fn task_step() -> ApprovalKind {
    ApprovalKind::TaskStep
}

impl NewStep {
    fn into_step(self) -> TaskFlowStep {
        let kind = match self.kind {
            NewStepKind::Action { evidence } => TaskStepKind::Action { evidence },
            // The version is assigned in storage; 1 passes validation for any.
            NewStepKind::Approval { flow } => TaskStepKind::Approval {
                flow: ApprovalFlow {
                    kind: flow.kind,
                    version: 1,
                    steps: flow.steps,
                    when_no_approver: flow.when_no_approver,
                },
            },
        };
        TaskFlowStep { id: self.id, title: self.title, kind }
    }
}

fn parse_kind(text: &str) -> ApiResult<TaskKind> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| ApiError::not_found(format!("task kind {text:?}")))
}

pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<TaskFlow>>> {
    let flows = state
        .storage
        .records(caller.org_id, RecordKind::TaskFlow)
        .await?
        .into_iter()
        .filter_map(|stored| match stored.record {
            Record::TaskFlow(flow) => Some(flow),
            _ => None,
        })
        .collect();
    Ok(Json(flows))
}

pub(super) async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(kind): ApiPath<String>,
    ApiJson(new): ApiJson<NewTaskFlow>,
) -> ApiResult<(StatusCode, Json<TaskFlow>)> {
    if caller.role != Role::Admin {
        return Err(ApiError::forbidden(format!("role {} may not define task flows", caller.role.as_str())));
    }
    let task_kind = parse_kind(&kind)?;
    let flow = TaskFlow { task_kind, steps: new.steps.into_iter().map(NewStep::into_step).collect() };
    flow.validate().map_err(|e| ApiError::invalid(format!("task flow is not valid: {e}")))?;
    let stored = state.storage.put_task_flow(caller.org_id, flow, crate::now_ms()).await?;
    tracing::info!(task_kind = %kind, "task flow defined");
    let detail = format!("{} steps", stored.steps.len());
    record(&state, &caller, AuditAction::TaskFlowPublished, &kind, detail).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}
