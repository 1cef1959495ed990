//! Period reports for managers, computed from facts already loaded: pure functions, no I/O.
//!
//! - [`summary`]: per rep, visits (check-ins), the server's verdicts on them and the
//!   compliance they make, time on site, distance travelled, orders and their amounts per
//!   currency, new customers; and the team's totals.
//! - [`leaderboard`]: the reps ranked by one [`Metric`] (standard competition ranking:
//!   equal values share a rank and the next rank skips), each with its whole summary.
//! - [`product_share`]: order amounts per product line and currency, with each line's share
//!   of its currency in basis points (largest remainder: the shares of a currency sum to
//!   exactly 10 000).
//! - [`funnel`]: tasks due in the period → those with a check-in naming them → those whose
//!   visit has an order.
//! - [`csv_row`]: one RFC 4180 row (fields quoted when they hold a comma, a quote or a line
//!   break; CRLF line ends).
//!
//! Orders: an order amended by another loaded order is replaced by it (only the latest of a
//! chain counts). Ratios are integer basis points (10 000 = 100 %), rounded half up.

use std::collections::{BTreeMap, HashMap, HashSet};

use fieldkit_domain::checkin::visit_duration;
use fieldkit_domain::geo::{FilterConfig, MileageConfig, UtcOffset, daily_mileage, filter_track};
use fieldkit_domain::ids::{CustomerId, FactId, ProductId, TaskId, UserId, VisitId};
use fieldkit_domain::model::{CheckIn, CheckOut, Order, Product, Task, TrackPoint};
use serde::Serialize;

/// 100 % in basis points.
pub const FULL_BP: u32 = 10_000;

/// The server's verdict on a check-in, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerVerdict {
    /// Accepted.
    Accepted,
    /// Allowed, flagged for review.
    Flagged,
    /// Refused by org policy.
    Rejected,
    /// The server could not judge it (or holds no verdict).
    Unjudged,
}

impl ServerVerdict {
    /// The verdict named by an outcome (`accepted`, `flagged`, `rejected`; anything else is
    /// unjudged).
    #[must_use]
    pub fn from_outcome(outcome: Option<&str>) -> Self {
        match outcome {
            Some("accepted") => ServerVerdict::Accepted,
            Some("flagged") => ServerVerdict::Flagged,
            Some("rejected") => ServerVerdict::Rejected,
            _ => ServerVerdict::Unjudged,
        }
    }
}

/// A rep in the report's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepInfo {
    /// The user.
    pub id: UserId,
    /// Display name.
    pub name: String,
}

/// A check-in of the period with the server's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgedCheckIn {
    /// The check-in.
    pub check_in: CheckIn,
    /// The server's verdict.
    pub verdict: ServerVerdict,
}

/// A customer created in the period from a rep's approved proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewCustomer {
    /// The proposing rep.
    pub rep_id: UserId,
    /// The customer created.
    pub customer_id: CustomerId,
}

/// Everything a summary is computed from (already limited to the period and the scope).
#[derive(Debug, Clone)]
pub struct SummaryInput {
    /// The reps in scope; authors of facts not listed here get a row too (without a name).
    pub reps: Vec<RepInfo>,
    /// The period's check-ins.
    pub check_ins: Vec<JudgedCheckIn>,
    /// Check-outs of those visits (and possibly others, ignored).
    pub check_outs: Vec<CheckOut>,
    /// Each rep's track points of the period, in time order.
    pub tracks: HashMap<UserId, Vec<TrackPoint>>,
    /// The period's orders.
    pub orders: Vec<Order>,
    /// Customers created in the period from approved proposals.
    pub new_customers: Vec<NewCustomer>,
    /// The org's track filter.
    pub track_filter: FilterConfig,
    /// The org's local time.
    pub offset: UtcOffset,
}

/// An amount in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amount {
    /// ISO 4217 code.
    pub currency: String,
    /// Minor units.
    pub minor: i64,
}

