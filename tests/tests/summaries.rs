//! Summaries generated automatically, on the real server: reps of two teams push facts of
//! two days (Monday and Tuesday of last week, China time), the generator runs with a pinned
//! clock, and the stored day and week snapshots must match the live `/v1/reports/summary`
//! and figures worked out by hand; a second run stores nothing new, a late fact rebuilds its
//! day, and a manager reads only their team's snapshots.

use std::sync::Arc;

use fieldkit_domain::geo::{CivilDate, LocalFrame, haversine_m};
use fieldkit_domain::ids::{CustomerId, FactId, ProductId, TeamId, UserId, VisitId};
use fieldkit_domain::model::{Order, Role, TrackBatch, TrackPoint, WgsPoint};
use fieldkit_domain::protocol::Fact;
use fieldkit_e2e::facts::{self, check_in, check_out};
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, log_to_stderr_if_asked};
use fieldkit_server::blobs::BlobStore;
use fieldkit_server::storage::SnapshotPeriod;
use fieldkit_server::summaries::{self, Period};
use fieldkit_server::{AppState, Limits};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;
/// The org's default offset (China, UTC+8), minutes.
const OFFSET_MIN: i64 = 480;
const SHOP: (f64, f64) = (31.2304, 121.4737);

fn shop() -> WgsPoint {
    WgsPoint::new(SHOP.0, SHOP.1).expect("the shop is on the globe")
}

fn north_of_shop(north_m: f64) -> WgsPoint {
    LocalFrame::new(shop()).to_point(0.0, north_m).expect("on the globe")
}

/// Unix milliseconds of `hour:minute` China time on local day `day`.
fn at(day: i64, hour: i64, minute: i64) -> i64 {
    day * DAY_MS + (hour * 60 + minute - OFFSET_MIN) * 60_000
}

fn iso(day: i64) -> String {
    let d = CivilDate::from_days(day);
    d.to_string()
}

/// The price of the one product on the list, CNY minor units.
const PRICE: i64 = 100;

/// An order of `total` CNY minor units of `product` (a multiple of [`PRICE`]).
fn order(
    (rep, product): (UserId, ProductId),
    customer: CustomerId,
    visit: Option<VisitId>,
    total: i64,
    at_ms: i64,
) -> Order {
    let quantity = u32::try_from(total / PRICE).expect("a small order");
    facts::order(rep, customer, visit, &[(product, quantity, PRICE)], at_ms)
}

async fn get(api: &Api, token: &str, path: &str) -> anyhow::Result<(StatusCode, Value)> {
    api.send("GET", path, Some(token), None).await
}

/// The snapshot of `team` (`None`: the whole org) starting on `day` in a listing.
fn snapshot(listing: &Value, day: i64, team: Option<TeamId>) -> &Value {
    listing["snapshots"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["from"] == iso(day) && s["team_id"] == json!(team)))
        .unwrap_or(&Value::Null)
}

/// Everything the snapshots are checked against.
struct World {
    server: TestServer,
    state: AppState,
    api: Api,
    org: TestOrg,
    admin: String,
    other_manager: String,
    rep_tokens: Vec<String>,
    customer: CustomerId,
    product: ProductId,
    team_a: TeamId,
    team_b: TeamId,
    /// Monday and Tuesday of last week, local days since 1970-01-01.
    monday: i64,
    tuesday: i64,
    track_m: i64,
    _blobs: tempfile::TempDir,
}

