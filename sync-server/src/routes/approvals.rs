//! Approval flows and requests over HTTP (issue #10):
//!
//! - `GET /v1/approval-flows`: the org's current flow of each kind (anyone signed in).
//! - `PUT /v1/approval-flows/{kind}`, body `{steps, when_no_approver?}`: an admin defines the
//!   next version of a kind's flow; an invalid one is refused naming the step (422). Phones
//!   receive it at their next sync.
//! - `POST /v1/approvals`, body `{subject, reason}`: a request by the caller, raised under
//!   the current flow of its kind (phones push the same request as a fact through sync).
//! - `GET /v1/approvals[?to_decide=true]`: the requests the caller may see (their own, the
//!   ones they approve or approved, and their scope's), newest first, each with whether the
//!   caller may decide it now; `to_decide=true` keeps only those.
//! - `GET /v1/approvals/{id}`: one request's view, its decisions' fates and `may_decide`.
//! - `POST /v1/approvals/{id}/decisions`, body `{verdict: approve|reject, comment}`: the
//!   caller decides the current step now: 403 when they are not one of its approvers, 409
//!   when the request is final or they already decided; 201 with the new view.
//!
//! Every decision is an immutable fact with who, when (server time) and why. One org's
//! decisions are made one at a time, so two approvers acting at once on an any-of step get
//! one 201 and one 409; the requester's phone sees the new status at its next sync.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::approval::{
    ApprovalFlow, ApprovalKind, ApprovalRequest, ApprovalState, ApprovalStatus, ApprovalView, FlowStep,
    IgnoredDecision, NoApproverPolicy, RequestSubject, Verdict,
};
use fieldkit_domain::ids::{FactId, UserId};
use fieldkit_domain::model::{Role, User};
use fieldkit_domain::protocol::Fact;
use serde::{Deserialize, Serialize};

use crate::approvals::directory::OrgDirectory;
use crate::approvals::service::{self, Loaded};
use crate::audit::{AuditAction, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::state::AppState;

/// `PUT /v1/approval-flows/{kind}` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewFlow {
    steps: Vec<FlowStep>,
    #[serde(default)]
    when_no_approver: NoApproverPolicy,
}

/// `POST /v1/approvals` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewRequest {
    subject: RequestSubject,
    #[serde(default)]
    reason: String,
}

/// `POST /v1/approvals/{id}/decisions` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewDecision {
    verdict: Verdict,
    #[serde(default)]
    comment: String,
}

/// `GET /v1/approvals` query.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    to_decide: bool,
}

/// A request as the dashboard shows it.
#[derive(Debug, Serialize)]
pub(super) struct ApprovalItem {
    #[serde(flatten)]
    view: ApprovalView,
    /// Whether the caller may decide its current step now.
    may_decide: bool,
    /// The display names of the people it involves (requester, approvers, deciders), who
    /// may sit outside the caller's data scope (a department head above them).
    names: BTreeMap<UserId, String>,
}

impl ApprovalItem {
    fn new(view: ApprovalView, state: &ApprovalState, caller: &User, directory: &OrgDirectory) -> Self {
        let mut involved = vec![view.request.requester_id];
        involved.extend(view.decisions.iter().map(|d| d.approver_id));
        if let ApprovalStatus::Pending { approvers, .. } = &view.status {
            involved.extend(approvers.iter().copied());
        }
        let names = involved
            .into_iter()
            .filter_map(|id| directory.user(id).map(|u| (id, u.display_name.clone())))
            .collect();
        Self { may_decide: may_decide(caller, state), view, names }
    }
}

/// One request with the fate of every decision on it.
#[derive(Debug, Serialize)]
pub(super) struct ApprovalDetail {
    #[serde(flatten)]
    item: ApprovalItem,
    /// Decisions that did not count, with the reason.
    ignored: Vec<IgnoredDecision>,
}

fn parse_kind(text: &str) -> ApiResult<ApprovalKind> {
    [
        ApprovalKind::OutOfRangeCheckIn,
        ApprovalKind::NewCustomer,
        ApprovalKind::OrderDiscount,
        ApprovalKind::Leave,
        ApprovalKind::BusinessTrip,
        ApprovalKind::TaskStep,
    ]
    .into_iter()
    .find(|k| k.as_str() == text)
    .ok_or_else(|| ApiError::not_found(format!("approval kind {text:?}")))
}

fn may_decide(caller: &User, state: &ApprovalState) -> bool {
    matches!(&state.status, ApprovalStatus::Pending { approvers, approved_by, .. }
        if approvers.contains(&caller.id) && !approved_by.contains(&caller.id))
}

/// Whether `caller` may see `loaded`: their own, one they approve or approved, or one by
/// someone in their scope.
fn may_see(caller: &User, loaded: &Loaded, state: &ApprovalState, directory: &OrgDirectory) -> bool {
    let requester = loaded.request.requester_id;
    caller.id == requester
        || loaded.decisions.iter().any(|d| d.approver_id == caller.id)
        || matches!(&state.status, ApprovalStatus::Pending { approvers, .. } if approvers.contains(&caller.id))
        || directory.user(requester).is_some_and(|r| caller.may_read(r))
}

