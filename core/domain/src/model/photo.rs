//! The record of a photo taken in the field (the JPEG itself travels as a blob).

use serde::{Deserialize, Serialize};

use crate::clock::EventTime;
use crate::ids::{FactId, UserId, VisitId};
use crate::model::LocationFix;
use crate::signing::SignedReceipt;

/// A photo's record: what was taken, where, when, and the hash of the final JPEG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoRecord {
    /// The fact id.
    pub id: FactId,
    /// The visit the photo belongs to.
    pub visit_id: Option<VisitId>,
    /// The rep.
    pub rep_id: UserId,
    /// SHA-256 of the final JPEG, lower-case hex: the blob's address.
    pub sha256: String,
    /// Size of the JPEG in bytes.
    pub size_bytes: u64,
    /// Where it was taken.
    pub fix: Option<LocationFix>,
    /// When it was taken.
    pub at: EventTime,
    /// The signed receipt of the final JPEG (hash, ids, fix, times, the device's previous
    /// receipt), which the server verifies. `None` for a file attached without the photo
    /// pipeline: the server marks such a photo unsigned.
    #[serde(default)]
    pub receipt: Option<SignedReceipt>,
}
