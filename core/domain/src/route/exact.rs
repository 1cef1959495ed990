//! The exact solver: Held–Karp dynamic programming over (set of visited stops, last stop),
//! extended to appointment windows, a working day's end and optional stops.
//!
//! Each state keeps the Pareto front of its partial routes by (cost so far, earliest
//! departure): with waiting allowed, leaving earlier never hurts, so a partial route that is
//! both dearer and later than another is dropped, and nothing else is (time stops mattering
//! once no window is left ahead and the day's end cannot be reached whatever comes next).
//! When time constrains nothing or the objective is time itself, the front has one label and
//! this is plain Held–Karp. Every subset is solved, so optional stops cost nothing extra: the
//! answer is the subset with the best score (required stops, then summed priority) and, among
//! those, the cheapest route.
//!
//! A short local search first gives an incumbent; when it already serves everything, partial
//! routes that cannot beat it (cost so far plus the cheapest arcs into the stops left) are
//! cut. Work still grows as 2^n·n² in the worst case; 13 stops take a few milliseconds.

use super::RouteError;
use super::local_search::{self, Iterations};
use super::problem::{Nodes, Problem, Score};
use super::solution::{self, Solution};

/// The most stops [`solve_exact`] accepts (beyond, the memory grows past what a phone should
/// spend: 2^16·16 states).
pub const MAX_EXACT_STOPS: usize = 16;

/// One partial route: its cost, when it leaves its last stop, and where it came from.
#[derive(Debug, Clone, Copy)]
struct Label {
    cost: f64,
    time: f64,
    /// Index of the predecessor label in the pool, or `NO_PRED` after the start.
    pred: u32,
    /// The stop (0-based) this label ends at.
    stop: u8,
}

const NO_PRED: u32 = u32::MAX;

/// Solves `problem` exactly: the returned route serves as many required stops as possible,
/// then the largest summed priority of optional stops, and is the cheapest such route; it is
/// marked `proven_optimal`. Refuses more than [`MAX_EXACT_STOPS`] stops.
pub fn solve_exact(problem: &Problem) -> Result<Solution, RouteError> {
    let m = problem.stops().len();
    if m > MAX_EXACT_STOPS {
        return Err(RouteError::TooManyStopsForExact { stops: m, limit: MAX_EXACT_STOPS });
    }
    let nodes = Nodes::new(problem);
    let order = best_order(&nodes);
    Ok(solution::build(problem, &nodes, &order, true))
}

/// A quick local-search route's (score, cost), for bounding; None for small days, where the
/// dynamic programme is faster than the search.
fn incumbent(nodes: &Nodes) -> Option<(Score, f64)> {
    let m = nodes.stops();
    if m < 4 {
        return None;
    }
    let order = local_search::search(nodes, 0, &mut Iterations::new(8 * m as u64));
    let (mut time, mut at, mut cost) = (nodes.start_time, 0, 0.0);
    for &stop in &order {
        let node = stop + 1;
        let arrival = time + nodes.time(at, node);
        time = arrival.max(nodes.open[node]) + nodes.service[node];
        cost += nodes.cost(at, node);
        at = node;
    }
    let finish = time + nodes.time(at, nodes.end());
    cost += nodes.cost(at, nodes.end());
    let cost = if nodes.duration_objective { finish - nodes.start_time } else { cost };
    Some((nodes.score(order.iter().map(|s| s + 1)), cost))
}

