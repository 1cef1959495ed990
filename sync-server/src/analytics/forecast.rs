//! Next quarter's sales: [`HORIZON`] weekly point forecasts of the orders' amount from the
//! weekly history, with a 95 % prediction interval per week and for the quarter's total,
//! and a back-test (fit on all but the last [`HORIZON`] weeks, forecast those, compare)
//! beside naive baselines.
//!
//! # Method
//!
//! Exponential smoothing with additive errors, in error-correction form, `e_t = y_t − ŷ_t`:
//!
//! - Holt's linear trend: `ŷ_t = ℓ + b`; `ℓ ← ℓ + b + α·e`; `b ← b + α·β·e`.
//! - Additive Holt–Winters with season length `m`: `ŷ_t = ℓ + b + s_{t−m}`, the same level
//!   and trend updates, and `s_t = s_{t−m} + (1 − α)·γ·e`.
//!
//! `α`, `β`, `γ` are the textbook smoothing weights (level on the observation, trend on the
//! level's change, season on `y_t − ℓ_t`), each searched on a 0.05 grid in `[0, 1]` (`α`
//! from 0.05) and then on a 0.01 grid around the best, minimising the one-step squared
//! errors; start states come from a least-squares line over the first seasons (or the
//! first 13 weeks) and the mean deviation from it per season position. Candidates are
//! Holt's and Holt–Winters with `m` in [`SEASON_LENGTHS`] where the history holds two full
//! seasons; the one with the lowest AICc wins. The interval is the class-1 state-space
//! variance `σ²(1 + Σ_{j<h} c_j²)`, `c_j = α(1 + jβ) + (1 − α)γ·[m | j]` (Hyndman et al.,
//! *Forecasting with Exponential Smoothing*, 2008, ch. 6), with `σ²` the one-step squared
//! errors over `n − k`; the quarter's total adds each week's shocks up to the horizon.
//! Sales are not negative: points and bounds are floored at 0.
//!
//! # Why not a crate
//!
//! The Grafana team's `augurs-ets` (0.10.3, checked on crates.io for this module) is the
//! well-kept Rust ETS crate, but its README says seasonal models are not yet implemented:
//! fitting a seasonal spec reaches `unimplemented!` and seasonal prediction intervals
//! `todo!()`, a panic in a request handler. Seasonality through its MSTL feature needs two
//! full seasons of a yearly cycle (104 weeks) before it decomposes anything, and brings
//! nalgebra, rand and an optimiser for what is about two hundred lines here.

use serde::Serialize;

use super::round_to;

/// Weeks forecast: one quarter.
pub const HORIZON: usize = 13;
/// Fewest weeks a model is fitted on.
pub const MIN_FIT_WEEKS: usize = 13;
/// Fewest weeks of history: [`MIN_FIT_WEEKS`] to fit the back-test, [`HORIZON`] to test it.
pub const MIN_WEEKS: usize = MIN_FIT_WEEKS + HORIZON;
/// Season lengths tried, weeks: about a month, a quarter, a year.
pub const SEASON_LENGTHS: [usize; 3] = [4, 13, 52];
/// The prediction interval's coverage.
pub const INTERVAL_LEVEL: f64 = 0.95;
/// The standard normal quantile of [`INTERVAL_LEVEL`] (two-sided).
const Z_95: f64 = 1.959_963_984_540_054;
/// Weeks the start line of Holt's method is fitted on.
const HOLT_START_WEEKS: usize = 13;
/// Full seasons the start states of Holt–Winters are taken from, at most.
const START_SEASONS: usize = 3;

/// Why no forecast can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForecastError {
    /// The history is too short.
    #[error(
        "{weeks} weeks of order history exist; at least {needed} are needed \
         ({MIN_FIT_WEEKS} to fit and {HORIZON} to back-test)"
    )]
    TooLittleHistory {
        /// Weeks of history (from the first week with an order).
        weeks: usize,
        /// Weeks needed.
        needed: usize,
    },
}

