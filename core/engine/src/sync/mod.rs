//! The sync client: one cycle pushes the outbox in batches and pulls the change feed until
//! both are drained.
//!
//! Each round trip's answer is applied in one transaction (acknowledged entries leave the
//! outbox, refused ones are parked, feed entries update documents and projections, the
//! cursor moves), so a crash between round trips loses nothing and repeats nothing the
//! server has not already made idempotent. A failed round trip schedules the entries it
//! carried for a retry with backoff.

pub mod backoff;
mod http;
pub mod scheduler;

use automerge::ChangeHash;
use fieldkit_domain::ids::{DeviceId, FactId};
use fieldkit_domain::protocol::{
    DocPush, Fact, FeedChange, FeedEntry, PROTOCOL_VERSION, PushOutcome, RecordKind, RejectCode, SyncRequest,
    SyncResponse,
};
use rusqlite::Transaction;
use uuid::Uuid;

pub(crate) use http::HttpClient;

use crate::documents;
use crate::error::{Error, Result};
use crate::session::Session;
use crate::store::docs::{DocSession, mark_synced, unsynced_changes};
use crate::store::outbox::Pending;
use crate::store::{Store, facts, meta, outbox, records};
use crate::time::{ServerClock, now_ms};

/// The most items (facts and documents) pushed in one round trip.
pub const MAX_BATCH_ITEMS: usize = 200;
/// The most payload bytes pushed in one round trip (a single larger item still goes alone).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// The most feed entries asked for in one round trip.
pub const PULL_PAGE: u32 = 500;

/// What one sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// HTTP round trips made.
    pub round_trips: u32,
    /// Facts and document changes the server stored now.
    pub pushed: u32,
    /// Items the server already had (a retry after a lost answer).
    pub already_stored: u32,
    /// Items the server refused for good (now parked).
    pub rejected: u32,
    /// Feed entries applied.
    pub pulled: u32,
    /// Request bytes sent (JSON bodies).
    pub bytes_sent: u64,
    /// Response bytes received (JSON bodies).
    pub bytes_received: u64,
    /// The feed cursor after the sync.
    pub cursor: u64,
    /// What the blob uploads after the data sync did.
    pub blobs: crate::blobs::BlobReport,
}

/// Which queued entries a cycle pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Everything waiting, retry times ignored (the user asked, or the network came back).
    All,
    /// Only entries whose retry time has come.
    Scheduled,
}

/// A batch on its way: what was sent, to apply the answer against.
struct Batch {
    facts: Vec<Fact>,
    docs: Vec<DocPush>,
    /// The heads each pushed document had when its changes were taken.
    doc_heads: Vec<Vec<ChangeHash>>,
}

/// Runs one sync cycle. The caller guarantees no other cycle runs at the same time.
pub(crate) async fn run(
    store: &Store,
    client: &HttpClient,
    session: &Session,
    device_id: DeviceId,
    due: Due,
    server_clock: &ServerClock,
) -> Result<SyncReport> {
    let actor = fieldkit_domain::docs::actor(device_id.as_uuid());
    if due == Due::All {
        store.write(outbox::retry_now)?;
    }
    let mut report = SyncReport::default();
    loop {
        let (batch, cursor) = store.read(|conn| {
            let pending = outbox::due(conn, now_ms(), MAX_BATCH_ITEMS)?;
            let cursor = meta::get_i64(conn, meta::FEED_CURSOR)?.unwrap_or(0).unsigned_abs();
            Ok((build_batch(conn, &pending)?, cursor))
        })?;
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id,
            cursor,
            pull_limit: PULL_PAGE,
            sent_at_ms: now_ms(),
            push: batch.facts.clone(),
            docs: batch.docs.clone(),
        };
        let sent_at = now_ms();
        let answer = client.sync(&session.token, &request).await;
        let received_at = now_ms();
        let received_instant = std::time::Instant::now();
        report.round_trips += 1;
        let (response, sizes) = match answer {
            Ok(r) => r,
            Err(e) => {
                schedule_retry(store, &batch, &e)?;
                return Err(e);
            }
        };
        report.bytes_sent += sizes.0;
        report.bytes_received += sizes.1;
        check_answer(&request, &response)?;
        server_clock.observe(response.server_time_ms, received_at - sent_at, received_instant);
        let more_to_push = store.write_docs(&actor, |tx, docs| {
            apply(tx, docs, &batch, &response, &mut report)?;
            // NTP-style: the answer was made mid-flight, give or take half the round trip.
            let offset = response.server_time_ms - (sent_at + received_at) / 2;
            meta::set(tx, meta::CLOCK_OFFSET_MS, &offset.to_string())?;
            meta::set(tx, meta::CLOCK_RTT_MS, &(received_at - sent_at).to_string())?;
            meta::set(tx, meta::LAST_SYNC_MS, &received_at.to_string())?;
            Ok(!outbox::due(tx, now_ms(), 1)?.is_empty())
        })?;
        report.cursor = response.cursor;
        if !response.has_more && !more_to_push {
            tracing::info!(?report, "sync done");
            return Ok(report);
        }
    }
}

