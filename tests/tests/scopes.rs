//! Data scopes on the real server: an org tree of East (with Shanghai under it) and West, a
//! manager in each, reps in each, all made through the admin API. Every read endpoint a
//! manager can call must show East's manager East's reps and never West's, a
//! department-and-below manager Shanghai's too, and a moved department must move the reach
//! with it. The tree refuses cycles.

use fieldkit_domain::ids::{CustomerId, ProductId, UserId};
use fieldkit_domain::model::{Role, WgsPoint};
use fieldkit_domain::protocol::Fact;
use fieldkit_e2e::facts;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

fn shop() -> WgsPoint {
    WgsPoint::new(31.2304, 121.4737).expect("the shop is on the globe")
}

/// A visit of half an hour with an order of `quantity` colas at 3.50.
fn visit_with_order(
    rep: UserId,
    customer: CustomerId,
    cola: ProductId,
    quantity: u32,
    at_ms: i64,
) -> Vec<Fact> {
    let check_in = facts::check_in(rep, customer, shop(), at_ms);
    let order =
        facts::order(rep, customer, Some(check_in.visit_id), &[(cola, quantity, 350)], at_ms + 600_000);
    let check_out = facts::check_out(&check_in, at_ms + 1_800_000);
    vec![Fact::CheckIn(check_in), Fact::Order(order), Fact::CheckOut(check_out)]
}

async fn send(
    api: &Api,
    method: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Value)> {
    api.send(method, path, Some(token), body.as_ref()).await
}

struct Person {
    id: UserId,
    token: String,
}

/// The org: departments, people, a customer, a product, and per rep a visit with an order
/// and a task.
struct World {
    _server: TestServer,
    url: String,
    api: Api,
    admin: String,
    east: Value,
    shanghai: Value,
    west: Value,
    manager_east: Person,
    manager_below: Person,
    manager_west: Person,
    rep_east: Person,
    rep_shanghai: Person,
    rep_west: Person,
    /// One task per rep, in the order east, shanghai, west.
    tasks: Vec<String>,
    /// A customer owned by West's rep.
    west_shop: String,
    period: String,
}

async fn world() -> anyhow::Result<World> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let api = Api::new(&server.url);
    let org = fieldkit_server::provision::create_org(server.storage.as_ref(), "acme", "Acme").await?;
    server.user(&org, "admin", Role::Admin, fieldkit_domain::ids::TeamId::new()).await?;
    let admin = api.login("acme", "admin", PASSWORD).await?;

    let department = |name: &str, parent: Option<&Value>| json!({ "name": name, "parent_id": parent.map(|p| p["id"].clone()) });
    let east = api
        .expect("POST", &admin, "/v1/departments", Some(department("East", None)), StatusCode::CREATED)
        .await?;
    let shanghai = api
        .expect(
            "POST",
            &admin,
            "/v1/departments",
            Some(department("Shanghai", Some(&east))),
            StatusCode::CREATED,
        )
        .await?;
    let west = api
        .expect("POST", &admin, "/v1/departments", Some(department("West", None)), StatusCode::CREATED)
        .await?;

    let mut people = Vec::new();
    for (name, role, team, scope) in [
        ("m-east", "manager", &east, None),
        ("m-below", "manager", &east, Some("department_and_below")),
        ("m-west", "manager", &west, None),
        ("r-east", "rep", &east, None),
        ("r-shanghai", "rep", &shanghai, None),
        ("r-west", "rep", &west, None),
    ] {
        let body = json!({ "username": name, "display_name": name, "role": role,
            "team_id": team["id"], "data_scope": scope, "password": PASSWORD });
        let user = api.expect("POST", &admin, "/v1/users", Some(body), StatusCode::CREATED).await?;
        let id: UserId = serde_json::from_value(user["id"].clone())?;
        people.push(Person { id, token: api.login("acme", name, PASSWORD).await? });
    }
    let mut people = people.into_iter();
    let mut next = || people.next().expect("six people were made");
    let (manager_east, manager_below, manager_west) = (next(), next(), next());
    let (rep_east, rep_shanghai, rep_west) = (next(), next(), next());

    let cola = api
        .expect(
            "POST",
            &admin,
            "/v1/products",
            Some(json!({ "sku": "COLA", "name": "Cola", "line": "drinks",
            "list_price": { "minor": 350, "currency": "CNY" } })),
            StatusCode::CREATED,
        )
        .await?;
    let cola: ProductId = serde_json::from_value(cola["id"].clone())?;
    let customer = api
        .expect(
            "POST",
            &admin,
            "/v1/customers",
            Some(json!({ "name": "Shop", "grade": "A", "geofence_radius_m": 150,
            "place": { "point": shop(), "address": "" } })),
            StatusCode::CREATED,
        )
        .await?;
    let customer: CustomerId = serde_json::from_value(customer["id"].clone())?;
    let west_shop = api
        .expect(
            "POST",
            &admin,
            "/v1/customers",
            Some(json!({ "name": "West Shop", "grade": "B", "owner_id": rep_west.id,
            "place": { "point": shop(), "address": "" } })),
            StatusCode::CREATED,
        )
        .await?;
    let west_shop = west_shop["id"].as_str().unwrap_or_default().to_owned();

    let now = fieldkit_server::now_ms();
    let mut tasks = Vec::new();
    for (i, rep) in [&rep_east, &rep_shanghai, &rep_west].into_iter().enumerate() {
        let quantity = 10 * (u32::try_from(i).expect("small") + 1);
        api.push_facts(
            &rep.token,
            visit_with_order(rep.id, customer, cola, quantity, now - 3 * HOUR_MS),
            &["stored"],
        )
        .await?;
        let task = api
            .expect(
                "POST",
                &admin,
                "/v1/tasks",
                Some(json!({ "kind": "customer_visit", "title": "Visit", "customer_id": customer,
                "assignee_id": rep.id, "deadline_ms": now + DAY_MS })),
                StatusCode::CREATED,
            )
            .await?;
        tasks.push(task["id"].as_str().unwrap_or_default().to_owned());
    }
    let date = |ms: i64| {
        let d = fieldkit_domain::geo::CivilDate::from_days((ms + 8 * HOUR_MS).div_euclid(DAY_MS));
        d.to_string()
    };
    let period = format!("from={}&to={}", date(now - DAY_MS), date(now + DAY_MS));
    Ok(World {
        url: server.url.clone(),
        _server: server,
        api,
        admin,
        east,
        shanghai,
        west,
        manager_east,
        manager_below,
        manager_west,
        rep_east,
        rep_shanghai,
        rep_west,
        tasks,
        west_shop,
        period,
    })
}