/// The best order of stops (0-based stop indices) by dynamic programming.
fn best_order(nodes: &Nodes) -> Vec<usize> {
    let m = nodes.stops();
    let end = nodes.end();
    let t0 = nodes.start_time;
    let timed = nodes.timed && !nodes.duration_objective;
    // Shortest travel time from each node to the end (Floyd–Warshall; a road matrix need
    // not obey the triangle inequality): a label that cannot reach the end by the day's end
    // even so is dropped.
    let n = nodes.n;
    let mut shortest = nodes.time.clone();
    for k in 0..n {
        for a in 0..n {
            for b in 0..n {
                let via = shortest[a * n + k] + shortest[k * n + b];
                if via < shortest[a * n + b] {
                    shortest[a * n + b] = via;
                }
            }
        }
    }
    let to_end: Vec<f64> = (0..n).map(|a| shortest[a * n + end]).collect();
    // Extends a label ending at node `from` (departing at `time`, costing `cost`) to stop node
    // `to`; None if it misses the window or can no longer end the day in time.
    let extend = |from: usize, cost: f64, time: f64, to: usize| -> Option<(f64, f64)> {
        let arrival = time + nodes.time(from, to);
        if arrival > nodes.close[to] {
            return None;
        }
        let departure = arrival.max(nodes.open[to]) + nodes.service[to];
        if departure + to_end[to] > nodes.day_end {
            return None;
        }
        let cost = if nodes.duration_objective { departure - t0 } else { cost + nodes.cost(from, to) };
        Some((cost, departure))
    };
    // Pareto insertion into the front being built for one state. A label leaving by `safe`
    // can finish any completion before the day ends (see `safe_until`), so its time no
    // longer matters: a cheaper safe label beats a later-or-earlier dearer one.
    let insert = |front: &mut Vec<Label>, label: Label, safe: f64| {
        if timed {
            let beats = |a: &Label, b: &Label| a.cost <= b.cost && (a.time <= b.time || a.time <= safe);
            if front.iter().any(|l| beats(l, &label)) {
                return;
            }
            front.retain(|l| !beats(&label, l));
            front.push(label);
        } else if front.first().is_none_or(|l| label.cost < l.cost) {
            front.clear();
            front.push(label);
        }
    };
    // Time matters to a partial route only through windows still ahead and the day's end.
    // With no window among the stops left, a route leaving by
    // `day_end - (Σ over stops left of (service + longest trip into it) + longest trip to
    // the end)` finishes every completion in time, whatever order or subset it takes.
    let end_in = (0..end).map(|a| nodes.time(a, end)).fold(0.0, f64::max);
    let weight: Vec<f64> =
        (1..=m).map(|j| nodes.service[j] + (0..end).map(|a| nodes.time(a, j)).fold(0.0, f64::max)).collect();
    let total: f64 = weight.iter().sum();
    let windowed: usize = (0..m)
        .filter(|&j| nodes.open[j + 1].is_finite() || nodes.close[j + 1].is_finite())
        .fold(0, |acc, j| acc | (1 << j));
    let full = (1usize << m) - 1;
    let mut done_weight = vec![0.0; 1 << m];
    for mask in 1..(1usize << m) {
        let low = mask.trailing_zeros() as usize;
        done_weight[mask] = done_weight[mask & (mask - 1)] + weight[low];
    }
    let safe_until = |mask: usize| -> f64 {
        if (full & !mask) & windowed != 0 {
            f64::NEG_INFINITY
        } else {
            nodes.day_end - (total - done_weight[mask] + end_in)
        }
    };

    // Bounding by an incumbent: a quick local search gives a route; if it serves everything
    // worth serving (the best score there is), no partial route whose cost plus a lower bound
    // on the rest (each stop still needed entered by its cheapest arc, and the end too)
    // exceeds it can lead to a better answer, so it is dropped. Exactness is kept: the
    // optimal route's partial costs never exceed the bound.
    let incumbent = incumbent(nodes);
    let needed: Vec<bool> = (1..=m).map(|j| nodes.required[j] == 1 || nodes.priority[j] > 0).collect();
    let cheapest_in = |j: usize| -> f64 {
        let arc = (0..end).filter(|&a| a != j).map(|a| nodes.cost(a, j)).fold(f64::INFINITY, f64::min);
        let arc = if arc.is_finite() { arc } else { 0.0 };
        if nodes.duration_objective { arc + nodes.service[j] } else { arc }
    };
    let into_end = cheapest_in(end);
    let lower: Vec<f64> = (1..=m).map(|j| if needed[j - 1] { cheapest_in(j) } else { 0.0 }).collect();
    let lower_total: f64 = lower.iter().sum();
    let mut lower_done = vec![0.0; 1 << m];
    for mask in 1..(1usize << m) {
        let low = mask.trailing_zeros() as usize;
        lower_done[mask] = lower_done[mask & (mask - 1)] + lower[low];
    }
    let max_score = nodes.score((1..=m).filter(|&j| needed[j - 1]));
    let ceiling = match incumbent {
        Some((score, cost)) if score == max_score => cost * (1.0 + 1e-12) + 1e-9,
        _ => f64::INFINITY,
    };
    // The cheapest a route through `mask` (and maybe more) can still cost beyond its prefix.
    let rest_at_least = |mask: usize| lower_total - lower_done[mask] + into_end;

    let states = (1usize << m) * m;
    // Each state's labels are a contiguous run of the pool: (offset, length).
    let mut runs: Vec<(u32, u32)> = vec![(0, 0); states];
    let mut pool: Vec<Label> = Vec::new();
    // The fronts being built for (mask | next, next), one per next stop.
    let mut fronts: Vec<Vec<Label>> = vec![Vec::new(); m];
    let mut safe = vec![f64::NEG_INFINITY; m];
    let mut room = vec![f64::INFINITY; m];
    let state = |mask: usize, last: usize| mask * m + last;

    // Best complete route so far: (score, cost, last label or None for the empty route).
    let mut best: Option<(Score, f64, Option<u32>)> = None;
    let mut consider = |score: Score, cost: f64, label: Option<u32>| {
        let better = match best {
            None => true,
            Some((s, c, _)) => score > s || (score == s && cost < c),
        };
        if better {
            best = Some((score, cost, label));
        }
    };
    // The empty route.
    let direct = t0 + nodes.time(0, end);
    if direct <= nodes.day_end {
        let cost = if nodes.duration_objective { direct - t0 } else { nodes.cost(0, end) };
        consider(Score::default(), cost, None);
    }

    for mask in 0..(1usize << m) {
        // Close the routes ending in this set.
        if mask != 0 {
            let score = nodes.score((0..m).filter(|i| mask & (1 << i) != 0).map(|i| i + 1));
            let mut lasts = mask;
            while lasts != 0 {
                let last = lasts.trailing_zeros() as usize;
                lasts &= lasts - 1;
                let (offset, len) = runs[state(mask, last)];
                for index in offset..offset + len {
                    let label = pool[index as usize];
                    let finish = label.time + nodes.time(last + 1, end);
                    if finish > nodes.day_end {
                        continue;
                    }
                    let cost = if nodes.duration_objective {
                        finish - t0
                    } else {
                        label.cost + nodes.cost(last + 1, end)
                    };
                    consider(score, cost, Some(index));
                }
            }
        }
        // Extend them by one stop: every label of (mask | next, next) comes from this mask,
        // so each of those states is complete (and stored contiguously) after this round.
        let left = full & !mask;
        let mut bits = left;
        while bits != 0 {
            let next = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            fronts[next].clear();
            safe[next] = safe_until(mask | (1 << next));
            room[next] = ceiling - rest_at_least(mask | (1 << next));
        }
        if mask == 0 {
            for next in 0..m {
                if let Some((cost, time)) = extend(0, 0.0, t0, next + 1)
                    && cost <= room[next]
                {
                    insert(
                        &mut fronts[next],
                        Label { cost, time, pred: NO_PRED, stop: next as u8 },
                        safe[next],
                    );
                }
            }
        } else {
            let mut lasts = mask;
            while lasts != 0 {
                let last = lasts.trailing_zeros() as usize;
                lasts &= lasts - 1;
                let (offset, len) = runs[state(mask, last)];
                for index in offset..offset + len {
                    let label = pool[index as usize];
                    let mut bits = left;
                    while bits != 0 {
                        let next = bits.trailing_zeros() as usize;
                        bits &= bits - 1;
                        if let Some((cost, time)) = extend(last + 1, label.cost, label.time, next + 1)
                            && cost <= room[next]
                        {
                            let label = Label { cost, time, pred: index, stop: next as u8 };
                            insert(&mut fronts[next], label, safe[next]);
                        }
                    }
                }
            }
        }
        let mut bits = left;
        while bits != 0 {
            let next = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let front = &fronts[next];
            if !front.is_empty() {
                let offset = u32::try_from(pool.len()).expect("fewer than 2^32 labels for at most 16 stops");
                pool.extend_from_slice(front);
                runs[state(mask | (1 << next), next)] = (offset, front.len() as u32);
            }
        }
    }

    let mut order = Vec::new();
    if let Some((_, _, Some(mut index))) = best {
        loop {
            let label = pool[index as usize];
            order.push(usize::from(label.stop));
            if label.pred == NO_PRED {
                break;
            }
            index = label.pred;
        }
        order.reverse();
    }
    order
}
