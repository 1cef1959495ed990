//! Supervisor planning: splits the customers to visit among a team's reps and working days,
//! then routes each rep's day with the domain's solver ([`fieldkit_domain::route::solve`]).
//!
//! Pure: no I/O and no clock, and the same input gives the same plan. Times are seconds after
//! local midnight of the day planned; travel comes from an [`OfflineModel`] (straight line ×
//! detour factor, a speed per mode). Every step is simple enough to explain to the reps:
//!
//! 1. **Whose stop.** A customer owned by one of the reps goes to that rep; any other to the
//!    rep whose start is nearest (ties: the rep listed first).
//! 2. **Which day.** A rep's customers are swept by bearing around their start, beginning
//!    after the widest empty sector, and cut into the days so that each day gets about the
//!    same estimated work (visit time plus travel to the nearest other stop or the start).
//! 3. **Route.** Each rep-day is solved from the rep's start to their end, within their
//!    hours, with the service time at every stop: exact up to 13 stops, local search above
//!    (a fixed number of rounds, so the answer is deterministic).
//! 4. **Overflow.** Stops a day could not fit are taken in input order and inserted where
//!    they add the least distance and the day still ends in time — in the owner's days first
//!    when the customer has an owner among the reps, then in any rep's day. Those no day can
//!    take are reported with the reason, never dropped.
//! 5. **Polish.** A day that took extra stops is solved again; the new order is kept if it
//!    serves them all at no greater distance.
//!
//! Not balanced beyond that: a rep with few customers gets light days; a rep whose
//! neighbourhood has more work than their days hold passes the excess on to whoever can
//! take it most cheaply.

use std::f64::consts::TAU;

use fieldkit_domain::model::WgsPoint;
use fieldkit_domain::route::{
    Iterations, Matrix, OfflineModel, Problem, RouteError, Solution, SolveOptions, Stop, TravelMatrices,
    solve,
};

/// Local-search rounds for a day with more stops than the exact solver takes.
const SEARCH_ROUNDS: u64 = 200;
/// Distances that differ by less than this are equal (metres).
const EPS_M: f64 = 1e-6;

/// A rep to plan for.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRep {
    /// How the explanation names the rep.
    pub label: String,
    /// Where each day starts.
    pub start: WgsPoint,
    /// Where each day ends (the start, for a rep who goes back).
    pub end: WgsPoint,
    /// When the working day starts, seconds after local midnight.
    pub day_start_s: f64,
    /// When the working day ends, seconds after local midnight (after the start).
    pub day_end_s: f64,
}

/// A customer to visit once in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanSite {
    /// Where the customer is.
    pub point: WgsPoint,
    /// The rep who owns the account, as an index into [`PlanInput::reps`], if they are
    /// among the reps planned for.
    pub owner: Option<usize>,
}

/// What to plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInput {
    /// The reps, in the order the answer lists them.
    pub reps: Vec<PlanRep>,
    /// The customers, each visited at most once.
    pub sites: Vec<PlanSite>,
    /// How many working days the period has (every rep works every day).
    pub days: usize,
    /// Time spent at each customer, seconds.
    pub service_s: f64,
    /// How travel distance and time are estimated.
    pub model: OfflineModel,
}

/// Why a stop went to the rep who visits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The rep owns the customer.
    Owner,
    /// The customer is nearer the rep's start than any other rep's.
    Nearest,
    /// The rep it was first given to (an index into the reps) had no room for it.
    Moved {
        /// The rep first given the stop.
        from: usize,
    },
}

/// A visit in a planned day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedStop {
    /// The customer, as an index into [`PlanInput::sites`].
    pub site: usize,
    /// When the rep arrives, seconds after local midnight.
    pub arrive_s: f64,
    /// When the rep leaves, seconds after local midnight.
    pub depart_s: f64,
    /// Why this rep visits it.
    pub why: Why,
}

/// One rep's route on one day (only days with at least one stop are listed).
#[derive(Debug, Clone, PartialEq)]
pub struct DayRoute {
    /// The rep, as an index into [`PlanInput::reps`].
    pub rep: usize,
    /// The day, `0..days`.
    pub day: usize,
    /// The visits in order.
    pub stops: Vec<PlannedStop>,
    /// Distance from the start to the end, metres.
    pub distance_m: f64,
    /// From leaving the start to arriving at the end, seconds.
    pub work_s: f64,
    /// Whether no shorter order of these stops exists (the exact solver's answer).
    pub proven_optimal: bool,
}

impl DayRoute {
    /// The distance in whole metres, as reported and summed per rep.
    #[must_use]
    pub fn whole_m(&self) -> u64 {
        self.distance_m.round().max(0.0) as u64
    }

    /// The working time in whole minutes, as reported and summed per rep.
    #[must_use]
    pub fn work_min(&self) -> u64 {
        (self.work_s / 60.0).round().max(0.0) as u64
    }
}

