//! Does more field work go with more sales? Per rep in a period: visits, time on site and
//! the orders' amount; across reps, Pearson's correlation coefficient of visits against the
//! amount and of time on site against the amount, with the numbers behind it.
//!
//! The coefficient is `Σ(x−x̄)(y−ȳ) / √(Σ(x−x̄)² · Σ(y−ȳ)²)`, computed around the means (two
//! passes) and clamped to `[-1, 1]`. It is undefined, never NaN, for fewer than
//! [`MIN_POINTS`] reps or when every rep has the same value of one of the two series
//! (zero variance): then `coefficient` is `None` and `undefined_reason` says which.
//! Correlation across reps says nothing about cause, and with a handful of reps little
//! about anything: `n` travels with every coefficient.

use fieldkit_domain::ids::UserId;
use serde::Serialize;

use super::round_to;
use crate::report_kit::RepSummary;

/// Fewer points than this leave the coefficient undefined.
pub const MIN_POINTS: usize = 3;

const MS_PER_MINUTE: f64 = 60_000.0;

/// One rep's figures for the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepFigures {
    /// The rep.
    pub rep_id: UserId,
    /// Display name.
    pub name: String,
    /// Check-ins.
    pub visits: usize,
    /// Time on site (check-in to check-out), minutes.
    pub time_on_site_minutes: f64,
    /// Orders (amended orders replaced by their amendment; every currency).
    pub orders: usize,
    /// The orders' amount in the report's currency, minor units.
    pub orders_amount_minor: i64,
}

impl RepFigures {
    /// The figures of a rep's period summary, amounts in `currency` (`None` for the totals
    /// row, which has no rep).
    #[must_use]
    pub fn from_summary(summary: &RepSummary, currency: &str) -> Option<Self> {
        Some(Self {
            rep_id: summary.rep_id?,
            name: summary.name.clone().unwrap_or_default(),
            visits: summary.visits,
            time_on_site_minutes: summary.time_on_site_ms as f64 / MS_PER_MINUTE,
            orders: summary.orders,
            orders_amount_minor: summary.amount(currency),
        })
    }
}

/// Why a coefficient is undefined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Undefined {
    /// Fewer than [`MIN_POINTS`] reps.
    #[error("fewer than 3 reps")]
    TooFewPoints,
    /// Every rep has the same `x` (visits or time on site).
    #[error("every rep has the same x value (zero variance)")]
    ZeroVarianceX,
    /// Every rep has the same amount.
    #[error("every rep has the same orders amount (zero variance)")]
    ZeroVarianceY,
}

/// Pearson's correlation of `x` against `y`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pearson {
    /// What `x` is.
    pub x: &'static str,
    /// What `y` is.
    pub y: &'static str,
    /// Points (reps).
    pub n: usize,
    /// The coefficient in `[-1, 1]`, rounded to 4 places; `None` when undefined.
    pub coefficient: Option<f64>,
    /// Why it is undefined (`None` when defined).
    pub undefined_reason: Option<Undefined>,
}

/// `x` against `y` (equal lengths; extra values of the longer are ignored).
#[must_use]
pub fn pearson(x_name: &'static str, x: &[f64], y_name: &'static str, y: &[f64]) -> Pearson {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let undefined =
        |reason| Pearson { x: x_name, y: y_name, n, coefficient: None, undefined_reason: Some(reason) };
    if n < MIN_POINTS {
        return undefined(Undefined::TooFewPoints);
    }
    // Exact test: a constant series may still leave rounding residue around its mean.
    if x.iter().all(|v| *v == x[0]) {
        return undefined(Undefined::ZeroVarianceX);
    }
    if y.iter().all(|v| *v == y[0]) {
        return undefined(Undefined::ZeroVarianceY);
    }
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    let r = (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0);
    if !r.is_finite() {
        return undefined(if sxx > 0.0 { Undefined::ZeroVarianceY } else { Undefined::ZeroVarianceX });
    }
    Pearson { x: x_name, y: y_name, n, coefficient: Some(round_to(r, 4)), undefined_reason: None }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 }
}

/// The means across reps (`None` with no rep).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Means {
    /// Visits per rep.
    pub visits: f64,
    /// Minutes on site per rep.
    pub time_on_site_minutes: f64,
    /// Orders per rep.
    pub orders: f64,
    /// Amount per rep, minor units.
    pub orders_amount_minor: f64,
}

/// The correlation report's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlation {
    /// Per rep, in the order given.
    pub reps: Vec<RepFigures>,
    /// The means across reps, rounded to 2 places (`None` with no rep).
    pub means: Option<Means>,
    /// Visits against the orders' amount.
    pub visits_vs_sales: Pearson,
    /// Minutes on site against the orders' amount.
    pub time_on_site_vs_sales: Pearson,
}

