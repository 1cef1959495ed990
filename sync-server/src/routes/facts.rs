//! `GET /v1/facts`: the facts the caller may see (a rep: their own; a manager: their
//! team's and their own; an admin: the org's), with the clock flag set on receipt.

use axum::Json;
use axum::extract::{Query, State};
use fieldkit_domain::model::{Role, User};
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::extract::Caller;
use crate::state::AppState;
use crate::storage::{FactFilter, StorageError};

/// Query string of `GET /v1/facts`.
#[derive(Debug, Deserialize)]
pub(super) struct FactQuery {
    kind: Option<String>,
}

/// One fact in the listing.
#[derive(Debug, Serialize)]
pub(super) struct FactView {
    seq: u64,
    received_ms: i64,
    /// Device clock minus the device's server-time estimate at the event, if known.
    clock_skew_ms: Option<i64>,
    /// The device clock disagreed by more than the org allows.
    clock_flagged: bool,
    fact: serde_json::Value,
}

/// Whose facts `caller` may read (`None`: everyone's).
async fn authors(state: &AppState, caller: &User) -> ApiResult<Option<Vec<fieldkit_domain::ids::UserId>>> {
    Ok(match (caller.role, caller.team_id) {
        (Role::Admin, _) => None,
        (Role::Manager, Some(team)) => {
            let mut members = state.storage.team_members(caller.org_id, team).await?;
            members.push(caller.id);
            Some(members)
        }
        (Role::Manager | Role::Rep, _) => Some(vec![caller.id]),
    })
}

pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<FactQuery>,
) -> ApiResult<Json<Vec<FactView>>> {
    let filter = FactFilter { kind: query.kind, rep_ids: authors(&state, &caller).await? };
    let facts = state.storage.facts(caller.org_id, filter).await?;
    let views = facts
        .into_iter()
        .map(|f| {
            let fact = serde_json::from_str(&f.body)
                .map_err(|source| StorageError::Corrupt { what: "fact", source })?;
            Ok(FactView {
                seq: f.seq,
                received_ms: f.received_ms,
                clock_skew_ms: f.clock_skew_ms,
                clock_flagged: f.clock_flagged,
                fact,
            })
        })
        .collect::<Result<_, StorageError>>()?;
    Ok(Json(views))
}
