//! Generated summaries in SQLite (`report_snapshots`, `summary_cursors`, migration 010), and
//! the generator's two questions about the org's facts: the mark of a window, and the days
//! of the facts stored after its cursor.

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::{OrgId, TeamId, UserId};
use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Transaction, params};

use crate::storage::{FactChanges, FactMark, ReportSnapshot, SnapshotPeriod, StorageError, StorageResult};

const DAY_MS: i64 = 86_400_000;

fn conversion(idx: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, message.into())
}

fn date_col(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<CivilDate> {
    let text: String = row.get(idx)?;
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
    parsed.ok_or_else(|| conversion(idx, format!("bad date {text:?}")))
}

fn seq(value: Option<i64>) -> u64 {
    value.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

fn to_sql_u64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(super) fn mark(
    tx: &Transaction<'_>,
    org_id: OrgId,
    from_ms: i64,
    until_ms: i64,
) -> StorageResult<FactMark> {
    let mut stmt = tx.prepare_cached(
        "SELECT COUNT(*), MAX(seq) FROM facts WHERE org_id = ?1 AND event_ms >= ?2 AND event_ms < ?3",
    )?;
    let (count, max_seq): (i64, Option<i64>) =
        stmt.query_row(params![org_id.to_string(), from_ms, until_ms], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(FactMark { count: seq(Some(count)), max_seq: seq(max_seq) })
}

pub(super) fn changes(
    tx: &Transaction<'_>,
    org_id: OrgId,
    after_seq: u64,
    offset_minutes: i32,
) -> StorageResult<FactChanges> {
    let org = org_id.to_string();
    let offset_ms = i64::from(offset_minutes) * 60_000;
    let (max_seq, first_event): (Option<i64>, Option<i64>) = tx
        .prepare_cached("SELECT MAX(seq), MIN(event_ms) FROM facts WHERE org_id = ?1")?
        .query_row([&org], |row| Ok((row.get(0)?, row.get(1)?)))?;
    // The floor of the local time over a day, also before 1970 (SQLite's `/` truncates).
    let mut stmt = tx.prepare_cached(
        "SELECT DISTINCT ((event_ms + ?3) - (((event_ms + ?3) % ?4) + ?4) % ?4) / ?4 AS day
         FROM facts WHERE org_id = ?1 AND seq > ?2 AND event_ms IS NOT NULL ORDER BY day",
    )?;
    let days = stmt
        .query_map(params![org, to_sql_u64(after_seq), offset_ms, DAY_MS], |row| row.get::<_, i64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FactChanges {
        max_seq: seq(max_seq).max(after_seq),
        days,
        first_day: first_event.map(|ms| (ms + offset_ms).div_euclid(DAY_MS)),
    })
}

pub(super) fn cursor(tx: &Transaction<'_>, org_id: OrgId) -> StorageResult<u64> {
    let value: Option<i64> = tx
        .prepare_cached("SELECT fact_seq FROM summary_cursors WHERE org_id = ?1")?
        .query_row([org_id.to_string()], |row| row.get(0))
        .optional()?;
    Ok(seq(value))
}

pub(super) fn set_cursor(
    tx: &Transaction<'_>,
    org_id: OrgId,
    fact_seq: u64,
    now_ms: i64,
) -> StorageResult<()> {
    tx.prepare_cached(
        "INSERT INTO summary_cursors (org_id, fact_seq, run_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (org_id) DO UPDATE SET
             fact_seq = MAX(fact_seq, excluded.fact_seq), run_ms = excluded.run_ms",
    )?
    .execute(params![org_id.to_string(), to_sql_u64(fact_seq), now_ms])?;
    Ok(())
}

pub(super) fn put(tx: &Transaction<'_>, org_id: OrgId, snapshots: Vec<ReportSnapshot>) -> StorageResult<()> {
    let org = org_id.to_string();
    let mut stmt = tx.prepare_cached(
        "INSERT INTO report_snapshots (org_id, period, start_date, end_date, team_id, authors,
                                       utc_offset_minutes, facts_count, facts_max_seq, body, generated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (org_id, period, start_date, team_id) DO UPDATE SET
             end_date = excluded.end_date, authors = excluded.authors,
             utc_offset_minutes = excluded.utc_offset_minutes, facts_count = excluded.facts_count,
             facts_max_seq = excluded.facts_max_seq, body = excluded.body,
             generated_ms = excluded.generated_ms",
    )?;
    for s in snapshots {
        let authors = s
            .authors
            .as_ref()
            .map(|a| serde_json::to_string(a).expect("a list of user ids always serializes"));
        stmt.execute(params![
            org,
            s.period.as_str(),
            s.from.to_string(),
            s.to.to_string(),
            s.team_id.map(|t| t.to_string()).unwrap_or_default(),
            authors,
            s.utc_offset_minutes,
            to_sql_u64(s.mark.count),
            to_sql_u64(s.mark.max_seq),
            s.body,
            s.generated_ms,
        ])?;
    }
    Ok(())
}

pub(super) fn list(
    tx: &Transaction<'_>,
    org_id: OrgId,
    period: SnapshotPeriod,
    from: CivilDate,
    to: CivilDate,
) -> StorageResult<Vec<ReportSnapshot>> {
    let mut stmt = tx.prepare_cached(
        "SELECT start_date, end_date, team_id, authors, utc_offset_minutes, facts_count, facts_max_seq,
                body, generated_ms
         FROM report_snapshots
         WHERE org_id = ?1 AND period = ?2 AND start_date <= ?4 AND end_date >= ?3
         ORDER BY start_date, team_id",
    )?;
    let rows = stmt.query_map(
        params![org_id.to_string(), period.as_str(), from.to_string(), to.to_string()],
        |row| {
            let team: String = row.get(2)?;
            let team_id = if team.is_empty() {
                None
            } else {
                Some(TeamId::from(
                    uuid::Uuid::parse_str(&team).map_err(|e| conversion(2, format!("bad team id: {e}")))?,
                ))
            };
            let snapshot = ReportSnapshot {
                period,
                from: date_col(row, 0)?,
                to: date_col(row, 1)?,
                team_id,
                authors: None,
                utc_offset_minutes: row.get(4)?,
                mark: FactMark { count: seq(row.get(5)?), max_seq: seq(row.get(6)?) },
                body: row.get(7)?,
                generated_ms: row.get(8)?,
            };
            Ok((snapshot, row.get::<_, Option<String>>(3)?))
        },
    )?;
    rows.map(|row| {
        let (mut snapshot, authors) = row?;
        snapshot.authors = authors
            .map(|a| serde_json::from_str::<Vec<UserId>>(&a))
            .transpose()
            .map_err(|source| StorageError::Corrupt { what: "snapshot authors", source })?;
        Ok(snapshot)
    })
    .collect()
}
