//! Approval requests on the server: loading a request with its flow and decisions, deciding
//! where it stands now (the domain's state machine), recording a decision, and keeping each
//! requester's view (a reference record in their feed) up to date.
//!
//! Requests and decisions are facts, stored like any other (from phones through sync, from
//! the dashboard through the routes); the status is never stored on its own but computed
//! from them, so a decision that arrives late from an offline phone changes it exactly as
//! the domain's rules say. One org's decisions are made one at a time
//! ([`AppState::lock_approvals`]).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use fieldkit_domain::approval::{
    ApprovalFlow, ApprovalKind, ApprovalRequest, ApprovalState, ApprovalView, AuthorizeError, Decision,
    authorize, decide,
};
use fieldkit_domain::ids::{FactId, OrgId, UserId};
use fieldkit_domain::protocol::{Fact, Record, RecordKind};
use sha2::{Digest, Sha256};

use super::directory::OrgDirectory;
use crate::error::{ApiError, ApiResult};
use crate::storage::{FactFilter, FactInsert, NewFact, ReceivedFact, Storage, StorageError, StorageResult};

/// A request with the flow version it was raised under and every decision on it.
pub struct Loaded {
    /// The request.
    pub request: ApprovalRequest,
    /// Its flow.
    pub flow: ApprovalFlow,
    /// The decisions on it, in storage order.
    pub decisions: Vec<Decision>,
}

impl Loaded {
    /// Where the request stands at `now_ms`, and its requester's view.
    pub fn decide(&self, directory: &OrgDirectory, now_ms: i64) -> ApiResult<(ApprovalState, ApprovalView)> {
        let state = decide(&self.flow, &self.request, directory, &self.decisions, now_ms)
            .map_err(|e| ApiError::invalid(format!("request {} cannot be decided: {e}", self.request.id)))?;
        let view = ApprovalView::new(self.request.clone(), state.clone(), &self.decisions);
        Ok((state, view))
    }
}

async fn approval_facts(storage: &dyn Storage, org_id: OrgId, kind: &str) -> StorageResult<Vec<Fact>> {
    let stored = storage.facts(org_id, FactFilter { kind: Some(kind.to_owned()), rep_ids: None }).await?;
    stored
        .into_iter()
        .map(|f| {
            serde_json::from_str(&f.body).map_err(|source| StorageError::Corrupt { what: "fact", source })
        })
        .collect()
}

/// Every approval request of the org, in storage order.
pub async fn requests(storage: &dyn Storage, org_id: OrgId) -> StorageResult<Vec<ApprovalRequest>> {
    let facts = approval_facts(storage, org_id, "approval_request").await?;
    Ok(facts
        .into_iter()
        .filter_map(|f| if let Fact::ApprovalRequest(r) = f { Some(r) } else { None })
        .collect())
}

/// Every decision on the org's approval requests, in storage order.
pub async fn decisions(storage: &dyn Storage, org_id: OrgId) -> StorageResult<Vec<Decision>> {
    let facts = approval_facts(storage, org_id, "approval_decision").await?;
    Ok(facts
        .into_iter()
        .filter_map(|f| if let Fact::ApprovalDecision(d) = f { Some(d) } else { None })
        .collect())
}

/// Loads request `id` with its flow and decisions; `NotFound` when there is no such request.
pub async fn load(storage: &dyn Storage, org_id: OrgId, id: FactId) -> ApiResult<Loaded> {
    load_all(storage, org_id)
        .await?
        .into_iter()
        .find(|l| l.request.id == id)
        .ok_or_else(|| ApiError::not_found(format!("approval request {id}")))
}

/// Every request of the org with its flow version and its decisions, in storage order (a
/// request whose flow version is missing is logged and left out).
pub async fn load_all(storage: &dyn Storage, org_id: OrgId) -> StorageResult<Vec<Loaded>> {
    let mut decisions_of: HashMap<FactId, Vec<Decision>> = HashMap::new();
    for d in decisions(storage, org_id).await? {
        decisions_of.entry(d.request_id).or_default().push(d);
    }
    let mut flows: HashMap<(ApprovalKind, u32), Option<ApprovalFlow>> = HashMap::new();
    let mut all = Vec::new();
    for request in requests(storage, org_id).await? {
        let key = (request.subject.kind(), request.flow_version);
        if let Entry::Vacant(slot) = flows.entry(key) {
            slot.insert(storage.approval_flow(org_id, key.0, key.1).await?);
        }
        let Some(Some(flow)) = flows.get(&key) else {
            tracing::error!(request = %request.id, "approval request names a flow version that is missing");
            continue;
        };
        let decisions = decisions_of.remove(&request.id).unwrap_or_default();
        all.push(Loaded { flow: flow.clone(), decisions, request });
    }
    Ok(all)
}

/// Puts `view` in its requester's feed unless the feed already holds exactly it, and carries
/// out what a newly decided request does ([`super::subjects::settle`]).
pub async fn publish(storage: &dyn Storage, org_id: OrgId, view: &ApprovalView) -> StorageResult<bool> {
    let current = storage.record(org_id, RecordKind::Approval, view.record_id()).await?;
    if matches!(current, Some(ref stored) if matches!(&stored.record, Record::Approval(held) if **held == *view))
    {
        return Ok(false);
    }
    storage
        .put_record(org_id, Record::Approval(Box::new(view.clone())), Some(view.request.requester_id))
        .await?;
    super::subjects::settle(storage, org_id, view).await?;
    Ok(true)
}

/// Why `approver` may not decide now, as the HTTP edge says it: 403 outside the step, 409
/// when the request or the approver's part in it is already decided.
fn refusal(e: &AuthorizeError) -> ApiError {
    match e {
        AuthorizeError::NotAnApprover { .. } => ApiError::forbidden(e.to_string()),
        _ => ApiError::new(fieldkit_domain::protocol::ErrorCode::Conflict, e.to_string()),
    }
}

/// The decision `approver` makes now on the current step of `loaded`, if they may.
pub fn decision_now(
    loaded: &Loaded,
    state: &ApprovalState,
    approver: UserId,
    verdict: fieldkit_domain::approval::Verdict,
    comment: String,
    now_ms: i64,
) -> ApiResult<Decision> {
    let step = authorize(approver, &loaded.request, state).map_err(|e| refusal(&e))?;
    Ok(Decision {
        id: FactId::new(),
        request_id: loaded.request.id,
        step,
        approver_id: approver,
        at_ms: now_ms,
        verdict,
        comment,
    })
}

/// Stores an approval fact made on the server (a request or decision through the API), as a
/// push would store it; a fact already stored with the same body is no change.
pub async fn store(storage: &dyn Storage, org_id: OrgId, fact: &Fact, now_ms: i64) -> ApiResult<()> {
    let body = serde_json::to_string(fact).expect("facts always serialize");
    let received = ReceivedFact {
        fact: NewFact {
            id: fact.id(),
            kind: fact.kind(),
            rep_id: fact.rep_id(),
            body_sha256: hex::encode(Sha256::digest(body.as_bytes())),
            body,
            clock_skew_ms: None,
        },
        clock_flagged: false,
        event_ms: Some(now_ms),
        server_assessment: None,
        points: Vec::new(),
        photo: None,
    };
    match storage.store_facts(org_id, vec![received], now_ms).await?.first() {
        Some(FactInsert::Stored(_) | FactInsert::AlreadyStored) => Ok(()),
        Some(FactInsert::ConflictingBody) | None => Err(ApiError::new(
            fieldkit_domain::protocol::ErrorCode::Conflict,
            format!("fact {} is already stored with a different body", fact.id()),
        )),
    }
}
