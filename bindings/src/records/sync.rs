//! Why a scheduled sync failed, as the sync observer hears it.

/// A failed scheduled sync.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncFailure {
    /// True when the server could not be reached: nothing to do, the schedule retries.
    /// False when the app must act (log in again…).
    pub offline: bool,
    /// Why, lower-case, for logs.
    pub reason: String,
}
