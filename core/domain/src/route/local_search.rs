//! The heuristic for days too large to solve exactly: a seeded local search that keeps every
//! appointment window and the day's end.
//!
//! 1. **Seed**: cheapest feasible insertion, required stops first, then optional stops by
//!    priority (with windows, also insertion in order of closing time; the better seed wins).
//! 2. **Local search**: 2-opt (segment reversal) and Or-opt (moving a run of 1–3 stops,
//!    reversed or not; relocate is the run of one), driven by nearest-neighbour lists and
//!    "don't look" bits. Cost changes are O(1) from prefix sums, asymmetric matrices
//!    included; an improving move is then checked against the windows by replaying only the
//!    changed stretch up to a precomputed latest-arrival bound. With the time objective and
//!    windows, a move is judged by its finishing time (replayed to the end) and an insertion
//!    by the delay that the waiting further on does not absorb.
//! 3. **Iterated**: a perturbation (a local double bridge without windows; with windows, ruin
//!    and recreate of a stop and its nearest neighbours, re-inserted class by class or mixed),
//!    local search again, and the result kept if it serves at least as much (required stops
//!    first, then priority) at no greater cost; unserved stops are re-inserted whenever they
//!    fit.
//!
//! The domain has no clock: the caller passes a [`Budget`] (an iteration count, or a closure
//! that reads its own clock), consulted between rounds; the seed and first descent always run
//! (a few milliseconds for 100 stops). With [`Iterations`] the answer depends only on the
//! problem and the seed.

use std::cmp::Reverse;

use super::SeededRng;
use super::problem::{Nodes, Problem, Score};
use super::solution::{self, Solution};

/// When the search should stop. Consulted once per perturbation round.
pub trait Budget {
    /// True once the search must stop (it then returns the best route found).
    fn exhausted(&mut self) -> bool;
}

/// A budget of perturbation rounds: deterministic, so the same problem and seed give the same
/// route on every device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iterations {
    left: u64,
}

impl Iterations {
    /// A budget of `rounds` perturbation rounds.
    #[must_use]
    pub fn new(rounds: u64) -> Self {
        Self { left: rounds }
    }
}

impl Budget for Iterations {
    fn exhausted(&mut self) -> bool {
        if self.left == 0 {
            return true;
        }
        self.left -= 1;
        false
    }
}

/// Any closure answering "is time up?", e.g. `|| Instant::now() >= deadline` on the caller's
/// side of the I/O boundary.
impl<F: FnMut() -> bool> Budget for F {
    fn exhausted(&mut self) -> bool {
        self()
    }
}

/// Finds a good feasible route with the seeded local search; never claims it optimal.
///
/// Serves as many required stops as it can, then optional ones by priority, and reports the
/// rest with their reason. Deterministic for a seed under an [`Iterations`] budget.
pub fn solve_heuristic(problem: &Problem, seed: u64, budget: &mut dyn Budget) -> Solution {
    let nodes = Nodes::new(problem);
    let order = search(&nodes, seed, budget);
    solution::build(problem, &nodes, &order, false)
}

/// The best order found (0-based stop indices).
pub(crate) fn search(nodes: &Nodes, seed: u64, budget: &mut dyn Budget) -> Vec<usize> {
    let mut search = Search::new(nodes, seed);
    let all: Vec<usize> = (1..=nodes.stops()).collect();
    search.recreate(all.clone(), Insertion::Cheapest);
    search.descend();
    let mut best = search.snapshot();
    if nodes.timed {
        // A second seed: stops in order of their window's closing time.
        search.restore(&Snapshot { seq: vec![0, nodes.end()], ..best.clone() });
        let mut by_close = all;
        by_close.sort_by(|&a, &b| nodes.close[a].total_cmp(&nodes.close[b]));
        search.recreate(by_close, Insertion::InOrder);
        search.descend();
        let other = search.snapshot();
        if other.beats(&best) {
            best = other;
        } else {
            search.restore(&best);
        }
    }
    while !budget.exhausted() {
        if !search.perturb() {
            break;
        }
        search.descend();
        let candidate = search.snapshot();
        if candidate.beats(&best) || candidate.ties(&best) {
            best = candidate;
        } else {
            search.restore(&best);
        }
    }
    best.seq[1..best.seq.len() - 1].iter().map(|&node| node - 1).collect()
}

