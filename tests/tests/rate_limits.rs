//! Rate limits: a bearer token, a client address and a login name each get a budget; a
//! request over one answers 429 `rate_limited` with `Retry-After` and does nothing — real
//! server over HTTP on loopback, with small budgets refilling once an hour, so that only the
//! bursts count during a test. Every client here is on 127.0.0.1: one address.

use std::num::NonZeroU32;

use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::ids::{CustomerId, FactId, UserId, VisitId};
use fieldkit_domain::model::CheckIn;
use fieldkit_domain::protocol::{Fact, PROTOCOL_VERSION, SyncRequest};
use fieldkit_e2e::harness::{Api, METRICS_TOKEN, PASSWORD, TestServer, fix_at, log_to_stderr_if_asked};
use fieldkit_server::Limits;
use fieldkit_server::rate_limit::{Budget, Cidr, Per};
use fieldkit_server::storage::FactFilter;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `burst` requests, then one an hour: nothing refills during a test.
fn burst(burst: u32) -> Option<Budget> {
    let n = |v: u32| NonZeroU32::new(v).expect("a budget count is not zero");
    Some(Budget { rate: n(1), per: Per::Hour, burst: n(burst) })
}

/// What an answer said: its status, its `Retry-After` (seconds) and its JSON body.
struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    body: Value,
}

/// Sends `method path` with an optional token, extra headers and JSON body.
async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> anyhow::Result<Answer> {
    let _ = Api::new(&server.url); // installs the TLS provider reqwest wants
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", server.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await?;
    let status = response.status();
    let retry_after =
        response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let bytes = response.bytes().await?;
    let body =
        if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    Ok(Answer { status, retry_after, body })
}

async fn get(server: &TestServer, path: &str, token: Option<&str>) -> anyhow::Result<Answer> {
    call(server, reqwest::Method::GET, path, token, &[], None).await
}

async fn login(server: &TestServer, org: &str, username: &str, password: &str) -> anyhow::Result<Answer> {
    let body = json!({ "org": org, "username": username, "password": password,
        "device_id": "00000000-0000-7000-8000-000000000001" });
    call(server, reqwest::Method::POST, "/v1/login", None, &[], Some(&body)).await
}

/// `GET /v1/server-key` (open) with `X-Forwarded-For: chain`.
async fn forwarded(server: &TestServer, chain: &str) -> anyhow::Result<Answer> {
    call(server, reqwest::Method::GET, "/v1/server-key", None, &[("x-forwarded-for", chain)], None).await
}

