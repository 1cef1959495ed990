//! "Plan my day": today's open tasks in the best order from where the rep is now, solved on
//! the phone (exact up to 13 stops, local search beyond), saved as a day-plan fact that syncs
//! to the manager. Re-planning is the same call; the engine says when one is due (a visit ran
//! long, a task arrived).
//!
//! Travel times come from the day's matrix when the app supplied one (from Amap, Baidu or
//! OSRM, for the points [`FieldKit::plan_points`] lists; kept for the day), else from the
//! offline model (straight line × detour factor, average speed). Legs the matrix does not
//! cover (the rep's current position, usually) use the offline model.

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::{FactId, TaskId, UserId};
use fieldkit_domain::model::{
    DayPlan, PlanTrigger, PlannedStop, Task, TaskStatus, UnplannedReason, UnplannedTask, WgsPoint,
};
use fieldkit_domain::protocol::Fact;
use fieldkit_domain::route::{
    Iterations, Matrix, OfflineModel, Problem, SolveOptions, Stop, TravelMatrices, TravelMode, Unserved,
    solve,
};

use super::{FieldKit, settings};
use crate::error::{Error, Result};
use crate::session;
use crate::store::{facts, meta, outbox, parse_json, tasks, to_json};
use crate::time::now_ms;

const MS_PER_DAY: i64 = 86_400_000;
/// Local-search rounds for days above the exact solver's size (deterministic, a few ms).
const SEARCH_ROUNDS: u64 = 20_000;
/// How far behind the plan the rep may fall before a re-plan is due.
const LATE_MS: i64 = 15 * 60_000;

/// How to plan the day.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PlanOptions {
    /// Minutes spent at each stop.
    pub service_min: u32,
    /// How the rep travels (average speed and detour factor).
    pub mode: TravelMode,
    /// Where the day ends (office or home); `None` ends at the last stop.
    pub end: Option<WgsPoint>,
    /// Why this plan is made.
    pub trigger: PlanTrigger,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self { service_min: 30, mode: TravelMode::Driving, end: None, trigger: PlanTrigger::Requested }
    }
}

/// The travel matrix the app supplied for a day, kept in the database.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct DayMatrix {
    date: CivilDate,
    points: Vec<WgsPoint>,
    distance_m: Vec<f64>,
    duration_s: Vec<f64>,
}

impl DayMatrix {
    fn index(&self, point: WgsPoint) -> Option<usize> {
        self.points.iter().position(|p| *p == point)
    }
}

impl FieldKit {
    /// The places today's plan routes between, in the order a supplied matrix must follow:
    /// the open tasks' places (tasks without one are left off), then `end` if given. The app
    /// asks its map service for the matrix between these (and, if it likes, the rep's
    /// position) and hands it to [`Self::set_travel_matrix`].
    pub fn plan_points(&self, end: Option<WgsPoint>) -> Result<Vec<WgsPoint>> {
        let rep = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        let now = now_ms();
        let (todo, _, _) = self.store.read(|conn| todays_tasks(conn, rep, now))?;
        let mut points: Vec<WgsPoint> =
            todo.iter().filter_map(|t| t.place.as_ref().map(|p| p.point)).collect();
        points.extend(end);
        Ok(points)
    }

    /// Keeps a road matrix for today: `distance_m[i * n + j]` and `duration_s[i * n + j]`
    /// from `points[i]` to `points[j]` (asymmetric allowed). Refused whole, and nothing kept,
    /// when a value is negative or not a number or the sizes disagree. Replaces the previous
    /// one; a matrix from an earlier day is ignored.
    pub fn set_travel_matrix(
        &self,
        points: Vec<WgsPoint>,
        distance_m: Vec<f64>,
        duration_s: Vec<f64>,
    ) -> Result<()> {
        let n = points.len();
        TravelMatrices::new(
            Matrix::from_flat(n, distance_m.clone())?,
            Matrix::from_flat(n, duration_s.clone())?,
        )?;
        let now = now_ms();
        self.store.write(|tx| {
            let (date, _) = settings::load(tx)?.working_hours.offset.local(now);
            let matrix = DayMatrix { date, points, distance_m, duration_s };
            meta::set(tx, meta::TRAVEL_MATRIX, &to_json(&matrix))
        })
    }