const EPS: f64 = 1e-7;
const NONE: usize = usize::MAX;
/// Neighbours considered per node by the moves.
const NEIGHBOURS: usize = 12;
/// Most stops removed by one ruin.
const MAX_RUIN: usize = 10;
/// Longest segment moved by one double bridge.
const MAX_BRIDGE: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Insertion {
    /// Repeatedly the cheapest (stop, place) pair within each class.
    Cheapest,
    /// Each stop in the given order (within its class) at its cheapest place.
    InOrder,
    /// Each stop in the given order, classes mixed, at its cheapest place: lets a cheap
    /// optional stop take a place first, opening orders that class-by-class greed never
    /// builds (the acceptance test still ranks required stops first).
    Mixed,
}

#[derive(Debug, Clone)]
struct Snapshot {
    seq: Vec<usize>,
    score: Score,
    value: f64,
}

impl Snapshot {
    fn beats(&self, other: &Snapshot) -> bool {
        self.score > other.score || (self.score == other.score && self.value < other.value - EPS)
    }

    fn ties(&self, other: &Snapshot) -> bool {
        self.score == other.score && (self.value - other.value).abs() <= EPS
    }
}

/// The route under search: `seq` holds node ids from the start (node 0) to the end node.
struct Search<'a> {
    nodes: &'a Nodes,
    seq: Vec<usize>,
    /// Position of each node in `seq`, `NONE` when not routed.
    pos: Vec<usize>,
    /// `fwd[k]`: cost of the route from position 0 to k.
    fwd: Vec<f64>,
    /// `bwd[k]`: cost of positions 0..=k travelled backwards (for reversals).
    bwd: Vec<f64>,
    /// Departure time at each position (arrival, for the end).
    dep: Vec<f64>,
    /// Latest arrival at each position that keeps the rest of the route feasible.
    latest: Vec<f64>,
    /// Waiting for windows at each position and after it, up to the end.
    wait_after: Vec<f64>,
    /// For the time objective with windows, how much travel a move may add and still finish
    /// earlier (the route's total waiting); 0 otherwise.
    slack: f64,
    /// Nearest successors of each node by cost.
    out: Vec<Vec<usize>>,
    /// Nearest predecessors of each node by cost.
    inn: Vec<Vec<usize>>,
    queue: Vec<usize>,
    queued: Vec<bool>,
    scratch: Vec<usize>,
    rng: SeededRng,
}

impl<'a> Search<'a> {
    fn new(nodes: &'a Nodes, seed: u64) -> Self {
        let n = nodes.n;
        let end = nodes.end();
        let k = NEIGHBOURS.min(n.saturating_sub(1));
        let mut out = Vec::with_capacity(n);
        let mut inn = Vec::with_capacity(n);
        for a in 0..n {
            // Nobody travels into the start or out of the end.
            let mut succ: Vec<usize> = (1..n).filter(|&b| b != a && a != end).collect();
            succ.sort_by(|&x, &y| nodes.cost(a, x).total_cmp(&nodes.cost(a, y)));
            succ.truncate(k);
            out.push(succ);
            let mut pred: Vec<usize> = (0..end).filter(|&b| b != a && a != 0).collect();
            pred.sort_by(|&x, &y| nodes.cost(x, a).total_cmp(&nodes.cost(y, a)));
            pred.truncate(k);
            inn.push(pred);
        }
        let mut search = Self {
            nodes,
            seq: vec![0, end],
            pos: vec![NONE; n],
            fwd: Vec::with_capacity(n),
            bwd: Vec::with_capacity(n),
            dep: Vec::with_capacity(n),
            latest: Vec::with_capacity(n),
            wait_after: Vec::with_capacity(n),
            slack: 0.0,
            out,
            inn,
            queue: Vec::with_capacity(n),
            queued: vec![false; n],
            scratch: Vec::with_capacity(n),
            rng: SeededRng::new(seed),
        };
        search.refresh();
        search
    }

