//! Voice notes: a rep's spoken memo in a visit or about a customer. The audio (a blob,
//! named by its SHA-256) and the note (a fact) are stored and queued in one transaction,
//! after the domain's rules ([`VoiceNote::validate`]) have passed; a refused note stores
//! nothing. The note syncs with the data, the audio on the blob queue. Offline.

use std::path::PathBuf;

use fieldkit_domain::ids::{CustomerId, FactId, VisitId};
use fieldkit_domain::model::VoiceNote;
use fieldkit_domain::protocol::Fact;
use sha2::{Digest, Sha256};

use super::FieldKit;
use crate::error::{Error, Result};
use crate::session;
use crate::store::{blobs as blob_rows, facts, outbox, visits};
use crate::time::now_ms;

impl FieldKit {
    /// Records a voice note: `audio` is the recorded file's bytes in `mime_type` (one of
    /// `audio/aac`, `audio/mp4`, `audio/mpeg`, `audio/ogg`), `duration_ms` long (1 ms to
    /// 10 minutes), with the phone's `transcript` if it made one (a blank one counts as
    /// none). The note is about `visit_id` (a visit on this phone) or `customer_id`, or
    /// both; in a visit, the customer defaults to the visit's.
    ///
    /// A note that breaks a rule is an [`Error::VoiceNote`] naming the value, an unknown or
    /// mismatched visit an [`Error::NotFound`]; either way nothing is stored or queued.
    pub fn record_voice_note(
        &self,
        visit_id: Option<VisitId>,
        customer_id: Option<CustomerId>,
        audio: &[u8],
        mime_type: &str,
        duration_ms: u32,
        transcript: Option<String>,
    ) -> Result<VoiceNote> {
        let rep = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        let transcript = transcript.filter(|t| !t.trim().is_empty());
        let sha256 = hex::encode(Sha256::digest(audio));
        let now = now_ms();
        let note = self.write_local(|tx, _| {
            let customer_id = match visit_id {
                Some(v) => {
                    let visit = visits::get(tx, v)?.ok_or_else(|| Error::NotFound(format!("visit {v}")))?;
                    match customer_id {
                        Some(c) if c != visit.customer_id => {
                            return Err(Error::NotFound(format!("visit {v} at customer {c}")));
                        }
                        _ => Some(visit.customer_id),
                    }
                }
                None => customer_id,
            };
            let note = VoiceNote {
                id: FactId::new(),
                visit_id,
                customer_id,
                rep_id: rep,
                sha256: sha256.clone(),
                size_bytes: audio.len() as u64,
                duration_ms,
                mime_type: mime_type.to_owned(),
                transcript,
                at: self.event_time(tx, now)?,
            };
            note.validate()?;
            let stored = self.blob_files.put(audio)?;
            debug_assert_eq!(stored, note.sha256, "blob files are named by their sha-256");
            blob_rows::enqueue(tx, &note.sha256, note.size_bytes, now)?;
            facts::insert(tx, &Fact::VoiceNote(note.clone()), visit_id.map(|v| v.to_string()), now)?;
            outbox::append(tx, outbox::KIND_FACT, &note.id.to_string(), now)?;
            Ok(note)
        })?;
        tracing::debug!(voice_note = %note.id, bytes = note.size_bytes, "voice note recorded");
        Ok(note)
    }

    /// The voice notes recorded on this phone in `visit_id`, oldest first. Offline.
    pub fn voice_notes(&self, visit_id: VisitId) -> Result<Vec<VoiceNote>> {
        let facts = self.store.read(|conn| facts::of_visit(conn, &visit_id.to_string()))?;
        Ok(facts
            .into_iter()
            .filter_map(|f| match f {
                Fact::VoiceNote(note) => Some(note),
                _ => None,
            })
            .collect())
    }

    /// The audio file of a voice note on this phone (its `sha256`), to play it; `None` when
    /// the file is not here. The file is the engine's: read it, never change or move it.
    #[must_use]
    pub fn voice_note_file(&self, sha256: &str) -> Option<PathBuf> {
        fieldkit_domain::protocol::is_sha256_hex(sha256).then(|| self.blob_files.file(sha256)).flatten()
    }
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::docs::visit;
    use fieldkit_domain::model::{MAX_VOICE_NOTE_MS, User, Visit, VoiceNoteError};
    use fieldkit_domain::protocol::RecordKind;
    use tempfile::TempDir;

    use super::*;
    use crate::documents;
    use crate::fieldkit::testkit::{log_in, open};

    /// A visit at a new customer, stored as a check-in would store it.
    fn a_visit(kit: &FieldKit, user: &User) -> Visit {
        let v = Visit {
            id: VisitId::new(),
            customer_id: CustomerId::new(),
            task_id: None,
            rep_id: user.id,
            check_in_id: FactId::new(),
            check_out_id: None,
            started_ms: now_ms(),
            ended_ms: None,
            completed_steps: Vec::new(),
            notes: String::new(),
        };
        kit.write_local(|tx, docs| {
            documents::create(tx, docs, RecordKind::Visit, v.id.0, now_ms(), |doc| visit::create(doc, &v))
        })
        .expect("visit stored");
        v
    }

