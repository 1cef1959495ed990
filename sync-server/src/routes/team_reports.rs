//! Period reports for managers, from the facts the server holds; each in JSON or, with
//! `format=csv`, as CSV (`text/csv; charset=utf-8`, a header row, RFC 4180 quoting).
//!
//! - `GET /v1/reports/summary?from=YYYY-MM-DD&to=YYYY-MM-DD[&rep=<id>]`: per rep, visits,
//!   the server's verdicts and compliance, time on site, distance, orders and amounts per
//!   currency, new customers; and the totals.
//! - `GET /v1/reports/leaderboard?from&to&metric=orders_amount|visits|compliance[&currency=CNY]`:
//!   the reps ranked, each with their whole summary (amounts rank in `currency`, by default
//!   the currency with the largest total).
//! - `GET /v1/reports/product-share?from&to`: order amounts per product line and currency.
//! - `GET /v1/reports/funnel?from&to`: tasks due in the period → visited → with an order.
//!
//! Who sees what (as `GET /v1/reports/day`): the users the caller's data scope reaches (a
//! rep themself, a manager their department by default, an admin the org); `team=<id>`
//! narrows to a department and those under it, `rep=<id>` to one user the caller may read.
//! The period is local dates in the org's `working_hours.offset`, both ends included, at
//! most [`MAX_PERIOD_DAYS`] days. What is counted (see [`crate::report_kit`]):
//!
//! - check-ins whose device time falls in the period; their check-outs up to a day after it;
//! - track points of the period through the org's track filter, then the domain's
//!   `daily_mileage` (gaps not bridged; unlike the day report, not Kalman-smoothed);
//! - orders whose device time falls in the period, by their author;
//! - new customers: proposals approved in the period (server time), for the proposing rep.
//!   Customers created directly by managers are not attributable to a rep and not counted;
//! - funnel: tasks whose deadline falls in the period (not cancelled) and whose assignee is
//!   in scope; a task is visited when a check-in of the period names it, and has an order
//!   when an order of the period names one of those visits. Tasks carry no creation time,
//!   so tasks without a deadline never enter the funnel.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use fieldkit_domain::docs::{self, task as task_doc};
use fieldkit_domain::geo::{CivilDate, UtcOffset};
use fieldkit_domain::ids::{FactId, TeamId, UserId};
use fieldkit_domain::model::{CheckIn, CheckOut, Order, Product, Role, Task, TrackPoint, User};
use fieldkit_domain::protocol::{ErrorCode, Fact, FeedChange, Record, RecordKind};
use serde::{Deserialize, Serialize};

use super::facts::{authors, server_outcome};
use super::period::{malformed, period};
use super::settings::settings;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Caller};
use crate::report_kit::{
    self, JudgedCheckIn, LineShare, Metric, NewCustomer, RepInfo, RepSummary, ServerVerdict, Stage, Standing,
    Summary, SummaryInput,
};
use crate::state::AppState;
use crate::storage::{DecisionStatus, FactFilter, FactQuery, FeedReader, PointSource, StorageError};

const DAY_MS: i64 = 86_400_000;
/// The longest period reported at once, days.
pub(super) const MAX_PERIOD_DAYS: i64 = 366;
/// How long after the period a check-out of one of its visits is still looked for.
const CHECK_OUT_LOOKAHEAD_MS: i64 = DAY_MS;
/// Feed page size when reading the org's tasks.
const TASK_PAGE: u32 = 500;

/// Query string of the period reports.
#[derive(Debug, Deserialize)]
pub(super) struct ReportQuery {
    from: String,
    to: String,
    rep: Option<String>,
    /// A department id: only its users and those of the departments under it.
    team: Option<String>,
    /// Summary only: `rep` (the default), `team` (each rep's department) or `region` (each
    /// rep's top-level department).
    by: Option<String>,
    format: Option<String>,
    metric: Option<String>,
    currency: Option<String>,
}

/// JSON or CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// `application/json` (the default).
    Json,
    /// `text/csv; charset=utf-8`.
    Csv,
}

impl Format {
    /// Parses `format=json|csv` (absent: JSON).
    pub(super) fn parse(text: Option<&str>) -> ApiResult<Self> {
        match text {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(other) => Err(malformed(format!("format {other:?} is neither json nor csv"))),
        }
    }
}

