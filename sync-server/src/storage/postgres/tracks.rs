//! Reps' location points in PostgreSQL, and their retention.
//!
//! `track_points.id` (an identity column) breaks ties between points of the same time in
//! insertion order, as SQLite's rowid does.

use fieldkit_domain::ids::{OrgId, UserId};
use fieldkit_domain::model::{TrackPoint, WgsPoint};

use super::{Tx, uuid_col};
use crate::storage::{LocationPoint, PointSource, StorageError, StorageResult, TrackPrune};

/// Writes `points` of `rep_id`. Must run inside the transaction storing their fact.
pub(super) async fn insert(
    tx: &Tx<'_>,
    org: &str,
    rep_id: UserId,
    points: &[LocationPoint],
) -> StorageResult<()> {
    if points.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached(
            "INSERT INTO track_points (org_id, rep_id, time_ms, lat, lng, accuracy_m, source, fact_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    let rep = rep_id.to_string();
    for p in points {
        tx.execute(
            &statement,
            &[
                &org,
                &rep,
                &p.point.time_ms,
                &p.point.point.lat(),
                &p.point.point.lng(),
                &p.point.accuracy_m,
                &p.source.as_str(),
                &p.fact_id.to_string(),
            ],
        )
        .await?;
    }
    Ok(())
}

const COLUMNS: &str = "time_ms, lat, lng, accuracy_m, source, fact_id";

fn from_row(row: &tokio_postgres::Row) -> StorageResult<LocationPoint> {
    let (lat, lng): (f64, f64) = (row.try_get(1)?, row.try_get(2)?);
    let point =
        WgsPoint::new(lat, lng).map_err(|e| StorageError::Unreadable(format!("track point ({e})")))?;
    let source: String = row.try_get(4)?;
    Ok(LocationPoint {
        point: TrackPoint { point, accuracy_m: row.try_get(3)?, time_ms: row.try_get(0)? },
        source: PointSource::parse(&source)
            .ok_or_else(|| StorageError::Unreadable(format!("point source {source:?}")))?,
        fact_id: uuid_col(row, 5)?.into(),
    })
}

pub(super) async fn latest_before(
    tx: &Tx<'_>,
    org_id: OrgId,
    rep_id: UserId,
    before_ms: i64,
) -> StorageResult<Option<LocationPoint>> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM track_points WHERE org_id = $1 AND rep_id = $2 AND time_ms < $3
             ORDER BY time_ms DESC, id DESC LIMIT 1"
        ))
        .await?;
    let row = tx.query_opt(&statement, &[&org_id.to_string(), &rep_id.to_string(), &before_ms]).await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn between(
    tx: &Tx<'_>,
    org_id: OrgId,
    rep_id: UserId,
    (from_ms, until_ms): (i64, i64),
    source: Option<PointSource>,
) -> StorageResult<Vec<LocationPoint>> {
    // Only the criteria given go into the SQL: one plan per shape, each a plain range scan of
    // the rep's points (SQLite's `(?5 IS NULL OR source = ?5)` in two statements).
    let by_source = if source.is_some() { "AND source = $5" } else { "" };
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM track_points
             WHERE org_id = $1 AND rep_id = $2 AND time_ms >= $3 AND time_ms < $4 {by_source}
             ORDER BY time_ms, id"
        ))
        .await?;
    let (org, rep) = (org_id.to_string(), rep_id.to_string());
    let rows = match source {
        Some(source) => tx.query(&statement, &[&org, &rep, &from_ms, &until_ms, &source.as_str()]).await?,
        None => tx.query(&statement, &[&org, &rep, &from_ms, &until_ms]).await?,
    };
    rows.iter().map(from_row).collect()
}

pub(super) async fn prune(tx: &Tx<'_>, org_id: OrgId, before_ms: i64) -> StorageResult<TrackPrune> {
    let org = org_id.to_string();
    let points = tx
        .execute("DELETE FROM track_points WHERE org_id = $1 AND time_ms < $2", &[&org, &before_ms])
        .await?;
    // A batch goes once its latest point is past the cutoff (a batch without points, or
    // stored before event times were recorded, by when it arrived).
    let facts = tx
        .execute(
            "DELETE FROM facts WHERE org_id = $1 AND kind = 'track' AND COALESCE(event_ms, received_ms) < $2",
            &[&org, &before_ms],
        )
        .await?;
    Ok(TrackPrune { points: to_usize(points), facts: to_usize(facts) })
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
