//! One simulated phone: not an engine but what an engine does on the wire. It keeps a token,
//! a device id, a feed cursor and an outbox of facts and form responses it holds until the
//! server acknowledges them; a failed sync keeps everything and the next one sends the same
//! facts (same ids) again, so the server must deduplicate. Each [`SimPhone::advance`] is a
//! minute of a rep's day: a track batch most minutes, a visit every few (check-in, then an
//! order or a filled-in form, sometimes a photo, then check-out).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fieldkit_domain::docs::{self, form_response};
use fieldkit_domain::ids::{FactId, FormResponseId};
use fieldkit_domain::model::{CheckIn, FormResponse, PhotoRecord, TrackBatch, TrackPoint, WgsPoint};
use fieldkit_domain::protocol::{
    DocPush, Fact, PROTOCOL_VERSION, PushOutcome, RecordKind, SyncRequest, SyncResponse,
};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use super::stats::Stats;
use super::world::{OrgData, PhoneSeed};
use crate::facts;
use crate::proxy::SplitMix64;

/// The photo every simulated photo is made from (a 42 KB JPEG); each copy gets a few bytes
/// of its own after the end marker, so each has its own hash as real photos do.
pub const PHOTO: &[u8] =
    include_bytes!("../../../core/engine/tests/fixtures/photos/golden_watermark_480.jpg");

/// Facts plus documents sent in one sync request at most (the server takes 500).
const PUSH_PER_REQUEST: usize = 400;

/// Feed pages followed in one sync at most.
const MAX_PAGES: usize = 20;

/// What all phones share: the HTTP client, the server instances (balanced client-side: each
/// request goes to the next instance), and the stats.
#[derive(Debug)]
pub struct Shared {
    /// One client for every phone (its connection pool is the "network").
    pub http: reqwest::Client,
    /// The instances' base URLs.
    pub urls: Vec<String>,
    next: AtomicUsize,
    /// What the run measured.
    pub stats: Stats,
}

impl Shared {
    /// Phones talking to `urls` in turn.
    #[must_use]
    pub fn new(urls: Vec<String>) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(512)
            .build()
            .unwrap_or_default();
        Self { http, urls, next: AtomicUsize::new(0), stats: Stats::new() }
    }

    /// The instance the next request goes to (round robin).
    pub fn next_url(&self) -> &str {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.urls.len().max(1);
        &self.urls[i]
    }
}

/// A photo whose bytes still have to go up.
#[derive(Debug, Clone)]
struct PendingBlob {
    fact: FactId,
    sha256: String,
    bytes: Arc<Vec<u8>>,
}

/// A visit in progress.
#[derive(Debug, Clone)]
struct OpenVisit {
    check_in: CheckIn,
    minutes: u32,
}

/// One simulated phone.
#[derive(Debug)]
pub struct SimPhone {
    seed: PhoneSeed,
    org: Arc<OrgData>,
    rng: SplitMix64,
    cursor: u64,
    outbox: Vec<Fact>,
    docs: Vec<DocPush>,
    blobs: Vec<PendingBlob>,
    visit: Option<OpenVisit>,
    synced: bool,
    /// Every fact this phone made, in order.
    pub made: Vec<FactId>,
    /// Facts the server refused for good (id, reason): none is expected.
    pub rejected: Vec<(FactId, String)>,
}

/// Why a sync failed; the outbox is kept either way.
#[derive(Debug, thiserror::Error)]
pub enum SyncFailure {
    /// No answer (connection refused or reset, time-out).
    #[error("no answer from {url}: {message}")]
    Transport {
        /// The instance.
        url: String,
        /// What reqwest said.
        message: String,
    },
    /// An answer other than 200.
    #[error("{status} from {url}: {body}")]
    Status {
        /// The instance.
        url: String,
        /// The status.
        status: StatusCode,
        /// The answer's start.
        body: String,
    },
    /// A 200 whose body is not a sync response.
    #[error("undecodable answer from {url}: {message}")]
    Decode {
        /// The instance.
        url: String,
        /// What serde said.
        message: String,
    },
}

impl SyncFailure {
    /// A short kind for counting.
    #[must_use]
    pub fn kind(&self) -> String {
        match self {
            SyncFailure::Transport { .. } => "transport".to_owned(),
            SyncFailure::Status { status, .. } => format!("http {}", status.as_u16()),
            SyncFailure::Decode { .. } => "decode".to_owned(),
        }
    }
}

