//! Voice-note scenarios against the real server: a note recorded offline syncs once, the
//! server lists its audio as missing until the bytes arrive whole and hash-checked, and a
//! bad note is refused on the phone (nothing queued) and on the server (for good).

use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::ids::{CustomerId, FactId};
use fieldkit_domain::model::{VoiceNote, VoiceNoteError};
use fieldkit_domain::protocol::Fact;
use fieldkit_e2e::harness::{Api, TestServer, incompressible, visit_once};
use fieldkit_engine::Error;
use fieldkit_server::Limits;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The blobs the server says stored facts still wait for, as the manager sees them.
async fn missing(api: &Api, manager_token: &str) -> anyhow::Result<Vec<Value>> {
    let (status, missing) = api.send("GET", "/v1/blobs/missing", Some(manager_token), None).await?;
    anyhow::ensure!(status.is_success(), "{status} {missing}");
    Ok(missing.as_array().cloned().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_note_recorded_offline_syncs_once_and_its_audio_is_missing_until_uploaded()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = TestServer::start_in(data.path(), "127.0.0.1:0", Limits::default()).await?;
    let org = server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;
    let api = Api::new(&server.url);

    // Offline: a visit and a 30-second memo in it.
    let visit = visit_once(&phone.kit, CustomerId::new())?;
    let sound = incompressible(180 * 1024, 7);
    let note = phone.kit.record_voice_note(
        Some(visit.visit_id),
        None,
        &sound,
        "audio/aac",
        30_000,
        Some("冰柜温度偏高, 下周复查".into()),
    )?;
    assert_eq!(note.customer_id, Some(visit.customer_id));
    assert_eq!(phone.kit.voice_notes(visit.visit_id)?, vec![note.clone()]);
    assert_eq!(phone.kit.is_synced(note.id)?, Some(false));
    let status = phone.kit.sync_status()?;
    assert_eq!((status.outbox.pending, status.blobs_pending), (4, 1), "check-in, check-out, visit, note");

    // The org's blob folder cannot be made (a file stands where it goes): the server
    // answers uploads with a server error, as a failing disk would, and the phone retries.
    let org_blobs = fieldkit_server::config::blob_dir(data.path()).join(org.org.id.to_string());
    std::fs::write(&org_blobs, b"in the way")?;

    let first = phone.kit.sync_now().await?;
    assert_eq!((first.pushed, first.rejected), (4, 0));
    assert_eq!((first.blobs.completed, first.blobs.failed), (0, 1), "{:?}", first.blobs);
    assert_eq!(phone.kit.is_synced(note.id)?, Some(true));
    let waiting = missing(&api, &org.manager_token).await?;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["sha256"], note.sha256.as_str());
    assert_eq!(waiting[0]["fact_id"], serde_json::json!(note.id));

    // A second sync sends no data again; the audio is still missing.
    let second = phone.kit.sync_now().await?;
    assert_eq!((second.pushed, second.already_stored, second.rejected), (0, 0, 0));
    assert_eq!(missing(&api, &org.manager_token).await?.len(), 1);

    // The disk is back: the next sync uploads the audio, which the server checks against
    // its hash before calling it complete.
    std::fs::remove_file(&org_blobs)?;
    let third = phone.kit.sync_now().await?;
    assert_eq!(third.pushed, 0);
    assert_eq!((third.blobs.completed, third.blobs.bytes_sent), (1, sound.len() as u64));
    assert_eq!(phone.kit.blob_state(&note.sha256)?.as_deref(), Some("done"));
    assert!(missing(&api, &org.manager_token).await?.is_empty(), "nothing missing once uploaded");
    let token = api.login("acme", "rep1", fieldkit_e2e::harness::PASSWORD).await?;
    let content = reqwest::Client::new()
        .get(format!("{}/v1/blobs/{}/content", server.url, note.sha256))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    assert_eq!(hex::encode(Sha256::digest(&content)), note.sha256);
    assert_eq!(content.as_ref(), sound.as_slice());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_voice_note_is_refused_on_the_phone_with_a_typed_error_and_nothing_is_queued()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;
    let customer = Some(CustomerId::new());
    let before = phone.kit.sync_status()?;
    let sound = incompressible(4 * 1024, 8);

    let silent = phone.kit.record_voice_note(None, customer, &sound, "audio/aac", 0, None);
    assert!(
        matches!(silent, Err(Error::VoiceNote(VoiceNoteError::Duration { duration_ms: 0, .. }))),
        "{silent:?}"
    );
    let wav = phone.kit.record_voice_note(None, customer, &sound, "audio/x-wav", 5_000, None);
    assert!(
        matches!(&wav, Err(Error::VoiceNote(VoiceNoteError::UnsupportedMimeType(m))) if m == "audio/x-wav"),
        "{wav:?}"
    );

    let after = phone.kit.sync_status()?;
    assert_eq!(
        (after.outbox.pending, after.blobs_pending),
        (before.outbox.pending, before.blobs_pending),
        "nothing queued"
    );
    let report = phone.kit.sync_now().await?;
    assert_eq!((report.pushed, report.blobs.bytes_sent), (0, 0));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_for_good_a_voice_note_that_breaks_a_rule_or_names_another_author()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", fieldkit_e2e::harness::PASSWORD).await?;
    let rep1 = org.reps[0].id;
    let note = |id: u128, duration_ms: u32, mime_type: &str, rep_id| {
        Fact::VoiceNote(VoiceNote {
            id: FactId::from(uuid::Uuid::from_u128(id)),
            visit_id: None,
            customer_id: Some(CustomerId::new()),
            rep_id,
            sha256: "5e".repeat(32),
            size_bytes: 1_024,
            duration_ms,
            mime_type: mime_type.into(),
            transcript: None,
            at: EventTime {
                device_ms: fieldkit_server::now_ms(),
                hlc: Hlc { wall_ms: fieldkit_server::now_ms().unsigned_abs(), counter: 0, node: 9 },
                server_estimate_ms: None,
            },
        })
    };
    let answer = api
        .push_facts(
            &token,
            vec![
                note(1, 0, "audio/aac", rep1),
                note(2, 5_000, "audio/flac", rep1),
                note(3, 5_000, "audio/aac", org.reps[1].id),
                note(4, 5_000, "audio/aac", rep1),
            ],
            &["stored", "rejected"],
        )
        .await?;
    let acks = answer["acks"].as_array().cloned().unwrap_or_default();
    let outcome = |i: usize| (acks[i]["outcome"].clone(), acks[i]["code"].clone());
    assert_eq!(outcome(0), ("rejected".into(), "invalid".into()), "{acks:?}");
    assert!(acks[0]["reason"].as_str().is_some_and(|r| r.contains("duration 0 ms")), "{acks:?}");
    assert_eq!(outcome(1), ("rejected".into(), "invalid".into()));
    assert!(acks[1]["reason"].as_str().is_some_and(|r| r.contains("\"audio/flac\"")), "{acks:?}");
    assert_eq!(outcome(2), ("rejected".into(), "wrong_author".into()));
    assert_eq!(acks[3]["outcome"], "stored");

    // Only the stored note waits for its audio.
    let waiting = missing(&api, &org.manager_token).await?;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["fact_id"], serde_json::json!(FactId::from(uuid::Uuid::from_u128(4))));
    Ok(())
}
