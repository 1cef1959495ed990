//! Supervisor planning over HTTP: `POST /v1/plans/team` splits a week's customers among a
//! team's reps and days, routes each day, explains the split and, when asked, publishes the
//! visits as tasks that reach the reps' phones — real server on loopback, real SQLite,
//! customers created through the API as a manager creates them.

use std::collections::{HashMap, HashSet};

use fieldkit_domain::geo::{CivilDate, UtcOffset};
use fieldkit_domain::ids::{CustomerId, TeamId, UserId};
use fieldkit_domain::model::{Role, TaskKind};
use fieldkit_domain::protocol::ErrorCode;
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// West and east ends of Shanghai, about 19 km apart.
const WEST: (f64, f64) = (31.20, 121.40);
const EAST: (f64, f64) = (31.20, 121.60);
const MONDAY: &str = "2026-11-30";
const TUESDAY: &str = "2026-12-01";

/// Creates a customer at `at` (no owner unless given) as the org's manager.
async fn customer(
    api: &Api,
    org: &TestOrg,
    name: &str,
    at: (f64, f64),
    owner: Option<UserId>,
) -> anyhow::Result<CustomerId> {
    let body = json!({
        "name": name, "grade": "B", "owner_id": owner,
        "place": { "point": { "lat": at.0, "lng": at.1 }, "address": "" }
    });
    let (status, created) = api.send("POST", "/v1/customers", Some(&org.manager_token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {created}");
    Ok(serde_json::from_value(created["id"].clone())?)
}

/// `n` customers on rings of 1–2 km around `at`, named `{prefix} 1`, `{prefix} 2`, …
async fn cluster(
    api: &Api,
    org: &TestOrg,
    prefix: &str,
    at: (f64, f64),
    n: usize,
) -> anyhow::Result<Vec<CustomerId>> {
    let mut ids = Vec::new();
    for i in 0..n {
        let angle = i as f64 / n as f64 * std::f64::consts::TAU;
        let r = 0.01 + 0.005 * (i % 3) as f64;
        let at = (at.0 + r * angle.sin(), at.1 + r * angle.cos());
        ids.push(customer(api, org, &format!("{prefix} {}", i + 1), at, None).await?);
    }
    Ok(ids)
}

/// A rep's entry in the request: starts and ends at `at`, works 09:00–18:00.
fn rep(id: UserId, at: (f64, f64)) -> Value {
    json!({ "rep_id": id, "start": { "lat": at.0, "lng": at.1 }, "end": null,
            "day_start_min": 540, "day_end_min": 1080 })
}

async fn plan(api: &Api, token: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
    api.send("POST", "/v1/plans/team", Some(token), Some(body)).await
}

fn error_code(body: &Value) -> ErrorCode {
    serde_json::from_value(body["error"]["code"].clone()).expect("an error body with a known code")
}

fn ids(values: &Value) -> Vec<String> {
    values.as_array().into_iter().flatten().map(|v| v.as_str().unwrap_or_default().to_owned()).collect()
}

/// The customers of every stop of `rep`'s routes.
fn visited_by(answer: &Value, rep: UserId) -> HashSet<String> {
    answer["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["rep_id"] == json!(rep))
        .flat_map(|r| r["stops"].as_array().into_iter().flatten())
        .map(|s| s["customer_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The org's UTC offset as the server holds it.
async fn offset(api: &Api, org: &TestOrg) -> anyhow::Result<UtcOffset> {
    let (status, settings) = api.send("GET", "/v1/org/settings", Some(&org.manager_token), None).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {settings}");
    Ok(serde_json::from_value(settings["working_hours"]["offset"].clone())?)
}

fn date(text: &str) -> CivilDate {
    let parts: Vec<u32> = text.split('-').map(|p| p.parse().expect("digits")).collect();
    CivilDate::new(parts[0] as i32, parts[1] as u8, parts[2] as u8).expect("a real date")
}

/// Checks every route keeps to its local date and the 09:00–18:00 day, and that each rep's
/// totals are the sums of their routes.
fn assert_days_fit_and_totals_add_up(answer: &Value, offset: UtcOffset) {
    let routes = answer["routes"].as_array().expect("routes");
    for route in routes {
        let day = date(route["date"].as_str().expect("a date"));
        let stops = route["stops"].as_array().expect("stops");
        assert!(!stops.is_empty(), "only days with stops are listed: {route}");
        let mut previous_departure = i64::MIN;
        for stop in stops {
            let (arrive, depart) =
                (stop["arrive_ms"].as_i64().expect("ms"), stop["depart_ms"].as_i64().expect("ms"));
            let (arrive_day, arrive_min) = offset.local(arrive);
            let (depart_day, depart_min) = offset.local(depart);
            assert_eq!((arrive_day, depart_day), (day, day), "{stop}");
            assert!(arrive_min >= 540 && depart_min <= 1080, "{stop}");
            assert!(arrive >= previous_departure && depart - arrive == 30 * 60_000, "{stop}");
            previous_departure = depart;
        }
        assert!(route["work_min"].as_u64().expect("minutes") <= 540, "{route}");
    }
    for rep in answer["per_rep"].as_array().expect("per_rep") {
        let theirs: Vec<&Value> = routes.iter().filter(|r| r["rep_id"] == rep["rep_id"]).collect();
        let sum = |field: &str| theirs.iter().map(|r| r[field].as_u64().expect("a count")).sum::<u64>();
        let stops: usize = theirs.iter().map(|r| r["stops"].as_array().map_or(0, Vec::len)).sum();
        assert_eq!(rep["stops"], json!(stops), "{rep}");
        assert_eq!(rep["distance_m"], json!(sum("distance_m")), "{rep}");
        assert_eq!(rep["work_min"], json!(sum("work_min")), "{rep}");
        assert_eq!(rep["days_used"], json!(theirs.len()), "{rep}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reps_at_opposite_ends_of_the_city_each_get_the_cluster_near_them() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let west = cluster(&api, &org, "West shop", WEST, 10).await?;
    let east = cluster(&api, &org, "East shop", EAST, 10).await?;
    let (rep1, rep2) = (org.reps[0].id, org.reps[1].id);
    let body = json!({
        "reps": [rep(rep1, WEST), rep(rep2, EAST)],
        "customers": west.iter().chain(&east).collect::<Vec<_>>(),
        "dates": [MONDAY, TUESDAY], "service_min": 30, "mode": "drive", "publish": false
    });

    let (status, answer) = plan(&api, &org.manager_token, &body).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let as_text = |ids: &[CustomerId]| ids.iter().map(ToString::to_string).collect::<HashSet<_>>();
    assert_eq!(visited_by(&answer, rep1), as_text(&west));
    assert_eq!(visited_by(&answer, rep2), as_text(&east));
    let mut times_visited: HashMap<String, usize> = HashMap::new();
    for stop in answer["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["stops"].as_array().into_iter().flatten())
    {
        *times_visited.entry(stop["customer_id"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
        assert_eq!(stop["why"], "nearest", "{stop}");
        assert!(stop["name"].as_str().is_some_and(|n| n.contains("shop")), "{stop}");
    }
    assert_eq!(times_visited.len(), 20);
    assert!(times_visited.values().all(|&n| n == 1), "every customer exactly once");
    assert_eq!(answer["unassigned"], json!([]));
    assert_eq!(answer["routes"].as_array().map(Vec::len), Some(4), "two days each");
    assert_days_fit_and_totals_add_up(&answer, offset(&api, &org).await?);
    let explanation = answer["explanation"].as_str().expect("an explanation");
    assert!(explanation.contains("rep1 gets 10 stops on 2 days"), "{explanation}");
    assert!(explanation.contains("rep2 gets 10 stops on 2 days"), "{explanation}");
    assert!(explanation.contains("nearer their start than any other rep's"), "{explanation}");
    assert_eq!(answer["published_task_ids"], json!([]));

    // The same request gives the same plan.
    let (_, again) = plan(&api, &org.manager_token, &body).await?;
    assert_eq!(again, answer);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_beyond_what_the_days_hold_are_reported_as_unassigned_with_a_reason() -> anyhow::Result<()>
{
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let shops = cluster(&api, &org, "Shop", WEST, 8).await?;
    // Two hours, 30 minutes a visit: at most three fit.
    let body = json!({
        "reps": [{ "rep_id": org.reps[0].id, "start": { "lat": WEST.0, "lng": WEST.1 },
                   "day_start_min": 540, "day_end_min": 660 }],
        "customers": shops, "dates": [MONDAY]
    });

    let (status, answer) = plan(&api, &org.manager_token, &body).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let routed = visited_by(&answer, org.reps[0].id);
    let unassigned = answer["unassigned"].as_array().expect("unassigned");
    assert!(!routed.is_empty() && routed.len() <= 3, "{answer}");
    assert_eq!(routed.len() + unassigned.len(), 8, "nobody dropped silently: {answer}");
    for u in unassigned {
        let id = u["customer_id"].as_str().expect("an id");
        assert!(!routed.contains(id), "{u}");
        assert_eq!(u["code"], "no_room", "{u}");
        assert!(u["reason"].as_str().is_some_and(|r| r.starts_with("no room")), "{u}");
        assert!(u["name"].as_str().is_some_and(|n| n.starts_with("Shop")), "{u}");
    }
    let explanation = answer["explanation"].as_str().expect("an explanation");
    assert!(
        explanation.contains(&format!("{} of 8 customers fit in no rep's day", unassigned.len())),
        "{explanation}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_plan_reaches_each_reps_phone_as_tasks_in_route_order() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let west = cluster(&api, &org, "West shop", WEST, 3).await?;
    let east = cluster(&api, &org, "East shop", EAST, 2).await?;
    let (rep1, rep2) = (org.reps[0].id, org.reps[1].id);
    let body = json!({
        "reps": [rep(rep1, WEST), rep(rep2, EAST)],
        "customers": west.iter().chain(&east).collect::<Vec<_>>(),
        "dates": [MONDAY], "publish": true
    });

    let (status, answer) = plan(&api, &org.manager_token, &body).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let published = ids(&answer["published_task_ids"]);
    assert_eq!(published.len(), 5, "{answer}");

    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let tasks = phone.kit.my_tasks()?;
    assert_eq!(tasks.len(), 3, "only rep1's visits: {tasks:?}");
    let route = answer["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["rep_id"] == json!(rep1))
        .expect("a route");
    let day_end = date(MONDAY).to_days() * 86_400_000
        - i64::from(offset(&api, &org).await?.minutes()) * 60_000
        + 1080 * 60_000;
    for (k, stop) in route["stops"].as_array().expect("stops").iter().enumerate() {
        let customer: CustomerId = serde_json::from_value(stop["customer_id"].clone())?;
        let task = tasks.iter().find(|t| t.customer_id == Some(customer)).expect("a task per stop");
        assert!(published.contains(&task.id.to_string()));
        assert_eq!(task.kind, TaskKind::CustomerVisit);
        assert_eq!(task.assignee_id, Some(rep1));
        assert_eq!(task.title, format!("Visit {}", stop["name"].as_str().expect("a name")));
        assert!(task.notes.contains(&format!("planned stop {} of 3", k + 1)), "{}", task.notes);
        assert_eq!(task.deadline_ms, Some(day_end));
        let place = task.place.as_ref().expect("the customer's place");
        assert!(west.contains(&customer) && (place.point.lat() - WEST.0).abs() < 0.03);
    }
    // The manager's dashboard sees them too.
    let (status, task) =
        api.send("GET", &format!("/v1/tasks/{}", published[0]), Some(&org.manager_token), None).await?;
    assert_eq!(status, StatusCode::OK, "{task}");
    let rep2_phone = server.phone("acme", "rep2").await?;
    rep2_phone.kit.sync_now().await?;
    assert_eq!(rep2_phone.kit.my_tasks()?.len(), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_may_not_plan_for_the_team() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let body = json!({ "reps": [rep(org.reps[0].id, WEST)], "customers": [], "dates": [MONDAY] });

    let (status, answer) = plan(&api, &token, &body).await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(error_code(&answer), ErrorCode::Forbidden);
    assert_eq!(answer["error"]["message"], "role rep may not plan routes for a team");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_may_not_plan_for_a_rep_of_another_team_but_an_admin_may() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let outsider = server.user(&org.org, "outsider", Role::Rep, TeamId::new()).await?;
    let body = json!({ "reps": [rep(org.reps[0].id, WEST), rep(outsider.id, EAST)], "dates": [MONDAY] });

    let (status, answer) = plan(&api, &org.manager_token, &body).await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"]["message"], format!("user {} is outside your data scope", outsider.id));

    server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    let admin = api.login("acme", "admin", PASSWORD).await?;
    let (status, answer) = plan(&api, &admin, &body).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["per_rep"].as_array().map(Vec::len), Some(2));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_customers_and_reps_are_refused_naming_them() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let known = customer(&api, &org, "Known", WEST, None).await?;
    let ghost = CustomerId::new();
    let body = json!({ "reps": [rep(org.reps[0].id, WEST)], "customers": [known, ghost], "dates": [MONDAY] });

    let (status, answer) = plan(&api, &org.manager_token, &body).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(error_code(&answer), ErrorCode::MalformedBody);
    assert_eq!(answer["error"]["message"], format!("customer {ghost} not found"));

    let stranger = UserId::new();
    let body = json!({ "reps": [rep(stranger, WEST)], "customers": [known], "dates": [MONDAY] });
    let (status, answer) = plan(&api, &org.manager_token, &body).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["error"]["message"], format!("user {stranger} not found"));

    let body = json!({ "reps": [rep(org.reps[0].id, WEST)], "customers": [known], "dates": ["2026-02-30"] });
    let (status, answer) = plan(&api, &org.manager_token, &body).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("\"2026-02-30\"")), "{answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_customer_list_gives_empty_routes_and_no_error() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let body = json!({
        "reps": [rep(org.reps[0].id, WEST), rep(org.reps[1].id, EAST)],
        "customers": [], "dates": [MONDAY, TUESDAY], "publish": true
    });

    let (status, answer) = plan(&api, &org.manager_token, &body).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["routes"], json!([]));
    assert_eq!(answer["unassigned"], json!([]));
    assert_eq!(answer["published_task_ids"], json!([]));
    for rep in answer["per_rep"].as_array().expect("per_rep") {
        assert_eq!((&rep["stops"], &rep["distance_m"], &rep["days_used"]), (&json!(0), &json!(0), &json!(0)));
    }
    Ok(())
}
