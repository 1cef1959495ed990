//! Route planning for a rep's day: which stops to visit in which order, exact for a day's
//! worth of stops and near-optimal beyond, on any distance and duration matrix.
//!
//! - [`matrix`]: validated distance and duration matrices (asymmetric allowed).
//! - [`offline`]: matrices without a network (haversine × detour factor, speed per mode).
//! - [`problem`]: start, optional end, stops with service time, windows and importance,
//!   the working day's end and the objective.
//! - [`exact`]: dynamic programming over subsets with time windows; proven optimal.
//! - [`local_search`]: seeded 2-opt / Or-opt / relocate search under a caller's budget.
//! - [`solution`]: the timed route, the stops left off and why.
//!
//! [`solve`] picks the exact solver up to [`SolveOptions::exact_limit`] stops and the local
//! search above. Nothing here reads a clock or does I/O: time limits come in as a [`Budget`].
//!
//! ```
//! use fieldkit_domain::route::{solve, Iterations, Matrix, Problem, SolveOptions, Stop, TravelMatrices};
//!
//! // Four places on a line, 1 km apart; the rep starts at 0 at 09:00 and ends there.
//! let km = Matrix::from_fn(4, |a, b| (a as f64 - b as f64).abs() * 1000.0)?;
//! let secs = Matrix::from_fn(4, |a, b| (a as f64 - b as f64).abs() * 180.0)?;
//! let problem = Problem::builder(TravelMatrices::new(km, secs)?, 0, 9.0 * 3600.0)
//!     .end_at(0)
//!     .stop(Stop::at(3).with_service(1200.0))
//!     .stop(Stop::at(1).with_service(600.0).with_window(10.0 * 3600.0, 11.0 * 3600.0))
//!     .stop(Stop::at(2).with_service(900.0))
//!     .build()?;
//! let day = solve(&problem, &SolveOptions::default(), &mut Iterations::new(1000));
//! assert!(day.proven_optimal);
//! assert_eq!(day.distance, 6000.0);
//! assert!(day.unserved.is_empty());
//! # Ok::<(), fieldkit_domain::route::RouteError>(())
//! ```

mod error;
pub mod exact;
pub mod local_search;
pub mod matrix;
pub mod offline;
pub mod problem;
mod rng;
pub mod solution;

pub use error::RouteError;
pub use exact::{MAX_EXACT_STOPS, solve_exact};
pub use local_search::{Budget, Iterations, solve_heuristic};
pub use matrix::{Matrix, TravelMatrices};
pub use offline::{OfflineModel, TravelMode};
pub use problem::{Importance, Objective, Problem, ProblemBuilder, Stop, TimeWindow};
pub use rng::SeededRng;
pub use solution::{Solution, Unserved, UnservedStop, Visit};

/// How [`solve`] chooses and seeds its solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SolveOptions {
    /// Largest number of stops solved exactly (capped at [`MAX_EXACT_STOPS`]); 13 by
    /// default, a few milliseconds on a phone.
    pub exact_limit: usize,
    /// Seed of the local search.
    pub seed: u64,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self { exact_limit: 13, seed: 0 }
    }
}

