//! The tasks addressed to given reps, for smart assignment (`crate::assign`): their load
//! and the places of their planned stops.

use fieldkit_domain::ids::{OrgId, UserId};
use fieldkit_domain::model::Task;
use fieldkit_domain::protocol::RecordKind;
use rusqlite::{Transaction, params};

use crate::storage::{StorageError, StorageResult};

/// The live (not deleted) tasks addressed to each of `assignees`, whatever their status,
/// by assignee then task id.
pub(super) fn assigned_tasks(
    tx: &Transaction<'_>,
    org_id: OrgId,
    assignees: &[UserId],
) -> StorageResult<Vec<Task>> {
    let mut stmt = tx.prepare_cached(
        "SELECT body FROM records
         WHERE org_id = ?1 AND kind = ?2 AND audience = ?3 AND deleted = 0 ORDER BY id",
    )?;
    let org = org_id.to_string();
    let mut tasks = Vec::new();
    for assignee in assignees {
        let rows = stmt.query_map(params![org, RecordKind::Task.as_str(), assignee.to_string()], |row| {
            row.get::<_, String>(0)
        })?;
        for body in rows {
            let task = serde_json::from_str::<Task>(&body?)
                .map_err(|source| StorageError::Corrupt { what: "task", source })?;
            tasks.push(task);
        }
    }
    Ok(tasks)
}
