//! Smart assignment: ranks the reps who could take a task, best first, with the reasons.
//!
//! Pure: no I/O and no clock; the handler (`routes/assign.rs`) gathers each rep's position,
//! load, customers and plan. Every candidate starts at [`BASE_SCORE`] points and then:
//!
//! | term | points |
//! |---|---|
//! | straight-line distance from the rep's position to the task | − [`PER_KM_DISTANCE`] per km |
//! | extra road distance the task adds to the rep's day (insertion cost) | − [`PER_KM_INSERTION`] per km |
//! | open or in-progress tasks due today or undated | − [`PER_OPEN_TASK`] each |
//! | the rep owns the task's customer | + [`OWNER_BONUS`] |
//! | the rep owns other customers of the task customer's grade | + [`GRADE_BONUS`] |
//! | the rep's position is unknown | − [`UNKNOWN_PENALTY`] |
//!
//! The position is the rep's last point (if taken today within working hours), else their
//! base (the centroid of the customers they own), else unknown. Reps with a known position
//! always rank before reps without one; among equals the higher score (rounded to 0.01)
//! wins, then the smaller rep id, so the order is deterministic.
//!
//! The insertion cost is the cheapest place to slot the task into the rep's planned stops
//! of today (before the first, counted from their position when known; between two; after
//! the last), with road distance estimated offline ([`OfflineModel`]: haversine × detour).
//! Without a plan it is the road distance from the position.

use fieldkit_domain::geo::haversine_m;
use fieldkit_domain::ids::UserId;
use fieldkit_domain::model::{Grade, WgsPoint};
use fieldkit_domain::route::OfflineModel;

/// Points every candidate starts with.
pub const BASE_SCORE: f64 = 100.0;
/// Points lost per kilometre between the rep's position and the task.
pub const PER_KM_DISTANCE: f64 = 2.0;
/// Points lost per kilometre of road the task adds to the rep's day.
pub const PER_KM_INSERTION: f64 = 1.0;
/// Points lost per open task the rep already has today.
pub const PER_OPEN_TASK: f64 = 3.0;
/// Points won by the owner of the task's customer.
pub const OWNER_BONUS: f64 = 15.0;
/// Points won by a rep who owns other customers of the same grade.
pub const GRADE_BONUS: f64 = 2.0;
/// Points lost when nothing tells where the rep is.
pub const UNKNOWN_PENALTY: f64 = 50.0;

/// Where a rep is taken to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Position {
    /// Their latest location point, taken today within working hours.
    Last {
        /// Where.
        point: WgsPoint,
        /// When, minutes after local midnight.
        at_min: u16,
    },
    /// The centroid of the customers they own (no usable point).
    Base {
        /// Where.
        point: WgsPoint,
        /// How many customers it averages.
        customers: usize,
    },
    /// Neither a point today nor owned customers.
    Unknown,
}

impl Position {
    /// The point, when known.
    #[must_use]
    pub fn point(&self) -> Option<WgsPoint> {
        match *self {
            Position::Last { point, .. } | Position::Base { point, .. } => Some(point),
            Position::Unknown => None,
        }
    }
}

/// What is known of one rep.
#[derive(Debug, Clone, PartialEq)]
pub struct RepFacts {
    /// The rep.
    pub rep_id: UserId,
    /// Their display name.
    pub name: String,
    /// Where they are taken to be.
    pub position: Position,
    /// Their open and in-progress tasks due today or undated (the task ranked excluded).
    pub open_tasks: u32,
    /// Whether they own the task's customer.
    pub owns_customer: bool,
    /// How many other customers of the task customer's grade they own.
    pub same_grade_customers: u32,
    /// The points of their latest plan of today, in visiting order (`None`: no plan today).
    pub plan: Option<Vec<WgsPoint>>,
}

/// The task to place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// Where the work is.
    pub point: WgsPoint,
    /// The grade of its customer, if it has one.
    pub grade: Option<Grade>,
}