    fn queued(kit: &FieldKit) -> (u64, u64) {
        let status = kit.sync_status().expect("status");
        (status.outbox.pending, status.blobs_pending)
    }

    #[test]
    fn a_voice_note_in_a_visit_stores_its_audio_and_queues_fact_and_blob() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        let user = log_in(&kit, None);
        let visit = a_visit(&kit, &user);
        let before = queued(&kit);
        let audio = b"not really aac, but bytes".to_vec();
        let note = kit
            .record_voice_note(Some(visit.id), None, &audio, "audio/aac", 4_200, Some("补货".into()))
            .expect("recorded");
        assert_eq!(note.customer_id, Some(visit.customer_id), "the visit's customer");
        assert_eq!(note.rep_id, user.id);
        assert_eq!(note.size_bytes, audio.len() as u64);
        assert_eq!(note.sha256, hex::encode(Sha256::digest(&audio)));
        assert_eq!(queued(&kit), (before.0 + 1, before.1 + 1), "one fact and one blob queued");
        assert_eq!(kit.blob_state(&note.sha256).expect("state").as_deref(), Some("pending"));
        assert_eq!(kit.is_synced(note.id).expect("known"), Some(false));
        let file = kit.voice_note_file(&note.sha256).expect("the audio is on this phone");
        assert_eq!(std::fs::read(file).expect("readable"), audio);
        assert_eq!(kit.voice_notes(visit.id).expect("listed"), vec![note]);
        assert!(kit.voice_notes(VisitId::new()).expect("listed").is_empty());
    }

    #[test]
    fn a_voice_note_about_a_customer_needs_no_visit_and_a_blank_transcript_is_left_out() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        log_in(&kit, None);
        let customer = CustomerId::new();
        let note = kit
            .record_voice_note(None, Some(customer), b"ogg", "audio/ogg", 1, Some(" \n".into()))
            .expect("recorded");
        assert_eq!((note.visit_id, note.customer_id, note.transcript), (None, Some(customer), None));
    }

    #[test]
    fn a_bad_voice_note_is_refused_with_a_typed_error_and_nothing_is_stored() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        let user = log_in(&kit, None);
        let visit = a_visit(&kit, &user);
        let before = queued(&kit);
        let audio = b"some audio".to_vec();
        let zero = kit.record_voice_note(Some(visit.id), None, &audio, "audio/aac", 0, None);
        assert!(
            matches!(zero, Err(Error::VoiceNote(VoiceNoteError::Duration { duration_ms: 0, .. }))),
            "{zero:?}"
        );
        let long =
            kit.record_voice_note(Some(visit.id), None, &audio, "audio/aac", MAX_VOICE_NOTE_MS + 1, None);
        assert!(matches!(long, Err(Error::VoiceNote(VoiceNoteError::Duration { .. }))), "{long:?}");
        let wav = kit.record_voice_note(Some(visit.id), None, &audio, "audio/wav", 1_000, None);
        assert!(
            matches!(&wav, Err(Error::VoiceNote(VoiceNoteError::UnsupportedMimeType(m))) if m == "audio/wav"),
            "{wav:?}"
        );
        let empty = kit.record_voice_note(Some(visit.id), None, &[], "audio/aac", 1_000, None);
        assert!(
            matches!(empty, Err(Error::VoiceNote(VoiceNoteError::Size { size_bytes: 0, .. }))),
            "{empty:?}"
        );
        let nowhere = kit.record_voice_note(None, None, &audio, "audio/aac", 1_000, None);
        assert!(matches!(nowhere, Err(Error::VoiceNote(VoiceNoteError::NoSubject(_)))), "{nowhere:?}");
        let unknown = kit.record_voice_note(Some(VisitId::new()), None, &audio, "audio/aac", 1_000, None);
        assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
        let elsewhere =
            kit.record_voice_note(Some(visit.id), Some(CustomerId::new()), &audio, "audio/aac", 1_000, None);
        assert!(matches!(elsewhere, Err(Error::NotFound(_))), "{elsewhere:?}");

        assert_eq!(queued(&kit), before, "nothing queued");
        assert!(kit.voice_notes(visit.id).expect("listed").is_empty());
        let sha256 = hex::encode(Sha256::digest(&audio));
        assert_eq!(kit.blob_state(&sha256).expect("state"), None);
        assert_eq!(kit.voice_note_file(&sha256), None, "no file kept");
    }

    #[test]
    fn a_voice_note_needs_a_logged_in_user() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        let result = kit.record_voice_note(None, Some(CustomerId::new()), b"x", "audio/aac", 1_000, None);
        assert!(matches!(result, Err(Error::NotLoggedIn)), "{result:?}");
    }

    #[test]
    fn only_a_well_formed_hash_names_a_voice_note_file() {
        let dir = TempDir::new().expect("temp dir");
        let kit = open(&dir);
        assert_eq!(kit.voice_note_file("../phone.db"), None);
    }
}
