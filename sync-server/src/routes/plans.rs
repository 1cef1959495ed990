//! `POST /v1/plans/team`: a supervisor splits the customers to visit this period among their
//! team's reps and working days, gets each rep's day routed and, if asked, publishes the
//! visits as tasks that reach the reps' phones through the feed.
//!
//! This handler only loads, checks and publishes; the planning itself (who, which day, in
//! which order, and why) is [`crate::team_plan`]. Who may ask: a manager for the reps of
//! their own team, an admin for anyone in the org; a rep may not.
//!
//! Dates are local dates in the org's `working_hours.offset`; a rep's hours default to the
//! org's working windows (earliest start to latest end, lunch breaks ignored). Travel is
//! estimated offline ([`OfflineModel::for_mode`]), as the phone does without a road matrix.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::extract::State;
use fieldkit_domain::geo::{CivilDate, UtcOffset};
use fieldkit_domain::ids::{CustomerId, TaskId, UserId};
use fieldkit_domain::model::{Customer, OrgSettings, Task, TaskKind, TaskStatus, User, WgsPoint};
use fieldkit_domain::protocol::ErrorCode;
use fieldkit_domain::route::{OfflineModel, TravelMode};
use serde::{Deserialize, Serialize};

use super::period::parse_date;
use super::settings::settings;
use super::tasks;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller};
use crate::state::AppState;
use crate::storage::DocResult;
use crate::team_plan::{self, PlanInput, PlanRep, PlanSite, TeamPlan, Why};

const DAY_MS: i64 = 86_400_000;
/// The most reps one plan takes.
const MAX_REPS: usize = 50;
/// The most dates one plan takes (a month).
const MAX_DATES: usize = 31;
/// The most customers one plan takes.
const MAX_CUSTOMERS: usize = 500;
/// Time at each customer when the request does not say.
const DEFAULT_SERVICE_MIN: u32 = 30;
/// The longest time at one customer accepted.
const MAX_SERVICE_MIN: u32 = 600;
/// A rep's hours when neither the request nor the org's settings give a daytime window.
const FALLBACK_DAY_MIN: (u16, u16) = (540, 1080);
const MINUTES_PER_DAY: u16 = 1440;

/// `POST /v1/plans/team` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TeamPlanRequest {
    reps: Vec<RepRequest>,
    #[serde(default)]
    customers: Vec<CustomerId>,
    dates: Vec<String>,
    service_min: Option<u32>,
    mode: Option<String>,
    #[serde(default)]
    publish: bool,
}

/// A rep in the request: where their days start and end, and their hours.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepRequest {
    rep_id: UserId,
    start: WgsPoint,
    /// `None`: back to the start.
    #[serde(default)]
    end: Option<WgsPoint>,
    day_start_min: Option<u16>,
    day_end_min: Option<u16>,
}

/// The answer.
#[derive(Debug, Serialize)]
pub(super) struct TeamPlanAnswer {
    /// Each rep's days with stops, by rep (request order) then date.
    routes: Vec<RouteView>,
    /// One entry per rep, in request order; totals are the sums of their routes.
    per_rep: Vec<RepView>,
    /// Customers in no route, with the reason.
    unassigned: Vec<UnassignedView>,
    /// Why each rep got their stops, a sentence or two per rep.
    explanation: String,
    /// The tasks created, in route order (empty unless `publish`).
    published_task_ids: Vec<TaskId>,
}

/// One rep's day.
#[derive(Debug, Serialize)]
struct RouteView {
    rep_id: UserId,
    /// `YYYY-MM-DD`, local.
    date: String,
    stops: Vec<StopView>,
    /// Metres, start to end.
    distance_m: u64,
    /// Minutes from leaving the start to arriving at the end.
    work_min: u64,
    proven_optimal: bool,
}

/// A visit in a day.
#[derive(Debug, Serialize)]
struct StopView {
    customer_id: CustomerId,
    name: String,
    /// Unix milliseconds.
    arrive_ms: i64,
    /// Unix milliseconds.
    depart_ms: i64,
    /// `owner`, `nearest` or `moved`.
    why: &'static str,
}