/// Insists `answer` is a 429 `rate_limited` with a `Retry-After` and a message naming `what`.
fn assert_limited(answer: &Answer, what: &str) {
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{}", answer.body);
    assert_eq!(answer.body["error"]["code"], "rate_limited", "{}", answer.body);
    let message = answer.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(what), "{message:?} does not name {what:?}");
    // An hour's refill: about 3600 s.
    assert!(
        answer.retry_after.is_some_and(|s| (3_000..=3_600).contains(&s)),
        "retry-after {:?}",
        answer.retry_after
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_over_its_budget_is_refused_while_another_token_goes_on_until_the_address_budget()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let limits = Limits { rate_per_token: burst(5), rate_per_ip: burst(12), ..Limits::default() };
    let server = TestServer::start_with(limits).await?;
    // The address's budget so far: the manager's login (1), two reps' logins (3).
    server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let (one, two) = (api.login("acme", "rep1", PASSWORD).await?, api.login("acme", "rep2", PASSWORD).await?);

    for _ in 0..5 {
        assert_eq!(get(&server, "/v1/products", Some(&one)).await?.status, StatusCode::OK);
    }
    // The sixth is over the token's burst; a request refused for its token costs the address
    // nothing.
    let refused = get(&server, "/v1/products", Some(&one)).await?;
    assert_limited(&refused, "this token");
    // The operator's scrape (the address's 9th) counts the refusal by reason.
    let (status, _, metrics) = api.get_text(METRICS_TOKEN, "/metrics").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(metrics.contains("fieldkit_rate_limited_total{reason=\"token\"} 1"), "{metrics}");

    // The other token goes on: the address's 10th to 12th.
    for _ in 0..3 {
        assert_eq!(get(&server, "/v1/products", Some(&two)).await?.status, StatusCode::OK);
    }
    // The address's budget is spent: the other token is refused too, and so is a request
    // with no token at all.
    assert_limited(&get(&server, "/v1/products", Some(&two)).await?, "this address");
    assert_limited(&get(&server, "/v1/server-key", None).await?, "this address");
    // The health probe is never limited.
    assert_eq!(get(&server, "/healthz", None).await?.status, StatusCode::OK);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_locks_the_account_and_a_login_flood_the_address() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let limits = Limits { login_per_ip: burst(7), login_per_account: burst(3), ..Limits::default() };
    let server = TestServer::start_with(limits).await?;
    // The address's logins so far: the manager's (1).
    server.org("acme", 3).await?;

    // Three wrong guesses at rep1 (2–4) are checked and refused as such.
    for _ in 0..3 {
        let guess = login(&server, "acme", "rep1", "hunter2").await?;
        assert_eq!(guess.status, StatusCode::UNAUTHORIZED, "{}", guess.body);
        assert_eq!(guess.body["error"]["code"], "bad_credentials");
    }
    // The account's budget is spent: even the right password is not checked now (5), nor is
    // the same name written otherwise (6).
    assert_limited(&login(&server, "acme", "rep1", PASSWORD).await?, "logins to this account");
    assert_limited(&login(&server, "acme", " REP1", PASSWORD).await?, "logins to this account");
    // Another account from the same address still logs in (7)...
    let other = login(&server, "acme", "rep2", PASSWORD).await?;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    // ... until the address's login budget is spent: the 8th login from it is refused.
    assert_limited(&login(&server, "acme", "rep3", PASSWORD).await?, "logins from this address");
    // Requests with a token are not logins: rep2 goes on working.
    let token = other.body["token"].as_str().unwrap_or_default();
    assert_eq!(get(&server, "/v1/products", Some(token)).await?.status, StatusCode::OK);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_push_over_the_budget_stores_nothing() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let limits = Limits { rate_per_token: burst(2), ..Limits::default() };
    let server = TestServer::start_with(limits).await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    for _ in 0..2 {
        assert_eq!(get(&server, "/v1/products", Some(&token)).await?.status, StatusCode::OK);
    }

    let fact = check_in(org.reps[0].id);
    let request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        device_id: fieldkit_domain::ids::DeviceId::new(),
        cursor: 0,
        pull_limit: 10,
        sent_at_ms: fieldkit_server::now_ms(),
        push: vec![fact.clone()],
        docs: Vec::new(),
    };
    let body = serde_json::to_value(&request)?;
    let refused = call(&server, reqwest::Method::POST, "/v1/sync", Some(&token), &[], Some(&body)).await?;
    assert_limited(&refused, "this token");
    let filter = FactFilter { kind: None, rep_ids: None };
    assert!(server.storage.facts(org.org.id, filter.clone()).await?.is_empty(), "the push stored nothing");

    // The same push with a fresh token is stored: the fact was never the problem.
    let fresh = api.login("acme", "rep1", PASSWORD).await?;
    api.push_facts(&fresh, vec![fact], &["stored"]).await?;
    assert_eq!(server.storage.facts(org.org.id, filter).await?.len(), 1);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget_and_spoofing_gains_nothing()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let loopback: Cidr = "127.0.0.1".parse()?;
    let limits = Limits { rate_per_ip: burst(2), trusted_proxies: vec![loopback], ..Limits::default() };
    let server = TestServer::start_with(limits).await?;

    for _ in 0..2 {
        assert_eq!(forwarded(&server, "203.0.113.1").await?.status, StatusCode::OK);
    }
    assert_limited(&forwarded(&server, "203.0.113.1").await?, "this address");
    // A client that writes other addresses in front of its own is still itself.
    assert_limited(&forwarded(&server, "198.51.100.7, 203.0.113.1").await?, "this address");
    // Another client behind the same proxy has its own budget.
    assert_eq!(forwarded(&server, "203.0.113.2").await?.status, StatusCode::OK);
    // A request with no forwarded address is the proxy's own.
    assert_eq!(get(&server, "/v1/server-key", None).await?.status, StatusCode::OK);
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_trusted_proxy_a_forwarded_address_is_ignored() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start_with(Limits { rate_per_ip: burst(2), ..Limits::default() }).await?;
    for chain in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(forwarded(&server, chain).await?.status, StatusCode::OK);
    }
    assert_limited(&forwarded(&server, "203.0.113.3").await?, "this address");
    server.stop().await
}

/// A check-in by `rep` made now.
fn check_in(rep: UserId) -> Fact {
    let now = fieldkit_server::now_ms();
    Fact::CheckIn(CheckIn {
        id: FactId::new(),
        visit_id: VisitId::new(),
        customer_id: CustomerId::new(),
        task_id: None,
        rep_id: rep,
        fix: fix_at(31.2304, 121.4737),
        at: EventTime {
            device_ms: now,
            hlc: Hlc { wall_ms: 0, counter: 0, node: 7 },
            server_estimate_ms: Some(now),
        },
        note: None,
        assessment: None,
    })
}
