//! `POST /v1/sync`: push facts, pull the change feed since the client's cursor.
//!
//! Both directions are idempotent: facts are keyed by the id the phone made, so a retried
//! push stores nothing twice; the feed is read from a cursor, so a repeated pull returns
//! the same entries.
//!
//! Check-ins and check-outs are judged again here with the domain's code (see
//! `crate::location`), and photos' signed receipts are checked (see `crate::photos`); the
//! verdicts are stored beside the facts and never decide whether a fact is stored. Voice
//! notes are checked with the domain's rules (`VoiceNote::validate`) and refused for good
//! when they break one.
//!
//! A revoked device may still push the facts it made at or before its revocation
//! (`crate::revocation`); its feed stays empty (same cursor).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use fieldkit_domain::ids::{DeviceId, TaskId, UserId};
use fieldkit_domain::model::{FormTemplate, User};
use fieldkit_domain::protocol::{
    DocAck, DocPush, ErrorCode, Fact, MAX_PULL_LIMIT, MAX_PUSH_ITEMS, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION,
    PushAck, PushOutcome, Record, RecordKind, RejectCode, SyncRequest, SyncResponse,
};
use sha2::{Digest, Sha256};

use super::settings::settings;
use crate::approvals;
use crate::approvals::task_steps;
use crate::doc_merge::{PushContext, merge_push};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, SyncCaller};
use crate::location;
use crate::orders;
use crate::photos::PhotoJudge;
use crate::revocation::{self, check_not_after, refuse_docs};
use crate::state::AppState;
use crate::storage::{
    DocResult, DocUpdate, FactInsert, FeedPage, FeedReader, LocationPoint, NewFact, ReceivedFact,
};

