//! The sync client: one cycle pushes the outbox in batches and pulls the change feed until
//! both are drained.
//!
//! Each round trip's answer is applied in one transaction (acknowledged entries leave the
//! outbox, refused ones are parked, feed entries update documents and projections, the
//! cursor moves), so a crash between round trips loses nothing and repeats nothing the
//! server has not already made idempotent. A failed round trip schedules the entries it
//! carried for a retry with backoff. After each round trip the caller hears the progress so
//! far ([`SyncProgress`]), and the server-time offset it measured is kept only if it bounds
//! server time better than the stored one (see `time::prefer_new`).

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
use crate::time::{ClockSample, ServerClock, now_ms, prefer_new};

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
    /// Blob uploads were running beside this sync (started by an earlier sync, or left
    /// running in the background by this one): `blobs` does not count them, and they pick
    /// up the blobs this sync queued.
    pub blobs_running: bool,
}

/// How far a running sync has come: its counts so far, after each round trip. The last
/// progress of a sync equals its report's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncProgress {
    /// HTTP round trips made so far.
    pub round_trips: u32,
    /// Facts and document changes the server stored so far.
    pub pushed: u32,
    /// Items the server already had.
    pub already_stored: u32,
    /// Items the server refused for good (parked).
    pub rejected: u32,
    /// Feed entries applied so far.
    pub pulled: u32,
    /// Request bytes sent so far.
    pub bytes_sent: u64,
    /// Response bytes received so far.
    pub bytes_received: u64,
    /// Queued items still waiting to be pushed (not parked).
    pub waiting: u64,
}

impl SyncProgress {
    fn of(report: &SyncReport, waiting: u64) -> Self {
        Self {
            round_trips: report.round_trips,
            pushed: report.pushed,
            already_stored: report.already_stored,
            rejected: report.rejected,
            pulled: report.pulled,
            bytes_sent: report.bytes_sent,
            bytes_received: report.bytes_received,
            waiting,
        }
    }
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

/// Runs one sync cycle, telling `on_progress` after each round trip applied. The caller
/// guarantees no other cycle runs at the same time.
pub(crate) async fn run(
    store: &Store,
    client: &HttpClient,
    session: &Session,
    device_id: DeviceId,
    due: Due,
    server_clock: &ServerClock,
    on_progress: &(dyn Fn(SyncProgress) + Send + Sync),
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
        let (more_to_push, waiting) = store.write_docs(&actor, |tx, docs| {
            apply(tx, docs, &batch, &response, &mut report)?;
            // NTP-style: the answer was made mid-flight, give or take half the round trip.
            let sample = ClockSample {
                value_ms: response.server_time_ms - (sent_at + received_at) / 2,
                rtt_ms: received_at - sent_at,
            };
            keep_better_offset(tx, sample, received_at)?;
            meta::set(tx, meta::LAST_SYNC_MS, &received_at.to_string())?;
            Ok((!outbox::due(tx, now_ms(), 1)?.is_empty(), outbox::stats(tx)?.pending))
        })?;
        report.cursor = response.cursor;
        on_progress(SyncProgress::of(&report, waiting));
        if !response.has_more && !more_to_push {
            tracing::info!(?report, "sync done");
            return Ok(report);
        }
    }
}

