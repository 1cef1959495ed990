//! Photos as the app sees them: the pipeline's settings and the record of a photo taken
//! (hash of the final JPEG, the verification code printed on it, whether it is signed).

use fieldkit_domain::ids::{FactId, VisitId};
use fieldkit_domain::model::PhotoRecord;

/// The photo pipeline's settings; `null`/`nil` in `configurePhotos` uses the defaults (long
/// edge 1920 px, quality 85, short edge at least 240 px).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct PhotoSettings {
    /// The long edge of the stored photo in pixels (64–16384); smaller pictures are not
    /// enlarged.
    pub long_edge: u32,
    /// JPEG quality, 1–100.
    pub quality: u8,
    /// Pictures whose short edge is below this are refused (not a camera photo).
    pub min_short_edge: u32,
}

/// A photo taken and stored on the phone (its bytes wait on the upload queue).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Photo {
    /// The photo record's id.
    pub id: FactId,
    /// The visit it belongs to, if any.
    pub visit_id: Option<VisitId>,
    /// SHA-256 of the stored JPEG, lower-case hex.
    pub sha256: String,
    /// Size of the stored JPEG in bytes.
    pub size_bytes: i64,
    /// Width of the stored JPEG in pixels (0 for an unsigned attachment).
    pub width: u32,
    /// Height of the stored JPEG in pixels (0 for an unsigned attachment).
    pub height: u32,
    /// The short code printed on the photo, by which anyone can check it with the server
    /// (empty for an unsigned attachment).
    pub verification_code: String,
    /// Whether the photo carries a receipt signed with the device key.
    pub signed: bool,
    /// Device time it was taken, Unix milliseconds.
    pub taken_ms: i64,
}

impl From<PhotoRecord> for Photo {
    fn from(p: PhotoRecord) -> Self {
        let receipt = p.receipt.as_ref().map(|r| &r.receipt);
        Self {
            id: p.id,
            visit_id: p.visit_id,
            size_bytes: i64::try_from(p.size_bytes).unwrap_or(i64::MAX),
            width: receipt.map_or(0, |r| r.width),
            height: receipt.map_or(0, |r| r.height),
            verification_code: receipt.map(|r| r.verification_code.clone()).unwrap_or_default(),
            signed: p.receipt.is_some(),
            taken_ms: p.at.device_ms,
            sha256: p.sha256,
        }
    }
}
