//! `GET /v1/org/settings` and `PUT /v1/org/settings`: the org's settings (check-in rules,
//! working hours, track filter and retention). Every member reads them; only an admin
//! replaces them. They are one record in the change feed, so every phone receives them.

use axum::Json;
use axum::extract::State;
use fieldkit_domain::ids::OrgId;
use fieldkit_domain::model::{OrgSettings, Role};
use fieldkit_domain::protocol::Record;

use crate::audit::{AuditAction, record};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;

/// The org's settings: the stored record, or the defaults when none is stored. Every rule
/// that depends on the org's settings reads them here.
pub(crate) async fn settings(state: &AppState, org_id: OrgId) -> ApiResult<OrgSettings> {
    Ok(state.storage.org_settings(org_id).await?)
}

/// `GET /v1/org/settings`.
pub(super) async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<OrgSettings>> {
    Ok(Json(settings(&state, caller.org_id).await?))
}

/// `PUT /v1/org/settings`: replaces the settings whole (admins only).
pub(super) async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<OrgSettings>,
) -> ApiResult<Json<OrgSettings>> {
    if caller.role != Role::Admin {
        return Err(ApiError::forbidden(format!(
            "role {} may not change the org settings",
            caller.role.as_str()
        )));
    }
    new.validate().map_err(|e| ApiError::invalid(e.to_string()))?;
    state.storage.put_record(caller.org_id, Record::OrgSettings(new.clone()), None).await?;
    tracing::info!(org = %caller.org_id, "org settings replaced");
    record(&state, &caller, AuditAction::SettingsChanged, caller.org_id, "replaced").await?;
    Ok(Json(new))
}
