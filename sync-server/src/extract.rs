//! Request extractors whose failures answer in the API's JSON error format.

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use fieldkit_domain::ids::DeviceId;
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

/// A raw body (a CSV file, a blob chunk); an oversized one answers `payload_too_large` (413)
/// and one that cannot be read `malformed_body` (400), in the API's JSON error format.
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Self(bytes)),
            Err(rejection) => Err(bytes_error(&rejection)),
        }
    }
}

fn bytes_error(rejection: &BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(ErrorCode::PayloadTooLarge, "request body is larger than the server accepts");
    }
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

/// Path parameters (`/v1/tasks/{id}`); a segment that does not parse as its type answers
/// `malformed_body` (400) in the API's JSON error format, naming the segment and its value.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_error(&rejection)),
        }
    }
}

/// The longest part of a refused segment quoted back to the client.
const QUOTED_SEGMENT_CHARS: usize = 64;

/// `value` as quoted in a message: at most [`QUOTED_SEGMENT_CHARS`] characters, then `…`.
fn quoted(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(QUOTED_SEGMENT_CHARS).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

fn path_error(rejection: &PathRejection) -> ApiError {
    let malformed = |message: String| ApiError::new(ErrorCode::MalformedBody, message);
    let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
        // The route and the handler disagree: a programming error, not the client's.
        tracing::error!(rejection = %rejection, "path parameters missing");
        return ApiError::new(ErrorCode::Internal, "internal error; try again later");
    };
    // The value is the client's own segment, quoted verbatim; serde's words are lower-cased.
    match failed.kind() {
        ErrorKind::DeserializeError { key, value, message } => malformed(format!(
            "path segment `{key}` has the value `{}`, which does not parse: {}",
            quoted(value),
            message.to_lowercase()
        )),
        ErrorKind::ParseErrorAtKey { key, value, expected_type } => malformed(format!(
            "path segment `{key}` has the value `{}`, which is not a {expected_type}",
            quoted(value)
        )),
        ErrorKind::ParseErrorAtIndex { index, value, expected_type } => malformed(format!(
            "path segment {} has the value `{}`, which is not a {expected_type}",
            index + 1,
            quoted(value)
        )),
        ErrorKind::ParseError { value, expected_type } => {
            malformed(format!("path segment `{}` is not a {expected_type}", quoted(value)))
        }
        ErrorKind::InvalidUtf8InPathParam { key } => {
            malformed(format!("path segment `{key}` is not valid utf-8 once percent-decoded"))
        }
        ErrorKind::Message(message) => {
            malformed(format!("the path does not parse: {}", message.to_lowercase()))
        }
        other => {
            // Wrong number of parameters or an unsupported type: the handler's mistake.
            tracing::error!(error = %other, "path parameters do not fit the handler");
            ApiError::new(ErrorCode::Internal, "internal error; try again later")
        }
    }
}

/// The authenticated caller, from the `Authorization: Bearer …` header. A token issued to a
/// revoked device is refused here: it may only upload, through `/v1/sync` ([`SyncCaller`]),
/// what its device made before the revocation.
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let SyncCaller { user, device } = SyncCaller::from_request_parts(parts, state).await?;
        if let Some(device) = device
            && state.storage.device_revocation(user.org_id, device).await?.is_some()
        {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                format!("device {device} was revoked; its token only uploads what it made before"),
            ));
        }
        Ok(Self(user))
    }
}

/// The caller of `/v1/sync`, with the device their token was issued to (at login; `None` for
/// a token issued before devices were recorded). Unlike [`Caller`] it lets a revoked
/// device's token in: the sync route stores what that device made before the revocation
/// and refuses the rest.
pub struct SyncCaller {
    /// The user.
    pub user: User,
    /// The token's device.
    pub device: Option<DeviceId>,
}

impl FromRequestParts<AppState> for SyncCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let digest = auth::token_digest(bearer(parts)?);
        let user = state.storage.user_by_token(&digest, crate::now_ms()).await?.ok_or_else(|| {
            ApiError::new(ErrorCode::Unauthenticated, "unknown or expired token; log in again")
        })?;
        Ok(Self { user, device: state.storage.token_device(&digest).await? })
    }
}

/// The caller of `POST /v1/token/refresh`: the holder of a known, unexpired token issued to
/// a device that is not revoked (else 401 `unauthenticated`), with that token's digest.
pub struct TokenHolder {
    /// The token's user.
    pub user: User,
    /// The device it was issued to.
    pub device: DeviceId,
    /// Its SHA-256, lower-case hex (as stored).
    pub token_sha256: String,
}

impl FromRequestParts<AppState> for TokenHolder {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token_sha256 = auth::token_digest(bearer(parts)?);
        let unknown = || ApiError::new(ErrorCode::Unauthenticated, "unknown or expired token; log in again");
        let user = state.storage.user_by_token(&token_sha256, crate::now_ms()).await?.ok_or_else(unknown)?;
        let device = state.storage.token_device(&token_sha256).await?.ok_or_else(unknown)?;
        if state.storage.device_revocation(user.org_id, device).await?.is_some() {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                format!("device {device} was revoked; its token cannot be refreshed"),
            ));
        }
        Ok(Self { user, device, token_sha256 })
    }
}

/// The bearer token of the `Authorization` header.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "missing bearer token"))?;
    header.strip_prefix("Bearer ").ok_or_else(|| {
        ApiError::new(ErrorCode::Unauthenticated, "authorization header is not a bearer token")
    })
}

#[cfg(test)]
mod tests {
    use super::{QUOTED_SEGMENT_CHARS, quoted};

    #[test]
    fn a_short_segment_is_quoted_whole() {
        assert_eq!(quoted("not-a-uuid"), "not-a-uuid");
        assert_eq!(quoted(&"é".repeat(QUOTED_SEGMENT_CHARS)), "é".repeat(QUOTED_SEGMENT_CHARS));
    }

    #[test]
    fn a_long_segment_is_cut_on_a_character_boundary_and_marked() {
        let long = "é".repeat(QUOTED_SEGMENT_CHARS + 1);
        assert_eq!(quoted(&long), format!("{}…", "é".repeat(QUOTED_SEGMENT_CHARS)));
    }
}