/// Every read a manager can make, with the queries it needs. Paths that name one rep or one
/// task are made for `rep` / `task` (someone the reader may or may not reach).
fn reads(p: &str, rep: &str, task: &str) -> Vec<String> {
    let today = p.split('&').next().and_then(|f| f.strip_prefix("from=")).unwrap_or_default();
    vec![
        "/v1/users".to_owned(),
        "/v1/customers".to_owned(),
        "/v1/blobs/missing".to_owned(),
        "/v1/live".to_owned(),
        format!("/v1/reports/correlation?{p}"),
        format!("/v1/reports/per-capita?{p}"),
        "/v1/reports/forecast".to_owned(),
        format!("/v1/reports/summaries?period=day&{p}"),
        "/v1/facts".to_owned(),
        "/v1/photos".to_owned(),
        "/v1/proposals".to_owned(),
        "/v1/approvals".to_owned(),
        format!("/v1/approvals/{task}"),
        format!("/v1/reports/summary?{p}"),
        format!("/v1/reports/summary?{p}&format=csv"),
        format!("/v1/reports/leaderboard?{p}"),
        format!("/v1/reports/product-share?{p}"),
        format!("/v1/reports/funnel?{p}"),
        format!("/v1/reports/coverage?{p}"),
        format!("/v1/reports/day?rep={rep}&date={today}"),
        format!("/v1/tasks/{task}"),
        format!("/v1/tasks/{task}/candidates"),
    ]
}

/// The text of every answer `reader` gets from every read, by path.
async fn read_everything(
    w: &World,
    reader: &Person,
    rep: UserId,
    task: &str,
) -> anyhow::Result<Vec<(String, StatusCode, String)>> {
    let mut answers = Vec::new();
    let http = reqwest::Client::new();
    for path in reads(&w.period, &rep.to_string(), task) {
        let answer = http.get(format!("{}{path}", w.url)).bearer_auth(&reader.token).send().await?;
        let status = answer.status();
        let body = answer.text().await?;
        anyhow::ensure!(status != StatusCode::INTERNAL_SERVER_ERROR, "{path}: {body}");
        answers.push((path, status, body));
    }
    // What their phone would pull through the change feed.
    let request = json!({ "protocol": fieldkit_domain::protocol::PROTOCOL_VERSION,
        "device_id": fieldkit_domain::ids::DeviceId::new(), "cursor": 0, "pull_limit": 1000,
        "sent_at_ms": fieldkit_server::now_ms(), "push": [], "docs": [] });
    let (status, body) = send(&w.api, "POST", &reader.token, "/v1/sync", Some(request)).await?;
    answers.push(("/v1/sync".to_owned(), status, body.to_string()));
    Ok(answers)
}