/// Who and when a report covers.
pub(super) struct Scope {
    pub(super) org: fieldkit_domain::ids::OrgId,
    pub(super) from: CivilDate,
    pub(super) to: CivilDate,
    pub(super) offset: UtcOffset,
    pub(super) start_ms: i64,
    pub(super) end_ms: i64,
    /// Whose facts count (`None`: everyone's in the org).
    pub(super) authors: Option<Vec<UserId>>,
    /// The reps listed even without facts, and the names of every user in scope.
    pub(super) reps: Vec<RepInfo>,
    pub(super) names: HashMap<UserId, String>,
    pub(super) format: Format,
    pub(super) settings: fieldkit_domain::model::OrgSettings,
}

/// The summary report.
#[derive(Debug, Serialize)]
pub(super) struct SummaryReport {
    from: String,
    to: String,
    utc_offset_minutes: i32,
    reps: Vec<RepSummary>,
    /// With `by=team` or `by=region`: the reps' rows added up per department.
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<GroupSummary>>,
    totals: RepSummary,
}

/// How a summary groups its reps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupBy {
    Rep,
    Team,
    Region,
}

impl GroupBy {
    fn parse(text: Option<&str>) -> ApiResult<Self> {
        Ok(match text {
            None | Some("rep") => GroupBy::Rep,
            Some("team") => GroupBy::Team,
            Some("region") => GroupBy::Region,
            Some(other) => return Err(malformed(format!("by {other:?} is not one of rep, team, region"))),
        })
    }
}

/// One department's figures in a summary by team or region.
#[derive(Debug, Serialize)]
pub(super) struct GroupSummary {
    /// The department (`None`: reps in no department).
    group_id: Option<TeamId>,
    /// Its name, when the org tree names it.
    group_name: Option<String>,
    /// Reps counted in it.
    rep_count: usize,
    figures: RepSummary,
}

/// The reps' rows of `reps` added up per team (each rep's department) or region (each
/// rep's top-level department), by name.
async fn groups(
    state: &AppState,
    scope: &Scope,
    by: GroupBy,
    reps: &[RepSummary],
) -> ApiResult<Vec<GroupSummary>> {
    let users: HashMap<UserId, User> =
        state.storage.users(scope.org).await?.into_iter().map(|u| (u.id, u)).collect();
    let names: HashMap<TeamId, String> =
        state.storage.departments(scope.org).await?.into_iter().map(|d| (d.id, d.name)).collect();
    let key = |rep: &RepSummary| {
        let user = rep.rep_id.and_then(|id| users.get(&id))?;
        match by {
            GroupBy::Region => user.department_path.first().copied(),
            GroupBy::Team | GroupBy::Rep => user.team_id,
        }
    };
    let mut members: BTreeMap<Option<TeamId>, Vec<&RepSummary>> = BTreeMap::new();
    for rep in reps {
        members.entry(key(rep)).or_default().push(rep);
    }
    let mut groups: Vec<GroupSummary> = members
        .into_iter()
        .map(|(group_id, rows)| {
            let group_name = group_id.and_then(|g| names.get(&g).cloned());
            GroupSummary {
                group_id,
                rep_count: rows.len(),
                figures: report_kit::rollup(group_name.clone(), rows),
                group_name,
            }
        })
        .collect();
    groups.sort_by(|a, b| a.group_name.cmp(&b.group_name).then(a.group_id.cmp(&b.group_id)));
    Ok(groups)
}

fn groups_csv(groups: &[GroupSummary], totals: &RepSummary) -> Vec<Vec<String>> {
    let currencies: Vec<String> = totals.order_amounts.iter().map(|a| a.currency.clone()).collect();
    let mut header = vec!["group_id".to_owned(), "group_name".to_owned(), "rep_count".to_owned()];
    header.extend(report_kit::summary_header(&currencies).into_iter().skip(2));
    let mut rows = vec![header];
    for g in groups {
        let mut row = vec![
            g.group_id.map_or_else(|| "none".to_owned(), |id| id.to_string()),
            g.group_name.clone().unwrap_or_default(),
            g.rep_count.to_string(),
        ];
        row.extend(report_kit::summary_fields(&g.figures, &currencies).into_iter().skip(2));
        rows.push(row);
    }
    let mut total = vec![
        "total".to_owned(),
        String::new(),
        groups.iter().map(|g| g.rep_count).sum::<usize>().to_string(),
    ];
    total.extend(report_kit::summary_fields(totals, &currencies).into_iter().skip(2));
    rows.push(total);
    rows
}

/// The leaderboard.
#[derive(Debug, Serialize)]
pub(super) struct LeaderboardReport {
    from: String,
    to: String,
    metric: Metric,
    /// The currency amounts rank in.
    currency: String,
    standings: Vec<Standing>,
}

