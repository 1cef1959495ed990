//! Tenant isolation on every route that names an object: another org's admin, manager and
//! rep, sending the ids of this org's task, customer, product, article, department, user,
//! device, fact and approval to every documented method of every such route, get nothing
//! and change nothing. The routes come from the OpenAPI document, so a new route with an id
//! fails this test until it is covered here.

use std::collections::BTreeMap;

use fieldkit_domain::ids::{CustomerId, DeviceId, TeamId, UserId};
use fieldkit_domain::model::{Org, Role, WgsPoint};
use fieldkit_e2e::facts::check_in;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer};
use fieldkit_server::provision;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// One org's people, signed in.
struct Tenant {
    org: Org,
    admin: String,
    manager: String,
    rep: String,
    rep_id: UserId,
    rep_device: String,
}

async fn tenant(server: &TestServer, api: &Api, slug: &str) -> anyhow::Result<Tenant> {
    let org = provision::create_org(server.storage.as_ref(), slug, slug).await?;
    let team = TeamId::new();
    server.user(&org, "admin", Role::Admin, team).await?;
    server.user(&org, "manager", Role::Manager, team).await?;
    let rep = server.user(&org, "rep", Role::Rep, team).await?;
    // Each person signs in from a device of their own (`Api::login` names one device for all).
    let login = |username: &'static str| async move {
        let body =
            json!({ "org": slug, "username": username, "password": PASSWORD, "device_id": DeviceId::new() });
        let (status, answer) = api.send("POST", "/v1/login", None, Some(&body)).await?;
        anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
        Ok::<_, anyhow::Error>((
            answer["token"].as_str().unwrap_or_default().to_owned(),
            body["device_id"].clone(),
        ))
    };
    let (rep_token, rep_device) = login("rep").await?;
    Ok(Tenant {
        admin: login("admin").await?.0,
        manager: login("manager").await?.0,
        rep: rep_token,
        rep_device: rep_device.as_str().unwrap_or_default().to_owned(),
        rep_id: rep.id,
        org,
    })
}