/// The smoothing method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Holt's linear trend (no season).
    HoltLinear,
    /// Additive Holt–Winters.
    HoltWintersAdditive,
}

/// A fitted model, with its state after the last week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    /// The method.
    pub method: Method,
    /// Level weight.
    pub alpha: f64,
    /// Trend weight.
    pub beta: f64,
    /// Season weight (`None` for Holt's).
    pub gamma: Option<f64>,
    /// Season length, weeks (`None` for Holt's).
    pub season_length: Option<usize>,
    /// Weeks fitted.
    pub fitted_weeks: usize,
    /// Standard deviation of the one-step errors, minor units.
    pub sigma: f64,
    /// Corrected Akaike information criterion (lower is better; compares the candidates).
    pub aicc: f64,
    #[serde(skip)]
    level: f64,
    #[serde(skip)]
    trend: f64,
    /// Seasonal states by position `t mod m` (empty for Holt's).
    #[serde(skip)]
    season: Vec<f64>,
}

struct Run {
    sse: f64,
    level: f64,
    trend: f64,
    season: Vec<f64>,
}

struct Start {
    level: f64,
    trend: f64,
    season: Vec<f64>,
}

/// Least-squares line `a + b·t` through `(t, y[t])`.
fn line(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    if y.len() < 2 {
        return (y.first().copied().unwrap_or(0.0), 0.0);
    }
    let mt = (n - 1.0) / 2.0;
    let my = y.iter().sum::<f64>() / n;
    let (mut sty, mut stt) = (0.0, 0.0);
    for (t, v) in y.iter().enumerate() {
        let dt = t as f64 - mt;
        sty += dt * (v - my);
        stt += dt * dt;
    }
    let b = sty / stt;
    (my - b * mt, b)
}

/// Start states for season length `m` (0: none), at the time before the first week.
fn start(y: &[f64], m: usize) -> Start {
    if m == 0 {
        let (a, b) = line(&y[..y.len().min(HOLT_START_WEEKS)]);
        return Start { level: a - b, trend: b, season: Vec::new() };
    }
    let seasons = (y.len() / m).min(START_SEASONS);
    let first = &y[..seasons * m];
    let (a, b) = line(first);
    let mut season: Vec<f64> = (0..m)
        .map(|i| {
            (0..seasons).map(|k| first[k * m + i] - (a + b * (k * m + i) as f64)).sum::<f64>()
                / seasons as f64
        })
        .collect();
    let mean = season.iter().sum::<f64>() / m as f64;
    season.iter_mut().for_each(|s| *s -= mean);
    Start { level: a - b, trend: b, season }
}

fn run(y: &[f64], start: &Start, alpha: f64, beta: f64, gamma: f64) -> Run {
    let (mut level, mut trend, mut season) = (start.level, start.trend, start.season.clone());
    let m = season.len();
    let mut sse = 0.0;
    for (t, v) in y.iter().enumerate() {
        let s = if m > 0 { season[t % m] } else { 0.0 };
        let e = v - (level + trend + s);
        sse += e * e;
        level += trend + alpha * e;
        trend += alpha * beta * e;
        if m > 0 {
            season[t % m] += (1.0 - alpha) * gamma * e;
        }
    }
    Run { sse, level, trend, season }
}

fn grid(from: f64, to: f64, step: f64) -> impl Iterator<Item = f64> {
    let steps = ((to - from) / step).round() as i64;
    (0..=steps).map(move |i| (from + i as f64 * step).clamp(0.0, 1.0))
}

/// Smoothing weights and where they lead.
struct Weighted {
    alpha: f64,
    beta: f64,
    gamma: f64,
    run: Run,
}

