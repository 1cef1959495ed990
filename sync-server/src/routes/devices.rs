//! `POST /v1/devices/{device_id}/revoke`: an admin revokes a device of the org (a lost
//! phone). From the revocation time on, no login binds the device, its tokens push only
//! facts made at or before that time and pull nothing (see `super::sync`). Revoking again
//! keeps the first time; a device the org does not know answers 404, another org's too.

use axum::Json;
use axum::extract::State;
use fieldkit_domain::ids::{DeviceId, UserId};
use fieldkit_domain::model::Role;
use serde::Serialize;

use crate::audit::{AuditAction, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, Caller};
use crate::state::AppState;

/// `POST /v1/devices/{device_id}/revoke` answer.
#[derive(Debug, Serialize)]
pub(super) struct Revocation {
    /// The revoked device.
    device_id: DeviceId,
    /// When it was revoked, server Unix milliseconds (the first revocation's time).
    revoked_ms: i64,
    /// The admin who asked now (not necessarily the one who revoked it first).
    requested_by: UserId,
}

/// `POST /v1/devices/{device_id}/revoke`: admin only.
pub(super) async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(device_id): ApiPath<DeviceId>,
) -> ApiResult<Json<Revocation>> {
    if caller.role != Role::Admin {
        return Err(ApiError::forbidden(format!("role {} may not revoke devices", caller.role.as_str())));
    }
    let revoked_ms = state
        .storage
        .revoke_device(caller.org_id, device_id, crate::now_ms(), caller.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("device {device_id} not found")))?;
    tracing::info!(device = %device_id, revoked_ms, by = %caller.id, "device revoked");
    record(&state, &caller, AuditAction::DeviceRevoked, device_id, format!("revoked at {revoked_ms}"))
        .await?;
    Ok(Json(Revocation { device_id, revoked_ms, requested_by: caller.id }))
}