async fn made(api: &Api, token: &str, path: &str, body: Value) -> anyhow::Result<String> {
    let (status, answer) = api.send("POST", path, Some(token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{path}: {status} {answer}");
    let id = answer["id"].as_str().or_else(|| answer["request"]["id"].as_str());
    Ok(id.unwrap_or_default().to_owned())
}

/// `template` with its one `{parameter}` segment replaced by `id`.
fn fill(template: &str, id: &str) -> String {
    template
        .split('/')
        .map(|segment| if segment.starts_with('{') { id } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// What the org's own admin and manager read: compared before and after the attack.
async fn everything(api: &Api, t: &Tenant, ids: &BTreeMap<&str, String>) -> anyhow::Result<Vec<Value>> {
    let mut seen = Vec::new();
    for path in [
        "/v1/customers".to_owned(),
        "/v1/products".to_owned(),
        "/v1/kb".to_owned(),
        "/v1/departments".to_owned(),
        "/v1/users".to_owned(),
        "/v1/approval-flows".to_owned(),
        "/v1/task-flows".to_owned(),
        "/v1/facts".to_owned(),
        format!("/v1/tasks/{}", ids["task"]),
        format!("/v1/approvals/{}", ids["approval"]),
    ] {
        let (status, answer) = api.send("GET", &path, Some(&t.admin), None).await?;
        anyhow::ensure!(status == StatusCode::OK, "{path}: {status} {answer}");
        seen.push(answer);
    }
    Ok(seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_orgs_users_reach_no_object_of_this_org_through_any_route() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let api = Api::new(&server.url);
    let victim = tenant(&server, &api, "victim").await?;
    let intruder = tenant(&server, &api, "intruder").await?;

    // The victim's objects, one of each kind a route names.
    let mut ids: BTreeMap<&str, String> = BTreeMap::new();
    ids.insert("department", made(&api, &victim.admin, "/v1/departments", json!({ "name": "North" })).await?);
    let customer = json!({ "name": "Shop", "grade": "B",
        "place": { "point": { "lat": 31.2304, "lng": 121.4737 }, "address": "" } });
    ids.insert("customer", made(&api, &victim.manager, "/v1/customers", customer.clone()).await?);
    let product = json!({ "sku": "TEA-1", "name": "Tea", "line": "drinks",
        "list_price": { "minor": 500, "currency": "CNY" } });
    ids.insert("product", made(&api, &victim.manager, "/v1/products", product.clone()).await?);
    let article = json!({ "title": "Shelf rules", "body": "New items on the second shelf", "tags": [] });
    ids.insert("kb", made(&api, &victim.manager, "/v1/kb", article.clone()).await?);
    let task = json!({ "kind": "customer_visit", "title": "Visit", "assignee_id": victim.rep_id });
    ids.insert("task", made(&api, &victim.manager, "/v1/tasks", task.clone()).await?);
    let steps = json!({ "steps": [{ "id": "manager", "title": "Manager",
        "approvers": [{ "type": "manager" }], "rule": "any_of" }] });
    let (status, flow) =
        api.send("PUT", "/v1/approval-flows/leave", Some(&victim.admin), Some(&steps)).await?;
    assert_eq!(status, StatusCode::CREATED, "{flow}");
    let now = fieldkit_server::now_ms();
    let leave = json!({ "subject": { "kind": "leave",
        "range": { "start_ms": now + 86_400_000, "end_ms": now + 2 * 86_400_000 } }, "reason": "family" });
    ids.insert("approval", made(&api, &victim.rep, "/v1/approvals", leave.clone()).await?);
    let visit = check_in(victim.rep_id, CustomerId::new(), WgsPoint::new(31.23, 121.47)?, now);
    ids.insert("fact", visit.id.to_string());
    api.push_facts(&victim.rep, vec![fieldkit_domain::protocol::Fact::CheckIn(visit)], &["stored"]).await?;
    ids.insert("user", victim.rep_id.to_string());
    ids.insert("device", victim.rep_device.clone());
    let before = everything(&api, &victim, &ids).await?;

    // Each templated route, its parameter filled with the victim's object it names.
    let document: Value = serde_json::from_str(include_str!("../../sync-server/openapi.json"))?;
    let object_of = |template: &str| -> Option<&str> {
        Some(match template {
            t if t.starts_with("/v1/tasks/{id}") => "task",
            "/v1/customers/{id}" => "customer",
            "/v1/products/{id}" => "product",
            "/v1/kb/{id}" => "kb",
            "/v1/departments/{id}" => "department",
            "/v1/users/{id}" => "user",
            "/v1/devices/{device_id}/revoke" => "device",
            t if t.starts_with("/v1/proposals/{fact_id}") => "fact",
            t if t.starts_with("/v1/approvals/{id}") => "approval",
            _ => return None,
        })
    };
    // Routes whose parameter is no object of an org: a kind names the caller's own org's
    // flow, a dashboard asset is static, and blob bytes are stored per org by name (the blob
    // store's own tests cover that).
    let not_objects = [
        "/dashboard/{path}",
        "/v1/approval-flows/{kind}",
        "/v1/task-flows/{task_kind}",
        "/v1/blobs/{sha256}",
        "/v1/blobs/{sha256}/content",
    ];
    let bodies: BTreeMap<&str, Value> = BTreeMap::from([
        ("task", json!({ "title": "Hijacked", "status": "done", "assignee_id": intruder.rep_id })),
        ("customer", customer),
        ("product", product),
        ("kb", article),
        ("department", json!({ "name": "Hijacked" })),
        ("user", json!({ "role": "admin", "display_name": "Hijacked" })),
        ("device", json!({})),
        ("fact", json!({ "reason": "hijacked" })),
        ("approval", json!({ "verdict": "approve", "comment": "hijacked" })),
    ]);
    let mut tried = 0;
    let mut leaks = Vec::new();
    for (template, operations) in document["paths"].as_object().into_iter().flatten() {
        if !template.contains('{') || not_objects.contains(&template.as_str()) {
            continue;
        }
        let object = object_of(template)
            .unwrap_or_else(|| panic!("{template} names an object this test does not know"));
        let path = fill(template, &ids[object]);
        for method in operations.as_object().into_iter().flatten().map(|(m, _)| m.to_uppercase()) {
            for token in [&intruder.admin, &intruder.manager, &intruder.rep] {
                let body = match method.as_str() {
                    "GET" | "DELETE" => None,
                    // Approving a proposal takes optional corrections only.
                    _ if path.ends_with("/approve") => Some(json!({})),
                    _ => Some(bodies[object].clone()),
                };
                let (status, answer) = api.send(&method, &path, Some(token), body.as_ref()).await?;
                tried += 1;
                if !matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) {
                    leaks.push(format!("{method} {path}: {status} {answer}"));
                }
            }
        }
    }
    assert_eq!(leaks, Vec::<String>::new(), "another org's users reached these");
    // 17 methods on 13 routes when this was written, each as three roles.
    assert!(tried >= 3 * 17, "every method of every route, as three roles: {tried} calls");
    assert_eq!(everything(&api, &victim, &ids).await?, before, "the victim's data is unchanged");
    // And the victim's rep still works: the token was not revoked by the intruder.
    let (status, _) = api.send("GET", "/v1/kb", Some(&victim.rep), None).await?;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(victim.org.id, intruder.org.id);
    Ok(())
}
