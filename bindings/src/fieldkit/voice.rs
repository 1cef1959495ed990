//! Voice notes: a spoken memo recorded in a visit or about a customer, stored and queued
//! offline (the audio on the blob queue), and the notes of a visit.

use fieldkit_domain::ids::VisitId;
use fieldkit_domain::model::VoiceNote;

use super::{FieldKit, parse_id, parse_opt_id};
use crate::error::FieldKitError;
use crate::runtime::guard;

#[uniffi::export]
impl FieldKit {
    /// Records a voice note from the recorder's file bytes: `mime_type` is one of
    /// `audio/aac`, `audio/mp4`, `audio/mpeg`, `audio/ogg`; `duration_ms` is 1 ms to 10
    /// minutes; `transcript` is the phone's speech-to-text, if any (at most 10 000
    /// characters). The note is about `visit_id` (a visit on this phone) or `customer_id`,
    /// or both; in a visit the customer defaults to the visit's. The note and its audio are
    /// stored and queued together; the audio uploads after the data sync. Works offline.
    ///
    /// Fails with `InvalidInput` (`voice_note`) naming the rule broken (no visit nor
    /// customer, a zero or too long duration, an empty or too large file, another audio
    /// type, a too long transcript), (`visit_id`/`customer_id`) for malformed ids; `NotFound`
    /// for a visit not on this phone or at another customer; `Unauthorized` when nobody is
    /// logged in. Nothing is stored when it fails.
    pub fn record_voice_note(
        &self,
        audio: Vec<u8>,
        mime_type: String,
        duration_ms: u32,
        visit_id: Option<String>,
        customer_id: Option<String>,
        transcript: Option<String>,
    ) -> Result<VoiceNote, FieldKitError> {
        guard(|| {
            let visit = parse_opt_id("visit_id", visit_id.as_deref())?;
            let customer = parse_opt_id("customer_id", customer_id.as_deref())?;
            Ok(self.inner.record_voice_note(visit, customer, &audio, &mime_type, duration_ms, transcript)?)
        })
    }

    /// The voice notes recorded on this phone in `visit_id`, oldest first. Works offline.
    ///
    /// Fails with `InvalidInput` (`visit_id`) for a malformed id.
    pub fn voice_notes(&self, visit_id: String) -> Result<Vec<VoiceNote>, FieldKitError> {
        guard(|| {
            let visit: VisitId = parse_id("visit_id", &visit_id)?;
            Ok(self.inner.voice_notes(visit)?)
        })
    }

    /// The audio file of a voice note on this phone (the `sha256` of its note), to play it;
    /// `null`/`nil` when the file is not on this phone. The file is the engine's: read it,
    /// never change or move it. Works offline.
    pub fn voice_note_file(&self, sha256: String) -> Option<String> {
        self.inner.voice_note_file(&sha256).map(|p| p.to_string_lossy().into_owned())
    }
}
