//! The foundation scenarios: real server over HTTP on loopback, real SQLite files.

use fieldkit_domain::ids::{CustomerId, FactId};
use fieldkit_domain::protocol::ErrorCode;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, check_in_at, fix_at, visit_once};
use fieldkit_engine::{CheckInInput, Error};
use fieldkit_server::storage::{FactFilter, FeedReader};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn count_check_ins(server: &TestServer, org: fieldkit_domain::ids::OrgId) -> usize {
    let filter = FactFilter { kind: Some("check_in".into()), rep_ids: None };
    server.storage.facts(org, filter).await.expect("facts").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_checks_in_offline_three_times_and_the_server_has_exactly_three() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;

    // Offline: nothing below touches the network.
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(visit_once(&phone.kit, CustomerId::new())?.id);
    }
    let status = phone.kit.sync_status()?;
    assert_eq!(status.outbox.pending, 9, "three check-ins, three check-outs and the three visits");
    assert!(status.outbox.oldest_pending_ms.is_some());
    assert_eq!(phone.kit.is_synced(ids[0])?, Some(false));
    assert_eq!(count_check_ins(&server, org.org.id).await, 0);

    let report = phone.kit.sync_now().await?;
    assert_eq!(report.pushed, 9);
    assert_eq!(report.already_stored, 0);
    assert_eq!(count_check_ins(&server, org.org.id).await, 3);
    let status = phone.kit.sync_status()?;
    assert_eq!(status.outbox.pending, 0);
    assert!(status.last_sync_ms.is_some());
    for id in ids {
        assert_eq!(phone.kit.is_synced(id)?, Some(true));
    }
    assert_eq!(phone.kit.is_synced(FactId::new())?, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_sends_nothing_new() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.check_in(check_in_at(CustomerId::new()))?;
    phone.kit.sync_now().await?;

    let again = phone.kit.sync_now().await?;
    assert_eq!((again.pushed, again.already_stored, again.rejected, again.pulled), (0, 0, 0, 0));
    assert_eq!(again.round_trips, 1);
    assert_eq!(count_check_ins(&server, org.org.id).await, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_fact_retried_after_a_lost_answer_is_stored_once() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let phone = server.phone("acme", "rep1").await?;
    let check_in = phone.kit.check_in(check_in_at(CustomerId::new()))?;

    // The same fact pushed twice, as a phone does when the first answer was lost.
    let request = json!({
        "protocol": 1, "device_id": phone.kit.device_id(), "cursor": 0, "pull_limit": 10,
        "sent_at_ms": 0, "push": [{ "kind": "check_in", "body": check_in }]
    });
    let (status, first) = api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["acks"][0]["outcome"], "stored");
    let (_, second) = api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;
    assert_eq!(second["acks"][0]["outcome"], "already_stored");

    // The phone's own push of it is acknowledged as already stored and leaves its queue.
    let report = phone.kit.sync_now().await?;
    assert_eq!((report.pushed, report.already_stored), (1, 1), "the visit document goes now");
    assert_eq!(phone.kit.sync_status()?.outbox.pending, 0);
    assert_eq!(count_check_ins(&server, org.org.id).await, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fact_refused_for_good_is_parked_with_its_reason_and_does_not_block_the_rest() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let phone = server.phone("acme", "rep1").await?;
    let first = visit_once(&phone.kit, CustomerId::new())?;
    let second = visit_once(&phone.kit, CustomerId::new())?;

    // Someone stored a different body under the first fact's id.
    let mut tampered = serde_json::to_value(&first)?;
    tampered["note"] = json!("tampered");
    let request = json!({
        "protocol": 1, "device_id": phone.kit.device_id(), "cursor": 0, "pull_limit": 10,
        "sent_at_ms": 0, "push": [{ "kind": "check_in", "body": tampered }]
    });
    api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;

    let report = phone.kit.sync_now().await?;
    assert_eq!(
        (report.pushed, report.rejected),
        (5, 1),
        "the second check-in, both check-outs and both visits; the first check-in parked"
    );
    let parked = phone.kit.parked_items()?;
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].item_id, first.id.to_string());
    assert_eq!(parked[0].code, "conflicting_body");
    assert!(parked[0].reason.contains(&first.id.to_string()));
    assert_eq!(phone.kit.is_synced(second.id)?, Some(true));
    let status = phone.kit.sync_status()?;
    assert_eq!((status.outbox.pending, status.outbox.parked), (0, 1));

    // The server kept the first body it received and stored the second fact once.
    let facts = server.storage.facts(org.org.id, FactFilter::default()).await?;
    assert_eq!(facts.len(), 4);
    assert!(facts[0].body.contains("tampered"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managers_task_appears_on_the_reps_phone_and_leaves_it_when_reassigned() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let rep1 = server.phone("acme", "rep1").await?;
    let rep2 = server.phone("acme", "rep2").await?;

    let body =
        json!({ "kind": "store_inspection", "title": "Check the shelf", "assignee_id": org.reps[0].id });
    let (status, task) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&body)).await?;
    assert_eq!(status, StatusCode::CREATED, "{task}");

    rep1.kit.sync_now().await?;
    rep2.kit.sync_now().await?;
    let mine = rep1.kit.my_tasks()?;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].title, "Check the shelf");
    assert_eq!(mine[0].id.to_string(), task["id"].as_str().unwrap_or_default());
    assert!(rep2.kit.my_tasks()?.is_empty(), "rep2 never receives rep1's task");

    // Reassigned to rep2: it leaves rep1's phone and appears on rep2's.
    let path = format!("/v1/tasks/{}", task["id"].as_str().unwrap_or_default());
    let reassign = json!({ "assignee_id": org.reps[1].id });
    let (status, _) = api.send("PATCH", &path, Some(&org.manager_token), Some(&reassign)).await?;
    assert_eq!(status, StatusCode::OK);
    rep1.kit.sync_now().await?;
    rep2.kit.sync_now().await?;
    assert!(rep1.kit.my_tasks()?.is_empty());
    assert_eq!(rep2.kit.my_tasks()?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_of_another_org_sees_nothing_of_this_one() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let acme = server.org("acme", 1).await?;
    server.org("globex", 1).await?;
    let api = Api::new(&server.url);

    let customer = json!({
        "name": "Shop", "grade": "A",
        "place": { "point": { "lat": 31.23, "lng": 121.47 }, "address": "" }
    });
    api.send("POST", "/v1/customers", Some(&acme.manager_token), Some(&customer)).await?;
    let task = json!({ "kind": "customer_visit", "title": "Visit", "assignee_id": acme.reps[0].id });
    api.send("POST", "/v1/tasks", Some(&acme.manager_token), Some(&task)).await?;
    let acme_phone = server.phone("acme", "rep1").await?;
    acme_phone.kit.check_in(check_in_at(CustomerId::new()))?;
    acme_phone.kit.sync_now().await?;
    assert_eq!(acme_phone.kit.customers()?.len(), 1);
    assert_eq!(acme_phone.kit.my_tasks()?.len(), 1);

    let globex_phone = server.phone("globex", "rep1").await?;
    let report = globex_phone.kit.sync_now().await?;
    assert_eq!(report.pulled, 0);
    assert!(globex_phone.kit.customers()?.is_empty());
    assert!(globex_phone.kit.my_tasks()?.is_empty());

    // Nor through the API: facts listing, and a task addressed by id.
    let globex_token = api.login("globex", "rep1", PASSWORD).await?;
    let (status, facts) = api.send("GET", "/v1/facts", Some(&globex_token), None).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(facts, json!([]));
    let globex_manager = api.login("globex", "manager", PASSWORD).await?;
    let (_, acme_task) = api.send("POST", "/v1/tasks", Some(&acme.manager_token), Some(&task)).await?;
    let path = format!("/v1/tasks/{}", acme_task["id"].as_str().unwrap_or_default());
    let (status, _) = api.send("GET", &path, Some(&globex_manager), None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A globex manager cannot dispatch to an acme rep.
    let (status, error) = api.send("POST", "/v1/tasks", Some(&globex_manager), Some(&task)).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["code"], "invalid_request");
    Ok(())
}

