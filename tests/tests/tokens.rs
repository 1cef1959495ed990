//! Token lifetime: a bearer token expires after `Limits::token_ttl`; `POST /v1/token/refresh`
//! trades a valid one for a fresh one and retires it; a phone refreshes its token when a
//! sync starts late in the token's life, so it keeps syncing without a new login, while an
//! expired token and a revoked device's token cannot be refreshed — real server over HTTP
//! on loopback, with short token lifetimes.

use std::time::Duration;

use fieldkit_domain::ids::{CustomerId, DeviceId, TeamId};
use fieldkit_domain::model::Role;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked, visit_once};
use fieldkit_engine::Error;
use fieldkit_server::Limits;
use fieldkit_server::storage::FactFilter;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A server whose tokens live `ttl`.
async fn server_with_ttl(ttl: Duration) -> anyhow::Result<TestServer> {
    TestServer::start_with(Limits { token_ttl: ttl, ..Limits::default() }).await
}

async fn count_check_ins(server: &TestServer, org: fieldkit_domain::ids::OrgId) -> anyhow::Result<usize> {
    let filter = FactFilter { kind: Some("check_in".into()), rep_ids: None };
    Ok(server.storage.facts(org, filter).await?.len())
}

async fn refresh(api: &Api, token: &str) -> anyhow::Result<(StatusCode, Value)> {
    api.send("POST", "/v1/token/refresh", Some(token), None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_keeps_syncing_past_its_first_tokens_expiry_without_logging_in_again() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    // Refreshed once less than a quarter (2 s) is left.
    let ttl = Duration::from_secs(8);
    let server = server_with_ttl(ttl).await?;
    let org = server.org("acme", 2).await?;
    let busy = server.phone("acme", "rep1").await?;
    let idle = server.phone("acme", "rep2").await?;
    busy.kit.sync_now().await?;
    idle.kit.sync_now().await?;

    // Twice, late in the token's life, the busy phone syncs: each sync refreshes first.
    for round in 1..=2 {
        tokio::time::sleep(ttl * 13 / 16).await;
        visit_once(&busy.kit, CustomerId::new())?;
        let report = busy.kit.sync_now().await?;
        assert_eq!(report.pushed, 3, "round {round}: a check-in, its check-out and the visit");
    }
    // 13 s after the login: the first token has been dead for 5 s.
    visit_once(&busy.kit, CustomerId::new())?;
    busy.kit.sync_now().await?;
    assert_eq!(count_check_ins(&server, org.org.id).await?, 3);
    assert!(busy.kit.current_user()?.is_some());

    // The phone that did not sync in time finds its token expired: it must log in again.
    visit_once(&idle.kit, CustomerId::new())?;
    assert!(matches!(idle.kit.sync_now().await, Err(Error::SessionExpired)));
    idle.kit.login("rep2", PASSWORD).await?;
    idle.kit.sync_now().await?;
    assert_eq!(count_check_ins(&server, org.org.id).await?, 4);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refreshed_token_replaces_the_old_one_which_is_refused_from_then_on() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let ttl = Duration::from_secs(3600);
    let server = server_with_ttl(ttl).await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let old = api.login("acme", "rep1", PASSWORD).await?;

    let before = fieldkit_server::now_ms();
    let (status, answer) = refresh(&api, &old).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let new = answer["token"].as_str().unwrap_or_default().to_owned();
    assert!(new.starts_with("fk_") && new != old, "{answer}");
    assert_eq!(answer["user"]["id"], json!(org.reps[0].id));
    let expires = answer["expires_at_ms"].as_i64().unwrap_or_default();
    let ttl_ms = i64::try_from(ttl.as_millis())?;
    assert!(expires >= before + ttl_ms && expires <= fieldkit_server::now_ms() + ttl_ms, "{answer}");

    api.expect("GET", &new, "/v1/products", None, StatusCode::OK).await?;
    let (status, refused) = api.send("GET", "/v1/products", Some(&old), None).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    assert_eq!(refused["error"]["code"], "unauthenticated");
    let (status, again) = refresh(&api, &old).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old token refreshes nothing twice: {again}");
    let (status, none) = refresh(&api, "fk_never_issued").await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{none}");
    let (status, anonymous) = api.send("POST", "/v1/token/refresh", None, None).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{anonymous}");
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_cannot_be_refreshed() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = server_with_ttl(Duration::from_millis(1_500)).await?;
    server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    let (status, answer) = refresh(&api, &token).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"]["code"], "unauthenticated");
    // A fresh login still works: only the token is dead.
    let fresh = api.login("acme", "rep1", PASSWORD).await?;
    api.expect("GET", &fresh, "/v1/products", None, StatusCode::OK).await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_devices_token_cannot_be_refreshed_yet_the_phone_still_uploads_what_it_made_before()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let ttl = Duration::from_secs(8);
    let server = server_with_ttl(ttl).await?;
    let org = server.org("acme", 1).await?;
    server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    let api = Api::new(&server.url);
    let admin = api.login("acme", "admin", PASSWORD).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let device = phone.kit.device_id();
    // Another token of the rep on the phone's device, for the raw refresh.
    let body = json!({ "org": "acme", "username": "rep1", "password": PASSWORD, "device_id": device });
    let (status, login) = api.send("POST", "/v1/login", None, Some(&body)).await?;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["token"].as_str().unwrap_or_default().to_owned();

    // Offline, the phone visits a customer; then it is reported lost and revoked.
    visit_once(&phone.kit, CustomerId::new())?;
    api.expect("POST", &admin, &format!("/v1/devices/{device}/revoke"), None, StatusCode::OK).await?;
    let (status, answer) = refresh(&api, &token).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("revoked")), "{answer}");
    // Another device's token of the same rep still refreshes.
    let elsewhere =
        json!({ "org": "acme", "username": "rep1", "password": PASSWORD, "device_id": DeviceId::new() });
    let (_, other) = api.send("POST", "/v1/login", None, Some(&elsewhere)).await?;
    let (status, refreshed) = refresh(&api, other["token"].as_str().unwrap_or_default()).await?;
    assert_eq!(status, StatusCode::OK, "{refreshed}");

    // Late in its token's life the phone syncs: the refresh is refused, the sync goes on with
    // the token it has and uploads the check-in made before the revocation.
    tokio::time::sleep(ttl * 13 / 16).await;
    phone.kit.sync_now().await?;
    assert_eq!(count_check_ins(&server, org.org.id).await?, 1);
    server.stop().await
}
