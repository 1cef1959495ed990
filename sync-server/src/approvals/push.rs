//! Approval facts pushed by phones: the checks they must pass before storage (a request
//! under a flow version that exists, from the requester's own department; a decision by
//! someone who may decide the request's current step now), and the views refreshed after
//! they are stored.

use std::collections::BTreeSet;

use fieldkit_domain::approval::{ApprovalRequest, Decision, authorize};
use fieldkit_domain::ids::{FactId, OrgId};
use fieldkit_domain::model::User;
use fieldkit_domain::protocol::{Fact, PushOutcome, RejectCode};

use super::directory::OrgDirectory;
use super::service::{self, Loaded};
use crate::error::ApiResult;
use crate::state::AppState;

fn rejected(reason: String) -> PushOutcome {
    PushOutcome::Rejected { code: RejectCode::Invalid, reason }
}

/// Refuses, for good, an approval fact `user` may not push now; other facts pass.
pub async fn check(
    state: &AppState,
    user: &User,
    fact: &Fact,
    now_ms: i64,
) -> ApiResult<Result<(), PushOutcome>> {
    match fact {
        Fact::ApprovalRequest(request) => check_request(state, user, request).await,
        Fact::ApprovalDecision(decision) => check_decision(state, user, decision, now_ms).await,
        _ => Ok(Ok(())),
    }
}

async fn check_request(
    state: &AppState,
    user: &User,
    request: &ApprovalRequest,
) -> ApiResult<Result<(), PushOutcome>> {
    if let Err(e) = request.check() {
        return Ok(Err(rejected(format!("approval request {}: {e}", request.id))));
    }
    if request.department_id != user.team_id {
        return Ok(Err(rejected(format!(
            "approval request {} names another department than its requester's",
            request.id
        ))));
    }
    let kind = request.subject.kind();
    if state.storage.approval_flow(user.org_id, kind, request.flow_version).await?.is_none() {
        return Ok(Err(rejected(format!(
            "approval request {}: there is no {} flow version {}",
            request.id,
            kind.as_str(),
            request.flow_version
        ))));
    }
    Ok(Ok(()))
}

async fn check_decision(
    state: &AppState,
    user: &User,
    decision: &Decision,
    now_ms: i64,
) -> ApiResult<Result<(), PushOutcome>> {
    let loaded = match service::load(state.storage.as_ref(), user.org_id, decision.request_id).await {
        Ok(loaded) => loaded,
        Err(e) => return Ok(Err(rejected(format!("decision {}: {}", decision.id, e.message)))),
    };
    if loaded.decisions.iter().any(|d| d.id == decision.id) {
        return Ok(Ok(())); // a retry: storage answers "already stored"
    }
    let directory = OrgDirectory::load(state.storage.as_ref(), user.org_id).await?;
    let (current, _) = loaded.decide(&directory, now_ms)?;
    match authorize(user.id, &loaded.request, &current) {
        Ok(step) if step == decision.step => Ok(Ok(())),
        Ok(step) => Ok(Err(rejected(format!(
            "decision {} is for step {}, the request is at step {step}",
            decision.id, decision.step
        )))),
        Err(e) => Ok(Err(PushOutcome::Rejected {
            code: RejectCode::NotAllowed,
            reason: format!("decision {}: {e}", decision.id),
        })),
    }
}

/// Recomputes and republishes the views of the requests the stored `facts` are about.
pub async fn after_store(state: &AppState, org_id: OrgId, facts: &[&Fact], now_ms: i64) -> ApiResult<()> {
    let ids: BTreeSet<FactId> = facts
        .iter()
        .filter_map(|f| match f {
            Fact::ApprovalRequest(r) => Some(r.id),
            Fact::ApprovalDecision(d) => Some(d.request_id),
            _ => None,
        })
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let directory = OrgDirectory::load(state.storage.as_ref(), org_id).await?;
    for id in ids {
        let loaded = service::load(state.storage.as_ref(), org_id, id).await?;
        refresh(state, org_id, &loaded, &directory, now_ms).await?;
    }
    Ok(())
}

async fn refresh(
    state: &AppState,
    org_id: OrgId,
    loaded: &Loaded,
    directory: &OrgDirectory,
    now_ms: i64,
) -> ApiResult<()> {
    let (_, view) = loaded.decide(directory, now_ms)?;
    service::publish(state.storage.as_ref(), org_id, &view).await?;
    Ok(())
}

/// Re-decides every request of the org at `now_ms` and republishes the views that changed
/// (time-outs escalate this way).
pub async fn refresh_all(state: &AppState, org_id: OrgId, now_ms: i64) -> ApiResult<()> {
    let _decisions = state.lock_approvals(org_id).await;
    let all = service::load_all(state.storage.as_ref(), org_id).await?;
    if all.is_empty() {
        return Ok(());
    }
    let directory = OrgDirectory::load(state.storage.as_ref(), org_id).await?;
    for loaded in &all {
        refresh(state, org_id, loaded, &directory, now_ms).await?;
    }
    Ok(())
}
