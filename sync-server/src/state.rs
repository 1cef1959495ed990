//! What every request handler shares.

use std::sync::Arc;
use std::time::Duration;

use fieldkit_domain::ids::OrgId;

use crate::blobs::BlobStore;
use crate::server_key::ServerKey;
use crate::storage::Storage;

/// How many locks photo pushes are spread over (by org).
const PHOTO_LOCKS: usize = 16;

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
    /// The key that countersigns verified photo receipts.
    pub server_key: Arc<ServerKey>,
    /// Pushes carrying photos of one org are checked and stored one at a time: each reads
    /// the devices' chain heads and the receipts seen before it decides, and stores its
    /// decisions in its own transaction, so two concurrent pushes of one device must not
    /// both decide against the same head.
    photo_locks: Arc<[tokio::sync::Mutex<()>]>,
}

impl AppState {
    /// State over `storage` and `blobs` with `limits`, countersigning with a fresh random key
    /// kept nowhere; a server with a data folder installs the key kept there with
    /// [`AppState::with_server_key`] (the binary does).
    pub fn new(storage: Arc<dyn Storage>, blobs: Arc<BlobStore>, limits: Limits) -> Result<Self, String> {
        let decoy_hash = crate::auth::hash_password("fieldkit decoy password")?.into();
        let actor = fieldkit_domain::docs::actor(uuid::Uuid::now_v7());
        let server_key = Arc::new(ServerKey::generate().map_err(|e| e.to_string())?);
        let photo_locks = (0..PHOTO_LOCKS).map(|_| tokio::sync::Mutex::new(())).collect();
        Ok(Self { storage, blobs, limits, decoy_hash, actor, server_key, photo_locks })
    }

    /// The same state, countersigning with `key`.
    #[must_use]
    pub fn with_server_key(self, key: ServerKey) -> Self {
        Self { server_key: Arc::new(key), ..self }
    }

    /// Exclusive right to check and store the photos of a push to `org`.
    pub(crate) async fn lock_photos(&self, org: OrgId) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe =
            org.0.as_bytes().iter().fold(0_usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(*b)));
        self.photo_locks[stripe % self.photo_locks.len()].lock().await
    }
}