/// The correlations across `reps`.
#[must_use]
pub fn correlation(reps: Vec<RepFigures>) -> Correlation {
    let visits: Vec<f64> = reps.iter().map(|r| r.visits as f64).collect();
    let minutes: Vec<f64> = reps.iter().map(|r| r.time_on_site_minutes).collect();
    let orders: Vec<f64> = reps.iter().map(|r| r.orders as f64).collect();
    let amounts: Vec<f64> = reps.iter().map(|r| r.orders_amount_minor as f64).collect();
    let means = (!reps.is_empty()).then(|| Means {
        visits: round_to(mean(&visits), 2),
        time_on_site_minutes: round_to(mean(&minutes), 2),
        orders: round_to(mean(&orders), 2),
        orders_amount_minor: round_to(mean(&amounts), 2),
    });
    Correlation {
        visits_vs_sales: pearson("visits", &visits, "orders_amount_minor", &amounts),
        time_on_site_vs_sales: pearson("time_on_site_minutes", &minutes, "orders_amount_minor", &amounts),
        reps,
        means,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(visits: usize, minutes: f64, amount: i64) -> RepFigures {
        RepFigures {
            rep_id: UserId::new(),
            name: "r".into(),
            visits,
            time_on_site_minutes: minutes,
            orders: 1,
            orders_amount_minor: amount,
        }
    }

    #[test]
    fn a_perfect_line_correlates_fully_and_its_mirror_negatively() {
        let up = pearson("x", &[1.0, 2.0, 3.0], "y", &[10.0, 20.0, 30.0]);
        assert_eq!((up.n, up.coefficient, up.undefined_reason), (3, Some(1.0), None));
        let down = pearson("x", &[1.0, 2.0, 3.0], "y", &[30.0, 20.0, 10.0]);
        assert_eq!(down.coefficient, Some(-1.0));
    }

    #[test]
    fn the_coefficient_matches_one_worked_by_hand() {
        // x = 1, 2, 3, 4 (mean 2.5), y = 2, 1, 4, 3 (mean 2.5): dx = -1.5, -0.5, 0.5, 1.5;
        // dy = -0.5, -1.5, 1.5, 0.5; Σdxdy = 0.75 + 0.75 + 0.75 + 0.75 = 3; Σdx² = Σdy² = 5;
        // r = 3 / 5 = 0.6.
        let p = pearson("x", &[1.0, 2.0, 3.0, 4.0], "y", &[2.0, 1.0, 4.0, 3.0]);
        assert_eq!(p.coefficient, Some(0.6));
        // x = 2, 4, 6 (mean 4), y = 5, 3, 10 (mean 6): dx = -2, 0, 2; dy = -1, -3, 4;
        // Σdxdy = 2 + 0 + 8 = 10; Σdx² = 8; Σdy² = 26; r = 10 / √208 = 0.693 375…
        let p = pearson("x", &[2.0, 4.0, 6.0], "y", &[5.0, 3.0, 10.0]);
        assert_eq!(p.coefficient, Some(0.6934));
    }

    #[test]
    fn too_few_reps_or_a_constant_series_leave_the_coefficient_undefined() {
        let two = pearson("x", &[1.0, 2.0], "y", &[1.0, 2.0]);
        assert_eq!((two.n, two.coefficient, two.undefined_reason), (2, None, Some(Undefined::TooFewPoints)));
        let flat_x = pearson("x", &[0.1, 0.1, 0.1], "y", &[1.0, 2.0, 3.0]);
        assert_eq!(flat_x.undefined_reason, Some(Undefined::ZeroVarianceX));
        let flat_y = pearson("x", &[1.0, 2.0, 3.0], "y", &[5.0, 5.0, 5.0]);
        assert_eq!(flat_y.undefined_reason, Some(Undefined::ZeroVarianceY));
        let json = serde_json::to_value(&flat_y).expect("serialisable");
        assert_eq!(json["coefficient"], serde_json::Value::Null, "null, never NaN");
        assert_eq!(json["undefined_reason"], "zero_variance_y");
    }

    #[test]
    fn the_report_gives_each_reps_figures_the_means_and_both_coefficients() {
        // visits 2, 4, 6; minutes 30, 30, 30; amounts 500, 300, 1 000.
        let c = correlation(vec![rep(2, 30.0, 500), rep(4, 30.0, 300), rep(6, 30.0, 1_000)]);
        let means = c.means.expect("three reps");
        assert_eq!((means.visits, means.time_on_site_minutes, means.orders_amount_minor), (4.0, 30.0, 600.0));
        assert_eq!(c.visits_vs_sales.coefficient, Some(0.6934));
        assert_eq!(c.time_on_site_vs_sales.undefined_reason, Some(Undefined::ZeroVarianceX));
        assert_eq!(correlation(Vec::new()).means, None);
    }
}
