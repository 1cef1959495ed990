//! Smart assignment over HTTP: `GET /v1/tasks/{id}/candidates?limit=5` ranks the reps who
//! could take a task, with their scores and reasons; `POST /v1/tasks/{id}/auto-assign`
//! gives the task to the best of them through the same path as `PATCH /v1/tasks/{id}`, so
//! it leaves the old assignee's phone and reaches the new one through the feed.
//!
//! Who may ask: a manager, ranking the reps of their own team; an admin, ranking every rep
//! of the org; a rep may not. This handler only gathers what is known of each rep; the
//! weighing is [`crate::assign`]:
//!
//! - **position**: the rep's latest location point if it was taken today within the org's
//!   working hours (`settings.working_hours`, in its time zone), else the centroid of the
//!   customers they own, else unknown;
//! - **load**: their open and in-progress tasks due today (local date) or without deadline,
//!   the task ranked excluded;
//! - **grade fit**: they own the task's customer, or other customers of its grade;
//! - **insertion**: the road metres the task adds to their latest day plan of today
//!   (offline driving model), or from their position when they have no plan.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use fieldkit_domain::docs::{self, task as task_doc};
use fieldkit_domain::ids::{CustomerId, TaskId, UserId};
use fieldkit_domain::model::{Customer, DayPlan, Role, Task, TaskStatus, User, WgsPoint};
use fieldkit_domain::protocol::{ErrorCode, Fact, RecordKind};
use fieldkit_domain::route::{OfflineModel, TravelMode};
use serde::{Deserialize, Serialize};

use super::tasks;
use crate::assign::{self, Candidate, Position, RepFacts, Target};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::state::AppState;
use crate::storage::{FactFilter, FactQuery, StorageError};

/// Candidates listed when the request does not say.
const DEFAULT_LIMIT: usize = 5;
/// The most candidates one answer lists.
const MAX_LIMIT: usize = 50;

/// Query string of `GET /v1/tasks/{id}/candidates`.
#[derive(Debug, Deserialize)]
pub(super) struct CandidatesQuery {
    limit: Option<usize>,
}

/// One ranked rep.
#[derive(Debug, Serialize)]
pub(super) struct CandidateView {
    rep_id: UserId,
    name: String,
    /// Points, higher is better (see `crate::assign` for the weights).
    score: f64,
    /// Straight-line metres from the rep's position to the task (`None`: unknown).
    distance_m: Option<u64>,
    open_tasks: u32,
    /// Road metres the task adds to the rep's day (`None`: unknown).
    insertion_m: Option<u64>,
    reasons: Vec<String>,
}

impl From<Candidate> for CandidateView {
    fn from(c: Candidate) -> Self {
        Self {
            rep_id: c.rep_id,
            name: c.name,
            score: c.score,
            distance_m: c.distance_m,
            open_tasks: c.open_tasks,
            insertion_m: c.insertion_m,
            reasons: c.reasons,
        }
    }
}

/// Answer of `POST /v1/tasks/{id}/auto-assign`.
#[derive(Debug, Serialize)]
pub(super) struct AutoAssignAnswer {
    assignee_id: UserId,
    candidates: Vec<CandidateView>,
}

fn internal() -> ApiError {
    ApiError::new(ErrorCode::Internal, "internal error; try again later")
}

/// The reps `caller` may assign to: their team's reps (a manager) or every rep (an admin).
fn in_scope(caller: &User, users: Vec<User>) -> ApiResult<Vec<User>> {
    let team = match caller.role {
        Role::Admin => None,
        Role::Manager => Some(caller.team_id),
        Role::Rep => {
            return Err(ApiError::forbidden(format!("role {} may not assign tasks", caller.role.as_str())));
        }
    };
    Ok(users
        .into_iter()
        .filter(|u| u.role == Role::Rep)
        .filter(|u| team.is_none_or(|t| t.is_some() && t == u.team_id))
        .collect())
}

