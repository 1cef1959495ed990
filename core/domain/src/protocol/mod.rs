//! The versioned wire protocol between the phone engine and the sync server.
//!
//! Messages are JSON over HTTP. Every sync request names the protocol version it speaks;
//! the server answers a version it does not speak with [`ErrorCode::UnsupportedProtocol`]
//! and stores nothing. Each message type has a snapshot test, so a change to the wire
//! format shows up in review as a changed snapshot.

mod auth;
mod blobs;
pub mod bytes;
mod error;
mod sync;

pub use auth::{LoginRequest, LoginResponse};
pub use blobs::{BlobStatus, MissingBlob, is_sha256_hex};
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use sync::{
    DocAck, DocPush, Fact, FeedChange, FeedEntry, MAX_PULL_LIMIT, MAX_PUSH_ITEMS, PushAck, PushOutcome,
    Record, RecordKind, RejectCode, SyncRequest, SyncResponse,
};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// The oldest protocol version a server of this build still accepts, so that a phone
/// offline across a server upgrade can still upload what it queued.
pub const MIN_PROTOCOL_VERSION: u16 = 1;

#[cfg(test)]
mod snapshot_tests;
