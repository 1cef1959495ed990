//! New customers proposed from the field: a rep pushes a `customer_proposal` fact (name,
//! place, grade, tags, storefront photo) through `POST /v1/sync`; their manager lists it with
//! its likely duplicates and approves it (the customer is created, owned by the rep, and
//! reaches their phone through the feed) or rejects it with a reason.
//!
//! - `GET /v1/proposals[?status=pending|approved|rejected]`: a rep sees their own proposals,
//!   a manager their team's (and their own), an admin the org's; in the order received.
//! - `POST /v1/proposals/{fact_id}/approve`, optional body `{name?, grade?, tags?,
//!   geofence_radius_m?}` to correct the proposal: 201 `{proposal, customer}`.
//! - `POST /v1/proposals/{fact_id}/reject`, body `{reason}`: 200 with the proposal.
//!
//! Deciding is for the manager of the proposing rep's team or an admin, unless the org has a
//! new-customer approval flow and the phone raised its request with the proposal: then the
//! flow's approvers decide it (`approvals::subjects`) and these routes answer 409. A proposal is
//! decided once: the decision is stored in `proposal_decisions` (migration 008) in the same
//! transaction as the approved customer, and a second decision answers 409.
//!
//! Duplicates are flagged, not refused: the org's customers and its other pending proposals
//! that have the same name (ignoring case and whitespace) or stand within
//! [`DUPLICATE_RADIUS_M`] (haversine), whoever owns or proposed them. The customer an
//! approved proposal created is not its own duplicate.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::approval::RequestSubject;
use fieldkit_domain::geo::haversine_m;
use fieldkit_domain::ids::{CustomerId, FactId, UserId};
use fieldkit_domain::model::{Customer, CustomerProposal, Grade, Place, User};
use fieldkit_domain::protocol::{ErrorCode, Fact, Record, RecordKind};
use serde::{Deserialize, Serialize};

use super::facts::authors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBytes, ApiJson, ApiPath, ApiQuery, Caller};
use crate::state::AppState;
use crate::storage::{
    DecisionOutcome, DecisionStatus, FactFilter, ProposalDecision, StorageError, StoredFact,
};

/// Customers and proposals closer than this are flagged as likely duplicates, metres.
const DUPLICATE_RADIUS_M: f64 = 30.0;
/// The longest rejection reason, characters.
const MAX_REASON_CHARS: usize = 500;
const KIND: &str = "customer_proposal";

/// `GET /v1/proposals` query string.
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
}

/// `POST /v1/proposals/{fact_id}/approve` body (optional): corrections to the proposal.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Approval {
    name: Option<String>,
    grade: Option<Grade>,
    tags: Option<Vec<String>>,
    geofence_radius_m: Option<u32>,
}

/// `POST /v1/proposals/{fact_id}/reject` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Rejection {
    reason: String,
}

/// A proposal as listed.
#[derive(Debug, Serialize)]
pub(super) struct ProposalView {
    fact_id: FactId,
    rep_id: UserId,
    name: String,
    place: Place,
    grade: Grade,
    tags: Vec<String>,
    photo_sha256: Option<String>,
    /// When the rep proposed it, device Unix milliseconds.
    proposed_at: i64,
    /// When the server received it, Unix milliseconds.
    received_ms: i64,
    /// `pending`, `approved` or `rejected`.
    status: &'static str,
    /// The customer created (approved).
    customer_id: Option<CustomerId>,
    /// Who decided.
    decided_by: Option<UserId>,
    /// When, server Unix milliseconds.
    decided_ms: Option<i64>,
    /// Why it was rejected.
    reason: Option<String>,
    /// Likely duplicates, nearest first.
    duplicates: Vec<Duplicate>,
}

/// A customer or pending proposal that may be the same shop.
#[derive(Debug, Serialize)]
pub(super) struct Duplicate {
    /// `customer` or `proposal`.
    kind: &'static str,
    /// The customer (kind `customer`).
    customer_id: Option<CustomerId>,
    /// The other proposal (kind `proposal`).
    fact_id: Option<FactId>,
    name: String,
    /// Haversine distance, metres (one decimal).
    distance_m: f64,
    /// Same name, ignoring case and whitespace.
    same_name: bool,
}

/// The answer to an approval.
#[derive(Debug, Serialize)]
pub(super) struct Approved {
    proposal: ProposalView,
    customer: Customer,
}

