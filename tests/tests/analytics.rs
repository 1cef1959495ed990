//! Manager analytics on the real server: reps push check-ins, check-outs and orders as
//! phones do; the correlation of visits and time on site with sales, the per-capita figures
//! per week and month, and the next quarter's forecast must match figures worked out by
//! hand (JSON and CSV), each manager seeing only their team.

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::{CustomerId, ProductId, TeamId, UserId};
use fieldkit_domain::model::{Role, User, WgsPoint};
use fieldkit_domain::protocol::Fact;
use fieldkit_e2e::facts;
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;
/// The product's list price, minor units: every order is a multiple of it.
const UNIT_PRICE: i64 = 100;

fn shop() -> WgsPoint {
    WgsPoint::new(31.2304, 121.4737).expect("the shop is on the globe")
}

/// A check-in at `at_ms` and, for `minutes > 0`, its check-out that many minutes later.
fn visit(rep: UserId, customer: CustomerId, at_ms: i64, minutes: i64) -> Vec<Fact> {
    let check_in = facts::check_in(rep, customer, shop(), at_ms);
    let check_out =
        (minutes > 0).then(|| Fact::CheckOut(facts::check_out(&check_in, at_ms + minutes * MINUTE_MS)));
    std::iter::once(Fact::CheckIn(check_in)).chain(check_out).collect()
}

/// An order of `amount` (a multiple of [`UNIT_PRICE`]) at list price.
fn order(rep: UserId, customer: CustomerId, product: ProductId, amount: i64, at_ms: i64) -> Fact {
    let quantity = u32::try_from(amount / UNIT_PRICE).expect("a sane quantity");
    Fact::Order(facts::order(rep, customer, None, &[(product, quantity, UNIT_PRICE)], at_ms))
}

async fn get(api: &Api, token: &str, path: &str) -> anyhow::Result<(StatusCode, Value)> {
    api.send("GET", path, Some(token), None).await
}

/// Parses CSV without quoted fields (none of these reports quote: no name holds a comma).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    text.split("\r\n").filter(|l| !l.is_empty()).map(|l| l.split(',').map(str::to_owned).collect()).collect()
}

fn iso(days: i64) -> String {
    let d = CivilDate::from_days(days);
    d.to_string()
}

/// The org's calendar: its UTC offset and this week's Monday (local days since 1970).
struct Calendar {
    offset_min: i64,
    this_monday: i64,
}

impl Calendar {
    async fn of(api: &Api, token: &str) -> anyhow::Result<Self> {
        let (status, settings) = get(api, token, "/v1/org/settings").await?;
        anyhow::ensure!(status == StatusCode::OK, "{status} {settings}");
        let offset_min = settings["working_hours"]["offset"].as_i64().unwrap_or(480);
        let today = (fieldkit_server::now_ms() + offset_min * MINUTE_MS).div_euclid(DAY_MS);
        Ok(Self { offset_min, this_monday: today - (today + 3).rem_euclid(7) })
    }

    /// Local noon of local day `days`, Unix ms.
    fn noon(&self, days: i64) -> i64 {
        days * DAY_MS + 12 * HOUR_MS - self.offset_min * MINUTE_MS
    }
}