/// Reads the bodies of the due entries, up to [`MAX_BATCH_BYTES`] of payload.
fn build_batch(conn: &rusqlite::Connection, pending: &[Pending]) -> Result<Batch> {
    let mut batch = Batch { facts: Vec::new(), docs: Vec::new(), doc_heads: Vec::new() };
    let mut bytes = 0_usize;
    for item in pending {
        let size = if item.item_kind == outbox::KIND_FACT {
            let fact = facts::bodies(conn, std::slice::from_ref(&item.item_id))?.pop();
            let Some(fact) = fact else { continue };
            let size = serde_json::to_vec(&fact).map_or(0, |v| v.len());
            batch.facts.push(fact);
            size
        } else {
            let kind = RecordKind::parse(&item.item_kind)
                .ok_or_else(|| Error::Corrupt { what: "outbox kind", detail: item.item_kind.clone() })?;
            let id = Uuid::parse_str(&item.item_id)
                .map_err(|e| Error::Corrupt { what: "outbox item id", detail: e.to_string() })?;
            let Some((changes, heads)) = unsynced_changes(conn, kind, id)? else {
                continue;
            };
            let size = changes.len() * 4 / 3;
            batch.docs.push(DocPush { kind, id, changes });
            batch.doc_heads.push(heads);
            size
        };
        bytes = bytes.saturating_add(size);
        if bytes > MAX_BATCH_BYTES && batch.facts.len() + batch.docs.len() > 1 {
            // Leave the item that crossed the cap for the next round trip.
            if item.item_kind == outbox::KIND_FACT {
                batch.facts.pop();
            } else {
                batch.docs.pop();
                batch.doc_heads.pop();
            }
            break;
        }
    }
    Ok(batch)
}

/// After a failed round trip, the entries it carried wait before they are due again.
fn schedule_retry(store: &Store, batch: &Batch, error: &Error) -> Result<()> {
    let ids: Vec<String> = batch
        .facts
        .iter()
        .map(|f| f.id().to_string())
        .chain(batch.docs.iter().map(|d| d.id.to_string()))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    store.write(|tx| {
        let attempts = outbox::max_attempts(tx)?.saturating_add(1);
        let delay = i64::try_from(backoff::jittered_delay_ms(attempts)).unwrap_or(i64::MAX);
        outbox::record_failure(tx, &ids, &error.to_string(), now_ms().saturating_add(delay))
    })
}

