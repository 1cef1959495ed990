//! What storage keeps of the managers' answers to customer proposals (`customer_proposal`
//! facts): one decision per proposal, never changed.

use fieldkit_domain::ids::{CustomerId, FactId, UserId};
use serde::{Deserialize, Serialize};

/// What a manager decided about a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionStatus {
    /// The customer was created.
    Approved,
    /// Turned down, with a reason.
    Rejected,
}

impl DecisionStatus {
    /// The stable text form used in storage and on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionStatus::Approved => "approved",
            DecisionStatus::Rejected => "rejected",
        }
    }

    /// Parses the text form produced by [`DecisionStatus::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [DecisionStatus::Approved, DecisionStatus::Rejected].into_iter().find(|d| d.as_str() == s)
    }
}

/// A decision on a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalDecision {
    /// The proposal's fact id.
    pub fact_id: FactId,
    /// Approved or rejected.
    pub status: DecisionStatus,
    /// The customer created (approved only).
    pub customer_id: Option<CustomerId>,
    /// The manager or admin who decided.
    pub decided_by: UserId,
    /// Why (rejections; empty otherwise).
    pub reason: String,
    /// When, server Unix milliseconds.
    pub decided_ms: i64,
}

/// What [`super::Storage::decide_proposal`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionOutcome {
    /// The decision (and the customer, for an approval) was stored.
    Recorded,
    /// The proposal was decided before: nothing changed.
    AlreadyDecided(ProposalDecision),
}
