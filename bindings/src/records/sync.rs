//! Sync as the app sees it beyond the counts: the items the server refused for good, and
//! why a scheduled sync failed.

/// A queued item the server refused for good (it stays on the phone, parked).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ParkedItem {
    /// What kind of item (`fact`, or a document kind such as `task`).
    pub item_kind: String,
    /// The item's id.
    pub item_id: String,
    /// The server's reason code.
    pub code: String,
    /// The server's reason, for people.
    pub reason: String,
}

impl From<fieldkit_engine::ParkedItem> for ParkedItem {
    fn from(p: fieldkit_engine::ParkedItem) -> Self {
        Self { item_kind: p.item_kind, item_id: p.item_id, code: p.code, reason: p.reason }
    }
}

/// Why a scheduled sync did not complete.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncFailure {
    /// True when the server could not be reached: nothing to do, the schedule retries.
    /// False when the app must act (log in again…).
    pub offline: bool,
    /// Why, lower-case, for logs.
    pub reason: String,
}