/// A name compared ignoring case and whitespace.
fn normalized(name: &str) -> String {
    name.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// A proposal with what the server knows of it.
struct Stored {
    proposal: CustomerProposal,
    received_ms: i64,
}

/// Every proposal of the org, in the order received.
async fn proposals(state: &AppState, caller: &User) -> ApiResult<Vec<Stored>> {
    let filter = FactFilter { kind: Some(KIND.to_owned()), rep_ids: None };
    let facts = state.storage.facts(caller.org_id, filter).await?;
    facts
        .iter()
        .filter_map(|f: &StoredFact| match serde_json::from_str::<Fact>(&f.body) {
            Ok(Fact::CustomerProposal(proposal)) => Some(Ok(Stored { proposal, received_ms: f.received_ms })),
            Ok(_) => None,
            Err(source) => Some(Err(StorageError::Corrupt { what: "fact", source }.into())),
        })
        .collect()
}

/// The org's customers.
async fn customers(state: &AppState, caller: &User) -> ApiResult<Vec<Customer>> {
    Ok(state.storage.customers(caller.org_id).await?)
}

/// What the listing needs beside the proposals: customers, decisions, pending proposals.
struct Context {
    customers: Vec<Customer>,
    decisions: HashMap<FactId, ProposalDecision>,
    pending: Vec<CustomerProposal>,
}

impl Context {
    async fn load(state: &AppState, caller: &User, all: &[Stored]) -> ApiResult<Self> {
        let decisions: HashMap<FactId, ProposalDecision> = state
            .storage
            .proposal_decisions(caller.org_id)
            .await?
            .into_iter()
            .map(|d| (d.fact_id, d))
            .collect();
        let pending = all
            .iter()
            .filter(|s| !decisions.contains_key(&s.proposal.id))
            .map(|s| s.proposal.clone())
            .collect();
        Ok(Self { customers: customers(state, caller).await?, decisions, pending })
    }

    fn view(&self, stored: &Stored) -> ProposalView {
        let p = &stored.proposal;
        let decision = self.decisions.get(&p.id);
        let own_customer = decision.and_then(|d| d.customer_id);
        let name = normalized(&p.name);
        let candidate = |other_name: &str, place: &Place| {
            let distance_m = haversine_m(p.place.point, place.point);
            let same_name = !name.is_empty() && normalized(other_name) == name;
            (same_name || distance_m <= DUPLICATE_RADIUS_M)
                .then_some(((distance_m * 10.0).round() / 10.0, same_name))
        };
        let mut duplicates: Vec<Duplicate> = self
            .customers
            .iter()
            .filter(|c| Some(c.id) != own_customer)
            .filter_map(|c| {
                candidate(&c.name, &c.place).map(|(distance_m, same_name)| Duplicate {
                    kind: "customer",
                    customer_id: Some(c.id),
                    fact_id: None,
                    name: c.name.clone(),
                    distance_m,
                    same_name,
                })
            })
            .collect();
        duplicates.extend(self.pending.iter().filter(|o| o.id != p.id).filter_map(|o| {
            candidate(&o.name, &o.place).map(|(distance_m, same_name)| Duplicate {
                kind: "proposal",
                customer_id: None,
                fact_id: Some(o.id),
                name: o.name.clone(),
                distance_m,
                same_name,
            })
        }));
        duplicates.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
        ProposalView {
            fact_id: p.id,
            rep_id: p.rep_id,
            name: p.name.clone(),
            place: p.place.clone(),
            grade: p.grade,
            tags: p.tags.clone(),
            photo_sha256: p.photo_sha256.clone(),
            proposed_at: p.at.device_ms,
            received_ms: stored.received_ms,
            status: decision.map_or("pending", |d| d.status.as_str()),
            customer_id: own_customer,
            decided_by: decision.map(|d| d.decided_by),
            decided_ms: decision.map(|d| d.decided_ms),
            reason: decision.filter(|d| d.status == DecisionStatus::Rejected).map(|d| d.reason.clone()),
            duplicates,
        }
    }
}

/// `GET /v1/proposals`.
pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<ProposalView>>> {
    if let Some(status) = query.status.as_deref()
        && !["pending", "approved", "rejected"].contains(&status)
    {
        return Err(ApiError::new(
            ErrorCode::MalformedBody,
            format!("status {status:?} is not pending, approved or rejected"),
        ));
    }
    let scope = authors(&state, &caller).await?;
    let all = proposals(&state, &caller).await?;
    let context = Context::load(&state, &caller, &all).await?;
    let views = all
        .iter()
        .filter(|s| scope.as_ref().is_none_or(|reps| reps.contains(&s.proposal.rep_id)))
        .map(|s| context.view(s))
        .filter(|v| query.status.as_deref().is_none_or(|status| v.status == status))
        .collect();
    Ok(Json(views))
}

/// The proposal `id`, if the caller may decide it.
async fn decidable(state: &AppState, caller: &User, id: FactId) -> ApiResult<(Vec<Stored>, usize)> {
    if !caller.role.can_dispatch() {
        return Err(ApiError::forbidden(format!("role {} may not decide proposals", caller.role.as_str())));
    }
    let all = proposals(state, caller).await?;
    let index = all
        .iter()
        .position(|s| s.proposal.id == id)
        .ok_or_else(|| ApiError::not_found(format!("proposal {id} not found")))?;
    let scope = authors(state, caller).await?;
    if scope.is_some_and(|reps| !reps.contains(&all[index].proposal.rep_id)) {
        return Err(ApiError::forbidden(format!("proposal {id} is by a rep outside your team")));
    }
    // A proposal raised with a new-customer approval request is decided by that request's
    // approvers, in the Approvals view.
    for stored in state.storage.records(caller.org_id, RecordKind::Approval).await? {
        if let Record::Approval(view) = stored.record
            && matches!(view.request.subject, RequestSubject::NewCustomer { proposal_id } if proposal_id == id)
        {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("proposal {id} is decided through approval request {}", view.request.id),
            ));
        }
    }
    Ok((all, index))
}

