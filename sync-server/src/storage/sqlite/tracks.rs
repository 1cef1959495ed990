//! Reps' location points in SQLite, and their retention.

use fieldkit_domain::ids::{OrgId, UserId};
use fieldkit_domain::model::{TrackPoint, WgsPoint};
use rusqlite::{OptionalExtension, Transaction, params};

use super::uuid_col;
use crate::storage::{LocationPoint, PointSource, StorageResult, TrackPrune};

/// Writes `points` of `rep_id`. Must run inside the transaction storing their fact.
pub(super) fn insert(
    tx: &Transaction<'_>,
    org: &str,
    rep_id: UserId,
    points: &[LocationPoint],
) -> StorageResult<()> {
    if points.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO track_points (org_id, rep_id, time_ms, lat, lng, accuracy_m, source, fact_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let rep = rep_id.to_string();
    for p in points {
        stmt.execute(params![
            org,
            rep,
            p.point.time_ms,
            p.point.point.lat(),
            p.point.point.lng(),
            p.point.accuracy_m,
            p.source.as_str(),
            p.fact_id.to_string(),
        ])?;
    }
    Ok(())
}

const COLUMNS: &str = "time_ms, lat, lng, accuracy_m, source, fact_id";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LocationPoint> {
    let conversion = |idx: usize, message: String| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, message.into())
    };
    let (lat, lng): (f64, f64) = (row.get(1)?, row.get(2)?);
    let point = WgsPoint::new(lat, lng).map_err(|e| conversion(1, e.to_string()))?;
    let source: String = row.get(4)?;
    Ok(LocationPoint {
        point: TrackPoint { point, accuracy_m: row.get(3)?, time_ms: row.get(0)? },
        source: PointSource::parse(&source)
            .ok_or_else(|| conversion(4, format!("unknown point source {source:?}")))?,
        fact_id: uuid_col(row, 5)?.into(),
    })
}

pub(super) fn latest_before(
    tx: &Transaction<'_>,
    org_id: OrgId,
    rep_id: UserId,
    before_ms: i64,
) -> StorageResult<Option<LocationPoint>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM track_points WHERE org_id = ?1 AND rep_id = ?2 AND time_ms < ?3
             ORDER BY time_ms DESC, rowid DESC LIMIT 1"
        ))?
        .query_row(params![org_id.to_string(), rep_id.to_string(), before_ms], from_row)
        .optional()?)
}

pub(super) fn between(
    tx: &Transaction<'_>,
    org_id: OrgId,
    rep_id: UserId,
    (from_ms, until_ms): (i64, i64),
    source: Option<PointSource>,
) -> StorageResult<Vec<LocationPoint>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM track_points
         WHERE org_id = ?1 AND rep_id = ?2 AND time_ms >= ?3 AND time_ms < ?4 AND (?5 IS NULL OR source = ?5)
         ORDER BY time_ms, rowid"
    ))?;
    let rows = stmt.query_map(
        params![org_id.to_string(), rep_id.to_string(), from_ms, until_ms, source.map(PointSource::as_str)],
        from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn prune(tx: &Transaction<'_>, org_id: OrgId, before_ms: i64) -> StorageResult<TrackPrune> {
    let org = org_id.to_string();
    let points =
        tx.execute("DELETE FROM track_points WHERE org_id = ?1 AND time_ms < ?2", params![org, before_ms])?;
    // A batch goes once its latest point is past the cutoff (a batch without points, or
    // stored before event times were recorded, by when it arrived).
    let facts = tx.execute(
        "DELETE FROM facts WHERE org_id = ?1 AND kind = 'track' AND COALESCE(event_ms, received_ms) < ?2",
        params![org, before_ms],
    )?;
    Ok(TrackPrune { points, facts })
}
