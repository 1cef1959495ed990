//! Visit plans by grade: `POST /v1/visit-plans/generate` plans each rep's customer visits
//! over a period at the cadence of the customer's grade (`OrgSettings::visit_frequency`) and
//! dispatches them as tasks; `GET /v1/reports/coverage` compares what was planned with what
//! was done, per rep, and names the customers overdue for a visit.
//!
//! Who may ask: a manager for the customers owned by their team, an admin for the org; a rep
//! may not. Dates are local dates (`YYYY-MM-DD`) in the org's `working_hours.offset`; a
//! period is at most [`MAX_PERIOD_DAYS`] days, both ends included. Only working days
//! (`working_hours.is_working_day`) get visits.
//!
//! Generating: which day each visit falls on is [`crate::visit_plan`] (the cadence, the
//! balance of a rep's days, and what stays). Each visit is a `customer_visit` task for the
//! customer's owner, at the customer's place, due at the end of its day, titled
//! `Visit <name>` with the note `planned: grade X every N days`, created through the same
//! path as `POST /v1/tasks` so it reaches the rep's phone through the feed. The visits are
//! remembered in the `visit_plans` table (migration 007), one per customer and date, written
//! in the task's transaction: running a period again plans nothing new, and a customer's
//! visits planned before the period (or its last check-in) set when it is next due. A
//! planned visit whose task was deleted stays planned (it is not planned again).
//!
//! Coverage: the planned visits of the period whose task was not deleted or cancelled,
//! counted for the task's assignee. A visit is done when its task is done, or when a check-in
//! at its customer in the period (by anyone, not rejected by the server) matches it: the
//! check-in naming its task, else the nearest undone visit of that customer less than the
//! interval away; each check-in matches one visit at most. Overdue customers are those
//! owned in scope whose last such check-in (before the period's end, or now if earlier) is
//! older than their grade's interval, or who have none.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::Json;
use axum::extract::State;
use fieldkit_domain::geo::{CivilDate, UtcOffset};
use fieldkit_domain::ids::{CustomerId, TaskId, UserId};
use fieldkit_domain::model::{Customer, Grade, Role, Task, TaskKind, TaskStatus, User};
use fieldkit_domain::protocol::Fact;
use serde::{Deserialize, Serialize};

use super::facts::{authors, server_outcome};
use super::period::period;
use super::settings::settings;
use super::tasks;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::state::AppState;
use crate::storage::{FactFilter, FactQuery, NewPlanEntry, StorageError};
use crate::visit_plan::{self, Calendar, PlanCustomer};

const DAY_MS: i64 = 86_400_000;
/// The longest period planned or reported at once, days.
const MAX_PERIOD_DAYS: i64 = 92;
/// The most visits one request may plan.
const MAX_NEW_VISITS: usize = 10_000;
/// How far around the period earlier and later plans are looked for: the longest interval.
const LOOKAROUND_DAYS: i64 = 366;

/// `POST /v1/visit-plans/generate` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PeriodRequest {
    from: String,
    to: String,
}

/// The answer of `POST /v1/visit-plans/generate`.
#[derive(Debug, Serialize)]
pub(super) struct GenerateAnswer {
    /// Tasks created by this run.
    created: usize,
    /// Per owner of customers in scope (by id), the tasks created for them.
    per_rep: Vec<RepCreated>,
}

/// Tasks created for one rep.
#[derive(Debug, Serialize)]
pub(super) struct RepCreated {
    rep_id: UserId,
    tasks: usize,
}

/// The coverage report.
#[derive(Debug, Serialize)]
pub(super) struct CoverageReport {
    from: String,
    to: String,
    /// Every rep in scope, every owner of customers in scope and everyone with planned
    /// visits in the period, by id.
    reps: Vec<RepCoverage>,
}

/// One rep's coverage.
#[derive(Debug, Serialize)]
pub(super) struct RepCoverage {
    rep_id: UserId,
    /// Display name (`null` for a user no longer in the org).
    name: Option<String>,
    /// Planned visits in the period (tasks not deleted or cancelled).
    planned: usize,
    /// Those done.
    done: usize,
    /// `done / planned`; `null` with nothing planned.
    coverage: Option<f64>,
    /// The rep's customers overdue for a visit, longest unvisited first.
    overdue: Vec<OverdueCustomer>,
}