pub(super) async fn list_flows(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<ApprovalFlow>>> {
    Ok(Json(state.storage.approval_flows(caller.org_id).await?))
}

pub(super) async fn put_flow(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(kind): ApiPath<String>,
    ApiJson(new): ApiJson<NewFlow>,
) -> ApiResult<(StatusCode, Json<ApprovalFlow>)> {
    if caller.role != Role::Admin {
        return Err(ApiError::forbidden(format!(
            "role {} may not define approval flows",
            caller.role.as_str()
        )));
    }
    let kind = parse_kind(&kind)?;
    // The version is assigned in storage; 1 passes validation for any.
    let flow = ApprovalFlow { kind, version: 1, steps: new.steps, when_no_approver: new.when_no_approver };
    flow.validate().map_err(|e| ApiError::invalid(format!("approval flow is not valid: {e}")))?;
    let stored = state.storage.put_approval_flow(caller.org_id, flow, crate::now_ms()).await?;
    let detail = format!("version {}, {} steps", stored.version, stored.steps.len());
    record(&state, &caller, AuditAction::ApprovalFlowPublished, stored.kind.as_str(), detail).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

pub(super) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewRequest>,
) -> ApiResult<(StatusCode, Json<ApprovalItem>)> {
    let kind = new.subject.kind();
    let flow = state
        .storage
        .approval_flows(caller.org_id)
        .await?
        .into_iter()
        .find(|f| f.kind == kind)
        .ok_or_else(|| ApiError::invalid(format!("the org has no {} approval flow", kind.as_str())))?;
    let now_ms = crate::now_ms();
    let request = ApprovalRequest {
        id: FactId::new(),
        requester_id: caller.id,
        department_id: caller.team_id,
        subject: new.subject,
        reason: new.reason,
        submitted_ms: now_ms,
        flow_version: flow.version,
    };
    request.check().map_err(|e| ApiError::invalid(format!("approval request is not valid: {e}")))?;
    let _decisions = state.lock_approvals(caller.org_id).await;
    service::store(state.storage.as_ref(), caller.org_id, &Fact::ApprovalRequest(request.clone()), now_ms)
        .await?;
    let loaded = Loaded { request, flow, decisions: Vec::new() };
    let directory = OrgDirectory::load(state.storage.as_ref(), caller.org_id).await?;
    let (current, view) = loaded.decide(&directory, now_ms)?;
    service::publish(state.storage.as_ref(), caller.org_id, &view).await?;
    Ok((StatusCode::CREATED, Json(ApprovalItem::new(view, &current, &caller, &directory))))
}

pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<ApprovalItem>>> {
    let org = caller.org_id;
    let now_ms = crate::now_ms();
    let directory = OrgDirectory::load(state.storage.as_ref(), org).await?;
    let mut items = Vec::new();
    for loaded in service::load_all(state.storage.as_ref(), org).await? {
        let (current, view) = loaded.decide(&directory, now_ms)?;
        let may = may_decide(&caller, &current);
        if may_see(&caller, &loaded, &current, &directory) && (may || !query.to_decide) {
            items.push(ApprovalItem::new(view, &current, &caller, &directory));
        }
    }
    items.sort_by_key(|item| std::cmp::Reverse(item.view.request.submitted_ms));
    Ok(Json(items))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<FactId>,
) -> ApiResult<Json<ApprovalDetail>> {
    let org = caller.org_id;
    // Under the lock: the view published below must not overwrite a decision's newer one.
    let _decisions = state.lock_approvals(org).await;
    let loaded = service::load(state.storage.as_ref(), org, id).await?;
    let directory = OrgDirectory::load(state.storage.as_ref(), org).await?;
    let (current, view) = loaded.decide(&directory, crate::now_ms())?;
    if !may_see(&caller, &loaded, &current, &directory) {
        return Err(ApiError::not_found(format!("approval request {id}")));
    }
    // Reading after a time-out escalates the requester's view at once.
    service::publish(state.storage.as_ref(), org, &view).await?;
    let item = ApprovalItem::new(view, &current, &caller, &directory);
    Ok(Json(ApprovalDetail { item, ignored: current.ignored }))
}

pub(super) async fn decide(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<FactId>,
    ApiJson(new): ApiJson<NewDecision>,
) -> ApiResult<(StatusCode, Json<ApprovalItem>)> {
    let org = caller.org_id;
    let _decisions = state.lock_approvals(org).await;
    let now_ms = crate::now_ms();
    let mut loaded = service::load(state.storage.as_ref(), org, id).await?;
    let directory = OrgDirectory::load(state.storage.as_ref(), org).await?;
    let (current, _) = loaded.decide(&directory, now_ms)?;
    if !may_see(&caller, &loaded, &current, &directory) {
        return Err(ApiError::not_found(format!("approval request {id}")));
    }
    let decision = service::decision_now(&loaded, &current, caller.id, new.verdict, new.comment, now_ms)?;
    service::store(state.storage.as_ref(), org, &Fact::ApprovalDecision(decision.clone()), now_ms).await?;
    tracing::info!(request = %id, step = %decision.step, "approval decided");
    loaded.decisions.push(decision);
    let (after, view) = loaded.decide(&directory, now_ms)?;
    service::publish(state.storage.as_ref(), org, &view).await?;
    Ok((StatusCode::CREATED, Json(ApprovalItem::new(view, &after, &caller, &directory))))
}
