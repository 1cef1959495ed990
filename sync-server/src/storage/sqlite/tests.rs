//! The SQLite backend's location storage: the upgrade that backfills points and event
//! times, points stored with their fact, and retention.

use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::ids::{CustomerId, FactId, UserId, VisitId};
use fieldkit_domain::model::{CheckIn, LocationFix, LocationProvider, TrackBatch, TrackPoint, WgsPoint};
use fieldkit_domain::protocol::Fact;
use rusqlite::params;

use super::*;
use crate::storage::{FactFilter, NewFact, ReceivedFact};

fn point(lat: f64, time_ms: i64) -> TrackPoint {
    TrackPoint { point: WgsPoint::new(lat, 121.47).expect("valid"), accuracy_m: 12.0, time_ms }
}

fn check_in(rep: UserId, at_ms: i64) -> CheckIn {
    CheckIn {
        id: FactId::new(),
        visit_id: VisitId::new(),
        customer_id: CustomerId::new(),
        task_id: None,
        rep_id: rep,
        fix: LocationFix {
            point: WgsPoint::new(31.3, 121.5).expect("valid"),
            accuracy_m: 9.0,
            fix_time_ms: at_ms - 1_000,
            provider: LocationProvider::Gnss,
            is_mock: false,
        },
        at: EventTime {
            device_ms: at_ms,
            hlc: Hlc { wall_ms: 0, counter: 0, node: 1 },
            server_estimate_ms: None,
        },
        note: None,
        assessment: None,
    }
}

#[tokio::test]
async fn an_upgraded_database_gets_the_points_and_event_times_of_its_stored_facts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("old.sqlite3");
    let org = OrgId::new();
    let rep = UserId::new();
    let track =
        TrackBatch { id: FactId::new(), rep_id: rep, points: vec![point(31.1, 1_000), point(31.2, 5_000)] };
    let visit = check_in(rep, 9_000);
    {
        // A database as the previous version left it.
        let mut conn = Connection::open(&path)?;
        Migrations::from_slice(&MIGRATIONS[..4]).to_latest(&mut conn)?;
        conn.execute("INSERT INTO orgs (id, slug, name) VALUES (?1, 'acme', 'Acme')", [org.to_string()])?;
        for (seq, fact) in [Fact::Track(track.clone()), Fact::CheckIn(visit.clone())].iter().enumerate() {
            conn.execute(
                "INSERT INTO facts (org_id, id, kind, rep_id, body, body_sha256, seq, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'x', ?6, 0)",
                params![
                    org.to_string(),
                    fact.id().to_string(),
                    fact.kind(),
                    rep.to_string(),
                    serde_json::to_string(fact)?,
                    i64::try_from(seq)? + 1
                ],
            )?;
        }
    }
    let storage = SqliteStorage::open(&path)?;
    let points = storage.location_points(org, rep, 0, i64::MAX, None).await?;
    let got: Vec<(i64, PointSource, FactId)> =
        points.iter().map(|p| (p.point.time_ms, p.source, p.fact_id)).collect();
    assert_eq!(
        got,
        vec![
            (1_000, PointSource::Track, track.id),
            (5_000, PointSource::Track, track.id),
            (8_000, PointSource::CheckIn, visit.id),
        ]
    );
    assert_eq!(points[1].point, track.points[1]);
    let facts = storage.facts(org, FactFilter::default()).await?;
    assert_eq!(facts.iter().map(|f| f.event_ms).collect::<Vec<_>>(), vec![Some(5_000), Some(9_000)]);
    assert!(facts.iter().all(|f| f.server_assessment.is_none()), "nothing judged before the upgrade");
    Ok(())
}

