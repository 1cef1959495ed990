//! Analytics for managers over the facts the server holds; JSON, or CSV with
//! `format=csv` (as the period reports: `text/csv; charset=utf-8`, a header row, RFC 4180).
//!
//! - `GET /v1/reports/correlation?from&to[&team][&currency][&format=csv]`: per rep, visits,
//!   minutes on site, orders and their amount; the means; Pearson's coefficient of visits
//!   and of minutes on site against the amount across reps (`null` with a reason for fewer
//!   than three reps or a constant series).
//! - `GET /v1/reports/per-capita?from&to&bucket=week|month[&team][&currency][&format=csv]`:
//!   per ISO week or calendar month (cut to the period), the active reps (a visit or an
//!   order in it), visits, orders and amount, and amount and visits per active rep.
//! - `GET /v1/reports/forecast?weeks_back=N[&team][&currency][&format=csv]`: the next 13
//!   weeks' order amount from the last `N` complete weeks (default 52, at most
//!   [`MAX_WEEKS_BACK`]), with a 95 % interval, the quarter's total and a back-test; a
//!   history under 26 weeks (from the first week with an order) is refused (422) naming
//!   the weeks there are and those needed. See [`crate::analytics::forecast`].
//!
//! Scope and counting are the period reports' (`routes/team_reports.rs`): the reps listed
//! are the caller's readable reps (`team=<id>` narrows them to one team), a fact counts by
//! its device time in the org's local dates, amended orders are replaced by their
//! amendment, and per-rep figures come from [`report_kit::summary`]. Amounts are in one
//! currency: `currency`, by default the one with the largest total.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::{TeamId, UserId};
use fieldkit_domain::model::{Currency, Order, User};
use serde::{Deserialize, Serialize};

use super::period::{malformed, period};
use super::settings::settings;
use super::team_reports::{
    Format, MAX_PERIOD_DAYS, Scope, check_ins, check_outs, csv_response, internal, orders, scope_of,
};
use crate::analytics::correlation::{self, Correlation, Means, Pearson, RepFigures};
use crate::analytics::forecast::{self, Backtest, ForecastError, Model, WeekForecast};
use crate::analytics::trend::{self, Activity, ActivityKind, Bucket, BucketFigures};
use crate::analytics::{main_currency, round_to};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Caller};
use crate::report_kit::{self, SummaryInput};
use crate::state::AppState;

/// The longest history a forecast reads, weeks (five years).
pub(super) const MAX_WEEKS_BACK: u32 = 260;
/// The history a forecast reads by default, weeks.
const DEFAULT_WEEKS_BACK: u32 = 52;

/// Query string of the correlation and per-capita reports.
#[derive(Debug, Deserialize)]
pub(super) struct PeriodQuery {
    from: String,
    to: String,
    team: Option<String>,
    currency: Option<String>,
    bucket: Option<String>,
    format: Option<String>,
}

/// Query string of the forecast.
#[derive(Debug, Deserialize)]
pub(super) struct ForecastQuery {
    weeks_back: Option<u32>,
    team: Option<String>,
    currency: Option<String>,
    format: Option<String>,
}

fn parse_team(text: Option<&str>) -> ApiResult<Option<TeamId>> {
    text.map(|t| t.parse().map_err(|_| malformed(format!("team {t:?} is not a team id")))).transpose()
}

