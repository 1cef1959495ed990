//! Request extractors whose failures answer in the API's JSON error format.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use fieldkit_domain::model::User;
use fieldkit_domain::protocol::ErrorCode;
use serde::de::DeserializeOwned;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body; malformed or oversized bodies answer `malformed_body` / `payload_too_large`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_error(&rejection)),
        }
    }
}

fn json_error(rejection: &JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(ErrorCode::PayloadTooLarge, "request body is larger than the server accepts");
    }
    // serde's message names the offending field and position, never the value.
    ApiError::new(ErrorCode::MalformedBody, rejection.body_text().to_lowercase())
}

/// A query string; one that does not parse answers `malformed_body` (400) in the API's JSON
/// error format.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_error(&rejection)),
        }
    }
}

fn query_error(rejection: &QueryRejection) -> ApiError {
    // serde's message names the offending parameter, never a value beyond the one refused.
    ApiError::new(ErrorCode::MalformedBody, rejection.body_text().to_lowercase())
}

/// The authenticated caller, from the `Authorization: Bearer …` header.
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "missing bearer token"))?;
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            ApiError::new(ErrorCode::Unauthenticated, "authorization header is not a bearer token")
        })?;
        let user =
            state.storage.user_by_token(&auth::token_digest(token), crate::now_ms()).await?.ok_or_else(
                || ApiError::new(ErrorCode::Unauthenticated, "unknown or expired token; log in again"),
            )?;
        Ok(Self(user))
    }
}