/// Plans the day: exactly (proven optimal) when the problem has at most
/// `options.exact_limit` stops, otherwise by local search within `budget`.
pub fn solve(problem: &Problem, options: &SolveOptions, budget: &mut dyn Budget) -> Solution {
    if problem.stops().len() <= options.exact_limit.min(MAX_EXACT_STOPS) {
        return solve_exact(problem).expect("the stop count was checked against the exact solver's limit");
    }
    solve_heuristic(problem, options.seed, budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Locations on a plane (metres), driving at 10 m/s; `asymmetric` adds a one-way
    /// surcharge so that a→b and b→a differ.
    fn plane(rng: &mut SeededRng, n: usize, asymmetric: bool) -> TravelMatrices {
        let pts: Vec<(f64, f64)> = (0..n).map(|_| (rng.range(0.0, 8000.0), rng.range(0.0, 8000.0))).collect();
        let extra: Vec<f64> =
            (0..n * n).map(|_| if asymmetric { rng.range(0.0, 2000.0) } else { 0.0 }).collect();
        let d = |a: usize, b: usize| {
            let (dx, dy) = (pts[a].0 - pts[b].0, pts[a].1 - pts[b].1);
            let surcharge = if a == b { 0.0 } else { extra[a * n + b] };
            ((dx * dx + dy * dy).sqrt() + surcharge).round()
        };
        let distance = Matrix::from_fn(n, d).expect("valid");
        let duration = Matrix::from_fn(n, |a, b| (d(a, b) / 10.0).round()).expect("valid");
        TravelMatrices::new(distance, duration).expect("same size")
    }

    struct Day {
        stops: usize,
        windows: bool,
        optional: bool,
        day_end: Option<f64>,
        end: bool,
        asymmetric: bool,
        objective: Objective,
    }

    impl Day {
        fn plain(stops: usize) -> Self {
            Self {
                stops,
                windows: false,
                optional: false,
                day_end: None,
                end: true,
                asymmetric: false,
                objective: Objective::Distance,
            }
        }

        fn make(&self, rng: &mut SeededRng) -> Problem {
            let n = self.stops + 2;
            let matrices = plane(rng, n, self.asymmetric);
            let mut builder = Problem::builder(matrices, 0, 0.0).objective(self.objective);
            if self.end {
                builder = builder.end_at(n - 1);
            }
            if let Some(day_end) = self.day_end {
                builder = builder.day_ends_at(day_end);
            }
            for s in 1..=self.stops {
                let mut stop = Stop::at(s).with_service(rng.range(300.0, 1200.0).round());
                if self.windows && rng.below(3) != 0 {
                    let open = rng.range(0.0, 6000.0).round();
                    stop = stop.with_window(open, open + rng.range(600.0, 3600.0).round());
                }
                if self.optional && rng.below(2) == 0 {
                    stop = stop.optional(rng.below(4) as u32);
                }
                builder = builder.stop(stop);
            }
            builder.build().expect("valid")
        }
    }

    /// (required served, priority served, cost) of a solution.
    fn score(problem: &Problem, solution: &Solution) -> (u64, u64, f64) {
        let (mut required, mut priority) = (0, 0);
        for visit in &solution.visits {
            match problem.stops()[visit.stop].importance {
                Importance::Required => required += 1,
                Importance::Optional { priority: p } => priority += u64::from(p),
            }
        }
        (required, priority, solution.cost)
    }

    /// Every order of every subset, by depth-first search on the public problem only (cut
    /// only where a partial route is already dearer than a complete one serving everything).
    fn brute_force(problem: &Problem) -> (u64, u64, f64) {
        struct Walk<'a> {
            problem: &'a Problem,
            best: (u64, u64, f64),
            max: (u64, u64),
            used: Vec<bool>,
        }
        impl Walk<'_> {
            fn go(&mut self, at: usize, time: f64, distance: f64, required: u64, priority: u64) {
                let p = self.problem;
                let (dist, dur) = (p.matrices().distance(), p.matrices().duration());
                let day_end = p.day_end().unwrap_or(f64::INFINITY);
                let (finish, total) = match p.end_location() {
                    Some(end) => (time + dur.get(at, end), distance + dist.get(at, end)),
                    None => (time, distance),
                };
                if finish <= day_end {
                    let cost = match p.objective() {
                        Objective::Distance => total,
                        Objective::Duration => finish - p.start_time(),
                    };
                    let (r, q, c) = self.best;
                    if (required, priority) > (r, q) || ((required, priority) == (r, q) && cost < c) {
                        self.best = (required, priority, cost);
                    }
                }
                // Bound: once a route serves everything there is to serve, a partial route
                // already as dear cannot win (costs only grow).
                let so_far = match p.objective() {
                    Objective::Distance => distance,
                    Objective::Duration => time - p.start_time(),
                };
                if (self.best.0, self.best.1) == self.max && so_far >= self.best.2 {
                    return;
                }
                for (i, stop) in p.stops().iter().enumerate() {
                    if self.used[i] {
                        continue;
                    }
                    let arrival = time + dur.get(at, stop.location);
                    let (open, close) =
                        stop.window.map_or((f64::NEG_INFINITY, f64::INFINITY), |w| (w.open, w.close));
                    let departure = arrival.max(open) + stop.service;
                    if arrival > close || departure > day_end {
                        continue;
                    }
                    let (r, q) = match stop.importance {
                        Importance::Required => (required + 1, priority),
                        Importance::Optional { priority: x } => (required, priority + u64::from(x)),
                    };
                    self.used[i] = true;
                    self.go(stop.location, departure, distance + dist.get(at, stop.location), r, q);
                    self.used[i] = false;
                }
            }
        }
        let max = problem.stops().iter().fold((0, 0), |(r, q), s| match s.importance {
            Importance::Required => (r + 1, q),
            Importance::Optional { priority } => (r, q + u64::from(priority)),
        });
        let mut walk =
            Walk { problem, best: (0, 0, f64::INFINITY), max, used: vec![false; problem.stops().len()] };
        walk.go(problem.start_location(), problem.start_time(), 0.0, 0, 0);
        walk.best
    }

    fn assert_optimal(problem: &Problem) -> Solution {
        let exact = solve_exact(problem).expect("small enough");
        assert!(exact.proven_optimal);
        let (r, q, c) = score(problem, &exact);
        let (br, bq, bc) = brute_force(problem);
        assert_eq!((r, q), (br, bq), "served the most");
        assert!((c - bc).abs() < 1e-6, "exact {c} vs brute force {bc}");
        // The times it reports are the ones the order really gives.
        let replay = problem.evaluate(&exact.order()).expect("feasible");
        assert_eq!(replay.visits, exact.visits);
        assert!((replay.cost - exact.cost).abs() < 1e-6);
        exact
    }

    #[test]
    fn exact_routes_are_optimal_against_brute_force_without_windows() {
        let mut rng = SeededRng::new(1);
        for stops in 1..=8 {
            for _ in 0..3 {
                assert_optimal(&Day::plain(stops).make(&mut rng));
            }
        }
    }

    #[test]
    fn exact_routes_are_optimal_against_brute_force_on_ten_stops() {
        let mut rng = SeededRng::new(2);
        let problem = Day::plain(10).make(&mut rng);
        assert_optimal(&problem);
        let problem = Day { windows: true, day_end: Some(16_000.0), ..Day::plain(10) }.make(&mut rng);
        assert_optimal(&problem);
    }

    #[test]
    fn exact_routes_are_optimal_against_brute_force_with_windows_and_a_day_end() {
        let mut rng = SeededRng::new(3);
        for stops in 1..=8 {
            for _ in 0..4 {
                let day =
                    Day { windows: true, day_end: Some(rng.range(5000.0, 12_000.0)), ..Day::plain(stops) };
                assert_optimal(&day.make(&mut rng));
            }
        }
    }

    #[test]
    fn exact_routes_are_optimal_against_brute_force_on_asymmetric_matrices() {
        let mut rng = SeededRng::new(4);
        for stops in 2..=8 {
            let day = Day { asymmetric: true, windows: stops % 2 == 0, ..Day::plain(stops) };
            let problem = day.make(&mut rng);
            assert!(!problem.matrices().distance().is_symmetric());
            assert_optimal(&problem);
        }
    }

    #[test]
    fn exact_routes_are_optimal_against_brute_force_with_optional_stops_and_priorities() {
        let mut rng = SeededRng::new(5);
        for stops in 2..=8 {
            for _ in 0..3 {
                let day = Day {
                    optional: true,
                    windows: true,
                    day_end: Some(rng.range(3000.0, 9000.0)),
                    ..Day::plain(stops)
                };
                assert_optimal(&day.make(&mut rng));
            }
        }
    }

    #[test]
    fn exact_routes_are_optimal_against_brute_force_for_the_time_objective() {
        let mut rng = SeededRng::new(6);
        for stops in 1..=8 {
            let day = Day {
                objective: Objective::Duration,
                windows: true,
                end: stops % 2 == 0,
                day_end: Some(20_000.0),
                ..Day::plain(stops)
            };
            let exact = assert_optimal(&day.make(&mut rng));
            assert!((exact.cost - (exact.finish_time - exact.start_time)).abs() < 1e-9);
        }
    }

    #[test]
    fn routes_without_an_end_point_finish_at_the_last_visit() {
        let mut rng = SeededRng::new(7);
        for stops in 1..=7 {
            let exact = assert_optimal(&Day { end: false, ..Day::plain(stops) }.make(&mut rng));
            let last = exact.visits.last().expect("stops");
            assert_eq!(exact.finish_time, last.departure);
        }
    }

    fn line() -> TravelMatrices {
        // Locations 0..5 on a line, 1 km apart, 100 s per km.
        let d = Matrix::from_fn(5, |a, b| (a as f64 - b as f64).abs() * 1000.0).expect("valid");
        let t = Matrix::from_fn(5, |a, b| (a as f64 - b as f64).abs() * 100.0).expect("valid");
        TravelMatrices::new(d, t).expect("same size")
    }

    #[test]
    fn zero_stops_give_the_trip_from_start_to_end() {
        let problem = Problem::builder(line(), 1, 0.0).end_at(4).build().expect("valid");
        let solution = solve(&problem, &SolveOptions::default(), &mut Iterations::new(10));
        assert!(solution.visits.is_empty() && solution.unserved.is_empty());
        assert_eq!(solution.distance, 3000.0);
        assert_eq!(solution.finish_time, 300.0);
        assert!(solution.proven_optimal);
        let heuristic = solve_heuristic(&problem, 0, &mut Iterations::new(10));
        assert_eq!(heuristic.distance, 3000.0);
    }

    #[test]
    fn one_stop_is_visited_with_its_times() {
        let problem = Problem::builder(line(), 0, 1000.0)
            .stop(Stop::at(3).with_service(60.0).with_window(1500.0, 2000.0))
            .build()
            .expect("valid");
        let solution = solve_exact(&problem).expect("small");
        assert_eq!(solution.order(), vec![0]);
        let visit = solution.visits[0];
        assert_eq!((visit.arrival, visit.wait, visit.departure), (1300.0, 200.0, 1560.0));
        assert_eq!(visit.service_start(), 1500.0);
        assert_eq!(solution.finish_time, 1560.0);
        assert_eq!(solution.wait_time, 200.0);
    }

    #[test]
    fn duplicate_locations_and_a_start_equal_to_a_stop_cost_nothing_extra() {
        let problem = Problem::builder(line(), 2, 0.0)
            .end_at(2)
            .stop(Stop::at(2).with_service(100.0))
            .stop(Stop::at(4))
            .stop(Stop::at(4))
            .stop(Stop::at(0))
            .stop(Stop::at(2))
            .build()
            .expect("valid");
        let solution = assert_optimal(&problem);
        assert_eq!(solution.visits.len(), 5);
        assert_eq!(solution.distance, 8000.0);
        let heuristic = solve_heuristic(&problem, 3, &mut Iterations::new(100));
        assert_eq!(heuristic.distance, 8000.0);
    }

    #[test]
    fn a_window_that_cannot_be_reached_is_reported_not_crashed_on() {
        let problem = Problem::builder(line(), 0, 0.0)
            .end_at(0)
            .stop(Stop::at(1))
            .stop(Stop::at(4).with_window(0.0, 200.0))
            .stop(Stop::at(2))
            .build()
            .expect("valid");
        for solution in
            [solve_exact(&problem).expect("small"), solve_heuristic(&problem, 0, &mut Iterations::new(20))]
        {
            assert_eq!(solution.order().len(), 2);
            assert!(!solution.serves_all_required());
            assert_eq!(
                solution.unserved,
                vec![UnservedStop {
                    stop: 1,
                    required: true,
                    reason: Unserved::WindowMissed { earliest_arrival: 400.0, close: 200.0 },
                }]
            );
            assert_eq!(solution.distance, 4000.0);
        }
    }

    #[test]
    fn a_day_too_short_for_every_stop_is_reported() {
        let problem = Problem::builder(line(), 0, 0.0)
            .end_at(0)
            .day_ends_at(700.0)
            .stop(Stop::at(1).with_service(100.0))
            .stop(Stop::at(3).with_service(100.0))
            .build()
            .expect("valid");
        let solution = assert_optimal(&problem);
        assert_eq!(solution.order(), vec![0]);
        assert_eq!(
            solution.unserved[0].reason,
            Unserved::DayTooShort { earliest_finish: 700.0 + 100.0, day_end: 700.0 }
        );
    }

    #[test]
    fn two_clashing_windows_keep_the_required_stop_and_name_the_clash() {
        let problem = Problem::builder(line(), 0, 0.0)
            .stop(Stop::at(4).with_service(1000.0).with_window(400.0, 500.0).optional(5))
            .stop(Stop::at(1).with_service(1000.0).with_window(100.0, 200.0))
            .build()
            .expect("valid");
        let solution = assert_optimal(&problem);
        assert_eq!(solution.order(), vec![1]);
        assert_eq!(solution.unserved[0].stop, 0);
        assert!(!solution.unserved[0].required);
        assert_eq!(solution.unserved[0].reason, Unserved::WindowConflict { with_stop: 1 });
    }

    #[test]
    fn a_short_day_keeps_the_higher_priority_optional_stop_even_when_it_is_further() {
        let problem = Problem::builder(line(), 2, 0.0)
            .day_ends_at(350.0)
            .stop(Stop::at(1).optional(1))
            .stop(Stop::at(4).optional(2))
            .build()
            .expect("valid");
        let solution = assert_optimal(&problem);
        assert_eq!(solution.order(), vec![1]);
        assert_eq!(
            solution.unserved,
            vec![UnservedStop {
                stop: 0,
                required: false,
                reason: Unserved::DayTooShort { earliest_finish: 400.0, day_end: 350.0 },
            }]
        );
    }

    #[test]
    fn an_optional_stop_of_priority_zero_is_left_off_and_says_so() {
        let problem = Problem::builder(line(), 0, 0.0)
            .end_at(0)
            .stop(Stop::at(2))
            .stop(Stop::at(4).optional(0))
            .build()
            .expect("valid");
        for solution in
            [solve_exact(&problem).expect("small"), solve_heuristic(&problem, 0, &mut Iterations::new(20))]
        {
            assert_eq!(solution.order(), vec![0]);
            assert_eq!(
                solution.unserved,
                vec![UnservedStop { stop: 1, required: false, reason: Unserved::ZeroPriority }]
            );
        }
    }

    #[test]
    fn solve_is_exact_up_to_the_limit_and_heuristic_beyond() {
        let mut rng = SeededRng::new(8);
        let problem = Day::plain(6).make(&mut rng);
        let options = SolveOptions { exact_limit: 6, seed: 1 };
        assert!(solve(&problem, &options, &mut Iterations::new(10)).proven_optimal);
        let options = SolveOptions { exact_limit: 5, seed: 1 };
        let heuristic = solve(&problem, &options, &mut Iterations::new(200));
        assert!(!heuristic.proven_optimal);
        assert!((heuristic.cost - solve_exact(&problem).expect("small").cost).abs() < 1e-6);
    }

    #[test]
    fn the_exact_solver_refuses_more_stops_than_its_limit() {
        let problem = Problem::builder(line(), 0, 0.0)
            .stops((0..MAX_EXACT_STOPS + 1).map(|i| Stop::at(i % 5)))
            .build()
            .expect("valid");
        assert_eq!(
            solve_exact(&problem).unwrap_err(),
            RouteError::TooManyStopsForExact { stops: MAX_EXACT_STOPS + 1, limit: MAX_EXACT_STOPS }
        );
        let solution = solve(&problem, &SolveOptions::default(), &mut Iterations::new(50));
        assert_eq!(solution.visits.len(), MAX_EXACT_STOPS + 1);
        assert_eq!(solution.distance, 4000.0);
    }
}
