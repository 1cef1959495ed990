//! Visit plans by grade: on which working days of a period each rep visits each of their
//! customers, at the cadence of the customer's grade (`OrgSettings::visit_frequency`: A
//! weekly, B every two weeks, C monthly by default).
//!
//! Pure: no I/O and no clock, and the same input gives the same plan. Days are local dates
//! of the org's calendar numbered as days since 1970-01-01 ([`CivilDate::to_days`]). The
//! rules, simple enough to explain to the reps:
//!
//! 1. **Cadence.** Two visits to a customer are at least its interval (N days) apart; the
//!    visit after one on day d is on the first working day from d + N.
//! 2. **What is already planned stays.** Visits planned before (by an earlier run, perhaps
//!    over another period) are fixed. New visits only fill the gaps around them where the
//!    cadence leaves room, forwards from a fixed visit (or from the customer's *anchor*, its
//!    last visit or plan before the period), backwards from the first fixed one when there is
//!    no anchor. So generating the same period twice adds nothing, and overlapping or
//!    consecutive periods carry the cadence on.
//! 3. **First visit of a customer with nothing planned.** Due at its anchor + N (the period's
//!    first day if that has passed), or anywhere in the period's first N days without an
//!    anchor. The day is chosen in a window (N/2 days from the due day with an anchor, the
//!    whole first N days without) so that the rep's days are balanced.
//! 4. **Balance.** The rep's customers with nothing planned in the period are placed one by
//!    one, shortest interval first, then by id; each takes the start in its window whose
//!    chain of visits (rule 1) lands on the least-loaded days: the lowest mean of the
//!    visits already on those days; ties go to the chain with more visits, then the earliest.

use std::collections::BTreeMap;

use fieldkit_domain::geo::{CivilDate, WorkingHours};
use fieldkit_domain::ids::{CustomerId, UserId};

/// The period planned: its local days and which of them are working days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    from: i64,
    to: i64,
    working: Vec<bool>,
}

impl Calendar {
    /// The days `from..=to` (empty when `to` is before `from`) with the working days of
    /// `hours` (regular days, days off and make-up days).
    #[must_use]
    pub fn new(from: CivilDate, to: CivilDate, hours: &WorkingHours) -> Self {
        let (first, last) = (from.to_days(), to.to_days());
        let working = (first..=last).map(|d| hours.is_working_day(CivilDate::from_days(d))).collect();
        Self { from: first, to: last, working }
    }

    /// The first day.
    #[must_use]
    pub fn from(&self) -> i64 {
        self.from
    }

    /// The last day.
    #[must_use]
    pub fn to(&self) -> i64 {
        self.to
    }

    /// Whether `day` is a working day of the period.
    #[must_use]
    pub fn is_working(&self, day: i64) -> bool {
        self.index(day).is_some_and(|i| self.working[i])
    }

    fn index(&self, day: i64) -> Option<usize> {
        if (self.from..=self.to).contains(&day) { usize::try_from(day - self.from).ok() } else { None }
    }

    /// The first working day of the period on or after `day`.
    fn next_working(&self, day: i64) -> Option<i64> {
        (day.max(self.from)..=self.to).find(|&d| self.is_working(d))
    }

    /// The last working day of the period on or before `day`.
    fn prev_working(&self, day: i64) -> Option<i64> {
        (self.from..=day.min(self.to)).rev().find(|&d| self.is_working(d))
    }
}

/// A customer to plan for, with what is known of its visits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCustomer {
    /// The customer.
    pub id: CustomerId,
    /// The rep who owns it (and visits it).
    pub rep: UserId,
    /// Days between visits (its grade's interval, at least 1).
    pub interval_days: u32,
    /// Its last visit or planned visit before the period, if any.
    pub anchor: Option<i64>,
    /// Visits already planned in the period and the first one planned after it, in any
    /// order: they stay, and new visits keep the cadence around them.
    pub planned: Vec<i64>,
}

/// A new visit: a customer on a working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlannedVisit {
    /// The rep.
    pub rep: UserId,
    /// The day.
    pub day: i64,
    /// The customer.
    pub customer: CustomerId,
}

/// The new visits for `customers` in the period of `calendar`, ordered by rep, day and
/// customer. A customer appearing twice is planned once (its first entry).
#[must_use]
pub fn plan(calendar: &Calendar, customers: &[PlanCustomer]) -> Vec<PlannedVisit> {
    let mut by_rep: BTreeMap<UserId, Vec<&PlanCustomer>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for c in customers {
        if seen.insert(c.id) {
            by_rep.entry(c.rep).or_default().push(c);
        }
    }
    let mut out = Vec::new();
    for (rep, customers) in by_rep {
        let mut visits = plan_rep(calendar, &customers);
        visits.sort_unstable();
        out.extend(visits.into_iter().map(|(day, customer)| PlannedVisit { rep, day, customer }));
    }
    out
}

