//! Voice notes: a rep's spoken memo about a visit or a customer, recorded in the field. The
//! record is an immutable fact; the audio travels as a blob named by its SHA-256. The phone
//! and the server check a note with the same rules ([`VoiceNote::validate`]).

use serde::{Deserialize, Serialize};

use crate::clock::EventTime;
use crate::ids::{CustomerId, FactId, UserId, VisitId};
use crate::protocol::is_sha256_hex;

/// The shortest recording accepted, in milliseconds.
pub const MIN_VOICE_NOTE_MS: u32 = 1;
/// The longest recording accepted, in milliseconds (10 minutes).
pub const MAX_VOICE_NOTE_MS: u32 = 10 * 60 * 1_000;
/// The largest audio file accepted, in bytes (16 MiB: 10 minutes at about 200 kbit/s).
pub const MAX_VOICE_NOTE_BYTES: u64 = 16 * 1024 * 1024;
/// The longest transcript accepted, in characters.
pub const MAX_TRANSCRIPT_CHARS: usize = 10_000;
/// The audio formats accepted, as MIME types (lower-case, no parameters).
pub const VOICE_NOTE_MIME_TYPES: [&str; 4] = ["audio/aac", "audio/mp4", "audio/mpeg", "audio/ogg"];

/// How much of a malformed value (MIME type, hash) an error message repeats.
const ECHO_CHARS: usize = 64;

/// A voice note (a fact): what was said, about which visit or customer, by whom, when, and
/// the hash of the audio file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VoiceNote {
    /// The fact id.
    pub id: FactId,
    /// The visit it was recorded in, if any.
    pub visit_id: Option<VisitId>,
    /// The customer it is about, if any (the visit's customer for a note in a visit).
    pub customer_id: Option<CustomerId>,
    /// The rep who recorded it.
    pub rep_id: UserId,
    /// SHA-256 of the audio file, lower-case hex: the blob's address.
    pub sha256: String,
    /// Size of the audio file in bytes.
    pub size_bytes: u64,
    /// Length of the recording in milliseconds.
    pub duration_ms: u32,
    /// The audio format, one of [`VOICE_NOTE_MIME_TYPES`].
    pub mime_type: String,
    /// What was said, as text, if the phone transcribed it.
    #[serde(default)]
    pub transcript: Option<String>,
    /// When it was recorded.
    pub at: EventTime,
}

/// Why a voice note is refused. Messages name the offending value, never the transcript.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoiceNoteError {
    /// The note names neither a visit nor a customer.
    #[error("voice note {0} names neither a visit nor a customer")]
    NoSubject(FactId),
    /// The recording is shorter than [`MIN_VOICE_NOTE_MS`] or longer than
    /// [`MAX_VOICE_NOTE_MS`].
    #[error("voice note duration {duration_ms} ms is outside {min_ms}..={max_ms} ms")]
    Duration {
        /// The duration given.
        duration_ms: u32,
        /// The shortest accepted.
        min_ms: u32,
        /// The longest accepted.
        max_ms: u32,
    },
    /// The audio file is empty or larger than [`MAX_VOICE_NOTE_BYTES`].
    #[error("voice note audio of {size_bytes} bytes is outside 1..={max_bytes} bytes")]
    Size {
        /// The size given.
        size_bytes: u64,
        /// The largest accepted.
        max_bytes: u64,
    },
    /// The audio format is not one of [`VOICE_NOTE_MIME_TYPES`].
    #[error("voice note audio type {0:?} is not one of audio/aac, audio/mp4, audio/mpeg, audio/ogg")]
    UnsupportedMimeType(String),
    /// The blob address is not a lower-case SHA-256 in hex.
    #[error("voice note audio hash {0:?} is not a lower-case sha-256")]
    BadSha256(String),
    /// The transcript is present but blank (leave it out instead).
    #[error("voice note transcript is blank; leave it out instead")]
    BlankTranscript,
    /// The transcript is longer than [`MAX_TRANSCRIPT_CHARS`].
    #[error("voice note transcript of {chars} characters is longer than the {max_chars} allowed")]
    TranscriptTooLong {
        /// The transcript's length in characters.
        chars: usize,
        /// The most accepted.
        max_chars: usize,
    },
}

