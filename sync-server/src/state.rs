//! What every request handler shares.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use fieldkit_domain::ids::OrgId;

use crate::blobs::BlobStore;
use crate::metrics::Metrics;
use crate::rate_limit::{Budget, Cidr, Limiters};
use crate::server_key::ServerKey;
use crate::storage::Storage;

/// How many mutexes each kind of per-org lock is striped over.
const LOCK_STRIPES: usize = 16;

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
    /// Requests per bearer token (counted by the token's SHA-256); `None`: unlimited.
    pub rate_per_token: Option<Budget>,
    /// Requests per client address (an IPv6 client's /64); `None`: unlimited.
    pub rate_per_ip: Option<Budget>,
    /// Login attempts per client address, on top of [`Limits::rate_per_ip`]; `None`:
    /// unlimited.
    pub login_per_ip: Option<Budget>,
    /// Login attempts per `(org, username)`, from anywhere; `None`: unlimited.
    pub login_per_account: Option<Budget>,
    /// The reverse proxies whose `X-Forwarded-For` names the client (see
    /// `crate::rate_limit::client_ip`); empty: the TCP peer is the client.
    pub trusted_proxies: Vec<Cidr>,
}

/// `n`, which is not zero.
const fn nonzero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => panic!("a budget count is not zero"),
    }
}

impl Limits {
    /// Requests per bearer token by default: a phone syncs every few seconds at most, a
    /// dashboard loads a few dozen requests at once.
    pub const DEFAULT_RATE_PER_TOKEN: Budget = Budget::per_second(nonzero(50), nonzero(200));
    /// Requests per client address by default: several phones and a dashboard behind one
    /// office address.
    pub const DEFAULT_RATE_PER_IP: Budget = Budget::per_second(nonzero(100), nonzero(400));
    /// Login attempts per client address by default: a phone logs in about once a month
    /// (then refreshes its token), but a carrier's NAT puts many phones behind one address.
    pub const DEFAULT_LOGIN_PER_IP: Budget = Budget::per_minute(nonzero(30), nonzero(60));
    /// Login attempts per `(org, username)` by default: a person mistyping a password a few
    /// times, not a guessing run.
    pub const DEFAULT_LOGIN_PER_ACCOUNT: Budget = Budget::per_minute(nonzero(5), nonzero(10));

    /// The same limits with every rate limit off: for load generators and benchmarks whose
    /// simulated phones all come from one loopback address.
    #[must_use]
    pub fn without_rate_limits(self) -> Self {
        Self { rate_per_token: None, rate_per_ip: None, login_per_ip: None, login_per_account: None, ..self }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            token_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            max_blob_bytes: 50 * 1024 * 1024,
            track_prune_every: Duration::from_secs(60 * 60),
            rate_per_token: Some(Self::DEFAULT_RATE_PER_TOKEN),
            rate_per_ip: Some(Self::DEFAULT_RATE_PER_IP),
            login_per_ip: Some(Self::DEFAULT_LOGIN_PER_IP),
            login_per_account: Some(Self::DEFAULT_LOGIN_PER_ACCOUNT),
            trusted_proxies: Vec::new(),
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
    /// This server's own Prometheus metrics (not a process-wide recorder: see
    /// `crate::metrics`).
    pub metrics: Arc<Metrics>,
    /// This process's rate limiters, built from `limits`.
    pub(crate) limiters: Arc<Limiters>,
    /// SHA-256 of the operator's token for `GET /metrics`; `None`: the endpoint is off.
    pub(crate) metrics_token_sha256: Option<[u8; 32]>,
    /// Pushes carrying photos of one org are checked and stored one at a time: each reads
    /// the devices' chain heads and the receipts seen before it decides, and stores its
    /// decisions in its own transaction, so two concurrent pushes of one device must not
    /// both decide against the same head.
    photo_locks: OrgLocks,
    /// Decisions on one org's approval requests are made one at a time, from reading the
    /// request's decisions to storing the new one, so that two approvers acting at once
    /// cannot both decide the same step.
    approval_locks: OrgLocks,
    /// Template versions of one org are numbered one publish at a time.
    publish_locks: OrgLocks,
}

/// Striped per-org mutexes: one org's holders wait for each other, most others do not.
#[derive(Clone)]
struct OrgLocks(Arc<[tokio::sync::Mutex<()>]>);

impl OrgLocks {
    fn new() -> Self {
        Self((0..LOCK_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect())
    }

    async fn lock(&self, org: OrgId) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe =
            org.0.as_bytes().iter().fold(0_usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(*b)));
        self.0[stripe % self.0.len()].lock().await
    }
}

impl AppState {
    /// State over `storage` and `blobs` with `limits`, countersigning with a fresh random key
    /// kept nowhere; a server with a data folder installs the key kept there with
    /// [`AppState::with_server_key`] (the binary does).
    pub fn new(storage: Arc<dyn Storage>, blobs: Arc<BlobStore>, limits: Limits) -> Result<Self, String> {
        let decoy_hash = crate::auth::hash_password("fieldkit decoy password")?.into();
        let actor = fieldkit_domain::docs::actor(uuid::Uuid::now_v7());
        let server_key = Arc::new(ServerKey::generate().map_err(|e| e.to_string())?);
        let metrics = Arc::new(Metrics::new());
        let limiters = Arc::new(Limiters::new(&limits, metrics.clone()));
        Ok(Self {
            storage,
            blobs,
            limits,
            decoy_hash,
            actor,
            server_key,
            metrics,
            limiters,
            metrics_token_sha256: None,
            photo_locks: OrgLocks::new(),
            approval_locks: OrgLocks::new(),
            publish_locks: OrgLocks::new(),
        })
    }

    /// The same state, countersigning with `key`.
    #[must_use]
    pub fn with_server_key(self, key: ServerKey) -> Self {
        Self { server_key: Arc::new(key), ..self }
    }

    /// The same state, serving `GET /metrics` to a scraper that presents `token` (the
    /// operator's, not any org's: the metrics are the whole process's).
    #[must_use]
    pub fn with_metrics_token(self, token: &str) -> Self {
        use sha2::{Digest, Sha256};
        Self { metrics_token_sha256: Some(Sha256::digest(token.as_bytes()).into()), ..self }
    }

    /// Exclusive right to check and store the photos of a push to `org`.
    pub(crate) async fn lock_photos(&self, org: OrgId) -> tokio::sync::MutexGuard<'_, ()> {
        self.photo_locks.lock(org).await
    }

    /// Exclusive right to number `org`'s next template version.
    pub(crate) async fn lock_publishing(&self, org: OrgId) -> tokio::sync::MutexGuard<'_, ()> {
        self.publish_locks.lock(org).await
    }

    /// Exclusive right to decide `org`'s approval requests.
    pub(crate) async fn lock_approvals(&self, org: OrgId) -> tokio::sync::MutexGuard<'_, ()> {
        self.approval_locks.lock(org).await
    }
}