/// One rep's figures (or the team's, with no `rep_id`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepSummary {
    /// The rep (`None`: the team's totals).
    pub rep_id: Option<UserId>,
    /// Display name (`None` for the totals or an unknown user).
    pub name: Option<String>,
    /// Check-ins.
    pub visits: usize,
    /// Check-ins the server accepted.
    pub accepted: usize,
    /// Check-ins the server flagged.
    pub flagged: usize,
    /// Check-ins the server rejected.
    pub rejected: usize,
    /// Check-ins the server could not judge (not in the compliance).
    pub unjudged: usize,
    /// `accepted / (accepted + flagged + rejected)` in basis points; `None` with none judged.
    pub compliance_bp: Option<u32>,
    /// Sum of the visits' durations (check-in to check-out), milliseconds.
    pub time_on_site_ms: i64,
    /// Visits without a usable check-out (none, or one before the check-in on every clock).
    pub visits_without_check_out: usize,
    /// Distance travelled, metres (rounded).
    pub distance_m: i64,
    /// Orders (amended orders replaced by their amendment).
    pub orders: usize,
    /// Order amounts per currency, by code.
    pub order_amounts: Vec<Amount>,
    /// Customers created from the rep's approved proposals.
    pub new_customers: usize,
}

impl RepSummary {
    fn empty(rep_id: Option<UserId>, name: Option<String>) -> Self {
        Self {
            rep_id,
            name,
            visits: 0,
            accepted: 0,
            flagged: 0,
            rejected: 0,
            unjudged: 0,
            compliance_bp: None,
            time_on_site_ms: 0,
            visits_without_check_out: 0,
            distance_m: 0,
            orders: 0,
            order_amounts: Vec::new(),
            new_customers: 0,
        }
    }

    /// The amount in `currency`, 0 if none.
    #[must_use]
    pub fn amount(&self, currency: &str) -> i64 {
        self.order_amounts.iter().find(|a| a.currency == currency).map_or(0, |a| a.minor)
    }
}

/// The summary: one row per rep (by name, then id) and the totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Per rep.
    pub reps: Vec<RepSummary>,
    /// The team's totals.
    pub totals: RepSummary,
}

/// `part / whole` in basis points, rounded half up; `None` when `whole` is 0.
#[must_use]
pub fn ratio_bp(part: usize, whole: usize) -> Option<u32> {
    if whole == 0 {
        return None;
    }
    let (part, whole) = (part as u128, whole as u128);
    u32::try_from((part * u128::from(FULL_BP) * 2 + whole) / (whole * 2)).ok()
}

/// The orders that count: those not amended by another order of `orders`.
#[must_use]
pub fn current_orders(orders: &[Order]) -> Vec<&Order> {
    let amended: HashSet<FactId> = orders.iter().filter_map(|o| o.amends).collect();
    orders.iter().filter(|o| !amended.contains(&o.id)).collect()
}

fn add_amount(amounts: &mut BTreeMap<String, i64>, currency: &str, minor: i64) {
    let sum = amounts.entry(currency.to_owned()).or_insert(0);
    *sum = sum.saturating_add(minor);
}

fn amounts(map: BTreeMap<String, i64>) -> Vec<Amount> {
    map.into_iter().map(|(currency, minor)| Amount { currency, minor }).collect()
}