impl SimPhone {
    /// A phone of `org` from `seed`, its randomness from `rng_seed`.
    #[must_use]
    pub fn new(seed: PhoneSeed, org: Arc<OrgData>, rng_seed: u64) -> Self {
        Self {
            seed,
            org,
            rng: SplitMix64::new(rng_seed),
            cursor: 0,
            outbox: Vec::new(),
            docs: Vec::new(),
            blobs: Vec::new(),
            visit: None,
            synced: false,
            made: Vec::new(),
            rejected: Vec::new(),
        }
    }

    /// The org the phone belongs to.
    #[must_use]
    pub fn org(&self) -> &Arc<OrgData> {
        &self.org
    }

    /// Whether everything the phone made is acknowledged and uploaded.
    #[must_use]
    pub fn drained(&self) -> bool {
        self.outbox.is_empty() && self.docs.is_empty() && self.blobs.is_empty()
    }

    /// Items still waiting: (facts, documents, photos' bytes).
    #[must_use]
    pub fn pending(&self) -> (usize, usize, usize) {
        (self.outbox.len(), self.docs.len(), self.blobs.len())
    }

    fn push_fact(&mut self, fact: Fact) {
        self.made.push(fact.id());
        self.outbox.push(fact);
    }

    /// A minute of the rep's day, ending at `now_ms`: what the next sync pushes.
    pub fn advance(&mut self, now_ms: i64) {
        let rep = self.seed.rep;
        let here = match &self.visit {
            Some(v) => v.check_in.fix.point,
            None => self.org.customers[self.rng.below(self.org.customers.len() as u64) as usize].1,
        };
        if self.rng.below(10) < 8 {
            let points = (0..6)
                .map(|k| TrackPoint {
                    point: jitter(here, self.rng.next_f64()),
                    accuracy_m: 8.0 + self.rng.next_f64() * 10.0,
                    time_ms: now_ms - (5 - k) * 10_000,
                })
                .collect();
            self.push_fact(Fact::Track(TrackBatch { id: FactId::new(), rep_id: rep, points }));
        }
        match self.visit.take() {
            None => {
                if self.rng.below(3) == 0 {
                    let (customer, point) =
                        self.org.customers[self.rng.below(self.org.customers.len() as u64) as usize];
                    let check_in = facts::check_in(rep, customer, point, now_ms);
                    self.push_fact(Fact::CheckIn(check_in.clone()));
                    self.visit = Some(OpenVisit { check_in, minutes: 0 });
                }
            }
            Some(mut visit) if visit.minutes < 2 => {
                visit.minutes += 1;
                self.visit = Some(visit);
            }
            Some(visit) => self.end_visit(&visit.check_in, now_ms),
        }
    }

    /// What happens at the end of a visit: an order or a form, sometimes a photo, check-out.
    fn end_visit(&mut self, check_in: &CheckIn, now_ms: i64) {
        let rep = self.seed.rep;
        if self.rng.below(2) == 0 {
            let lines: Vec<_> = (0..1 + self.rng.below(3))
                .map(|_| {
                    let (product, price) =
                        self.org.products[self.rng.below(self.org.products.len() as u64) as usize];
                    (product, 1 + self.rng.below(24) as u32, price)
                })
                .collect();
            let mut unique = lines.clone();
            unique.sort_by_key(|l| l.0);
            unique.dedup_by_key(|l| l.0);
            let order =
                facts::order(rep, check_in.customer_id, Some(check_in.visit_id), &unique, now_ms - 2_000);
            self.push_fact(Fact::Order(order));
        } else {
            self.form(check_in, now_ms);
        }
        if self.rng.below(4) == 0 {
            let mut bytes = PHOTO.to_vec();
            let id = FactId::new();
            bytes.extend_from_slice(id.0.as_bytes());
            let sha256 = hex::encode(Sha256::digest(&bytes));
            let record = PhotoRecord {
                id,
                visit_id: Some(check_in.visit_id),
                rep_id: rep,
                sha256: sha256.clone(),
                size_bytes: bytes.len() as u64,
                fix: Some(facts::fix(check_in.fix.point, now_ms - 1_500)),
                at: facts::event(now_ms - 1_500),
                receipt: None,
            };
            self.push_fact(Fact::Photo(Box::new(record)));
            self.blobs.push(PendingBlob { fact: id, sha256, bytes: Arc::new(bytes) });
        }
        self.push_fact(Fact::CheckOut(facts::check_out(check_in, now_ms - 1_000)));
    }