pub(super) async fn sync(
    State(state): State<AppState>,
    SyncCaller { user, device: token_device }: SyncCaller,
    ApiJson(req): ApiJson<SyncRequest>,
) -> ApiResult<Json<SyncResponse>> {
    if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&req.protocol) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedProtocol,
            format!(
                "protocol version {} is not supported; this server speaks {PROTOCOL_VERSION}",
                req.protocol
            ),
        ));
    }
    let items = req.push.len() + req.docs.len();
    if items > MAX_PUSH_ITEMS {
        return Err(ApiError::invalid(format!(
            "push holds {items} facts and documents; at most {MAX_PUSH_ITEMS} are accepted per request"
        )));
    }
    if let Some(bad) = req.docs.iter().find(|d| !d.kind.is_document()) {
        return Err(ApiError::invalid(format!("{} is not a shared document kind", bad.kind.as_str())));
    }

    let revoked = revocation::of(&state, user.org_id, token_device, req.device_id).await?;
    // Facts refused here get their answer now (`Some`); the others go to storage together.
    let mut verdicts: Vec<Option<PushOutcome>> = Vec::with_capacity(req.push.len());
    let mut accepted = Vec::new();
    let now_ms = crate::now_ms();
    // Approval facts, task steps done, and orders spending an approved discount, are checked
    // against the requests' current state and stored under the org's approval lock, as
    // decisions made through the API are: an approval is decided, or spent, once.
    let approval_lock = if req.push.iter().any(|f| match f {
        Fact::ApprovalRequest(_) | Fact::ApprovalDecision(_) | Fact::TaskStepDone(_) => true,
        Fact::Order(o) => o.discount_approval.is_some(),
        _ => false,
    }) {
        Some(state.lock_approvals(user.org_id).await)
    } else {
        None
    };
    for fact in &req.push {
        let mut verdict = check(fact, user.id);
        if verdict.is_ok()
            && let Some(revoked) = revoked
        {
            verdict = check_not_after(fact, revoked);
        }
        if verdict.is_ok() {
            verdict = approvals::push::check(&state, &user, fact, now_ms).await?;
        }
        if verdict.is_ok() {
            verdict = approvals::task_steps::check(&state, &user, fact, &accepted).await?;
        }
        if verdict.is_ok()
            && let Fact::Order(order) = fact
            && let Err(reason) = orders::check(state.storage.as_ref(), user.org_id, order).await?
        {
            verdict = Err(PushOutcome::Rejected { code: RejectCode::Invalid, reason });
        }
        match verdict {
            Err(outcome) => verdicts.push(Some(outcome)),
            Ok(()) => {
                accepted.push(fact);
                verdicts.push(None);
            }
        }
    }
    // Photo checks read chain heads and past receipts, then store their decisions: one push
    // with photos per org at a time, from the first read to the commit.
    let photo_lock = if accepted.iter().any(|f| matches!(f, Fact::Photo(_))) {
        Some(state.lock_photos(user.org_id).await)
    } else {
        None
    };
    let offered =
        if accepted.is_empty() { Vec::new() } else { receive(&state, &user, &accepted, now_ms).await? };
    let offered_count = offered.len();
    let lags_ms: Vec<Option<i64>> = offered.iter().map(|f| f.event_ms.map(|event| now_ms - event)).collect();
    let stored = if offered.is_empty() {
        Vec::new()
    } else {
        state.storage.store_facts(user.org_id, offered, now_ms).await?
    };
    drop(photo_lock);
    approvals::push::after_store(&state, user.org_id, &accepted, now_ms).await?;
    drop(approval_lock);
    if stored.len() != offered_count {
        tracing::error!(
            offered = offered_count,
            answered = stored.len(),
            "storage answered the wrong number of facts"
        );
        return Err(ApiError::new(ErrorCode::Internal, "internal error; try again later"));
    }
    state.metrics.facts_stored(stored.iter().filter(|s| matches!(s, FactInsert::Stored(_))).count());
    state.metrics.fact_lags(
        stored
            .iter()
            .zip(&lags_ms)
            .filter_map(|(s, lag)| matches!(s, FactInsert::Stored(_)).then_some(*lag)?),
    );
    let mut stored = stored.into_iter();
    let acks = req
        .push
        .iter()
        .zip(verdicts)
        .map(|(fact, verdict)| {
            let outcome = verdict.unwrap_or_else(|| match stored.next() {
                Some(FactInsert::Stored(seq)) => PushOutcome::Stored { seq },
                Some(FactInsert::ConflictingBody) => {
                    tracing::warn!(fact = %fact.id(), "fact refused: same id, different body");
                    PushOutcome::Rejected {
                        code: RejectCode::ConflictingBody,
                        reason: format!("fact {} is already stored with a different body", fact.id()),
                    }
                }
                Some(FactInsert::AlreadyStored) | None => PushOutcome::AlreadyStored,
            });
            PushAck { id: fact.id(), outcome }
        })
        .collect();
    let doc_acks = match revoked {
        Some(revoked) => refuse_docs(&req.docs, revoked),
        None => push_docs(&state, &user, req.device_id, &req.docs).await?,
    };

    let page = if revoked.is_some() {
        // A lost phone gets nothing new: an empty page that leaves its cursor where it is.
        FeedPage { entries: Vec::new(), cursor: req.cursor, has_more: false, reset: false }
    } else {
        let reader = FeedReader::for_user(&user, &state.storage.users(user.org_id).await?);
        let limit = req.pull_limit.clamp(1, MAX_PULL_LIMIT);
        state.storage.feed(user.org_id, reader, Some(req.device_id), req.cursor, limit).await?
    };
    tracing::debug!(pushed = req.push.len(), pulled = page.entries.len(), "sync");
    state.metrics.feed_served(page.entries.len());
    Ok(Json(SyncResponse {
        protocol: PROTOCOL_VERSION,
        acks,
        doc_acks,
        feed: page.entries,
        cursor: page.cursor,
        has_more: page.has_more,
        reset: page.reset,
        server_time_ms: crate::now_ms(),
    }))
}

