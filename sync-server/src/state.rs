//! What every request handler shares.

use std::sync::Arc;
use std::time::Duration;

use crate::blobs::BlobStore;
use crate::storage::Storage;

/// Limits and lifetimes the operator may tune.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a bearer token lives.
    pub token_ttl: Duration,
    /// The largest blob (photo, voice note) accepted, in bytes.
    pub max_blob_bytes: u64,
    /// How often location data past each org's retention is pruned while serving.
    pub track_prune_every: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            token_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            max_blob_bytes: 50 * 1024 * 1024,
            track_prune_every: Duration::from_secs(60 * 60),
        }
    }
}

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    /// Where data lives.
    pub storage: Arc<dyn Storage>,
    /// Where blob bytes live.
    pub blobs: Arc<BlobStore>,
    /// Limits in force.
    pub limits: Limits,
    /// An argon2 hash verified when a login names an unknown user, so that unknown users
    /// take as long to refuse as wrong passwords.
    pub(crate) decoy_hash: Arc<str>,
    /// This process's automerge actor for the edits it makes (managers' edits through the
    /// API); random per process, so that several server processes never share one.
    pub(crate) actor: automerge::ActorId,
}

impl AppState {
    /// State over `storage` and `blobs` with `limits`.
    pub fn new(storage: Arc<dyn Storage>, blobs: Arc<BlobStore>, limits: Limits) -> Result<Self, String> {
        let decoy_hash = crate::auth::hash_password("fieldkit decoy password")?.into();
        let actor = fieldkit_domain::docs::actor(uuid::Uuid::now_v7());
        Ok(Self { storage, blobs, limits, decoy_hash, actor })
    }
}
