//! The sync client: one cycle pushes the outbox in batches and pulls the change feed until
//! both are drained.
//!
//! Each round trip's answer is applied in one transaction (acknowledged entries leave the
//! outbox, refused ones are parked, feed entries update the projections, the cursor moves),
//! so a crash between round trips loses nothing and repeats nothing the server has not
//! already made idempotent.

mod http;

use fieldkit_domain::ids::{DeviceId, FactId};
use fieldkit_domain::protocol::{
    FeedChange, FeedEntry, PROTOCOL_VERSION, PushOutcome, Record, RecordKind, RejectCode, SyncRequest,
    SyncResponse,
};
use rusqlite::Transaction;

pub(crate) use http::HttpClient;

use crate::error::{Error, Result};
use crate::session::Session;
use crate::store::{Store, facts, meta, outbox, records, tasks};
use crate::time::now_ms;

/// The most facts pushed in one round trip.
pub const MAX_BATCH_ITEMS: usize = 200;
/// The most fact bytes pushed in one round trip (a single larger fact still goes alone).
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// The most feed entries asked for in one round trip.
pub const PULL_PAGE: u32 = 500;

/// What one sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// HTTP round trips made.
    pub round_trips: u32,
    /// Facts the server stored now.
    pub pushed: u32,
    /// Facts the server already had (a retry after a lost answer).
    pub already_stored: u32,
    /// Facts the server refused for good (now parked).
    pub rejected: u32,
    /// Feed entries applied.
    pub pulled: u32,
    /// The feed cursor after the sync.
    pub cursor: u64,
}

/// Runs one sync cycle. The caller guarantees no other cycle runs at the same time.
pub(crate) async fn run(
    store: &Store,
    client: &HttpClient,
    session: &Session,
    device_id: DeviceId,
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    loop {
        let (batch, cursor) = store.read(|conn| {
            let batch = outbox::next_batch(conn, MAX_BATCH_ITEMS, MAX_BATCH_BYTES)?;
            let ids: Vec<String> = batch.into_iter().map(|p| p.item_id).collect();
            let cursor = meta::get_i64(conn, meta::FEED_CURSOR)?
                .unwrap_or(0)
                .unsigned_abs();
            Ok((facts::bodies(conn, &ids)?, cursor))
        })?;
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id,
            cursor,
            pull_limit: PULL_PAGE,
            sent_at_ms: now_ms(),
            push: batch,
        };
        let sent_at = now_ms();
        let answer = client.sync(&session.token, &request).await;
        let received_at = now_ms();
        report.round_trips += 1;
        let response = match answer {
            Ok(r) => r,
            Err(e) => {
                let ids: Vec<String> = request.push.iter().map(|f| f.id().to_string()).collect();
                store.write(|tx| outbox::record_failure(tx, &ids, &e.to_string()))?;
                return Err(e);
            }
        };
        check_answer(&request, &response)?;
        let more_to_push = store.write(|tx| {
            apply(tx, &response, &mut report)?;
            // Offset of server time from device time, taking the answer as made mid-flight.
            let offset = response.server_time_ms - (sent_at + received_at) / 2;
            meta::set(tx, meta::CLOCK_OFFSET_MS, &offset.to_string())?;
            meta::set(tx, meta::LAST_SYNC_MS, &received_at.to_string())?;
            Ok(outbox::stats(tx)?.pending > 0)
        })?;
        report.cursor = response.cursor;
        if !response.has_more && !more_to_push {
            tracing::info!(?report, "sync done");
            return Ok(report);
        }
    }
}

/// Refuses an answer that does not match the request, before anything is applied.
fn check_answer(request: &SyncRequest, response: &SyncResponse) -> Result<()> {
    if response.protocol != PROTOCOL_VERSION {
        return Err(Error::Protocol(format!(
            "server answered in protocol version {}",
            response.protocol
        )));
    }
    let asked = request.push.iter().map(|f| f.id());
    let answered = response.acks.iter().map(|a| a.id);
    if !asked.eq(answered) {
        return Err(Error::Protocol(
            "acknowledgements do not match the facts pushed".into(),
        ));
    }
    if response.cursor < request.cursor {
        return Err(Error::Protocol(format!(
            "feed cursor went back from {} to {}",
            request.cursor, response.cursor
        )));
    }
    Ok(())
}

fn apply(tx: &Transaction<'_>, response: &SyncResponse, report: &mut SyncReport) -> Result<()> {
    for ack in &response.acks {
        let id = ack.id.to_string();
        match &ack.outcome {
            PushOutcome::Stored { seq } => {
                settle(tx, ack.id, Some(*seq))?;
                report.pushed += 1;
            }
            PushOutcome::AlreadyStored => {
                settle(tx, ack.id, None)?;
                report.already_stored += 1;
            }
            PushOutcome::Rejected { code, reason } => {
                tracing::warn!(fact = %id, ?code, "server refused a fact for good; parked");
                outbox::park(tx, &id, reject_code_name(*code), reason)?;
                report.rejected += 1;
            }
        }
    }
    for entry in &response.feed {
        apply_entry(tx, entry)?;
        report.pulled += 1;
    }
    meta::set(tx, meta::FEED_CURSOR, &response.cursor.to_string())
}

fn settle(tx: &Transaction<'_>, id: FactId, seq: Option<u64>) -> Result<()> {
    facts::mark_synced(tx, id, seq)?;
    outbox::remove(tx, &id.to_string())
}

fn reject_code_name(code: RejectCode) -> &'static str {
    match code {
        RejectCode::ConflictingBody => "conflicting_body",
        RejectCode::WrongAuthor => "wrong_author",
        RejectCode::Invalid => "invalid",
    }
}

fn apply_entry(tx: &Transaction<'_>, entry: &FeedEntry) -> Result<()> {
    match &entry.change {
        FeedChange::Upsert {
            record: Record::Task(task),
        } => tasks::upsert(tx, task),
        FeedChange::Upsert { record } => records::upsert(tx, record),
        FeedChange::Remove {
            kind: RecordKind::Task,
            id,
        } => tasks::remove(tx, *id),
        FeedChange::Remove { kind, id } => records::remove(tx, *kind, *id),
    }
}
