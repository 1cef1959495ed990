//! Period reports for managers, on the real server: two reps push check-ins, check-outs, a
//! track, orders and a proposal as phones do; the summary, leaderboard, product-line shares
//! and funnel must match figures worked out by hand, in JSON and in CSV, and each caller
//! sees only their own scope.

use fieldkit_domain::geo::{CivilDate, LocalFrame, haversine_m};
use fieldkit_domain::ids::{CustomerId, FactId, ProductId, TaskId, UserId};
use fieldkit_domain::model::{
    CheckIn, CustomerProposal, Grade, Place, Role, TrackBatch, TrackPoint, WgsPoint,
};
use fieldkit_domain::protocol::Fact;
use fieldkit_e2e::facts::{self, check_out, event, order};
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const SHOP: (f64, f64) = (31.2304, 121.4737);

fn shop() -> WgsPoint {
    WgsPoint::new(SHOP.0, SHOP.1).expect("the shop is on the globe")
}

fn north_of_shop(north_m: f64) -> WgsPoint {
    LocalFrame::new(shop()).to_point(0.0, north_m).expect("on the globe")
}

fn check_in(rep: UserId, customer: CustomerId, task: Option<TaskId>, point: WgsPoint, at_ms: i64) -> CheckIn {
    CheckIn { task_id: task, ..facts::check_in(rep, customer, point, at_ms) }
}

/// Pushes `facts` as `token`'s phone; every one must be stored.
async fn push(api: &Api, token: &str, facts: Vec<Fact>) -> anyhow::Result<()> {
    api.push_facts(token, facts, &["stored"]).await.map(drop)
}

async fn created(api: &Api, token: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    let (status, answer) = api.send("POST", path, Some(token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{path}: {status} {answer}");
    Ok(answer)
}

async fn get(api: &Api, token: &str, path: &str) -> anyhow::Result<(StatusCode, Value)> {
    api.send("GET", path, Some(token), None).await
}

/// A CSV answer: its content type and body.
/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF rows).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

fn rep_row(report: &Value, rep: UserId) -> &Value {
    report["reps"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["rep_id"] == json!(rep)))
        .unwrap_or(&Value::Null)
}

/// Everything the reports are checked against.
struct World {
    server: TestServer,
    api: Api,
    org: TestOrg,
    rep_tokens: Vec<String>,
    period: String,
    track_m: i64,
}