/// The period summary.
#[must_use]
pub fn summary(input: &SummaryInput) -> Summary {
    struct Acc {
        row: RepSummary,
        amounts: BTreeMap<String, i64>,
        distance_m: f64,
    }
    let names: HashMap<UserId, &str> = input.reps.iter().map(|r| (r.id, r.name.as_str())).collect();
    let mut rows: BTreeMap<UserId, Acc> = BTreeMap::new();
    let row = |rows: &mut BTreeMap<UserId, Acc>, rep: UserId| {
        rows.entry(rep).or_insert_with(|| Acc {
            row: RepSummary::empty(Some(rep), names.get(&rep).map(|n| (*n).to_owned())),
            amounts: BTreeMap::new(),
            distance_m: 0.0,
        });
    };
    for rep in &input.reps {
        row(&mut rows, rep.id);
    }
    let mut check_outs: HashMap<VisitId, &CheckOut> = HashMap::new();
    for out in &input.check_outs {
        check_outs.entry(out.visit_id).or_insert(out);
    }
    for judged in &input.check_ins {
        let c = &judged.check_in;
        row(&mut rows, c.rep_id);
        let Some(acc) = rows.get_mut(&c.rep_id) else { continue };
        acc.row.visits += 1;
        match judged.verdict {
            ServerVerdict::Accepted => acc.row.accepted += 1,
            ServerVerdict::Flagged => acc.row.flagged += 1,
            ServerVerdict::Rejected => acc.row.rejected += 1,
            ServerVerdict::Unjudged => acc.row.unjudged += 1,
        }
        match check_outs.get(&c.visit_id).and_then(|o| visit_duration(&c.at, &o.at).ok()) {
            Some(d) => acc.row.time_on_site_ms = acc.row.time_on_site_ms.saturating_add(d.ms),
            None => acc.row.visits_without_check_out += 1,
        }
    }
    let mileage = MileageConfig::new(input.offset);
    for (rep, points) in &input.tracks {
        let kept = filter_track(points, &input.track_filter).kept;
        row(&mut rows, *rep);
        if let Some(acc) = rows.get_mut(rep) {
            acc.distance_m += daily_mileage(&kept, &mileage).iter().map(|d| d.distance_m).sum::<f64>();
        }
    }
    for order in current_orders(&input.orders) {
        row(&mut rows, order.rep_id);
        if let Some(acc) = rows.get_mut(&order.rep_id) {
            acc.row.orders += 1;
            add_amount(&mut acc.amounts, order.currency.as_str(), order.total_minor);
        }
    }
    for new in &input.new_customers {
        row(&mut rows, new.rep_id);
        if let Some(acc) = rows.get_mut(&new.rep_id) {
            acc.row.new_customers += 1;
        }
    }

    let mut reps: Vec<RepSummary> = rows
        .into_values()
        .map(|acc| {
            let mut r = acc.row;
            r.compliance_bp = ratio_bp(r.accepted, r.accepted + r.flagged + r.rejected);
            r.distance_m = acc.distance_m.round() as i64;
            r.order_amounts = amounts(acc.amounts);
            r
        })
        .collect();
    reps.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.rep_id.cmp(&b.rep_id)));
    let totals = rollup(None, reps.iter());
    Summary { reps, totals }
}

/// `rows` added up into one row named `name` (no rep): counts, time, metres (each row's
/// rounded metres) and amounts per currency added, compliance worked out again from the
/// sums. The team's totals, and the groups of a report by team or region.
#[must_use]
pub fn rollup<'r>(name: Option<String>, rows: impl IntoIterator<Item = &'r RepSummary>) -> RepSummary {
    let mut total = RepSummary::empty(None, name);
    let mut total_amounts = BTreeMap::new();
    for r in rows {
        total.visits += r.visits;
        total.accepted += r.accepted;
        total.flagged += r.flagged;
        total.rejected += r.rejected;
        total.unjudged += r.unjudged;
        total.time_on_site_ms = total.time_on_site_ms.saturating_add(r.time_on_site_ms);
        total.visits_without_check_out += r.visits_without_check_out;
        total.distance_m = total.distance_m.saturating_add(r.distance_m);
        total.orders += r.orders;
        total.new_customers += r.new_customers;
        for amount in &r.order_amounts {
            add_amount(&mut total_amounts, &amount.currency, amount.minor);
        }
    }
    total.compliance_bp = ratio_bp(total.accepted, total.accepted + total.flagged + total.rejected);
    total.order_amounts = amounts(total_amounts);
    total
}

/// What a leaderboard ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Order amount in one currency.
    OrdersAmount,
    /// Check-ins.
    Visits,
    /// Compliance (reps with nothing judged rank last).
    Compliance,
}

impl Metric {
    /// Parses `orders_amount`, `visits` or `compliance`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "orders_amount" => Some(Metric::OrdersAmount),
            "visits" => Some(Metric::Visits),
            "compliance" => Some(Metric::Compliance),
            _ => None,
        }
    }
}

/// One place on the leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    /// 1 for the best; equal values share a rank.
    pub rank: usize,
    /// The value ranked (`None`: compliance with nothing judged).
    pub value: Option<i64>,
    /// The rep's whole summary.
    pub summary: RepSummary,
}

