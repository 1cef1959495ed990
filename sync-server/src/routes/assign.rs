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
use axum::extract::State;
use fieldkit_domain::ids::{CustomerId, TaskId, TeamId, UserId};
use fieldkit_domain::model::{Customer, DayPlan, Role, Task, TaskStatus, User, WgsPoint};
use fieldkit_domain::protocol::{ErrorCode, Fact};
use fieldkit_domain::route::{OfflineModel, TravelMode};
use serde::{Deserialize, Serialize};

use super::tasks;
use crate::assign::{self, Candidate, Position, RepFacts, Target};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::state::AppState;
use crate::storage::{FactFilter, FactQuery, StorageError};

const DAY_MS: i64 = 86_400_000;
/// How many days before today a plan for today may have been made (by the phone's clock).
const PLAN_LOOKBACK_DAYS: i64 = 7;

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

/// The reps `caller` may assign to: the reps their data scope reaches.
fn in_scope(caller: &User, users: Vec<User>) -> ApiResult<Vec<User>> {
    if !caller.role.can_dispatch() {
        return Err(ApiError::forbidden(format!("role {} may not assign tasks", caller.role.as_str())));
    }
    Ok(users.into_iter().filter(|u| u.role == Role::Rep && caller.may_read(u)).collect())
}

/// What is known of the reps a task may go to, gathered once and reused for every task
/// placed among them (one task or a bulk dispatch).
pub(super) struct Roster {
    reps: Vec<RepState>,
    customers: HashMap<CustomerId, Customer>,
}

/// One rep of a [`Roster`].
struct RepState {
    id: UserId,
    name: String,
    position: Position,
    /// Open and in-progress tasks due today or undated.
    open: Vec<TaskId>,
    /// Stops of today's latest plan, in order (`None`: no plan today).
    plan: Option<Vec<(TaskId, WgsPoint)>>,
}