/// The reads that answered with data naming `id` (a refusal may echo the id asked about).
fn mentions(answers: &[(String, StatusCode, String)], id: &str) -> Vec<String> {
    answers
        .iter()
        .filter(|(_, status, body)| status.is_success() && body.contains(id))
        .map(|(path, _, _)| path.clone())
        .collect()
}

#[tokio::test]
async fn a_department_manager_never_sees_another_departments_reps_on_any_endpoint() -> anyhow::Result<()> {
    let w = world().await?;
    let west = w.rep_west.id.to_string();
    let (east, shanghai) = (w.rep_east.id.to_string(), w.rep_shanghai.id.to_string());

    // Asked about a West rep and a West task by name, East's manager learns nothing.
    let answers = read_everything(&w, &w.manager_east, w.rep_west.id, &w.tasks[2]).await?;
    assert_eq!(mentions(&answers, &west), Vec::<String>::new(), "West's rep leaked");
    assert_eq!(
        mentions(&answers, &shanghai),
        Vec::<String>::new(),
        "Shanghai's rep leaked to a department-only manager"
    );
    assert_eq!(mentions(&answers, &w.tasks[2]), Vec::<String>::new(), "West's task leaked");
    assert_eq!(mentions(&answers, &w.west_shop), Vec::<String>::new(), "West's customer leaked");
    for (path, status, _) in &answers {
        if path.contains("/day?") || path.contains("/tasks/") {
            assert!(
                matches!(*status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                "{path} answered {status} about someone out of scope"
            );
        }
    }
    // The same reads about their own rep do show them (so the check above can fail).
    let answers = read_everything(&w, &w.manager_east, w.rep_east.id, &w.tasks[0]).await?;
    for path in [
        "/v1/users",
        "/v1/facts",
        "/v1/reports/summary",
        "/v1/reports/leaderboard",
        "/v1/reports/day",
        "/v1/tasks/",
    ] {
        assert!(
            mentions(&answers, &east).iter().any(|p| p.starts_with(path)),
            "{path} does not show East's own rep"
        );
    }
    assert_eq!(mentions(&answers, &west), Vec::<String>::new());
    // Tasks travel as documents: the feed names them by id.
    assert!(
        mentions(&answers, &w.tasks[0]).contains(&"/v1/sync".to_owned()),
        "East's task is not in the feed"
    );

    // West's manager sees West only.
    let answers = read_everything(&w, &w.manager_west, w.rep_west.id, &w.tasks[2]).await?;
    assert!(!mentions(&answers, &west).is_empty());
    let shop_seen = mentions(&answers, &w.west_shop);
    assert!(
        shop_seen.contains(&"/v1/customers".to_owned()) && shop_seen.contains(&"/v1/sync".to_owned()),
        "{shop_seen:?}"
    );
    assert_eq!(mentions(&answers, &east), Vec::<String>::new());
    assert_eq!(mentions(&answers, &shanghai), Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn department_and_below_reaches_nested_departments_and_follows_a_move() -> anyhow::Result<()> {
    let w = world().await?;
    let (west, shanghai) = (w.rep_west.id.to_string(), w.rep_shanghai.id.to_string());
    let answers = read_everything(&w, &w.manager_below, w.rep_shanghai.id, &w.tasks[1]).await?;
    assert!(
        mentions(&answers, &w.tasks[1]).contains(&"/v1/sync".to_owned()),
        "Shanghai's task is not in the feed"
    );
    for path in ["/v1/users", "/v1/facts", "/v1/reports/summary", "/v1/reports/day", "/v1/tasks/"] {
        assert!(
            mentions(&answers, &shanghai).iter().any(|p| p.starts_with(path)),
            "{path} hides Shanghai: {answers:?}"
        );
    }
    assert_eq!(mentions(&answers, &west), Vec::<String>::new());

    // Shanghai moves under West: the East manager's reach no longer includes it, West's
    // department-only manager still does not reach it (it is below, not in, West).
    let moved = w
        .api
        .expect(
            "PATCH",
            &w.admin,
            &format!("/v1/departments/{}", w.shanghai["id"].as_str().unwrap_or_default()),
            Some(json!({ "parent_id": w.west["id"] })),
            StatusCode::OK,
        )
        .await?;
    assert_eq!(moved["parent_id"], w.west["id"]);
    let answers = read_everything(&w, &w.manager_below, w.rep_shanghai.id, &w.tasks[1]).await?;
    assert_eq!(mentions(&answers, &shanghai), Vec::<String>::new(), "a moved department stayed in reach");
    assert_eq!(
        mentions(&answers, &w.tasks[1]),
        Vec::<String>::new(),
        "a moved department's task stayed in reach"
    );
    let answers = read_everything(&w, &w.manager_west, w.rep_shanghai.id, &w.tasks[1]).await?;
    assert_eq!(mentions(&answers, &shanghai), Vec::<String>::new());

    // The users list shows each user's place in the tree.
    let users = w.api.expect("GET", &w.admin, "/v1/users", None, StatusCode::OK).await?;
    let row = users.as_array().and_then(|u| u.iter().find(|u| u["id"] == json!(w.rep_shanghai.id))).cloned();
    let row = row.unwrap_or(Value::Null);
    assert_eq!(row["department_path"], json!([w.west["id"], w.shanghai["id"]]));
    assert_eq!(row["data_scope"], "self");
    Ok(())
}

#[tokio::test]
async fn the_org_tree_refuses_cycles_unknown_parents_and_non_admins() -> anyhow::Result<()> {
    let w = world().await?;
    let east = w.east["id"].as_str().unwrap_or_default();
    let (status, answer) = send(
        &w.api,
        "PATCH",
        &w.admin,
        &format!("/v1/departments/{east}"),
        Some(json!({ "parent_id": w.shanghai["id"] })),
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("inside it"), "{answer}");
    let unknown = fieldkit_domain::ids::TeamId::new();
    let (status, _) =
        send(&w.api, "POST", &w.admin, "/v1/departments", Some(json!({ "name": "X", "parent_id": unknown })))
            .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) =
        send(&w.api, "POST", &w.admin, "/v1/departments", Some(json!({ "name": "East" }))).await?;
    assert_eq!(status, StatusCode::CONFLICT, "two top-level departments named East");
    let (status, _) =
        send(&w.api, "POST", &w.manager_east.token, "/v1/departments", Some(json!({ "name": "Mine" })))
            .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(
        &w.api,
        "PATCH",
        &w.manager_east.token,
        &format!("/v1/users/{}", w.rep_west.id),
        Some(json!({ "team_id": w.east["id"] })),
    )
    .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nothing changed: the tree is as built.
    let tree = w.api.expect("GET", &w.admin, "/v1/departments", None, StatusCode::OK).await?;
    assert_eq!(tree.as_array().map(Vec::len), Some(3));
    assert!(tree.as_array().into_iter().flatten().all(|d| d["name"] != "X" && d["name"] != "Mine"));

    // An admin moves West's rep to East; East's manager now reaches them and the scope
    // can be reset to the role's default with null.
    let moved = w
        .api
        .expect(
            "PATCH",
            &w.admin,
            &format!("/v1/users/{}", w.rep_west.id),
            Some(json!({ "team_id": w.east["id"], "data_scope": "department" })),
            StatusCode::OK,
        )
        .await?;
    assert_eq!(moved["data_scope"], "department");
    let users = w.api.expect("GET", &w.manager_east.token, "/v1/users", None, StatusCode::OK).await?;
    assert!(users.to_string().contains(&w.rep_west.id.to_string()));
    let reset = w
        .api
        .expect(
            "PATCH",
            &w.admin,
            &format!("/v1/users/{}", w.rep_west.id),
            Some(json!({ "data_scope": null })),
            StatusCode::OK,
        )
        .await?;
    assert_eq!(reset["data_scope"], "self");
    assert_eq!(reset["data_scope_set"], false);
    Ok(())
}

/// The group of `report` whose department is `department` (a JSON id).
fn group<'a>(report: &'a Value, department: &Value) -> &'a Value {
    report["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["group_id"] == *department))
        .unwrap_or(&Value::Null)
}

fn amount(row: &Value) -> i64 {
    row["figures"]["order_amounts"][0]["minor"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn a_summary_by_team_or_region_adds_up_each_departments_reps_within_scope() -> anyhow::Result<()> {
    let w = world().await?;
    // Visits with 10, 20 and 30 colas at 3.50 by East's, Shanghai's and West's reps.
    let by = |by: &str| format!("/v1/reports/summary?{}&by={by}", w.period);
    let regions = w.api.expect("GET", &w.admin, &by("region"), None, StatusCode::OK).await?;
    assert_eq!(regions["groups"].as_array().map(Vec::len), Some(2), "{regions}");
    let east = group(&regions, &w.east["id"]);
    assert_eq!((east["group_name"].as_str(), east["rep_count"].as_u64()), (Some("East"), Some(2)));
    assert_eq!((east["figures"]["visits"].as_u64(), amount(east)), (Some(2), 10_500));
    let west = group(&regions, &w.west["id"]);
    assert_eq!((west["figures"]["visits"].as_u64(), amount(west)), (Some(1), 10_500));
    assert_eq!(regions["totals"]["order_amounts"][0]["minor"], 21_000);

    let teams = w.api.expect("GET", &w.admin, &by("team"), None, StatusCode::OK).await?;
    let amounts: Vec<(Option<&str>, i64)> = teams["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| (g["group_name"].as_str(), amount(g)))
        .collect();
    assert_eq!(amounts, vec![(Some("East"), 3_500), (Some("Shanghai"), 7_000), (Some("West"), 10_500)]);

    // A department-and-below manager's regions hold only East, with Shanghai inside it.
    let mine = w.api.expect("GET", &w.manager_below.token, &by("region"), None, StatusCode::OK).await?;
    assert_eq!(mine["groups"].as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(amount(group(&mine, &w.east["id"])), 10_500);

    // CSV: one row per group and the total.
    let http = reqwest::Client::new();
    let csv = http
        .get(format!("{}{}&format=csv", w.url, by("team")))
        .bearer_auth(&w.admin)
        .send()
        .await?
        .text()
        .await?;
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("group_id,group_name,rep_count,visits,"), "{csv}");
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[4].starts_with("total,,3,3,"), "{csv}");
    let (status, _) = send(&w.api, "GET", &w.admin, &by("city"), None).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

/// GET endpoints that hold no one's field data: public, static, the org's reference data
/// (the same for every member), content-addressed blobs (the SHA-256 is the key, and hashes
/// are listed only within scope), the check of a photo the asker already holds, and the
/// operator's metrics (counts without ids, behind a token no org's user holds).
const NOT_PER_USER: [&str; 20] = [
    "/metrics",
    "/v1/photos/verify",
    "/healthz",
    "/v1/openapi.json",
    "/v1/server-key",
    "/dashboard",
    "/dashboard/",
    "/dashboard/{path}",
    "/v1/org/settings",
    "/v1/departments",
    "/v1/products",
    "/v1/form-templates",
    "/v1/sop-templates",
    "/v1/approval-flows",
    "/v1/task-flows",
    "/v1/kb",
    "/v1/blobs/{sha256}",
    "/v1/blobs/{sha256}/content",
    // Admin only; ids of admin actions, none of a rep's field data.
    "/v1/audit",
    // The org's sequence number only.
    "/v1/feed/wait",
];

/// Whether `path` (with ids and a query) is an instance of the document's `template`.
fn instance_of(path: &str, template: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (a, b): (Vec<&str>, Vec<&str>) = (path.split('/').collect(), template.split('/').collect());
    a.len() == b.len() && a.iter().zip(&b).all(|(p, t)| t.starts_with('{') || p == t)
}

#[test]
fn every_documented_read_is_either_checked_for_scope_above_or_holds_no_ones_field_data() {
    let document: Value =
        serde_json::from_str(include_str!("../../sync-server/openapi.json")).expect("the document is JSON");
    let reads = reads("from=2025-03-01&to=2025-03-31", "rep", "task");
    let mut unchecked = Vec::new();
    for (template, operations) in document["paths"].as_object().into_iter().flatten() {
        if operations.get("get").is_none() || NOT_PER_USER.contains(&template.as_str()) {
            continue;
        }
        if !reads.iter().any(|r| instance_of(r, template)) {
            unchecked.push(template.clone());
        }
    }
    assert_eq!(unchecked, Vec::<String>::new(), "reads no scope test covers");
}