/// One rep's new visits, as `(day, customer)`.
fn plan_rep(calendar: &Calendar, customers: &[&PlanCustomer]) -> Vec<(i64, CustomerId)> {
    let mut load = vec![0_u32; calendar.working.len()];
    let add = |load: &mut Vec<u32>, day: i64| {
        if let Some(i) = calendar.index(day) {
            load[i] += 1;
        }
    };
    let mut out = Vec::new();
    let mut free = Vec::new();
    // Fixed visits and the gaps they determine first: they are not movable.
    for c in customers {
        let n = i64::from(c.interval_days.max(1));
        let mut fixed = c.planned.clone();
        fixed.sort_unstable();
        fixed.dedup();
        if fixed.is_empty() {
            free.push(*c);
            continue;
        }
        for &day in &fixed {
            add(&mut load, day);
        }
        for day in fill_around(calendar, n, c.anchor, &fixed) {
            add(&mut load, day);
            out.push((day, c.id));
        }
    }
    free.sort_by_key(|c| (c.interval_days.max(1), c.id));
    for c in free {
        let n = i64::from(c.interval_days.max(1));
        let (due, window) = match c.anchor {
            Some(anchor) => (anchor.saturating_add(n).max(calendar.from), (n / 2).max(1)),
            None => (calendar.from, n),
        };
        let mut starts: Vec<i64> =
            (due..due.saturating_add(window)).filter(|&d| calendar.is_working(d)).collect();
        if starts.is_empty() {
            starts.extend(calendar.next_working(due));
        }
        let best = starts
            .into_iter()
            .map(|start| {
                let days = chain(calendar, n, start, calendar.to);
                let sum: u64 =
                    days.iter().filter_map(|&d| calendar.index(d)).map(|i| u64::from(load[i])).sum();
                (days, sum)
            })
            .reduce(|best, next| if better(&next, &best) { next } else { best });
        for day in best.map(|(days, _)| days).unwrap_or_default() {
            add(&mut load, day);
            out.push((day, c.id));
        }
    }
    out
}

/// Whether chain `a` lands on less-loaded days than `b` (lower mean load, then more visits);
/// an equal chain is not better, so the earlier start wins.
fn better(a: &(Vec<i64>, u64), b: &(Vec<i64>, u64)) -> bool {
    let (na, nb) = (a.0.len() as u64, b.0.len() as u64);
    let (lhs, rhs) = (u128::from(a.1) * u128::from(nb), u128::from(b.1) * u128::from(na));
    lhs < rhs || (lhs == rhs && na > nb)
}

/// Visits from `start` (a working day) every `n` days (each moved to the next working day),
/// up to `last`.
fn chain(calendar: &Calendar, n: i64, start: i64, last: i64) -> Vec<i64> {
    let mut days = Vec::new();
    let mut next = Some(start).filter(|&d| d <= last && calendar.is_working(d));
    while let Some(day) = next {
        days.push(day);
        next = calendar.next_working(day.saturating_add(n)).filter(|&d| d <= last);
    }
    days
}