/// A ranked rep.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The rep.
    pub rep_id: UserId,
    /// Their display name.
    pub name: String,
    /// Points (higher is better), rounded to 0.01.
    pub score: f64,
    /// Straight-line metres from their position (`None`: position unknown).
    pub distance_m: Option<u64>,
    /// Their open tasks today.
    pub open_tasks: u32,
    /// Road metres the task adds to their day (`None`: position unknown and no plan).
    pub insertion_m: Option<u64>,
    /// Why, one short sentence per term.
    pub reasons: Vec<String>,
    known: bool,
}

/// The centroid of `points` (a plain average of coordinates: customers of one rep lie
/// within a city), `None` for none.
#[must_use]
pub fn centroid(points: &[WgsPoint]) -> Option<WgsPoint> {
    if points.is_empty() {
        return None;
    }
    let n = points.len() as f64;
    let lat = points.iter().map(|p| p.lat()).sum::<f64>() / n;
    let lng = points.iter().map(|p| p.lng()).sum::<f64>() / n;
    WgsPoint::new(lat, lng).ok()
}

/// Road metres that visiting `target` adds to a day starting at `start` (if known) and
/// visiting `stops` in order: the cheapest of inserting it before the first stop, between
/// two stops, or after the last. With no stops: the way from `start` (`None` if unknown).
#[must_use]
pub fn insertion_m(
    model: &OfflineModel,
    start: Option<WgsPoint>,
    stops: &[WgsPoint],
    target: WgsPoint,
) -> Option<f64> {
    let d = |a: WgsPoint, b: WgsPoint| model.distance_m(a, b);
    let Some((&first, _)) = stops.split_first() else {
        return start.map(|s| d(s, target));
    };
    let before_first = match start {
        Some(s) => d(s, target) + d(target, first) - d(s, first),
        None => d(target, first),
    };
    let between = stops.windows(2).map(|w| d(w[0], target) + d(target, w[1]) - d(w[0], w[1]));
    let after_last = stops.last().map(|&last| d(last, target));
    std::iter::once(before_first).chain(between).chain(after_last).reduce(f64::min).map(|m| m.max(0.0))
}

fn km(metres: f64) -> String {
    format!("{:.1} km", metres / 1000.0)
}

fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Scores one rep (see the module documentation for the weights).
fn score(model: &OfflineModel, target: &Target, rep: RepFacts) -> Candidate {
    let mut points = BASE_SCORE;
    let mut reasons = Vec::new();
    let position = rep.position.point();
    let distance = position.map(|p| haversine_m(p, target.point));
    match (rep.position, distance) {
        (Position::Last { at_min, .. }, Some(d)) => {
            reasons.push(format!("{} from last position at {}", km(d), clock(at_min)));
        }
        (Position::Base { customers, .. }, Some(d)) => reasons.push(format!(
            "no position today within working hours: {} from base (centroid of {} customers they own)",
            km(d),
            customers
        )),
        _ => {
            points -= UNKNOWN_PENALTY;
            reasons.push(
                "position unknown: no point today within working hours and no customers owned".to_owned(),
            );
        }
    }
    if let Some(d) = distance {
        points -= PER_KM_DISTANCE * d / 1000.0;
    }
    let plan = rep.plan.as_deref();
    let insertion = insertion_m(model, position, plan.unwrap_or(&[]), target.point);
    if let Some(added) = insertion {
        points -= PER_KM_INSERTION * added / 1000.0;
        reasons.push(match plan {
            Some(stops) if !stops.is_empty() => {
                format!("adds {} to today's plan of {} stops", km(added), stops.len())
            }
            _ => format!("no plan today: {} by road from position", km(added)),
        });
    }
    points -= PER_OPEN_TASK * f64::from(rep.open_tasks);
    reasons.push(match rep.open_tasks {
        0 => "no open tasks today".to_owned(),
        1 => "1 open task today".to_owned(),
        n => format!("{n} open tasks today"),
    });
    if rep.owns_customer {
        points += OWNER_BONUS;
        reasons.push("owns the task's customer".to_owned());
    }
    if rep.same_grade_customers > 0
        && let Some(grade) = target.grade
    {
        points += GRADE_BONUS;
        reasons.push(format!("owns {} other grade {grade:?} customers", rep.same_grade_customers));
    }
    Candidate {
        rep_id: rep.rep_id,
        name: rep.name,
        score: round2(points),
        distance_m: distance.map(|d| d.round() as u64),
        open_tasks: rep.open_tasks,
        insertion_m: insertion.map(|m| m.round() as u64),
        reasons,
        known: position.is_some(),
    }
}