/// Why a customer is in no route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnassignedReason {
    /// Even alone, no rep gets there and to their end within their working day; `rep` is
    /// the one who would come closest.
    TooFar {
        /// The rep needing the least time for it.
        rep: usize,
        /// What that rep would need: start, visit, end, seconds.
        needs_s: f64,
        /// That rep's working day, seconds.
        day_s: f64,
    },
    /// It would fit in an empty day, but every day is already full with other stops.
    NoRoom,
    /// There is no rep or no day to plan.
    NothingToPlan,
}

/// A customer in no route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unassigned {
    /// The customer, as an index into [`PlanInput::sites`].
    pub site: usize,
    /// Why.
    pub reason: UnassignedReason,
}

impl Unassigned {
    /// A stable snake_case code for the reason.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self.reason {
            UnassignedReason::TooFar { .. } => "too_far",
            UnassignedReason::NoRoom => "no_room",
            UnassignedReason::NothingToPlan => "nothing_to_plan",
        }
    }

    /// The reason in plain words, naming the rep and the minutes involved.
    #[must_use]
    pub fn describe(&self, input: &PlanInput) -> String {
        match self.reason {
            UnassignedReason::TooFar { rep, needs_s, day_s } => format!(
                "too far for every rep even alone: {}, who would need the least, needs {} min from \
                 start to end for a {} min day",
                label(input, rep),
                minutes(needs_s),
                minutes(day_s)
            ),
            UnassignedReason::NoRoom => {
                let (reps, days) = (input.reps.len(), input.days);
                let which = if reps * days == 1 {
                    "the only rep-day".to_owned()
                } else {
                    format!("each of the {} rep-days", reps * days)
                };
                format!(
                    "no room: {which} ({} × {}) would end after working hours with it",
                    plural(reps, "rep", "reps"),
                    plural(days, "day", "days")
                )
            }
            UnassignedReason::NothingToPlan => "no rep or no day to plan".to_owned(),
        }
    }
}

/// One rep's share of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct RepSummary {
    /// The rep, as an index into [`PlanInput::reps`].
    pub rep: usize,
    /// Stops over all days.
    pub stops: usize,
    /// Days with at least one stop.
    pub days_used: usize,
    /// Total distance, metres: the sum of the days' [`DayRoute::whole_m`].
    pub distance_m: u64,
    /// Total working time, minutes: the sum of the days' [`DayRoute::work_min`].
    pub work_min: u64,
    /// Stops of customers the rep owns.
    pub owned: usize,
    /// Stops nearer their start than any other rep's.
    pub nearest: usize,
    /// Stops taken over from other reps who had no room.
    pub taken_over: usize,
    /// Their own or nearest customers that went to other reps.
    pub given_away: usize,
    /// Their own or nearest customers that fit nowhere.
    pub unplaced: usize,
    /// One or two sentences on why the rep got these stops.
    pub explanation: String,
}

/// The plan.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamPlan {
    /// The days with stops, by rep then day.
    pub routes: Vec<DayRoute>,
    /// One summary per rep, in the reps' order.
    pub per_rep: Vec<RepSummary>,
    /// Customers in no route, in input order.
    pub unassigned: Vec<Unassigned>,
}

/// Plans the period: splits the sites among the reps and days and routes each day (see the
/// module documentation for how). Fails only on input the caller should have refused (a
/// day ending before it starts, a negative service time).
pub fn plan(input: &PlanInput) -> Result<TeamPlan, RouteError> {
    let world = World::new(input);
    let (reps, days) = (input.reps.len(), input.days);
    if reps == 0 || days == 0 {
        let unassigned = (0..input.sites.len())
            .map(|site| Unassigned { site, reason: UnassignedReason::NothingToPlan })
            .collect();
        return Ok(TeamPlan { routes: Vec::new(), per_rep: Vec::new(), unassigned });
    }

    // 1. Whose stop.
    let first: Vec<(usize, Why)> = (0..input.sites.len()).map(|s| first_rep(input, &world, s)).collect();

    // 2–3. Split each rep's stops into days and route each day; what does not fit is pooled.
    let mut buckets: Vec<Bucket> = Vec::with_capacity(reps * days);
    let mut pool = Vec::new();
    for rep in 0..reps {
        let mine: Vec<usize> = (0..input.sites.len()).filter(|&s| first[s].0 == rep).collect();
        for (day, sites) in split_days(input, &world, rep, &mine).into_iter().enumerate() {
            let mut bucket = Bucket { rep, day, order: Vec::new(), solution: None };
            if !sites.is_empty() {
                let (_, solution) = route(input, &world, rep, &sites)?;
                pool.extend(solution.unserved.iter().map(|u| sites[u.stop]));
                bucket.order = solution.order().into_iter().map(|stop| sites[stop]).collect();
                bucket.solution = Some((solution, sites));
            }
            buckets.push(bucket);
        }
    }

    // 4. Overflow.
    let unassigned = overflow(input, &world, &mut buckets, pool);

    // 5. Polish the days that changed, then report.
    let mut routes = Vec::new();
    for bucket in &mut buckets {
        if bucket.order.is_empty() {
            continue;
        }
        let (solution, stop_sites) = match bucket.solution.take() {
            Some(solved) => solved,
            None => (polish(input, &world, bucket.rep, &bucket.order)?, bucket.order.clone()),
        };
        let stops = solution
            .visits
            .iter()
            .map(|v| {
                let site = stop_sites[v.stop];
                let (first_rep, first_why) = first[site];
                let why = if first_rep == bucket.rep { first_why } else { Why::Moved { from: first_rep } };
                PlannedStop { site, arrive_s: v.arrival, depart_s: v.departure, why }
            })
            .collect();
        routes.push(DayRoute {
            rep: bucket.rep,
            day: bucket.day,
            stops,
            distance_m: solution.distance,
            work_s: solution.finish_time - solution.start_time,
            proven_optimal: solution.proven_optimal,
        });
    }
    let per_rep = (0..reps).map(|rep| summary(input, &first, &routes, &unassigned, rep)).collect();
    Ok(TeamPlan { routes, per_rep, unassigned })
}

