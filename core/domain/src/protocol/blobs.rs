//! Blobs (photos, voice notes): content-addressed by SHA-256 and uploaded in resumable
//! chunks, apart from the data sync.
//!
//! `GET /v1/blobs/{sha256}` answers a [`BlobStatus`] (404 when the server has none of it);
//! `PUT /v1/blobs/{sha256}?offset=N&size=T` with the raw bytes of a chunk appends it when
//! `offset` is where the server stands and answers the new status; any other offset
//! appends nothing and the status says where to resume. The last chunk is verified: bytes
//! that do not hash to the name are refused and dropped.

use serde::{Deserialize, Serialize};

/// How far the server has a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobStatus {
    /// The blob's SHA-256, lower-case hex.
    pub sha256: String,
    /// Its full size in bytes.
    pub size: u64,
    /// How many bytes the server holds (the offset of the next chunk).
    pub received: u64,
    /// Whether the whole blob arrived and matched its hash.
    pub complete: bool,
}

/// A blob that a stored fact names but that has not fully arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingBlob {
    /// The blob's SHA-256, lower-case hex.
    pub sha256: String,
    /// The fact naming it.
    pub fact_id: crate::ids::FactId,
    /// Bytes received so far.
    pub received: u64,
}

/// Whether `text` is a SHA-256 in lower-case hex.
#[must_use]
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
