//! `POST /v1/token/refresh`: a valid, unexpired bearer token in, a new one out (same user
//! and device, a fresh lifetime of `Limits::token_ttl`). The old token is deleted in the
//! same transaction as the new one is stored, so exactly one of them works afterwards. An
//! unknown or expired token, or one of a revoked device, answers 401: the phone logs in
//! again (a revoked device cannot).

use axum::Json;
use axum::extract::State;
use fieldkit_domain::protocol::{ErrorCode, LoginResponse};

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::TokenHolder;
use crate::state::AppState;
use crate::storage::NewToken;

pub(super) async fn refresh(
    State(state): State<AppState>,
    holder: TokenHolder,
) -> ApiResult<Json<LoginResponse>> {
    let token = auth::new_token().map_err(|e| ApiError::new(ErrorCode::Internal, e))?;
    let now = crate::now_ms();
    let ttl_ms = i64::try_from(state.limits.token_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at_ms = now.saturating_add(ttl_ms);
    let new = NewToken {
        token_sha256: auth::token_digest(&token),
        user_id: holder.user.id,
        device_id: holder.device.as_uuid(),
        expires_at_ms,
    };
    // Another refresh of the same token, its expiry or a revocation since it was read.
    if !state.storage.refresh_token(&holder.token_sha256, new, now).await? {
        return Err(ApiError::new(ErrorCode::Unauthenticated, "unknown or expired token; log in again"));
    }
    tracing::info!(user = %holder.user.id, device = %holder.device, "token refreshed");
    Ok(Json(LoginResponse { token, expires_at_ms, user: holder.user, server_time_ms: crate::now_ms() }))
}
