//! Device revocation: a lost phone's device is revoked by an admin; what it queued before the
//! revocation is still accepted, anything made after it is refused for good, it pulls nothing
//! new and it cannot be bound by a login again — real server over HTTP on loopback.

use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::ids::{CustomerId, DeviceId, FactId, TeamId, VisitId};
use fieldkit_domain::model::{CheckIn, Role, User};
use fieldkit_domain::protocol::{Fact, PROTOCOL_VERSION, SyncRequest};
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, check_in_at, fix_at, visit_once};
use fieldkit_server::storage::FactFilter;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn count_check_ins(server: &TestServer, org: fieldkit_domain::ids::OrgId) -> usize {
    let filter = FactFilter { kind: Some("check_in".into()), rep_ids: None };
    server.storage.facts(org, filter).await.expect("facts").len()
}

/// A check-in by `rep` whose server-time estimate is `at_ms`.
fn check_in_made_at(rep: &User, at_ms: i64) -> Fact {
    Fact::CheckIn(CheckIn {
        id: FactId::new(),
        visit_id: VisitId::new(),
        customer_id: CustomerId::new(),
        task_id: None,
        rep_id: rep.id,
        fix: fix_at(31.2304, 121.4737),
        at: EventTime {
            device_ms: at_ms,
            hlc: Hlc { wall_ms: 0, counter: 0, node: 7 },
            server_estimate_ms: Some(at_ms),
        },
        note: None,
        assessment: None,
    })
}

/// Logs `username` of `org` in on `device`: the status and the answer.
async fn login_on(
    api: &Api,
    org: &str,
    username: &str,
    device: DeviceId,
) -> anyhow::Result<(StatusCode, Value)> {
    let body = json!({ "org": org, "username": username, "password": PASSWORD, "device_id": device });
    api.send("POST", "/v1/login", None, Some(&body)).await
}

async fn revoke(api: &Api, token: &str, device: DeviceId) -> anyhow::Result<(StatusCode, Value)> {
    api.send("POST", &format!("/v1/devices/{device}/revoke"), Some(token), None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_phone_uploads_what_it_made_before_the_revocation_and_nothing_after_it()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let rep = org.reps[0].clone();
    server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    let api = Api::new(&server.url);
    let admin = api.login("acme", "admin", PASSWORD).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let device = phone.kit.device_id();
    // A second token bound to the phone's device, as a thief replaying its login would hold.
    let (status, login) = login_on(&api, "acme", "rep1", device).await?;
    assert_eq!(status, StatusCode::OK, "{login}");
    let phone_token = login["token"].as_str().unwrap_or_default().to_owned();

    // Offline: two visits (check-in, check-out and the visit document each) queue up.
    visit_once(&phone.kit, CustomerId::new())?;
    visit_once(&phone.kit, CustomerId::new())?;
    assert_eq!(count_check_ins(&server, org.org.id).await, 0);

    // Only an admin revokes; the admin's revocation answers the time it took effect.
    let (status, _) = revoke(&api, &org.manager_token, device).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, revoked) = revoke(&api, &admin, device).await?;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["device_id"], json!(device));
    let revoked_ms = revoked["revoked_ms"].as_i64().expect("a revocation time");

    // Raw facts with the phone's token and device: before and at the revocation are stored,
    // after it refused for good, naming the revoked device; the feed stays empty.
    let (before, at, after) = (
        check_in_made_at(&rep, revoked_ms - 5_000),
        check_in_made_at(&rep, revoked_ms),
        check_in_made_at(&rep, revoked_ms + 5_000),
    );
    let request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        device_id: device,
        cursor: 3,
        pull_limit: 1000,
        sent_at_ms: 0,
        push: vec![before, at, after.clone()],
        docs: Vec::new(),
    };
    let (status, answer) =
        api.send("POST", "/v1/sync", Some(&phone_token), Some(&serde_json::to_value(&request)?)).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["acks"][0]["outcome"], "stored", "{answer}");
    assert_eq!(answer["acks"][1]["outcome"], "stored", "{answer}");
    let refused = &answer["acks"][2];
    assert_eq!(refused["outcome"], "rejected", "{answer}");
    assert_eq!(refused["code"], "not_allowed", "{answer}");
    let reason = refused["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("revoked") && reason.contains(&device.to_string()), "{reason}");
    assert_eq!(answer["feed"], json!([]), "{answer}");
    assert_eq!(answer["cursor"], 3);
    assert_eq!(count_check_ins(&server, org.org.id).await, 2);

    // Naming another device in the request does not lift the revocation from the token.
    let mut elsewhere = request.clone();
    elsewhere.device_id = DeviceId::new();
    elsewhere.push = vec![after];
    let (_, answer) =
        api.send("POST", "/v1/sync", Some(&phone_token), Some(&serde_json::to_value(&elsewhere)?)).await?;
    assert_eq!(answer["acks"][0]["code"], "not_allowed", "{answer}");

    // A task dispatched to the rep after the revocation does not reach the phone, while
    // its queued check-ins, made before the revocation, are uploaded.
    let task = json!({ "kind": "customer_visit", "title": "Visit", "assignee_id": rep.id });
    let (status, created) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&task)).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let report = phone.kit.sync_now().await?;
    assert_eq!(report.pulled, 0);
    assert_eq!(report.pushed, 4, "two check-ins and two check-outs");
    assert_eq!(report.rejected, 2, "a revoked device's document changes are refused");
    assert_eq!(count_check_ins(&server, org.org.id).await, 4);
    assert!(phone.kit.my_tasks()?.is_empty());

    // Every other route refuses the revoked device's token: it only uploads.
    for path in ["/v1/customers", &format!("/v1/tasks/{}", created["id"].as_str().unwrap_or_default())] {
        let (status, answer) = api.send("GET", path, Some(&phone_token), None).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("revoked")), "{answer}");
    }

    // No login binds the device again; another device of the same rep still logs in.
    let (status, refused) = login_on(&api, "acme", "rep1", device).await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("revoked")), "{refused}");
    assert_eq!(login_on(&api, "acme", "rep1", DeviceId::new()).await?.0, StatusCode::OK);

    // Revoking again keeps the first time.
    let (status, again) = revoke(&api, &admin, device).await?;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["revoked_ms"], revoked_ms);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_device_or_another_orgs_device_is_not_found() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 1).await?;
    let other = server.org("other", 1).await?;
    server.user(&other.org, "admin", Role::Admin, TeamId::new()).await?;
    let api = Api::new(&server.url);
    let other_admin = api.login("other", "admin", PASSWORD).await?;
    let phone = server.phone("acme", "rep1").await?;

    let (status, answer) = revoke(&api, &other_admin, phone.kit.device_id()).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(revoke(&api, &other_admin, DeviceId::new()).await?.0, StatusCode::NOT_FOUND);
    // Nothing was recorded: the phone still syncs and logs in.
    phone.kit.check_in(check_in_at(CustomerId::new()))?;
    assert_eq!(phone.kit.sync_now().await?.rejected, 0);
    assert_eq!(login_on(&api, "acme", "rep1", phone.kit.device_id()).await?.0, StatusCode::OK);
    server.stop().await
}