async fn world() -> anyhow::Result<World> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let (rep1, rep2) = (org.reps[0].id, org.reps[1].id);
    let rep_tokens =
        vec![api.login("acme", "rep1", PASSWORD).await?, api.login("acme", "rep2", PASSWORD).await?];
    let manager = org.manager_token.clone();

    let (status, settings) = get(&api, &manager, "/v1/org/settings").await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {settings}");
    let offset_min = settings["working_hours"]["offset"].as_i64().unwrap_or(480);
    let now = fieldkit_server::now_ms();
    let today = (now + offset_min * 60_000).div_euclid(DAY_MS);
    let period = format!("from={}&to={}", CivilDate::from_days(today - 1), CivilDate::from_days(today));

    let cola = created(
        &api,
        &manager,
        "/v1/products",
        json!({ "sku": "COLA", "name": "可乐 330ml",
        "line": "饮料, drinks", "list_price": { "minor": 350, "currency": "CNY" } }),
    )
    .await?;
    let chips = created(
        &api,
        &manager,
        "/v1/products",
        json!({ "sku": "CHIPS", "name": "薯片",
        "line": "snacks", "list_price": { "minor": 200, "currency": "CNY" } }),
    )
    .await?;
    let cola: ProductId = serde_json::from_value(cola["id"].clone())?;
    let chips: ProductId = serde_json::from_value(chips["id"].clone())?;
    let customer = created(
        &api,
        &manager,
        "/v1/customers",
        json!({ "name": "Shop", "grade": "A",
        "geofence_radius_m": 150, "place": { "point": shop(), "address": "" } }),
    )
    .await?;
    let customer: CustomerId = serde_json::from_value(customer["id"].clone())?;
    let mut tasks = Vec::new();
    for (assignee, due) in [(rep1, now - HOUR_MS), (rep2, now - HOUR_MS), (rep1, now - 2 * 60_000)] {
        let task = created(
            &api,
            &manager,
            "/v1/tasks",
            json!({ "kind": "customer_visit", "title": "Visit",
            "deadline_ms": due, "customer_id": customer, "assignee_id": assignee }),
        )
        .await?;
        tasks.push(serde_json::from_value::<TaskId>(task["id"].clone())?);
    }

    // rep1: a track of three points 500 m apart, an accepted visit of 30 min with an order
    // of 10 colas and 5 chips (4 500), a flagged check-in 1 km away with a reason and no
    // check-out, and an order of 2 colas (700) outside any visit.
    let start = now - 4 * HOUR_MS;
    let points: Vec<TrackPoint> = (0..3)
        .map(|i| TrackPoint {
            point: north_of_shop(f64::from(i) * 500.0),
            accuracy_m: 5.0,
            time_ms: start + i64::from(i) * 240_000,
        })
        .collect();
    let track_m = (haversine_m(points[0].point, points[1].point)
        + haversine_m(points[1].point, points[2].point))
    .round() as i64;
    let visit1 = check_in(rep1, customer, Some(tasks[0]), north_of_shop(20.0), now - 3 * HOUR_MS);
    let out1 = check_out(&visit1, now - 3 * HOUR_MS + 1_800_000);
    let order1 = order(
        rep1,
        customer,
        Some(visit1.visit_id),
        &[(cola, 10, 350), (chips, 5, 200)],
        now - 3 * HOUR_MS + 600_000,
    );
    let mut far = check_in(rep1, customer, None, north_of_shop(1_000.0), now - 2 * HOUR_MS);
    far.note = Some("the shop moved across the road".to_owned());
    let order2 = order(rep1, customer, None, &[(cola, 2, 350)], now - HOUR_MS);
    push(
        &api,
        &rep_tokens[0],
        vec![
            Fact::Track(TrackBatch { id: FactId::new(), rep_id: rep1, points }),
            Fact::CheckIn(visit1),
            Fact::Order(order1),
            Fact::CheckOut(out1),
            Fact::CheckIn(far),
            Fact::Order(order2),
        ],
    )
    .await?;

    // rep2: an accepted visit of 45 min for their task without an order, an order of 3 chips
    // (600) and a proposal the manager approves.
    let visit2 = check_in(rep2, customer, Some(tasks[1]), shop(), now - 2 * HOUR_MS);
    let out2 = check_out(&visit2, now - 2 * HOUR_MS + 2_700_000);
    let order3 = order(rep2, customer, None, &[(chips, 3, 200)], now - HOUR_MS);
    let proposal = CustomerProposal {
        id: FactId::new(),
        rep_id: rep2,
        name: "新店".to_owned(),
        place: Place { point: north_of_shop(3_000.0), address: String::new() },
        grade: Grade::B,
        tags: Vec::new(),
        photo_sha256: None,
        at: event(now - HOUR_MS),
    };
    let proposal_id = proposal.id;
    push(
        &api,
        &rep_tokens[1],
        vec![
            Fact::CheckIn(visit2),
            Fact::CheckOut(out2),
            Fact::Order(order3),
            Fact::CustomerProposal(proposal),
        ],
    )
    .await?;
    let (status, answer) =
        api.send("POST", &format!("/v1/proposals/{proposal_id}/approve"), Some(&manager), None).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {answer}");

    Ok(World { server, api, org, rep_tokens, period, track_m })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_counts_every_figure_of_each_rep_and_the_team() -> anyhow::Result<()> {
    let w = world().await?;
    let (rep1, rep2) = (w.org.reps[0].id, w.org.reps[1].id);
    let (status, report) =
        get(&w.api, &w.org.manager_token, &format!("/v1/reports/summary?{}", w.period)).await?;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["reps"].as_array().map(Vec::len), Some(2), "the two reps of the team: {report}");

    let r1 = rep_row(&report, rep1);
    assert_eq!(r1["name"], "rep1");
    assert_eq!(
        (&r1["visits"], &r1["accepted"], &r1["flagged"], &r1["rejected"], &r1["unjudged"]),
        (&json!(2), &json!(1), &json!(1), &json!(0), &json!(0)),
        "{r1}"
    );
    assert_eq!(r1["compliance_bp"], 5_000);
    assert_eq!(r1["time_on_site_ms"], 1_800_000);
    assert_eq!(r1["visits_without_check_out"], 1);
    assert_eq!(r1["distance_m"], w.track_m);
    assert!((w.track_m - 1_000).abs() <= 2, "{}", w.track_m);
    assert_eq!(r1["orders"], 2);
    assert_eq!(r1["order_amounts"], json!([{ "currency": "CNY", "minor": 4_500 + 700 }]));
    assert_eq!(r1["new_customers"], 0);

    let r2 = rep_row(&report, rep2);
    assert_eq!(
        (&r2["visits"], &r2["accepted"], &r2["compliance_bp"]),
        (&json!(1), &json!(1), &json!(10_000))
    );
    assert_eq!((&r2["time_on_site_ms"], &r2["visits_without_check_out"]), (&json!(2_700_000), &json!(0)));
    assert_eq!((&r2["distance_m"], &r2["orders"]), (&json!(0), &json!(1)));
    assert_eq!(r2["order_amounts"], json!([{ "currency": "CNY", "minor": 600 }]));
    assert_eq!(r2["new_customers"], 1);

    let t = &report["totals"];
    assert_eq!(t["rep_id"], Value::Null);
    assert_eq!((&t["visits"], &t["accepted"], &t["flagged"]), (&json!(3), &json!(2), &json!(1)));
    assert_eq!(t["compliance_bp"], 6_667);
    assert_eq!((&t["time_on_site_ms"], &t["visits_without_check_out"]), (&json!(4_500_000), &json!(1)));
    assert_eq!(
        (&t["distance_m"], &t["orders"], &t["new_customers"]),
        (&json!(w.track_m), &json!(3), &json!(1))
    );
    assert_eq!(t["order_amounts"], json!([{ "currency": "CNY", "minor": 5_800 }]));

    // The same figures in CSV.
    let (content_type, csv) =
        w.api.get_csv(&w.org.manager_token, &format!("/v1/reports/summary?{}&format=csv", w.period)).await?;
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let rows = parse_csv(&csv);
    assert_eq!(rows.len(), 4, "header, two reps, totals: {csv}");
    let col = |name: &str| rows[0].iter().position(|h| h == name).expect("a column");
    let total = rows.iter().find(|r| r[0] == "total").expect("a totals row");
    assert_eq!(total[col("visits")], "3");
    assert_eq!(total[col("compliance_bp")], "6667");
    assert_eq!(total[col("amount_minor_CNY")], "5800");
    let csv_r1 = rows.iter().find(|r| r[0] == rep1.to_string()).expect("rep1's row");
    assert_eq!(csv_r1[col("distance_m")], w.track_m.to_string());
    assert_eq!(csv_r1[col("time_on_site_ms")], "1800000");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leaderboard_ranks_reps_by_the_metric_asked() -> anyhow::Result<()> {
    let w = world().await?;
    let (rep1, rep2) = (w.org.reps[0].id, w.org.reps[1].id);
    let ranked = |report: &Value| -> Vec<(Value, Value, Value)> {
        report["standings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| (s["rank"].clone(), s["value"].clone(), s["summary"]["rep_id"].clone()))
            .collect()
    };
    let board = |metric: &str| format!("/v1/reports/leaderboard?{}&metric={metric}", w.period);
    let (status, by_amount) = get(&w.api, &w.org.manager_token, &board("orders_amount")).await?;
    assert_eq!(status, StatusCode::OK, "{by_amount}");
    assert_eq!(by_amount["currency"], "CNY");
    assert_eq!(
        ranked(&by_amount),
        [(json!(1), json!(5_200), json!(rep1)), (json!(2), json!(600), json!(rep2))]
    );
    assert_eq!(by_amount["standings"][0]["summary"]["visits"], 2, "the other metrics come along");
    let (_, by_compliance) = get(&w.api, &w.org.manager_token, &board("compliance")).await?;
    assert_eq!(
        ranked(&by_compliance),
        [(json!(1), json!(10_000), json!(rep2)), (json!(2), json!(5_000), json!(rep1))]
    );
    let (_, by_visits) = get(&w.api, &w.org.manager_token, &board("visits")).await?;
    assert_eq!(ranked(&by_visits), [(json!(1), json!(2), json!(rep1)), (json!(2), json!(1), json!(rep2))]);
    let (status, _) = get(&w.api, &w.org.manager_token, &board("charm")).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_line_shares_and_the_funnel_match_the_orders_and_tasks() -> anyhow::Result<()> {
    let w = world().await?;
    let (status, share) =
        get(&w.api, &w.org.manager_token, &format!("/v1/reports/product-share?{}", w.period)).await?;
    assert_eq!(status, StatusCode::OK, "{share}");
    // Colas 10 + 2 at 350 = 4 200, chips 5 + 3 at 200 = 1 600, of 5 800: 72.41 % and 27.59 %.
    assert_eq!(
        share["lines"],
        json!([
            { "line": "饮料, drinks", "currency": "CNY", "amount_minor": 4_200, "share_bp": 7_241 },
            { "line": "snacks", "currency": "CNY", "amount_minor": 1_600, "share_bp": 2_759 },
        ])
    );
    let (content_type, csv) = w
        .api
        .get_csv(&w.org.manager_token, &format!("/v1/reports/product-share?{}&format=csv", w.period))
        .await?;
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert!(csv.contains("\"饮料, drinks\""), "the comma is quoted: {csv}");
    assert_eq!(
        parse_csv(&csv),
        [
            vec!["line", "currency", "amount_minor", "share_bp"],
            vec!["饮料, drinks", "CNY", "4200", "7241"],
            vec!["snacks", "CNY", "1600", "2759"],
        ]
    );

    // Three tasks due, two visited, one of those visits with an order.
    let (status, funnel) =
        get(&w.api, &w.org.manager_token, &format!("/v1/reports/funnel?{}", w.period)).await?;
    assert_eq!(status, StatusCode::OK, "{funnel}");
    assert_eq!(
        funnel["stages"],
        json!([
            { "stage": "tasks_due", "count": 3, "from_previous_bp": null, "from_first_bp": 10_000 },
            { "stage": "tasks_visited", "count": 2, "from_previous_bp": 6_667, "from_first_bp": 6_667 },
            { "stage": "tasks_with_order", "count": 1, "from_previous_bp": 5_000, "from_first_bp": 3_333 },
        ])
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_sees_only_themself_and_another_teams_manager_sees_nothing_of_this_team() -> anyhow::Result<()>
{
    let w = world().await?;
    let (rep1, rep2) = (w.org.reps[0].id, w.org.reps[1].id);
    let summary = format!("/v1/reports/summary?{}", w.period);
    let (status, own) = get(&w.api, &w.rep_tokens[0], &summary).await?;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["reps"].as_array().map(Vec::len), Some(1), "{own}");
    assert_eq!(own["reps"][0]["rep_id"], json!(rep1));
    assert_eq!((&own["totals"]["visits"], &own["totals"]["orders"]), (&json!(2), &json!(2)));
    let (status, _) = get(&w.api, &w.rep_tokens[0], &format!("{summary}&rep={rep2}")).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, share) =
        get(&w.api, &w.rep_tokens[1], &format!("/v1/reports/product-share?{}", w.period)).await?;
    assert_eq!(
        share["lines"],
        json!([{ "line": "snacks", "currency": "CNY", "amount_minor": 600, "share_bp": 10_000 }])
    );

    // The manager of another team of the org.
    w.server.user(&w.org.org, "manager2", Role::Manager, fieldkit_domain::ids::TeamId::new()).await?;
    let other = w.api.login("acme", "manager2", PASSWORD).await?;
    let (status, theirs) = get(&w.api, &other, &summary).await?;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert_eq!(theirs["reps"], json!([]));
    assert_eq!((&theirs["totals"]["visits"], &theirs["totals"]["orders"]), (&json!(0), &json!(0)));
    let (status, _) = get(&w.api, &other, &format!("{summary}&rep={rep1}")).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, funnel) = get(&w.api, &other, &format!("/v1/reports/funnel?{}", w.period)).await?;
    assert_eq!(funnel["stages"][0]["count"], 0);
    let (_, share) = get(&w.api, &other, &format!("/v1/reports/product-share?{}", w.period)).await?;
    assert_eq!(share["lines"], json!([]));

    let (status, bad) =
        get(&w.api, &w.org.manager_token, "/v1/reports/summary?from=2025-03-02&to=2025-03-01").await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    Ok(())
}
