//! `GET /metrics`: the server's Prometheus metrics (see `crate::metrics`) as text, for the
//! operator's scraper.
//!
//! The metrics are the whole process's (every org's requests and syncs, no ids in any
//! label), so no org's user may read them: the scraper presents the operator's bearer token
//! (`--metrics-token` / `FIELDKIT_METRICS_TOKEN`, `authorization` in Prometheus's scrape
//! config), compared by its SHA-256. Without a configured token the endpoint answers 404.
//! The missing-blobs gauge is read at scrape time over every org.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The content type of the Prometheus text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`.
pub(super) async fn render(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let Some(expected) = state.metrics_token_sha256 else {
        return Err(ApiError::not_found("metrics are off: start the server with a metrics token"));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|token| <[u8; 32]>::from(Sha256::digest(token.as_bytes())));
    if presented != Some(expected) {
        return Err(ApiError::new(
            fieldkit_domain::protocol::ErrorCode::Unauthenticated,
            "the metrics need the operator's metrics token",
        ));
    }
    let mut missing = 0;
    for org in state.storage.orgs().await? {
        missing += state.storage.missing_blobs(org.id, None).await?.len();
    }
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], state.metrics.render(missing)))
}
