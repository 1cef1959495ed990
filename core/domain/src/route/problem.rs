//! What a day-route problem says: where the rep starts and when, where the day ends (an
//! optional end point and the working day's end), the stops with their service time,
//! appointment window and importance, and what "shortest" means (distance or time).
//!
//! Times are seconds on a timeline the caller chooses (seconds since local midnight is the
//! natural one); the domain never reads a clock. Locations are indices into the
//! [`TravelMatrices`]; stops are referred to by their index in the problem's stop list.

use serde::{Deserialize, Serialize};

use super::solution::{self, Solution};
use super::{RouteError, TravelMatrices};

/// What the solver minimises once it has served as many stops as it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Total distance travelled (from the distance matrix).
    #[default]
    Distance,
    /// When the day's route is done: arrival at the end point, or the end of the last
    /// visit when there is none (travel, service and waiting all count).
    Duration,
}

/// An appointment window: the visit must start no later than `close`; arriving before
/// `open` means waiting until it opens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Earliest start of the visit, in seconds.
    pub open: f64,
    /// Latest start of the visit, in seconds.
    pub close: f64,
}

/// Whether a stop must be visited today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Importance {
    /// Must be visited: the solver serves as many required stops as it can before any
    /// optional one, and reports each it could not fit.
    #[default]
    Required,
    /// Visited if the day allows. Priorities add up: the solver maximises the summed
    /// priority of the optional stops it serves (after the required ones), then minimises
    /// the objective; an optional stop of priority 3 is worth three of priority 1.
    Optional {
        /// Weight of the stop among optional stops (0 counts for nothing).
        priority: u32,
    },
}

/// One place to visit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// Index of its location in the matrices.
    pub location: usize,
    /// How long the visit takes, in seconds.
    pub service: f64,
    /// The appointment window, if any.
    pub window: Option<TimeWindow>,
    /// Whether it must be visited.
    pub importance: Importance,
}

impl Stop {
    /// A required stop at `location` with no service time and no window.
    #[must_use]
    pub fn at(location: usize) -> Self {
        Self { location, service: 0.0, window: None, importance: Importance::Required }
    }

    /// The same stop with a service time in seconds.
    #[must_use]
    pub fn with_service(mut self, seconds: f64) -> Self {
        self.service = seconds;
        self
    }

    /// The same stop with an appointment window (seconds).
    #[must_use]
    pub fn with_window(mut self, open: f64, close: f64) -> Self {
        self.window = Some(TimeWindow { open, close });
        self
    }

    /// The same stop made optional with a priority.
    #[must_use]
    pub fn optional(mut self, priority: u32) -> Self {
        self.importance = Importance::Optional { priority };
        self
    }
}

/// Collects a problem's parts; [`ProblemBuilder::build`] validates them.
#[derive(Debug, Clone)]
pub struct ProblemBuilder {
    matrices: TravelMatrices,
    start_location: usize,
    start_time: f64,
    end_location: Option<usize>,
    day_end: Option<f64>,
    objective: Objective,
    stops: Vec<Stop>,
}

impl ProblemBuilder {
    /// Ends the route at `location` (home or office) instead of at the last visit.
    #[must_use]
    pub fn end_at(mut self, location: usize) -> Self {
        self.end_location = Some(location);
        self
    }

    /// The working day's end, in seconds: the route (including the trip to the end point,
    /// if any) must be done by then.
    #[must_use]
    pub fn day_ends_at(mut self, seconds: f64) -> Self {
        self.day_end = Some(seconds);
        self
    }

    /// What to minimise (distance by default).
    #[must_use]
    pub fn objective(mut self, objective: Objective) -> Self {
        self.objective = objective;
        self
    }

    /// Adds a stop; its index in the problem is the number of stops added before it.
    #[must_use]
    pub fn stop(mut self, stop: Stop) -> Self {
        self.stops.push(stop);
        self
    }

    /// Adds several stops in order.
    #[must_use]
    pub fn stops(mut self, stops: impl IntoIterator<Item = Stop>) -> Self {
        self.stops.extend(stops);
        self
    }