/// Offline distances and times between every place of the plan: rep `r`'s start is location
/// `r`, their end `reps + r`, site `s` is `2 * reps + s`.
struct World {
    reps: usize,
    size: usize,
    distance: Vec<f64>,
    time: Vec<f64>,
}

impl World {
    fn new(input: &PlanInput) -> Self {
        let points: Vec<WgsPoint> = input
            .reps
            .iter()
            .map(|r| r.start)
            .chain(input.reps.iter().map(|r| r.end))
            .chain(input.sites.iter().map(|s| s.point))
            .collect();
        let size = points.len();
        let mut distance = Vec::with_capacity(size * size);
        let mut time = Vec::with_capacity(size * size);
        for &a in &points {
            for &b in &points {
                distance.push(input.model.distance_m(a, b));
                time.push(input.model.duration_s(a, b));
            }
        }
        Self { reps: input.reps.len(), size, distance, time }
    }

    fn start(&self, rep: usize) -> usize {
        rep
    }

    fn end(&self, rep: usize) -> usize {
        self.reps + rep
    }

    fn site(&self, site: usize) -> usize {
        2 * self.reps + site
    }

    fn d(&self, a: usize, b: usize) -> f64 {
        self.distance[a * self.size + b]
    }

    fn t(&self, a: usize, b: usize) -> f64 {
        self.time[a * self.size + b]
    }
}

/// A rep's day being planned: the sites in visiting order and, until it changes, the
/// solver's route for them with the site of each of its stops.
struct Bucket {
    rep: usize,
    day: usize,
    order: Vec<usize>,
    solution: Option<(Solution, Vec<usize>)>,
}

/// Step 1: the owner among the reps, else the rep with the nearest start.
fn first_rep(input: &PlanInput, world: &World, site: usize) -> (usize, Why) {
    if let Some(owner) = input.sites[site].owner.filter(|&o| o < input.reps.len()) {
        return (owner, Why::Owner);
    }
    let at = world.site(site);
    let nearest = (0..input.reps.len())
        .min_by(|&a, &b| world.d(world.start(a), at).total_cmp(&world.d(world.start(b), at)).then(a.cmp(&b)))
        .unwrap_or(0);
    (nearest, Why::Nearest)
}

/// Step 2: `sites` of `rep` swept by bearing around their start and cut into `days` runs of
/// about equal estimated work.
fn split_days(input: &PlanInput, world: &World, rep: usize, sites: &[usize]) -> Vec<Vec<usize>> {
    let mut days = vec![Vec::new(); input.days];
    if sites.is_empty() {
        return days;
    }
    let start = input.reps[rep].start;
    let bearing = |site: usize| {
        let p = input.sites[site].point;
        let east = (p.lng() - start.lng()).to_radians() * start.lat().to_radians().cos();
        let north = (p.lat() - start.lat()).to_radians();
        let angle = north.atan2(east);
        if angle < 0.0 { angle + TAU } else { angle }
    };
    let mut swept: Vec<(f64, usize)> = sites.iter().map(|&s| (bearing(s), s)).collect();
    swept.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    // Begin after the widest empty sector, so that no day straddles a gap.
    let mut begin = 0;
    let mut widest = swept[0].0 + TAU - swept[swept.len() - 1].0;
    for i in 1..swept.len() {
        let gap = swept[i].0 - swept[i - 1].0;
        if gap > widest {
            (widest, begin) = (gap, i);
        }
    }
    swept.rotate_left(begin);
    // Estimated work of a stop: the visit and the trip from the nearest other place of the
    // rep's (a stop or the start); one second more so that the total is never zero.
    let estimate = |site: usize| {
        let at = world.site(site);
        let nearest = sites
            .iter()
            .filter(|&&other| other != site)
            .map(|&other| world.t(world.site(other), at))
            .fold(world.t(world.start(rep), at), f64::min);
        input.service_s + nearest + 1.0
    };
    let work: Vec<f64> = swept.iter().map(|&(_, s)| estimate(s)).collect();
    let per_day = work.iter().sum::<f64>() / input.days as f64;
    let mut done = 0.0;
    for (&(_, site), &w) in swept.iter().zip(&work) {
        // The day in which the middle of this stop's work falls.
        let day = (((done + w / 2.0) / per_day).floor().max(0.0) as usize).min(input.days - 1);
        days[day].push(site);
        done += w;
    }
    days
}