/// A customer overdue for a visit.
#[derive(Debug, Serialize)]
pub(super) struct OverdueCustomer {
    customer_id: CustomerId,
    name: String,
    grade: Grade,
    /// The grade's interval, days.
    interval_days: u32,
    /// The last check-in there, device Unix milliseconds (`null`: none).
    last_visit_ms: Option<i64>,
}

fn require_planner(caller: &User, what: &str) -> ApiResult<()> {
    if caller.role.can_dispatch() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("role {} may not {what}", caller.role.as_str())))
    }
}

/// `YYYY-MM-DD`.
/// When local day `day` starts, Unix milliseconds.
fn day_start_ms(day: i64, offset: UtcOffset) -> i64 {
    day * DAY_MS - i64::from(offset.minutes()) * 60_000
}

/// Every customer of the org, by id.
async fn customers(state: &AppState, caller: &User) -> ApiResult<BTreeMap<CustomerId, Customer>> {
    Ok(state.storage.customers(caller.org_id).await?.into_iter().map(|c| (c.id, c)).collect())
}

fn in_scope(scope: Option<&[UserId]>, user: UserId) -> bool {
    scope.is_none_or(|s| s.contains(&user))
}

fn letter(grade: Grade) -> &'static str {
    match grade {
        Grade::A => "A",
        Grade::B => "B",
        Grade::C => "C",
    }
}

/// `POST /v1/visit-plans/generate`.
pub(super) async fn generate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<PeriodRequest>,
) -> ApiResult<Json<GenerateAnswer>> {
    require_planner(&caller, "generate visit plans")?;
    let (from, to) = period(&request.from, &request.to, MAX_PERIOD_DAYS)?;
    let org = caller.org_id;
    let settings = settings(&state, org).await?;
    let offset = settings.working_hours.offset;
    let scope = authors(&state, &caller).await?;
    let owned: Vec<Customer> = customers(&state, &caller)
        .await?
        .into_values()
        .filter(|c| c.owner_id.is_some_and(|o| in_scope(scope.as_deref(), o)))
        .collect();

    // What is known of each customer's visits around the period.
    let calendar = Calendar::new(from, to, &settings.working_hours);
    let (first, last) = (calendar.from(), calendar.to());
    let around = state
        .storage
        .plan_entries(
            org,
            CivilDate::from_days(first - LOOKAROUND_DAYS),
            CivilDate::from_days(last + LOOKAROUND_DAYS),
        )
        .await?;
    let mut anchors: HashMap<CustomerId, i64> = HashMap::new();
    let mut planned: HashMap<CustomerId, Vec<i64>> = HashMap::new();
    let mut next_after: HashMap<CustomerId, i64> = HashMap::new();
    for entry in &around {
        let day = entry.date.to_days();
        if day < first {
            anchors.entry(entry.customer_id).and_modify(|a| *a = (*a).max(day)).or_insert(day);
        } else if day <= last {
            planned.entry(entry.customer_id).or_default().push(day);
        } else {
            next_after.entry(entry.customer_id).and_modify(|a| *a = (*a).min(day)).or_insert(day);
        }
    }
    for (customer, at_ms) in state.storage.last_check_ins(org, day_start_ms(first, offset)).await? {
        let day = offset.local(at_ms).0.to_days();
        anchors.entry(customer).and_modify(|a| *a = (*a).max(day)).or_insert(day);
    }
    let input: Vec<PlanCustomer> = owned
        .iter()
        .filter_map(|c| {
            let rep = c.owner_id?;
            let mut days = planned.get(&c.id).cloned().unwrap_or_default();
            days.extend(next_after.get(&c.id));
            Some(PlanCustomer {
                id: c.id,
                rep,
                interval_days: settings.visit_frequency.days(c.grade),
                anchor: anchors.get(&c.id).copied(),
                planned: days,
            })
        })
        .collect();
    let visits = visit_plan::plan(&calendar, &input);
    if visits.len() > MAX_NEW_VISITS {
        return Err(ApiError::invalid(format!(
            "the period would plan {} visits, more than {MAX_NEW_VISITS}; plan a shorter period",
            visits.len()
        )));
    }

    let by_id: HashMap<CustomerId, &Customer> = owned.iter().map(|c| (c.id, c)).collect();
    let mut entries = Vec::with_capacity(visits.len());
    for visit in &visits {
        let Some(customer) = by_id.get(&visit.customer) else { continue };
        let interval_days = settings.visit_frequency.days(customer.grade);
        let task = Task {
            id: TaskId::new(),
            kind: TaskKind::CustomerVisit,
            title: format!("Visit {}", customer.name),
            goal: String::new(),
            deadline_ms: Some(day_start_ms(visit.day + 1, offset) - 1),
            place: Some(customer.place.clone()),
            customer_id: Some(customer.id),
            assignee_id: Some(visit.rep),
            status: TaskStatus::Open,
            notes: format!("planned: grade {} every {interval_days} days", letter(customer.grade)),
        };
        entries.push(NewPlanEntry {
            customer_id: customer.id,
            date: CivilDate::from_days(visit.day),
            rep_id: visit.rep,
            interval_days,
            task: tasks::creation(&state, &task)?,
        });
    }
    let created = state.storage.add_plan_entries(org, entries, crate::now_ms()).await?;

    let mut per_rep: BTreeMap<UserId, usize> =
        owned.iter().filter_map(|c| c.owner_id).map(|r| (r, 0)).collect();
    for (visit, created) in visits.iter().zip(&created) {
        if *created {
            *per_rep.entry(visit.rep).or_default() += 1;
        }
    }
    let total = created.iter().filter(|c| **c).count();
    tracing::info!(org = %org, from = %from, to = %to, created = total, "visit plans generated");
    Ok(Json(GenerateAnswer {
        created: total,
        per_rep: per_rep.into_iter().map(|(rep_id, tasks)| RepCreated { rep_id, tasks }).collect(),
    }))
}