/// The task as stored.
async fn load_task(state: &AppState, caller: &User, id: TaskId) -> ApiResult<Task> {
    let stored = state
        .storage
        .doc(caller.org_id, RecordKind::Task, id.0)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("task {id} not found")))?;
    let doc = docs::load(&stored.state, state.actor.clone()).map_err(|e| {
        tracing::error!(task = %id, error = %e, "stored task does not load");
        internal()
    })?;
    task_doc::project(&doc).map_err(|e| {
        tracing::error!(task = %id, error = %e, "stored task does not project");
        internal()
    })
}

/// Ranks the reps in `caller`'s scope for task `id`, best first.
async fn ranked(state: &AppState, caller: &User, id: TaskId) -> ApiResult<(Task, Vec<Candidate>)> {
    let reps = in_scope(caller, state.storage.users(caller.org_id).await?)?;
    let task = load_task(state, caller, id).await?;
    let customers: HashMap<CustomerId, Customer> =
        state.storage.customers(caller.org_id).await?.into_iter().map(|c| (c.id, c)).collect();
    let customer = task.customer_id.and_then(|c| customers.get(&c));
    let point = task.place.as_ref().map(|p| p.point).or_else(|| customer.map(|c| c.place.point)).ok_or_else(
        || ApiError::invalid(format!("task {id} has no place and no customer with a place to rank reps by")),
    )?;
    let target = Target { point, grade: customer.map(|c| c.grade) };

    let now = crate::now_ms();
    let settings = state.storage.org_settings(caller.org_id).await?;
    let hours = &settings.working_hours;
    let (today, _) = hours.offset.local(now);
    let rep_ids: Vec<UserId> = reps.iter().map(|r| r.id).collect();

    let assigned = state.storage.assigned_tasks(caller.org_id, rep_ids.clone()).await?;
    let task_points: HashMap<TaskId, WgsPoint> =
        assigned.iter().filter_map(|t| t.place.as_ref().map(|p| (t.id, p.point))).collect();
    let mut load: HashMap<UserId, u32> = HashMap::new();
    for t in &assigned {
        let open = matches!(t.status, TaskStatus::Open | TaskStatus::InProgress);
        let today_or_undated = t.deadline_ms.is_none_or(|d| hours.offset.local(d).0 == today);
        if let Some(assignee) = t.assignee_id
            && t.id != id
            && open
            && today_or_undated
        {
            *load.entry(assignee).or_default() += 1;
        }
    }

    let query = FactQuery {
        filter: FactFilter { kind: Some("day_plan".to_owned()), rep_ids: Some(rep_ids) },
        ..FactQuery::default()
    };
    let mut plans: HashMap<UserId, DayPlan> = HashMap::new();
    for fact in state.storage.select_facts(caller.org_id, query).await? {
        let parsed: Fact = serde_json::from_str(&fact.body)
            .map_err(|source| StorageError::Corrupt { what: "fact", source })?;
        if let Fact::DayPlan(plan) = parsed
            && plan.date == today
        {
            // Sequence order: the latest plan of the day replaces the earlier ones.
            plans.insert(plan.rep_id, plan);
        }
    }

    let mut facts = Vec::with_capacity(reps.len());
    for rep in reps {
        let owned: Vec<&Customer> = customers.values().filter(|c| c.owner_id == Some(rep.id)).collect();
        let last = state.storage.latest_point_before(caller.org_id, rep.id, now.saturating_add(1)).await?;
        let usable = last.filter(|p| {
            hours.offset.local(p.point.time_ms).0 == today && hours.off_reason(p.point.time_ms).is_none()
        });
        let position = match usable {
            Some(p) => Position::Last { point: p.point.point, at_min: hours.offset.local(p.point.time_ms).1 },
            None => {
                let mut points: Vec<(CustomerId, WgsPoint)> =
                    owned.iter().map(|c| (c.id, c.place.point)).collect();
                points.sort_by_key(|(id, _)| *id);
                let points: Vec<WgsPoint> = points.into_iter().map(|(_, p)| p).collect();
                match assign::centroid(&points) {
                    Some(point) => Position::Base { point, customers: points.len() },
                    None => Position::Unknown,
                }
            }
        };
        let same_grade_customers = match target.grade {
            Some(grade) => {
                owned.iter().filter(|c| c.grade == grade && Some(c.id) != task.customer_id).count() as u32
            }
            None => 0,
        };
        let plan = plans.get(&rep.id).map(|plan| {
            plan.stops
                .iter()
                .filter(|s| s.task_id != id)
                .filter_map(|s| {
                    task_points
                        .get(&s.task_id)
                        .copied()
                        .or_else(|| s.customer_id.and_then(|c| customers.get(&c)).map(|c| c.place.point))
                })
                .collect()
        });
        facts.push(RepFacts {
            rep_id: rep.id,
            name: rep.display_name,
            position,
            open_tasks: load.get(&rep.id).copied().unwrap_or(0),
            owns_customer: customer.is_some_and(|c| c.owner_id == Some(rep.id)),
            same_grade_customers,
            plan,
        });
    }
    let model = OfflineModel::for_mode(TravelMode::Driving);
    Ok((task, assign::rank(&model, &target, facts)))
}