fn parse_currency(text: Option<&str>) -> ApiResult<Option<String>> {
    match text {
        Some(c) if Currency::parse(c).is_err() => {
            Err(malformed(format!("currency {c:?} is not a three-letter upper-case code")))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// The scope of a period report from its query, and the team it is narrowed to.
async fn period_scope(
    state: &AppState,
    caller: &User,
    query: &PeriodQuery,
) -> ApiResult<(Scope, Option<TeamId>)> {
    let format = Format::parse(query.format.as_deref())?;
    let team = parse_team(query.team.as_deref())?;
    let dates = period(&query.from, &query.to, MAX_PERIOD_DAYS)?;
    Ok((scope_of(state, caller, dates, None, team, format).await?, team))
}

fn listed(scope: &Scope) -> HashSet<UserId> {
    scope.reps.iter().map(|r| r.id).collect()
}

/// The current orders (amendments applied) of the listed reps.
fn listed_orders<'o>(orders: &'o [Order], listed: &HashSet<UserId>) -> Vec<&'o Order> {
    report_kit::current_orders(orders).into_iter().filter(|o| listed.contains(&o.rep_id)).collect()
}

/// The correlation report.
#[derive(Debug, Serialize)]
pub(super) struct CorrelationReport {
    from: String,
    to: String,
    team: Option<TeamId>,
    currency: String,
    reps: Vec<RepFigures>,
    means: Option<Means>,
    visits_vs_sales: Pearson,
    time_on_site_vs_sales: Pearson,
}

fn num(v: f64) -> String {
    round_to(v, 4).to_string()
}

fn correlation_csv(c: &Correlation) -> Vec<Vec<String>> {
    let header = ["rep_id", "name", "visits", "time_on_site_minutes", "orders", "orders_amount_minor"];
    let mut rows = vec![header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
    rows.extend(c.reps.iter().map(|r| {
        vec![
            r.rep_id.to_string(),
            r.name.clone(),
            r.visits.to_string(),
            num(r.time_on_site_minutes),
            r.orders.to_string(),
            r.orders_amount_minor.to_string(),
        ]
    }));
    if let Some(m) = &c.means {
        rows.push(vec![
            "mean".to_owned(),
            String::new(),
            num(m.visits),
            num(m.time_on_site_minutes),
            num(m.orders),
            num(m.orders_amount_minor),
        ]);
    }
    // Each column's coefficient against the amount; the reasons of undefined ones in `name`.
    let reasons: Vec<String> = [&c.visits_vs_sales, &c.time_on_site_vs_sales]
        .iter()
        .filter_map(|p| p.undefined_reason.map(|r| format!("{}: {r}", p.x)))
        .collect();
    let coefficient = |p: &Pearson| p.coefficient.map(num).unwrap_or_default();
    rows.push(vec![
        "pearson_r_vs_orders_amount".to_owned(),
        reasons.join("; "),
        coefficient(&c.visits_vs_sales),
        coefficient(&c.time_on_site_vs_sales),
        String::new(),
        String::new(),
    ]);
    rows
}

/// `GET /v1/reports/correlation`.
pub(super) async fn correlation(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> ApiResult<Response> {
    let currency = parse_currency(query.currency.as_deref())?;
    let (scope, team) = period_scope(&state, &caller, &query).await?;
    let input = SummaryInput {
        reps: scope.reps.clone(),
        check_ins: check_ins(&state, &scope).await?,
        check_outs: check_outs(&state, &scope).await?,
        tracks: Default::default(),
        orders: orders(&state, &scope).await?,
        new_customers: Vec::new(),
        track_filter: scope.settings.track_filter,
        offset: scope.offset,
    };
    let summary = tokio::task::spawn_blocking(move || report_kit::summary(&input))
        .await
        .map_err(|e| internal("correlation report worker failed", &e))?;
    let currency = currency.unwrap_or_else(|| report_kit::main_currency(&summary));
    let listed = listed(&scope);
    let rows: Vec<RepFigures> = summary
        .reps
        .iter()
        .filter(|r| r.rep_id.is_some_and(|id| listed.contains(&id)))
        .filter_map(|r| RepFigures::from_summary(r, &currency))
        .collect();
    let c = correlation::correlation(rows);
    Ok(match scope.format {
        Format::Csv => csv_response(correlation_csv(&c)),
        Format::Json => Json(CorrelationReport {
            from: scope.from.to_string(),
            to: scope.to.to_string(),
            team,
            currency,
            reps: c.reps,
            means: c.means,
            visits_vs_sales: c.visits_vs_sales,
            time_on_site_vs_sales: c.time_on_site_vs_sales,
        })
        .into_response(),
    })
}

/// The per-capita report.
#[derive(Debug, Serialize)]
pub(super) struct PerCapitaReport {
    from: String,
    to: String,
    bucket: Bucket,
    team: Option<TeamId>,
    currency: String,
    buckets: Vec<BucketFigures>,
}

/// `GET /v1/reports/per-capita`.
pub(super) async fn per_capita(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> ApiResult<Response> {
    let bucket_text = query.bucket.as_deref().unwrap_or("week");
    let bucket = Bucket::parse(bucket_text)
        .ok_or_else(|| malformed(format!("bucket {bucket_text:?} is neither week nor month")))?;
    let currency = parse_currency(query.currency.as_deref())?;
    let (scope, team) = period_scope(&state, &caller, &query).await?;
    let listed = listed(&scope);
    let check_ins = check_ins(&state, &scope).await?;
    let all_orders = orders(&state, &scope).await?;
    let orders = listed_orders(&all_orders, &listed);
    let currency = currency.unwrap_or_else(|| main_currency(&orders));
    let date = |device_ms: i64| scope.offset.local(device_ms).0;
    let mut activities: Vec<Activity> = check_ins
        .iter()
        .map(|c| &c.check_in)
        .filter(|c| listed.contains(&c.rep_id))
        .map(|c| Activity { rep_id: c.rep_id, date: date(c.at.device_ms), kind: ActivityKind::Visit })
        .collect();
    activities.extend(orders.iter().map(|o| Activity {
        rep_id: o.rep_id,
        date: date(o.at.device_ms),
        kind: ActivityKind::Order {
            amount_minor: if o.currency.as_str() == currency { o.total_minor } else { 0 },
        },
    }));
    let rows = trend::per_capita(&trend::buckets(scope.from, scope.to, bucket), &activities);
    Ok(match scope.format {
        Format::Csv => {
            let header = [
                "from",
                "to",
                "active_reps",
                "visits",
                "orders",
                "orders_amount_minor",
                "amount_per_active_rep_minor",
                "visits_per_active_rep",
            ];
            let mut csv = vec![header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
            csv.extend(rows.iter().map(|r| {
                vec![
                    r.from.to_string(),
                    r.to.to_string(),
                    r.active_reps.to_string(),
                    r.visits.to_string(),
                    r.orders.to_string(),
                    r.orders_amount_minor.to_string(),
                    r.amount_per_active_rep_minor.map(|v| v.to_string()).unwrap_or_default(),
                    r.visits_per_active_rep.map(|v| v.to_string()).unwrap_or_default(),
                ]
            }));
            csv_response(csv)
        }
        Format::Json => Json(PerCapitaReport {
            from: scope.from.to_string(),
            to: scope.to.to_string(),
            bucket,
            team,
            currency,
            buckets: rows,
        })
        .into_response(),
    })
}

/// One week of history.
#[derive(Debug, Serialize)]
pub(super) struct HistoryWeek {
    /// Its Monday.
    week_start: String,
    /// The orders' amount, minor units.
    amount_minor: i64,
}

/// One week ahead, dated.
#[derive(Debug, Serialize)]
pub(super) struct DatedForecast {
    /// Its Monday.
    week_start: String,
    #[serde(flatten)]
    forecast: WeekForecast,
}

/// The forecast report.
#[derive(Debug, Serialize)]
pub(super) struct ForecastReport {
    team: Option<TeamId>,
    currency: String,
    weeks_back: u32,
    /// The weeks the model saw: from the first with an order to the last complete one.
    history: Vec<HistoryWeek>,
    model: Model,
    interval_level: f64,
    weeks: Vec<DatedForecast>,
    quarter_total_minor: i64,
    quarter_lower_minor: i64,
    quarter_upper_minor: i64,
    backtest: Backtest,
}

/// `GET /v1/reports/forecast`.
pub(super) async fn forecast(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ForecastQuery>,
) -> ApiResult<Response> {
    let format = Format::parse(query.format.as_deref())?;
    let team = parse_team(query.team.as_deref())?;
    let currency = parse_currency(query.currency.as_deref())?;
    let weeks_back = query.weeks_back.unwrap_or(DEFAULT_WEEKS_BACK);
    if !(1..=MAX_WEEKS_BACK).contains(&weeks_back) {
        return Err(ApiError::invalid(format!(
            "weeks_back {weeks_back} is not between 1 and {MAX_WEEKS_BACK}"
        )));
    }
    // The last `weeks_back` complete weeks, Monday to Sunday in the org's local dates.
    let offset = settings(&state, caller.org_id).await?.working_hours.offset;
    let this_monday = trend::week_start(offset.local(crate::now_ms()).0).to_days();
    let first_monday = this_monday - 7 * i64::from(weeks_back);
    let dates = (CivilDate::from_days(first_monday), CivilDate::from_days(this_monday - 1));
    let scope = scope_of(&state, &caller, dates, None, team, format).await?;
    let all_orders = orders(&state, &scope).await?;
    let orders = listed_orders(&all_orders, &listed(&scope));
    let currency = currency.unwrap_or_else(|| main_currency(&orders));
    let mut weekly = vec![0i64; usize::try_from(weeks_back).unwrap_or(0)];
    for o in orders.iter().filter(|o| o.currency.as_str() == currency) {
        let monday = trend::week_start(scope.offset.local(o.at.device_ms).0).to_days();
        if let Some(week) = usize::try_from((monday - first_monday) / 7).ok().and_then(|i| weekly.get_mut(i))
        {
            *week = week.saturating_add(o.total_minor);
        }
    }
    // History starts at the first week with an order: the weeks before it are no evidence.
    let first = weekly.iter().position(|w| *w != 0).unwrap_or(weekly.len());
    let history: Vec<f64> = weekly[first..].iter().map(|w| *w as f64).collect();
    let result = tokio::task::spawn_blocking(move || forecast::forecast(&history))
        .await
        .map_err(|e| internal("forecast worker failed", &e))?;
    let f = result.map_err(|e| match e {
        ForecastError::TooLittleHistory { .. } => ApiError::invalid(e.to_string()),
    })?;
    let monday = |days: i64| CivilDate::from_days(days).to_string();
    let history: Vec<HistoryWeek> = weekly[first..]
        .iter()
        .enumerate()
        .map(|(i, w)| HistoryWeek {
            week_start: monday(first_monday + 7 * (first + i) as i64),
            amount_minor: *w,
        })
        .collect();
    let weeks: Vec<DatedForecast> = f
        .weeks
        .into_iter()
        .map(|w| DatedForecast { week_start: monday(this_monday + 7 * (w.week as i64 - 1)), forecast: w })
        .collect();
    Ok(match format {
        Format::Csv => {
            let mut csv = vec![
                ["kind", "week_start", "amount_minor", "lower_minor", "upper_minor"]
                    .iter()
                    .map(|h| (*h).to_owned())
                    .collect::<Vec<_>>(),
            ];
            csv.extend(history.iter().map(|h| {
                vec![
                    "actual".to_owned(),
                    h.week_start.clone(),
                    h.amount_minor.to_string(),
                    String::new(),
                    String::new(),
                ]
            }));
            csv.extend(weeks.iter().map(|w| {
                vec![
                    "forecast".to_owned(),
                    w.week_start.clone(),
                    w.forecast.point_minor.to_string(),
                    w.forecast.lower_minor.to_string(),
                    w.forecast.upper_minor.to_string(),
                ]
            }));
            csv_response(csv)
        }
        Format::Json => Json(ForecastReport {
            team,
            currency,
            weeks_back,
            history,
            model: f.model,
            interval_level: f.interval_level,
            weeks,
            quarter_total_minor: f.quarter_total_minor,
            quarter_lower_minor: f.quarter_lower_minor,
            quarter_upper_minor: f.quarter_upper_minor,
            backtest: f.backtest,
        })
        .into_response(),
    })
}