    fn last(&self) -> usize {
        self.seq.len() - 1
    }

    fn c(&self, a: usize, b: usize) -> f64 {
        self.nodes.cost(a, b)
    }

    /// Recomputes positions, prefix costs and the schedule bounds; returns whether the route
    /// keeps every window and the day's end.
    fn refresh(&mut self) -> bool {
        let nodes = self.nodes;
        self.pos.fill(NONE);
        for (k, &node) in self.seq.iter().enumerate() {
            self.pos[node] = k;
        }
        let len = self.seq.len();
        self.fwd.clear();
        self.bwd.clear();
        self.fwd.push(0.0);
        self.bwd.push(0.0);
        for k in 1..len {
            let (a, b) = (self.seq[k - 1], self.seq[k]);
            self.fwd.push(self.fwd[k - 1] + nodes.cost(a, b));
            self.bwd.push(self.bwd[k - 1] + nodes.cost(b, a));
        }
        self.dep.clear();
        self.dep.push(nodes.start_time);
        self.wait_after.clear();
        self.wait_after.push(0.0);
        let mut feasible = true;
        for k in 1..len {
            let (a, b) = (self.seq[k - 1], self.seq[k]);
            let arrival = self.dep[k - 1] + nodes.time(a, b);
            feasible &= arrival <= nodes.close[b];
            self.wait_after.push((nodes.open[b] - arrival).max(0.0));
            self.dep.push(arrival.max(nodes.open[b]) + nodes.service[b]);
        }
        for k in (0..len - 1).rev() {
            self.wait_after[k] += self.wait_after[k + 1];
        }
        self.slack = if nodes.timed && nodes.duration_objective { self.wait_after[0] } else { 0.0 };
        if nodes.timed {
            self.latest.clear();
            self.latest.resize(len, f64::INFINITY);
            self.latest[len - 1] = nodes.day_end;
            for k in (1..len - 1).rev() {
                let (a, b) = (self.seq[k], self.seq[k + 1]);
                self.latest[k] = nodes.close[a].min(self.latest[k + 1] - nodes.time(a, b) - nodes.service[a]);
            }
        }
        feasible
    }

    /// The objective of the current route: distance, or finishing time since the start.
    fn value(&self) -> f64 {
        if self.nodes.duration_objective {
            self.dep[self.last()] - self.nodes.start_time
        } else {
            self.fwd[self.last()]
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            seq: self.seq.clone(),
            score: self.nodes.score(self.seq[1..self.last()].iter().copied()),
            value: self.value(),
        }
    }

    fn restore(&mut self, snapshot: &Snapshot) {
        self.seq.clone_from(&snapshot.seq);
        self.refresh();
        for &node in &self.queue {
            self.queued[node] = false;
        }
        self.queue.clear();
    }

    fn push(&mut self, node: usize) {
        if !self.queued[node] {
            self.queued[node] = true;
            self.queue.push(node);
        }
    }

    /// Local search until no move improves, starting from the queued nodes; then re-inserts
    /// whatever unserved stop fits.
    fn descend(&mut self) {
        loop {
            while let Some(a) = self.queue.pop() {
                self.queued[a] = false;
                if self.two_opt(a) || self.or_opt(a) {
                    self.push(a);
                }
            }
            let unrouted: Vec<usize> = (1..self.nodes.end()).filter(|&u| self.pos[u] == NONE).collect();
            if unrouted.is_empty() || !self.recreate(unrouted, Insertion::Cheapest) {
                return;
            }
        }
    }

    /// Replays the schedule with `scratch` in place of positions `lo..=hi`: None if a window or
    /// the day's end is broken, else the new finishing time (only computed for the time
    /// objective; 0 otherwise).
    fn check(&self, lo: usize, hi: usize) -> Option<f64> {
        let nodes = self.nodes;
        if !nodes.timed {
            return Some(0.0);
        }
        let mut at = self.seq[lo - 1];
        let mut time = self.dep[lo - 1];
        for &node in &self.scratch {
            let arrival = time + nodes.time(at, node);
            if arrival > nodes.close[node] {
                return None;
            }
            time = arrival.max(nodes.open[node]) + nodes.service[node];
            at = node;
        }
        let mut k = hi + 1;
        let mut arrival = time + nodes.time(at, self.seq[k]);
        if arrival > self.latest[k] {
            return None;
        }
        if !nodes.duration_objective {
            return Some(0.0);
        }
        while k < self.last() {
            let node = self.seq[k];
            time = arrival.max(nodes.open[node]) + nodes.service[node];
            k += 1;
            arrival = time + nodes.time(node, self.seq[k]);
        }
        Some(arrival)
    }

