//! Analytics for managers over figures already aggregated: pure functions, no I/O.
//!
//! - [`correlation`]: per rep, visits, time on site and sales, and Pearson's coefficient of
//!   visits and of time on site against sales across reps (undefined, with the reason, for
//!   fewer than three reps or a constant series).
//! - [`trend`]: per week or month, the reps active in it and the orders and visits per
//!   active rep.
//! - [`forecast`]: next quarter's weekly sales from the weekly history by exponential
//!   smoothing (Holt's linear trend or additive Holt–Winters, chosen by AICc), with a
//!   prediction interval and a back-test against naive baselines.
//!
//! The HTTP edge is `routes/analytics.rs`; figures per rep in a period come from
//! [`crate::report_kit::summary`], the same as the team reports.

pub mod correlation;
pub mod forecast;
pub mod trend;

use std::collections::BTreeMap;

use fieldkit_domain::model::Order;

/// The currency with the largest total among `orders` (ties: the first code), else `CNY`.
#[must_use]
pub fn main_currency(orders: &[&Order]) -> String {
    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
    for o in orders {
        let sum = totals.entry(o.currency.as_str()).or_insert(0);
        *sum = sum.saturating_add(o.total_minor);
    }
    totals
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map_or_else(|| "CNY".to_owned(), |(code, _)| code.to_owned())
}

/// `value` rounded to `decimals` places (half away from zero).
#[must_use]
pub fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_half_away_from_zero_at_the_given_places() {
        assert!((round_to(2.345_678, 2) - 2.35).abs() < 1e-12);
        assert!((round_to(-1.5, 0) + 2.0).abs() < 1e-12);
        assert!((round_to(7.0 / 3.0, 3) - 2.333).abs() < 1e-12);
    }
}
