//! `GET /v1/feed/wait?after=SEQ&timeout_ms=MS`: a long poll that answers as soon as the
//! caller's org has a change newer than `after` (a phone's feed cursor, or the `seq` of the
//! previous answer), or when the time-out passes. Phones and dashboards sync or refresh when
//! it answers `changed`, instead of polling on a timer.
//!
//! It works across server instances: on PostgreSQL a change committed through any instance
//! wakes the waiters of every instance (see the storage's feed signals). The org's sequence
//! also counts changes the caller may not read, so `changed` means "worth a sync", not "the
//! sync will bring something".

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Caller};
use crate::state::AppState;

/// The wait when none is asked for, in milliseconds.
const DEFAULT_TIMEOUT_MS: u64 = 25_000;
/// The longest wait served (below common proxies' 60 s idle time-out).
const MAX_TIMEOUT_MS: u64 = 55_000;

/// `GET /v1/feed/wait` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WaitQuery {
    /// Answer once the org's sequence is above this.
    after: u64,
    /// The longest wait in milliseconds (0 to [`MAX_TIMEOUT_MS`]).
    #[serde(default)]
    timeout_ms: Option<u64>,
}

/// The answer.
#[derive(Debug, Serialize)]
pub(super) struct WaitAnswer {
    /// The org's newest sequence number when answering.
    seq: u64,
    /// Whether `seq` is above `after`.
    changed: bool,
}

/// `GET /v1/feed/wait`: any signed-in user of the org.
pub(super) async fn wait(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<WaitQuery>,
) -> ApiResult<Json<WaitAnswer>> {
    let timeout_ms = query.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    if timeout_ms > MAX_TIMEOUT_MS {
        return Err(ApiError::invalid(format!("timeout_ms {timeout_ms} is above {MAX_TIMEOUT_MS}")));
    }
    let org = caller.org_id;
    // Subscribe before reading, so a change committed in between still wakes this wait.
    let mut signals = state.storage.feed_signals();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
    loop {
        let seq = state.storage.feed_seq(org).await?;
        if seq > query.after {
            return Ok(Json(WaitAnswer { seq, changed: true }));
        }
        // Wait for a signal of this org (or a lag, which may have hidden one).
        let signalled = loop {
            match tokio::time::timeout_at(deadline, signals.recv()).await {
                Err(_elapsed) => break false,
                Ok(Ok(signalled)) if signalled != org => continue,
                Ok(Ok(_) | Err(RecvError::Lagged(_))) => break true,
                Ok(Err(RecvError::Closed)) => break false,
            }
        };
        if !signalled {
            let seq = state.storage.feed_seq(org).await?;
            return Ok(Json(WaitAnswer { seq, changed: seq > query.after }));
        }
    }
}