    /// Applies `scratch` to positions `lo..=hi` (changing the travel cost by `delta`) if it
    /// keeps the windows and improves the objective: less travel, or for the time objective
    /// with windows, an earlier finish (or the same finish with less travel).
    fn apply(&mut self, lo: usize, hi: usize, delta: f64, touched: &[usize]) -> bool {
        if delta > self.slack - EPS {
            return false;
        }
        let Some(finish) = self.check(lo, hi) else {
            return false;
        };
        if self.nodes.timed && self.nodes.duration_objective {
            let current = self.dep[self.last()];
            let better = finish < current - EPS || (finish <= current + EPS && delta < -EPS);
            if !better {
                return false;
            }
        } else if delta > -EPS {
            return false;
        }
        self.seq[lo..=hi].copy_from_slice(&self.scratch);
        self.refresh();
        for &node in touched {
            self.push(node);
        }
        true
    }

    /// Tries reversing positions `l..=r` (1 ≤ l < r < last).
    fn try_reverse(&mut self, l: usize, r: usize) -> bool {
        let s = &self.seq;
        let (before, first, last, after) = (s[l - 1], s[l], s[r], s[r + 1]);
        let delta = self.c(before, last) + self.c(first, after) - self.c(before, first) - self.c(last, after)
            + (self.bwd[r] - self.bwd[l])
            - (self.fwd[r] - self.fwd[l]);
        if delta > self.slack - EPS {
            return false;
        }
        self.scratch.clear();
        self.scratch.extend(self.seq[l..=r].iter().rev());
        self.apply(l, r, delta, &[before, first, last, after])
    }

    /// 2-opt moves that give node `a` a near neighbour.
    fn two_opt(&mut self, a: usize) -> bool {
        let i = self.pos[a];
        if i == NONE {
            return false;
        }
        let last = self.last();
        let gain_next = if i < last { self.c(a, self.seq[i + 1]) } else { f64::NEG_INFINITY };
        let gain_prev = if i > 0 { self.c(self.seq[i - 1], a) } else { f64::NEG_INFINITY };
        let limit = gain_next.max(gain_prev);
        for idx in 0..self.out[a].len() {
            let b = self.out[a][idx];
            let cost = self.c(a, b);
            if cost >= limit {
                break;
            }
            let j = self.pos[b];
            if j == NONE || j <= i + 1 {
                continue;
            }
            // a → b and a's old successor → b's old successor.
            if cost < gain_next && j < last && self.try_reverse(i + 1, j) {
                return true;
            }
            // a's old predecessor → b's old predecessor, and a → b.
            if cost < gain_prev && i >= 1 && self.try_reverse(i, j - 1) {
                return true;
            }
        }
        for idx in 0..self.inn[a].len() {
            let b = self.inn[a][idx];
            let cost = self.c(b, a);
            if cost >= limit {
                break;
            }
            let j = self.pos[b];
            if j == NONE || j + 1 >= i {
                continue;
            }
            // b → a and b's old successor → a's old successor.
            if cost < gain_next && i < last && self.try_reverse(j + 1, i) {
                return true;
            }
            // b's old predecessor → a's old predecessor, and b → a.
            if cost < gain_prev && j >= 1 && self.try_reverse(j, i - 1) {
                return true;
            }
        }
        false
    }

