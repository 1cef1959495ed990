//! `POST /v1/login`: password in, bearer token out. A login that carries the installation's
//! photo-signing key registers it for the device (a different key replaces the old one).
//! A revoked device (see `super::devices`) cannot be bound again: its login answers 403.
//! Attempts are counted, before the password is checked, against the client address's and
//! the `(org, username)`'s login budgets (`crate::rate_limit`): over either, 429.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use fieldkit_domain::protocol::{ErrorCode, LoginRequest, LoginResponse};

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::rate_limit::ClientIp;
use crate::state::AppState;
use crate::storage::{KeyRegistration, NewDeviceKey, NewToken};

pub(super) async fn login(
    State(state): State<AppState>,
    client: Option<Extension<ClientIp>>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Response {
    let address = client.map(|Extension(ClientIp(address))| address);
    if let Err(limited) = state.limiters.check_login(address, &req.org, &req.username) {
        return limited.into_response();
    }
    sign_in(state, req).await.into_response()
}

/// Checks the password and issues the token.
async fn sign_in(state: AppState, req: LoginRequest) -> ApiResult<Json<LoginResponse>> {
    let found = state.storage.credentials(&req.org, &req.username).await?;
    let phc = found.as_ref().map_or_else(|| state.decoy_hash.to_string(), |(_, phc)| phc.clone());
    let password = req.password;
    let matches = tokio::task::spawn_blocking(move || auth::verify_password(&password, &phc))
        .await
        .map_err(|_| ApiError::new(ErrorCode::Internal, "password check failed"))?;
    let user = match found {
        Some((user, _)) if matches => user,
        _ => {
            tracing::info!("login refused");
            return Err(ApiError::new(
                ErrorCode::BadCredentials,
                "unknown org, unknown user or wrong password",
            ));
        }
    };
    if let Some(revoked_ms) = state.storage.device_revocation(user.org_id, req.device_id).await? {
        tracing::info!(device = %req.device_id, "login refused: device revoked");
        return Err(ApiError::forbidden(format!(
            "device {} was revoked at {revoked_ms}; log in from another device",
            req.device_id
        )));
    }
    let token = auth::new_token().map_err(|e| ApiError::new(ErrorCode::Internal, e))?;
    let now = crate::now_ms();
    if let Some(key) = req.device_key {
        let key_id = key.key_id();
        let new = NewDeviceKey { device_id: req.device_id, user_id: user.id, key, registered_ms: now };
        match state.storage.register_device_key(user.org_id, new).await? {
            KeyRegistration::New => tracing::info!(key = %key_id, "device key registered"),
            KeyRegistration::Unchanged => tracing::debug!(key = %key_id, "device key unchanged"),
            KeyRegistration::Replaced { previous } => {
                tracing::info!(key = %key_id, previous = %previous, "device key replaced; its chain starts over");
            }
        }
    }
    let ttl_ms = i64::try_from(state.limits.token_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at_ms = now.saturating_add(ttl_ms);
    state
        .storage
        .store_token(NewToken {
            token_sha256: auth::token_digest(&token),
            user_id: user.id,
            device_id: req.device_id.as_uuid(),
            expires_at_ms,
        })
        .await?;
    tracing::info!(user = %user.id, "logged in");
    Ok(Json(LoginResponse { token, expires_at_ms, user, server_time_ms: crate::now_ms() }))
}