/// One rep's totals.
#[derive(Debug, Serialize)]
struct RepView {
    rep_id: UserId,
    stops: usize,
    distance_m: u64,
    work_min: u64,
    days_used: usize,
    explanation: String,
}

/// A customer in no route.
#[derive(Debug, Serialize)]
struct UnassignedView {
    customer_id: CustomerId,
    name: String,
    /// `too_far`, `no_room` or `nothing_to_plan`.
    code: &'static str,
    reason: String,
}

fn malformed(message: String) -> ApiError {
    ApiError::new(ErrorCode::MalformedBody, message)
}

fn internal() -> ApiError {
    ApiError::new(ErrorCode::Internal, "internal error; try again later")
}

/// Whether `caller` may plan `rep`'s days.
fn may_plan_for(caller: &User, rep: &User) -> bool {
    caller.role.can_dispatch() && caller.may_read(rep)
}

/// Travel modes by the names a dashboard sends.
fn travel_mode(name: &str) -> Option<TravelMode> {
    Some(match name {
        "drive" | "driving" | "car" => TravelMode::Driving,
        "walk" | "walking" => TravelMode::Walking,
        "cycle" | "cycling" | "bike" => TravelMode::Cycling,
        "scooter" => TravelMode::Scooter,
        "transit" => TravelMode::Transit,
        _ => return None,
    })
}

/// The org's working day: earliest start to latest end of its daytime windows.
fn org_day(settings: &OrgSettings) -> (u16, u16) {
    let daytime = || settings.working_hours.windows.iter().filter(|w| w.end_min() > w.start_min());
    match (daytime().map(|w| w.start_min()).min(), daytime().map(|w| w.end_min()).max()) {
        (Some(start), Some(end)) => (start, end),
        _ => FALLBACK_DAY_MIN,
    }
}

/// Unix milliseconds of local midnight starting `date`.
fn midnight_ms(date: CivilDate, offset: UtcOffset) -> i64 {
    date.to_days() * DAY_MS - i64::from(offset.minutes()) * 60_000
}

fn ms_after(midnight_ms: i64, seconds: f64) -> i64 {
    midnight_ms + (seconds * 1000.0).round() as i64
}

