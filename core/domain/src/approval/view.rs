//! What a requester's phone holds of a request: the request, where it stands and the steps
//! it went through, with the decisions' comments. The server computes it with [`decide`]
//! and sends it to the requester as a reference record whenever it changes (a decision, a
//! time-out); the phone never computes it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::decide::{ApprovalState, ApprovalStatus, StepRecord, decide};
use super::flow::ApprovalFlow;
use super::request::{ApprovalKind, ApprovalRequest, Decision, Verdict};
use crate::ids::UserId;

/// One decision as the requester reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DecisionNote {
    /// Who decided.
    pub approver_id: UserId,
    /// Approve or reject.
    pub verdict: Verdict,
    /// Why, as the approver wrote it.
    pub comment: String,
    /// When, Unix ms.
    pub at_ms: i64,
}

/// A request as its requester sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ApprovalView {
    /// The request.
    pub request: ApprovalRequest,
    /// Where it stands.
    pub status: ApprovalStatus,
    /// The steps it went through, in order.
    pub history: Vec<StepRecord>,
    /// The decisions that counted, in the order they were applied.
    pub decisions: Vec<DecisionNote>,
}

impl ApprovalView {
    /// The view of `request` from its computed `state` and the decisions it was computed from.
    #[must_use]
    pub fn new(request: ApprovalRequest, state: ApprovalState, decisions: &[Decision]) -> Self {
        let notes = state
            .applied
            .iter()
            .filter_map(|id| decisions.iter().find(|d| d.id == *id))
            .map(|d| DecisionNote {
                approver_id: d.approver_id,
                verdict: d.verdict,
                comment: d.comment.clone(),
                at_ms: d.at_ms,
            })
            .collect();
        Self { request, status: state.status, history: state.history, decisions: notes }
    }

    /// The record id of a request's view: the request's id.
    #[must_use]
    pub fn record_id(&self) -> Uuid {
        self.request.id.0
    }
}

impl ApprovalFlow {
    /// The record id under which phones hold the current flow of `kind` (one per kind:
    /// a new version replaces the old one on phones; the server keeps every version).
    #[must_use]
    pub fn record_id(kind: ApprovalKind) -> Uuid {
        let index = match kind {
            ApprovalKind::OutOfRangeCheckIn => 1,
            ApprovalKind::NewCustomer => 2,
            ApprovalKind::OrderDiscount => 3,
            ApprovalKind::Leave => 4,
            ApprovalKind::BusinessTrip => 5,
            ApprovalKind::TaskStep => 6,
        };
        Uuid::from_u128(0x0000_0000_0000_7000_8000_a990_0000_0000 | index)
    }
}

/// Decides `request` against `flow` at `now_ms` and builds its requester's view.
pub fn view_of(
    flow: &ApprovalFlow,
    request: &ApprovalRequest,
    directory: &dyn super::ApproverDirectory,
    decisions: &[Decision],
    now_ms: i64,
) -> Result<ApprovalView, super::DecideError> {
    let state = decide(flow, request, directory, decisions, now_ms)?;
    Ok(ApprovalView::new(request.clone(), state, decisions))
}
