//! Several server instances over one PostgreSQL database, behind a balancer without sticky
//! sessions: phones sync through any instance, a change accepted by one is in the feed of the
//! others, and a long poll on one instance wakes when another commits. Also the long poll on
//! a single server, on whichever backend this pass of the suite runs.
//!
//! The multi-instance tests need `FIELDKIT_PG_URL` (scripts/test starts a throw-away
//! cluster); without it they print why and pass, unless `FIELDKIT_REQUIRE_POSTGRES=1`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldkit_domain::ids::{CustomerId, FactId};
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, fresh_postgres, open_phone, visit_once};
use fieldkit_e2e::proxy::{FaultPlan, FaultProxy};
use fieldkit_server::Limits;
use fieldkit_server::blobs::BlobStore;
use fieldkit_server::storage::{FactFilter, PgStorage};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `n` server instances over one fresh PostgreSQL database and one blob folder, or `None`
/// when there is no PostgreSQL here (see the module doc).
async fn instances(n: usize) -> anyhow::Result<Option<(Vec<TestServer>, tempfile::TempDir)>> {
    let Some(config) = fresh_postgres().await? else { return Ok(None) };
    let dir = tempfile::tempdir()?;
    let blobs = Arc::new(BlobStore::open(dir.path())?);
    let mut servers = Vec::new();
    for _ in 0..n {
        let storage = Arc::new(PgStorage::connect_with(config.clone(), 4).await?);
        servers.push(TestServer::start_over(storage, blobs.clone(), "127.0.0.1:0", Limits::default()).await?);
    }
    Ok(Some((servers, dir)))
}

async fn wait_for_change(
    api: &Api,
    token: &str,
    after: u64,
    timeout_ms: u64,
) -> anyhow::Result<(Value, Duration)> {
    let started = Instant::now();
    let path = format!("/v1/feed/wait?after={after}&timeout_ms={timeout_ms}");
    let (status, answer) = api.send("GET", &path, Some(token), None).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
    Ok((answer, started.elapsed()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_behind_a_balancer_over_three_instances_lose_and_duplicate_nothing() -> anyhow::Result<()> {
    let Some((servers, _blobs)) = instances(3).await? else { return Ok(()) };
    let org = servers[0].org("acme", 2).await?;
    // Each request goes to the next instance: a phone's login, pushes and pulls are spread
    // over all three.
    let urls: Vec<&str> = servers.iter().map(|s| s.url.as_str()).collect();
    let balancer = FaultProxy::balance(&urls, FaultPlan::none(7)).await?;
    let dirs = [tempfile::tempdir()?, tempfile::tempdir()?];
    let mut phones = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let kit = open_phone(&dir.path().join("fieldkit.db"), balancer.url(), "acme")?;
        kit.login(&format!("rep{}", i + 1), PASSWORD).await?;
        phones.push(kit);
    }

    // A task dispatched through the second instance reaches rep1 through the balancer.
    let dispatcher = Api::new(&servers[1].url);
    let body = json!({ "kind": "customer_visit", "title": "Shelf check", "assignee_id": org.reps[0].id });
    let (status, task) = dispatcher.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&body)).await?;
    assert_eq!(status, StatusCode::CREATED, "{task}");

    // Both phones visit customers and sync, round after round.
    let mut made: BTreeSet<FactId> = BTreeSet::new();
    for _round in 0..6 {
        for kit in &phones {
            let check_in = visit_once(kit, CustomerId::new())?;
            made.insert(check_in.id);
            kit.sync_now().await?;
        }
    }
    for kit in &phones {
        kit.sync_now().await?;
        assert_eq!(kit.sync_status()?.outbox.pending, 0, "every fact went up");
    }
    let titles: Vec<String> = phones[0].my_tasks()?.into_iter().map(|t| t.title).collect();
    assert_eq!(titles, ["Shelf check"], "the task dispatched through instance 2 reached rep1");

    // Every instance serves every fact, each exactly once.
    let filter = FactFilter { kind: Some("check_in".into()), rep_ids: None };
    for server in &servers {
        let stored = server.storage.facts(org.org.id, filter.clone()).await?;
        let ids: Vec<FactId> = stored.iter().map(|f| f.id).collect();
        let unique: BTreeSet<FactId> = ids.iter().copied().collect();
        assert_eq!(ids.len(), unique.len(), "no fact twice");
        assert_eq!(unique, made, "every check-in, and only those");
        let (status, listed) = Api::new(&server.url)
            .send("GET", "/v1/facts?kind=check_in", Some(&org.manager_token), None)
            .await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed.as_array().map(Vec::len), Some(made.len()), "{}", server.url);
    }
    // Two logins and fourteen syncs, taken in turn by the three instances.
    assert!(balancer.counts().passed >= 16, "the balancer carried the syncs: {:?}", balancer.counts());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_on_one_instance_wakes_when_another_commits() -> anyhow::Result<()> {
    let Some((servers, _blobs)) = instances(2).await? else { return Ok(()) };
    let org = servers[0].org("acme", 1).await?;
    let (waiting_on, writing_to) = (Api::new(&servers[0].url), Api::new(&servers[1].url));
    let seq = servers[0].storage.feed_seq(org.org.id).await?;

    let token = org.manager_token.clone();
    let waiter = tokio::spawn(async move { wait_for_change(&waiting_on, &token, seq, 20_000).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = json!({ "kind": "customer_visit", "title": "Visit", "assignee_id": org.reps[0].id });
    let (status, _) = writing_to.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&body)).await?;
    assert_eq!(status, StatusCode::CREATED);

    let (answer, waited) = waiter.await??;
    assert_eq!(answer["changed"], true, "{answer}");
    assert!(answer["seq"].as_u64() > Some(seq), "{answer}");
    // Woken by the other instance's commit, not by the 20 s time-out.
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_answers_at_once_when_behind_and_times_out_unchanged_when_nothing_happens()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let phone = server.phone("acme", "rep1").await?;
    visit_once(&phone.kit, CustomerId::new())?;
    phone.kit.sync_now().await?;
    let seq = server.storage.feed_seq(org.org.id).await?;
    assert!(seq > 0);

    let (behind, _) = wait_for_change(&api, &org.manager_token, 0, 20_000).await?;
    assert_eq!(behind, json!({ "seq": seq, "changed": true }));
    let (quiet, waited) = wait_for_change(&api, &org.manager_token, seq, 300).await?;
    assert_eq!(quiet, json!({ "seq": seq, "changed": false }));
    assert!(waited >= Duration::from_millis(300), "it waited the time-out: {waited:?}");

    // A push wakes a waiter on the same server.
    let token = org.manager_token.clone();
    let waiting = Api::new(&server.url);
    let waiter = tokio::spawn(async move { wait_for_change(&waiting, &token, seq, 20_000).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    visit_once(&phone.kit, CustomerId::new())?;
    phone.kit.sync_now().await?;
    let (woken, waited) = waiter.await??;
    assert_eq!(woken["changed"], true, "{woken}");
    assert!(waited < Duration::from_secs(10), "woken by the push, not the time-out: {waited:?}");

    // Bad input is a clear error: an out-of-range wait (422), a missing cursor (400), no token.
    let (status, error) =
        api.send("GET", "/v1/feed/wait?after=0&timeout_ms=999999", Some(&org.manager_token), None).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(error["error"]["message"].as_str().is_some_and(|m| m.contains("999999")), "{error}");
    let (status, _) = api.send("GET", "/v1/feed/wait", Some(&org.manager_token), None).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api.send("GET", "/v1/feed/wait?after=0", None, None).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}