/// Stores the server-time offset `sample`, measured at device time `now`, if it is better
/// than the stored one (see [`prefer_new`]).
fn keep_better_offset(tx: &Transaction<'_>, sample: ClockSample, now: i64) -> Result<()> {
    let stored = match (meta::get_i64(tx, meta::CLOCK_OFFSET_MS)?, meta::get_i64(tx, meta::CLOCK_RTT_MS)?) {
        (Some(value_ms), Some(rtt_ms)) => Some(ClockSample { value_ms, rtt_ms }),
        _ => None,
    };
    // A sample stored before its time was kept counts as old.
    let age = meta::get_i64(tx, meta::CLOCK_MEASURED_MS)?.map_or(i64::MAX, |at| now.saturating_sub(at));
    if stored.is_none_or(|stored| prefer_new(stored, sample, age)) {
        meta::set(tx, meta::CLOCK_OFFSET_MS, &sample.value_ms.to_string())?;
        meta::set(tx, meta::CLOCK_RTT_MS, &sample.rtt_ms.to_string())?;
        meta::set(tx, meta::CLOCK_MEASURED_MS, &now.to_string())?;
    }
    Ok(())
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
    // Only a reset (the server lost what the cursor points past: pruned removals, or a
    // database restored from a backup) starts the feed over from a lower cursor.
    if response.cursor < request.cursor && !response.reset {
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
                    documents::compact_if_closed(tx, docs, ack.kind, ack.id)?;
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

#[cfg(test)]
mod tests {
    use fieldkit_domain::clock::{EventTime, HlcClock};
    use fieldkit_domain::ids::{CustomerId, UserId, VisitId};
    use fieldkit_domain::model::{CheckIn, LocationFix, LocationProvider, WgsPoint};

    use super::*;

    /// A check-in whose note makes its body about `note_bytes` long.
    fn check_in(note_bytes: usize) -> Fact {
        Fact::CheckIn(CheckIn {
            id: FactId::new(),
            visit_id: VisitId::new(),
            customer_id: CustomerId::new(),
            task_id: None,
            rep_id: UserId::new(),
            fix: LocationFix {
                point: WgsPoint::new(31.23, 121.47).expect("on the globe"),
                accuracy_m: 10.0,
                fix_time_ms: 1,
                provider: LocationProvider::Gnss,
                is_mock: false,
            },
            at: EventTime { device_ms: 1, hlc: HlcClock::new(7).tick(1), server_estimate_ms: None },
            note: Some("n".repeat(note_bytes)),
            assessment: None,
        })
    }

    /// A store with these facts queued, in order.
    fn queued(facts: &[Fact]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("fieldkit.db")).expect("open");
        store
            .write(|tx| {
                for fact in facts {
                    facts::insert(tx, fact, None, 1)?;
                    outbox::append(tx, outbox::KIND_FACT, &fact.id().to_string(), 1)?;
                }
                Ok(())
            })
            .expect("queue");
        (dir, store)
    }

    fn next_batch(store: &Store) -> Batch {
        store
            .read(|conn| {
                let pending = outbox::due(conn, now_ms(), MAX_BATCH_ITEMS)?;
                build_batch(conn, &pending)
            })
            .expect("batch")
    }

    #[test]
    fn a_batch_is_cut_by_the_byte_cap_before_the_count_cap() {
        // Five check-ins of ~300 KB: three fit in 1 MiB, the fourth would cross it.
        let facts: Vec<Fact> = (0..5).map(|_| check_in(300_000)).collect();
        let (_dir, store) = queued(&facts);
        let batch = next_batch(&store);
        let ids: Vec<FactId> = batch.facts.iter().map(Fact::id).collect();
        let first_three: Vec<FactId> = facts[..3].iter().map(Fact::id).collect();
        assert_eq!(ids, first_three, "cut at the byte cap, in queue order");
        let bytes: usize = batch.facts.iter().map(|f| serde_json::to_vec(f).expect("json").len()).sum();
        assert!(bytes <= MAX_BATCH_BYTES, "{bytes}");
        assert!(batch.docs.is_empty());
    }

    #[test]
    fn an_item_larger_than_the_byte_cap_goes_alone() {
        let facts = vec![check_in(2 * MAX_BATCH_BYTES), check_in(10)];
        let (_dir, store) = queued(&facts);
        let batch = next_batch(&store);
        assert_eq!(batch.facts.iter().map(Fact::id).collect::<Vec<_>>(), vec![facts[0].id()]);
    }

    #[test]
    fn the_stored_offset_changes_only_for_a_tighter_or_disjoint_or_newer_sample() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("fieldkit.db")).expect("open");
        let offer = |value_ms: i64, rtt_ms: i64, at: i64| {
            store.write(|tx| keep_better_offset(tx, ClockSample { value_ms, rtt_ms }, at)).expect("write");
            store
                .read(|c| {
                    Ok((meta::get_i64(c, meta::CLOCK_OFFSET_MS)?, meta::get_i64(c, meta::CLOCK_RTT_MS)?))
                })
                .expect("read")
        };
        assert_eq!(offer(100, 10, 1_000), (Some(100), Some(10)), "the first sample");
        assert_eq!(offer(150, 200, 2_000), (Some(100), Some(10)), "slower and overlapping: kept");
        assert_eq!(offer(98, 6, 3_000), (Some(98), Some(6)), "tighter: taken");
        assert_eq!(offer(60_000, 200, 4_000), (Some(60_000), Some(200)), "the device clock moved: taken");
        let hour_later = 4_000 + crate::time::SAMPLE_MAX_AGE_MS + 1;
        assert_eq!(offer(60_050, 300, hour_later), (Some(60_050), Some(300)), "an old sample is refreshed");
    }

    #[test]
    fn small_items_are_cut_by_the_count_cap() {
        let facts: Vec<Fact> = (0..MAX_BATCH_ITEMS + 20).map(|_| check_in(10)).collect();
        let (_dir, store) = queued(&facts);
        assert_eq!(next_batch(&store).facts.len(), MAX_BATCH_ITEMS);
    }
}