fn clock(seconds: f64) -> String {
    let minutes = (seconds / 60.0).round() as i64;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The request's shape rules that need no storage: sizes, duplicates, dates, mode, service.
fn check_shape(request: &TeamPlanRequest) -> ApiResult<(Vec<CivilDate>, OfflineModel, u32)> {
    if request.reps.is_empty() {
        return Err(ApiError::invalid("a team plan needs at least one rep"));
    }
    if request.dates.is_empty() {
        return Err(ApiError::invalid("a team plan needs at least one date"));
    }
    for (what, count, max) in [
        ("reps", request.reps.len(), MAX_REPS),
        ("dates", request.dates.len(), MAX_DATES),
        ("customers", request.customers.len(), MAX_CUSTOMERS),
    ] {
        if count > max {
            return Err(ApiError::invalid(format!("a team plan takes at most {max} {what}, got {count}")));
        }
    }
    let mut dates = Vec::with_capacity(request.dates.len());
    for text in &request.dates {
        let date = parse_date(text)
            .ok_or_else(|| malformed(format!("date {text:?} is not a calendar date in yyyy-mm-dd form")))?;
        if dates.contains(&date) {
            return Err(ApiError::invalid(format!("date {text} is listed twice")));
        }
        dates.push(date);
    }
    let mut reps = HashSet::new();
    if let Some(twice) = request.reps.iter().find(|r| !reps.insert(r.rep_id)) {
        return Err(ApiError::invalid(format!("rep {} is listed twice", twice.rep_id)));
    }
    let mut customers = HashSet::new();
    if let Some(twice) = request.customers.iter().find(|c| !customers.insert(**c)) {
        return Err(ApiError::invalid(format!("customer {twice} is listed twice")));
    }
    let mode = match request.mode.as_deref() {
        None => TravelMode::Driving,
        Some(name) => travel_mode(name).ok_or_else(|| {
            malformed(format!("mode {name:?} is not one of drive, walk, cycle, scooter, transit"))
        })?,
    };
    let service_min = request.service_min.unwrap_or(DEFAULT_SERVICE_MIN);
    if service_min > MAX_SERVICE_MIN {
        return Err(ApiError::invalid(format!(
            "service_min {service_min} is longer than {MAX_SERVICE_MIN} minutes"
        )));
    }
    Ok((dates, OfflineModel::for_mode(mode), service_min))
}

/// A rep's hours: the request's, else the org's; refused unless the day ends after it
/// starts and by midnight.
fn rep_day(rep: &RepRequest, org_day: (u16, u16)) -> ApiResult<(u16, u16)> {
    let start = rep.day_start_min.unwrap_or(org_day.0);
    let end = rep.day_end_min.unwrap_or(org_day.1);
    if end > MINUTES_PER_DAY {
        return Err(ApiError::invalid(format!(
            "rep {}'s day ends at minute {end}, past midnight ({MINUTES_PER_DAY})",
            rep.rep_id
        )));
    }
    if end <= start {
        return Err(ApiError::invalid(format!(
            "rep {}'s day ends at minute {end}, not after it starts at minute {start}",
            rep.rep_id
        )));
    }
    Ok((start, end))
}

/// `POST /v1/plans/team`.
pub(super) async fn team(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<TeamPlanRequest>,
) -> ApiResult<Json<TeamPlanAnswer>> {
    if !caller.role.can_dispatch() {
        return Err(ApiError::forbidden(format!(
            "role {} may not plan routes for a team",
            caller.role.as_str()
        )));
    }
    let (dates, model, service_min) = check_shape(&request)?;

    let users: HashMap<UserId, User> =
        state.storage.users(caller.org_id).await?.into_iter().map(|u| (u.id, u)).collect();
    let mut rep_users = Vec::with_capacity(request.reps.len());
    for rep in &request.reps {
        let user = users
            .get(&rep.rep_id)
            .ok_or_else(|| ApiError::not_found(format!("user {} not found", rep.rep_id)))?;
        if !may_plan_for(&caller, user) {
            return Err(ApiError::forbidden(format!("user {} is outside your data scope", rep.rep_id)));
        }
        rep_users.push(user);
    }

    let mut known: HashMap<CustomerId, Customer> =
        state.storage.customers(caller.org_id).await?.into_iter().map(|c| (c.id, c)).collect();
    let missing: Vec<String> =
        request.customers.iter().filter(|id| !known.contains_key(id)).map(ToString::to_string).collect();
    match missing.as_slice() {
        [] => {}
        [one] => return Err(malformed(format!("customer {one} not found"))),
        many => return Err(malformed(format!("customers {} not found", many.join(", ")))),
    }
    let customers: Vec<Customer> =
        request.customers.iter().filter_map(|id| known.remove(id)).collect::<Vec<_>>();

    let settings = settings(&state, caller.org_id).await?;
    let offset = settings.working_hours.offset;
    let org_day = org_day(&settings);
    let mut reps = Vec::with_capacity(request.reps.len());
    for (rep, user) in request.reps.iter().zip(&rep_users) {
        let (start_min, end_min) = rep_day(rep, org_day)?;
        reps.push(PlanRep {
            label: user.display_name.clone(),
            start: rep.start,
            end: rep.end.unwrap_or(rep.start),
            day_start_s: f64::from(start_min) * 60.0,
            day_end_s: f64::from(end_min) * 60.0,
        });
    }
    let rep_index: HashMap<UserId, usize> =
        request.reps.iter().enumerate().map(|(i, r)| (r.rep_id, i)).collect();
    let sites = customers
        .iter()
        .map(|c| PlanSite {
            point: c.place.point,
            owner: c.owner_id.and_then(|owner| rep_index.get(&owner).copied()),
        })
        .collect();
    let input = PlanInput { reps, sites, days: dates.len(), service_s: f64::from(service_min) * 60.0, model };

    let (input, plan) = tokio::task::spawn_blocking(move || {
        let plan = team_plan::plan(&input);
        (input, plan)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "team plan worker failed");
        internal()
    })?;
    let plan = plan.map_err(|e| {
        tracing::error!(error = %e, "team plan refused checked input");
        internal()
    })?;

    let view = View { request: &request, dates: &dates, offset, customers: &customers, input: &input };
    let mut answer = view.answer(&plan);
    if request.publish {
        answer.published_task_ids = publish(&state, &caller, &view, &plan).await?;
    }
    tracing::info!(
        org = %caller.org_id,
        reps = input.reps.len(),
        customers = customers.len(),
        routes = answer.routes.len(),
        unassigned = answer.unassigned.len(),
        published = answer.published_task_ids.len(),
        "team plan made"
    );
    Ok(Json(answer))
}

