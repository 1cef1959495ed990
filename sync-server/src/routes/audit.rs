//! `GET /v1/audit?before=SEQ&limit=N`: the org's audit log of admin actions, newest first,
//! a page at a time (`before` is the lowest `seq` of the previous page). Admins only.

use axum::Json;
use axum::extract::State;
use fieldkit_domain::model::Role;
use serde::Deserialize;

use crate::audit::AuditEntry;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Caller};
use crate::state::AppState;

/// The page size when none is asked for.
const DEFAULT_LIMIT: u32 = 100;
/// The largest page served.
const MAX_LIMIT: u32 = 1000;

/// `GET /v1/audit` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    /// Only entries with a lower sequence number.
    #[serde(default)]
    before: Option<u64>,
    /// At most this many entries (1 to [`MAX_LIMIT`]).
    #[serde(default)]
    limit: Option<u32>,
}

/// `GET /v1/audit`: admin only.
pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    if caller.role != Role::Admin {
        return Err(ApiError::forbidden(format!("role {} may not read the audit log", caller.role.as_str())));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::invalid(format!("limit must be 1 to {MAX_LIMIT}, not {limit}")));
    }
    Ok(Json(state.storage.audit_log(caller.org_id, query.before, limit).await?))
}
