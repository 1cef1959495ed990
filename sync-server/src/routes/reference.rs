//! What the reference-data routes share: listing the records of one kind, and removing
//! one (a tombstone, so every phone drops it through the feed and it never comes back).

use axum::http::StatusCode;
use fieldkit_domain::ids::OrgId;
use fieldkit_domain::model::User;
use fieldkit_domain::protocol::{Record, RecordKind};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The org's records of `kind`, as `pick` takes them out of [`Record`].
pub(super) async fn list_of<T>(
    state: &AppState,
    org: OrgId,
    kind: RecordKind,
    pick: fn(Record) -> Option<T>,
) -> ApiResult<Vec<T>> {
    Ok(state.storage.records(org, kind).await?.into_iter().filter_map(|r| pick(r.record)).collect())
}

/// Only managers and admins change reference data.
pub(super) fn may_change(caller: &User, what: &str) -> ApiResult<()> {
    if caller.role.can_dispatch() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("role {} may not change {what}", caller.role.as_str())))
    }
}

/// Removes record `id` of `kind` (`what` names it in the answer).
pub(super) async fn remove(
    state: &AppState,
    caller: &User,
    kind: RecordKind,
    id: Uuid,
    what: &str,
) -> ApiResult<StatusCode> {
    match state.storage.delete_record(caller.org_id, kind, id).await? {
        Some(_) => {
            tracing::info!(org = %caller.org_id, kind = ?kind, "reference record removed");
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::not_found(format!("{what} {id} not found"))),
    }
}