impl Roster {
    /// Gathers `reps`' positions, loads and plans as of now.
    pub(super) async fn gather(state: &AppState, caller: &User, reps: Vec<User>) -> ApiResult<Self> {
        let customers: HashMap<CustomerId, Customer> =
            state.storage.customers(caller.org_id).await?.into_iter().map(|c| (c.id, c)).collect();
        let now = crate::now_ms();
        let settings = state.storage.org_settings(caller.org_id).await?;
        let hours = &settings.working_hours;
        let (today, _) = hours.offset.local(now);
        let rep_ids: Vec<UserId> = reps.iter().map(|r| r.id).collect();

        let assigned = state.storage.assigned_tasks(caller.org_id, rep_ids.clone()).await?;
        let task_points: HashMap<TaskId, WgsPoint> =
            assigned.iter().filter_map(|t| t.place.as_ref().map(|p| (t.id, p.point))).collect();
        let mut open: HashMap<UserId, Vec<TaskId>> = HashMap::new();
        for t in &assigned {
            let is_open = matches!(t.status, TaskStatus::Open | TaskStatus::InProgress);
            let today_or_undated = t.deadline_ms.is_none_or(|d| hours.offset.local(d).0 == today);
            if let Some(assignee) = t.assignee_id
                && is_open
                && today_or_undated
            {
                open.entry(assignee).or_default().push(t.id);
            }
        }

        // Plans for today are made today or the evening before; a week's slack covers a
        // phone whose clock runs days behind. Older plans need not be read.
        let today_start_ms = today.to_days() * DAY_MS - i64::from(hours.offset.minutes()) * 60_000;
        let query = FactQuery {
            filter: FactFilter { kind: Some("day_plan".to_owned()), rep_ids: Some(rep_ids) },
            event_from_ms: Some(today_start_ms - PLAN_LOOKBACK_DAYS * DAY_MS),
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

        let mut states = Vec::with_capacity(reps.len());
        for rep in reps {
            let last =
                state.storage.latest_point_before(caller.org_id, rep.id, now.saturating_add(1)).await?;
            let usable = last.filter(|p| {
                hours.offset.local(p.point.time_ms).0 == today && hours.off_reason(p.point.time_ms).is_none()
            });
            let position = match usable {
                Some(p) => {
                    Position::Last { point: p.point.point, at_min: hours.offset.local(p.point.time_ms).1 }
                }
                None => {
                    let mut owned: Vec<(CustomerId, WgsPoint)> = customers
                        .values()
                        .filter(|c| c.owner_id == Some(rep.id))
                        .map(|c| (c.id, c.place.point))
                        .collect();
                    owned.sort_by_key(|(id, _)| *id);
                    let points: Vec<WgsPoint> = owned.into_iter().map(|(_, p)| p).collect();
                    match assign::centroid(&points) {
                        Some(point) => Position::Base { point, customers: points.len() },
                        None => Position::Unknown,
                    }
                }
            };
            let plan = plans.get(&rep.id).map(|plan| {
                plan.stops
                    .iter()
                    .filter_map(|s| {
                        let point = task_points.get(&s.task_id).copied().or_else(|| {
                            s.customer_id.and_then(|c| customers.get(&c)).map(|c| c.place.point)
                        })?;
                        Some((s.task_id, point))
                    })
                    .collect()
            });
            states.push(RepState {
                open: open.remove(&rep.id).unwrap_or_default(),
                id: rep.id,
                name: rep.display_name,
                position,
                plan,
            });
        }
        Ok(Self { reps: states, customers })
    }

    /// Ranks the roster's reps for `task`, best first.
    pub(super) fn rank(&self, task: &Task) -> ApiResult<Vec<Candidate>> {
        let customer = task.customer_id.and_then(|c| self.customers.get(&c));
        let point =
            task.place.as_ref().map(|p| p.point).or_else(|| customer.map(|c| c.place.point)).ok_or_else(
                || {
                    ApiError::invalid(format!(
                        "task {} has no place and no customer with a place to rank reps by",
                        task.id
                    ))
                },
            )?;
        let target = Target { point, grade: customer.map(|c| c.grade) };
        let facts = self
            .reps
            .iter()
            .map(|rep| RepFacts {
                rep_id: rep.id,
                name: rep.name.clone(),
                position: rep.position,
                open_tasks: rep.open.iter().filter(|t| **t != task.id).count() as u32,
                owns_customer: customer.is_some_and(|c| c.owner_id == Some(rep.id)),
                same_grade_customers: match target.grade {
                    Some(grade) => self
                        .customers
                        .values()
                        .filter(|c| {
                            c.owner_id == Some(rep.id) && c.grade == grade && Some(c.id) != task.customer_id
                        })
                        .count() as u32,
                    None => 0,
                },
                plan: rep
                    .plan
                    .as_ref()
                    .map(|stops| stops.iter().filter(|(t, _)| *t != task.id).map(|(_, p)| *p).collect()),
            })
            .collect();
        let model = OfflineModel::for_mode(TravelMode::Driving);
        Ok(assign::rank(&model, &target, facts))
    }

    /// Counts `task` in `rep`'s load and day, so the next task of a batch sees it.
    pub(super) fn give(&mut self, rep: UserId, task: &Task) {
        let point = task
            .place
            .as_ref()
            .map(|p| p.point)
            .or_else(|| task.customer_id.and_then(|c| self.customers.get(&c)).map(|c| c.place.point));
        if let Some(state) = self.reps.iter_mut().find(|r| r.id == rep) {
            state.open.push(task.id);
            if let (Some(plan), Some(point)) = (state.plan.as_mut(), point) {
                plan.push((task.id, point));
            }
        }
    }
}

/// The reps `caller` may give work to, narrowed to `team` and the departments under it.
pub(super) async fn reps_in_scope(
    state: &AppState,
    caller: &User,
    team: Option<TeamId>,
) -> ApiResult<Vec<User>> {
    let reps = in_scope(caller, state.storage.users(caller.org_id).await?)?;
    Ok(match team {
        Some(team) => reps.into_iter().filter(|r| r.department_path.contains(&team)).collect(),
        None => reps,
    })
}

/// Ranks the reps in `caller`'s scope for task `id`, best first.
async fn ranked(state: &AppState, caller: &User, id: TaskId) -> ApiResult<(Task, Vec<Candidate>)> {
    let reps = reps_in_scope(state, caller, None).await?;
    let task = super::tasks::load(state, caller, id).await?;
    let roster = Roster::gather(state, caller, reps).await?;
    let ranked = roster.rank(&task)?;
    Ok((task, ranked))
}

/// `GET /v1/tasks/{id}/candidates?limit=5`.
pub(super) async fn candidates(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<TaskId>,
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
    ApiPath(id): ApiPath<TaskId>,
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
        tasks::patch(State(state.clone()), Caller(caller.clone()), ApiPath(id), ApiJson(changes)).await?;
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
        static ORG: std::sync::LazyLock<OrgId> = std::sync::LazyLock::new(OrgId::new);
        User {
            id: UserId::new(),
            org_id: *ORG,
            username: "u".to_owned(),
            display_name: "u".to_owned(),
            role,
            team_id: team,
            data_scope: None,
            department_path: team.into_iter().collect(),
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