/// The weights of `alphas × betas × gammas` with the least squared error, if better than
/// `best`.
fn best_of(y: &[f64], start: &Start, grids: [&[f64]; 3], best: Option<Weighted>) -> Option<Weighted> {
    let [alphas, betas, gammas] = grids;
    let mut best = best;
    for &alpha in alphas {
        for &beta in betas {
            for &gamma in gammas {
                let run = run(y, start, alpha, beta, gamma);
                if best.as_ref().is_none_or(|b| run.sse < b.run.sse) {
                    best = Some(Weighted { alpha, beta, gamma, run });
                }
            }
        }
    }
    best
}

/// The best weights for season length `m` (0: none): a coarse grid, then a fine one.
fn search(y: &[f64], start: &Start, m: usize) -> Weighted {
    let seasonal = |values: Vec<f64>| if m == 0 { vec![0.0] } else { values };
    let coarse: Vec<f64> = grid(0.0, 1.0, 0.05).collect();
    let alphas: Vec<f64> = grid(0.05, 0.95, 0.05).collect();
    let best = best_of(y, start, [&alphas, &coarse, &seasonal(coarse.clone())], None);
    let (a, b, g) = best.as_ref().map_or((0.5, 0.1, 0.1), |w| (w.alpha, w.beta, w.gamma));
    let near = |c: f64, lo: f64| grid((c - 0.04).max(lo), (c + 0.04).min(1.0), 0.01).collect::<Vec<f64>>();
    let best = best_of(y, start, [&near(a, 0.01), &near(b, 0.0), &seasonal(near(g, 0.0))], best);
    best.unwrap_or_else(|| Weighted { alpha: a, beta: b, gamma: g, run: run(y, start, a, b, g) })
}

/// Fits season length `m` (0: Holt's); `None` when the history is too short for it.
fn fit_one(y: &[f64], m: usize) -> Option<Model> {
    let n = y.len();
    let k = if m == 0 { 4 } else { 4 + m };
    if n < MIN_FIT_WEEKS || (m > 0 && n < 2 * m) || n <= k + 1 {
        return None;
    }
    let start = start(y, m);
    let Weighted { alpha, beta, gamma, run: r } = search(y, &start, m);
    let nf = n as f64;
    let kf = k as f64;
    // A perfect fit would give ln 0: floor the mean squared error.
    let aicc = nf * (r.sse / nf).max(1e-9).ln() + 2.0 * kf + 2.0 * kf * (kf + 1.0) / (nf - kf - 1.0);
    Some(Model {
        method: if m == 0 { Method::HoltLinear } else { Method::HoltWintersAdditive },
        alpha: round_to(alpha, 2),
        beta: round_to(beta, 2),
        gamma: (m > 0).then(|| round_to(gamma, 2)),
        season_length: (m > 0).then_some(m),
        fitted_weeks: n,
        sigma: (r.sse / (nf - kf)).sqrt(),
        aicc,
        level: r.level,
        trend: r.trend,
        season: r.season,
    })
}

/// The model with the lowest AICc among Holt's and Holt–Winters for each of
/// [`SEASON_LENGTHS`] that `y` can carry; `None` under [`MIN_FIT_WEEKS`] weeks.
#[must_use]
pub fn fit(y: &[f64]) -> Option<Model> {
    std::iter::once(0)
        .chain(SEASON_LENGTHS)
        .filter_map(|m| fit_one(y, m))
        .min_by(|a, b| a.aicc.total_cmp(&b.aicc))
}

impl Model {
    /// The raw point forecasts `h = 1..=horizon` weeks ahead (may be negative).
    #[must_use]
    pub fn points(&self, horizon: usize) -> Vec<f64> {
        let m = self.season.len();
        (1..=horizon)
            .map(|h| {
                let s = if m > 0 { self.season[(self.fitted_weeks + h - 1) % m] } else { 0.0 };
                self.level + h as f64 * self.trend + s
            })
            .collect()
    }

    /// `c_j`: how much of a shock `j` weeks back is still in a forecast.
    fn c(&self, j: usize) -> f64 {
        let m = self.season.len();
        let seasonal =
            if m > 0 && j.is_multiple_of(m) { (1.0 - self.alpha) * self.gamma.unwrap_or(0.0) } else { 0.0 };
        self.alpha * (1.0 + j as f64 * self.beta) + seasonal
    }