#[tokio::test]
async fn points_are_stored_only_with_a_new_fact_and_pruned_by_time() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let storage = SqliteStorage::open(&dir.path().join("db.sqlite3"))?;
    let org = storage.create_org("acme", "Acme").await?;
    let rep = UserId::new();
    let batch =
        TrackBatch { id: FactId::new(), rep_id: rep, points: vec![point(31.1, 1_000), point(31.2, 2_000)] };
    let received = || ReceivedFact {
        fact: NewFact {
            id: batch.id,
            kind: "track",
            rep_id: rep,
            body: "{}".into(),
            body_sha256: "a".into(),
            clock_skew_ms: None,
        },
        clock_flagged: false,
        event_ms: Some(2_000),
        server_assessment: None,
        points: batch
            .points
            .iter()
            .map(|p| LocationPoint { point: *p, source: PointSource::Track, fact_id: batch.id })
            .collect(),
        photo: None,
    };
    assert!(matches!(storage.store_facts(org.id, vec![received()], 0).await?[..], [FactInsert::Stored(_)]));
    assert_eq!(storage.store_facts(org.id, vec![received()], 0).await?, vec![FactInsert::AlreadyStored]);
    assert_eq!(storage.location_points(org.id, rep, 0, i64::MAX, None).await?.len(), 2, "not twice");

    let latest = storage.latest_point_before(org.id, rep, 2_000).await?.map(|p| p.point.time_ms);
    assert_eq!(latest, Some(1_000), "strictly before");
    assert_eq!(storage.location_points(org.id, rep, 0, i64::MAX, Some(PointSource::CheckIn)).await?.len(), 0);

    // A cutoff between the points: the early one goes, the batch stays (its latest point is
    // still within retention).
    assert_eq!(storage.prune_tracks(org.id, 1_500).await?, TrackPrune { points: 1, facts: 0 });
    assert_eq!(storage.prune_tracks(org.id, 2_001).await?, TrackPrune { points: 1, facts: 1 });
    assert!(storage.facts(org.id, FactFilter::default()).await?.is_empty());
    Ok(())
}

mod photos {
    use fieldkit_domain::clock::{EventTime, Hlc};
    use fieldkit_domain::ids::{DeviceId, FactId, OrgId, UserId};
    use fieldkit_domain::model::PhotoRecord;
    use fieldkit_domain::protocol::{BlobStatus, Fact};
    use fieldkit_domain::signing::{PerceptualHash, ReceiptSigner, Sha256Hash, SoftwareKey};
    use rusqlite::params;

    use super::super::*;
    use crate::provision::{self, UserSpec};
    use crate::storage::{
        KeyRegistration, NewDeviceKey, NewFact, PhotoCheck, PhotoQuery, PhotoStatus, ReceivedFact,
        SignedPhoto,
    };

    fn record(rep: UserId, bytes: &[u8]) -> PhotoRecord {
        PhotoRecord {
            id: FactId::new(),
            visit_id: None,
            rep_id: rep,
            sha256: Sha256Hash::of(bytes).to_hex(),
            size_bytes: bytes.len() as u64,
            fix: None,
            at: EventTime {
                device_ms: 5_000,
                hlc: Hlc { wall_ms: 5_000, counter: 0, node: 1 },
                server_estimate_ms: None,
            },
            receipt: None,
        }
    }