    /// Plans the rest of today from `position`: the rep's open and in-progress tasks with a
    /// place, each visit `service_min` long, each before its deadline, all before the end of
    /// the org's working day. The plan is stored as a fact and queued for sync. Offline.
    pub fn plan_my_day(&self, position: WgsPoint, options: PlanOptions) -> Result<DayPlan> {
        let rep = self.store.read(session::load)?.ok_or(Error::NotLoggedIn)?.user.id;
        let now = now_ms();
        let (todo, day_end_ms, date) = self.store.read(|conn| todays_tasks(conn, rep, now))?;
        let supplied: Option<DayMatrix> = self
            .store
            .read(|conn| {
                meta::get(conn, meta::TRAVEL_MATRIX)?.map(|s| parse_json("travel matrix", &s)).transpose()
            })?
            .filter(|m: &DayMatrix| m.date == date);

        let (placed, no_place): (Vec<&Task>, Vec<&Task>) = todo.iter().partition(|t| t.place.is_some());
        let mut points = vec![position];
        points.extend(placed.iter().filter_map(|t| t.place.as_ref().map(|p| p.point)));
        if let Some(end) = options.end {
            points.push(end);
        }
        let model = OfflineModel::for_mode(options.mode);
        let mut builder = Problem::builder(travel(&points, &model, supplied.as_ref())?, 0, 0.0)
            .day_ends_at(((day_end_ms - now).max(0) / 1000) as f64);
        if options.end.is_some() {
            builder = builder.end_at(points.len() - 1);
        }
        let service_s = f64::from(options.service_min) * 60.0;
        for (i, task) in placed.iter().enumerate() {
            let mut stop = Stop::at(i + 1).with_service(service_s);
            if let Some(deadline) = task.deadline_ms {
                stop = stop.with_window(0.0, ((deadline - now).max(0) / 1000) as f64);
            }
            builder = builder.stop(stop.optional(1));
        }
        let problem = builder.build()?;
        let route = solve(&problem, &SolveOptions::default(), &mut Iterations::new(SEARCH_ROUNDS));

        let at_s = |seconds: f64| now + (seconds * 1000.0) as i64;
        let stops = route
            .visits
            .iter()
            .map(|v| PlannedStop {
                task_id: placed[v.stop].id,
                customer_id: placed[v.stop].customer_id,
                arrive_ms: at_s(v.arrival),
                depart_ms: at_s(v.departure),
            })
            .collect();
        let mut unplanned: Vec<UnplannedTask> = no_place
            .iter()
            .map(|t| UnplannedTask { task_id: t.id, reason: UnplannedReason::NoPlace })
            .collect();
        unplanned.extend(route.unserved.iter().map(|u| UnplannedTask {
            task_id: placed[u.stop].id,
            reason: match u.reason {
                Unserved::WindowMissed { .. } => UnplannedReason::DeadlineMissed,
                _ => UnplannedReason::DayTooShort,
            },
        }));
        self.write_local(|tx, _| {
            let plan = DayPlan {
                id: FactId::new(),
                rep_id: rep,
                date,
                stops,
                unplanned,
                distance_m: route.distance,
                proven_optimal: route.proven_optimal,
                trigger: options.trigger,
                at: self.event_time(tx, now)?,
            };
            facts::insert(tx, &Fact::DayPlan(plan.clone()), None, now)?;
            outbox::append(tx, outbox::KIND_FACT, &plan.id.to_string(), now)?;
            tracing::debug!(stops = plan.stops.len(), optimal = plan.proven_optimal, "day planned");
            Ok(plan)
        })
    }

    /// Today's latest plan on this phone, if the rep made one.
    pub fn day_plan(&self) -> Result<Option<DayPlan>> {
        let now = now_ms();
        self.store.read(|conn| {
            let offset = settings::load(conn)?.working_hours.offset;
            let (today, _) = offset.local(now);
            latest_plan(conn, today, now)
        })
    }