async fn world() -> anyhow::Result<World> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let team_a = org.manager.team_id.expect("the harness puts the manager in a team");
    let team_b = TeamId::new();
    server.user(&org.org, "manager2", Role::Manager, team_b).await?;
    let rep3 = server.user(&org.org, "rep3", Role::Rep, team_b).await?;
    server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    let admin = api.login("acme", "admin", PASSWORD).await?;
    let other_manager = api.login("acme", "manager2", PASSWORD).await?;
    let mut rep_tokens = Vec::new();
    for name in ["rep1", "rep2", "rep3"] {
        rep_tokens.push(api.login("acme", name, PASSWORD).await?);
    }
    let blobs = tempfile::tempdir()?;
    let state =
        AppState::new(server.storage.clone(), Arc::new(BlobStore::open(blobs.path())?), Limits::default())
            .map_err(anyhow::Error::msg)?;

    let (status, customer) = api
        .send(
            "POST",
            "/v1/customers",
            Some(&org.manager_token),
            Some(&json!({ "name": "Shop", "grade": "A", "geofence_radius_m": 150,
                "place": { "point": shop(), "address": "" } })),
        )
        .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {customer}");
    let customer: CustomerId = serde_json::from_value(customer["id"].clone())?;
    let (status, product) = api
        .send(
            "POST",
            "/v1/products",
            Some(&org.manager_token),
            Some(&json!({ "sku": "BOX", "name": "Box", "line": "boxes",
                "list_price": { "minor": PRICE, "currency": "CNY" } })),
        )
        .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {product}");
    let product: ProductId = serde_json::from_value(product["id"].clone())?;

    let today = (fieldkit_server::now_ms() + OFFSET_MIN * 60_000).div_euclid(DAY_MS);
    let this_monday = today - (today + 3).rem_euclid(7);
    let (monday, tuesday) = (this_monday - 7, this_monday - 6);
    let (rep1, rep2) = (org.reps[0].id, org.reps[1].id);

    // Monday, rep1 (team A): a track of three points 500 m apart from 09:00, a 30-minute
    // visit from 10:00 with an order of 4 500.
    let points: Vec<TrackPoint> = (0..3)
        .map(|i| TrackPoint {
            point: north_of_shop(f64::from(i) * 500.0),
            accuracy_m: 5.0,
            time_ms: at(monday, 9, 0) + i64::from(i) * 240_000,
        })
        .collect();
    let track_m = (haversine_m(points[0].point, points[1].point)
        + haversine_m(points[1].point, points[2].point))
    .round() as i64;
    let visit1 = check_in(rep1, customer, north_of_shop(20.0), at(monday, 10, 0));
    let out1 = check_out(&visit1, at(monday, 10, 30));
    let order1 = order((rep1, product), customer, Some(visit1.visit_id), 4_500, at(monday, 10, 10));
    api.push_facts(
        &rep_tokens[0],
        vec![
            Fact::Track(TrackBatch { id: FactId::new(), rep_id: rep1, points }),
            Fact::CheckIn(visit1),
            Fact::Order(order1),
            Fact::CheckOut(out1),
        ],
        &["stored"],
    )
    .await?;
    // Monday, rep3 (team B): a check-in without check-out and an order of 700.
    let visit3 = check_in(rep3.id, customer, north_of_shop(30.0), at(monday, 15, 0));
    let order3 = order((rep3.id, product), customer, None, 700, at(monday, 15, 5));
    api.push_facts(&rep_tokens[2], vec![Fact::CheckIn(visit3), Fact::Order(order3)], &["stored"]).await?;
    // Tuesday, rep2 (team A): a 45-minute visit from 14:00 with an order of 600.
    let visit2 = check_in(rep2, customer, shop(), at(tuesday, 14, 0));
    let out2 = check_out(&visit2, at(tuesday, 14, 45));
    let order2 = order((rep2, product), customer, Some(visit2.visit_id), 600, at(tuesday, 14, 20));
    api.push_facts(
        &rep_tokens[1],
        vec![Fact::CheckIn(visit2), Fact::Order(order2), Fact::CheckOut(out2)],
        &["stored"],
    )
    .await?;
    Ok(World {
        server,
        state,
        api,
        org,
        admin,
        other_manager,
        rep_tokens,
        customer,
        product,
        team_a,
        team_b,
        monday,
        tuesday,
        track_m,
        _blobs: blobs,
    })
}

/// Day periods among `built`, as local days.
fn built_days(built: &[Period]) -> Vec<i64> {
    built.iter().filter(|p| p.kind == SnapshotPeriod::Day).map(|p| p.from.to_days()).collect()
}

