//! Sync scenarios: shared documents merging, scope, deletions, feed resets, upgrades, the
//! clock flag and the schedule — real server over HTTP on loopback, real SQLite files.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fieldkit_domain::docs::{self, task::TaskPatch};
use fieldkit_domain::ids::{CustomerId, DeviceId, FactId, TaskId, TeamId, VisitId};
use fieldkit_domain::model::{CheckIn, Role, TaskStatus};
use fieldkit_domain::protocol::{DocPush, Fact, PROTOCOL_VERSION, RecordKind, SyncRequest};
use fieldkit_e2e::harness::{
    Api, PASSWORD, TestOrg, TestServer, check_in_at, fix_at, open_phone, visit_once,
};
use fieldkit_engine::{ScheduleConfig, SyncObserver, SyncReport, SyncState};
use fieldkit_server::Limits;
use fieldkit_server::storage::FactFilter;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn create_task(api: &Api, org: &TestOrg, assignee: usize, title: &str) -> anyhow::Result<TaskId> {
    let body = json!({ "kind": "customer_visit", "title": title, "assignee_id": org.reps[assignee].id });
    let (status, task) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {task}");
    Ok(serde_json::from_value(task["id"].clone())?)
}

async fn patch_task(
    api: &Api,
    org: &TestOrg,
    id: TaskId,
    body: Value,
) -> anyhow::Result<(StatusCode, Value)> {
    api.send("PATCH", &format!("/v1/tasks/{id}"), Some(&org.manager_token), Some(&body)).await
}

async fn server_task(api: &Api, org: &TestOrg, id: TaskId) -> anyhow::Result<Value> {
    Ok(api.send("GET", &format!("/v1/tasks/{id}"), Some(&org.manager_token), None).await?.1)
}