    /// Checks every part: locations inside the matrices, finite times, non-negative service
    /// times, windows that open before they close, a day that ends after it starts.
    pub fn build(self) -> Result<Problem, RouteError> {
        let locations = self.matrices.len();
        let check_location = |what: String, location: usize| {
            if location < locations {
                Ok(())
            } else {
                Err(RouteError::UnknownLocation { what, location, locations })
            }
        };
        check_location("start".into(), self.start_location)?;
        if let Some(end) = self.end_location {
            check_location("end".into(), end)?;
        }
        if !self.start_time.is_finite() {
            return Err(RouteError::BadTime { what: "start time".into(), value: self.start_time });
        }
        if let Some(day_end) = self.day_end {
            if !day_end.is_finite() {
                return Err(RouteError::BadTime { what: "day end".into(), value: day_end });
            }
            if day_end < self.start_time {
                return Err(RouteError::DayEndsBeforeStart { start: self.start_time, day_end });
            }
        }
        for (index, stop) in self.stops.iter().enumerate() {
            check_location(format!("stop {index}"), stop.location)?;
            if !stop.service.is_finite() || stop.service < 0.0 {
                return Err(RouteError::BadTime {
                    what: format!("service time of stop {index}"),
                    value: stop.service,
                });
            }
            if let Some(TimeWindow { open, close }) = stop.window {
                for (what, value) in [("opening", open), ("closing", close)] {
                    if !value.is_finite() {
                        return Err(RouteError::BadTime {
                            what: format!("window {what} of stop {index}"),
                            value,
                        });
                    }
                }
                if close < open {
                    return Err(RouteError::BadWindow { stop: index, open, close });
                }
            }
        }
        Ok(Problem {
            matrices: self.matrices,
            start_location: self.start_location,
            start_time: self.start_time,
            end_location: self.end_location,
            day_end: self.day_end,
            objective: self.objective,
            stops: self.stops,
        })
    }
}

/// A validated day-route problem.
#[derive(Debug, Clone)]
pub struct Problem {
    matrices: TravelMatrices,
    start_location: usize,
    start_time: f64,
    end_location: Option<usize>,
    day_end: Option<f64>,
    objective: Objective,
    stops: Vec<Stop>,
}

impl Problem {
    /// Starts a problem: the matrices, where the rep is and when (seconds).
    #[must_use]
    pub fn builder(matrices: TravelMatrices, start_location: usize, start_time: f64) -> ProblemBuilder {
        ProblemBuilder {
            matrices,
            start_location,
            start_time,
            end_location: None,
            day_end: None,
            objective: Objective::Distance,
            stops: Vec::new(),
        }
    }

    /// The travel matrices.
    #[must_use]
    pub fn matrices(&self) -> &TravelMatrices {
        &self.matrices
    }

    /// Where the route starts.
    #[must_use]
    pub fn start_location(&self) -> usize {
        self.start_location
    }

    /// When the route starts, in seconds.
    #[must_use]
    pub fn start_time(&self) -> f64 {
        self.start_time
    }

    /// Where the route ends, if not at the last visit.
    #[must_use]
    pub fn end_location(&self) -> Option<usize> {
        self.end_location
    }

    /// The working day's end, if any.
    #[must_use]
    pub fn day_end(&self) -> Option<f64> {
        self.day_end
    }

    /// What is minimised.
    #[must_use]
    pub fn objective(&self) -> Objective {
        self.objective
    }

    /// The stops, in the order they were added.
    #[must_use]
    pub fn stops(&self) -> &[Stop] {
        &self.stops
    }

    /// Times and totals of visiting the stops in `order` (indices into [`Problem::stops`]),
    /// for an order a person chose or one to re-check; stops not named are reported as
    /// unserved with the reason they would not fit. Refuses unknown or repeated stops, a
    /// missed window and a finish after the day's end.
    pub fn evaluate(&self, order: &[usize]) -> Result<Solution, RouteError> {
        let nodes = Nodes::new(self);
        let mut seen = vec![false; self.stops.len()];
        for &stop in order {
            if stop >= self.stops.len() {
                return Err(RouteError::UnknownStop { stop, stops: self.stops.len() });
            }
            if std::mem::replace(&mut seen[stop], true) {
                return Err(RouteError::RepeatedStop { stop });
            }
        }
        let mut time = self.start_time;
        let mut at = 0;
        for &stop in order {
            let node = stop + 1;
            let arrival = time + nodes.time(at, node);
            if arrival > nodes.close[node] {
                return Err(RouteError::WindowMissed { stop, arrival, close: nodes.close[node] });
            }
            time = arrival.max(nodes.open[node]) + nodes.service[node];
            at = node;
        }
        let finish = time + nodes.time(at, nodes.end());
        if finish > nodes.day_end {
            return Err(RouteError::DayTooShort { finish, day_end: nodes.day_end });
        }
        Ok(solution::build(self, &nodes, order, false))
    }
}

