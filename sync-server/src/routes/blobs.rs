//! Blob upload: `GET /v1/blobs/{sha256}` (how far it got), `PUT /v1/blobs/{sha256}` (a
//! chunk), `GET /v1/blobs/{sha256}/content` (the bytes, once complete), `GET
//! /v1/blobs/missing` (what stored photo facts still wait for). See
//! `fieldkit_domain::protocol::BlobStatus` for the protocol. The chunk that completes a blob
//! also checks its size against every photo naming it (see `crate::photos`).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use fieldkit_domain::model::User;
use fieldkit_domain::protocol::{BlobStatus, ErrorCode, MissingBlob, is_sha256_hex};
use serde::Deserialize;

use crate::blobs::{BlobError, Finish};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBytes, ApiPath, ApiQuery, Caller};
use crate::state::AppState;

/// Query string of a chunk upload.
#[derive(Debug, Deserialize)]
pub(super) struct Chunk {
    offset: u64,
    size: u64,
}

fn check_name(sha256: &str) -> ApiResult<()> {
    if is_sha256_hex(sha256) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("blob name {sha256:?} is not a lower-case sha-256")))
    }
}

fn store_error(e: &BlobError) -> ApiError {
    tracing::error!(error = %e, "blob store failed");
    ApiError::new(ErrorCode::Internal, "blob store failed; try again later")
}

pub(super) async fn status(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(sha256): ApiPath<String>,
) -> ApiResult<Json<BlobStatus>> {
    check_name(&sha256)?;
    let status = state.storage.blob(caller.org_id, &sha256).await?;
    status.map(Json).ok_or_else(|| ApiError::not_found(format!("blob {sha256} not found")))
}

pub(super) async fn put_chunk(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(sha256): ApiPath<String>,
    ApiQuery(chunk): ApiQuery<Chunk>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Json<BlobStatus>> {
    check_name(&sha256)?;
    let max = state.limits.max_blob_bytes;
    if chunk.size > max {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("blob of {} bytes is larger than the {max} bytes accepted", chunk.size),
        ));
    }
    let _exclusive = state.blobs.lock(&sha256).await;
    let org = caller.org_id;
    let current = state.storage.blob(org, &sha256).await?;
    let mut status = match current {
        Some(s) if s.complete => return Ok(Json(s)),
        Some(s) if s.size != chunk.size => {
            return Err(ApiError::invalid(format!(
                "blob {sha256} was announced with {} bytes, not {}",
                s.size, chunk.size
            )));
        }
        Some(s) => s,
        None => BlobStatus { sha256: sha256.clone(), size: chunk.size, received: 0, complete: false },
    };
    if chunk.offset != status.received {
        // Not where the server stands (a retry of an earlier chunk): resume from `received`.
        return Ok(Json(status));
    }
    let end = chunk.offset.saturating_add(body.len() as u64);
    if end > status.size {
        return Err(ApiError::invalid(format!(
            "chunk ends at byte {end}, past the blob's {} bytes",
            status.size
        )));
    }
    state.blobs.write_at(org, &sha256, chunk.offset, body).await.map_err(|e| store_error(&e))?;
    status.received = end;
    if end == status.size {
        match state.blobs.finish(org, &sha256, status.size).await.map_err(|e| store_error(&e))? {
            Finish::Published => {}
            Finish::Refused => {
                state.storage.save_blob(org, BlobStatus { received: 0, ..status }).await?;
                tracing::warn!(blob = %sha256, "uploaded bytes do not match the blob's hash; dropped");
                return Err(ApiError::invalid(format!(
                    "the uploaded bytes do not hash to {sha256}; upload them again"
                )));
            }
            Finish::Short { received } => {
                // A chunk acknowledged earlier is not in the store: resume from the gap.
                tracing::warn!(blob = %sha256, received, "stored chunks stop short; resuming from there");
                status.received = received;
                state.storage.save_blob(org, status.clone()).await?;
                return Ok(Json(status));
            }
        }
        status.complete = true;
        let photos = state.storage.complete_blob(org, status.clone()).await?;
        tracing::info!(blob = %sha256, bytes = status.size, photos, "blob complete");
        return Ok(Json(status));
    }
    state.storage.save_blob(org, status.clone()).await?;
    Ok(Json(status))
}

/// The bytes stream from the store to the client: a 50 MB blob is never held whole.
pub(super) async fn content(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(sha256): ApiPath<String>,
) -> ApiResult<([(HeaderName, HeaderValue); 2], Body)> {
    check_name(&sha256)?;
    match state.storage.blob(caller.org_id, &sha256).await? {
        Some(status) if status.complete => {
            let bytes = state.blobs.read(caller.org_id, &sha256).await.map_err(|e| store_error(&e))?;
            let headers = [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")),
                (header::CONTENT_LENGTH, HeaderValue::from(bytes.size)),
            ];
            Ok((headers, Body::from_stream(bytes.stream)))
        }
        _ => Err(ApiError::not_found(format!("blob {sha256} has not fully arrived"))),
    }
}

pub(super) async fn missing(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<MissingBlob>>> {
    require_manager(&caller)?;
    let authors = super::facts::authors(&state, &caller).await?;
    Ok(Json(state.storage.missing_blobs(caller.org_id, authors).await?))
}

fn require_manager(user: &User) -> ApiResult<()> {
    if user.role.can_dispatch() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("role {} may not list missing blobs", user.role.as_str())))
    }
}