async fn create(api: &Api, token: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    let (status, answer) = api.send("POST", path, Some(token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{path}: {status} {answer}");
    Ok(answer["id"].clone())
}

/// A product at [`UNIT_PRICE`] and a customer.
async fn catalogue(api: &Api, manager: &str) -> anyhow::Result<(ProductId, CustomerId)> {
    let product = create(
        api,
        manager,
        "/v1/products",
        json!({ "sku": "WATER", "name": "水", "line": "drinks",
            "list_price": { "minor": UNIT_PRICE, "currency": "CNY" } }),
    )
    .await?;
    let customer = create(
        api,
        manager,
        "/v1/customers",
        json!({ "name": "Shop", "grade": "A", "geofence_radius_m": 150,
            "place": { "point": shop(), "address": "" } }),
    )
    .await?;
    Ok((serde_json::from_value(product)?, serde_json::from_value(customer)?))
}

/// Team A (the harness's org: `manager`, `rep1`..`rep3`) and team B (`manager_b`, `rep9`),
/// with three past weeks of field work; `monday0` is the first week's Monday.
struct World {
    _server: TestServer,
    api: Api,
    org: TestOrg,
    reps: [UserId; 3],
    rep_token: String,
    manager_b: String,
    admin: String,
    rep9: User,
    team_a: TeamId,
    team_b: TeamId,
    monday0: i64,
}

async fn world() -> anyhow::Result<World> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 3).await?;
    let api = Api::new(&server.url);
    let manager = org.manager_token.clone();
    let reps = [org.reps[0].id, org.reps[1].id, org.reps[2].id];
    let team_a = org.manager.team_id.expect("the harness's team");
    let team_b = TeamId::new();
    server.user(&org.org, "manager_b", Role::Manager, team_b).await?;
    let rep9 = server.user(&org.org, "rep9", Role::Rep, team_b).await?;
    server.user(&org.org, "boss", Role::Admin, TeamId::new()).await?;
    let mut tokens = Vec::new();
    for name in ["rep1", "rep2", "rep3", "rep9", "manager_b", "boss"] {
        tokens.push(api.login("acme", name, PASSWORD).await?);
    }
    let calendar = Calendar::of(&api, &manager).await?;
    let (product, customer) = catalogue(&api, &manager).await?;
    let monday0 = calendar.this_monday - 21;
    let at = |day: i64| calendar.noon(monday0 + day);

    // rep1: week 0 Wednesday a 30-minute visit and an order of 1 000; week 1 Tuesday an
    // hour's visit and an order of 2 000.
    let mut facts = visit(reps[0], customer, at(2), 30);
    facts.push(order(reps[0], customer, product, 1_000, at(2) + HOUR_MS));
    facts.extend(visit(reps[0], customer, at(8), 60));
    facts.push(order(reps[0], customer, product, 2_000, at(8) + 2 * HOUR_MS));
    api.push_facts(&tokens[0], facts, &["stored"]).await?;
    // rep2: week 0 Thursday 45 minutes, no order; week 1 Wednesday 15 minutes and an order
    // of 500; week 2 Monday a visit never checked out.
    let mut facts = visit(reps[1], customer, at(3), 45);
    facts.extend(visit(reps[1], customer, at(9), 15));
    facts.push(order(reps[1], customer, product, 500, at(9) + HOUR_MS));
    facts.extend(visit(reps[1], customer, at(14), 0));
    api.push_facts(&tokens[1], facts, &["stored"]).await?;
    // rep3: week 2 Friday an order of 4 000 without a visit.
    api.push_facts(&tokens[2], vec![order(reps[2], customer, product, 4_000, at(18))], &["stored"]).await?;
    // rep9 of team B: week 1 a 20-minute visit and an order of 9 900.
    let mut facts = visit(rep9.id, customer, at(9), 20);
    facts.push(order(rep9.id, customer, product, 9_900, at(9) + HOUR_MS));
    api.push_facts(&tokens[3], facts, &["stored"]).await?;

    Ok(World {
        _server: server,
        api,
        org,
        reps,
        rep_token: tokens[0].clone(),
        manager_b: tokens[4].clone(),
        admin: tokens[5].clone(),
        rep9,
        team_a,
        team_b,
        monday0,
    })
}