/// The problem laid out for the solvers: node 0 is the start, nodes `1..=m` the stops (stop
/// `i` is node `i + 1`) and node `m + 1` the end (a free "anywhere" when the route ends at
/// its last visit). Dense matrices over nodes; missing windows are infinite.
#[derive(Debug, Clone)]
pub(crate) struct Nodes {
    /// Number of nodes (`stops + 2`).
    pub n: usize,
    /// Objective edge costs (distance, or travel time for the time objective).
    pub cost: Vec<f64>,
    /// Travel times.
    pub time: Vec<f64>,
    /// Distances (for reporting).
    pub distance: Vec<f64>,
    /// Window opening (−∞ without a window).
    pub open: Vec<f64>,
    /// Window closing (+∞ without a window; the day end for the end node).
    pub close: Vec<f64>,
    /// Service time.
    pub service: Vec<f64>,
    /// Required (1) or not (0).
    pub required: Vec<u64>,
    /// Priority of optional stops (0 for required ones and the terminals).
    pub priority: Vec<u64>,
    /// Start time.
    pub start_time: f64,
    /// End of the working day (+∞ without one).
    pub day_end: f64,
    /// Whether time constrains anything (a window or a day end).
    pub timed: bool,
    /// Whether the objective is the finishing time.
    pub duration_objective: bool,
}

impl Nodes {
    pub fn new(problem: &Problem) -> Self {
        let m = problem.stops.len();
        let n = m + 2;
        let location = |node: usize| -> Option<usize> {
            if node == 0 {
                Some(problem.start_location)
            } else if node <= m {
                Some(problem.stops[node - 1].location)
            } else {
                problem.end_location
            }
        };
        let fill = |matrix: &super::Matrix| {
            let mut out = vec![0.0; n * n];
            for a in 0..n {
                for b in 0..n {
                    if let (Some(la), Some(lb)) = (location(a), location(b)) {
                        out[a * n + b] = matrix.get(la, lb);
                    }
                }
            }
            out
        };
        let distance = fill(problem.matrices.distance());
        let time = fill(problem.matrices.duration());
        let duration_objective = problem.objective == Objective::Duration;
        let cost = if duration_objective { time.clone() } else { distance.clone() };
        let day_end = problem.day_end.unwrap_or(f64::INFINITY);
        let mut open = vec![f64::NEG_INFINITY; n];
        let mut close = vec![f64::INFINITY; n];
        let mut service = vec![0.0; n];
        let mut required = vec![0; n];
        let mut priority = vec![0; n];
        for (i, stop) in problem.stops.iter().enumerate() {
            if let Some(window) = stop.window {
                open[i + 1] = window.open;
                close[i + 1] = window.close;
            }
            service[i + 1] = stop.service;
            match stop.importance {
                Importance::Required => required[i + 1] = 1,
                Importance::Optional { priority: p } => priority[i + 1] = u64::from(p),
            }
        }
        close[n - 1] = day_end;
        let timed = day_end.is_finite() || problem.stops.iter().any(|s| s.window.is_some());
        Self {
            n,
            cost,
            time,
            distance,
            open,
            close,
            service,
            required,
            priority,
            start_time: problem.start_time,
            day_end,
            timed,
            duration_objective,
        }
    }

    /// Number of stops.
    pub fn stops(&self) -> usize {
        self.n - 2
    }

    /// The end node.
    pub fn end(&self) -> usize {
        self.n - 1
    }

    pub fn cost(&self, a: usize, b: usize) -> f64 {
        self.cost[a * self.n + b]
    }

    pub fn time(&self, a: usize, b: usize) -> f64 {
        self.time[a * self.n + b]
    }

