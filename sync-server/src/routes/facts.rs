//! `GET /v1/facts`: the facts the caller may see (a rep: their own; a manager: the org's).

use axum::Json;
use axum::extract::{Query, State};
use fieldkit_domain::model::Role;
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
    fact: serde_json::Value,
}

pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<FactQuery>,
) -> ApiResult<Json<Vec<FactView>>> {
    let rep_id = (caller.role == Role::Rep).then_some(caller.id);
    let facts = state
        .storage
        .facts(
            caller.org_id,
            FactFilter {
                kind: query.kind,
                rep_id,
            },
        )
        .await?;
    let views = facts
        .into_iter()
        .map(|f| {
            let fact = serde_json::from_str(&f.body)
                .map_err(|source| StorageError::Corrupt { what: "fact", source })?;
            Ok(FactView {
                seq: f.seq,
                received_ms: f.received_ms,
                fact,
            })
        })
        .collect::<Result<_, StorageError>>()?;
    Ok(Json(views))
}
