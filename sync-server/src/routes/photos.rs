//! Photos and their proofs.
//!
//! - `GET /v1/photos` (`?visit=<id>`, `?customer=<id>`: by the visit's check-in): the photos
//!   the caller may see (the scoping of `GET /v1/facts`) with the server's checks.
//! - `POST /v1/photos/verify` (the JPEG bytes as the body) and `GET /v1/photos/verify?code=`
//!   (the code printed on the photo): whether the org holds that photo, verified and with
//!   its bytes checked. An unknown photo is an answer (`authentic: false`), not a 404. The
//!   answer names the photo only to a caller who may see it.
//! - `GET /v1/server-key` (no login): the public key that checks countersignatures.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use fieldkit_domain::clock::EventTime;
use fieldkit_domain::ids::{CustomerId, FactId, UserId, VisitId};
use fieldkit_domain::model::LocationFix;
use fieldkit_domain::protocol::ErrorCode;
use fieldkit_domain::signing::Sha256Hash;
use serde::{Deserialize, Serialize};

use super::facts::authors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Caller};
use crate::state::AppState;
use crate::storage::{PhotoQuery, PhotoReason, PhotoReuse, PhotoStatus, StoredPhoto};

/// Query string of `GET /v1/photos`.
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    visit: Option<VisitId>,
    customer: Option<CustomerId>,
}

/// One photo in the listing, with the server's check.
#[derive(Debug, Serialize)]
pub(super) struct PhotoView {
    fact_id: FactId,
    visit_id: Option<VisitId>,
    /// The visit's customer, from its check-in.
    customer_id: Option<CustomerId>,
    rep_id: UserId,
    sha256: String,
    /// The code printed on the photo (signed photos).
    verification_code: Option<String>,
    /// The fact's event time.
    taken_at: EventTime,
    fix: Option<LocationFix>,
    status: PhotoStatus,
    reasons: Vec<PhotoReason>,
    /// The bytes arrived with the size the receipt signs (their SHA-256 is the blob's name).
    bytes_verified: bool,
    /// The closest earlier photo of another visit showing the same picture.
    reuse: Option<PhotoReuse>,
    received_ms: i64,
    /// The receipt's hash (signed photos): with `received_ms`, what the server countersigned.
    receipt_hash: Option<Sha256Hash>,
    /// The server's Ed25519 countersignature, hex (verified photos).
    countersignature: Option<String>,
}