/// The day problem of `rep` visiting `sites` (stop `i` is `sites[i]`), and its solution.
fn route(
    input: &PlanInput,
    world: &World,
    rep: usize,
    sites: &[usize],
) -> Result<(Problem, Solution), RouteError> {
    let problem = day_problem(input, world, rep, sites)?;
    let solution = solve(&problem, &SolveOptions::default(), &mut Iterations::new(SEARCH_ROUNDS));
    Ok((problem, solution))
}

/// Start at location 0, end at 1, stop `i` at `sites[i]` (location `i + 2`).
fn day_problem(input: &PlanInput, world: &World, rep: usize, sites: &[usize]) -> Result<Problem, RouteError> {
    let places: Vec<usize> =
        [world.start(rep), world.end(rep)].into_iter().chain(sites.iter().map(|&s| world.site(s))).collect();
    let n = places.len();
    let matrices = TravelMatrices::new(
        Matrix::from_fn(n, |a, b| world.d(places[a], places[b]))?,
        Matrix::from_fn(n, |a, b| world.t(places[a], places[b]))?,
    )?;
    let r = &input.reps[rep];
    Problem::builder(matrices, 0, r.day_start_s)
        .end_at(1)
        .day_ends_at(r.day_end_s)
        .stops((0..sites.len()).map(|i| Stop::at(i + 2).with_service(input.service_s)))
        .build()
}

/// Step 4: each pooled site, in input order, goes where inserting it adds the least
/// distance and its day still ends in time — in its owner's days first; the sites no day can
/// take come back with the reason.
fn overflow(
    input: &PlanInput,
    world: &World,
    buckets: &mut [Bucket],
    mut pool: Vec<usize>,
) -> Vec<Unassigned> {
    pool.sort_unstable();
    let mut unassigned = Vec::new();
    for site in pool {
        let owner = input.sites[site].owner;
        let best = |owner_only: bool| {
            buckets
                .iter()
                .enumerate()
                .filter(|(_, b)| !owner_only || Some(b.rep) == owner)
                .filter_map(|(i, b)| {
                    cheapest_insertion(input, world, b, site).map(|(pos, cost)| (cost, i, pos))
                })
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        };
        match owner.is_some().then(|| best(true)).flatten().or_else(|| best(false)) {
            Some((_, i, pos)) => {
                buckets[i].order.insert(pos, site);
                buckets[i].solution = None;
            }
            None => unassigned.push(Unassigned { site, reason: why_unplaced(input, world, site) }),
        }
    }
    unassigned
}

/// When `rep` would be done visiting `order`, timed as the domain's solver times a route
/// (same additions in the same order, so a day that fits here fits there).
fn finish(input: &PlanInput, world: &World, rep: usize, order: &[usize]) -> f64 {
    let mut time = input.reps[rep].day_start_s;
    let mut at = world.start(rep);
    for &site in order {
        let next = world.site(site);
        time = time + world.t(at, next) + input.service_s;
        at = next;
    }
    time + world.t(at, world.end(rep))
}

/// Where in `bucket` the site adds the least distance with the day still ending in time:
/// the position and the added distance.
fn cheapest_insertion(
    input: &PlanInput,
    world: &World,
    bucket: &Bucket,
    site: usize,
) -> Option<(usize, f64)> {
    let rep = bucket.rep;
    let at = world.site(site);
    let mut best: Option<(usize, f64)> = None;
    let mut trial = Vec::with_capacity(bucket.order.len() + 1);
    for pos in 0..=bucket.order.len() {
        let prev = if pos == 0 { world.start(rep) } else { world.site(bucket.order[pos - 1]) };
        let next = bucket.order.get(pos).map_or(world.end(rep), |&s| world.site(s));
        let added = world.d(prev, at) + world.d(at, next) - world.d(prev, next);
        if best.is_some_and(|(_, cost)| cost <= added + EPS_M) {
            continue;
        }
        trial.clear();
        trial.extend_from_slice(&bucket.order[..pos]);
        trial.push(site);
        trial.extend_from_slice(&bucket.order[pos..]);
        if finish(input, world, rep, &trial) <= input.reps[rep].day_end_s {
            best = Some((pos, added));
        }
    }
    best
}