    /// Or-opt moves of a run of 1–3 stops starting or ending at `a`, to a place next to one of
    /// `a`'s neighbours, in either direction.
    fn or_opt(&mut self, a: usize) -> bool {
        let i = self.pos[a];
        let last = self.last();
        if i == NONE || i == 0 || i == last {
            return false;
        }
        for len in 1..=3usize {
            for a_first in [true, false] {
                if len == 1 && !a_first {
                    continue;
                }
                let (s, e) = if a_first {
                    (i, i + len - 1)
                } else {
                    if i + 1 < len {
                        continue;
                    }
                    (i + 1 - len, i)
                };
                if s < 1 || e >= last {
                    continue;
                }
                if self.or_opt_segment(a, s, e) {
                    return true;
                }
            }
        }
        false
    }

    fn or_opt_segment(&mut self, a: usize, s: usize, e: usize) -> bool {
        let last = self.last();
        let (p, f, l, nx) = (self.seq[s - 1], self.seq[s], self.seq[e], self.seq[e + 1]);
        let removal = self.c(p, f) + self.c(l, nx) - self.c(p, nx);
        if removal + self.slack <= EPS {
            return false;
        }
        let inner_reversal = (self.bwd[e] - self.bwd[s]) - (self.fwd[e] - self.fwd[s]);
        for list in 0..2 {
            let count = if list == 0 { self.out[a].len() } else { self.inn[a].len() };
            for idx in 0..count {
                let (b, cost) = if list == 0 {
                    let b = self.out[a][idx];
                    (b, self.c(a, b))
                } else {
                    let b = self.inn[a][idx];
                    (b, self.c(b, a))
                };
                if cost >= removal + self.slack {
                    break;
                }
                let j = self.pos[b];
                if j == NONE {
                    continue;
                }
                for x_pos in [Some(j), j.checked_sub(1)].into_iter().flatten() {
                    if x_pos >= last || (x_pos + 1 >= s && x_pos <= e) {
                        continue;
                    }
                    let (x, y) = (self.seq[x_pos], self.seq[x_pos + 1]);
                    let base = -self.c(x, y) - removal;
                    let forward = base + self.c(x, f) + self.c(l, y);
                    let backward = base + self.c(x, l) + self.c(f, y) + inner_reversal;
                    let reversed = s != e && backward < forward;
                    let delta = if reversed { backward } else { forward };
                    if delta > self.slack - EPS {
                        continue;
                    }
                    self.scratch.clear();
                    let (lo, hi) = if x_pos > e {
                        self.scratch.extend_from_slice(&self.seq[e + 1..=x_pos]);
                        self.push_segment(s, e, reversed);
                        (s, x_pos)
                    } else {
                        self.push_segment(s, e, reversed);
                        self.scratch.extend_from_slice(&self.seq[x_pos + 1..s]);
                        (x_pos + 1, e)
                    };
                    if self.apply(lo, hi, delta, &[p, f, l, nx, x, y]) {
                        return true;
                    }
                }
            }
        }
        false
    }

    fn push_segment(&mut self, s: usize, e: usize, reversed: bool) {
        if reversed {
            self.scratch.extend(self.seq[s..=e].iter().rev());
        } else {
            self.scratch.extend_from_slice(&self.seq[s..=e]);
        }
    }

    /// The cheapest feasible place for unrouted node `u`: (cost increase, position after
    /// which it goes).
    fn best_place(&self, u: usize) -> Option<(f64, usize)> {
        let nodes = self.nodes;
        let mut best: Option<(f64, usize)> = None;
        for p in 0..self.last() {
            let (x, y) = (self.seq[p], self.seq[p + 1]);
            let mut delta = self.c(x, u) + self.c(u, y) - self.c(x, y);
            if nodes.timed {
                let arrival = self.dep[p] + nodes.time(x, u);
                if arrival > nodes.close[u] {
                    continue;
                }
                let departure = arrival.max(nodes.open[u]) + nodes.service[u];
                let reach_y = departure + nodes.time(u, y);
                if reach_y > self.latest[p + 1] {
                    continue;
                }
                if nodes.duration_objective {
                    // The push at y, less the waiting downstream that absorbs it.
                    let push = reach_y - (self.dep[p] + nodes.time(x, y));
                    delta = (push - self.wait_after[p + 1]).max(0.0);
                }
            }
            if best.is_some_and(|(d, _)| delta >= d) {
                continue;
            }
            best = Some((delta, p));
        }
        best
    }