/// `GET /v1/reports/coverage` query string.
#[derive(Debug, Deserialize)]
pub(super) struct CoverageQuery {
    from: String,
    to: String,
}

/// A planned visit being matched with what was done.
struct Visit {
    rep: UserId,
    day: i64,
    task_id: TaskId,
    interval_days: i64,
    done: bool,
}

/// `GET /v1/reports/coverage`.
pub(super) async fn coverage(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<CoverageQuery>,
) -> ApiResult<Json<CoverageReport>> {
    require_planner(&caller, "read coverage reports")?;
    let (from, to) = period(&query.from, &query.to, MAX_PERIOD_DAYS)?;
    let org = caller.org_id;
    let settings = settings(&state, org).await?;
    let offset = settings.working_hours.offset;
    let scope = authors(&state, &caller).await?;
    let scope = scope.as_deref();
    let users: HashMap<UserId, User> =
        state.storage.users(org).await?.into_iter().map(|u| (u.id, u)).collect();
    let customers = customers(&state, &caller).await?;
    let (start_ms, end_ms) = (day_start_ms(from.to_days(), offset), day_start_ms(to.to_days() + 1, offset));

    // The planned visits, per customer in day order.
    let mut visits: BTreeMap<CustomerId, Vec<Visit>> = BTreeMap::new();
    for entry in state.storage.plan_entries(org, from, to).await? {
        let Some(task) = entry.task.filter(|t| t.status != TaskStatus::Cancelled) else { continue };
        let rep = task.assignee_id.unwrap_or(entry.rep_id);
        if !in_scope(scope, rep) {
            continue;
        }
        visits.entry(entry.customer_id).or_default().push(Visit {
            rep,
            day: entry.date.to_days(),
            task_id: entry.task_id,
            interval_days: i64::from(entry.interval_days.max(1)),
            done: task.status == TaskStatus::Done,
        });
    }

    // The period's check-ins at those customers, matched to the visits.
    let query = FactQuery {
        filter: FactFilter { kind: Some("check_in".to_owned()), rep_ids: None },
        event_from_ms: Some(start_ms),
        event_until_ms: Some(end_ms),
        ..FactQuery::default()
    };
    let mut check_ins: HashMap<CustomerId, Vec<(i64, Option<TaskId>)>> = HashMap::new();
    for fact in state.storage.select_facts(org, query).await? {
        if fact.server_assessment.as_ref().is_some_and(|a| server_outcome(a) == "rejected") {
            continue;
        }
        let parsed: Fact = serde_json::from_str(&fact.body)
            .map_err(|source| StorageError::Corrupt { what: "fact", source })?;
        if let Fact::CheckIn(c) = parsed
            && visits.contains_key(&c.customer_id)
        {
            let day = offset.local(c.at.device_ms).0.to_days();
            check_ins.entry(c.customer_id).or_default().push((day, c.task_id));
        }
    }
    for (customer, mut found) in check_ins {
        let Some(planned) = visits.get_mut(&customer) else { continue };
        found.sort_unstable_by_key(|&(day, _)| day);
        let mut unmatched = Vec::new();
        for (day, task) in found {
            match task.and_then(|t| planned.iter_mut().find(|v| v.task_id == t)) {
                Some(visit) => visit.done = true,
                None => unmatched.push(day),
            }
        }
        for day in unmatched {
            let nearest = planned
                .iter_mut()
                .filter(|v| !v.done && (v.day - day).abs() < v.interval_days)
                .min_by_key(|v| ((v.day - day).abs(), v.day));
            if let Some(visit) = nearest {
                visit.done = true;
            }
        }
    }

    // Overdue customers, as of the period's end (or now, if earlier).
    let as_of_ms = end_ms.min(crate::now_ms());
    let last_visits = state.storage.last_check_ins(org, as_of_ms).await?;
    let mut overdue: BTreeMap<UserId, Vec<OverdueCustomer>> = BTreeMap::new();
    for c in customers.values() {
        let Some(owner) = c.owner_id.filter(|o| in_scope(scope, *o)) else { continue };
        let interval_days = settings.visit_frequency.days(c.grade);
        let last_visit_ms = last_visits.get(&c.id).copied();
        if last_visit_ms.is_none_or(|at| as_of_ms - at > i64::from(interval_days) * DAY_MS) {
            overdue.entry(owner).or_default().push(OverdueCustomer {
                customer_id: c.id,
                name: c.name.clone(),
                grade: c.grade,
                interval_days,
                last_visit_ms,
            });
        }
    }

    let mut reps: BTreeSet<UserId> =
        users.values().filter(|u| u.role == Role::Rep && in_scope(scope, u.id)).map(|u| u.id).collect();
    reps.extend(overdue.keys());
    reps.extend(customers.values().filter_map(|c| c.owner_id).filter(|o| in_scope(scope, *o)));
    reps.extend(visits.values().flatten().map(|v| v.rep));
    let mut counts: HashMap<UserId, (usize, usize)> = HashMap::new();
    for v in visits.values().flatten() {
        let count = counts.entry(v.rep).or_default();
        count.0 += 1;
        count.1 += usize::from(v.done);
    }
    let reps = reps
        .into_iter()
        .map(|rep_id| {
            let (planned, done) = counts.get(&rep_id).copied().unwrap_or_default();
            let mut overdue = overdue.remove(&rep_id).unwrap_or_default();
            overdue.sort_by(|a, b| {
                a.last_visit_ms.cmp(&b.last_visit_ms).then_with(|| a.customer_id.cmp(&b.customer_id))
            });
            RepCoverage {
                rep_id,
                name: users.get(&rep_id).map(|u| u.display_name.clone()),
                planned,
                done,
                coverage: (planned > 0).then(|| done as f64 / planned as f64),
                overdue,
            }
        })
        .collect();
    Ok(Json(CoverageReport { from: from.to_string(), to: to.to_string(), reps }))
}