/// Sales per product line.
#[derive(Debug, Serialize)]
pub(super) struct ProductShareReport {
    from: String,
    to: String,
    lines: Vec<LineShare>,
}

/// The funnel.
#[derive(Debug, Serialize)]
pub(super) struct FunnelReport {
    from: String,
    to: String,
    stages: Vec<Stage>,
}

/// An internal failure, logged; the client learns only that it failed.
pub(super) fn internal(what: &str, e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what}");
    ApiError::new(ErrorCode::Internal, "internal error; try again later")
}

async fn scope(state: &AppState, caller: &User, query: &ReportQuery) -> ApiResult<Scope> {
    let format = Format::parse(query.format.as_deref())?;
    let (from, to) = period(&query.from, &query.to, MAX_PERIOD_DAYS)?;
    let team = query
        .team
        .as_deref()
        .map(|t| t.parse::<TeamId>().map_err(|_| malformed(format!("team {t:?} is not a department id"))))
        .transpose()?;
    scope_of(state, caller, (from, to), query.rep.as_deref(), team, format).await
}

/// The scope of a report over `from..=to` (local dates, already checked): everyone the
/// caller may read, or only `rep` (a user id, refused unless readable), narrowed to the
/// users of `team` when one is given (unknown team: not found; a team none of whose users
/// the caller may read: forbidden).
pub(super) async fn scope_of(
    state: &AppState,
    caller: &User,
    (from, to): (CivilDate, CivilDate),
    rep: Option<&str>,
    team: Option<TeamId>,
    format: Format,
) -> ApiResult<Scope> {
    let org = caller.org_id;
    let settings = settings(state, org).await?;
    let offset = settings.working_hours.offset;
    let start_ms = from.to_days() * DAY_MS - i64::from(offset.minutes()) * 60_000;
    let end_ms = (to.to_days() + 1) * DAY_MS - i64::from(offset.minutes()) * 60_000;
    let users: Vec<User> = state.storage.users(org).await?;
    let (authors, listed): (Option<Vec<UserId>>, Vec<&User>) = match rep {
        Some(text) => {
            let id: UserId = text.parse().map_err(|_| malformed(format!("rep {text:?} is not a user id")))?;
            if caller.role == Role::Rep && caller.id != id {
                return Err(ApiError::forbidden("a rep may read only their own reports"));
            }
            let user = users
                .iter()
                .find(|u| u.id == id)
                .ok_or_else(|| ApiError::not_found(format!("user {id} not found")))?;
            if !caller.may_read(user) {
                return Err(ApiError::forbidden(format!("user {id} is outside your data scope")));
            }
            (Some(vec![id]), vec![user])
        }
        None => {
            let authors = authors(state, caller).await?;
            let in_scope = |u: &&User| authors.as_ref().is_none_or(|a| a.contains(&u.id));
            let listed = users
                .iter()
                .filter(in_scope)
                .filter(|u| u.role == Role::Rep || (caller.role == Role::Rep && u.id == caller.id))
                .collect();
            (authors, listed)
        }
    };
    let (authors, listed) = match team {
        None => (authors, listed),
        Some(team) => narrow_to_team(&users, team, authors, listed)?,
    };
    let reps = listed.iter().map(|u| RepInfo { id: u.id, name: u.display_name.clone() }).collect();
    let names = users
        .iter()
        .filter(|u| authors.as_ref().is_none_or(|a| a.contains(&u.id)))
        .map(|u| (u.id, u.display_name.clone()))
        .collect();
    Ok(Scope { org, from, to, offset, start_ms, end_ms, authors, reps, names, format, settings })
}

/// `authors` and `listed` narrowed to the users of `team` and the departments under it.
fn narrow_to_team<'u>(
    users: &'u [User],
    team: TeamId,
    authors: Option<Vec<UserId>>,
    listed: Vec<&'u User>,
) -> ApiResult<(Option<Vec<UserId>>, Vec<&'u User>)> {
    let members: Vec<UserId> =
        users.iter().filter(|u| u.department_path.contains(&team)).map(|u| u.id).collect();
    if members.is_empty() {
        return Err(ApiError::not_found(format!("team {team} not found")));
    }
    let readable: Vec<UserId> =
        members.into_iter().filter(|id| authors.as_ref().is_none_or(|a| a.contains(id))).collect();
    if readable.is_empty() {
        return Err(ApiError::forbidden(format!("team {team} is not in your scope")));
    }
    let listed = listed.into_iter().filter(|u| readable.contains(&u.id)).collect();
    Ok((Some(readable), listed))
}