/// The currency an amount leaderboard ranks in: the one with the largest total, else `CNY`.
#[must_use]
pub fn main_currency(summary: &Summary) -> String {
    summary
        .totals
        .order_amounts
        .iter()
        .max_by(|a, b| a.minor.cmp(&b.minor).then_with(|| b.currency.cmp(&a.currency)))
        .map_or_else(|| "CNY".to_owned(), |a| a.currency.clone())
}

/// The reps of `summary` ranked by `metric` (amounts in `currency`), best first; ties in
/// the summary's order (name, then id).
#[must_use]
pub fn leaderboard(summary: &Summary, metric: Metric, currency: &str) -> Vec<Standing> {
    let value = |r: &RepSummary| -> Option<i64> {
        match metric {
            Metric::OrdersAmount => Some(r.amount(currency)),
            Metric::Visits => Some(i64::try_from(r.visits).unwrap_or(i64::MAX)),
            Metric::Compliance => r.compliance_bp.map(i64::from),
        }
    };
    let mut rows: Vec<(Option<i64>, &RepSummary)> = summary.reps.iter().map(|r| (value(r), r)).collect();
    // Descending; `None` after every value (stable: ties keep the summary's order).
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut standings: Vec<Standing> = Vec::with_capacity(rows.len());
    for (i, (value, r)) in rows.into_iter().enumerate() {
        let rank = match standings.last() {
            Some(prev) if prev.value == value => prev.rank,
            _ => i + 1,
        };
        standings.push(Standing { rank, value, summary: r.clone() });
    }
    standings
}

/// One product line's sales in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineShare {
    /// The product line (`unassigned` for products without a line or not on the list).
    pub line: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Sum of the order lines' totals, minor units.
    pub amount_minor: i64,
    /// Share of the currency's total, basis points.
    pub share_bp: u32,
}

/// The line name of products without one, or not on the price list.
pub const UNASSIGNED_LINE: &str = "unassigned";

/// Order amounts per product line, by currency then amount (largest first) then line.
#[must_use]
pub fn product_share(orders: &[Order], products: &HashMap<ProductId, Product>) -> Vec<LineShare> {
    let mut sums: BTreeMap<(String, String), i64> = BTreeMap::new();
    for order in current_orders(orders) {
        for l in &order.lines {
            let line = products
                .get(&l.product_id)
                .map(|p| p.line.trim())
                .filter(|name| !name.is_empty())
                .unwrap_or(UNASSIGNED_LINE);
            let amount = l.total_minor().unwrap_or(0);
            let sum = sums.entry((order.currency.as_str().to_owned(), line.to_owned())).or_insert(0);
            *sum = sum.saturating_add(amount);
        }
    }
    let mut by_currency: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for ((currency, line), amount) in sums {
        by_currency.entry(currency).or_default().push((line, amount));
    }
    let mut out = Vec::new();
    for (currency, lines) in by_currency {
        let amounts: Vec<i64> = lines.iter().map(|(_, a)| *a).collect();
        let shares = shares_bp(&amounts);
        let mut rows: Vec<LineShare> = lines
            .into_iter()
            .zip(shares)
            .map(|((line, amount_minor), share_bp)| LineShare {
                line,
                currency: currency.clone(),
                amount_minor,
                share_bp,
            })
            .collect();
        rows.sort_by(|a, b| b.amount_minor.cmp(&a.amount_minor).then_with(|| a.line.cmp(&b.line)));
        out.extend(rows);
    }
    out
}

/// Each amount's share of their sum in basis points, by largest remainder so that they sum
/// to exactly 10 000 (all 0 when the sum is not positive; negative amounts count as 0).
#[must_use]
pub fn shares_bp(amounts: &[i64]) -> Vec<u32> {
    let parts: Vec<u128> = amounts.iter().map(|a| u128::try_from(*a).unwrap_or(0)).collect();
    let total: u128 = parts.iter().sum();
    if total == 0 {
        return vec![0; amounts.len()];
    }
    let full = u128::from(FULL_BP);
    let mut shares: Vec<u128> = parts.iter().map(|p| p * full / total).collect();
    let mut left = full - shares.iter().sum::<u128>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    // Largest remainder first; ties to the earlier amount.
    order.sort_by(|&a, &b| (parts[b] * full % total).cmp(&(parts[a] * full % total)).then(a.cmp(&b)));
    for i in order {
        if left == 0 {
            break;
        }
        if !(parts[i] * full).is_multiple_of(total) {
            shares[i] += 1;
            left -= 1;
        }
    }
    shares.into_iter().map(|s| u32::try_from(s).unwrap_or(FULL_BP)).collect()
}