fn already_decided(id: FactId, before: &ProposalDecision) -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        format!("proposal {id} was already {} by user {}", before.status.as_str(), before.decided_by),
    )
}

/// `POST /v1/proposals/{fact_id}/approve`.
pub(super) async fn approve(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<FactId>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<(StatusCode, Json<Approved>)> {
    let approval: Approval = if body.iter().all(u8::is_ascii_whitespace) {
        Approval::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(ErrorCode::MalformedBody, e.to_string().to_lowercase()))?
    };
    let (all, index) = decidable(&state, &caller, id).await?;
    let proposal = &all[index].proposal;
    let name = approval.name.unwrap_or_else(|| proposal.name.clone()).trim().to_owned();
    if name.is_empty() {
        return Err(ApiError::invalid(format!("proposal {id} has an empty name; approve it with a name")));
    }
    let customer = Customer {
        id: CustomerId::new(),
        name,
        place: proposal.place.clone(),
        grade: approval.grade.unwrap_or(proposal.grade),
        tags: approval.tags.unwrap_or_else(|| proposal.tags.clone()),
        geofence_radius_m: approval.geofence_radius_m,
        owner_id: Some(proposal.rep_id),
    };
    let decision = ProposalDecision {
        fact_id: id,
        status: DecisionStatus::Approved,
        customer_id: Some(customer.id),
        decided_by: caller.id,
        reason: String::new(),
        decided_ms: crate::now_ms(),
    };
    match state.storage.decide_proposal(caller.org_id, decision, Some(customer.clone())).await? {
        DecisionOutcome::Recorded => {}
        DecisionOutcome::AlreadyDecided(before) => return Err(already_decided(id, &before)),
    }
    tracing::info!(proposal = %id, customer = %customer.id, "customer proposal approved");
    let context = Context::load(&state, &caller, &all).await?;
    Ok((StatusCode::CREATED, Json(Approved { proposal: context.view(&all[index]), customer })))
}

/// `POST /v1/proposals/{fact_id}/reject`.
pub(super) async fn reject(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<FactId>,
    ApiJson(rejection): ApiJson<Rejection>,
) -> ApiResult<Json<ProposalView>> {
    let reason = rejection.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(ApiError::invalid("rejection reason must not be empty"));
    }
    let chars = reason.chars().count();
    if chars > MAX_REASON_CHARS {
        return Err(ApiError::invalid(format!(
            "rejection reason of {chars} characters is longer than {MAX_REASON_CHARS}"
        )));
    }
    let (all, index) = decidable(&state, &caller, id).await?;
    let decision = ProposalDecision {
        fact_id: id,
        status: DecisionStatus::Rejected,
        customer_id: None,
        decided_by: caller.id,
        reason,
        decided_ms: crate::now_ms(),
    };
    match state.storage.decide_proposal(caller.org_id, decision, None).await? {
        DecisionOutcome::Recorded => {}
        DecisionOutcome::AlreadyDecided(before) => return Err(already_decided(id, &before)),
    }
    tracing::info!(proposal = %id, "customer proposal rejected");
    let context = Context::load(&state, &caller, &all).await?;
    Ok(Json(context.view(&all[index])))
}