/// Step 5: the day of `rep` visiting `order` (which fits), re-solved; the solver's order is
/// kept when it serves every stop at no greater distance.
fn polish(input: &PlanInput, world: &World, rep: usize, order: &[usize]) -> Result<Solution, RouteError> {
    let (problem, solved) = route(input, world, rep, order)?;
    let as_inserted = problem.evaluate(&(0..order.len()).collect::<Vec<_>>())?;
    if solved.unserved.is_empty() && solved.distance <= as_inserted.distance + EPS_M {
        Ok(solved)
    } else {
        Ok(as_inserted)
    }
}

/// Why no day could take `site`: too far for everyone even alone, or no room left.
fn why_unplaced(input: &PlanInput, world: &World, site: usize) -> UnassignedReason {
    let alone = |rep: usize| finish(input, world, rep, &[site]);
    if (0..input.reps.len()).any(|rep| alone(rep) <= input.reps[rep].day_end_s) {
        return UnassignedReason::NoRoom;
    }
    let need = |rep: usize| alone(rep) - input.reps[rep].day_start_s;
    let rep = (0..input.reps.len()).min_by(|&a, &b| need(a).total_cmp(&need(b)).then(a.cmp(&b))).unwrap_or(0);
    let r = &input.reps[rep];
    UnassignedReason::TooFar { rep, needs_s: need(rep), day_s: r.day_end_s - r.day_start_s }
}

/// Totals and the explanation of `rep`'s share.
fn summary(
    input: &PlanInput,
    first: &[(usize, Why)],
    routes: &[DayRoute],
    unassigned: &[Unassigned],
    rep: usize,
) -> RepSummary {
    let theirs: Vec<&DayRoute> = routes.iter().filter(|r| r.rep == rep).collect();
    let stops: Vec<&PlannedStop> = theirs.iter().flat_map(|r| &r.stops).collect();
    let count = |f: &dyn Fn(Why) -> bool| stops.iter().filter(|s| f(s.why)).count();
    let owned = count(&|w| w == Why::Owner);
    let nearest = count(&|w| w == Why::Nearest);
    let taken_over = count(&|w| matches!(w, Why::Moved { .. }));
    let mut from: Vec<usize> = stops
        .iter()
        .filter_map(|s| match s.why {
            Why::Moved { from } => Some(from),
            _ => None,
        })
        .collect();
    from.sort_unstable();
    from.dedup();
    let unplaced = unassigned.iter().filter(|u| first[u.site].0 == rep).count();
    let placed_first_here = first.iter().filter(|(r, _)| *r == rep).count();
    let given_away = placed_first_here.saturating_sub(owned + nearest + unplaced);
    let distance_m: u64 = theirs.iter().map(|r| r.whole_m()).sum();
    let work_min: u64 = theirs.iter().map(|r| r.work_min()).sum();

    let name = label(input, rep);
    let mut text = if stops.is_empty() {
        format!(
            "{name} gets no stops: no customer in the plan is theirs or nearer their start than another rep's."
        )
    } else {
        let mut why = Vec::new();
        if owned > 0 {
            why.push(format!("{owned} they own"));
        }
        if nearest > 0 && input.reps.len() == 1 {
            why.push(format!("{nearest} as the only rep"));
        } else if nearest > 0 {
            why.push(format!("{nearest} nearer their start than any other rep's"));
        }
        if taken_over > 0 {
            let names: Vec<&str> = from.iter().map(|&r| label(input, r)).collect();
            why.push(format!("{taken_over} taken over from {} whose days were full", names.join(" and ")));
        }
        let split = if theirs.len() > 1 { ", split into days by direction from their start" } else { "" };
        format!(
            "{name} gets {} on {} ({:.1} km, {} of work): {}{split}.",
            plural(stops.len(), "stop", "stops"),
            plural(theirs.len(), "day", "days"),
            distance_m as f64 / 1000.0,
            hours(work_min),
            why.join(", "),
        )
    };
    if given_away > 0 {
        text.push_str(&format!(
            " {} of their own or nearest went to other reps because their days were full.",
            plural(given_away, "stop", "stops")
        ));
    }
    if unplaced > 0 {
        text.push_str(&format!(
            " {} of theirs fit in no day (see unassigned).",
            plural(unplaced, "stop", "stops")
        ));
    }
    RepSummary {
        rep,
        stops: stops.len(),
        days_used: theirs.len(),
        distance_m,
        work_min,
        owned,
        nearest,
        taken_over,
        given_away,
        unplaced,
        explanation: text,
    }
}