/// One stage of the funnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// `tasks_due`, `tasks_visited` or `tasks_with_order`.
    pub stage: &'static str,
    /// Tasks at this stage.
    pub count: usize,
    /// Share of the previous stage, basis points (`None` for the first or an empty one).
    pub from_previous_bp: Option<u32>,
    /// Share of the first stage, basis points.
    pub from_first_bp: Option<u32>,
}

/// Tasks due in `[from_ms, until_ms)` (not cancelled) → visited (a check-in names the
/// task) → with an order (an order names one of those visits).
#[must_use]
pub fn funnel(
    tasks: &[Task],
    from_ms: i64,
    until_ms: i64,
    check_ins: &[CheckIn],
    orders: &[Order],
) -> Vec<Stage> {
    use fieldkit_domain::model::TaskStatus;
    let due: HashSet<TaskId> = tasks
        .iter()
        .filter(|t| t.status != TaskStatus::Cancelled)
        .filter(|t| t.deadline_ms.is_some_and(|d| (from_ms..until_ms).contains(&d)))
        .map(|t| t.id)
        .collect();
    let mut visits: HashMap<TaskId, HashSet<VisitId>> = HashMap::new();
    for c in check_ins {
        if let Some(task) = c.task_id.filter(|t| due.contains(t)) {
            visits.entry(task).or_default().insert(c.visit_id);
        }
    }
    let ordered: HashSet<VisitId> = current_orders(orders).iter().filter_map(|o| o.visit_id).collect();
    let with_order = visits.values().filter(|v| v.iter().any(|visit| ordered.contains(visit))).count();
    let counts =
        [("tasks_due", due.len()), ("tasks_visited", visits.len()), ("tasks_with_order", with_order)];
    let first = counts[0].1;
    let mut previous = None;
    counts
        .into_iter()
        .map(|(stage, count)| {
            let stage = Stage {
                stage,
                count,
                from_previous_bp: previous.and_then(|p| ratio_bp(count, p)),
                from_first_bp: ratio_bp(count, first),
            };
            previous = Some(count);
            stage
        })
        .collect()
}

/// One CSV field, quoted when it holds a comma, a double quote or a line break (RFC 4180).
#[must_use]
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// One CSV row with its CRLF line end.
#[must_use]
pub fn csv_row<S: AsRef<str>>(fields: &[S]) -> String {
    let mut row = fields.iter().map(|f| csv_field(f.as_ref())).collect::<Vec<_>>().join(",");
    row.push_str("\r\n");
    row
}

/// A basis-point ratio as text (`""` for none).
#[must_use]
pub fn bp_text(bp: Option<u32>) -> String {
    bp.map(|b| b.to_string()).unwrap_or_default()
}