    fn insert(&mut self, u: usize, after: usize) {
        self.seq.insert(after + 1, u);
        self.refresh();
        let (prev, next) = (self.seq[after], self.seq[after + 2]);
        self.push(prev);
        self.push(u);
        self.push(next);
    }

    /// Inserts the `pending` nodes where they fit, required first, then by priority (optional
    /// stops of priority 0 are left out); within a class either cheapest first or in the
    /// given order. Returns whether any was inserted.
    fn recreate(&mut self, mut pending: Vec<usize>, how: Insertion) -> bool {
        let nodes = self.nodes;
        let class = |u: usize| (nodes.required[u], nodes.priority[u]);
        // An optional stop of priority 0 earns nothing and only adds cost: never inserted.
        pending.retain(|&u| class(u) != (0, 0));
        if how == Insertion::Mixed {
            let mut inserted = false;
            for u in pending {
                if let Some((_, p)) = self.best_place(u) {
                    self.insert(u, p);
                    inserted = true;
                }
            }
            return inserted;
        }
        pending.sort_by_key(|&u| Reverse(class(u)));
        let mut inserted = false;
        let mut start = 0;
        while start < pending.len() {
            let key = class(pending[start]);
            let end =
                pending[start..].iter().position(|&u| class(u) != key).map_or(pending.len(), |o| start + o);
            let mut group: Vec<usize> = pending[start..end].to_vec();
            match how {
                Insertion::Cheapest => loop {
                    let mut best: Option<(f64, usize, usize)> = None;
                    for (g, &u) in group.iter().enumerate() {
                        if let Some((delta, p)) = self.best_place(u)
                            && best.is_none_or(|(d, _, _)| delta < d)
                        {
                            best = Some((delta, g, p));
                        }
                    }
                    let Some((_, g, p)) = best else { break };
                    let u = group.swap_remove(g);
                    self.insert(u, p);
                    inserted = true;
                },
                Insertion::InOrder | Insertion::Mixed => {
                    for u in group {
                        if let Some((_, p)) = self.best_place(u) {
                            self.insert(u, p);
                            inserted = true;
                        }
                    }
                }
            }
            start = end;
        }
        inserted
    }

    /// Perturbs the route; false when there is nothing to perturb.
    fn perturb(&mut self) -> bool {
        let routed = self.last() - 1;
        if !self.nodes.timed && routed >= 3 {
            self.double_bridge();
            return true;
        }
        if routed == 0 {
            return false;
        }
        self.ruin_and_recreate();
        true
    }

    /// Swaps two adjacent runs of stops somewhere on the route (a local double bridge).
    fn double_bridge(&mut self) {
        let last = self.last();
        let p1 = 1 + self.rng.below(last - 2);
        let room = last - p1;
        let l1 = 1 + self.rng.below((room - 1).min(MAX_BRIDGE));
        let l2 = 1 + self.rng.below((room - l1).min(MAX_BRIDGE));
        self.seq[p1..p1 + l1 + l2].rotate_left(l1);
        self.refresh();
        for k in [p1 - 1, p1, p1 + l2 - 1, p1 + l2, p1 + l1 + l2 - 1, p1 + l1 + l2] {
            let node = self.seq[k];
            self.push(node);
        }
    }