    pub fn distance(&self, a: usize, b: usize) -> f64 {
        self.distance[a * self.n + b]
    }

    /// The (required, priority) score a set of nodes earns.
    pub fn score(&self, nodes: impl IntoIterator<Item = usize>) -> Score {
        let mut score = Score::default();
        for node in nodes {
            score.required += self.required[node];
            score.priority += self.priority[node];
        }
        score
    }
}

/// How much of the day's work a route covers: required stops first, then the summed
/// priority of optional ones. Compared lexicographically; larger is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Score {
    pub required: u64,
    pub priority: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Matrix;

    fn line(n: usize) -> TravelMatrices {
        let m = Matrix::from_fn(n, |a, b| (a as f64 - b as f64).abs() * 100.0).expect("valid");
        TravelMatrices::new(m.clone(), m).expect("same size")
    }

    #[test]
    fn a_stop_outside_the_matrix_is_refused() {
        let err = Problem::builder(line(3), 0, 0.0).stop(Stop::at(3)).build().unwrap_err();
        assert_eq!(err.to_string(), "stop 0 location 3 is outside the matrix of 3 locations");
    }

    #[test]
    fn an_end_outside_the_matrix_is_refused() {
        let err = Problem::builder(line(3), 0, 0.0).end_at(7).build().unwrap_err();
        assert!(matches!(err, RouteError::UnknownLocation { location: 7, .. }));
    }

    #[test]
    fn a_window_closing_before_it_opens_is_refused() {
        let err = Problem::builder(line(3), 0, 0.0)
            .stop(Stop::at(1))
            .stop(Stop::at(2).with_window(500.0, 400.0))
            .build()
            .unwrap_err();
        assert_eq!(err, RouteError::BadWindow { stop: 1, open: 500.0, close: 400.0 });
    }

    #[test]
    fn a_negative_or_nan_service_time_is_refused() {
        let err = Problem::builder(line(3), 0, 0.0).stop(Stop::at(1).with_service(-1.0)).build().unwrap_err();
        assert_eq!(err.to_string(), "service time of stop 0 is -1 s, not a valid time");
        let err =
            Problem::builder(line(3), 0, 0.0).stop(Stop::at(1).with_service(f64::NAN)).build().unwrap_err();
        assert!(matches!(err, RouteError::BadTime { .. }));
    }

    #[test]
    fn a_day_ending_before_the_start_is_refused() {
        let err = Problem::builder(line(2), 0, 100.0).day_ends_at(50.0).build().unwrap_err();
        assert_eq!(err, RouteError::DayEndsBeforeStart { start: 100.0, day_end: 50.0 });
    }

    #[test]
    fn evaluating_an_order_gives_arrival_wait_and_departure_times() {
        let problem = Problem::builder(line(3), 0, 0.0)
            .end_at(0)
            .stop(Stop::at(1).with_service(10.0))
            .stop(Stop::at(2).with_service(5.0).with_window(300.0, 400.0))
            .build()
            .expect("valid");
        let solution = problem.evaluate(&[0, 1]).expect("feasible");
        assert_eq!(solution.visits[0].arrival, 100.0);
        assert_eq!(solution.visits[0].departure, 110.0);
        assert_eq!(solution.visits[1].arrival, 210.0);
        assert_eq!(solution.visits[1].wait, 90.0);
        assert_eq!(solution.visits[1].departure, 305.0);
        assert_eq!(solution.finish_time, 505.0);
        assert_eq!(solution.distance, 400.0);
        assert!(!solution.proven_optimal);
    }

    #[test]
    fn evaluating_an_order_that_misses_a_window_names_the_stop() {
        let problem = Problem::builder(line(3), 0, 0.0)
            .stop(Stop::at(2).with_window(0.0, 150.0))
            .stop(Stop::at(1))
            .build()
            .expect("valid");
        assert_eq!(
            problem.evaluate(&[1, 0]).unwrap_err(),
            RouteError::WindowMissed { stop: 0, arrival: 200.0, close: 150.0 }
        );
        assert_eq!(problem.evaluate(&[0, 0]).unwrap_err(), RouteError::RepeatedStop { stop: 0 });
        assert_eq!(problem.evaluate(&[5]).unwrap_err(), RouteError::UnknownStop { stop: 5, stops: 2 });
    }
}