/// The live summary of `from..=to` as `token` reads it.
async fn live(w: &World, token: &str, from: i64, to: i64) -> anyhow::Result<Value> {
    let (status, report) =
        get(&w.api, token, &format!("/v1/reports/summary?from={}&to={}", iso(from), iso(to))).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {report}");
    Ok(report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_days_are_summarised_once_with_the_live_figures_and_late_facts_rebuild_them()
-> anyhow::Result<()> {
    let w = world().await?;
    let (monday, tuesday) = (w.monday, w.tuesday);
    // Wednesday 01:00: Monday and Tuesday are over, their week is not.
    let now = at(tuesday + 1, 1, 0);
    let runs = summaries::summarize(&w.state, now, Some("acme"), None).await?;
    assert_eq!(runs.len(), 1);
    assert_eq!(built_days(&runs[0].built), [monday, tuesday], "{:?}", runs[0].built);
    assert!(runs[0].built.iter().all(|p| p.kind != SnapshotPeriod::Week), "the week is still open");

    let days = format!("/v1/reports/summaries?period=day&from={}&to={}", iso(monday), iso(tuesday));
    let (status, listing) = get(&w.api, &w.admin, &days).await?;
    assert_eq!(status, StatusCode::OK, "{listing}");
    // Two days of the whole org, team A, team B and the admin's own team.
    assert_eq!(listing["snapshots"].as_array().map(Vec::len), Some(8), "{listing}");

    // By hand: Monday, rep1's visit (30 min, 4 500, the track) and rep3's (700, no
    // check-out); Tuesday, rep2's visit (45 min, 600).
    let org_monday = snapshot(&listing, monday, None);
    assert_eq!(org_monday["generated_ms"], now);
    assert!(org_monday["generated_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{org_monday}");
    let t = &org_monday["totals"];
    assert_eq!((&t["visits"], &t["orders"]), (&json!(2), &json!(2)), "{t}");
    assert_eq!(t["order_amounts"], json!([{ "currency": "CNY", "minor": 5_200 }]));
    assert_eq!((&t["time_on_site_ms"], &t["visits_without_check_out"]), (&json!(1_800_000), &json!(1)));
    assert_eq!(t["distance_m"], w.track_m);
    let team_a_monday = snapshot(&listing, monday, Some(w.team_a));
    assert_eq!(team_a_monday["totals"]["order_amounts"], json!([{ "currency": "CNY", "minor": 4_500 }]));
    assert_eq!(team_a_monday["reps"].as_array().map(Vec::len), Some(2), "rep1 and rep2");
    let team_b_monday = snapshot(&listing, monday, Some(w.team_b));
    assert_eq!(team_b_monday["totals"]["order_amounts"], json!([{ "currency": "CNY", "minor": 700 }]));
    let org_tuesday = snapshot(&listing, tuesday, None);
    assert_eq!(org_tuesday["totals"]["time_on_site_ms"], 2_700_000);
    assert_eq!(org_tuesday["totals"]["order_amounts"], json!([{ "currency": "CNY", "minor": 600 }]));

    // The very figures of the live report: the admin's for the org, the manager's for team A.
    for day in [monday, tuesday] {
        let org_live = live(&w, &w.admin, day, day).await?;
        let stored = snapshot(&listing, day, None);
        assert_eq!((&stored["reps"], &stored["totals"]), (&org_live["reps"], &org_live["totals"]));
        let team_live = live(&w, &w.org.manager_token, day, day).await?;
        let stored = snapshot(&listing, day, Some(w.team_a));
        assert_eq!((&stored["reps"], &stored["totals"]), (&team_live["reps"], &team_live["totals"]));
    }

    // Again, an hour later: nothing changed, nothing built, still one snapshot each.
    let again = summaries::summarize(&w.state, now + 3_600_000, Some("acme"), None).await?;
    assert!(again[0].built.is_empty(), "{:?}", again[0].built);
    let (_, unchanged) = get(&w.api, &w.admin, &days).await?;
    assert_eq!(unchanged, listing);

    // A phone offline since Monday delivers an order of 300 by rep2 on Monday at 17:00.
    let late = order((w.org.reps[1].id, w.product), w.customer, None, 300, at(monday, 17, 0));
    w.api.push_facts(&w.rep_tokens[1], vec![Fact::Order(late)], &["stored"]).await?;
    let later = now + 2 * 3_600_000;
    let rebuilt = summaries::summarize(&w.state, later, Some("acme"), None).await?;
    assert!(built_days(&rebuilt[0].built).contains(&monday), "{:?}", rebuilt[0].built);
    let (_, listing) = get(&w.api, &w.admin, &days).await?;
    assert_eq!(listing["snapshots"].as_array().map(Vec::len), Some(8), "replaced, not added: {listing}");
    let org_monday = snapshot(&listing, monday, None);
    assert_eq!(org_monday["generated_ms"], later);
    assert_eq!(org_monday["totals"]["orders"], 3);
    assert_eq!(org_monday["totals"]["order_amounts"], json!([{ "currency": "CNY", "minor": 5_500 }]));
    let team_a_monday = snapshot(&listing, monday, Some(w.team_a));
    assert_eq!(team_a_monday["totals"]["order_amounts"], json!([{ "currency": "CNY", "minor": 4_800 }]));
    let org_live = live(&w, &w.admin, monday, monday).await?;
    assert_eq!(org_monday["totals"], org_live["totals"]);
    assert_eq!(
        snapshot(&listing, tuesday, None)["totals"]["order_amounts"],
        json!([{ "currency": "CNY", "minor": 600 }])
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_week_is_summarised_and_each_caller_reads_only_their_scope() -> anyhow::Result<()> {
    let w = world().await?;
    let (monday, sunday) = (w.monday, w.monday + 6);
    // The next Monday 00:30: the whole week is over.
    let runs = summaries::summarize(&w.state, at(sunday + 1, 0, 30), None, None).await?;
    let acme = runs.iter().find(|r| r.org.slug == "acme").expect("the org ran");
    assert_eq!(
        built_days(&acme.built),
        (monday..=sunday).collect::<Vec<_>>(),
        "every day from the first fact"
    );
    assert!(acme.built.iter().any(|p| p.kind == SnapshotPeriod::Week && p.from.to_days() == monday));

    let week = format!("/v1/reports/summaries?period=week&from={}&to={}", iso(monday), iso(sunday));
    let (status, listing) = get(&w.api, &w.admin, &week).await?;
    assert_eq!(status, StatusCode::OK, "{listing}");
    let org_week = snapshot(&listing, monday, None);
    assert_eq!(org_week["to"], iso(sunday));
    assert_eq!((&org_week["totals"]["visits"], &org_week["totals"]["orders"]), (&json!(3), &json!(3)));
    assert_eq!(org_week["totals"]["order_amounts"], json!([{ "currency": "CNY", "minor": 5_800 }]));
    let org_live = live(&w, &w.admin, monday, sunday).await?;
    assert_eq!((&org_week["reps"], &org_week["totals"]), (&org_live["reps"], &org_live["totals"]));

    // Team A's manager: team A's snapshots only.
    let (status, mine) = get(&w.api, &w.org.manager_token, &week).await?;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let teams: Vec<&Value> =
        mine["snapshots"].as_array().into_iter().flatten().map(|s| &s["team_id"]).collect();
    assert_eq!(teams, [&json!(w.team_a)], "{mine}");
    assert_eq!(
        mine["snapshots"][0]["totals"]["order_amounts"],
        json!([{ "currency": "CNY", "minor": 5_100 }])
    );
    let (status, _) = get(&w.api, &w.org.manager_token, &format!("{week}&team={}", w.team_b)).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, theirs) = get(&w.api, &w.other_manager, &format!("{week}&team={}", w.team_b)).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(theirs["snapshots"][0]["totals"]["visits"], 1, "{theirs}");
    let (status, _) = get(&w.api, &w.rep_tokens[0], &week).await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "reps read the live reports, not team summaries");
    let (status, _) = get(&w.api, &w.admin, &week.replace("period=week", "period=year")).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // CSV: one row per rep and one total per snapshot, after the snapshot's columns.
    let answer = reqwest::Client::new()
        .get(format!("{}{week}&team={}&format=csv", w.server.url, w.team_a))
        .bearer_auth(&w.org.manager_token)
        .send()
        .await?;
    assert_eq!(answer.status(), StatusCode::OK);
    let text = answer.text().await?;
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4, "header, rep1, rep2, total: {text}");
    assert_eq!(rows[0][..6], ["period", "from", "to", "team_id", "generated_at", "rep_id"]);
    let amount = rows[0].iter().position(|h| *h == "amount_minor_CNY").expect("a CNY column");
    let total = rows.iter().find(|r| r[5] == "total").expect("a totals row");
    assert_eq!((total[0], total[amount]), ("week", "5100"));
    Ok(())
}
