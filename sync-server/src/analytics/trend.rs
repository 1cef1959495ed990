//! Output per head over time: for each week or month of a period, the reps active in it
//! (at least one visit or one order), the visits and orders, and the amount and visits per
//! active rep.
//!
//! Buckets are ISO weeks (Monday to Sunday) or calendar months of the org's local dates,
//! cut to the period: the first and last may be partial, and say so by their dates. An
//! event belongs to the bucket of its local date. Per-rep figures are `None` for a bucket
//! without an active rep (no division by zero).

use std::collections::HashSet;

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::UserId;
use serde::Serialize;

use super::round_to;

/// How a period is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// ISO weeks, Monday first.
    Week,
    /// Calendar months.
    Month,
}

impl Bucket {
    /// Parses `week` or `month`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "week" => Some(Bucket::Week),
            "month" => Some(Bucket::Month),
            _ => None,
        }
    }
}

/// The Monday of `date`'s ISO week.
#[must_use]
pub fn week_start(date: CivilDate) -> CivilDate {
    let days = date.to_days();
    // 1970-01-01 was a Thursday: three days after a Monday.
    CivilDate::from_days(days - (days + 3).rem_euclid(7))
}

fn month_start(date: CivilDate) -> CivilDate {
    CivilDate::from_days(date.to_days() - i64::from(date.day()) + 1)
}

fn next_month(date: CivilDate) -> CivilDate {
    // The 28th plus four days is always in the next month.
    month_start(CivilDate::from_days(month_start(date).to_days() + 31))
}

/// The buckets of `from..=to`, each `(first day, last day)` cut to the period.
#[must_use]
pub fn buckets(from: CivilDate, to: CivilDate, bucket: Bucket) -> Vec<(CivilDate, CivilDate)> {
    let mut out = Vec::new();
    let mut start = from;
    while start.to_days() <= to.to_days() {
        let next = match bucket {
            Bucket::Week => CivilDate::from_days(week_start(start).to_days() + 7),
            Bucket::Month => next_month(start),
        };
        let end = CivilDate::from_days((next.to_days() - 1).min(to.to_days()));
        out.push((start, end));
        start = next;
    }
    out
}

/// Something a rep did on a local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// The rep.
    pub rep_id: UserId,
    /// The local date.
    pub date: CivilDate,
    /// A visit or an order.
    pub kind: ActivityKind,
}

/// What a rep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    /// A check-in.
    Visit,
    /// An order; its amount in the report's currency (0 for another currency).
    Order {
        /// Minor units.
        amount_minor: i64,
    },
}

/// One bucket's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketFigures {
    /// First day (`yyyy-mm-dd` on the wire).
    #[serde(serialize_with = "iso_date")]
    pub from: CivilDate,
    /// Last day.
    #[serde(serialize_with = "iso_date")]
    pub to: CivilDate,
    /// Reps with at least one visit or order in the bucket.
    pub active_reps: usize,
    /// Check-ins.
    pub visits: usize,
    /// Orders.
    pub orders: usize,
    /// The orders' amount, minor units.
    pub orders_amount_minor: i64,
    /// Amount per active rep, minor units rounded half away from zero.
    pub amount_per_active_rep_minor: Option<i64>,
    /// Visits per active rep, rounded to 2 places.
    pub visits_per_active_rep: Option<f64>,
}

fn iso_date<S: serde::Serializer>(date: &CivilDate, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&(*date).to_string())
}