impl VoiceNote {
    /// Checks the note's rules: a subject (visit or customer), a duration within
    /// [`MIN_VOICE_NOTE_MS`]..=[`MAX_VOICE_NOTE_MS`], a non-empty file within
    /// [`MAX_VOICE_NOTE_BYTES`], an accepted MIME type, a well-formed hash and a bounded,
    /// non-blank transcript. The first rule broken is reported.
    pub fn validate(&self) -> Result<(), VoiceNoteError> {
        if self.visit_id.is_none() && self.customer_id.is_none() {
            return Err(VoiceNoteError::NoSubject(self.id));
        }
        if !(MIN_VOICE_NOTE_MS..=MAX_VOICE_NOTE_MS).contains(&self.duration_ms) {
            return Err(VoiceNoteError::Duration {
                duration_ms: self.duration_ms,
                min_ms: MIN_VOICE_NOTE_MS,
                max_ms: MAX_VOICE_NOTE_MS,
            });
        }
        if !(1..=MAX_VOICE_NOTE_BYTES).contains(&self.size_bytes) {
            return Err(VoiceNoteError::Size {
                size_bytes: self.size_bytes,
                max_bytes: MAX_VOICE_NOTE_BYTES,
            });
        }
        if !VOICE_NOTE_MIME_TYPES.contains(&self.mime_type.as_str()) {
            return Err(VoiceNoteError::UnsupportedMimeType(
                self.mime_type.chars().take(ECHO_CHARS).collect(),
            ));
        }
        if !is_sha256_hex(&self.sha256) {
            return Err(VoiceNoteError::BadSha256(self.sha256.chars().take(ECHO_CHARS).collect()));
        }
        if let Some(text) = &self.transcript {
            if text.trim().is_empty() {
                return Err(VoiceNoteError::BlankTranscript);
            }
            let chars = text.chars().count();
            if chars > MAX_TRANSCRIPT_CHARS {
                return Err(VoiceNoteError::TranscriptTooLong { chars, max_chars: MAX_TRANSCRIPT_CHARS });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::clock::Hlc;

    fn note() -> VoiceNote {
        VoiceNote {
            id: FactId::from(Uuid::from_u128(1)),
            visit_id: Some(VisitId::from(Uuid::from_u128(2))),
            customer_id: None,
            rep_id: UserId::from(Uuid::from_u128(3)),
            sha256: "ab".repeat(32),
            size_bytes: 48_000,
            duration_ms: 12_500,
            mime_type: "audio/aac".into(),
            transcript: Some("货架缺货, 下周补".into()),
            at: EventTime {
                device_ms: 1_764_201_600_000,
                hlc: Hlc { wall_ms: 1_764_201_600_000, counter: 0, node: 1 },
                server_estimate_ms: None,
            },
        }
    }

    #[test]
    fn a_note_in_a_visit_with_an_accepted_format_is_valid() {
        assert_eq!(note().validate(), Ok(()));
        let about_customer =
            VoiceNote { visit_id: None, customer_id: Some(CustomerId::from(Uuid::from_u128(4))), ..note() };
        assert_eq!(about_customer.validate(), Ok(()));
        for mime in VOICE_NOTE_MIME_TYPES {
            assert_eq!(VoiceNote { mime_type: mime.into(), ..note() }.validate(), Ok(()), "{mime}");
        }
    }

    #[test]
    fn a_note_about_nothing_is_refused_naming_the_note() {
        let lost = VoiceNote { visit_id: None, customer_id: None, ..note() };
        let err = lost.validate().expect_err("no subject");
        assert_eq!(err, VoiceNoteError::NoSubject(lost.id));
        assert!(err.to_string().contains("00000000-0000-0000-0000-000000000001"), "{err}");
    }

    #[test]
    fn a_zero_or_over_long_duration_is_refused_naming_the_duration() {
        let zero = VoiceNote { duration_ms: 0, ..note() }.validate().expect_err("zero");
        assert!(matches!(zero, VoiceNoteError::Duration { duration_ms: 0, .. }));
        assert_eq!(zero.to_string(), "voice note duration 0 ms is outside 1..=600000 ms");
        assert_eq!(VoiceNote { duration_ms: MAX_VOICE_NOTE_MS, ..note() }.validate(), Ok(()));
        let long = VoiceNote { duration_ms: MAX_VOICE_NOTE_MS + 1, ..note() }.validate();
        assert!(matches!(long, Err(VoiceNoteError::Duration { duration_ms: 600_001, .. })));
    }

    #[test]
    fn an_empty_or_oversized_file_is_refused_naming_the_size() {
        let empty = VoiceNote { size_bytes: 0, ..note() }.validate();
        assert!(matches!(empty, Err(VoiceNoteError::Size { size_bytes: 0, .. })));
        assert_eq!(VoiceNote { size_bytes: MAX_VOICE_NOTE_BYTES, ..note() }.validate(), Ok(()));
        let big = VoiceNote { size_bytes: MAX_VOICE_NOTE_BYTES + 1, ..note() }.validate().expect_err("big");
        assert!(big.to_string().contains("16777217 bytes"), "{big}");
    }

    #[test]
    fn an_unknown_audio_type_is_refused_naming_the_type() {
        for mime in ["audio/wav", "AUDIO/AAC", "audio/ogg; codecs=opus", "video/mp4", ""] {
            let err = VoiceNote { mime_type: mime.into(), ..note() }.validate().expect_err(mime);
            assert_eq!(err, VoiceNoteError::UnsupportedMimeType(mime.into()));
        }
    }

    #[test]
    fn an_absurdly_long_audio_type_is_echoed_only_in_part() {
        let err = VoiceNote { mime_type: "a".repeat(10_000), ..note() }.validate().expect_err("unknown");
        assert!(err.to_string().len() < 200, "{err}");
    }

    #[test]
    fn a_malformed_hash_is_refused() {
        let upper = VoiceNote { sha256: "AB".repeat(32), ..note() }.validate();
        assert_eq!(upper, Err(VoiceNoteError::BadSha256("AB".repeat(32))));
        let path = VoiceNote { sha256: "../../etc/passwd".into(), ..note() }.validate();
        assert!(matches!(path, Err(VoiceNoteError::BadSha256(_))));
    }

    #[test]
    fn a_blank_or_over_long_transcript_is_refused_without_repeating_it() {
        let blank = VoiceNote { transcript: Some("  \n".into()), ..note() }.validate();
        assert_eq!(blank, Err(VoiceNoteError::BlankTranscript));
        let secret = "客户电话 13800 ".repeat(1_000);
        let err = VoiceNote { transcript: Some(secret.clone()), ..note() }.validate().expect_err("too long");
        assert_eq!(err, VoiceNoteError::TranscriptTooLong { chars: 11_000, max_chars: MAX_TRANSCRIPT_CHARS });
        assert!(!err.to_string().contains("138"), "{err}");
        let at_limit = "语".repeat(MAX_TRANSCRIPT_CHARS);
        assert_eq!(VoiceNote { transcript: Some(at_limit), ..note() }.validate(), Ok(()));
    }

    #[test]
    fn a_note_written_without_a_transcript_parses_with_none() -> Result<(), serde_json::Error> {
        let mut json = serde_json::to_value(note())?;
        json.as_object_mut().map(|o| o.remove("transcript"));
        let back: VoiceNote = serde_json::from_value(json)?;
        assert_eq!(back.transcript, None);
        Ok(())
    }
}