    /// Removes a stop and some of its nearest routed neighbours, then re-inserts them (and any
    /// unserved stop) in random order at their cheapest feasible place: half the time class by
    /// class (required first), half the time classes mixed.
    fn ruin_and_recreate(&mut self) {
        let last = self.last();
        let routed = last - 1;
        let count = 1 + self.rng.below(MAX_RUIN.min(routed));
        let centre = self.seq[1 + self.rng.below(routed)];
        let mut removed = vec![centre];
        for &b in &self.out[centre] {
            if removed.len() >= count {
                break;
            }
            if b != self.nodes.end() && self.pos[b] != NONE {
                removed.push(b);
            }
        }
        let before = self.snapshot();
        let mut gone = vec![false; self.nodes.n];
        for &u in &removed {
            gone[u] = true;
        }
        self.seq.retain(|&node| !gone[node]);
        if !self.refresh() {
            // Only with matrices that break the triangle inequality: skipping a stop made
            // the rest late. Keep the route as it was.
            self.restore(&before);
            return;
        }
        let mut pending: Vec<usize> = (1..self.nodes.end()).filter(|&u| self.pos[u] == NONE).collect();
        self.rng.shuffle(&mut pending);
        let how = if self.rng.below(2) == 0 { Insertion::InOrder } else { Insertion::Mixed };
        self.recreate(pending, how);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::{Matrix, Stop, TravelMatrices, solve_exact};

    fn random_problem(rng: &mut SeededRng, stops: usize, windows: bool) -> Problem {
        let n = stops + 1;
        let pts: Vec<(f64, f64)> = (0..n).map(|_| (rng.range(0.0, 5000.0), rng.range(0.0, 5000.0))).collect();
        let m = Matrix::from_fn(n, |a, b| {
            let (dx, dy) = (pts[a].0 - pts[b].0, pts[a].1 - pts[b].1);
            (dx * dx + dy * dy).sqrt().round()
        })
        .expect("valid");
        let mut builder =
            Problem::builder(TravelMatrices::new(m.clone(), m).expect("same"), 0, 0.0).end_at(0);
        for s in 1..n {
            let mut stop = Stop::at(s).with_service(300.0);
            if windows && rng.below(2) == 0 {
                let open = rng.range(0.0, 20_000.0);
                stop = stop.with_window(open, open + rng.range(2000.0, 8000.0));
            }
            builder = builder.stop(stop);
        }
        builder.build().expect("valid")
    }

    #[test]
    fn the_heuristic_matches_the_exact_optimum_on_small_days_without_windows() {
        let mut rng = SeededRng::new(3);
        for _ in 0..5 {
            let problem = random_problem(&mut rng, 9, false);
            let exact = solve_exact(&problem).expect("small");
            let heuristic = solve_heuristic(&problem, 1, &mut Iterations::new(300));
            assert!(!heuristic.proven_optimal);
            assert!((heuristic.cost - exact.cost).abs() < 1e-6, "{} vs {}", heuristic.cost, exact.cost);
        }
    }

    #[test]
    fn the_heuristic_keeps_every_window_and_never_beats_the_exact_solver() {
        let mut rng = SeededRng::new(4);
        for _ in 0..5 {
            let problem = random_problem(&mut rng, 9, true);
            let exact = solve_exact(&problem).expect("small");
            let heuristic = solve_heuristic(&problem, 1, &mut Iterations::new(300));
            assert_eq!(heuristic.visits.len(), exact.visits.len());
            assert!(heuristic.cost >= exact.cost - 1e-6);
            // The reported times replay exactly through evaluate, which checks every window.
            let replay = problem.evaluate(&heuristic.order()).expect("feasible");
            assert_eq!(replay.visits, heuristic.visits);
        }
    }

    #[test]
    fn the_same_seed_and_iteration_budget_give_the_same_route() {
        let problem = random_problem(&mut SeededRng::new(9), 40, true);
        let a = solve_heuristic(&problem, 5, &mut Iterations::new(200));
        let b = solve_heuristic(&problem, 5, &mut Iterations::new(200));
        assert_eq!(a, b);
    }

    #[test]
    fn a_closure_budget_stops_the_search() {
        let problem = random_problem(&mut SeededRng::new(10), 30, false);
        let mut rounds = 0;
        let solution = solve_heuristic(&problem, 1, &mut || {
            rounds += 1;
            rounds > 10
        });
        assert_eq!(rounds, 11);
        assert_eq!(solution.visits.len(), 30);
    }

    #[test]
    fn the_heuristic_handles_zero_one_and_two_stops() {
        for stops in 0..=2 {
            let problem = random_problem(&mut SeededRng::new(11), stops, false);
            let exact = solve_exact(&problem).expect("small");
            let heuristic = solve_heuristic(&problem, 1, &mut Iterations::new(50));
            assert_eq!(heuristic.visits.len(), stops);
            assert!((heuristic.cost - exact.cost).abs() < 1e-6);
        }
    }
}