    /// A submitted form response during the visit, as the engine sends it: a whole
    /// automerge document.
    fn form(&mut self, check_in: &CheckIn, _now_ms: i64) {
        let response = FormResponse {
            id: FormResponseId::new(),
            template_id: self.org.template,
            template_version: 1,
            visit_id: Some(check_in.visit_id),
            rep_id: self.seed.rep,
            values: [
                ("facings".to_owned(), serde_json::json!(1 + self.rng.below(30))),
                ("note".to_owned(), serde_json::json!("货架整齐，新品已上架")),
            ]
            .into_iter()
            .collect(),
            submitted: true,
        };
        let mut doc = docs::empty(docs::actor(self.seed.device.as_uuid()));
        if form_response::create(&mut doc, &response).is_ok() {
            self.docs.push(DocPush {
                kind: RecordKind::FormResponse,
                id: response.id.0,
                changes: doc.save(),
            });
        }
    }

    /// One sync as the engine does it: push what waits (in requests of at most 400 items),
    /// pull the feed until nothing more waits, then upload photos' bytes whose facts are
    /// stored. Every request's latency goes to the stats. Stops at the first failure,
    /// keeping what was not acknowledged.
    pub async fn sync(&mut self, shared: &Shared) -> Result<(), SyncFailure> {
        for _ in 0..MAX_PAGES {
            let more = self.sync_once(shared).await?;
            if !more {
                break;
            }
        }
        self.upload_blobs(shared).await
    }

    /// One request; answers whether another is needed (more to push or pull).
    async fn sync_once(&mut self, shared: &Shared) -> Result<bool, SyncFailure> {
        let push: Vec<Fact> = self.outbox.iter().take(PUSH_PER_REQUEST).cloned().collect();
        let docs: Vec<DocPush> =
            self.docs.iter().take(PUSH_PER_REQUEST.saturating_sub(push.len())).cloned().collect();
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: self.seed.device,
            cursor: self.cursor,
            pull_limit: 1_000,
            sent_at_ms: fieldkit_server::now_ms(),
            push,
            docs,
        };
        let body = serde_json::to_vec(&request).unwrap_or_default();
        let url = shared.next_url().to_owned();
        let started = Instant::now();
        let answer = shared
            .http
            .post(format!("{url}/v1/sync"))
            .bearer_auth(&self.seed.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| SyncFailure::Transport { url: url.clone(), message: e.to_string() })?;
        let status = answer.status();
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| SyncFailure::Transport { url: url.clone(), message: e.to_string() })?;
        let took = started.elapsed();
        if status != StatusCode::OK {
            let body = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err(SyncFailure::Status { url, status, body });
        }
        let response: SyncResponse = serde_json::from_slice(&bytes)
            .map_err(|e| SyncFailure::Decode { url: url.clone(), message: e.to_string() })?;
        shared.stats.sync_done(started, took, !self.synced);
        self.synced = true;
        self.apply(&response, &request, &shared.stats);
        let more_to_push = !self.outbox.is_empty() || !self.docs.is_empty();
        Ok(response.has_more || (more_to_push && request.push.len() + request.docs.len() >= PUSH_PER_REQUEST))
    }

    /// Drops what the answer acknowledged from the outbox and moves the cursor.
    fn apply(&mut self, response: &SyncResponse, request: &SyncRequest, stats: &Stats) {
        let mut done = std::collections::HashSet::new();
        for ack in &response.acks {
            match &ack.outcome {
                PushOutcome::Stored { .. } => {
                    stats.facts_acked.fetch_add(1, Ordering::Relaxed);
                }
                PushOutcome::AlreadyStored => {
                    stats.facts_acked.fetch_add(1, Ordering::Relaxed);
                    stats.facts_already.fetch_add(1, Ordering::Relaxed);
                }
                PushOutcome::Rejected { code, reason } => {
                    stats.error("fact rejected", format!("{} {code:?}: {reason}", ack.id));
                    self.rejected.push((ack.id, reason.clone()));
                }
                PushOutcome::ResendWhole => {
                    stats.error("fact resend_whole", ack.id.to_string());
                    continue;
                }
            }
            done.insert(ack.id);
        }
        self.outbox.retain(|f| !done.contains(&f.id()));
        let mut docs_done = std::collections::HashSet::new();
        for ack in &response.doc_acks {
            match &ack.outcome {
                PushOutcome::Stored { .. } | PushOutcome::AlreadyStored => {
                    stats.docs_acked.fetch_add(1, Ordering::Relaxed);
                    docs_done.insert(ack.id);
                }
                PushOutcome::Rejected { code, reason } => {
                    stats.error("form rejected", format!("{} {code:?}: {reason}", ack.id));
                    docs_done.insert(ack.id);
                }
                // The phone sends whole documents already; try again next time.
                PushOutcome::ResendWhole => {}
            }
        }
        self.docs.retain(|d| !docs_done.contains(&d.id));
        if request.push.len() != response.acks.len() {
            stats.error(
                "ack count",
                format!("{} facts pushed, {} acks", request.push.len(), response.acks.len()),
            );
        }
        self.cursor = response.cursor;
    }

    /// Uploads the bytes of photos whose facts the server stored (one chunk each: the photos
    /// are small).
    async fn upload_blobs(&mut self, shared: &Shared) -> Result<(), SyncFailure> {
        while let Some(blob) = self.blobs.first().cloned() {
            if self.outbox.iter().any(|f| f.id() == blob.fact) {
                break;
            }
            let url = shared.next_url().to_owned();
            let size = blob.bytes.len();
            let started = Instant::now();
            let answer = shared
                .http
                .put(format!("{url}/v1/blobs/{}?offset=0&size={size}", blob.sha256))
                .bearer_auth(&self.seed.token)
                .body(blob.bytes.to_vec())
                .send()
                .await
                .map_err(|e| SyncFailure::Transport { url: url.clone(), message: e.to_string() })?;
            let status = answer.status();
            let text = answer.text().await.unwrap_or_default();
            if !status.is_success() {
                return Err(SyncFailure::Status { url, status, body: text.chars().take(300).collect() });
            }
            shared.stats.blob_done(started.elapsed());
            self.blobs.remove(0);
        }
        Ok(())
    }
}