/// Refuses an answer that does not match the request, before anything is applied.
fn check_answer(request: &SyncRequest, response: &SyncResponse) -> Result<()> {
    if response.protocol != PROTOCOL_VERSION {
        return Err(Error::Protocol(format!("server answered in protocol version {}", response.protocol)));
    }
    if !request.push.iter().map(Fact::id).eq(response.acks.iter().map(|a| a.id)) {
        return Err(Error::Protocol("acknowledgements do not match the facts pushed".into()));
    }
    if !request.docs.iter().map(|d| (d.kind, d.id)).eq(response.doc_acks.iter().map(|a| (a.kind, a.id))) {
        return Err(Error::Protocol("acknowledgements do not match the documents pushed".into()));
    }
    if response.cursor < request.cursor {
        return Err(Error::Protocol(format!(
            "feed cursor went back from {} to {}",
            request.cursor, response.cursor
        )));
    }
    Ok(())
}

fn apply(
    tx: &Transaction<'_>,
    docs: &mut DocSession<'_>,
    batch: &Batch,
    response: &SyncResponse,
    report: &mut SyncReport,
) -> Result<()> {
    for ack in &response.acks {
        let id = ack.id.to_string();
        match &ack.outcome {
            PushOutcome::Stored { seq } => {
                settle_fact(tx, ack.id, Some(*seq))?;
                report.pushed += 1;
            }
            PushOutcome::AlreadyStored | PushOutcome::ResendWhole => {
                settle_fact(tx, ack.id, None)?;
                report.already_stored += 1;
            }
            PushOutcome::Rejected { code, reason } => {
                tracing::warn!(fact = %id, ?code, "server refused a fact for good; parked");
                outbox::park(tx, &id, reject_code_name(*code), reason)?;
                report.rejected += 1;
            }
        }
    }
    for (ack, heads) in response.doc_acks.iter().zip(&batch.doc_heads) {
        let id = ack.id.to_string();
        match &ack.outcome {
            PushOutcome::Stored { .. } | PushOutcome::AlreadyStored => {
                if matches!(ack.outcome, PushOutcome::Stored { .. }) {
                    report.pushed += 1;
                } else {
                    report.already_stored += 1;
                }
                if mark_synced(tx, ack.kind, ack.id, heads)? {
                    outbox::remove(tx, &id)?;
                }
            }
            PushOutcome::ResendWhole => {
                tracing::info!(doc = %id, "server lacks history; the whole document goes next");
                mark_synced(tx, ack.kind, ack.id, &[])?;
            }
            PushOutcome::Rejected { code, reason } => {
                tracing::warn!(doc = %id, ?code, "server refused document changes for good; parked");
                outbox::park(tx, &id, reject_code_name(*code), reason)?;
                report.rejected += 1;
            }
        }
    }
    if response.reset {
        tracing::warn!("the server no longer keeps this phone's feed position; starting the feed over");
        documents::forget_server_data(tx, docs)?;
    }
    for entry in &response.feed {
        apply_entry(tx, docs, entry)?;
        report.pulled += 1;
    }
    meta::set(tx, meta::FEED_CURSOR, &response.cursor.to_string())
}

fn settle_fact(tx: &Transaction<'_>, id: FactId, seq: Option<u64>) -> Result<()> {
    facts::mark_synced(tx, id, seq)?;
    outbox::remove(tx, &id.to_string())
}

fn reject_code_name(code: RejectCode) -> &'static str {
    match code {
        RejectCode::ConflictingBody => "conflicting_body",
        RejectCode::WrongAuthor => "wrong_author",
        RejectCode::Invalid => "invalid",
        RejectCode::NotAllowed => "not_allowed",
    }
}

fn apply_entry(tx: &Transaction<'_>, docs: &mut DocSession<'_>, entry: &FeedEntry) -> Result<()> {
    match &entry.change {
        FeedChange::Doc { kind, id, state } => documents::merge_remote(tx, docs, *kind, *id, state),
        FeedChange::Upsert { record } => records::upsert(tx, record),
        FeedChange::Remove { kind, id } if kind.is_document() => documents::remove(tx, docs, *kind, *id),
        FeedChange::Remove { kind, id } => records::remove(tx, *kind, *id),
    }
}