    #[tokio::test]
    async fn an_upgraded_database_lists_its_earlier_photos_as_unsigned_with_their_bytes_checked()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("old.sqlite3");
        let (org, rep) = (OrgId::new(), UserId::new());
        let arrived = record(rep, b"arrived");
        let waiting = record(rep, b"waiting");
        {
            let mut conn = Connection::open(&path)?;
            Migrations::from_slice(&MIGRATIONS[..5]).to_latest(&mut conn)?;
            conn.execute("INSERT INTO orgs (id, slug, name) VALUES (?1, 'acme', 'Acme')", [org.to_string()])?;
            for (seq, photo) in [&arrived, &waiting].into_iter().enumerate() {
                let fact = Fact::Photo(Box::new(photo.clone()));
                conn.execute(
                    "INSERT INTO facts (org_id, id, kind, rep_id, body, body_sha256, seq, received_ms, event_ms)
                     VALUES (?1, ?2, 'photo', ?3, ?4, 'x', ?5, 7, 5000)",
                    params![
                        org.to_string(),
                        photo.id.to_string(),
                        rep.to_string(),
                        serde_json::to_string(&fact)?,
                        i64::try_from(seq)? + 1
                    ],
                )?;
            }
            conn.execute(
                "INSERT INTO blobs (org_id, sha256, size, received, complete, updated_ms) VALUES (?1, ?2, 7, 7, 1, 9)",
                params![org.to_string(), arrived.sha256],
            )?;
        }
        let storage = SqliteStorage::open(&path)?;
        let photos = storage.photos(org, PhotoQuery::default()).await?;
        let got: Vec<_> = photos.iter().map(|p| (p.fact_id, p.status, p.bytes_verified)).collect();
        assert_eq!(
            got,
            vec![(arrived.id, PhotoStatus::Unsigned, true), (waiting.id, PhotoStatus::Unsigned, false)]
        );
        assert_eq!(photos[0].taken_at, arrived.at);
        Ok(())
    }

    #[tokio::test]
    async fn the_same_key_again_keeps_its_chain_and_a_new_key_starts_one() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let storage = SqliteStorage::open(&dir.path().join("db.sqlite3"))?;
        let org = provision::create_org(&storage, "acme", "Acme").await?;
        let spec = UserSpec {
            username: "rep1",
            display_name: "Rep",
            role: fieldkit_domain::model::Role::Rep,
            team_id: None,
            data_scope: None,
            password: "long enough password",
        };
        let rep = provision::add_user(&storage, org.id, spec).await?;
        let device = DeviceId::new();
        let (first, second) = (SoftwareKey::from_seed(&[1; 32]), SoftwareKey::from_seed(&[2; 32]));
        let register = |key: &SoftwareKey| NewDeviceKey {
            device_id: device,
            user_id: rep.id,
            key: key.public_key(),
            registered_ms: 1,
        };
        assert_eq!(storage.register_device_key(org.id, register(&first)).await?, KeyRegistration::New);

        // A verified photo moves the chain head.
        let photo = record(rep.id, b"jpeg");
        let head = Sha256Hash::of(b"receipt");
        let check = PhotoCheck {
            visit_id: None,
            sha256: photo.sha256.clone(),
            size_bytes: photo.size_bytes,
            status: PhotoStatus::Verified,
            reasons: Vec::new(),
            signed: Some(SignedPhoto {
                device_id: device,
                key_id: first.public_key().key_id(),
                receipt_hash: head,
                verification_code: "ABCD-EFGH".into(),
                dhash: PerceptualHash(u64::MAX),
            }),
            reuse: None,
            countersignature: Some(vec![7; 64]),
        };
        let received = ReceivedFact {
            fact: NewFact {
                id: photo.id,
                kind: "photo",
                rep_id: rep.id,
                body: serde_json::to_string(&Fact::Photo(Box::new(photo.clone())))?,
                body_sha256: "p".into(),
                clock_skew_ms: None,
            },
            clock_flagged: false,
            event_ms: Some(5_000),
            server_assessment: None,
            points: Vec::new(),
            photo: Some(check),
        };
        storage.store_facts(org.id, vec![received], 10).await?;
        assert_eq!(storage.device_key(org.id, device).await?.and_then(|k| k.chain_head), Some(head));
        assert!(storage.receipt_seen(org.id, head).await?);
        let hashes = storage.photo_hashes(org.id).await?;
        assert_eq!(
            hashes.iter().map(|h| h.dhash).collect::<Vec<_>>(),
            vec![PerceptualHash(u64::MAX)],
            "all 64 bits"
        );

        assert_eq!(storage.register_device_key(org.id, register(&first)).await?, KeyRegistration::Unchanged);
        assert_eq!(storage.device_key(org.id, device).await?.and_then(|k| k.chain_head), Some(head));
        assert_eq!(
            storage.register_device_key(org.id, register(&second)).await?,
            KeyRegistration::Replaced { previous: first.public_key().key_id() }
        );
        let key = storage.device_key(org.id, device).await?.expect("registered");
        assert_eq!((key.key, key.chain_head), (second.public_key(), None));

        // The blob arrives one byte short of what the receipt signs: the photo fails.
        let status = BlobStatus { sha256: photo.sha256.clone(), size: 3, received: 3, complete: true };
        assert_eq!(storage.complete_blob(org.id, status).await?, 1);
        let listed = storage.photos(org.id, PhotoQuery::default()).await?;
        assert_eq!((listed[0].status, listed[0].bytes_verified), (PhotoStatus::Failed, false));
        assert_eq!(
            listed[0].reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
            vec!["bytes_mismatch"]
        );
        Ok(())
    }
}

#[tokio::test]
async fn a_backup_is_a_database_with_the_same_data_and_never_overwrites_a_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let storage = SqliteStorage::open(&dir.path().join("live.sqlite3"))?;
    let org = storage.create_org("acme", "Acme").await?;
    let to = dir.path().join("backup.sqlite3");
    storage.backup_to(&to).await?;
    // Written after the backup: not in it.
    storage.create_org("later", "Later").await?;

    let restored = SqliteStorage::open(&to)?;
    assert_eq!(restored.org_by_slug("acme").await?.map(|o| o.id), Some(org.id));
    assert!(restored.org_by_slug("later").await?.is_none());
    let before = std::fs::read(&to)?;
    assert!(matches!(storage.backup_to(&to).await, Err(StorageError::AlreadyExists(_))));
    assert_eq!(std::fs::read(&to)?, before, "the existing file is left as it was");
    Ok(())
}
