//! Photo capture: the pipeline's font and settings, and photos taken from the camera's
//! JPEG (stamped, hashed, signed) or attached as they are.

use fieldkit_engine::QueuedBlob;
use fieldkit_engine::photo::{PhotoInput, PipelineConfig};

use super::{FieldKit, parse_opt_id};
use crate::error::FieldKitError;
use fieldkit_domain::model::LocationFix;
use fieldkit_domain::signing::Sha256Hash;

use crate::records::geo::checked_fix;
use crate::records::photos::{Photo, PhotoSettings};
use crate::runtime::guard;

#[uniffi::export]
impl FieldKit {
    /// Sets up photo capture, once after opening: `font` is the bytes of a font with CJK
    /// glyphs for the watermark (the system's Noto Sans CJK, or one the app ships;
    /// `font_index` picks a face in a `.ttc` collection, usually 0); `settings`
    /// `null`/`nil` uses the defaults.
    ///
    /// Fails with `InvalidInput` (`photo`) for a font that cannot be read or settings out of
    /// range.
    pub fn configure_photos(
        &self,
        font: Vec<u8>,
        font_index: u32,
        settings: Option<PhotoSettings>,
    ) -> Result<(), FieldKitError> {
        guard(|| {
            let mut config = PipelineConfig::default();
            if let Some(s) = settings {
                config.long_edge = s.long_edge;
                config.quality = s.quality;
                config.min_short_edge = s.min_short_edge;
            }
            Ok(self.inner.configure_photos(config, font, font_index)?)
        })
    }

    /// Takes a photo from the camera's JPEG (EXIF and all), in `visit_id` if given: turned
    /// upright, downscaled, watermarked (time, place, customer, rep and verification code),
    /// re-encoded without the camera's metadata, hashed, and signed with the device key;
    /// stored and queued for upload. Works offline.
    ///
    /// Fails with `InvalidInput` (`photo`) for bytes that are not a usable JPEG (nothing is
    /// stored), (`the photo pipeline`) before `configurePhotos`; `Unauthorized` when nobody
    /// is logged in.
    pub fn take_photo(
        &self,
        jpeg: Vec<u8>,
        visit_id: Option<String>,
        fix: Option<LocationFix>,
    ) -> Result<Photo, FieldKitError> {
        guard(|| {
            let visit_id = parse_opt_id("visit_id", visit_id.as_deref())?;
            let fix = fix.map(|f| checked_fix("location", f)).transpose()?;
            Ok(self.inner.take_photo(PhotoInput::Jpeg(&jpeg), visit_id, fix)?.into())
        })
    }

    /// Attaches a file as a photo without the pipeline (no watermark, no signed receipt:
    /// the server marks it unsigned), for pictures that did not come from the camera.
    pub fn attach_photo(
        &self,
        jpeg: Vec<u8>,
        visit_id: Option<String>,
        fix: Option<LocationFix>,
    ) -> Result<Photo, FieldKitError> {
        guard(|| {
            let visit_id = parse_opt_id("visit_id", visit_id.as_deref())?;
            let fix = fix.map(|f| checked_fix("location", f)).transpose()?;
            Ok(self.inner.record_photo(visit_id, &jpeg, fix)?.into())
        })
    }

    /// The file of a photo's stamped JPEG on this phone (the `sha256` of its record), to show
    /// it with the watermark as it was signed; `null`/`nil` when the file is not on this
    /// phone. Works offline. The file is the engine's: read it, never change or move it.
    ///
    /// Fails with `InvalidInput` (`sha256`) when `sha256` is not 64 hex digits.
    pub fn photo_file(&self, sha256: String) -> Result<Option<String>, FieldKitError> {
        guard(|| {
            let hash: Sha256Hash = sha256
                .parse()
                .map_err(|_| FieldKitError::invalid("sha256", "not 64 hex digits".to_owned()))?;
            Ok(self.inner.photo_file(&hash).map(|p| p.to_string_lossy().into_owned()))
        })
    }

    /// The upload state of a photo's bytes, by its `sha256`: `pending`, `done` or
    /// `parked`; `null`/`nil` if not queued.
    pub fn photo_upload_state(&self, sha256: String) -> Result<Option<String>, FieldKitError> {
        guard(|| Ok(self.inner.blob_state(&sha256)?))
    }

    /// The photos' and voice notes' bytes not yet on the server: waiting ones (oldest
    /// first), then the ones the server refused for good, each with how far its upload got,
    /// its failures in a row, when it goes next and why it last stopped. Works offline.
    ///
    /// Fails with `Storage` when the local database cannot be read.
    pub fn blob_queue(&self) -> Result<Vec<QueuedBlob>, FieldKitError> {
        guard(|| Ok(self.inner.blob_queue()?))
    }
}
