//! A new customer a rep found in the field, proposed for the manager to approve.

use serde::{Deserialize, Serialize};

use crate::clock::EventTime;
use crate::ids::{FactId, UserId};
use crate::model::{Grade, Place};

/// A rep's proposal of a new customer (a fact: the manager's answer creates the customer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerProposal {
    /// The fact id.
    pub id: FactId,
    /// The rep proposing.
    pub rep_id: UserId,
    /// The shop's name as on its sign.
    pub name: String,
    /// Where it is (the rep's fix at the door) and its address.
    pub place: Place,
    /// The grade the rep suggests.
    pub grade: Grade,
    /// Free tags (channel, size…).
    pub tags: Vec<String>,
    /// SHA-256 of the storefront photo (a blob), if one was taken.
    pub photo_sha256: Option<String>,
    /// When it was proposed.
    pub at: EventTime,
}