    /// Standard deviation of the forecast error `h = 1..=horizon` weeks ahead.
    #[must_use]
    pub fn point_sd(&self, horizon: usize) -> Vec<f64> {
        let mut sum = 0.0;
        (1..=horizon)
            .map(|h| {
                if h > 1 {
                    sum += self.c(h - 1).powi(2);
                }
                self.sigma * (1.0 + sum).sqrt()
            })
            .collect()
    }

    /// Standard deviation of the error of the sum of the next `horizon` weeks.
    #[must_use]
    pub fn total_sd(&self, horizon: usize) -> f64 {
        let variance: f64 =
            (1..=horizon).map(|k| (1.0 + (1..=horizon - k).map(|j| self.c(j)).sum::<f64>()).powi(2)).sum();
        self.sigma * variance.sqrt()
    }
}

/// Errors of a forecast against what happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracy {
    /// Mean absolute error, minor units (2 places).
    pub mae: f64,
    /// Mean absolute percentage error, % (2 places), over weeks with sales (`None`: none).
    pub mape_pct: Option<f64>,
    /// Symmetric MAPE, `mean 2|e| / (|a| + |f|)`, % (2 places; `None`: all zero).
    pub smape_pct: Option<f64>,
    /// MAE over the fitted weeks' mean absolute week-to-week change (4 places; `None`
    /// when the fitted weeks never change).
    pub mase: Option<f64>,
}

/// The accuracy of `predicted` against `actual`, scaled by `fitted`'s naive errors.
#[must_use]
pub fn accuracy(actual: &[f64], predicted: &[f64], fitted: &[f64]) -> Accuracy {
    let pairs: Vec<(f64, f64)> = actual.iter().copied().zip(predicted.iter().copied()).collect();
    let mean = |v: &[f64]| if v.is_empty() { None } else { Some(v.iter().sum::<f64>() / v.len() as f64) };
    let abs: Vec<f64> = pairs.iter().map(|(a, f)| (a - f).abs()).collect();
    let mae = mean(&abs).unwrap_or(0.0);
    let ape: Vec<f64> =
        pairs.iter().filter(|(a, _)| *a != 0.0).map(|(a, f)| (a - f).abs() / a.abs()).collect();
    let sape: Vec<f64> = pairs
        .iter()
        .filter(|(a, f)| a.abs() + f.abs() > 0.0)
        .map(|(a, f)| 2.0 * (a - f).abs() / (a.abs() + f.abs()))
        .collect();
    let steps: Vec<f64> = fitted.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let scale = mean(&steps).filter(|s| *s > 0.0);
    Accuracy {
        mae: round_to(mae, 2),
        mape_pct: mean(&ape).map(|v| round_to(v * 100.0, 2)),
        smape_pct: mean(&sape).map(|v| round_to(v * 100.0, 2)),
        mase: scale.map(|s| round_to(mae / s, 4)),
    }
}

/// One week ahead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekForecast {
    /// Weeks ahead, 1 for the next.
    pub week: usize,
    /// Point forecast, minor units (floored at 0).
    pub point_minor: i64,
    /// Lower bound of the interval, minor units (floored at 0).
    pub lower_minor: i64,
    /// Upper bound, minor units.
    pub upper_minor: i64,
}

/// A naive forecaster's back-test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    /// `last_value` (every week as the last fitted one) or `seasonal_naive` (each week as
    /// the same week one season back).
    pub method: &'static str,
    /// Its season length (seasonal naive only).
    pub season_length: Option<usize>,
    /// Its forecasts, minor units.
    pub predicted_minor: Vec<i64>,
    /// Their total.
    pub predicted_total_minor: i64,
    /// Its errors.
    pub accuracy: Accuracy,
}