/// The CSV columns of a [`RepSummary`] (amounts in each of `currencies`).
#[must_use]
pub fn summary_header(currencies: &[String]) -> Vec<String> {
    let mut header: Vec<String> = [
        "rep_id",
        "name",
        "visits",
        "accepted",
        "flagged",
        "rejected",
        "unjudged",
        "compliance_bp",
        "time_on_site_ms",
        "visits_without_check_out",
        "distance_m",
        "orders",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    header.extend(currencies.iter().map(|c| format!("amount_minor_{c}")));
    header.push("new_customers".to_owned());
    header
}

/// The CSV fields of a [`RepSummary`], in [`summary_header`]'s order (`total` as the id of
/// the totals).
#[must_use]
pub fn summary_fields(r: &RepSummary, currencies: &[String]) -> Vec<String> {
    let mut fields = vec![
        r.rep_id.map_or_else(|| "total".to_owned(), |id| id.to_string()),
        r.name.clone().unwrap_or_default(),
        r.visits.to_string(),
        r.accepted.to_string(),
        r.flagged.to_string(),
        r.rejected.to_string(),
        r.unjudged.to_string(),
        bp_text(r.compliance_bp),
        r.time_on_site_ms.to_string(),
        r.visits_without_check_out.to_string(),
        r.distance_m.to_string(),
        r.orders.to_string(),
    ];
    fields.extend(currencies.iter().map(|c| r.amount(c).to_string()));
    fields.push(r.new_customers.to_string());
    fields
}

#[cfg(test)]
mod tests {
    use fieldkit_domain::clock::{EventTime, Hlc};
    use fieldkit_domain::geo::haversine_m;
    use fieldkit_domain::model::{
        Currency, LocationFix, LocationProvider, Money, OrderLine, TaskKind, TaskStatus, WgsPoint,
    };

    use super::*;

    const T0: i64 = 1_764_000_000_000;

    fn event(ms: i64) -> EventTime {
        EventTime {
            device_ms: ms,
            hlc: Hlc { wall_ms: ms.unsigned_abs(), counter: 0, node: 1 },
            server_estimate_ms: Some(ms),
        }
    }

    fn point(lat: f64, lng: f64) -> WgsPoint {
        WgsPoint::new(lat, lng).expect("on the globe")
    }

    fn fix() -> LocationFix {
        LocationFix {
            point: point(31.23, 121.47),
            accuracy_m: 10.0,
            fix_time_ms: T0,
            provider: LocationProvider::Gnss,
            is_mock: false,
        }
    }

    fn check_in(rep: UserId, at: i64, task: Option<TaskId>) -> CheckIn {
        CheckIn {
            id: FactId::new(),
            visit_id: VisitId::new(),
            customer_id: CustomerId::new(),
            task_id: task,
            rep_id: rep,
            fix: fix(),
            at: event(at),
            note: None,
            assessment: None,
        }
    }

    fn check_out(of: &CheckIn, at: i64) -> CheckOut {
        CheckOut {
            id: FactId::new(),
            visit_id: of.visit_id,
            customer_id: of.customer_id,
            rep_id: of.rep_id,
            fix: fix(),
            at: event(at),
            automatic: false,
            assessment: None,
            sop_missing: Vec::new(),
        }
    }

    fn order(rep: UserId, visit: Option<VisitId>, lines: Vec<(ProductId, u32, i64)>) -> Order {
        let lines: Vec<OrderLine> = lines
            .into_iter()
            .map(|(product_id, quantity, unit)| OrderLine {
                product_id,
                quantity,
                unit_price_minor: unit,
                discount_minor: 0,
            })
            .collect();
        let total = lines.iter().map(|l| i64::from(l.quantity) * l.unit_price_minor).sum();
        Order {
            id: FactId::new(),
            customer_id: CustomerId::new(),
            visit_id: visit,
            rep_id: rep,
            currency: Currency::CNY,
            lines,
            amends: None,
            discount_approval: None,
            total_minor: total,
            at: event(T0),
        }
    }

    fn judged(c: &CheckIn, verdict: ServerVerdict) -> JudgedCheckIn {
        JudgedCheckIn { check_in: c.clone(), verdict }
    }

    #[test]
    fn ratios_are_basis_points_rounded_half_up_and_none_of_nothing() {
        assert_eq!(ratio_bp(1, 3), Some(3_333));
        assert_eq!(ratio_bp(2, 3), Some(6_667));
        assert_eq!(ratio_bp(1, 8), Some(1_250));
        assert_eq!(ratio_bp(3, 3), Some(10_000));
        assert_eq!(ratio_bp(0, 0), None);
    }

    #[test]
    fn a_summary_counts_each_reps_visits_verdicts_time_distance_orders_and_new_customers() {
        let (alice, bob) = (UserId::new(), UserId::new());
        let a1 = check_in(alice, T0, None);
        let a2 = check_in(alice, T0 + 3_600_000, None);
        let a3 = check_in(alice, T0 + 7_200_000, None);
        let b1 = check_in(bob, T0, None);
        let amended = order(alice, Some(a1.visit_id), vec![(ProductId::new(), 1, 100)]);
        let mut amendment = order(alice, Some(a1.visit_id), vec![(ProductId::new(), 2, 1_250)]);
        amendment.amends = Some(amended.id);
        let mut usd = order(bob, None, vec![(ProductId::new(), 3, 700)]);
        usd.currency = Currency::parse("USD").expect("a code");
        // Three points due north 500 m apart, five minutes apart.
        let start = point(31.0, 121.0);
        let track: Vec<TrackPoint> = (0..3)
            .map(|i| TrackPoint {
                point: point(31.0 + f64::from(i) * 0.0045, 121.0),
                accuracy_m: 5.0,
                time_ms: T0 + i64::from(i) * 240_000,
            })
            .collect();
        let metres = haversine_m(start, track[1].point) + haversine_m(track[1].point, track[2].point);
        let input = SummaryInput {
            reps: vec![
                RepInfo { id: alice, name: "Alice, A.".into() },
                RepInfo { id: bob, name: "Bob".into() },
                RepInfo { id: UserId::new(), name: "Idle".into() },
            ],
            check_ins: vec![
                judged(&a1, ServerVerdict::Accepted),
                judged(&a2, ServerVerdict::Flagged),
                judged(&a3, ServerVerdict::Unjudged),
                judged(&b1, ServerVerdict::Rejected),
            ],
            check_outs: vec![check_out(&a1, T0 + 1_800_000), check_out(&a2, T0 + 3_600_000 + 600_000)],
            tracks: [(alice, track)].into_iter().collect(),
            orders: vec![amended, amendment, usd],
            new_customers: vec![NewCustomer { rep_id: bob, customer_id: CustomerId::new() }],
            track_filter: FilterConfig::default(),
            offset: UtcOffset::CHINA,
        };
        let s = summary(&input);
        let names: Vec<_> = s.reps.iter().map(|r| r.name.clone().unwrap_or_default()).collect();
        assert_eq!(names, ["Alice, A.", "Bob", "Idle"]);
        let a = &s.reps[0];
        assert_eq!((a.visits, a.accepted, a.flagged, a.rejected, a.unjudged), (3, 1, 1, 0, 1));
        assert_eq!(a.compliance_bp, Some(5_000), "unjudged left out: 1 of 2");
        assert_eq!(a.time_on_site_ms, 1_800_000 + 600_000);
        assert_eq!(a.visits_without_check_out, 1);
        assert_eq!(a.distance_m, metres.round() as i64);
        assert!((a.distance_m - 1_000).abs() <= 2, "{}", a.distance_m);
        assert_eq!(a.orders, 1, "the amended order is replaced");
        assert_eq!(a.order_amounts, vec![Amount { currency: "CNY".into(), minor: 2_500 }]);
        let b = &s.reps[1];
        assert_eq!((b.visits, b.rejected, b.compliance_bp), (1, 1, Some(0)));
        assert_eq!((b.orders, b.amount("USD"), b.new_customers), (1, 2_100, 1));
        assert_eq!(s.reps[2].compliance_bp, None);
        let t = &s.totals;
        assert_eq!((t.visits, t.accepted, t.flagged, t.rejected, t.unjudged), (4, 1, 1, 1, 1));
        assert_eq!(t.compliance_bp, Some(3_333));
        assert_eq!((t.orders, t.amount("CNY"), t.amount("USD"), t.new_customers), (2, 2_500, 2_100, 1));
        assert_eq!(t.time_on_site_ms, 2_400_000);
        assert_eq!(main_currency(&s), "CNY");
    }

    #[test]
    fn a_leaderboard_ranks_best_first_with_shared_ranks_and_unjudged_compliance_last() {
        let row = |name: &str, visits, compliance| RepSummary {
            visits,
            compliance_bp: compliance,
            ..RepSummary::empty(Some(UserId::new()), Some(name.into()))
        };
        let s = Summary {
            reps: vec![
                row("a", 2, None),
                row("b", 5, Some(9_000)),
                row("c", 5, Some(10_000)),
                row("d", 1, Some(0)),
            ],
            totals: RepSummary::empty(None, None),
        };
        let by_visits: Vec<_> = leaderboard(&s, Metric::Visits, "CNY")
            .iter()
            .map(|st| (st.rank, st.value, st.summary.name.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            by_visits,
            [
                (1, Some(5), "b".into()),
                (1, Some(5), "c".into()),
                (3, Some(2), "a".into()),
                (4, Some(1), "d".into())
            ]
        );
        let by_compliance: Vec<_> =
            leaderboard(&s, Metric::Compliance, "CNY").iter().map(|st| (st.rank, st.value)).collect();
        assert_eq!(by_compliance, [(1, Some(10_000)), (2, Some(9_000)), (3, Some(0)), (4, None)]);
        assert_eq!(Metric::parse("orders_amount"), Some(Metric::OrdersAmount));
        assert_eq!(Metric::parse("revenue"), None);
    }

    #[test]
    fn product_shares_sum_to_ten_thousand_basis_points_per_currency() {
        let (cola, chips, loose) = (ProductId::new(), ProductId::new(), ProductId::new());
        let product = |id, line: &str| Product {
            id,
            sku: "s".into(),
            name: "n".into(),
            line: line.into(),
            list_price: Money { minor: 1, currency: Currency::CNY },
            grade_prices: BTreeMap::new(),
            max_discount_pct: 10,
        };
        let products: HashMap<ProductId, Product> = [
            (cola, product(cola, "drinks")),
            (chips, product(chips, "snacks")),
            (loose, product(loose, " ")),
        ]
        .into_iter()
        .collect();
        let rep = UserId::new();
        let orders = vec![
            order(rep, None, vec![(cola, 2, 100), (chips, 1, 100)]),
            order(rep, None, vec![(loose, 1, 300), (ProductId::new(), 1, 300)]),
        ];
        // drinks 200, snacks 100, unassigned 600 of 900.
        let shares = product_share(&orders, &products);
        let rows: Vec<_> = shares.iter().map(|s| (s.line.as_str(), s.amount_minor, s.share_bp)).collect();
        assert_eq!(rows, [("unassigned", 600, 6_667), ("drinks", 200, 2_222), ("snacks", 100, 1_111)]);
        assert_eq!(shares_bp(&[1, 1, 1]), [3_334, 3_333, 3_333]);
        assert_eq!(shares_bp(&[0, 0]), [0, 0]);
    }

    #[test]
    fn the_funnel_follows_due_tasks_to_their_visits_and_orders() {
        let rep = UserId::new();
        let task = |deadline: i64, status| Task {
            id: TaskId::new(),
            kind: TaskKind::CustomerVisit,
            title: "t".into(),
            goal: String::new(),
            deadline_ms: Some(deadline),
            place: None,
            customer_id: None,
            assignee_id: Some(rep),
            status,
            notes: String::new(),
        };
        let tasks = vec![
            task(T0 + 1, TaskStatus::Open),
            task(T0 + 2, TaskStatus::Done),
            task(T0 + 3, TaskStatus::Open),
            task(T0 + 4, TaskStatus::Cancelled),
            task(T0 + 10 * 86_400_000, TaskStatus::Open),
        ];
        let v1 = check_in(rep, T0, Some(tasks[0].id));
        let v2 = check_in(rep, T0, Some(tasks[1].id));
        let outside = check_in(rep, T0, Some(tasks[4].id));
        let orders = vec![order(rep, Some(v2.visit_id), vec![(ProductId::new(), 1, 5)])];
        let stages = funnel(&tasks, T0, T0 + 86_400_000, &[v1, v2, outside], &orders);
        let rows: Vec<_> =
            stages.iter().map(|s| (s.stage, s.count, s.from_previous_bp, s.from_first_bp)).collect();
        assert_eq!(
            rows,
            [
                ("tasks_due", 3, None, Some(10_000)),
                ("tasks_visited", 2, Some(6_667), Some(6_667)),
                ("tasks_with_order", 1, Some(5_000), Some(3_333)),
            ]
        );
    }

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("plain 上海"), "plain 上海");
        assert_eq!(csv_field("Wang, Li"), "\"Wang, Li\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_row(&["a", "b,c", ""]), "a,\"b,c\",\r\n");
    }
}