/// The facts of `kind` by the scope's authors that happened in `[from_ms, until_ms)`.
pub(super) async fn facts(
    state: &AppState,
    scope: &Scope,
    kind: &str,
    from_ms: i64,
    until_ms: i64,
) -> ApiResult<Vec<(Fact, Option<&'static str>)>> {
    let query = FactQuery {
        filter: FactFilter { kind: Some(kind.to_owned()), rep_ids: scope.authors.clone() },
        flagged: None,
        event_from_ms: Some(from_ms),
        event_until_ms: Some(until_ms),
    };
    state
        .storage
        .select_facts(scope.org, query)
        .await?
        .into_iter()
        .map(|f| {
            let fact: Fact = serde_json::from_str(&f.body)
                .map_err(|source| StorageError::Corrupt { what: "fact", source })?;
            Ok((fact, f.server_assessment.as_ref().map(server_outcome)))
        })
        .collect::<Result<_, StorageError>>()
        .map_err(ApiError::from)
}

/// The period's check-ins with the server's verdicts.
pub(super) async fn check_ins(state: &AppState, scope: &Scope) -> ApiResult<Vec<JudgedCheckIn>> {
    Ok(facts(state, scope, "check_in", scope.start_ms, scope.end_ms)
        .await?
        .into_iter()
        .filter_map(|(fact, outcome)| match fact {
            Fact::CheckIn(check_in) => {
                Some(JudgedCheckIn { check_in, verdict: ServerVerdict::from_outcome(outcome) })
            }
            _ => None,
        })
        .collect())
}

/// The period's orders (amended ones included: see [`report_kit::current_orders`]).
pub(super) async fn orders(state: &AppState, scope: &Scope) -> ApiResult<Vec<Order>> {
    Ok(facts(state, scope, "order", scope.start_ms, scope.end_ms)
        .await?
        .into_iter()
        .filter_map(|(fact, _)| match fact {
            Fact::Order(o) => Some(o),
            _ => None,
        })
        .collect())
}

/// Customers created in the period from proposals by the scope's authors.
async fn new_customers(state: &AppState, scope: &Scope) -> ApiResult<Vec<NewCustomer>> {
    let decisions: Vec<_> = state
        .storage
        .proposal_decisions(scope.org)
        .await?
        .into_iter()
        .filter(|d| {
            d.status == DecisionStatus::Approved && (scope.start_ms..scope.end_ms).contains(&d.decided_ms)
        })
        .collect();
    if decisions.is_empty() {
        return Ok(Vec::new());
    }
    let filter = FactFilter { kind: Some("customer_proposal".to_owned()), rep_ids: scope.authors.clone() };
    let proposers: HashMap<FactId, UserId> =
        state.storage.facts(scope.org, filter).await?.into_iter().map(|f| (f.id, f.rep_id)).collect();
    Ok(decisions
        .into_iter()
        .filter_map(|d| {
            Some(NewCustomer { rep_id: *proposers.get(&d.fact_id)?, customer_id: d.customer_id? })
        })
        .collect())
}

/// Check-outs of the period's visits: up to [`CHECK_OUT_LOOKAHEAD_MS`] after its end.
pub(super) async fn check_outs(state: &AppState, scope: &Scope) -> ApiResult<Vec<CheckOut>> {
    Ok(facts(state, scope, "check_out", scope.start_ms, scope.end_ms + CHECK_OUT_LOOKAHEAD_MS)
        .await?
        .into_iter()
        .filter_map(|(fact, _)| match fact {
            Fact::CheckOut(c) => Some(c),
            _ => None,
        })
        .collect())
}

