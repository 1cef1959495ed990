//! What a solver answers: the ordered visits with arrival, wait and departure times, the
//! stops it could not fit and why, the totals, and whether the route is proven optimal.

use serde::{Deserialize, Serialize};

use super::problem::{Nodes, Problem};

/// One visit on the route.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// The stop (index into the problem's stops).
    pub stop: usize,
    /// Its location in the matrices.
    pub location: usize,
    /// When the rep arrives, in seconds.
    pub arrival: f64,
    /// How long the rep waits for the window to open, in seconds.
    pub wait: f64,
    /// When the visit ends and the rep leaves, in seconds.
    pub departure: f64,
}

impl Visit {
    /// When the visit starts (arrival plus wait).
    #[must_use]
    pub fn service_start(&self) -> f64 {
        self.arrival + self.wait
    }
}

/// Why a stop is not on the route.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Unserved {
    /// Wherever it is put on the route, the rep gets there after its window closes.
    WindowMissed {
        /// The earliest the rep could get there, in seconds.
        earliest_arrival: f64,
        /// When its window closes.
        close: f64,
    },
    /// It could be reached in its window, but the day would end too late.
    DayTooShort {
        /// The earliest the route could finish with it, in seconds.
        earliest_finish: f64,
        /// The end of the working day.
        day_end: f64,
    },
    /// It could be reached in its window, but only by making a stop on the route miss its
    /// own (the solver kept the stops worth more: required first, then higher priority).
    WindowConflict {
        /// The stop on the route that would be late.
        with_stop: usize,
    },
    /// An optional stop of priority 0: it would fit, but it earns nothing, so the shorter
    /// route without it was kept.
    ZeroPriority,
}

/// A stop left off the route, with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UnservedStop {
    /// The stop (index into the problem's stops).
    pub stop: usize,
    /// Whether it was required.
    pub required: bool,
    /// Why it is not on the route.
    pub reason: Unserved,
}

/// A day route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    /// The visits in order.
    pub visits: Vec<Visit>,
    /// The stops left off, in stop order.
    pub unserved: Vec<UnservedStop>,
    /// When the route starts, in seconds.
    pub start_time: f64,
    /// When it is done: arrival at the end point, or the end of the last visit.
    pub finish_time: f64,
    /// Total distance in metres (including the trip to the end point).
    pub distance: f64,
    /// Total travel time in seconds.
    pub travel_time: f64,
    /// Total waiting for windows to open, in seconds.
    pub wait_time: f64,
    /// The objective's value: the distance, or `finish_time - start_time`.
    pub cost: f64,
    /// Whether no other route serves more (required first, then by priority) at a lower cost:
    /// true when the exact solver produced it.
    pub proven_optimal: bool,
}

impl Solution {
    /// The stops in visiting order.
    #[must_use]
    pub fn order(&self) -> Vec<usize> {
        self.visits.iter().map(|v| v.stop).collect()
    }

    /// Whether every required stop is on the route.
    #[must_use]
    pub fn serves_all_required(&self) -> bool {
        self.unserved.iter().all(|u| !u.required)
    }
}

/// Builds the solution for a feasible `order` of stops (indices into the problem's stops).
pub(crate) fn build(problem: &Problem, nodes: &Nodes, order: &[usize], proven_optimal: bool) -> Solution {
    let stops = problem.stops();
    let mut visits = Vec::with_capacity(order.len());
    let (mut time, mut at) = (nodes.start_time, 0);
    let (mut distance, mut travel_time, mut wait_time) = (0.0, 0.0, 0.0);
    for &stop in order {
        let node = stop + 1;
        let arrival = time + nodes.time(at, node);
        let wait = (nodes.open[node] - arrival).max(0.0);
        let departure = arrival + wait + nodes.service[node];
        distance += nodes.distance(at, node);
        travel_time += nodes.time(at, node);
        wait_time += wait;
        visits.push(Visit { stop, location: stops[stop].location, arrival, wait, departure });
        (time, at) = (departure, node);
    }
    let end = nodes.end();
    distance += nodes.distance(at, end);
    travel_time += nodes.time(at, end);
    let finish_time = time + nodes.time(at, end);
    let cost = if nodes.duration_objective { finish_time - nodes.start_time } else { distance };
    let route: Vec<usize> = std::iter::once(0).chain(order.iter().map(|s| s + 1)).chain([end]).collect();
    let mut on_route = vec![false; stops.len()];
    for &stop in order {
        on_route[stop] = true;
    }
    let unserved = (0..stops.len())
        .filter(|&stop| !on_route[stop])
        .map(|stop| UnservedStop {
            stop,
            required: nodes.required[stop + 1] == 1,
            reason: why_unserved(nodes, &route, stop + 1),
        })
        .collect();
    Solution {
        visits,
        unserved,
        start_time: nodes.start_time,
        finish_time,
        distance,
        travel_time,
        wait_time,
        cost,
        proven_optimal,
    }
}

/// Tries `node` at every place on `route` (nodes, start to end) and says what goes wrong
/// where it goes least wrong: a missed own window only if every place misses it; a day
/// ending too late if some place keeps every window; otherwise the stop that would be late.
fn why_unserved(nodes: &Nodes, route: &[usize], node: usize) -> Unserved {
    let mut earliest_arrival = f64::INFINITY;
    let mut earliest_finish = f64::INFINITY;
    let mut conflict: Option<usize> = None;
    // Departure times along the route as it is.
    let mut departures = Vec::with_capacity(route.len());
    let mut time = nodes.start_time;
    departures.push(time);
    for pair in route.windows(2) {
        let arrival = time + nodes.time(pair[0], pair[1]);
        time = arrival.max(nodes.open[pair[1]]) + nodes.service[pair[1]];
        departures.push(time);
    }
    for p in 0..route.len() - 1 {
        let arrival = departures[p] + nodes.time(route[p], node);
        earliest_arrival = earliest_arrival.min(arrival);
        if arrival > nodes.close[node] {
            continue;
        }
        let mut time = arrival.max(nodes.open[node]) + nodes.service[node];
        let mut at = node;
        let mut late = None;
        for &next in &route[p + 1..] {
            let arrival = time + nodes.time(at, next);
            if arrival > nodes.close[next] && next != nodes.end() {
                late = Some(next);
                break;
            }
            time = arrival.max(nodes.open[next]) + nodes.service[next];
            at = next;
        }
        match late {
            Some(late) => {
                conflict.get_or_insert(late - 1);
            }
            None => earliest_finish = earliest_finish.min(time),
        }
    }
    if earliest_finish <= nodes.day_end && nodes.required[node] == 0 && nodes.priority[node] == 0 {
        Unserved::ZeroPriority
    } else if earliest_finish.is_finite() {
        Unserved::DayTooShort { earliest_finish, day_end: nodes.day_end }
    } else if let Some(with_stop) = conflict {
        Unserved::WindowConflict { with_stop }
    } else {
        Unserved::WindowMissed { earliest_arrival, close: nodes.close[node] }
    }
}