/// The figures of each of `buckets` from `activities` (those outside every bucket ignored).
#[must_use]
pub fn per_capita(buckets: &[(CivilDate, CivilDate)], activities: &[Activity]) -> Vec<BucketFigures> {
    buckets
        .iter()
        .map(|&(from, to)| {
            let range = from.to_days()..=to.to_days();
            let mut active: HashSet<UserId> = HashSet::new();
            let (mut visits, mut orders, mut amount) = (0usize, 0usize, 0i64);
            for a in activities.iter().filter(|a| range.contains(&a.date.to_days())) {
                active.insert(a.rep_id);
                match a.kind {
                    ActivityKind::Visit => visits += 1,
                    ActivityKind::Order { amount_minor } => {
                        orders += 1;
                        amount = amount.saturating_add(amount_minor);
                    }
                }
            }
            let n = active.len();
            BucketFigures {
                from,
                to,
                active_reps: n,
                visits,
                orders,
                orders_amount_minor: amount,
                amount_per_active_rep_minor: (n > 0).then(|| (amount as f64 / n as f64).round() as i64),
                visits_per_active_rep: (n > 0).then(|| round_to(visits as f64 / n as f64, 2)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u8, d: u8) -> CivilDate {
        CivilDate::new(y, m, d).expect("a real date")
    }

    #[test]
    fn weeks_start_on_monday_and_the_ends_are_cut_to_the_period() {
        assert_eq!(week_start(date(2025, 3, 5)), date(2025, 3, 3), "a Wednesday");
        assert_eq!(week_start(date(2025, 3, 3)), date(2025, 3, 3), "a Monday");
        assert_eq!(week_start(date(2025, 3, 9)), date(2025, 3, 3), "a Sunday");
        assert_eq!(week_start(date(1970, 1, 1)), date(1969, 12, 29));
        assert_eq!(
            buckets(date(2025, 3, 5), date(2025, 3, 18), Bucket::Week),
            [
                (date(2025, 3, 5), date(2025, 3, 9)),
                (date(2025, 3, 10), date(2025, 3, 16)),
                (date(2025, 3, 17), date(2025, 3, 18))
            ]
        );
    }

    #[test]
    fn months_follow_the_calendar_across_a_year_end_and_a_leap_february() {
        assert_eq!(
            buckets(date(2023, 12, 15), date(2024, 3, 1), Bucket::Month),
            [
                (date(2023, 12, 15), date(2023, 12, 31)),
                (date(2024, 1, 1), date(2024, 1, 31)),
                (date(2024, 2, 1), date(2024, 2, 29)),
                (date(2024, 3, 1), date(2024, 3, 1))
            ]
        );
        assert_eq!(Bucket::parse("month"), Some(Bucket::Month));
        assert_eq!(Bucket::parse("day"), None);
    }

    #[test]
    fn per_capita_figures_divide_by_the_reps_active_in_each_bucket() {
        let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
        let visit = |rep, d| Activity { rep_id: rep, date: d, kind: ActivityKind::Visit };
        let order = |rep, d, amount_minor| Activity {
            rep_id: rep,
            date: d,
            kind: ActivityKind::Order { amount_minor },
        };
        let weeks = buckets(date(2025, 3, 3), date(2025, 3, 23), Bucket::Week);
        let activities = [
            // Week 1: a visits twice and orders 1 000; b only orders 500; c does nothing.
            visit(a, date(2025, 3, 3)),
            visit(a, date(2025, 3, 9)),
            order(a, date(2025, 3, 4), 1_000),
            order(b, date(2025, 3, 5), 500),
            // Week 2: a, b and c visit once each, c orders 1 001.
            visit(a, date(2025, 3, 10)),
            visit(b, date(2025, 3, 12)),
            visit(c, date(2025, 3, 16)),
            order(c, date(2025, 3, 16), 1_001),
            // Outside the period.
            visit(a, date(2025, 3, 24)),
        ];
        let rows: Vec<_> = per_capita(&weeks, &activities)
            .into_iter()
            .map(|r| {
                (
                    r.active_reps,
                    r.visits,
                    r.orders,
                    r.orders_amount_minor,
                    r.amount_per_active_rep_minor,
                    r.visits_per_active_rep,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                // 1 500 / 2 = 750; 2 visits / 2 = 1.
                (2, 2, 2, 1_500, Some(750), Some(1.0)),
                // 1 001 / 3 = 333.67 → 334; 3 / 3 = 1.
                (3, 3, 1, 1_001, Some(334), Some(1.0)),
                (0, 0, 0, 0, None, None),
            ]
        );
        let json = serde_json::to_value(per_capita(&weeks[..1], &activities)).expect("serialisable");
        assert_eq!(json[0]["from"], "2025-03-03");
        assert_eq!(json[0]["to"], "2025-03-09");
    }
}
