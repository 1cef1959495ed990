//! What a decided request does beyond its view. An approved new-customer request creates
//! the customer its proposal describes (owned by the proposing rep, reaching their phone
//! through the feed); a rejected one rejects the proposal with the rejecting approver's
//! comment. Storage decides a proposal once, so publishing the same view again changes
//! nothing. Other kinds act where they are used (an approved discount when an order spends
//! it, a leave when tracking asks).

use fieldkit_domain::approval::{ApprovalStatus, ApprovalView, RequestSubject};
use fieldkit_domain::ids::{CustomerId, FactId, OrgId};
use fieldkit_domain::model::{Customer, CustomerProposal};
use fieldkit_domain::protocol::Fact;

use crate::storage::{
    DecisionOutcome, DecisionStatus, FactFilter, ProposalDecision, Storage, StorageError, StorageResult,
};

/// The stored proposal `id` made by the request's requester, if there is one.
async fn proposal(
    storage: &dyn Storage,
    org_id: OrgId,
    view: &ApprovalView,
    id: FactId,
) -> StorageResult<Option<CustomerProposal>> {
    let filter = FactFilter {
        kind: Some("customer_proposal".to_owned()),
        rep_ids: Some(vec![view.request.requester_id]),
    };
    for stored in storage.facts(org_id, filter).await? {
        if stored.id != id {
            continue;
        }
        let fact: Fact = serde_json::from_str(&stored.body)
            .map_err(|source| StorageError::Corrupt { what: "fact", source })?;
        if let Fact::CustomerProposal(p) = fact {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// Carries out a decided request's effect; pending requests and kinds without one do
/// nothing.
pub async fn settle(storage: &dyn Storage, org_id: OrgId, view: &ApprovalView) -> StorageResult<()> {
    let RequestSubject::NewCustomer { proposal_id } = view.request.subject else { return Ok(()) };
    let approved = match view.status {
        ApprovalStatus::Approved { .. } => true,
        ApprovalStatus::Rejected { .. } => false,
        ApprovalStatus::Pending { .. } => return Ok(()),
    };
    let Some(proposal) = proposal(storage, org_id, view, proposal_id).await? else {
        tracing::warn!(request = %view.request.id, "a new-customer request names no proposal of its requester");
        return Ok(());
    };
    let last = view.decisions.last();
    let customer = approved.then(|| Customer {
        id: CustomerId::new(),
        name: proposal.name.trim().to_owned(),
        place: proposal.place.clone(),
        grade: proposal.grade,
        tags: proposal.tags.clone(),
        geofence_radius_m: None,
        owner_id: Some(proposal.rep_id),
    });
    let decision = ProposalDecision {
        fact_id: proposal_id,
        status: if approved { DecisionStatus::Approved } else { DecisionStatus::Rejected },
        customer_id: customer.as_ref().map(|c| c.id),
        decided_by: last.map_or(view.request.requester_id, |d| d.approver_id),
        reason: if approved { String::new() } else { last.map(|d| d.comment.clone()).unwrap_or_default() },
        decided_ms: last.map_or(view.request.submitted_ms, |d| d.at_ms),
    };
    match storage.decide_proposal(org_id, decision, customer).await? {
        DecisionOutcome::Recorded => {
            tracing::info!(proposal = %proposal_id, approved, "proposal decided by its approval flow");
        }
        DecisionOutcome::AlreadyDecided(_) => {}
    }
    Ok(())
}
