//! Knowledge-base articles: reference data every member of the org receives.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::ids::ArticleId;
use fieldkit_domain::model::KbArticle;
use fieldkit_domain::protocol::Record;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;

/// `POST /v1/kb` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewArticle {
    title: String,
    body: String,
    #[serde(default)]
    tags: Vec<String>,
}

pub(super) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewArticle>,
) -> ApiResult<(StatusCode, Json<KbArticle>)> {
    if !caller.role.can_dispatch() {
        return Err(ApiError::forbidden(format!("role {} may not publish articles", caller.role.as_str())));
    }
    if new.title.trim().is_empty() {
        return Err(ApiError::invalid("article title must not be empty"));
    }
    let article = KbArticle { id: ArticleId::new(), title: new.title, body: new.body, tags: new.tags };
    state.storage.put_record(caller.org_id, Record::KbArticle(article.clone()), None).await?;
    Ok((StatusCode::CREATED, Json(article)))
}