/// Fit on all but the last [`HORIZON`] weeks, forecast those.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// The model chosen on the shorter history.
    pub model: Model,
    /// What happened, minor units.
    pub actual_minor: Vec<i64>,
    /// Their total.
    pub actual_total_minor: i64,
    /// The model's forecasts (floored at 0), minor units.
    pub predicted_minor: Vec<i64>,
    /// Their total.
    pub predicted_total_minor: i64,
    /// The model's errors.
    pub accuracy: Accuracy,
    /// Naive forecasters on the same weeks.
    pub baselines: Vec<Baseline>,
}

/// The forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// The model fitted on the whole history.
    pub model: Model,
    /// The interval's coverage (0.95).
    pub interval_level: f64,
    /// The next [`HORIZON`] weeks.
    pub weeks: Vec<WeekForecast>,
    /// Their total, minor units.
    pub quarter_total_minor: i64,
    /// The total's interval, minor units (lower floored at 0).
    pub quarter_lower_minor: i64,
    /// Upper bound of the total.
    pub quarter_upper_minor: i64,
    /// How the method did on the last [`HORIZON`] weeks of the history.
    pub backtest: Backtest,
}

fn minor(v: f64) -> i64 {
    v.max(0.0).round() as i64
}

fn baseline(method: &'static str, season_length: Option<usize>, fitted: &[f64], actual: &[f64]) -> Baseline {
    let n = fitted.len();
    let predicted: Vec<f64> = (0..actual.len())
        .map(|h| match season_length {
            Some(m) => fitted[n - m + h % m],
            None => fitted[n - 1],
        })
        .collect();
    let predicted_minor: Vec<i64> = predicted.iter().map(|v| minor(*v)).collect();
    Baseline {
        method,
        season_length,
        predicted_total_minor: predicted_minor.iter().sum(),
        predicted_minor,
        accuracy: accuracy(actual, &predicted, fitted),
    }
}

/// The back-test of the method on `history`'s last [`HORIZON`] weeks.
fn backtest(history: &[f64]) -> Result<Backtest, ForecastError> {
    let too_short = || ForecastError::TooLittleHistory { weeks: history.len(), needed: MIN_WEEKS };
    let cut = history.len().checked_sub(HORIZON).ok_or_else(too_short)?;
    let (fitted, actual) = history.split_at(cut);
    let model = fit(fitted).ok_or_else(too_short)?;
    let predicted: Vec<f64> = model.points(HORIZON).into_iter().map(|v| v.max(0.0)).collect();
    let predicted_minor: Vec<i64> = predicted.iter().map(|v| minor(*v)).collect();
    let mut baselines = vec![baseline("last_value", None, fitted, actual)];
    if let Some(m) = model.season_length.filter(|m| *m <= fitted.len()) {
        baselines.push(baseline("seasonal_naive", Some(m), fitted, actual));
    }
    let actual_minor: Vec<i64> = actual.iter().map(|v| minor(*v)).collect();
    Ok(Backtest {
        accuracy: accuracy(actual, &predicted, fitted),
        actual_total_minor: actual_minor.iter().sum(),
        actual_minor,
        predicted_total_minor: predicted_minor.iter().sum(),
        predicted_minor,
        baselines,
        model,
    })
}

