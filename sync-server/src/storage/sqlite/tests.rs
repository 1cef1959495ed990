//! The SQLite backend's location storage: the upgrade that backfills points and event
//! times, points stored with their fact, and retention.

use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::ids::{CustomerId, FactId, UserId, VisitId};
use fieldkit_domain::model::{CheckIn, LocationFix, LocationProvider, TrackBatch, TrackPoint, WgsPoint};
use fieldkit_domain::protocol::Fact;
use rusqlite::params;

use super::*;
use crate::storage::{FactFilter, NewFact};

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