/// The new visits a customer with fixed visits (sorted, deduplicated) gets: forwards from
/// the anchor (or backwards from the first fixed visit without one), between fixed visits,
/// and after the last one, never closer than `n` days to a fixed visit.
fn fill_around(calendar: &Calendar, n: i64, anchor: Option<i64>, fixed: &[i64]) -> Vec<i64> {
    let mut days = Vec::new();
    let Some(&first) = fixed.first() else { return days };
    match anchor {
        Some(anchor) => {
            if let Some(start) = calendar.next_working(anchor.saturating_add(n)) {
                days.extend(chain(calendar, n, start, first - n));
            }
        }
        None => {
            let mut next = calendar.prev_working(first - n);
            while let Some(day) = next {
                days.push(day);
                next = calendar.prev_working(day - n);
            }
        }
    }
    for pair in fixed.windows(2) {
        if let Some(start) = calendar.next_working(pair[0].saturating_add(n)) {
            days.extend(chain(calendar, n, start, pair[1] - n));
        }
    }
    if let Some(&last) = fixed.last()
        && let Some(start) = calendar.next_working(last.saturating_add(n))
    {
        days.extend(chain(calendar, n, start, calendar.to));
    }
    days.retain(|&d| calendar.index(d).is_some());
    days.sort_unstable();
    days
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use fieldkit_domain::geo::{UtcOffset, WorkWindow};
    use uuid::Uuid;

    use super::*;

    fn date(y: i32, m: u8, d: u8) -> CivilDate {
        CivilDate::new(y, m, d).expect("a real date")
    }

    fn weekdays() -> WorkingHours {
        WorkingHours::weekdays(UtcOffset::CHINA, WorkWindow::hm(9, 0, 18, 0).expect("a valid window"))
    }

    /// Four weeks from Monday 2025-03-03.
    fn four_weeks() -> Calendar {
        Calendar::new(date(2025, 3, 3), date(2025, 3, 30), &weekdays())
    }

    fn customer(n: u128, rep: UserId, interval_days: u32) -> PlanCustomer {
        PlanCustomer {
            id: CustomerId(Uuid::from_u128(n)),
            rep,
            interval_days,
            anchor: None,
            planned: Vec::new(),
        }
    }

    fn per_customer(visits: &[PlannedVisit]) -> HashMap<CustomerId, Vec<i64>> {
        let mut map: HashMap<CustomerId, Vec<i64>> = HashMap::new();
        for v in visits {
            map.entry(v.customer).or_default().push(v.day);
        }
        map
    }

    /// The customers again, with the visits just planned as fixed.
    fn with_planned(customers: &[PlanCustomer], visits: &[PlannedVisit]) -> Vec<PlanCustomer> {
        let map = per_customer(visits);
        customers
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.planned.extend(map.get(&c.id).into_iter().flatten());
                c
            })
            .collect()
    }

    #[test]
    fn each_grade_gets_its_cadence_on_working_days_only() {
        let rep = UserId(Uuid::from_u128(1));
        let customers = [customer(1, rep, 7), customer(2, rep, 14), customer(3, rep, 30)];
        let calendar = four_weeks();
        let visits = plan(&calendar, &customers);
        let map = per_customer(&visits);
        assert_eq!(map[&customers[0].id].len(), 4);
        assert_eq!(map[&customers[1].id].len(), 2);
        assert_eq!(map[&customers[2].id].len(), 1);
        for v in &visits {
            assert!(calendar.is_working(v.day), "{v:?} is not a working day");
        }
        for days in map.values() {
            for pair in days.windows(2) {
                assert!(pair[1] - pair[0] >= 7, "visits {pair:?} are too close");
            }
        }
    }

    #[test]
    fn a_reps_customers_are_spread_so_no_day_has_two_visits_more_than_another() {
        let rep = UserId(Uuid::from_u128(1));
        let mut customers: Vec<PlanCustomer> = (1..=4).map(|i| customer(i, rep, 7)).collect();
        customers.extend((5..=9).map(|i| customer(i, rep, 14)));
        customers.extend((10..=16).map(|i| customer(i, rep, 30)));
        let calendar = four_weeks();
        let visits = plan(&calendar, &customers);
        assert_eq!(visits.len(), 4 * 4 + 5 * 2 + 7);
        let mut load: HashMap<i64, usize> =
            (calendar.from()..=calendar.to()).filter(|&d| calendar.is_working(d)).map(|d| (d, 0)).collect();
        for v in &visits {
            *load.entry(v.day).or_default() += 1;
        }
        let (min, max) = (load.values().min(), load.values().max());
        assert!(max.zip(min).is_some_and(|(max, min)| max - min <= 1), "unbalanced: {load:?}");
        assert_eq!(plan(&calendar, &customers), visits, "the same input gives the same plan");
    }

    #[test]
    fn planning_again_with_what_was_planned_adds_nothing() {
        let rep = UserId(Uuid::from_u128(1));
        let customers: Vec<PlanCustomer> = [1, 2, 3, 5, 7, 14, 30]
            .iter()
            .enumerate()
            .map(|(i, &n)| customer(i as u128 + 1, rep, n))
            .collect();
        let calendar = Calendar::new(date(2025, 1, 6), date(2025, 4, 6), &weekdays());
        let first = plan(&calendar, &customers);
        assert!(!first.is_empty());
        assert_eq!(plan(&calendar, &with_planned(&customers, &first)), Vec::new());
    }

    #[test]
    fn any_mix_of_intervals_anchors_and_days_off_plans_nothing_twice_and_keeps_the_cadence() {
        // A small linear congruential generator: deterministic, no dependency.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        for round in 0..300 {
            let mut hours = weekdays();
            let start = date(2025, 1, 1).to_days() + next(60) as i64;
            hours.days_off = (0..next(6)).map(|_| CivilDate::from_days(start + next(60) as i64)).collect();
            let calendar = Calendar::new(
                CivilDate::from_days(start),
                CivilDate::from_days(start + next(92) as i64),
                &hours,
            );
            let rep = UserId(Uuid::from_u128(1));
            let customers: Vec<PlanCustomer> = (0..1 + next(12))
                .map(|i| {
                    let interval_days = [1, 2, 3, 7, 10, 14, 30, 45][next(8) as usize];
                    let anchor = (next(2) == 0).then(|| start - 1 - next(40) as i64);
                    PlanCustomer { anchor, ..customer(u128::from(i) + 1, rep, interval_days) }
                })
                .collect();
            let first = plan(&calendar, &customers);
            let again = with_planned(&customers, &first);
            assert_eq!(plan(&calendar, &again), Vec::new(), "round {round}");
            let map = per_customer(&first);
            for c in &customers {
                let days = map.get(&c.id).cloned().unwrap_or_default();
                assert!(days.iter().all(|&d| calendar.is_working(d)), "round {round}: {days:?}");
                let n = i64::from(c.interval_days);
                assert!(days.windows(2).all(|p| p[1] - p[0] >= n), "round {round}: {days:?} every {n}");
                assert!(
                    days.first().zip(c.anchor).is_none_or(|(&d, a)| d - a >= n),
                    "round {round}: {days:?} after {:?}",
                    c.anchor
                );
            }
        }
    }

    #[test]
    fn an_overlapping_period_keeps_the_cadence_of_what_was_planned() {
        let rep = UserId(Uuid::from_u128(1));
        let customers = [customer(1, rep, 7), customer(2, rep, 30)];
        let january = Calendar::new(date(2025, 1, 6), date(2025, 2, 2), &weekdays());
        let first = plan(&january, &customers);
        // A second run over 2025-01-20..2025-02-16: what is fixed in the overlap continues.
        let overlap = Calendar::new(date(2025, 1, 20), date(2025, 2, 16), &weekdays());
        let fixed: Vec<PlanCustomer> = customers
            .iter()
            .map(|c| {
                let days: Vec<i64> = first.iter().filter(|v| v.customer == c.id).map(|v| v.day).collect();
                PlanCustomer {
                    anchor: days.iter().copied().filter(|&d| d < overlap.from()).max(),
                    planned: days.into_iter().filter(|&d| d >= overlap.from()).collect(),
                    ..c.clone()
                }
            })
            .collect();
        let second = plan(&overlap, &fixed);
        let mut weekly: Vec<i64> =
            first.iter().chain(&second).filter(|v| v.customer == customers[0].id).map(|v| v.day).collect();
        weekly.sort_unstable();
        assert_eq!(weekly.len(), 6, "six weeks from 2025-01-06 to 2025-02-16: {weekly:?}");
        assert!(weekly.windows(2).all(|p| p[1] - p[0] == 7), "{weekly:?}");
        let monthly: Vec<i64> =
            first.iter().chain(&second).filter(|v| v.customer == customers[1].id).map(|v| v.day).collect();
        assert_eq!(monthly.len(), 2, "{monthly:?}");
        assert!(
            monthly[1] - monthly[0] >= 30,
            "the monthly visit is not repeated within 30 days: {monthly:?}"
        );
    }

    #[test]
    fn a_customer_visited_recently_is_not_due_until_its_interval_has_passed() {
        let rep = UserId(Uuid::from_u128(1));
        let calendar = four_weeks();
        // Visited on Friday 2025-02-28: a monthly customer is due from 2025-03-30, a Sunday
        // and the period's last day, so not in this period.
        let visited = date(2025, 2, 28).to_days();
        let monthly = PlanCustomer { anchor: Some(visited), ..customer(1, rep, 30) };
        assert_eq!(plan(&calendar, &[monthly]), Vec::new());
        // A weekly one is due from 2025-03-07 (a Friday), and then every week.
        let weekly = PlanCustomer { anchor: Some(visited), ..customer(2, rep, 7) };
        let days: Vec<i64> = plan(&calendar, &[weekly]).iter().map(|v| v.day).collect();
        assert_eq!(days.first(), Some(&date(2025, 3, 7).to_days()));
        assert_eq!(days.len(), 4);
    }

    #[test]
    fn days_off_move_a_visit_to_the_next_working_day() {
        let rep = UserId(Uuid::from_u128(1));
        let mut hours = weekdays();
        // The whole first week off: the weekly visits start on the second Monday.
        hours.days_off = (3..=7).map(|d| date(2025, 3, d)).collect();
        let calendar = Calendar::new(date(2025, 3, 3), date(2025, 3, 30), &hours);
        let days: Vec<i64> = plan(&calendar, &[customer(1, rep, 7)]).iter().map(|v| v.day).collect();
        assert_eq!(days.first(), Some(&date(2025, 3, 10).to_days()), "{days:?}");
        assert!(days.iter().all(|&d| calendar.is_working(d)));
        assert_eq!(days.len(), 3);
    }
}
