//! How stored values read and write the same in both backends: unsigned counters as SQL
//! integers, and records, kinds and audiences parsed back from their stored text.

use fieldkit_domain::ids::UserId;
use fieldkit_domain::protocol::{Record, RecordKind};
use uuid::Uuid;

use super::{StorageError, StorageResult};

/// An unsigned count or sequence number as an SQL integer (saturating: none comes near).
pub(super) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A record from its stored JSON.
pub(super) fn parse_record(body: &str) -> StorageResult<Record> {
    serde_json::from_str(body).map_err(|source| StorageError::Corrupt { what: "record", source })
}

/// A record's audience from its stored text (none, or not a user id: everyone).
pub(super) fn parse_audience(text: Option<String>) -> Option<UserId> {
    text.and_then(|a| Uuid::parse_str(&a).ok()).map(UserId::from)
}

/// A record kind from its stored name.
pub(super) fn parse_kind(kind: &str) -> StorageResult<RecordKind> {
    RecordKind::parse(kind).ok_or_else(|| StorageError::Corrupt {
        what: "record kind",
        source: serde::de::Error::custom(format!("unknown kind {kind:?}")),
    })
}