/// What the server derives from accepted facts before storing them: the clock flag under
/// the org's settings, the event time, the location points within the org's track
/// retention (older track points are dropped from the stored body too), the server's own
/// verdict on check-ins and check-outs, and the check of photos' receipts (countersigned
/// with `now_ms`, the time the facts are stored with).
async fn receive(
    state: &AppState,
    user: &User,
    facts: &[&Fact],
    now_ms: i64,
) -> ApiResult<Vec<ReceivedFact>> {
    let settings = settings(state, user.org_id).await?;
    let cutoff_ms = now_ms.saturating_sub(settings.track_retention_ms());
    let points: Vec<Vec<LocationPoint>> = facts.iter().map(|f| location::points_of(f, cutoff_ms)).collect();
    let pushed: Vec<LocationPoint> = points.iter().flatten().copied().collect();
    let mut judge = location::Judge::new(state.storage.as_ref(), user.org_id, &settings.check_in, &pushed);
    let mut photos = PhotoJudge::new(state.storage.as_ref(), user.org_id, user.id, &state.server_key, now_ms);
    let mut received = Vec::with_capacity(facts.len());
    for (fact, points) in facts.iter().zip(points) {
        let pushed_body = serde_json::to_string(fact).expect("facts always serialize");
        let body_sha256 = hex::encode(Sha256::digest(pushed_body.as_bytes()));
        let body = match location::without_expired_points(fact, cutoff_ms) {
            Some(kept) => serde_json::to_string(&kept).expect("facts always serialize"),
            None => pushed_body,
        };
        let clock_skew_ms = fact.at().and_then(|at| match at.server_estimate_ms {
            Some(estimate) => Some(at.device_ms.saturating_sub(estimate)),
            // Never synced before: only a device time later than now proves a clock ahead.
            None => (at.device_ms > now_ms).then(|| at.device_ms.saturating_sub(now_ms)),
        });
        let server_assessment = judge.judge(fact).await?;
        let photo = photos.judge(fact).await?;
        let received_fact = ReceivedFact {
            fact: NewFact {
                id: fact.id(),
                kind: fact.kind(),
                rep_id: fact.rep_id(),
                body,
                body_sha256,
                clock_skew_ms,
            },
            clock_flagged: clock_skew_ms
                .is_some_and(|skew| skew.saturating_abs() > settings.check_in.max_clock_skew_ms),
            event_ms: location::event_ms(fact),
            server_assessment,
            points,
            photo,
        };
        received.push(received_fact);
    }
    Ok(received)
}

/// Refuses, for good, a fact the caller may not push or that breaks a domain rule.
fn check(fact: &Fact, caller: UserId) -> Result<(), PushOutcome> {
    let refuse = |code, reason| Err(PushOutcome::Rejected { code, reason });
    if fact.rep_id() != caller {
        return refuse(
            RejectCode::WrongAuthor,
            format!("fact {} names another user as its author", fact.id()),
        );
    }
    if let Fact::VoiceNote(note) = fact
        && let Err(e) = note.validate()
    {
        return refuse(RejectCode::Invalid, e.to_string());
    }
    Ok(())
}

/// Merges pushed document changes, each decided inside the storing transaction.
async fn push_docs(
    state: &AppState,
    user: &User,
    device: DeviceId,
    docs: &[DocPush],
) -> ApiResult<Vec<DocAck>> {
    if docs.is_empty() {
        return Ok(Vec::new());
    }
    // Submitted responses are validated against their template version: load them once.
    let mut templates = HashMap::new();
    if docs.iter().any(|d| d.kind == RecordKind::FormResponse) {
        for stored in state.storage.records(user.org_id, RecordKind::FormTemplate).await? {
            if let Record::FormTemplate(t) = stored.record {
                templates.insert(FormTemplate::record_id(t.id, t.version), t);
            }
        }
    }
    let tasks: Vec<TaskId> =
        docs.iter().filter(|d| d.kind == RecordKind::Task).map(|d| TaskId::from(d.id)).collect();
    let ctx = PushContext {
        caller: user.clone(),
        device,
        actor: state.actor.clone(),
        templates: Arc::new(templates),
        unfinished: Arc::new(task_steps::unfinished_steps(state, user.org_id, &tasks).await?),
    };
    let updates = docs
        .iter()
        .map(|d| DocUpdate {
            kind: d.kind,
            id: d.id,
            merge: merge_push(ctx.clone(), d.kind, d.id, d.changes.clone()),
        })
        .collect();
    let results = state.storage.update_docs(user.org_id, updates).await?;
    if results.len() != docs.len() {
        tracing::error!("storage answered the wrong number of documents");
        return Err(ApiError::new(ErrorCode::Internal, "internal error; try again later"));
    }
    state.metrics.documents_merged(results.iter().filter(|r| matches!(r, DocResult::Written(_))).count());
    Ok(docs
        .iter()
        .zip(results)
        .map(|(d, result)| DocAck {
            kind: d.kind,
            id: d.id,
            outcome: match result {
                DocResult::Written(seq) => PushOutcome::Stored { seq },
                DocResult::Unchanged => PushOutcome::AlreadyStored,
                DocResult::Refused(outcome) => outcome,
            },
        })
        .collect())
}