/// A point within about 30 m of `p`.
fn jitter(p: WgsPoint, r: f64) -> WgsPoint {
    let d = (r - 0.5) * 5e-4;
    WgsPoint::new(p.lat() + d, p.lng() - d).unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::world::OrgData;
    use fieldkit_domain::ids::{CustomerId, DeviceId, FormTemplateId, OrgId, ProductId, UserId};

    fn phone() -> SimPhone {
        let point = WgsPoint::new(31.2, 121.4).expect("a valid point");
        let org = Arc::new(OrgData {
            id: OrgId::new(),
            slug: "load-0".to_owned(),
            customers: (0..10).map(|_| (CustomerId::new(), point)).collect(),
            products: (0..5).map(|i| (ProductId::new(), 100 + i)).collect(),
            template: FormTemplateId::new(),
            manager_token: String::new(),
        });
        let seed = PhoneSeed { org: 0, rep: UserId::new(), token: "t".to_owned(), device: DeviceId::new() };
        SimPhone::new(seed, org, 7)
    }

    #[test]
    fn a_simulated_day_makes_every_kind_of_fact_and_keeps_them_until_acknowledged() {
        let mut p = phone();
        for minute in 0..300 {
            p.advance(1_764_201_600_000 + minute * 60_000);
        }
        let kinds: std::collections::BTreeSet<&str> = p.outbox.iter().map(Fact::kind).collect();
        assert_eq!(kinds, ["check_in", "check_out", "order", "photo", "track"].into_iter().collect());
        assert!(!p.docs.is_empty(), "forms were filled in");
        assert_eq!(p.made.len(), p.outbox.len(), "nothing leaves the outbox without an ack");
        assert!(!p.drained());
    }

    #[test]
    fn every_check_in_is_followed_by_its_check_out() {
        let mut p = phone();
        for minute in 0..600 {
            p.advance(1_764_201_600_000 + minute * 60_000);
        }
        let ins = p.outbox.iter().filter(|f| f.kind() == "check_in").count();
        let outs = p.outbox.iter().filter(|f| f.kind() == "check_out").count();
        assert!(ins == outs || ins == outs + 1, "{ins} check-ins, {outs} check-outs");
    }
}
