//! `POST /v1/tasks/bulk`: many tasks in one step, each to a named rep, or shared out among
//! a department's reps by smart assignment. All or nothing: one bad task refuses the batch,
//! naming every bad task by its position; the tasks are stored in one transaction, so a
//! batch never half-lands.
//!
//! Sharing out is greedy, in the batch's order: each task goes to the best-ranked rep of
//! the department (see [`crate::assign`]), and counts in that rep's load and day before
//! the next task is ranked, so a batch spreads over the team instead of piling on one rep.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldkit_domain::ids::{TaskId, TeamId, UserId};
use serde::{Deserialize, Serialize};

use super::assign::{Roster, reps_in_scope};
use super::tasks::{self, NewTask};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;

/// The most tasks one batch may hold.
pub(super) const MAX_BATCH: usize = 500;
/// Bad tasks named in one refusal; the rest are counted.
const MAX_NAMED_PROBLEMS: usize = 20;

/// `POST /v1/tasks/bulk` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BulkDispatch {
    /// The tasks, as for `POST /v1/tasks`.
    tasks: Vec<NewTask>,
    /// Share the tasks without an assignee among this department's reps (and those of the
    /// departments under it); without it they stay unassigned.
    #[serde(default)]
    team_id: Option<TeamId>,
}

/// How a task of the batch got its assignee.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum AssignedBy {
    /// Named in the request.
    Request,
    /// Chosen by smart assignment.
    Smart,
    /// Left unassigned.
    Nobody,
}

/// One task of the batch as created.
#[derive(Debug, Serialize)]
struct Dispatched {
    id: TaskId,
    title: String,
    assignee_id: Option<UserId>,
    assigned_by: AssignedBy,
    /// Smart assignment: the winner's score and reasons.
    score: Option<f64>,
    reasons: Vec<String>,
}

/// `POST /v1/tasks/bulk` answer.
#[derive(Debug, Serialize)]
pub(super) struct BulkAnswer {
    created: usize,
    tasks: Vec<Dispatched>,
}

/// `POST /v1/tasks/bulk`.
pub(super) async fn bulk(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<BulkDispatch>,
) -> ApiResult<(StatusCode, Json<BulkAnswer>)> {
    tasks::require_dispatcher(&caller)?;
    let count = body.tasks.len();
    if !(1..=MAX_BATCH).contains(&count) {
        return Err(ApiError::invalid(format!("a batch holds 1 to {MAX_BATCH} tasks, not {count}")));
    }
    let mut roster = match body.team_id {
        Some(team) => {
            let reps = reps_in_scope(&state, &caller, Some(team)).await?;
            if reps.is_empty() {
                return Err(ApiError::invalid(format!("department {team} has no reps in your data scope")));
            }
            Some(Roster::gather(&state, &caller, reps).await?)
        }
        None => None,
    };

    let mut problems = Vec::new();
    let mut dispatched = Vec::with_capacity(count);
    let mut built = Vec::with_capacity(count);
    for (i, new) in body.tasks.into_iter().enumerate() {
        let mut task = match tasks::build(&state, &caller, new).await {
            Ok(task) => task,
            Err(e) => {
                problems.push(format!("task {i}: {}", e.message));
                continue;
            }
        };
        let mut row = Dispatched {
            id: task.id,
            title: task.title.clone(),
            assignee_id: task.assignee_id,
            assigned_by: if task.assignee_id.is_some() { AssignedBy::Request } else { AssignedBy::Nobody },
            score: None,
            reasons: Vec::new(),
        };
        if let Some(roster) = roster.as_mut() {
            if task.assignee_id.is_none() {
                match roster.rank(&task) {
                    Ok(ranked) => {
                        let best =
                            ranked.into_iter().next().expect("a roster of a department with reps ranks some");
                        task.assignee_id = Some(best.rep_id);
                        row.assignee_id = Some(best.rep_id);
                        row.assigned_by = AssignedBy::Smart;
                        row.score = Some(best.score);
                        row.reasons = best.reasons;
                    }
                    Err(_) => {
                        // The only reason a roster cannot rank a task.
                        problems.push(format!(
                            "task {i}: no place and no customer with a place to share it out by"
                        ));
                        continue;
                    }
                }
            }
            if let Some(rep) = task.assignee_id {
                roster.give(rep, &task);
            }
        }
        dispatched.push(row);
        built.push(task);
    }
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(MAX_NAMED_PROBLEMS);
        let mut message = problems.into_iter().take(MAX_NAMED_PROBLEMS).collect::<Vec<_>>().join("; ");
        if more > 0 {
            message.push_str(&format!("; and {more} more"));
        }
        return Err(ApiError::invalid(format!("no task was created: {message}")));
    }

    let updates = built.iter().map(|task| tasks::creation(&state, task)).collect::<ApiResult<Vec<_>>>()?;
    state.storage.update_docs(caller.org_id, updates).await?;
    tracing::info!(org = %caller.org_id, tasks = count, "tasks dispatched in bulk");
    Ok((StatusCode::CREATED, Json(BulkAnswer { created: count, tasks: dispatched })))
}