/// `GET /v1/tasks/{id}/candidates?limit=5`.
pub(super) async fn candidates(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<TaskId>,
    ApiQuery(query): ApiQuery<CandidatesQuery>,
) -> ApiResult<Json<Vec<CandidateView>>> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!("limit {limit} must be between 1 and {MAX_LIMIT}")));
    }
    let (_, ranked) = ranked(&state, &caller, id).await?;
    Ok(Json(ranked.into_iter().take(limit).map(CandidateView::from).collect()))
}

/// `POST /v1/tasks/{id}/auto-assign`: assigns the best candidate through the task patch.
pub(super) async fn auto_assign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<TaskId>,
) -> ApiResult<Json<AutoAssignAnswer>> {
    let (task, ranked) = ranked(&state, &caller, id).await?;
    if task.status.is_final() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("task {id} is {}; only open tasks are assigned", task.status.as_str()),
        ));
    }
    let best = ranked.first().map(|c| c.rep_id).ok_or_else(|| {
        ApiError::new(ErrorCode::Conflict, format!("no rep in scope to assign task {id} to"))
    })?;
    let changes: tasks::TaskChanges = serde_json::from_value(serde_json::json!({ "assignee_id": best }))
        .map_err(|e| {
            tracing::error!(error = %e, "assignment patch does not parse");
            internal()
        })?;
    let Json(patched) =
        tasks::patch(State(state.clone()), Caller(caller.clone()), Path(id), ApiJson(changes)).await?;
    let assignee_id = patched.assignee_id.ok_or_else(internal)?;
    tracing::info!(task = %id, assignee = %assignee_id, "task auto-assigned");
    Ok(Json(AutoAssignAnswer {
        assignee_id,
        candidates: ranked.into_iter().take(DEFAULT_LIMIT).map(CandidateView::from).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::ids::{OrgId, TeamId};

    use super::*;

    fn user(role: Role, team: Option<TeamId>) -> User {
        User {
            id: UserId::new(),
            org_id: OrgId::new(),
            username: "u".to_owned(),
            display_name: "u".to_owned(),
            role,
            team_id: team,
        }
    }

    #[test]
    fn a_manager_ranks_only_the_reps_of_their_team_and_a_rep_may_not_ask() {
        let (mine, other) = (TeamId::new(), TeamId::new());
        let users = vec![
            user(Role::Rep, Some(mine)),
            user(Role::Rep, Some(other)),
            user(Role::Manager, Some(mine)),
            user(Role::Rep, None),
        ];
        let manager = user(Role::Manager, Some(mine));
        let scope = in_scope(&manager, users.clone()).expect("a manager may ask");
        assert_eq!(scope.iter().map(|u| u.id).collect::<Vec<_>>(), vec![users[0].id]);
        assert!(in_scope(&user(Role::Manager, None), users.clone()).expect("allowed").is_empty());
        assert_eq!(in_scope(&user(Role::Admin, None), users.clone()).expect("allowed").len(), 3);
        let err = in_scope(&user(Role::Rep, Some(mine)), users).expect_err("a rep may not");
        assert_eq!(err.message, "role rep may not assign tasks");
    }
}