async fn summary_of(state: &AppState, scope: &Scope) -> ApiResult<Summary> {
    let check_ins = check_ins(state, scope).await?;
    let check_outs = check_outs(state, scope).await?;
    let orders = orders(state, scope).await?;
    let new_customers = new_customers(state, scope).await?;

    // Everyone listed, and every author of a counted fact, gets a row with their name.
    let mut reps = scope.reps.clone();
    let mut seen: HashSet<UserId> = reps.iter().map(|r| r.id).collect();
    let authors: BTreeSet<UserId> = check_ins
        .iter()
        .map(|c| c.check_in.rep_id)
        .chain(orders.iter().map(|o| o.rep_id))
        .chain(new_customers.iter().map(|n| n.rep_id))
        .collect();
    for id in authors {
        if seen.insert(id) {
            reps.push(RepInfo { id, name: scope.names.get(&id).cloned().unwrap_or_default() });
        }
    }
    let mut tracks: HashMap<UserId, Vec<TrackPoint>> = HashMap::new();
    for rep in &reps {
        let points = state
            .storage
            .location_points(scope.org, rep.id, scope.start_ms, scope.end_ms, Some(PointSource::Track))
            .await?;
        if !points.is_empty() {
            tracks.insert(rep.id, points.into_iter().map(|p| p.point).collect());
        }
    }
    let input = SummaryInput {
        reps,
        check_ins,
        check_outs,
        tracks,
        orders,
        new_customers,
        track_filter: scope.settings.track_filter,
        offset: scope.offset,
    };
    tokio::task::spawn_blocking(move || report_kit::summary(&input))
        .await
        .map_err(|e| internal("summary report worker failed", &e))
}

/// The summary of `from..=to` (local dates in the org's offset) over `authors`' facts
/// (`None`: everyone's in the org), with a row for each rep among them: what
/// `GET /v1/reports/summary` answers an admin (`None`) or a team's manager (the team's
/// members). The generated summaries (`crate::summaries`) are computed here.
pub(crate) async fn summary_between(
    state: &AppState,
    org: fieldkit_domain::ids::OrgId,
    (from, to): (CivilDate, CivilDate),
    authors: Option<Vec<UserId>>,
) -> ApiResult<Summary> {
    let settings = settings(state, org).await?;
    let offset = settings.working_hours.offset;
    let users: Vec<User> = state.storage.users(org).await?;
    let in_scope = |u: &&User| authors.as_ref().is_none_or(|a| a.contains(&u.id));
    let reps = users
        .iter()
        .filter(in_scope)
        .filter(|u| u.role == Role::Rep)
        .map(|u| RepInfo { id: u.id, name: u.display_name.clone() })
        .collect();
    let names = users.iter().filter(in_scope).map(|u| (u.id, u.display_name.clone())).collect();
    let scope = Scope {
        org,
        from,
        to,
        offset,
        start_ms: from.to_days() * DAY_MS - i64::from(offset.minutes()) * 60_000,
        end_ms: (to.to_days() + 1) * DAY_MS - i64::from(offset.minutes()) * 60_000,
        authors,
        reps,
        names,
        format: Format::Json,
        settings,
    };
    summary_of(state, &scope).await
}

/// `rows` as a CSV answer (`text/csv; charset=utf-8`).
pub(super) fn csv_response(rows: Vec<Vec<String>>) -> Response {
    let body: String = rows.iter().map(|r| report_kit::csv_row(r)).collect();
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}

fn summary_csv(reps: &[RepSummary], totals: &RepSummary) -> Vec<Vec<String>> {
    let currencies: Vec<String> = totals.order_amounts.iter().map(|a| a.currency.clone()).collect();
    let mut rows = vec![report_kit::summary_header(&currencies)];
    rows.extend(reps.iter().chain([totals]).map(|r| report_kit::summary_fields(r, &currencies)));
    rows
}

/// `GET /v1/reports/summary`.
pub(super) async fn summary(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let by = GroupBy::parse(query.by.as_deref())?;
    let scope = scope(&state, &caller, &query).await?;
    let Summary { reps, totals } = summary_of(&state, &scope).await?;
    let groups = match by {
        GroupBy::Rep => None,
        GroupBy::Team | GroupBy::Region => Some(groups(&state, &scope, by, &reps).await?),
    };
    Ok(match (scope.format, &groups) {
        (Format::Csv, Some(groups)) => csv_response(groups_csv(groups, &totals)),
        (Format::Csv, None) => csv_response(summary_csv(&reps, &totals)),
        (Format::Json, _) => Json(SummaryReport {
            from: scope.from.to_string(),
            to: scope.to.to_string(),
            utc_offset_minutes: scope.offset.minutes(),
            reps,
            groups,
            totals,
        })
        .into_response(),
    })
}

