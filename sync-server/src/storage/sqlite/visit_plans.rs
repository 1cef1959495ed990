//! Generated visit plans in SQLite (`visit_plans`, migration 007), and the last check-in at
//! each customer that plans and coverage reports start from.

use std::collections::HashMap;

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::{CustomerId, OrgId};
use fieldkit_domain::model::Task;
use fieldkit_domain::protocol::RecordKind;
use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{feed, uuid_col};
use crate::storage::{DocResult, NewPlanEntry, PlanEntry, StorageError, StorageResult};

fn date_col(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<CivilDate> {
    let text: String = row.get(idx)?;
    let bad =
        || rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, format!("bad date {text:?}").into());
    let mut parts = text.split('-').map(str::parse::<i64>);
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Ok(y)), Some(Ok(m)), Some(Ok(d)), None) => CivilDate::new(
            i32::try_from(y).map_err(|_| bad())?,
            u8::try_from(m).map_err(|_| bad())?,
            u8::try_from(d).map_err(|_| bad())?,
        )
        .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

pub(super) fn entries(
    tx: &Transaction<'_>,
    org_id: OrgId,
    from: CivilDate,
    to: CivilDate,
) -> StorageResult<Vec<PlanEntry>> {
    let mut stmt = tx.prepare_cached(
        "SELECT p.customer_id, p.date, p.rep_id, p.task_id, p.interval_days, r.body
         FROM visit_plans p
         LEFT JOIN records r ON r.org_id = p.org_id AND r.kind = ?4 AND r.id = p.task_id AND r.deleted = 0
         WHERE p.org_id = ?1 AND p.date >= ?2 AND p.date <= ?3
         ORDER BY p.date, p.customer_id",
    )?;
    let rows = stmt.query_map(
        params![org_id.to_string(), from.to_string(), to.to_string(), RecordKind::Task.as_str()],
        |row| {
            let entry = PlanEntry {
                customer_id: uuid_col(row, 0)?.into(),
                date: date_col(row, 1)?,
                rep_id: uuid_col(row, 2)?.into(),
                task_id: uuid_col(row, 3)?.into(),
                interval_days: row.get(4)?,
                task: None,
            };
            Ok((entry, row.get::<_, Option<String>>(5)?))
        },
    )?;
    rows.map(|row| {
        let (mut entry, body) = row?;
        entry.task = body
            .map(|b| serde_json::from_str::<Task>(&b))
            .transpose()
            .map_err(|source| StorageError::Corrupt { what: "task", source })?;
        Ok(entry)
    })
    .collect()
}

pub(super) fn add(
    tx: &Transaction<'_>,
    org_id: OrgId,
    entries: Vec<NewPlanEntry>,
    now_ms: i64,
) -> StorageResult<Vec<bool>> {
    let org = org_id.to_string();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let (customer, date) = (entry.customer_id.to_string(), entry.date.to_string());
        let planned: Option<i64> = tx
            .prepare_cached("SELECT 1 FROM visit_plans WHERE org_id = ?1 AND customer_id = ?2 AND date = ?3")?
            .query_row(params![org, customer, date], |r| r.get(0))
            .optional()?;
        if planned.is_some() {
            out.push(false);
            continue;
        }
        let task_id = entry.task.id.to_string();
        let written =
            matches!(feed::update_docs(tx, org_id, vec![entry.task])?.pop(), Some(DocResult::Written(_)));
        if written {
            tx.prepare_cached(
                "INSERT INTO visit_plans (org_id, customer_id, date, rep_id, task_id, interval_days, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                org,
                customer,
                date,
                entry.rep_id.to_string(),
                task_id,
                entry.interval_days,
                now_ms
            ])?;
        }
        out.push(written);
    }
    Ok(out)
}

pub(super) fn last_check_ins(
    tx: &Transaction<'_>,
    org_id: OrgId,
    before_ms: i64,
) -> StorageResult<HashMap<CustomerId, i64>> {
    let mut stmt = tx.prepare_cached(
        "SELECT json_extract(body, '$.body.customer_id'), MAX(event_ms) FROM facts
         WHERE org_id = ?1 AND kind = 'check_in' AND event_ms < ?2
           AND COALESCE(json_extract(server_assessment, '$.verdict.outcome'), '') <> 'rejected'
         GROUP BY 1",
    )?;
    let rows = stmt.query_map(params![org_id.to_string(), before_ms], |row| {
        Ok((uuid_col(row, 0)?.into(), row.get::<_, i64>(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::ids::{CustomerId, TaskId, UserId};
    use fieldkit_domain::model::{Task, TaskKind, TaskStatus};
    use fieldkit_domain::protocol::RecordKind;

    use super::CivilDate;
    use crate::storage::{DocDecision, DocUpdate, NewPlanEntry, SqliteStorage, Storage};

    fn entry(customer: CustomerId, rep: UserId, date: CivilDate) -> (NewPlanEntry, TaskId) {
        let task = Task {
            id: TaskId::new(),
            kind: TaskKind::CustomerVisit,
            title: "Visit".into(),
            goal: String::new(),
            deadline_ms: None,
            place: None,
            customer_id: Some(customer),
            assignee_id: Some(rep),
            status: TaskStatus::Open,
            notes: String::new(),
        };
        let body = serde_json::to_string(&task).expect("tasks serialize");
        let update = DocUpdate {
            kind: RecordKind::Task,
            id: task.id.0,
            merge: Box::new(move |_| DocDecision::Write {
                state: vec![1],
                body,
                audience: Some(rep),
                held_by: None,
            }),
        };
        (NewPlanEntry { customer_id: customer, date, rep_id: rep, interval_days: 7, task: update }, task.id)
    }

    #[tokio::test]
    async fn a_visit_is_planned_once_per_customer_and_day_and_lists_its_task_until_deleted()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let storage = SqliteStorage::open(&dir.path().join("db.sqlite3"))?;
        let org = storage.create_org("acme", "Acme").await?;
        let (customer, rep) = (CustomerId::new(), UserId::new());
        let day = CivilDate::new(2025, 3, 3)?;
        let (first, task) = entry(customer, rep, day);
        let (again, _) = entry(customer, rep, day);
        let (next_week, _) = entry(customer, rep, CivilDate::new(2025, 3, 10)?);
        assert_eq!(
            storage.add_plan_entries(org.id, vec![first, again, next_week], 5).await?,
            [true, false, true]
        );

        let listed = storage.plan_entries(org.id, day, day).await?;
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].customer_id, listed[0].date, listed[0].task_id), (customer, day, task));
        assert_eq!(listed[0].task.as_ref().map(|t| t.id), Some(task));
        storage.delete_record(org.id, RecordKind::Task, task.0).await?;
        let listed = storage.plan_entries(org.id, day, CivilDate::new(2025, 3, 31)?).await?;
        assert_eq!(listed.len(), 2, "a deleted visit stays planned");
        assert!(listed[0].task.is_none() && listed[1].task.is_some());
        Ok(())
    }
}