fn label(input: &PlanInput, rep: usize) -> &str {
    input.reps.get(rep).map_or("?", |r| r.label.as_str())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn minutes(seconds: f64) -> i64 {
    (seconds / 60.0).round() as i64
}

fn hours(minutes: u64) -> String {
    format!("{} h {:02} min", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use fieldkit_domain::route::TravelMode;

    use super::*;

    fn point(lat: f64, lng: f64) -> WgsPoint {
        WgsPoint::new(lat, lng).expect("test points are on the globe")
    }

    /// West and east ends of a city, about 19 km apart.
    const WEST: (f64, f64) = (31.20, 121.40);
    const EAST: (f64, f64) = (31.20, 121.60);

    fn rep(label: &str, at: (f64, f64), hours: (f64, f64)) -> PlanRep {
        PlanRep {
            label: label.to_owned(),
            start: point(at.0, at.1),
            end: point(at.0, at.1),
            day_start_s: hours.0 * 3600.0,
            day_end_s: hours.1 * 3600.0,
        }
    }

    /// `n` sites on a ring of about 1–2 km around `at`.
    fn cluster(at: (f64, f64), n: usize, owner: Option<usize>) -> Vec<PlanSite> {
        (0..n)
            .map(|i| {
                let angle = i as f64 / n as f64 * TAU;
                let r = 0.01 + 0.005 * (i % 3) as f64;
                PlanSite { point: point(at.0 + r * angle.sin(), at.1 + r * angle.cos()), owner }
            })
            .collect()
    }

    fn input(reps: Vec<PlanRep>, sites: Vec<PlanSite>, days: usize) -> PlanInput {
        PlanInput { reps, sites, days, service_s: 1800.0, model: OfflineModel::for_mode(TravelMode::Driving) }
    }

    fn two_reps() -> Vec<PlanRep> {
        vec![rep("ann", WEST, (9.0, 18.0)), rep("bo", EAST, (9.0, 18.0))]
    }

    /// Every site is in exactly one route or in the unassigned list.
    fn assert_each_site_once(input: &PlanInput, plan: &TeamPlan) {
        let mut seen = HashSet::new();
        for stop in plan.routes.iter().flat_map(|r| &r.stops) {
            assert!(seen.insert(stop.site), "site {} planned twice", stop.site);
        }
        for u in &plan.unassigned {
            assert!(seen.insert(u.site), "site {} both planned and unassigned", u.site);
        }
        assert_eq!(seen.len(), input.sites.len());
    }

    fn assert_days_fit(input: &PlanInput, plan: &TeamPlan) {
        for route in &plan.routes {
            let r = &input.reps[route.rep];
            let first = route.stops.first().expect("only days with stops are listed");
            let last = route.stops.last().expect("only days with stops are listed");
            assert!(first.arrive_s >= r.day_start_s);
            assert!(route.work_s > 0.0 && r.day_start_s + route.work_s <= r.day_end_s + 1e-6);
            assert!(last.depart_s <= r.day_end_s);
            for pair in route.stops.windows(2) {
                assert!(pair[0].depart_s <= pair[1].arrive_s);
            }
        }
    }

    fn sites_of(plan: &TeamPlan, rep: usize) -> HashSet<usize> {
        plan.routes.iter().filter(|r| r.rep == rep).flat_map(|r| r.stops.iter().map(|s| s.site)).collect()
    }

    #[test]
    fn each_rep_gets_the_cluster_near_their_start_spread_over_the_days() {
        let sites = [cluster(WEST, 10, None), cluster(EAST, 10, None)].concat();
        let input = input(two_reps(), sites, 2);
        let plan = plan(&input).expect("valid input");
        assert!(plan.unassigned.is_empty(), "{:?}", plan.unassigned);
        assert_each_site_once(&input, &plan);
        assert_days_fit(&input, &plan);
        assert_eq!(sites_of(&plan, 0), (0..10).collect());
        assert_eq!(sites_of(&plan, 1), (10..20).collect());
        for route in &plan.routes {
            assert!((3..=7).contains(&route.stops.len()), "days are balanced: {}", route.stops.len());
            assert!(route.proven_optimal);
            assert!(route.stops.iter().all(|s| s.why == Why::Nearest));
        }
        assert_eq!(plan.routes.len(), 4);
        let ann = &plan.per_rep[0];
        assert_eq!((ann.stops, ann.days_used, ann.nearest, ann.given_away), (10, 2, 10, 0));
        assert!(ann.explanation.starts_with("ann gets 10 stops on 2 days"), "{}", ann.explanation);
    }

    #[test]
    fn a_customer_goes_to_its_owner_even_when_another_rep_starts_nearer() {
        let mut sites = cluster(WEST, 4, None);
        sites.push(PlanSite { point: point(WEST.0 + 0.005, WEST.1), owner: Some(1) });
        let input = input(two_reps(), sites, 1);
        let plan = plan(&input).expect("valid input");
        assert_eq!(sites_of(&plan, 1), HashSet::from([4]));
        assert_eq!(plan.routes.iter().find(|r| r.rep == 1).expect("bo has a day").stops[0].why, Why::Owner);
        assert!(plan.per_rep[1].explanation.contains("1 they own"), "{}", plan.per_rep[1].explanation);
        assert!(plan.per_rep[0].explanation.contains("4 nearer their start"));
    }

    #[test]
    fn stops_a_rep_has_no_room_for_move_to_a_rep_with_room() {
        // Ann's neighbourhood has 12 visits of 30 min, her day 4 h; Bo's day is empty.
        let reps = vec![rep("ann", WEST, (9.0, 13.0)), rep("bo", EAST, (9.0, 18.0))];
        let input = input(reps, cluster(WEST, 12, None), 1);
        let plan = plan(&input).expect("valid input");
        assert!(plan.unassigned.is_empty(), "{:?}", plan.unassigned);
        assert_each_site_once(&input, &plan);
        assert_days_fit(&input, &plan);
        let (ann, bo) = (&plan.per_rep[0], &plan.per_rep[1]);
        assert!(ann.stops >= 5 && ann.stops < 12, "{}", ann.stops);
        assert_eq!(bo.taken_over, 12 - ann.stops);
        assert_eq!(ann.given_away, bo.taken_over);
        let bo_day = plan.routes.iter().find(|r| r.rep == 1).expect("bo took the excess");
        assert!(bo_day.stops.iter().all(|s| s.why == Why::Moved { from: 0 }));
        assert!(bo.explanation.contains("taken over from ann"), "{}", bo.explanation);
        assert!(ann.explanation.contains("went to other reps"), "{}", ann.explanation);
    }

    #[test]
    fn owned_customers_stay_with_their_owner_while_the_owners_days_have_room() {
        // All eight are Bo's; his mornings are short, Ann's days are empty.
        let reps = vec![rep("ann", WEST, (9.0, 18.0)), rep("bo", EAST, (9.0, 12.0))];
        let input = input(reps, cluster(EAST, 8, Some(1)), 2);
        let plan = plan(&input).expect("valid input");
        assert!(plan.unassigned.is_empty(), "{:?}", plan.unassigned);
        assert_eq!(sites_of(&plan, 1).len(), 8, "all stay with their owner");
        assert_days_fit(&input, &plan);
    }

    fn bucket(rep: usize, day: usize, order: Vec<usize>) -> Bucket {
        Bucket { rep, day, order, solution: None }
    }

    #[test]
    fn an_overflowing_stop_goes_to_a_day_of_its_owner_before_a_cheaper_day_of_another_rep() {
        // Site 0 is Bo's but next to Ann's start; Bo's first day is full, his second empty.
        let mut sites = cluster(EAST, 5, None);
        sites.insert(0, PlanSite { point: point(WEST.0 + 0.003, WEST.1), owner: Some(1) });
        let reps = vec![rep("ann", WEST, (9.0, 18.0)), rep("bo", EAST, (9.0, 12.0))];
        let input = input(reps, sites, 2);
        let world = World::new(&input);
        let mut buckets = vec![
            bucket(0, 0, vec![]),
            bucket(0, 1, vec![]),
            bucket(1, 0, vec![1, 2, 3, 4, 5]),
            bucket(1, 1, vec![]),
        ];
        assert!(overflow(&input, &world, &mut buckets, vec![0]).is_empty());
        assert_eq!(buckets[3].order, vec![0], "Bo's free day, not Ann's cheaper one");

        // With no room left in Bo's days, the cheapest day of anyone's.
        let mut buckets = vec![
            bucket(0, 0, vec![]),
            bucket(0, 1, vec![]),
            bucket(1, 0, vec![1, 2, 3, 4, 5]),
            bucket(1, 1, vec![1, 2, 3, 4, 5]),
        ];
        assert!(overflow(&input, &world, &mut buckets, vec![0]).is_empty());
        assert_eq!(buckets[0].order, vec![0], "Ann's first day");
    }

    #[test]
    fn a_stop_its_day_cannot_fit_moves_to_another_day_of_the_same_rep() {
        let reps = vec![rep("ann", WEST, (9.0, 12.0))];
        let input = input(reps, cluster(WEST, 6, None), 2);
        let world = World::new(&input);
        let mut buckets = vec![bucket(0, 0, vec![0, 1, 2, 3, 4]), bucket(0, 1, vec![])];
        assert!(finish(&input, &world, 0, &[0, 1, 2, 3, 4, 5]) > input.reps[0].day_end_s, "day one is full");
        assert!(overflow(&input, &world, &mut buckets, vec![5]).is_empty());
        assert_eq!(buckets[1].order, vec![5]);
    }

    #[test]
    fn the_cheapest_insertion_is_where_the_stop_adds_the_least_distance() {
        // Three sites on a line east of the start; the middle one goes between the others.
        let sites = [0.01, 0.03, 0.02]
            .iter()
            .map(|d| PlanSite { point: point(WEST.0, WEST.1 + d), owner: None })
            .collect();
        let input = input(vec![rep("ann", WEST, (9.0, 18.0))], sites, 1);
        let world = World::new(&input);
        let (pos, added) = cheapest_insertion(&input, &world, &bucket(0, 0, vec![0, 1]), 2).expect("it fits");
        assert_eq!(pos, 1);
        assert!(added.abs() < 1.0, "on the way: {added}");
        let short_day = PlanInput { reps: vec![rep("ann", WEST, (9.0, 10.0))], ..input.clone() };
        assert_eq!(cheapest_insertion(&short_day, &world, &bucket(0, 0, vec![0, 1]), 2), None);
    }

    #[test]
    fn customers_beyond_every_days_capacity_are_reported_not_dropped() {
        let reps = vec![rep("ann", WEST, (9.0, 11.0))];
        let input = input(reps, cluster(WEST, 8, None), 1);
        let plan = plan(&input).expect("valid input");
        assert_each_site_once(&input, &plan);
        assert_days_fit(&input, &plan);
        assert!(!plan.unassigned.is_empty());
        for u in &plan.unassigned {
            assert_eq!(u.reason, UnassignedReason::NoRoom);
            assert_eq!(
                u.describe(&input),
                "no room: the only rep-day (1 rep × 1 day) would end after working hours with it"
            );
        }
        assert_eq!(plan.per_rep[0].unplaced, plan.unassigned.len());
        assert!(plan.per_rep[0].explanation.contains("fit in no day"));
    }

    #[test]
    fn a_customer_too_far_for_anyone_says_which_rep_comes_closest() {
        // Hangzhou: about 165 km from Shanghai, far beyond a 4 h day by car both ways.
        let sites = vec![PlanSite { point: point(30.27, 120.15), owner: None }];
        let reps = vec![rep("ann", WEST, (9.0, 13.0)), rep("bo", EAST, (9.0, 13.0))];
        let input = input(reps, sites, 3);
        let plan = plan(&input).expect("valid input");
        assert!(plan.routes.is_empty());
        match plan.unassigned[0].reason {
            UnassignedReason::TooFar { rep, needs_s, day_s } => {
                assert_eq!(rep, 0, "ann starts west, nearer Hangzhou");
                assert!(needs_s > day_s);
                assert_eq!(day_s, 4.0 * 3600.0);
            }
            other => panic!("expected too far, got {other:?}"),
        }
        let reason = plan.unassigned[0].describe(&input);
        assert!(
            reason.starts_with("too far for every rep even alone: ann, who would need the least"),
            "{reason}"
        );
        assert_eq!(plan.unassigned[0].code(), "too_far");
    }

    #[test]
    fn the_same_input_gives_the_same_plan() {
        let sites = [cluster(WEST, 17, None), cluster(EAST, 23, Some(0))].concat();
        let input = input(two_reps(), sites, 3);
        assert_eq!(plan(&input).expect("valid"), plan(&input).expect("valid"));
    }

    #[test]
    fn a_large_day_is_routed_by_local_search_and_still_fits() {
        let reps = vec![rep("ann", WEST, (8.0, 20.0))];
        let mut input = input(reps, cluster(WEST, 18, None), 1);
        input.service_s = 600.0;
        let plan = plan(&input).expect("valid input");
        assert_each_site_once(&input, &plan);
        assert_days_fit(&input, &plan);
        assert_eq!(plan.routes[0].stops.len(), 18);
        assert!(!plan.routes[0].proven_optimal);
    }

    #[test]
    fn no_customers_give_no_routes_and_a_summary_per_rep() {
        let input = input(two_reps(), Vec::new(), 2);
        let plan = plan(&input).expect("valid input");
        assert!(plan.routes.is_empty() && plan.unassigned.is_empty());
        assert_eq!(plan.per_rep.len(), 2);
        assert_eq!(plan.per_rep[0].stops, 0);
        assert!(plan.per_rep[0].explanation.starts_with("ann gets no stops"));
    }

    #[test]
    fn without_reps_or_days_every_customer_is_unassigned() {
        let no_reps = plan(&input(Vec::new(), cluster(WEST, 2, None), 1)).expect("valid input");
        assert_eq!(no_reps.unassigned.len(), 2);
        assert!(no_reps.unassigned.iter().all(|u| u.reason == UnassignedReason::NothingToPlan));
        let no_days = plan(&input(two_reps(), cluster(WEST, 2, None), 0)).expect("valid input");
        assert_eq!(no_days.unassigned.len(), 2);
    }

    #[test]
    fn per_rep_totals_are_the_sums_of_their_days() {
        let sites = [cluster(WEST, 9, None), cluster(EAST, 6, None)].concat();
        let input = input(two_reps(), sites, 2);
        let plan = plan(&input).expect("valid input");
        for summary in &plan.per_rep {
            let days: Vec<&DayRoute> = plan.routes.iter().filter(|r| r.rep == summary.rep).collect();
            assert_eq!(summary.days_used, days.len());
            assert_eq!(summary.stops, days.iter().map(|d| d.stops.len()).sum::<usize>());
            assert_eq!(summary.distance_m, days.iter().map(|d| d.whole_m()).sum::<u64>());
            assert_eq!(summary.work_min, days.iter().map(|d| d.work_min()).sum::<u64>());
        }
    }
}
