//! Track points waiting to be batched into a track fact, and track retention.

use fieldkit_domain::model::{TrackPoint, WgsPoint};
use rusqlite::{Connection, Transaction, params};

use crate::error::{Error, Result};

/// Adds kept points (a point at an already-stored millisecond is ignored).
pub(crate) fn add_pending(tx: &Transaction<'_>, points: &[TrackPoint]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO track_pending (time_ms, lat, lng, accuracy_m) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (time_ms) DO NOTHING",
    )?;
    for p in points {
        stmt.execute(params![p.time_ms, p.point.lat(), p.point.lng(), p.accuracy_m])?;
    }
    Ok(())
}

/// The waiting points, oldest first.
pub(crate) fn pending(conn: &Connection) -> Result<Vec<TrackPoint>> {
    let mut stmt =
        conn.prepare_cached("SELECT time_ms, lat, lng, accuracy_m FROM track_pending ORDER BY time_ms")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, f64>(1)?, row.get::<_, f64>(2)?, row.get::<_, f64>(3)?))
    })?;
    rows.map(|row| {
        let (time_ms, lat, lng, accuracy_m) = row?;
        let point = WgsPoint::new(lat, lng)
            .map_err(|e| Error::Corrupt { what: "track point", detail: e.to_string() })?;
        Ok(TrackPoint { point, accuracy_m, time_ms })
    })
    .collect()
}

/// Forgets the waiting points (they are now in a fact).
pub(crate) fn clear_pending(tx: &Transaction<'_>) -> Result<()> {
    tx.execute("DELETE FROM track_pending", [])?;
    Ok(())
}

/// Deletes the track facts recorded before `cutoff_ms` that the server has acknowledged.
/// Unsynced batches stay until the server has them (it applies the same retention on
/// arrival): retention never loses a point the server has not seen.
pub(crate) fn prune(tx: &Transaction<'_>, cutoff_ms: i64) -> Result<usize> {
    Ok(tx.execute(
        "DELETE FROM facts WHERE kind = 'track' AND recorded_ms < ?1 AND synced_seq IS NOT NULL",
        [cutoff_ms],
    )?)
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::ids::{FactId, UserId};
    use fieldkit_domain::model::TrackBatch;
    use fieldkit_domain::protocol::Fact;

    use super::*;
    use crate::store::{Store, facts};

    fn batch(store: &Store, recorded_ms: i64, synced: bool) -> FactId {
        let point = WgsPoint::new(31.23, 121.47).expect("valid");
        let batch = TrackBatch {
            id: FactId::new(),
            rep_id: UserId::new(),
            points: vec![TrackPoint { point, accuracy_m: 5.0, time_ms: recorded_ms }],
        };
        store
            .write(|tx| {
                facts::insert(tx, &Fact::Track(batch.clone()), None, recorded_ms)?;
                if synced {
                    facts::mark_synced(tx, batch.id, Some(1))?;
                }
                Ok(())
            })
            .expect("stored");
        batch.id
    }

    #[test]
    fn retention_deletes_old_synced_batches_and_keeps_recent_and_unsynced_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("fieldkit.db")).expect("opens");
        let day = 86_400_000;
        let old_synced = batch(&store, 10 * day, true);
        let old_unsynced = batch(&store, 10 * day, false);
        let recent = batch(&store, 40 * day, true);

        let pruned = store.write(|tx| prune(tx, 40 * day - 30 * day + 1)).expect("pruned");
        assert_eq!(pruned, 1);
        let exists = |id: FactId| store.read(|c| facts::is_synced(c, id)).expect("read").is_some();
        assert!(!exists(old_synced), "past retention and on the server: deleted");
        assert!(exists(old_unsynced), "not on the server yet: kept until it is");
        assert!(exists(recent));
    }

    #[test]
    fn waiting_points_come_back_in_time_order_and_a_repeat_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("fieldkit.db")).expect("opens");
        let p = |t| TrackPoint {
            point: WgsPoint::new(31.23, 121.47).expect("valid"),
            accuracy_m: 5.0,
            time_ms: t,
        };
        store.write(|tx| add_pending(tx, &[p(3), p(1), p(2), p(1)])).expect("stored");
        let times: Vec<i64> = store.read(pending).expect("read").iter().map(|p| p.time_ms).collect();
        assert_eq!(times, [1, 2, 3]);
        store.write(clear_pending).expect("cleared");
        assert!(store.read(pending).expect("read").is_empty());
    }
}
