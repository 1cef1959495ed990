//! The tasks addressed to given reps in PostgreSQL, for smart assignment (`crate::assign`):
//! their load and the places of their planned stops.

use fieldkit_domain::ids::{OrgId, UserId};
use fieldkit_domain::model::Task;
use fieldkit_domain::protocol::RecordKind;

use super::Tx;
use crate::storage::{StorageError, StorageResult};

/// The live (not deleted) tasks addressed to each of `assignees`, whatever their status,
/// by assignee then task id.
pub(super) async fn assigned_tasks(
    tx: &Tx<'_>,
    org_id: OrgId,
    assignees: &[UserId],
) -> StorageResult<Vec<Task>> {
    let statement = tx
        .prepare_cached(
            "SELECT body FROM records
             WHERE org_id = $1 AND kind = $2 AND audience = $3 AND deleted = 0 ORDER BY id COLLATE \"C\"",
        )
        .await?;
    let org = org_id.to_string();
    let mut tasks = Vec::new();
    for assignee in assignees {
        let rows = tx.query(&statement, &[&org, &RecordKind::Task.as_str(), &assignee.to_string()]).await?;
        for row in rows {
            let body: String = row.try_get(0)?;
            let task = serde_json::from_str::<Task>(&body)
                .map_err(|source| StorageError::Corrupt { what: "task", source })?;
            tasks.push(task);
        }
    }
    Ok(tasks)
}
