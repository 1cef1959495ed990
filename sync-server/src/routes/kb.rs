//! Knowledge-base articles: reference data every member of the org receives. An article's
//! attachments name blobs the publisher has already uploaded whole through the blob routes
//! (`PUT /v1/blobs/{sha256}`); phones fetch them on demand from `GET
//! /v1/blobs/{sha256}/content`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::ids::{ArticleId, OrgId};
use fieldkit_domain::model::KbArticle;
use fieldkit_domain::protocol::{ErrorCode, Record, RecordKind, is_sha256_hex};
use serde::Deserialize;
use serde_json::Value;

use super::reference;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::state::AppState;

/// `POST /v1/kb` body.
#[derive(Debug, Deserialize)]
pub(super) struct NewArticle {
    title: String,
    body: String,
    #[serde(default)]
    tags: Vec<String>,
    /// Each `{name, sha256, size_bytes, content_type}`, the domain's `KbAttachment`. Kept as
    /// JSON here and parsed into the article's own field (the domain does not re-export
    /// the attachment type by name).
    #[serde(default)]
    attachments: Vec<Value>,
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
    let attachments = serde_json::from_value(Value::Array(new.attachments)).map_err(|e| {
        ApiError::new(ErrorCode::MalformedBody, format!("article attachments do not parse: {e}"))
    })?;
    let article =
        KbArticle { id: ArticleId::new(), title: new.title, body: new.body, tags: new.tags, attachments };
    check_attachments(&state, caller.org_id, &article).await?;
    state.storage.put_record(caller.org_id, Record::KbArticle(article.clone()), None).await?;
    Ok((StatusCode::CREATED, Json(article)))
}

/// `GET /v1/kb`: the knowledge-base articles, by title.
pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Json<Vec<KbArticle>>> {
    let mut articles = reference::list_of(&state, caller.org_id, RecordKind::KbArticle, |r| match r {
        Record::KbArticle(a) => Some(a),
        _ => None,
    })
    .await?;
    articles.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(Json(articles))
}

/// `DELETE /v1/kb/{id}`: withdraws an article from every phone.
pub(super) async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<ArticleId>,
) -> ApiResult<StatusCode> {
    reference::may_change(&caller, "articles")?;
    reference::remove(&state, &caller, RecordKind::KbArticle, id.0, "article").await
}

/// Every attachment is well formed and names a blob of the org that arrived whole, with the
/// size the article gives it.
async fn check_attachments(state: &AppState, org: OrgId, article: &KbArticle) -> ApiResult<()> {
    for attachment in &article.attachments {
        let sha256 = &attachment.sha256;
        if !is_sha256_hex(sha256) {
            return Err(ApiError::invalid(format!(
                "attachment sha256 {sha256:?} is not 64 lower-case hex characters"
            )));
        }
        if attachment.name.trim().is_empty() {
            return Err(ApiError::invalid(format!("attachment {sha256} has an empty name")));
        }
        if attachment.content_type.trim().is_empty() {
            return Err(ApiError::invalid(format!("attachment {sha256} has an empty content type")));
        }
        match state.storage.blob(org, sha256).await? {
            Some(status) if status.complete && status.size == attachment.size_bytes => {}
            Some(status) if status.complete => {
                return Err(ApiError::invalid(format!(
                    "attachment {sha256} is {} bytes, not the {} bytes the article gives",
                    status.size, attachment.size_bytes
                )));
            }
            _ => {
                return Err(ApiError::invalid(format!(
                    "attachment {sha256} has not been uploaded whole; upload it through /v1/blobs first"
                )));
            }
        }
    }
    Ok(())
}