/// Ranks `reps` for `target`, best first: known positions first, then by score, then by
/// rep id. The nearest known rep's first reason starts with `nearest: `.
#[must_use]
pub fn rank(model: &OfflineModel, target: &Target, reps: Vec<RepFacts>) -> Vec<Candidate> {
    let mut ranked: Vec<Candidate> = reps.into_iter().map(|rep| score(model, target, rep)).collect();
    ranked.sort_by(|a, b| {
        b.known.cmp(&a.known).then(b.score.total_cmp(&a.score)).then(a.rep_id.cmp(&b.rep_id))
    });
    let nearest = ranked
        .iter_mut()
        .filter(|c| c.distance_m.is_some())
        .min_by(|a, b| a.distance_m.cmp(&b.distance_m).then(a.rep_id.cmp(&b.rep_id)));
    if let Some(first) = nearest.and_then(|c| c.reasons.first_mut()) {
        first.insert_str(0, "nearest: ");
    }
    ranked
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::geo::LocalFrame;
    use fieldkit_domain::route::TravelMode;

    use super::*;

    fn task_point() -> WgsPoint {
        WgsPoint::new(31.2304, 121.4737).expect("on the globe")
    }

    /// A point `east_m` metres east of the task.
    fn east(east_m: f64) -> WgsPoint {
        LocalFrame::new(task_point()).to_point(east_m, 0.0).expect("on the globe")
    }

    fn driving() -> OfflineModel {
        OfflineModel::for_mode(TravelMode::Driving)
    }

    fn rep(n: u128, position: Position) -> RepFacts {
        RepFacts {
            rep_id: UserId(uuid::Uuid::from_u128(n)),
            name: format!("rep{n}"),
            position,
            open_tasks: 0,
            owns_customer: false,
            same_grade_customers: 0,
            plan: None,
        }
    }

    fn at(east_m: f64) -> Position {
        Position::Last { point: east(east_m), at_min: 10 * 60 + 42 }
    }

    fn target() -> Target {
        Target { point: task_point(), grade: Some(Grade::A) }
    }

    #[test]
    fn nearer_reps_rank_first_with_the_distance_in_the_reason() {
        let reps = vec![rep(1, at(10_000.0)), rep(2, at(1_000.0)), rep(3, at(5_000.0))];
        let ranked = rank(&driving(), &target(), reps);
        let names: Vec<&str> = ranked.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["rep2", "rep3", "rep1"]);
        assert_eq!(ranked[0].reasons[0], "nearest: 1.0 km from last position at 10:42");
        assert_eq!(ranked[1].reasons[0], "5.0 km from last position at 10:42");
        // 100 − 2 × 1 km − 1 × 1.4 km by road.
        assert_eq!(ranked[0].score, 96.6);
        assert_eq!(ranked[0].insertion_m, Some(1400));
        assert_eq!(ranked[0].reasons[1], "no plan today: 1.4 km by road from position");
    }

    #[test]
    fn a_large_load_outweighs_a_short_distance() {
        let mut busy = rep(1, at(1_000.0));
        busy.open_tasks = 6;
        let free = rep(2, at(3_000.0));
        let ranked = rank(&driving(), &target(), vec![busy, free]);
        // Busy: 100 − 2 − 1.4 − 18 = 78.6; free: 100 − 6 − 4.2 = 89.8.
        assert_eq!((ranked[0].name.as_str(), ranked[0].score), ("rep2", 89.8));
        assert_eq!((ranked[1].name.as_str(), ranked[1].score), ("rep1", 78.6));
        assert!(ranked[1].reasons.contains(&"6 open tasks today".to_owned()));
    }

    #[test]
    fn the_owner_and_same_grade_reps_get_their_bonuses() {
        let mut owner = rep(1, at(5_000.0));
        owner.owns_customer = true;
        let mut grade = rep(2, at(1_000.0));
        grade.same_grade_customers = 3;
        let ranked = rank(&driving(), &target(), vec![owner, grade]);
        // Owner: 100 − 10 − 7 + 15 = 98; same grade: 100 − 2 − 1.4 + 2 = 98.6.
        assert_eq!(ranked[0].score, 98.6);
        assert_eq!(ranked[1].score, 98.0);
        assert!(ranked[1].reasons.contains(&"owns the task's customer".to_owned()));
        assert!(ranked[0].reasons.contains(&"owns 3 other grade A customers".to_owned()));
    }

    #[test]
    fn reps_without_a_known_position_rank_last_whatever_their_bonus() {
        let mut lost = rep(1, Position::Unknown);
        lost.owns_customer = true;
        let base = rep(2, Position::Base { point: east(20_000.0), customers: 2 });
        let ranked = rank(&driving(), &target(), vec![lost, base]);
        assert_eq!(ranked[0].name, "rep2");
        assert!(ranked[0].reasons[0].contains("from base (centroid of 2 customers they own)"));
        assert_eq!(ranked[1].distance_m, None);
        assert_eq!(ranked[1].insertion_m, None);
        assert!(ranked[1].reasons[0].starts_with("position unknown"));
    }

    #[test]
    fn equal_scores_are_ordered_by_rep_id() {
        let ranked = rank(&driving(), &target(), vec![rep(9, at(2_000.0)), rep(3, at(2_000.0))]);
        assert_eq!(ranked[0].name, "rep3");
        assert_eq!(ranked[0].score, ranked[1].score);
    }

    #[test]
    fn the_cheapest_insertion_slots_the_task_between_the_stops_it_lies_between() {
        let model = driving();
        // Stops 2 km west and 2 km east: the task lies on the way, adding nothing.
        let stops = [east(-2_000.0), east(2_000.0)];
        let added = insertion_m(&model, None, &stops, task_point()).expect("a plan");
        assert!(added < 1.0, "{added}");
        // Both stops east: cheapest before the first, from the position 1 km west.
        let stops = [east(2_000.0), east(4_000.0)];
        let added = insertion_m(&model, Some(east(-1_000.0)), &stops, task_point()).expect("a plan");
        assert!(added < 1.0, "on the way from the position: {added}");
        // Without the position, the cheapest is the way to the first stop: 2 km × 1.4.
        let added = insertion_m(&model, None, &stops, task_point()).expect("a plan");
        assert!((added - 2_800.0).abs() < 5.0, "{added}");
        assert_eq!(insertion_m(&model, None, &[], task_point()), None);
    }

    #[test]
    fn a_plan_reason_names_its_stops() {
        let mut planned = rep(1, at(1_000.0));
        planned.plan = Some(vec![east(-2_000.0), east(2_000.0)]);
        let ranked = rank(&driving(), &target(), vec![planned]);
        assert_eq!(ranked[0].reasons[1], "adds 0.0 km to today's plan of 2 stops");
        assert_eq!(ranked[0].insertion_m, Some(0));
    }

    #[test]
    fn the_centroid_averages_the_points() {
        let c = centroid(&[east(-1_000.0), east(1_000.0)]).expect("two points");
        assert!(haversine_m(c, task_point()) < 1.0);
        assert_eq!(centroid(&[]), None);
    }
}