fn sync_request(device: DeviceId, push: Vec<Fact>, docs: Vec<DocPush>) -> SyncRequest {
    SyncRequest {
        protocol: PROTOCOL_VERSION,
        device_id: device,
        cursor: 0,
        pull_limit: 1000,
        sent_at_ms: 0,
        push,
        docs,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_done_offline_is_not_reopened_by_a_stale_manager_edit_and_both_edits_survive()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let id = create_task(&api, &org, 0, "Visit").await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;

    // Offline: the rep finishes the task and writes a note.
    phone.kit.update_task(id, Some(TaskStatus::Done), Some("display fixed".into()))?;
    // Meanwhile the manager, not having seen it, renames it, sets it in progress and adds
    // to the notes.
    let (status, _) = patch_task(
        &api,
        &org,
        id,
        json!({ "title": "Visit today", "status": "in_progress", "notes": "urgent" }),
    )
    .await?;
    assert_eq!(status, StatusCode::OK);

    phone.kit.sync_now().await?;
    let on_phone = phone.kit.my_tasks()?.pop().expect("the task is on the phone");
    let on_server = server_task(&api, &org, id).await?;
    assert_eq!(on_phone.status, TaskStatus::Done);
    assert_eq!(on_server["status"], "done");
    assert_eq!(on_phone.title, "Visit today");
    assert_eq!(on_server["title"], "Visit today");
    assert!(
        on_phone.notes.contains("display fixed") && on_phone.notes.contains("urgent"),
        "{}",
        on_phone.notes
    );
    assert_eq!(on_server["notes"], json!(on_phone.notes));
    assert_eq!(phone.kit.is_document_synced(RecordKind::Task, id.0)?, Some(true));

    // The manager asking, knowingly, to move it back is refused.
    let (status, body) = patch_task(&api, &org, id, json!({ "status": "open" })).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // And the rep cannot move it back either.
    assert!(phone.kit.update_task(id, Some(TaskStatus::InProgress), None).is_err());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reps_edit_of_what_only_managers_may_change_is_refused_and_changes_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let id = create_task(&api, &org, 0, "Visit").await?;
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let stored = server.storage.doc(org.org.id, RecordKind::Task, id.0).await?.expect("stored");

    // A hand-made automerge change renaming the task and taking it away to rep2.
    let mut doc = docs::load(&stored.state, docs::actor(uuid::Uuid::now_v7()))?;
    let heads = doc.get_heads();
    let forged = TaskPatch {
        title: Some("mine now".into()),
        assignee_id: Some(Some(org.reps[1].id)),
        ..TaskPatch::default()
    };
    docs::task::apply(&mut doc, &forged)?;
    let push = DocPush { kind: RecordKind::Task, id: id.0, changes: doc.save_after(&heads) };
    let request = serde_json::to_value(sync_request(DeviceId::new(), vec![], vec![push]))?;
    let (status, answer) = api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["doc_acks"][0]["outcome"], "rejected", "{answer}");
    assert_eq!(answer["doc_acks"][0]["code"], "not_allowed");

    let after = server.storage.doc(org.org.id, RecordKind::Task, id.0).await?.expect("stored");
    assert_eq!(after.state, stored.state, "the stored document is untouched");
    assert_eq!(server_task(&api, &org, id).await?["title"], "Visit");

    // Bytes that are not automerge at all, and a kind that is not a document.
    let garbage =
        DocPush { kind: RecordKind::Visit, id: VisitId::new().0, changes: b"not automerge".to_vec() };
    let request = serde_json::to_value(sync_request(DeviceId::new(), vec![], vec![garbage]))?;
    let (_, answer) = api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;
    assert_eq!(answer["doc_acks"][0]["code"], "invalid", "{answer}");
    let not_a_doc = DocPush { kind: RecordKind::Customer, id: CustomerId::new().0, changes: vec![1] };
    let request = serde_json::to_value(sync_request(DeviceId::new(), vec![], vec![not_a_doc]))?;
    let (status, _) = api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Changes to a task of another org, by its real id, from a rep of this org: refused,
    // and the other org's task is untouched.
    let globex = server.org("globex", 1).await?;
    let globex_task = create_task(&api, &globex, 0, "Globex visit").await?;
    let globex_before =
        server.storage.doc(globex.org.id, RecordKind::Task, globex_task.0).await?.expect("stored");
    let mut doc = docs::load(&globex_before.state, docs::actor(uuid::Uuid::now_v7()))?;
    docs::task::apply(&mut doc, &TaskPatch { notes: Some("hijacked".into()), ..TaskPatch::default() })?;
    let push = DocPush { kind: RecordKind::Task, id: globex_task.0, changes: doc.save() };
    let request = serde_json::to_value(sync_request(DeviceId::new(), vec![], vec![push]))?;
    let (_, answer) = api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;
    assert_eq!(answer["doc_acks"][0]["outcome"], "rejected", "{answer}");
    let globex_after =
        server.storage.doc(globex.org.id, RecordKind::Task, globex_task.0).await?.expect("stored");
    assert_eq!(globex_after.state, globex_before.state);
    assert!(
        server.storage.doc(org.org.id, RecordKind::Task, globex_task.0).await?.is_none(),
        "nothing stored here"
    );

    // A batch over the cap is refused whole.
    let too_many: Vec<Fact> = (0..501)
        .map(|_| {
            let mut c: CheckIn = serde_json::from_value(json!({
                "id": FactId::new(), "visit_id": VisitId::new(), "customer_id": CustomerId::new(),
                "task_id": null, "rep_id": org.reps[0].id, "note": null,
                "fix": fix_at(31.2, 121.4),
                "at": { "device_ms": 0, "hlc": { "wall_ms": 0, "counter": 0, "node": 0 }, "server_estimate_ms": null }
            }))
            .expect("a check-in");
            c.id = FactId::new();
            Fact::CheckIn(c)
        })
        .collect();
    let request = serde_json::to_value(sync_request(DeviceId::new(), too_many, vec![]))?;
    let (status, _) = api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(server.storage.facts(org.org.id, FactFilter::default()).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visits_and_their_notes_converge_between_the_rep_and_the_managers_phone() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 1).await?;
    let rep = server.phone("acme", "rep1").await?;
    let manager = server.phone("acme", "manager").await?;
    let check_in = rep.kit.check_in(check_in_at(CustomerId::new()))?;
    rep.kit.sync_now().await?;
    manager.kit.sync_now().await?;
    assert_eq!(manager.kit.visits()?.len(), 1, "the manager's phone receives the team's visits");

    rep.kit.update_visit(check_in.visit_id, Some(0), Some("shelf empty".into()))?;
    manager.kit.update_visit(check_in.visit_id, None, Some("call the distributor".into()))?;
    rep.kit.check_out(check_in.visit_id, fix_at(31.2304, 121.4737))?;
    for _ in 0..2 {
        rep.kit.sync_now().await?;
        manager.kit.sync_now().await?;
    }
    let on_rep = rep.kit.visit(check_in.visit_id)?.expect("visit");
    let on_manager = manager.kit.visit(check_in.visit_id)?.expect("visit");
    assert_eq!(on_rep, on_manager);
    assert!(on_rep.notes.contains("shelf empty") && on_rep.notes.contains("call the distributor"));
    assert_eq!(on_rep.completed_steps, vec![0]);
    assert!(on_rep.check_out_id.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_is_not_sent_back_what_it_pushed_but_gets_every_change_it_lacks() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let task = create_task(&api, &org, 0, "Visit").await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;

    // A visit and a task edit made offline go up; neither comes back down as an echo.
    let check_in = phone.kit.check_in(check_in_at(CustomerId::new()))?;
    phone.kit.update_task(task, Some(TaskStatus::InProgress), Some("on my way".into()))?;
    let report = phone.kit.sync_now().await?;
    assert_eq!((report.pushed, report.pulled), (3, 0), "{report:?}");
    assert_eq!(phone.kit.is_document_synced(RecordKind::Visit, check_in.visit_id.0)?, Some(true));

    // The same rep's second phone gets both.
    let tablet = server.phone("acme", "rep1").await?;
    tablet.kit.sync_now().await?;
    assert_eq!(tablet.kit.visit(check_in.visit_id)?, phone.kit.visit(check_in.visit_id)?);
    assert_eq!(tablet.kit.my_tasks()?, phone.kit.my_tasks()?);

    // A manager edit the phone has not seen, merged with the phone's next push, comes down
    // as the merged state: the phone lacks the manager's change.
    let (status, _) = patch_task(&api, &org, task, json!({ "title": "Visit today" })).await?;
    assert_eq!(status, StatusCode::OK);
    phone.kit.update_task(task, None, Some("shelf restocked".into()))?;
    let report = phone.kit.sync_now().await?;
    assert_eq!((report.pushed, report.pulled), (1, 1), "{report:?}");
    let on_phone = phone.kit.my_tasks()?.pop().expect("the task is on the phone");
    assert_eq!(on_phone.title, "Visit today");
    assert_eq!(server_task(&api, &org, task).await?["notes"], json!(on_phone.notes));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_never_receives_another_reps_data_and_a_manager_only_their_teams() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    // A second team in the same org, with its own manager and rep.
    let other_team = TeamId::new();
    server.user(&org.org, "manager2", Role::Manager, other_team).await?;
    let outsider = server.user(&org.org, "rep9", Role::Rep, other_team).await?;

    let customer = json!({ "name": "Rep1's shop", "grade": "A", "owner_id": org.reps[0].id,
                           "place": { "point": { "lat": 31.23, "lng": 121.47 }, "address": "" } });
    let (_, customer) = api.send("POST", "/v1/customers", Some(&org.manager_token), Some(&customer)).await?;
    let rep1_task = create_task(&api, &org, 0, "rep1's task").await?;
    let rep1 = server.phone("acme", "rep1").await?;
    let visit = rep1.kit.check_in(check_in_at(CustomerId::new()))?.visit_id;
    rep1.kit.sync_now().await?;
    let body = json!({ "kind": "repair", "title": "outsider's task", "assignee_id": outsider.id });
    let (_, outsider_task) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&body)).await?;

    // What crosses the wire to rep2: nothing of rep1's.
    let rep2_token = api.login("acme", "rep2", PASSWORD).await?;
    let request = serde_json::to_value(sync_request(DeviceId::new(), vec![], vec![]))?;
    let (_, answer) = api.send("POST", "/v1/sync", Some(&rep2_token), Some(&request)).await?;
    let wire = answer.to_string();
    for secret in
        [rep1_task.to_string(), visit.to_string(), customer["id"].as_str().unwrap_or("?").to_owned()]
    {
        assert!(!wire.contains(&secret), "rep2 received {secret}");
    }
    assert_eq!(answer["feed"], json!([]));

    // The first team's manager gets their team's task and visit, not the other team's task.
    let (_, answer) = api.send("POST", "/v1/sync", Some(&org.manager_token), Some(&request)).await?;
    let wire = answer.to_string();
    assert!(wire.contains(&rep1_task.to_string()) && wire.contains(&visit.to_string()));
    assert!(!wire.contains(outsider_task["id"].as_str().unwrap_or("?")));
    let manager2 = api.login("acme", "manager2", PASSWORD).await?;
    let (_, facts) = api.send("GET", "/v1/facts", Some(&manager2), None).await?;
    assert_eq!(facts, json!([]), "the other team's manager sees none of rep1's check-ins");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_task_never_comes_back_even_from_a_phone_that_edited_it_offline() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let id = create_task(&api, &org, 0, "Visit").await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    phone.kit.update_task(id, None, Some("edited offline".into()))?;
    let (status, _) = api.send("DELETE", &format!("/v1/tasks/{id}"), Some(&org.manager_token), None).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let report = phone.kit.sync_now().await?;
    assert_eq!(report.rejected, 1, "the offline edit of a deleted task is refused");
    assert!(phone.kit.my_tasks()?.is_empty());
    let parked = phone.kit.parked_items()?;
    assert_eq!(parked.len(), 1);
    assert!(parked[0].reason.contains("deleted"), "{}", parked[0].reason);
    phone.kit.sync_now().await?;
    let (status, _) = api.send("GET", &format!("/v1/tasks/{id}"), Some(&org.manager_token), None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(phone.kit.my_tasks()?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_offline_longer_than_removals_are_kept_starts_over_without_losing_its_queue()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let moved = create_task(&api, &org, 0, "moves away").await?;
    let kept = create_task(&api, &org, 0, "stays").await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    assert_eq!(phone.kit.my_tasks()?.len(), 2);

    // While the phone is away: the task moves to rep2, and the server forgets the removal.
    patch_task(&api, &org, moved, json!({ "assignee_id": org.reps[1].id })).await?;
    patch_task(&api, &org, kept, json!({ "title": "stays, renamed" })).await?;
    // A removal younger than the retention is kept ...
    let hour_ago = fieldkit_server::now_ms() - 3_600_000;
    assert_eq!(server.storage.prune_removals(org.org.id, hour_ago).await?, 0, "a fresh removal is kept");
    // ... until it is older.
    let pruned = server.storage.prune_removals(org.org.id, fieldkit_server::now_ms() + 1).await?;
    assert_eq!(pruned, 1);
    let check_in = phone.kit.check_in(check_in_at(CustomerId::new()))?;

    phone.kit.sync_now().await?;
    let tasks = phone.kit.my_tasks()?;
    assert_eq!(tasks.len(), 1, "the moved task is gone although its removal was pruned");
    assert_eq!(tasks[0].title, "stays, renamed");
    assert_eq!(phone.kit.is_synced(check_in.id)?, Some(true), "queued work survived the reset");
    let facts = server.storage.facts(org.org.id, FactFilter::default()).await?;
    assert_eq!(facts.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_offline_across_an_app_upgrade_keeps_and_uploads_its_queue() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("phone.db");

    // A database as the first release left it: schema 1, logged in, one check-in queued.
    let login = json!({ "org": "acme", "username": "rep1", "password": PASSWORD,
                        "device_id": "01950000-0000-7000-8000-000000000001" });
    let (_, session) = api.send("POST", "/v1/login", None, Some(&login)).await?;
    let fact_id = FactId::new();
    let check_in = json!({ "kind": "check_in", "body": {
        "id": fact_id, "visit_id": VisitId::new(), "customer_id": CustomerId::new(), "task_id": null,
        "rep_id": org.reps[0].id, "note": null, "fix": fix_at(31.2, 121.4),
        "at": { "device_ms": 1, "hlc": { "wall_ms": 1, "counter": 0, "node": 7 }, "server_estimate_ms": null } } });
    {
        let conn = rusqlite::Connection::open(&db)?;
        conn.execute_batch(include_str!("../../core/engine/migrations/001_init.sql"))?;
        conn.execute_batch("PRAGMA user_version = 1;")?;
        let session = json!({ "token": session["token"], "expires_at_ms": session["expires_at_ms"], "user": session["user"] });
        conn.execute("INSERT INTO meta (key, value) VALUES ('device_id', '01950000-0000-7000-8000-000000000001'), ('session', ?1)", [session.to_string()])?;
        conn.execute(
            "INSERT INTO facts (id, kind, visit_id, body, recorded_ms) VALUES (?1, 'check_in', NULL, ?2, 1)",
            [fact_id.to_string(), check_in.to_string()],
        )?;
        conn.execute(
            "INSERT INTO outbox (item_kind, item_id, created_ms) VALUES ('fact', ?1, 1)",
            [fact_id.to_string()],
        )?;
    }

    let kit = open_phone(&db, &server.url, "acme")?;
    assert_eq!(kit.sync_status()?.outbox.pending, 1, "the queue survived the upgrade");
    let report = kit.sync_now().await?;
    assert_eq!(report.pushed, 1);
    let facts = server.storage.facts(org.org.id, FactFilter::default()).await?;
    assert_eq!(facts.len(), 1);
    assert_eq!(facts[0].id, fact_id);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_whose_device_clock_disagrees_with_server_time_are_flagged() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?; // measures the server-time offset
    let honest = phone.kit.check_in(check_in_at(CustomerId::new()))?;
    assert!(honest.at.server_estimate_ms.is_some());
    phone.kit.sync_now().await?;

    // A device whose clock was set 10 minutes ahead (as the fact it sends shows).
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let mut skewed = honest.clone();
    skewed.id = FactId::new();
    skewed.at.device_ms += 10 * 60 * 1000;
    let request =
        serde_json::to_value(sync_request(DeviceId::new(), vec![Fact::CheckIn(skewed.clone())], vec![]))?;
    api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;

    let (_, facts) = api.send("GET", "/v1/facts?kind=check_in", Some(&org.manager_token), None).await?;
    let flag = |id: FactId| {
        facts
            .as_array()
            .and_then(|a| a.iter().find(|f| f["fact"]["body"]["id"] == json!(id)))
            .map(|f| f["clock_flagged"].clone())
    };
    assert_eq!(flag(honest.id), Some(json!(false)));
    assert_eq!(flag(skewed.id), Some(json!(true)));

    // A phone that never measured server time: an event from its future is flagged, an old
    // one (made offline days ago) is not.
    let now_ms =
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis())?;
    let unmeasured = |device_ms: i64| {
        let mut fact = honest.clone();
        fact.id = FactId::new();
        fact.at.device_ms = device_ms;
        fact.at.server_estimate_ms = None;
        fact
    };
    let ahead = unmeasured(now_ms + 60 * 60 * 1000);
    let old = unmeasured(now_ms - 3 * 24 * 60 * 60 * 1000);
    let facts_pushed = vec![Fact::CheckIn(ahead.clone()), Fact::CheckIn(old.clone())];
    let request = serde_json::to_value(sync_request(DeviceId::new(), facts_pushed, vec![]))?;
    api.send("POST", "/v1/sync", Some(&token), Some(&request)).await?;
    let (_, facts) = api.send("GET", "/v1/facts?kind=check_in", Some(&org.manager_token), None).await?;
    let flag = |id: FactId| {
        facts
            .as_array()
            .and_then(|a| a.iter().find(|f| f["fact"]["body"]["id"] == json!(id)))
            .map(|f| f["clock_flagged"].clone())
    };
    assert_eq!(flag(ahead.id), Some(json!(true)), "{facts}");
    assert_eq!(flag(old.id), Some(json!(false)), "{facts}");
    Ok(())
}

#[derive(Default)]
struct Recorder {
    states: Mutex<Vec<SyncState>>,
    reports: Mutex<Vec<SyncReport>>,
}

impl SyncObserver for Recorder {
    fn on_state(&self, state: SyncState) {
        self.states.lock().expect("lock").push(state);
    }
    fn on_report(&self, report: SyncReport) {
        self.reports.lock().expect("lock").push(report);
    }
}

async fn wait_until(mut done: impl FnMut() -> bool, limit: Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_syncs_after_a_write_and_retries_on_its_own_timer_after_an_outage() -> anyhow::Result<()>
{
    let data = tempfile::tempdir()?;
    let server = TestServer::start_in(data.path(), "127.0.0.1:0", Limits::default()).await?;
    let bind = server.url.trim_start_matches("http://").to_owned();
    server.org("acme", 1).await?;
    let dir = tempfile::tempdir()?;
    let kit = Arc::new(open_phone(&dir.path().join("p.db"), &server.url, "acme")?);
    kit.login("rep1", PASSWORD).await?;
    let recorder = Arc::new(Recorder::default());
    let config = ScheduleConfig { debounce: Duration::from_millis(100), period: Duration::from_secs(60) };
    let _schedule = kit.start_sync_schedule(config, Some(recorder.clone()));

    // A write is synced without anyone calling sync.
    visit_once(&kit, CustomerId::new())?;
    assert!(
        wait_until(|| kit.sync_status().is_ok_and(|s| s.outbox.pending == 0), Duration::from_secs(10)).await
    );
    assert!(recorder.states.lock().expect("lock").contains(&SyncState::Idle));

    // The server goes away; a write fails to sync and waits for its retry.
    server.stop().await?;
    visit_once(&kit, CustomerId::new())?;
    let offline =
        || recorder.states.lock().expect("lock").iter().any(|s| matches!(s, SyncState::Offline { .. }));
    assert!(wait_until(offline, Duration::from_secs(10)).await, "the failed sync is reported");
    assert_eq!(kit.sync_status()?.outbox.pending, 3, "the check-in, the check-out and the visit");

    // The server comes back; with no new write and no call, the retry timer delivers.
    let back = TestServer::start_in(data.path(), &bind, Limits::default()).await?;
    assert!(
        wait_until(|| kit.sync_status().is_ok_and(|s| s.outbox.pending == 0), Duration::from_secs(15)).await,
        "queued work was retried on its own timer"
    );
    let org = back.storage.org_by_slug("acme").await?.expect("org");
    assert_eq!(back.storage.facts(org.id, FactFilter::default()).await?.len(), 4);
    Ok(())
}