/// What turns the plan's indices and seconds back into ids, names and Unix times.
struct View<'a> {
    request: &'a TeamPlanRequest,
    dates: &'a [CivilDate],
    offset: UtcOffset,
    customers: &'a [Customer],
    input: &'a PlanInput,
}

impl View<'_> {
    fn answer(&self, plan: &TeamPlan) -> TeamPlanAnswer {
        let routes = plan
            .routes
            .iter()
            .map(|route| {
                let midnight = midnight_ms(self.dates[route.day], self.offset);
                RouteView {
                    rep_id: self.request.reps[route.rep].rep_id,
                    date: self.request.dates[route.day].clone(),
                    stops: route
                        .stops
                        .iter()
                        .map(|stop| StopView {
                            customer_id: self.customers[stop.site].id,
                            name: self.customers[stop.site].name.clone(),
                            arrive_ms: ms_after(midnight, stop.arrive_s),
                            depart_ms: ms_after(midnight, stop.depart_s),
                            why: match stop.why {
                                Why::Owner => "owner",
                                Why::Nearest => "nearest",
                                Why::Moved { .. } => "moved",
                            },
                        })
                        .collect(),
                    distance_m: route.whole_m(),
                    work_min: route.work_min(),
                    proven_optimal: route.proven_optimal,
                }
            })
            .collect();
        let per_rep: Vec<RepView> = plan
            .per_rep
            .iter()
            .map(|s| RepView {
                rep_id: self.request.reps[s.rep].rep_id,
                stops: s.stops,
                distance_m: s.distance_m,
                work_min: s.work_min,
                days_used: s.days_used,
                explanation: s.explanation.clone(),
            })
            .collect();
        let unassigned: Vec<UnassignedView> = plan
            .unassigned
            .iter()
            .map(|u| UnassignedView {
                customer_id: self.customers[u.site].id,
                name: self.customers[u.site].name.clone(),
                code: u.code(),
                reason: u.describe(self.input),
            })
            .collect();
        let mut explanation: Vec<String> = per_rep.iter().map(|r| r.explanation.clone()).collect();
        if !unassigned.is_empty() {
            explanation.push(format!(
                "{} of {} customers fit in no rep's day; see unassigned.",
                unassigned.len(),
                self.customers.len()
            ));
        }
        TeamPlanAnswer {
            routes,
            per_rep,
            unassigned,
            explanation: explanation.join(" "),
            published_task_ids: Vec::new(),
        }
    }
}