/// `GET /v1/reports/leaderboard`.
pub(super) async fn leaderboard(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let metric_text = query.metric.as_deref().unwrap_or("orders_amount");
    let metric = Metric::parse(metric_text).ok_or_else(|| {
        malformed(format!("metric {metric_text:?} is not one of orders_amount, visits, compliance"))
    })?;
    if let Some(c) = &query.currency
        && fieldkit_domain::model::Currency::parse(c).is_err()
    {
        return Err(malformed(format!("currency {c:?} is not a three-letter upper-case code")));
    }
    let scope = scope(&state, &caller, &query).await?;
    let summary = summary_of(&state, &scope).await?;
    let currency = query.currency.clone().unwrap_or_else(|| report_kit::main_currency(&summary));
    let standings = report_kit::leaderboard(&summary, metric, &currency);
    Ok(match scope.format {
        Format::Csv => {
            let currencies: Vec<String> =
                summary.totals.order_amounts.iter().map(|a| a.currency.clone()).collect();
            let mut header = vec!["rank".to_owned(), "value".to_owned()];
            header.extend(report_kit::summary_header(&currencies));
            let mut rows = vec![header];
            rows.extend(standings.iter().map(|s| {
                let mut row = vec![s.rank.to_string(), s.value.map(|v| v.to_string()).unwrap_or_default()];
                row.extend(report_kit::summary_fields(&s.summary, &currencies));
                row
            }));
            csv_response(rows)
        }
        Format::Json => Json(LeaderboardReport {
            from: scope.from.to_string(),
            to: scope.to.to_string(),
            metric,
            currency,
            standings,
        })
        .into_response(),
    })
}

/// `GET /v1/reports/product-share`.
pub(super) async fn product_share(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let scope = scope(&state, &caller, &query).await?;
    let orders = orders(&state, &scope).await?;
    let products: HashMap<_, Product> = state
        .storage
        .records(scope.org, RecordKind::Product)
        .await?
        .into_iter()
        .filter_map(|r| match r.record {
            Record::Product(p) => Some((p.id, p)),
            _ => None,
        })
        .collect();
    let lines = report_kit::product_share(&orders, &products);
    Ok(match scope.format {
        Format::Csv => {
            let mut rows = vec![vec![
                "line".to_owned(),
                "currency".to_owned(),
                "amount_minor".to_owned(),
                "share_bp".to_owned(),
            ]];
            rows.extend(lines.iter().map(|l| {
                vec![l.line.clone(), l.currency.clone(), l.amount_minor.to_string(), l.share_bp.to_string()]
            }));
            csv_response(rows)
        }
        Format::Json => {
            Json(ProductShareReport { from: scope.from.to_string(), to: scope.to.to_string(), lines })
                .into_response()
        }
    })
}

/// The org's tasks as they stand now, read through the change feed.
async fn tasks(state: &AppState, scope: &Scope) -> ApiResult<Vec<Task>> {
    let mut tasks = Vec::new();
    let mut cursor = 0;
    loop {
        let page = state.storage.feed(scope.org, FeedReader::Everything, None, cursor, TASK_PAGE).await?;
        for entry in page.entries {
            if let FeedChange::Doc { kind: RecordKind::Task, state: bytes, .. } = entry.change {
                let doc = docs::load(&bytes, state.actor.clone()).map_err(|e| internal("stored task", &e))?;
                let task = task_doc::project(&doc).map_err(|e| internal("stored task", &e))?;
                if task.assignee_id.is_some_and(|a| scope.authors.as_ref().is_none_or(|s| s.contains(&a))) {
                    tasks.push(task);
                }
            }
        }
        if !page.has_more || page.cursor <= cursor {
            break;
        }
        cursor = page.cursor;
    }
    Ok(tasks)
}

/// `GET /v1/reports/funnel`.
pub(super) async fn funnel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let scope = scope(&state, &caller, &query).await?;
    let tasks = tasks(&state, &scope).await?;
    let check_ins: Vec<CheckIn> = check_ins(&state, &scope).await?.into_iter().map(|c| c.check_in).collect();
    let orders = orders(&state, &scope).await?;
    let stages = report_kit::funnel(&tasks, scope.start_ms, scope.end_ms, &check_ins, &orders);
    Ok(match scope.format {
        Format::Csv => {
            let mut rows = vec![vec![
                "stage".to_owned(),
                "count".to_owned(),
                "from_previous_bp".to_owned(),
                "from_first_bp".to_owned(),
            ]];
            rows.extend(stages.iter().map(|s| {
                vec![
                    s.stage.to_owned(),
                    s.count.to_string(),
                    report_kit::bp_text(s.from_previous_bp),
                    report_kit::bp_text(s.from_first_bp),
                ]
            }));
            csv_response(rows)
        }
        Format::Json => Json(FunnelReport { from: scope.from.to_string(), to: scope.to.to_string(), stages })
            .into_response(),
    })
}