fn rep_ids(report: &Value) -> Vec<Value> {
    report["reps"].as_array().into_iter().flatten().map(|r| r["rep_id"].clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlation_gives_each_reps_figures_and_the_coefficients_worked_by_hand() -> anyhow::Result<()> {
    let w = world().await?;
    let period = format!("from={}&to={}", iso(w.monday0), iso(w.monday0 + 20));
    let path = format!("/v1/reports/correlation?{period}");
    let (status, report) = get(&w.api, &w.org.manager_token, &path).await?;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["currency"], "CNY");
    let row = |rep: UserId| {
        report["reps"].as_array().and_then(|r| r.iter().find(|r| r["rep_id"] == json!(rep))).cloned()
    };
    let figures = |rep| {
        row(rep).map(|r| {
            (
                r["visits"].clone(),
                r["time_on_site_minutes"].clone(),
                r["orders"].clone(),
                r["orders_amount_minor"].clone(),
            )
        })
    };
    assert_eq!(figures(w.reps[0]), Some((json!(2), json!(90.0), json!(2), json!(3_000))), "{report}");
    assert_eq!(figures(w.reps[1]), Some((json!(3), json!(60.0), json!(1), json!(500))));
    assert_eq!(figures(w.reps[2]), Some((json!(0), json!(0.0), json!(1), json!(4_000))));
    assert_eq!(rep_ids(&report).len(), 3, "only team A: {report}");
    // Means: visits 5/3, minutes 150/3, orders 4/3, amount 7 500/3.
    assert_eq!(
        report["means"],
        json!({ "visits": 1.67, "time_on_site_minutes": 50.0, "orders": 1.33, "orders_amount_minor": 2_500.0 })
    );
    // Visits 2, 3, 0 (dx 1/3, 4/3, −5/3) against 3 000, 500, 4 000 (dy 500, −2 000, 1 500):
    // Σdxdy = −5 000, Σdx² = 42/9, Σdy² = 6 500 000 → r = −5 000 / √30 333 333 = −0.9078.
    assert_eq!(
        report["visits_vs_sales"],
        json!({ "x": "visits", "y": "orders_amount_minor", "n": 3, "coefficient": -0.9078, "undefined_reason": null })
    );
    // Minutes 90, 60, 0 (dx 40, 10, −50): Σdxdy = −75 000, Σdx² = 4 200 → r = −0.4539.
    assert_eq!(report["time_on_site_vs_sales"]["coefficient"], -0.4539);

    let (content_type, csv) = w.api.get_csv(&w.org.manager_token, &format!("{path}&format=csv")).await?;
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let rows = parse_csv(&csv);
    assert_eq!(
        rows[0],
        ["rep_id", "name", "visits", "time_on_site_minutes", "orders", "orders_amount_minor"]
    );
    assert_eq!(rows.len(), 6, "header, three reps, mean, coefficients: {csv}");
    let rep1 = rows.iter().find(|r| r[0] == w.reps[0].to_string()).expect("rep1's row");
    assert_eq!(rep1[1..], ["rep1", "2", "90", "2", "3000"]);
    assert_eq!(rows[4], ["mean", "", "1.67", "50", "1.33", "2500"]);
    assert_eq!(rows[5], ["pearson_r_vs_orders_amount", "", "-0.9078", "-0.4539", "", ""]);

    // A rep alone: one point, no coefficient, and the reason.
    let (status, own) = get(&w.api, &w.rep_token, &path).await?;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(rep_ids(&own), [json!(w.reps[0])]);
    assert_eq!(own["visits_vs_sales"]["coefficient"], Value::Null);
    assert_eq!(own["visits_vs_sales"]["undefined_reason"], "too_few_points");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_capita_divides_each_weeks_sales_and_visits_by_its_active_reps() -> anyhow::Result<()> {
    let w = world().await?;
    // Wednesday of week 0 to Tuesday of week 2: three buckets, the first and last cut.
    let path =
        format!("/v1/reports/per-capita?from={}&to={}&bucket=week", iso(w.monday0 + 2), iso(w.monday0 + 15));
    let (status, report) = get(&w.api, &w.org.manager_token, &path).await?;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["bucket"], "week");
    assert_eq!(
        report["buckets"],
        json!([
            // rep1 visits and orders 1 000, rep2 visits: 1 000 / 2 = 500.
            { "from": iso(w.monday0 + 2), "to": iso(w.monday0 + 6), "active_reps": 2, "visits": 2,
              "orders": 1, "orders_amount_minor": 1_000, "amount_per_active_rep_minor": 500,
              "visits_per_active_rep": 1.0 },
            // rep1 2 000, rep2 500: 2 500 / 2 = 1 250 (rep9's 9 900 is team B's).
            { "from": iso(w.monday0 + 7), "to": iso(w.monday0 + 13), "active_reps": 2, "visits": 2,
              "orders": 2, "orders_amount_minor": 2_500, "amount_per_active_rep_minor": 1_250,
              "visits_per_active_rep": 1.0 },
            // rep2's visit without an order; rep3's order on Friday is after the period.
            { "from": iso(w.monday0 + 14), "to": iso(w.monday0 + 15), "active_reps": 1, "visits": 1,
              "orders": 0, "orders_amount_minor": 0, "amount_per_active_rep_minor": 0,
              "visits_per_active_rep": 1.0 },
        ])
    );
    let (content_type, csv) = w.api.get_csv(&w.org.manager_token, &format!("{path}&format=csv")).await?;
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let rows = parse_csv(&csv);
    assert_eq!(rows.len(), 4, "{csv}");
    assert_eq!(
        rows[2],
        [
            iso(w.monday0 + 7),
            iso(w.monday0 + 13),
            "2".into(),
            "2".into(),
            "2".into(),
            "2500".into(),
            "1250".into(),
            "1".into()
        ]
    );

    // Months: buckets inside calendar months, adding up to the three weeks' figures (five
    // visits, four orders of 7 500) and the three reps at most.
    let months =
        format!("/v1/reports/per-capita?from={}&to={}&bucket=month", iso(w.monday0), iso(w.monday0 + 20));
    let (status, by_month) = get(&w.api, &w.org.manager_token, &months).await?;
    assert_eq!(status, StatusCode::OK, "{by_month}");
    let buckets = by_month["buckets"].as_array().cloned().unwrap_or_default();
    assert!((1..=2).contains(&buckets.len()), "{by_month}");
    assert_eq!(buckets[0]["from"], iso(w.monday0));
    assert_eq!(buckets[buckets.len() - 1]["to"], iso(w.monday0 + 20));
    for b in &buckets {
        let (from, to) = (b["from"].as_str().unwrap_or_default(), b["to"].as_str().unwrap_or_default());
        assert_eq!(from[..7], to[..7], "one calendar month: {b}");
    }
    let sum = |key: &str| buckets.iter().map(|b| b[key].as_i64().unwrap_or(0)).sum::<i64>();
    assert_eq!((sum("visits"), sum("orders"), sum("orders_amount_minor")), (5, 4, 7_500));
    let (status, _) = get(&w.api, &w.org.manager_token, &months.replace("month", "day")).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_manager_sees_only_their_team_and_a_team_filter_stays_within_scope() -> anyhow::Result<()> {
    let w = world().await?;
    let path = format!("/v1/reports/correlation?from={}&to={}", iso(w.monday0), iso(w.monday0 + 20));
    let (status, theirs) = get(&w.api, &w.manager_b, &path).await?;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert_eq!(rep_ids(&theirs), [json!(w.rep9.id)]);
    assert_eq!(theirs["reps"][0]["orders_amount_minor"], 9_900);
    // Team A's manager may not ask for team B, nor team B's for team A.
    let (status, _) = get(&w.api, &w.org.manager_token, &format!("{path}&team={}", w.team_b)).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = get(&w.api, &w.manager_b, &format!("{path}&team={}", w.team_a)).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = get(&w.api, &w.manager_b, &format!("{path}&team={}", TeamId::new())).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The admin sees the four reps, or one team's with `team`.
    let (_, all) = get(&w.api, &w.admin, &path).await?;
    assert_eq!(rep_ids(&all).len(), 4, "{all}");
    let (_, team_a) = get(&w.api, &w.admin, &format!("{path}&team={}", w.team_a)).await?;
    let mut ids = rep_ids(&team_a);
    ids.sort_by_key(Value::to_string);
    let mut expected: Vec<Value> = w.reps.iter().map(|r| json!(r)).collect();
    expected.sort_by_key(Value::to_string);
    assert_eq!(ids, expected);
    assert_eq!(team_a["visits_vs_sales"]["coefficient"], -0.9078);
    let per_capita =
        format!("/v1/reports/per-capita?from={}&to={}&bucket=week", iso(w.monday0 + 7), iso(w.monday0 + 13));
    let (_, b) = get(&w.api, &w.manager_b, &per_capita).await?;
    assert_eq!(b["buckets"][0]["orders_amount_minor"], 9_900, "{b}");
    assert_eq!(b["buckets"][0]["active_reps"], 1);
    Ok(())
}

/// Week `t`'s true amount: a trend and a quarterly season.
fn clean(t: usize) -> f64 {
    let t = t as f64;
    200_000.0 + 2_000.0 * t + 40_000.0 * (std::f64::consts::TAU * t / 13.0).sin()
}

/// 60 weeks of [`clean`] with ±3 % deterministic noise, in whole [`UNIT_PRICE`]s.
fn noisy_history() -> Vec<i64> {
    let mut seed: u64 = 7;
    (0..60)
        .map(|t| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let noise = ((seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0;
            let amount = clean(t) * (1.0 + 0.03 * noise);
            (amount / UNIT_PRICE as f64).round() as i64 * UNIT_PRICE
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forecast_recovers_a_trend_with_a_quarterly_season_and_reports_its_back_test()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let calendar = Calendar::of(&api, &org.manager_token).await?;
    let (product, customer) = catalogue(&api, &org.manager_token).await?;
    let history = noisy_history();
    // Week t's Wednesday: the 60 weeks end with last week. rep1 sells 60 %, rep2 the rest.
    let mut by_rep = [Vec::new(), Vec::new()];
    for (t, amount) in history.iter().enumerate() {
        let wednesday = calendar.noon(calendar.this_monday - 7 * (60 - t as i64) + 2);
        let first = amount / UNIT_PRICE * 6 / 10 * UNIT_PRICE;
        by_rep[0].push(order(org.reps[0].id, customer, product, first, wednesday));
        by_rep[1].push(order(org.reps[1].id, customer, product, amount - first, wednesday + HOUR_MS));
    }
    for (i, facts) in by_rep.into_iter().enumerate() {
        let token = api.login("acme", &format!("rep{}", i + 1), PASSWORD).await?;
        api.push_facts(&token, facts, &["stored"]).await?;
    }

    let (status, f) = get(&api, &org.manager_token, "/v1/reports/forecast?weeks_back=60").await?;
    assert_eq!(status, StatusCode::OK, "{f}");
    let amounts: Vec<i64> =
        f["history"].as_array().into_iter().flatten().filter_map(|w| w["amount_minor"].as_i64()).collect();
    assert_eq!(amounts, history, "the weekly sums are the orders pushed");
    assert_eq!(f["history"][0]["week_start"], iso(calendar.this_monday - 420));
    assert_eq!(f["model"]["method"], "holt_winters_additive", "{}", f["model"]);
    assert_eq!(f["model"]["season_length"], 13);
    let weeks = f["weeks"].as_array().cloned().unwrap_or_default();
    assert_eq!(weeks.len(), 13);
    assert_eq!(weeks[0]["week_start"], iso(calendar.this_monday));
    // The next quarter's true total: the season sums to zero over 13 weeks, so it is the
    // trend's: Σ 200 000 + 2 000·t for t = 60..72 = 13·200 000 + 2 000·858 = 4 316 000.
    let truth: f64 = (60..73).map(clean).sum();
    assert!((truth - 4_316_000.0).abs() < 1.0, "{truth}");
    let total = f["quarter_total_minor"].as_i64().unwrap_or(0) as f64;
    let tolerance = 0.04;
    assert!((total - truth).abs() / truth < tolerance, "forecast {total} vs true {truth}");
    let (lower, upper) =
        (f["quarter_lower_minor"].as_f64().unwrap_or(0.0), f["quarter_upper_minor"].as_f64().unwrap_or(0.0));
    assert!(lower < truth && truth < upper, "{lower} .. {upper}");
    let week_sum: i64 = weeks.iter().filter_map(|w| w["point_minor"].as_i64()).sum();
    assert_eq!(week_sum as f64, total);
    // The back-test: the last 13 weeks pushed, forecast from the 47 before them.
    let bt = &f["backtest"];
    let actual: Vec<i64> =
        bt["actual_minor"].as_array().into_iter().flatten().filter_map(Value::as_i64).collect();
    assert_eq!(actual, history[47..]);
    let mape = bt["accuracy"]["mape_pct"].as_f64().unwrap_or(f64::MAX);
    assert!(mape < 6.0, "back-test MAPE {mape} %");
    let mae = bt["accuracy"]["mae"].as_f64().unwrap_or(f64::MAX);
    assert_eq!(bt["baselines"][0]["method"], "last_value");
    assert!(mae < bt["baselines"][0]["accuracy"]["mae"].as_f64().unwrap_or(0.0), "{bt}");
    eprintln!(
        "forecast: total {total} vs {truth}; back-test MAE {mae}, MAPE {mape} %, sMAPE {}, MASE {}; baselines {}",
        bt["accuracy"]["smape_pct"], bt["accuracy"]["mase"], bt["baselines"]
    );

    // CSV: the 60 weeks, then the 13 ahead.
    let (content_type, csv) =
        api.get_csv(&org.manager_token, "/v1/reports/forecast?weeks_back=60&format=csv").await?;
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let rows = parse_csv(&csv);
    assert_eq!(rows[0], ["kind", "week_start", "amount_minor", "lower_minor", "upper_minor"]);
    assert_eq!(rows.len(), 1 + 60 + 13);
    assert_eq!(rows[60][..3], ["actual".to_owned(), iso(calendar.this_monday - 7), history[59].to_string()]);
    assert_eq!(rows[61][1], iso(calendar.this_monday));

    // Too little history: 20 weeks asked for, or a team without sales.
    let (status, short) = get(&api, &org.manager_token, "/v1/reports/forecast?weeks_back=20").await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{short}");
    assert_eq!(short["error"]["code"], "invalid_request");
    let message = short["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("20 weeks of order history exist; at least 26 are needed"), "{message}");
    server.user(&org.org, "manager_b", Role::Manager, TeamId::new()).await?;
    let other = api.login("acme", "manager_b", PASSWORD).await?;
    let (status, none) = get(&api, &other, "/v1/reports/forecast").await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{none}");
    assert!(
        none["error"]["message"].as_str().unwrap_or_default().starts_with("0 weeks of order history"),
        "{none}"
    );
    let (status, _) = get(&api, &org.manager_token, "/v1/reports/forecast?weeks_back=0").await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    Ok(())
}