impl From<StoredPhoto> for PhotoView {
    fn from(p: StoredPhoto) -> Self {
        Self {
            fact_id: p.fact_id,
            visit_id: p.visit_id,
            customer_id: p.customer_id,
            rep_id: p.rep_id,
            sha256: p.sha256,
            verification_code: p.verification_code,
            taken_at: p.taken_at,
            fix: p.fix,
            status: p.status,
            reasons: p.reasons,
            bytes_verified: p.bytes_verified,
            reuse: p.reuse,
            received_ms: p.received_ms,
            receipt_hash: p.receipt_hash,
            countersignature: p.countersignature.map(hex::encode),
        }
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<PhotoView>>> {
    let query = PhotoQuery {
        rep_ids: authors(&state, &caller).await?,
        visit_id: query.visit,
        customer_id: query.customer,
        ..PhotoQuery::default()
    };
    let photos = state.storage.photos(caller.org_id, query).await?;
    Ok(Json(photos.into_iter().map(PhotoView::from).collect()))
}

/// The answer of the verify endpoints.
#[derive(Debug, Serialize)]
pub(super) struct VerifyAnswer {
    /// The photo's receipt is verified and its bytes arrived as signed.
    authentic: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The photo, if the caller may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    photo: Option<PhotoView>,
}

/// How good a candidate is: an authentic photo first, then a verified one, then the others.
fn rank(photo: &StoredPhoto) -> u8 {
    match (photo.status, photo.bytes_verified) {
        (PhotoStatus::Verified, true) => 0,
        (PhotoStatus::Verified, false) => 1,
        (PhotoStatus::Failed, _) => 2,
        (PhotoStatus::Unsigned, _) => 3,
    }
}

/// The answer for the org's photos matching the question (in sequence order; the best,
/// earliest on ties, answers), `not_found` when none does.
async fn answer(
    state: &AppState,
    caller: &fieldkit_domain::model::User,
    found: Vec<StoredPhoto>,
    not_found: &str,
) -> ApiResult<VerifyAnswer> {
    let Some(photo) = found.into_iter().min_by_key(rank) else {
        return Ok(VerifyAnswer { authentic: false, reason: Some(not_found.to_owned()), photo: None });
    };
    let reason = match (photo.status, photo.bytes_verified) {
        (PhotoStatus::Verified, true) => None,
        (PhotoStatus::Verified, false) => {
            Some("the photo's receipt is verified but its bytes have not reached the server yet".to_owned())
        }
        (PhotoStatus::Failed, _) => Some(format!(
            "the photo's receipt failed verification: {}",
            photo.reasons.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; ")
        )),
        (PhotoStatus::Unsigned, _) => Some("the photo carries no signed receipt".to_owned()),
    };
    let visible = authors(state, caller).await?.is_none_or(|ids| ids.contains(&photo.rep_id));
    Ok(VerifyAnswer { authentic: reason.is_none(), reason, photo: visible.then(|| PhotoView::from(photo)) })
}

pub(super) async fn verify_bytes(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<VerifyAnswer>> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("photo is larger than the {} bytes accepted", state.limits.max_blob_bytes),
            )
        } else {
            ApiError::new(ErrorCode::MalformedBody, rejection.body_text().to_lowercase())
        }
    })?;
    if bytes.is_empty() {
        return Err(ApiError::invalid("send the photo's bytes as the request body"));
    }
    let sha256 = Sha256Hash::of(&bytes).to_hex();
    let query = PhotoQuery { sha256: Some(sha256), ..PhotoQuery::default() };
    let found = state.storage.photos(caller.org_id, query).await?;
    Ok(Json(answer(&state, &caller, found, "no photo with this hash was recorded").await?))
}

/// Query string of `GET /v1/photos/verify`.
#[derive(Debug, Deserialize)]
pub(super) struct CodeQuery {
    code: String,
}

/// A code as typed: trimmed, upper-case, the dash put back if it was left out.
fn normalise_code(code: &str) -> String {
    let code = code.trim().to_uppercase();
    if code.len() == 8 && code.is_ascii() && !code.contains('-') {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code
    }
}

pub(super) async fn verify_code(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<CodeQuery>,
) -> ApiResult<Json<VerifyAnswer>> {
    let code = normalise_code(&query.code);
    if code.is_empty() {
        return Err(ApiError::invalid("verification code must not be empty"));
    }
    let query = PhotoQuery { verification_code: Some(code), ..PhotoQuery::default() };
    let found = state.storage.photos(caller.org_id, query).await?;
    Ok(Json(answer(&state, &caller, found, "no photo with this verification code was recorded").await?))
}

/// `GET /v1/server-key`.
#[derive(Debug, Serialize)]
pub(super) struct ServerKeyView {
    algorithm: &'static str,
    /// The Ed25519 public key, 64 hex digits.
    public_key: String,
    /// What a countersignature signs.
    countersigns: &'static str,
}

pub(super) async fn server_key(State(state): State<AppState>) -> Json<ServerKeyView> {
    Json(ServerKeyView {
        algorithm: "ed25519",
        public_key: state.server_key.public_key_hex(),
        countersigns: "the receipt's sha-256 hash (32 bytes) followed by received_ms (8 bytes, big-endian)",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_typed_in_lower_case_or_without_its_dash_is_found_all_the_same() {
        assert_eq!(normalise_code(" 7kq2-mx4p "), "7KQ2-MX4P");
        assert_eq!(normalise_code("7kq2mx4p"), "7KQ2-MX4P");
        assert_eq!(normalise_code("7KQ2-MX4P"), "7KQ2-MX4P");
    }
}