/// Creates one task per planned stop, assigned to the rep, in one transaction, through the
/// same storage path as `POST /v1/tasks`: each reaches its rep's phone through the feed.
async fn publish(
    state: &AppState,
    caller: &User,
    view: &View<'_>,
    plan: &TeamPlan,
) -> ApiResult<Vec<TaskId>> {
    let mut updates = Vec::new();
    let mut ids = Vec::new();
    for route in &plan.routes {
        let rep = &view.input.reps[route.rep];
        let midnight = midnight_ms(view.dates[route.day], view.offset);
        let date = &view.request.dates[route.day];
        let count = route.stops.len();
        for (k, stop) in route.stops.iter().enumerate() {
            let customer = &view.customers[stop.site];
            let task = Task {
                id: TaskId::new(),
                kind: TaskKind::CustomerVisit,
                title: format!("Visit {}", customer.name),
                goal: String::new(),
                deadline_ms: Some(ms_after(midnight, rep.day_end_s)),
                place: Some(customer.place.clone()),
                customer_id: Some(customer.id),
                assignee_id: Some(view.request.reps[route.rep].rep_id),
                status: TaskStatus::Open,
                notes: format!(
                    "planned stop {} of {count} on {date}: arrive about {}, leave about {} (team plan)",
                    k + 1,
                    clock(stop.arrive_s),
                    clock(stop.depart_s)
                ),
            };
            updates.push(tasks::creation(state, &task)?);
            ids.push(task.id);
        }
    }
    if updates.is_empty() {
        return Ok(ids);
    }
    let results = state.storage.update_docs(caller.org_id, updates).await?;
    if results.len() != ids.len() || results.iter().any(|r| !matches!(r, DocResult::Written(_))) {
        tracing::error!(?results, "publishing a team plan stored not every task");
        return Err(internal());
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::geo::{WorkWindow, WorkingHours};

    use super::*;

    #[test]
    fn travel_modes_are_known_by_their_short_and_long_names() {
        assert_eq!(travel_mode("drive"), Some(TravelMode::Driving));
        assert_eq!(travel_mode("walking"), Some(TravelMode::Walking));
        assert_eq!(travel_mode("bike"), Some(TravelMode::Cycling));
        assert_eq!(travel_mode("fly"), None);
    }

    #[test]
    fn the_org_day_runs_from_the_earliest_window_start_to_the_latest_end() {
        let hours = WorkingHours::weekdays(UtcOffset::CHINA, WorkWindow::hm(8, 30, 12, 0).expect("ok"));
        let mut settings = OrgSettings { working_hours: hours, ..OrgSettings::default() };
        settings.working_hours.windows.push(WorkWindow::hm(13, 0, 17, 30).expect("ok"));
        assert_eq!(org_day(&settings), (510, 1050));
        settings.working_hours.windows = vec![WorkWindow::hm(22, 0, 6, 0).expect("ok")];
        assert_eq!(org_day(&settings), FALLBACK_DAY_MIN);
    }

    #[test]
    fn local_times_become_unix_milliseconds_in_the_orgs_offset() {
        let date = CivilDate::new(2026, 11, 30).expect("a date");
        // 2026-11-30T00:00+08:00 is 2026-11-29T16:00Z.
        assert_eq!(midnight_ms(date, UtcOffset::CHINA), 1_795_996_800_000 - 8 * 3_600_000);
        assert_eq!(ms_after(0, 9.5 * 3600.0), 34_200_000);
        assert_eq!(clock(9.5 * 3600.0 + 29.0), "09:30");
    }

    #[test]
    fn a_day_must_end_after_it_starts_and_by_midnight() {
        let rep = |start, end| RepRequest {
            rep_id: UserId::new(),
            start: WgsPoint::new(31.2, 121.4).expect("on the globe"),
            end: None,
            day_start_min: start,
            day_end_min: end,
        };
        assert_eq!(rep_day(&rep(None, None), (540, 1080)), Ok((540, 1080)));
        assert_eq!(rep_day(&rep(Some(600), None), (540, 1080)), Ok((600, 1080)));
        let err = rep_day(&rep(Some(600), Some(600)), (540, 1080)).expect_err("empty day");
        assert!(
            err.message.contains("ends at minute 600, not after it starts at minute 600"),
            "{}",
            err.message
        );
        let err = rep_day(&rep(None, Some(1500)), (540, 1080)).expect_err("past midnight");
        assert!(err.message.contains("minute 1500, past midnight"), "{}", err.message);
    }
}
