//! `GET /healthz`: the process is up and its storage answers.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::state::AppState;

pub(super) async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.storage.org_by_slug("").await?;
    Ok(Json(json!({ "status": "ok" })))
}
