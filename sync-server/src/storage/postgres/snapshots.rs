//! Generated summaries in PostgreSQL (`report_snapshots`, `summary_cursors`), and the
//! generator's two questions about the org's facts: the mark of a window, and the days of the
//! facts stored after its cursor.

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::{OrgId, TeamId, UserId};

use super::Tx;
use crate::storage::{FactChanges, FactMark, ReportSnapshot, SnapshotPeriod, StorageError, StorageResult};

const DAY_MS: i64 = 86_400_000;

/// Reads a `YYYY-MM-DD` text column.
fn date_col(row: &tokio_postgres::Row, idx: usize) -> StorageResult<CivilDate> {
    let text: String = row.try_get(idx)?;
    let mut parts = text.split('-').map(str::parse::<i64>);
    let parsed = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Ok(y)), Some(Ok(m)), Some(Ok(d)), None) => {
            match (i32::try_from(y), u8::try_from(m), u8::try_from(d)) {
                (Ok(y), Ok(m), Ok(d)) => CivilDate::new(y, m, d).ok(),
                _ => None,
            }
        }
        _ => None,
    };
    parsed.ok_or_else(|| StorageError::Unreadable(format!("date {text:?}")))
}

fn seq(value: Option<i64>) -> u64 {
    value.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

fn to_sql_u64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The count and highest sequence number of the org's facts whose event time falls in
/// `[from_ms, until_ms)`.
pub(super) async fn mark(tx: &Tx<'_>, org_id: OrgId, from_ms: i64, until_ms: i64) -> StorageResult<FactMark> {
    let statement = tx
        .prepare_cached(
            "SELECT COUNT(*), MAX(seq) FROM facts WHERE org_id = $1 AND event_ms >= $2 AND event_ms < $3",
        )
        .await?;
    let row = tx.query_one(&statement, &[&org_id.to_string(), &from_ms, &until_ms]).await?;
    let (count, max_seq): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
    Ok(FactMark { count: seq(Some(count)), max_seq: seq(max_seq) })
}

/// The org's highest fact sequence number, the local days (at `offset_minutes` east of UTC)
/// of the facts stored after `after_seq`, and the local day of its earliest fact.
pub(super) async fn changes(
    tx: &Tx<'_>,
    org_id: OrgId,
    after_seq: u64,
    offset_minutes: i32,
) -> StorageResult<FactChanges> {
    let org = org_id.to_string();
    let offset_ms = i64::from(offset_minutes) * 60_000;
    let statement = tx.prepare_cached("SELECT MAX(seq), MIN(event_ms) FROM facts WHERE org_id = $1").await?;
    let row = tx.query_one(&statement, &[&org]).await?;
    let (max_seq, first_event): (Option<i64>, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
    // The floor of the local time over a day, also before 1970 (`/` and `%` truncate).
    let statement = tx
        .prepare_cached(
            "SELECT DISTINCT ((event_ms + $3) - (((event_ms + $3) % $4) + $4) % $4) / $4 AS day
             FROM facts WHERE org_id = $1 AND seq > $2 AND event_ms IS NOT NULL ORDER BY day",
        )
        .await?;
    let days = tx
        .query(&statement, &[&org, &to_sql_u64(after_seq), &offset_ms, &DAY_MS])
        .await?
        .iter()
        .map(|row| row.try_get::<_, i64>(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FactChanges {
        max_seq: seq(max_seq).max(after_seq),
        days,
        first_day: first_event.map(|ms| (ms + offset_ms).div_euclid(DAY_MS)),
    })
}

/// The sequence number of the last fact the generator has seen (0: none yet).
pub(super) async fn cursor(tx: &Tx<'_>, org_id: OrgId) -> StorageResult<u64> {
    let statement = tx.prepare_cached("SELECT fact_seq FROM summary_cursors WHERE org_id = $1").await?;
    let value: Option<i64> =
        tx.query_opt(&statement, &[&org_id.to_string()]).await?.map(|row| row.try_get(0)).transpose()?;
    Ok(seq(value))
}

/// Moves the generator's cursor to `fact_seq`, never backwards, and records the run time.
pub(super) async fn set_cursor(tx: &Tx<'_>, org_id: OrgId, fact_seq: u64, now_ms: i64) -> StorageResult<()> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO summary_cursors (org_id, fact_seq, run_ms) VALUES ($1, $2, $3)
             ON CONFLICT (org_id) DO UPDATE SET
                 fact_seq = GREATEST(summary_cursors.fact_seq, excluded.fact_seq), run_ms = excluded.run_ms",
        )
        .await?;
    tx.execute(&statement, &[&org_id.to_string(), &to_sql_u64(fact_seq), &now_ms]).await?;
    Ok(())
}

/// Stores `snapshots`, each replacing the one of the same period, start and team.
pub(super) async fn put(tx: &Tx<'_>, org_id: OrgId, snapshots: Vec<ReportSnapshot>) -> StorageResult<()> {
    let org = org_id.to_string();
    let statement = tx
        .prepare_cached(
            "INSERT INTO report_snapshots (org_id, period, start_date, end_date, team_id, authors,
                                           utc_offset_minutes, facts_count, facts_max_seq, body, generated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (org_id, period, start_date, team_id) DO UPDATE SET
                 end_date = excluded.end_date, authors = excluded.authors,
                 utc_offset_minutes = excluded.utc_offset_minutes, facts_count = excluded.facts_count,
                 facts_max_seq = excluded.facts_max_seq, body = excluded.body,
                 generated_ms = excluded.generated_ms",
        )
        .await?;
    for s in snapshots {
        let authors = s
            .authors
            .as_ref()
            .map(|a| serde_json::to_string(a).expect("a list of user ids always serializes"));
        tx.execute(
            &statement,
            &[
                &org,
                &s.period.as_str(),
                &s.from.to_string(),
                &s.to.to_string(),
                &s.team_id.map(|t| t.to_string()).unwrap_or_default(),
                &authors,
                &i64::from(s.utc_offset_minutes),
                &to_sql_u64(s.mark.count),
                &to_sql_u64(s.mark.max_seq),
                &s.body,
                &s.generated_ms,
            ],
        )
        .await?;
    }
    Ok(())
}

/// The stored snapshots of `period` overlapping `from..=to`, by start date then team (the
/// whole org's first). Their `authors` are read back as stored.
pub(super) async fn list(
    tx: &Tx<'_>,
    org_id: OrgId,
    period: SnapshotPeriod,
    from: CivilDate,
    to: CivilDate,
) -> StorageResult<Vec<ReportSnapshot>> {
    let statement = tx
        .prepare_cached(
            "SELECT start_date, end_date, team_id, authors, utc_offset_minutes, facts_count, facts_max_seq,
                    body, generated_ms
             FROM report_snapshots
             WHERE org_id = $1 AND period = $2 AND start_date <= $4 AND end_date >= $3
             ORDER BY start_date COLLATE \"C\", team_id COLLATE \"C\"",
        )
        .await?;
    let rows = tx
        .query(&statement, &[&org_id.to_string(), &period.as_str(), &from.to_string(), &to.to_string()])
        .await?;
    rows.iter()
        .map(|row| {
            let team: String = row.try_get(2)?;
            let team_id = if team.is_empty() {
                None
            } else {
                Some(TeamId::from(
                    uuid::Uuid::parse_str(&team)
                        .map_err(|_| StorageError::Unreadable(format!("team id {team:?}")))?,
                ))
            };
            let offset: i64 = row.try_get(4)?;
            let authors: Option<String> = row.try_get(3)?;
            Ok(ReportSnapshot {
                period,
                from: date_col(row, 0)?,
                to: date_col(row, 1)?,
                team_id,
                authors: authors
                    .map(|a| serde_json::from_str::<Vec<UserId>>(&a))
                    .transpose()
                    .map_err(|source| StorageError::Corrupt { what: "snapshot authors", source })?,
                utc_offset_minutes: i32::try_from(offset)
                    .map_err(|_| StorageError::Unreadable(format!("utc offset {offset}")))?,
                mark: FactMark { count: seq(row.try_get(5)?), max_seq: seq(row.try_get(6)?) },
                body: row.try_get(7)?,
                generated_ms: row.try_get(8)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::storage::postgres::tests::fresh_storage;
    use fieldkit_domain::geo::CivilDate;
    use fieldkit_domain::ids::{TeamId, UserId};

    use crate::storage::{FactMark, ReportSnapshot, SnapshotPeriod, Storage};

    fn snapshot(from: CivilDate, team_id: Option<TeamId>, body: &str) -> ReportSnapshot {
        ReportSnapshot {
            period: SnapshotPeriod::Day,
            from,
            to: from,
            team_id,
            authors: team_id.map(|_| vec![UserId::new()]),
            utc_offset_minutes: 480,
            mark: FactMark { count: 3, max_seq: 9 },
            body: body.into(),
            generated_ms: 11,
        }
    }

    #[tokio::test]
    async fn the_summary_cursor_starts_at_zero_and_never_moves_back() -> anyhow::Result<()> {
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
        let org = storage.create_org("acme", "Acme").await?;
        assert_eq!(storage.summary_cursor(org.id).await?, 0);
        storage.set_summary_cursor(org.id, 7, 1).await?;
        storage.set_summary_cursor(org.id, 5, 2).await?;
        assert_eq!(storage.summary_cursor(org.id).await?, 7);
        Ok(())
    }

    #[tokio::test]
    async fn a_snapshot_replaces_the_one_of_its_period_day_and_team_and_lists_by_day_then_team()
    -> anyhow::Result<()> {
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
        let org = storage.create_org("acme", "Acme").await?;
        let (monday, tuesday) = (CivilDate::new(2025, 3, 3)?, CivilDate::new(2025, 3, 4)?);
        let team = TeamId::new();
        let teams = snapshot(monday, Some(team), "team");
        storage
            .put_report_snapshots(
                org.id,
                vec![snapshot(tuesday, None, "old"), teams.clone(), snapshot(monday, None, "org")],
            )
            .await?;
        storage.put_report_snapshots(org.id, vec![snapshot(tuesday, None, "new")]).await?;
        let listed = storage.report_snapshots(org.id, SnapshotPeriod::Day, monday, tuesday).await?;
        let bodies: Vec<&str> = listed.iter().map(|s| s.body.as_str()).collect();
        assert_eq!(bodies, ["org", "team", "new"]);
        assert_eq!(listed[1], teams);
        let later = storage.report_snapshots(org.id, SnapshotPeriod::Day, tuesday, tuesday).await?;
        assert_eq!(later.len(), 1);
        assert!(storage.report_snapshots(org.id, SnapshotPeriod::Week, monday, tuesday).await?.is_empty());
        Ok(())
    }
}
