//! The tasks projection: tasks assigned to this user, queryable by status and deadline.

use fieldkit_domain::ids::{CustomerId, TaskId};
use fieldkit_domain::model::Task;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{parse_json, to_json};
use crate::error::Result;

/// Stores the task as the server last sent it.
pub(crate) fn upsert(tx: &Transaction<'_>, task: &Task) -> Result<()> {
    tx.execute(
        "INSERT INTO tasks (id, status, deadline_ms, customer_id, body) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, deadline_ms = excluded.deadline_ms,
             customer_id = excluded.customer_id, body = excluded.body",
        params![
            task.id.to_string(),
            task.status.as_str(),
            task.deadline_ms,
            task.customer_id.map(|c| c.to_string()),
            to_json(task)
        ],
    )?;
    Ok(())
}

/// Forgets a task (deleted, or reassigned to someone else).
pub(crate) fn remove(tx: &Transaction<'_>, id: Uuid) -> Result<()> {
    tx.execute("DELETE FROM tasks WHERE id = ?1", [id.to_string()])?;
    Ok(())
}

/// One task.
pub(crate) fn get(conn: &Connection, id: TaskId) -> Result<Option<Task>> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM tasks WHERE id = ?1")?
        .query_row([id.to_string()], |row| row.get(0))
        .optional()?;
    body.map(|b| parse_json("task", &b)).transpose()
}

/// The tasks at `customer_id`, soonest deadline first.
pub(crate) fn of_customer(conn: &Connection, customer_id: CustomerId) -> Result<Vec<Task>> {
    let mut stmt = conn.prepare_cached(
        "SELECT body FROM tasks WHERE customer_id = ?1 ORDER BY deadline_ms IS NULL, deadline_ms, id",
    )?;
    let bodies = stmt.query_map([customer_id.to_string()], |row| row.get::<_, String>(0))?;
    bodies.map(|b| parse_json("task", &b?)).collect()
}

/// All tasks, soonest deadline first (tasks without one last).
pub(crate) fn all(conn: &Connection) -> Result<Vec<Task>> {
    let mut stmt =
        conn.prepare_cached("SELECT body FROM tasks ORDER BY deadline_ms IS NULL, deadline_ms, id")?;
    let bodies = stmt.query_map([], |row| row.get::<_, String>(0))?;
    bodies.map(|b| parse_json("task", &b?)).collect()
}
