//! Generated visit plans in PostgreSQL (`visit_plans`), and the last check-in at each
//! customer that plans and coverage reports start from.

use std::collections::HashMap;

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::{CustomerId, OrgId};
use fieldkit_domain::model::Task;
use fieldkit_domain::protocol::RecordKind;

use super::{Tx, feed, uuid_col};
use crate::storage::{DocResult, NewPlanEntry, PlanEntry, StorageError, StorageResult};

/// Reads a `YYYY-MM-DD` text column.
fn date_col(row: &tokio_postgres::Row, idx: usize) -> StorageResult<CivilDate> {
    let text: String = row.try_get(idx)?;
    let bad = || StorageError::Unreadable(format!("date {text:?}"));
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

/// The planned visits dated `from..=to`, by date then customer, each with its task as it
/// stands now (`None` once deleted).
pub(super) async fn entries(
    tx: &Tx<'_>,
    org_id: OrgId,
    from: CivilDate,
    to: CivilDate,
) -> StorageResult<Vec<PlanEntry>> {
    let statement = tx
        .prepare_cached(
            "SELECT p.customer_id, p.date, p.rep_id, p.task_id, p.interval_days, r.body
             FROM visit_plans p
             LEFT JOIN records r ON r.org_id = p.org_id AND r.kind = $4 AND r.id = p.task_id AND r.deleted = 0
             WHERE p.org_id = $1 AND p.date >= $2 AND p.date <= $3
             ORDER BY p.date COLLATE \"C\", p.customer_id COLLATE \"C\"",
        )
        .await?;
    let rows = tx
        .query(
            &statement,
            &[&org_id.to_string(), &from.to_string(), &to.to_string(), &RecordKind::Task.as_str()],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let interval: i64 = row.try_get(4)?;
            let body: Option<String> = row.try_get(5)?;
            Ok(PlanEntry {
                customer_id: uuid_col(row, 0)?.into(),
                date: date_col(row, 1)?,
                rep_id: uuid_col(row, 2)?.into(),
                task_id: uuid_col(row, 3)?.into(),
                interval_days: u32::try_from(interval)
                    .map_err(|_| StorageError::Unreadable(format!("interval of {interval} days")))?,
                task: body
                    .map(|b| serde_json::from_str::<Task>(&b))
                    .transpose()
                    .map_err(|source| StorageError::Corrupt { what: "task", source })?,
            })
        })
        .collect()
}

/// Plans each entry not yet planned for its customer and date, writing its task; `false`
/// for an entry already planned or whose task was not written.
pub(super) async fn add(
    tx: &Tx<'_>,
    org_id: OrgId,
    entries: Vec<NewPlanEntry>,
    now_ms: i64,
) -> StorageResult<Vec<bool>> {
    let org = org_id.to_string();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let (customer, date) = (entry.customer_id.to_string(), entry.date.to_string());
        let statement = tx
            .prepare_cached("SELECT 1 FROM visit_plans WHERE org_id = $1 AND customer_id = $2 AND date = $3")
            .await?;
        if tx.query_opt(&statement, &[&org, &customer, &date]).await?.is_some() {
            out.push(false);
            continue;
        }
        let task_id = entry.task.id.to_string();
        let written = matches!(
            feed::update_docs(tx, org_id, vec![entry.task]).await?.pop(),
            Some(DocResult::Written(_))
        );
        if written {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO visit_plans (org_id, customer_id, date, rep_id, task_id, interval_days, created_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .await?;
            tx.execute(
                &statement,
                &[
                    &org,
                    &customer,
                    &date,
                    &entry.rep_id.to_string(),
                    &task_id,
                    &i64::from(entry.interval_days),
                    &now_ms,
                ],
            )
            .await?;
        }
        out.push(written);
    }
    Ok(out)
}

/// The time of the last check-in before `before_ms` at each customer, leaving out check-ins
/// the server rejected.
pub(super) async fn last_check_ins(
    tx: &Tx<'_>,
    org_id: OrgId,
    before_ms: i64,
) -> StorageResult<HashMap<CustomerId, i64>> {
    let statement = tx
        .prepare_cached(
            "SELECT (body::jsonb #>> '{body,customer_id}'), MAX(event_ms) FROM facts
             WHERE org_id = $1 AND kind = 'check_in' AND event_ms < $2
               AND COALESCE(server_assessment::jsonb #>> '{verdict,outcome}', '') <> 'rejected'
             GROUP BY 1",
        )
        .await?;
    let rows = tx.query(&statement, &[&org_id.to_string(), &before_ms]).await?;
    rows.iter().map(|row| Ok((uuid_col(row, 0)?.into(), row.try_get::<_, i64>(1)?))).collect()
}

#[cfg(test)]
mod tests {
    use crate::storage::postgres::tests::fresh_storage;
    use fieldkit_domain::ids::{CustomerId, TaskId, UserId};
    use fieldkit_domain::model::{Task, TaskKind, TaskStatus};
    use fieldkit_domain::protocol::RecordKind;

    use super::CivilDate;
    use crate::storage::{DocDecision, DocUpdate, NewPlanEntry, Storage};

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
        let Some(storage) = fresh_storage().await? else { return Ok(()) };
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