/// The next quarter from `history` (weekly amounts, oldest first, minor units).
///
/// # Errors
///
/// [`ForecastError::TooLittleHistory`] under [`MIN_WEEKS`] weeks.
pub fn forecast(history: &[f64]) -> Result<Forecast, ForecastError> {
    if history.len() < MIN_WEEKS {
        return Err(ForecastError::TooLittleHistory { weeks: history.len(), needed: MIN_WEEKS });
    }
    let backtest = backtest(history)?;
    let model =
        fit(history).ok_or(ForecastError::TooLittleHistory { weeks: history.len(), needed: MIN_WEEKS })?;
    let points = model.points(HORIZON);
    let sds = model.point_sd(HORIZON);
    let weeks: Vec<WeekForecast> = points
        .iter()
        .zip(&sds)
        .enumerate()
        .map(|(i, (p, sd))| WeekForecast {
            week: i + 1,
            point_minor: minor(*p),
            lower_minor: minor(p - Z_95 * sd),
            upper_minor: minor(p + Z_95 * sd),
        })
        .collect();
    let total: f64 = points.iter().map(|p| p.max(0.0)).sum();
    let total_sd = model.total_sd(HORIZON);
    Ok(Forecast {
        interval_level: INTERVAL_LEVEL,
        quarter_total_minor: weeks.iter().map(|w| w.point_minor).sum(),
        quarter_lower_minor: minor(total - Z_95 * total_sd),
        quarter_upper_minor: minor(total + Z_95 * total_sd),
        weeks,
        model,
        backtest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise in `[-1, 1)`.
    fn noise(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    /// `base + slope·t + amplitude·sin(2πt/13)`, times `1 + jitter·noise`.
    fn series(weeks: usize, base: f64, slope: f64, amplitude: f64, jitter: f64) -> Vec<f64> {
        let mut seed = 42;
        (0..weeks)
            .map(|t| {
                let t = t as f64;
                let clean = base + slope * t + amplitude * (std::f64::consts::TAU * t / 13.0).sin();
                clean * (1.0 + jitter * noise(&mut seed))
            })
            .collect()
    }

    #[test]
    fn a_straight_line_is_continued_exactly_by_holts_method() {
        let y: Vec<f64> = (0..30).map(|t| 1_000.0 + 50.0 * t as f64).collect();
        let model = fit(&y).expect("enough weeks");
        assert_eq!(model.method, Method::HoltLinear, "{model:?}");
        let points = model.points(3);
        for (h, p) in points.iter().enumerate() {
            let expected = 1_000.0 + 50.0 * (30 + h) as f64;
            assert!((p - expected).abs() < 1e-6, "week {h}: {p} vs {expected}");
        }
    }

    #[test]
    fn holts_recursion_matches_two_steps_worked_by_hand() {
        // Start ℓ = 10, b = 1; α = 0.5, β = 0.2. Week 0: ŷ = 11, y = 13, e = 2 → ℓ = 10 + 1
        // + 1 = 12, b = 1 + 0.5·0.2·2 = 1.2. Week 1: ŷ = 13.2, y = 12.2, e = −1 → ℓ = 12 +
        // 1.2 − 0.5 = 12.7, b = 1.2 − 0.1 = 1.1. SSE = 4 + 1 = 5.
        let start = Start { level: 10.0, trend: 1.0, season: Vec::new() };
        let r = run(&[13.0, 12.2], &start, 0.5, 0.2, 0.0);
        assert!((r.level - 12.7).abs() < 1e-9 && (r.trend - 1.1).abs() < 1e-9, "{} {}", r.level, r.trend);
        assert!((r.sse - 5.0).abs() < 1e-9);
        // Season m = 2, s = (+3, −3), γ = 0.5, α = 0.5, β = 0: ŷ0 = 10 + 1 + 3 = 14, y = 16,
        // e = 2: s0 = 3 + 0.5·0.5·2 = 3.5.
        let start = Start { level: 10.0, trend: 1.0, season: vec![3.0, -3.0] };
        let r = run(&[16.0], &start, 0.5, 0.0, 0.5);
        assert!((r.season[0] - 3.5).abs() < 1e-9 && (r.level - 12.0).abs() < 1e-9);
    }

    #[test]
    fn a_trend_with_a_quarterly_season_is_recovered_by_holt_winters() {
        let y = series(73, 100_000.0, 1_500.0, 20_000.0, 0.02);
        let (history, next) = y.split_at(60);
        let f = forecast(history).expect("60 weeks suffice");
        assert_eq!(f.model.method, Method::HoltWintersAdditive, "{:?}", f.model);
        assert_eq!(f.model.season_length, Some(13));
        let truth: f64 = next.iter().sum();
        let error = (f.quarter_total_minor as f64 - truth).abs() / truth;
        assert!(error < 0.03, "total {} vs {truth}: {error}", f.quarter_total_minor);
        assert!(
            (f.quarter_lower_minor as f64) < truth && truth < f.quarter_upper_minor as f64,
            "{} .. {} holds {truth}",
            f.quarter_lower_minor,
            f.quarter_upper_minor
        );
        assert_eq!(f.weeks.len(), HORIZON);
        assert!(f.weeks.iter().all(|w| w.lower_minor <= w.point_minor && w.point_minor <= w.upper_minor));
        let widths: Vec<i64> = f.weeks.iter().map(|w| w.upper_minor - w.lower_minor).collect();
        assert!(widths[12] > widths[0], "the interval widens: {widths:?}");
        // The back-test beats both baselines on such a series.
        let bt = &f.backtest;
        assert_eq!(bt.actual_minor.len(), HORIZON);
        let mape = bt.accuracy.mape_pct.expect("sales every week");
        assert!(mape < 5.0, "{mape}");
        for b in &bt.baselines {
            assert!(bt.accuracy.mae < b.accuracy.mae, "{} beats the model: {:?}", b.method, b.accuracy);
        }
        assert_eq!(
            bt.baselines.iter().map(|b| b.method).collect::<Vec<_>>(),
            ["last_value", "seasonal_naive"]
        );
    }

    #[test]
    fn too_short_a_history_is_refused_naming_the_weeks_there_and_needed() {
        let y = series(25, 1_000.0, 0.0, 0.0, 0.1);
        let e = forecast(&y).expect_err("25 < 26");
        assert_eq!(e, ForecastError::TooLittleHistory { weeks: 25, needed: 26 });
        assert!(e.to_string().starts_with("25 weeks of order history exist; at least 26 are needed"), "{e}");
        assert!(forecast(&series(26, 1_000.0, 0.0, 0.0, 0.1)).is_ok());
    }

    #[test]
    fn accuracy_measures_match_figures_worked_by_hand() {
        // Actual 100, 200, 0; forecast 110, 150, 10: errors 10, 50, 10 → MAE 23.33; APE over
        // the two weeks with sales 10 %, 25 % → MAPE 17.5 %; sAPE 2·10/210, 2·50/350, 2·10/10
        // = 0.095 24, 0.285 71, 2 → sMAPE 79.37 %. Fitted 0, 10, 30: naive steps 10, 20 →
        // scale 15 → MASE 1.5556.
        let a = accuracy(&[100.0, 200.0, 0.0], &[110.0, 150.0, 10.0], &[0.0, 10.0, 30.0]);
        assert_eq!(a.mae, 23.33);
        assert_eq!(a.mape_pct, Some(17.5));
        assert_eq!(a.smape_pct, Some(79.37));
        assert_eq!(a.mase, Some(1.5556));
        let none = accuracy(&[0.0], &[0.0], &[5.0, 5.0]);
        assert_eq!((none.mape_pct, none.smape_pct, none.mase), (None, None, None));
    }

    #[test]
    fn the_totals_interval_adds_up_each_weeks_shock() {
        // Holt's with α = 0.5, β = 0: c_j = 0.5. Two weeks: the first week's shock counts
        // 1 + 0.5 in the total, the second's 1: var = σ²(1.5² + 1²) = 3.25σ².
        let model = Model {
            method: Method::HoltLinear,
            alpha: 0.5,
            beta: 0.0,
            gamma: None,
            season_length: None,
            fitted_weeks: 10,
            sigma: 2.0,
            aicc: 0.0,
            level: 0.0,
            trend: 0.0,
            season: Vec::new(),
        };
        assert!((model.total_sd(2) - 2.0 * 3.25f64.sqrt()).abs() < 1e-12);
        let sd = model.point_sd(2);
        assert!((sd[0] - 2.0).abs() < 1e-12 && (sd[1] - 2.0 * 1.25f64.sqrt()).abs() < 1e-12);
    }
}