    /// Whether today's plan should be made again, and why: a planned stop's departure is
    /// more than 15 minutes past while its task is still open or in progress (a visit ran
    /// long), or an open task for today is in neither the plan's stops nor its unplanned
    /// list (a task arrived). `None` when there is no plan or it still holds.
    pub fn replan_needed(&self) -> Result<Option<PlanTrigger>> {
        let now = now_ms();
        let Some(plan) = self.day_plan()? else { return Ok(None) };
        let rep = plan.rep_id;
        self.store.read(|conn| {
            let open: Vec<Task> = tasks::all(conn)?
                .into_iter()
                .filter(|t| t.assignee_id == Some(rep))
                .filter(|t| matches!(t.status, TaskStatus::Open | TaskStatus::InProgress))
                .collect();
            let known = |id: TaskId| {
                plan.stops.iter().any(|s| s.task_id == id) || plan.unplanned.iter().any(|u| u.task_id == id)
            };
            if open.iter().any(|t| !known(t.id)) {
                return Ok(Some(PlanTrigger::TaskAdded));
            }
            let running_late = plan
                .stops
                .iter()
                .any(|s| s.depart_ms + LATE_MS < now && open.iter().any(|t| t.id == s.task_id));
            Ok(running_late.then_some(PlanTrigger::VisitRanLong))
        })
    }
}

/// The rep's open and in-progress tasks not due before today, the end of today's working
/// day (Unix ms) and today's date, in the org's time zone.
fn todays_tasks(conn: &rusqlite::Connection, rep: UserId, now: i64) -> Result<(Vec<Task>, i64, CivilDate)> {
    let settings = settings::load(conn)?;
    let offset = settings.working_hours.offset;
    let (date, _) = offset.local(now);
    let midnight = date.to_days() * MS_PER_DAY - i64::from(offset.minutes()) * 60_000;
    let day_end = settings.working_hours.windows.iter().map(|w| i64::from(w.end_min())).max();
    let day_end_ms = day_end.map_or(midnight + MS_PER_DAY, |m| midnight + m * 60_000);
    let todo = tasks::all(conn)?
        .into_iter()
        .filter(|t| t.assignee_id == Some(rep))
        .filter(|t| matches!(t.status, TaskStatus::Open | TaskStatus::InProgress))
        .filter(|t| t.deadline_ms.is_none_or(|d| d >= midnight))
        .collect();
    Ok((todo, day_end_ms, date))
}

/// Travel between `points`: the supplied matrix where it covers both ends, the offline model
/// elsewhere.
fn travel(points: &[WgsPoint], model: &OfflineModel, supplied: Option<&DayMatrix>) -> Result<TravelMatrices> {
    let n = points.len();
    let lookup = |a: usize, b: usize, values: fn(&DayMatrix) -> &[f64]| {
        let m = supplied?;
        let (i, j) = (m.index(points[a])?, m.index(points[b])?);
        values(m).get(i * m.points.len() + j).copied()
    };
    let distance = Matrix::from_fn(n, |a, b| {
        lookup(a, b, |m| &m.distance_m).unwrap_or_else(|| model.distance_m(points[a], points[b]))
    })?;
    let duration = Matrix::from_fn(n, |a, b| {
        lookup(a, b, |m| &m.duration_s).unwrap_or_else(|| model.duration_s(points[a], points[b]))
    })?;
    Ok(TravelMatrices::new(distance, duration)?)
}

/// The last plan recorded for `date` (plans are recorded on the day they are for).
fn latest_plan(conn: &rusqlite::Connection, date: CivilDate, now: i64) -> Result<Option<DayPlan>> {
    let plans = facts::recorded_between(conn, "day_plan", now - 2 * MS_PER_DAY, now + MS_PER_DAY)?;
    Ok(plans.into_iter().rev().find_map(|f| match f {
        Fact::DayPlan(plan) if plan.date == date => Some(plan),
        _ => None,
    }))
}