fn error_code(body: &Value) -> ErrorCode {
    serde_json::from_value(body["error"]["code"].clone()).expect("an error body with a known code")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_bad_tokens_and_malformed_bodies_get_a_clear_4xx_and_change_nothing()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let before = server.storage.feed(org.org.id, FeedReader::Everything, None, 0, 1000).await?;

    // Wrong password, unknown user and unknown org answer alike.
    for (org_slug, user, password) in
        [("acme", "rep1", "wrong password"), ("acme", "nobody", PASSWORD), ("nope", "rep1", PASSWORD)]
    {
        let body = json!({ "org": org_slug, "username": user, "password": password,
                           "device_id": "00000000-0000-7000-8000-000000000001" });
        let (status, answer) = api.send("POST", "/v1/login", None, Some(&body)).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(&answer), ErrorCode::BadCredentials);
    }

    // The engine reports a wrong password as such.
    let dir = tempfile::tempdir()?;
    let kit = fieldkit_e2e::harness::open_phone(&dir.path().join("x.db"), &server.url, "acme")?;
    assert!(matches!(kit.login("rep1", "wrong password").await, Err(Error::BadCredentials)));
    assert!(matches!(kit.sync_now().await, Err(Error::NotLoggedIn)));

    let sync = json!({ "protocol": 1, "device_id": "00000000-0000-7000-8000-000000000001",
                       "cursor": 0, "pull_limit": 10, "sent_at_ms": 0, "push": [] });
    for bad in [None, Some("fk_not-a-real-token"), Some("")] {
        let (status, answer) = api.send("POST", "/v1/sync", bad, Some(&sync)).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad:?}");
        assert_eq!(error_code(&answer), ErrorCode::Unauthenticated);
    }

    let malformed: [&[u8]; 4] = [
        b"{not json",
        b"{\"protocol\": 1}",
        b"[]",
        br#"{"protocol":1,"device_id":"x","cursor":-1,"pull_limit":10,"sent_at_ms":0,"push":[]}"#,
    ];
    for body in malformed {
        let (status, answer) = api.send_raw("POST", "/v1/sync", Some(&token), Some(body.to_vec())).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(body));
        assert_eq!(error_code(&answer), ErrorCode::MalformedBody);
        assert!(!answer["error"]["message"].as_str().unwrap_or_default().is_empty());
    }

    // A check-in off the globe does not deserialize: refused whole, nothing stored.
    let mut off_globe = json!({ "kind": "check_in", "body": {} });
    off_globe["body"] = serde_json::to_value(fieldkit_domain::model::CheckIn {
        id: FactId::new(),
        visit_id: fieldkit_domain::ids::VisitId::new(),
        customer_id: CustomerId::new(),
        task_id: None,
        rep_id: org.reps[0].id,
        fix: fix_at(31.0, 121.0),
        at: fieldkit_domain::clock::EventTime {
            device_ms: 0,
            hlc: fieldkit_domain::clock::Hlc { wall_ms: 0, counter: 0, node: 0 },
            server_estimate_ms: None,
        },
        note: None,
        assessment: None,
    })?;
    off_globe["body"]["fix"]["point"]["lat"] = json!(123.0);
    let mut request = sync.clone();
    request["push"] = json!([off_globe]);
    let (status, answer) = api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"]["message"].as_str().unwrap_or_default().contains("latitude 123"), "{answer}");

    // A protocol version the server does not speak.
    let mut future = sync.clone();
    future["protocol"] = json!(99);
    let (status, answer) = api.send("POST", "/v1/sync", Some(&token), Some(&future)).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&answer), ErrorCode::UnsupportedProtocol);

    // A version older than the oldest the server still speaks, carrying a fact that would
    // otherwise be stored: refused whole, naming the version, and the fact is not stored.
    let old = fieldkit_domain::protocol::MIN_PROTOCOL_VERSION - 1;
    let mut valid = request.clone();
    valid["push"][0]["body"]["fix"]["point"]["lat"] = json!(31.0);
    let mut outdated = valid.clone();
    outdated["protocol"] = json!(old);
    let (status, answer) = api.send("POST", "/v1/sync", Some(&token), Some(&outdated)).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(error_code(&answer), ErrorCode::UnsupportedProtocol);
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("protocol version {old} ")), "{answer}");

    // A fact that names another rep as its author is refused for good.
    let mut forged = valid.clone();
    forged["push"][0]["body"]["rep_id"] = json!(org.manager.id);
    let (status, answer) = api.send("POST", "/v1/sync", Some(&token), Some(&forged)).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["acks"][0]["outcome"], "rejected");
    assert_eq!(answer["acks"][0]["code"], "wrong_author");

    // A rep may not dispatch; an unknown route is a JSON 404.
    let task = json!({ "kind": "customer_visit", "title": "x" });
    let (status, answer) = api.send("POST", "/v1/tasks", Some(&token), Some(&task)).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
    let (status, answer) = api.send("GET", "/v1/nope", Some(&token), None).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::NOT_FOUND, ErrorCode::NotFound));

    let after = server.storage.feed(org.org.id, FeedReader::Everything, None, 0, 1000).await?;
    assert_eq!(after.cursor, before.cursor, "no change was stored");
    assert!(server.storage.facts(org.org.id, FactFilter::default()).await?.is_empty());

    // The fact the outdated request carried was refused for its version alone: in a request
    // of the current version it is stored.
    let (status, answer) = api.send("POST", "/v1/sync", Some(&token), Some(&valid)).await?;
    assert_eq!((status, &answer["acks"][0]["outcome"]), (StatusCode::OK, &json!("stored")), "{answer}");
    assert_eq!(server.storage.facts(org.org.id, FactFilter::default()).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_with_413() -> anyhow::Result<()> {
    let limits = fieldkit_server::Limits { max_body_bytes: 64 * 1024, ..Default::default() };
    let server = TestServer::start_with(limits).await?;
    server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let huge = format!("{{\"padding\":\"{}\"}}", "x".repeat(100 * 1024));
    let (status, answer) = api.send_raw("POST", "/v1/sync", Some(&token), Some(huge.into_bytes())).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&answer), ErrorCode::PayloadTooLarge);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_with_the_server_down_keeps_its_queue_and_syncs_when_it_is_back() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("phone.db");
    {
        let kit = fieldkit_e2e::harness::open_phone(&db, &server.url, "acme")?;
        kit.login("rep1", PASSWORD).await?;
    }
    // The same phone, now pointed at a port where nothing listens.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")?;
    let dead_url = format!("http://{}", dead.local_addr()?);
    drop(dead);
    let offline = fieldkit_e2e::harness::open_phone(&db, &dead_url, "acme")?;
    offline.check_in(check_in_at(CustomerId::new()))?;
    let err = offline.sync_now().await.expect_err("nothing listens");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(offline.sync_status()?.outbox.pending, 2, "the check-in and its visit wait");
    drop(offline);

    let online = fieldkit_e2e::harness::open_phone(&db, &server.url, "acme")?;
    assert_eq!(online.sync_now().await?.pushed, 2, "the check-in and its visit");
    assert_eq!(count_check_ins(&server, org.org.id).await, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fact_id_already_used_in_another_org_is_stored_for_this_org_only_and_the_other_org_keeps_its_own()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let acme = server.org("acme", 1).await?;
    let globex = server.org("globex", 1).await?;
    let api = Api::new(&server.url);

    // Globex's rep checks in; the fact is on the server under globex.
    let globex_phone = server.phone("globex", "rep1").await?;
    let theirs = globex_phone
        .kit
        .check_in(CheckInInput { note: Some("globex's own".into()), ..check_in_at(CustomerId::new()) })?;
    globex_phone.kit.sync_now().await?;
    let globex_before = server.storage.facts(globex.org.id, FactFilter::default()).await?;
    assert_eq!(globex_before.len(), 1);
    let globex_cursor =
        server.storage.feed(globex.org.id, FeedReader::Everything, None, 0, 1000).await?.cursor;

    // Acme's rep pushes a check-in of their own under the same fact (and visit) id, as a
    // client that forged or guessed another tenant's id would.
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let mut forged = serde_json::to_value(&theirs)?;
    forged["rep_id"] = json!(acme.reps[0].id);
    forged["note"] = json!("acme's");
    let request = json!({
        "protocol": 1, "device_id": "00000000-0000-7000-8000-000000000002", "cursor": 0,
        "pull_limit": 10, "sent_at_ms": 0, "push": [{ "kind": "check_in", "body": forged }]
    });
    let (status, answer) = api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // Facts are keyed per org: the id is free in acme, so acme's fact is stored there...
    assert_eq!(answer["acks"][0]["outcome"], "stored", "{answer}");
    let (_, again) = api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;
    assert_eq!(again["acks"][0]["outcome"], "already_stored", "{again}");
    let acme_facts = server.storage.facts(acme.org.id, FactFilter::default()).await?;
    assert_eq!(acme_facts.len(), 1);
    assert_eq!((acme_facts[0].id, acme_facts[0].rep_id), (theirs.id, acme.reps[0].id));
    assert!(acme_facts[0].body.contains("acme's") && !acme_facts[0].body.contains("globex"));

    // ...and globex's is untouched: same body, same sequence, no new change in its feed.
    let globex_after = server.storage.facts(globex.org.id, FactFilter::default()).await?;
    assert_eq!(globex_after.len(), 1);
    assert_eq!(
        (&globex_after[0].body, globex_after[0].seq, globex_after[0].rep_id),
        (&globex_before[0].body, globex_before[0].seq, globex.reps[0].id)
    );
    assert!(globex_after[0].body.contains("globex's own") && !globex_after[0].body.contains("acme"));
    let feed = server.storage.feed(globex.org.id, FeedReader::Everything, None, 0, 1000).await?;
    assert_eq!(feed.cursor, globex_cursor, "acme's push changed globex's feed");
    assert_eq!(globex_phone.kit.sync_now().await?.pulled, 0);

    // Each org's reader sees its own fact under that id, never the other's.
    for (org, user, own, other) in
        [("acme", "rep1", "acme's", "globex's"), ("globex", "rep1", "globex's", "acme's")]
    {
        let token = api.login(org, user, PASSWORD).await?;
        let (status, facts) = api.send("GET", "/v1/facts", Some(&token), None).await?;
        assert_eq!(status, StatusCode::OK);
        let text = facts.to_string();
        assert_eq!(facts.as_array().map(Vec::len), Some(1), "{org}: {facts}");
        assert!(text.contains(own) && !text.contains(other), "{org}: {facts}");
    }
    Ok(())
}
