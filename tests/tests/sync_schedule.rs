//! Sync scheduling and progress: what the observer hears (every sync, manual or scheduled,
//! with progress after each round trip), a parked document that a new edit unparks, blob
//! uploads that never hold back the data sync, the periodic timer, the network-back signal
//! and syncs that never overlap — real server over HTTP on loopback, real SQLite files.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use fieldkit_domain::ids::{CustomerId, TaskId};
use fieldkit_domain::model::TaskStatus;
use fieldkit_domain::protocol::RecordKind;
use fieldkit_e2e::harness::{
    Api, PASSWORD, TestOrg, TestServer, check_in_at, incompressible, open_phone, visit_once,
};
use fieldkit_engine::{FieldKit, ScheduleConfig, SyncObserver, SyncProgress, SyncReport, SyncState};
use fieldkit_server::Limits;
use fieldkit_server::storage::FactFilter;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What an observer heard, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Heard {
    State(SyncState),
    Progress(SyncProgress),
    Report(SyncReport),
}

#[derive(Default)]
struct Recorder {
    heard: Mutex<Vec<Heard>>,
}

impl Recorder {
    fn heard(&self) -> Vec<Heard> {
        self.heard.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn reports(&self) -> Vec<SyncReport> {
        self.heard()
            .into_iter()
            .filter_map(|h| match h {
                Heard::Report(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    fn push(&self, heard: Heard) {
        self.heard.lock().unwrap_or_else(PoisonError::into_inner).push(heard);
    }
}

impl SyncObserver for Recorder {
    fn on_state(&self, state: SyncState) {
        self.push(Heard::State(state));
    }
    fn on_report(&self, report: SyncReport) {
        self.push(Heard::Report(report));
    }
    fn on_progress(&self, progress: SyncProgress) {
        self.push(Heard::Progress(progress));
    }
}

async fn wait_until(mut done: impl FnMut() -> bool, limit: Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

/// A phone shared between tasks, logged in as `username`, with its temp folder.
async fn shared_phone(url: &str, username: &str) -> anyhow::Result<(Arc<FieldKit>, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let kit = Arc::new(open_phone(&dir.path().join("phone.db"), url, "acme")?);
    kit.login(username, PASSWORD).await?;
    Ok((kit, dir))
}

/// A schedule that does not fire on its own during a test (long debounce and period).
fn quiet() -> ScheduleConfig {
    ScheduleConfig { debounce: Duration::from_secs(600), period: Duration::from_secs(600) }
}

async fn create_task(api: &Api, org: &TestOrg, assignee: usize, title: &str) -> anyhow::Result<TaskId> {
    let body = json!({ "kind": "customer_visit", "title": title, "assignee_id": org.reps[assignee].id });
    let (status, task) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {task}");
    Ok(serde_json::from_value(task["id"].clone())?)
}

async fn patch_task(api: &Api, org: &TestOrg, id: TaskId, body: Value) -> anyhow::Result<()> {
    let (status, answer) =
        api.send("PATCH", &format!("/v1/tasks/{id}"), Some(&org.manager_token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_sync_of_many_items_reports_growing_progress_that_ends_equal_to_its_report()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 1).await?;
    let (kit, _dir) = shared_phone(&server.url, "rep1").await?;
    let recorder = Arc::new(Recorder::default());
    let _schedule = kit.start_sync_schedule(quiet(), Some(recorder.clone()));
    // 150 visits: 300 facts and 150 documents, more than two batches of 200.
    for _ in 0..150 {
        visit_once(&kit, CustomerId::new())?;
    }
    assert_eq!(kit.sync_status()?.progress, None, "no sync runs");

    let report = kit.sync_now().await?;
    assert_eq!(report.pushed, 450, "{report:?}");
    assert!(report.round_trips >= 3, "{report:?}");

    // The schedule's observer heard this manual sync: started, progress, report, idle.
    let heard = recorder.heard();
    assert_eq!(heard.first(), Some(&Heard::State(SyncState::Syncing)), "{heard:?}");
    assert_eq!(heard.last(), Some(&Heard::State(SyncState::Idle)));
    assert_eq!(heard[heard.len() - 2], Heard::Report(report));
    let progress: Vec<SyncProgress> = heard
        .iter()
        .filter_map(|h| match h {
            Heard::Progress(p) => Some(*p),
            _ => None,
        })
        .collect();
    assert_eq!(progress.len(), report.round_trips as usize, "one progress per round trip");
    for (n, pair) in progress.windows(2).enumerate() {
        let (a, b) = (pair[0], pair[1]);
        assert_eq!(b.round_trips, a.round_trips + 1, "round trip {n}");
        assert!(b.pushed >= a.pushed && b.bytes_sent > a.bytes_sent && b.bytes_received > a.bytes_received);
        assert!(b.waiting <= a.waiting, "{a:?} then {b:?}");
    }
    assert!(progress[0].pushed > 0 && progress[0].pushed < report.pushed, "{:?}", progress[0]);
    assert!(progress[0].waiting > 0);
    let last = *progress.last().expect("some progress");
    assert_eq!(
        (last.round_trips, last.pushed, last.already_stored, last.rejected, last.pulled),
        (report.round_trips, report.pushed, report.already_stored, report.rejected, report.pulled)
    );
    assert_eq!(
        (last.bytes_sent, last.bytes_received, last.waiting),
        (report.bytes_sent, report.bytes_received, 0)
    );
    assert_eq!(kit.sync_status()?.progress, None, "the sync is over");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_task_edit_is_pushed_again_after_a_new_edit_once_the_server_allows_it() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let id = create_task(&api, &org, 0, "Visit").await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;

    // Offline, the rep notes something while the manager hands the task to rep2: refused.
    phone.kit.update_task(id, Some(TaskStatus::InProgress), Some("first note".into()))?;
    patch_task(&api, &org, id, json!({ "assignee_id": org.reps[1].id })).await?;
    let report = phone.kit.sync_now().await?;
    assert_eq!(report.rejected, 1, "{report:?}");
    let parked = phone.kit.parked_items()?;
    assert_eq!((parked.len(), parked[0].item_id.as_str()), (1, id.to_string().as_str()), "{parked:?}");

    // The task comes back to the rep; the parked entry alone is not pushed again.
    patch_task(&api, &org, id, json!({ "assignee_id": org.reps[0].id })).await?;
    phone.kit.sync_now().await?;
    assert_eq!(phone.kit.my_tasks()?.len(), 1, "the task is back on the phone");
    assert_eq!(phone.kit.parked_items()?.len(), 1);

    // A new edit unparks it: queued, due now, and this time accepted.
    phone.kit.update_task(id, None, Some("second note".into()))?;
    let status = phone.kit.sync_status()?;
    assert_eq!((status.outbox.pending, status.outbox.parked), (1, 0));
    let report = phone.kit.sync_now().await?;
    assert_eq!((report.pushed, report.rejected), (1, 0), "{report:?}");
    assert!(phone.kit.parked_items()?.is_empty());
    assert_eq!(phone.kit.is_document_synced(RecordKind::Task, id.0)?, Some(true));
    let (_, on_server) = api.send("GET", &format!("/v1/tasks/{id}"), Some(&org.manager_token), None).await?;
    let on_phone = phone.kit.my_tasks()?.pop().expect("the task");
    assert_eq!(on_server["notes"], json!(on_phone.notes));
    assert!(on_phone.notes.contains("second note"), "{}", on_phone.notes);
    assert_eq!(on_server["status"], "in_progress", "the refused status change went up with the new edit");
    Ok(())
}

/// A TCP forwarder to `target` that lets each connection send at most `bytes_per_sec`
/// upstream (answers pass at full speed): a slow uplink, as on a weak mobile network.
async fn slow_uplink(target: String, bytes_per_sec: u64) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&target).await else { return };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let up = async move {
                    let mut buf = vec![0_u8; 8 * 1024];
                    loop {
                        let n = match client_read.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if server_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        let pause = Duration::from_micros(n as u64 * 1_000_000 / bytes_per_sec);
                        tokio::time::sleep(pause).await;
                    }
                    let _ = server_write.shutdown().await;
                };
                let down = async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    let _ = client_write.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    Ok(url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_syncs_while_a_slow_photo_upload_is_still_running() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    // 256 KiB/s up: the 1.5 MB photo takes about six seconds, a data sync a few ms.
    let url = slow_uplink(server.url.trim_start_matches("http://").to_owned(), 256 * 1024).await?;
    let (kit, _dir) = shared_phone(&url, "rep1").await?;
    let photo = kit.record_photo(None, &incompressible(1_536 * 1024, 0x9e37_79b9_7f4a_7c15), None)?;

    // The first sync pushes the photo record, then starts uploading its bytes.
    let uploading = tokio::spawn({
        let kit = Arc::clone(&kit);
        async move { kit.sync_now().await }
    });
    let api = Api::new(&server.url);
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let blob_path = format!("/v1/blobs/{}", photo.sha256);
    let started = async {
        for _ in 0..200 {
            let (status, answer) = api.send("GET", &blob_path, Some(&token), None).await?;
            if status == StatusCode::OK && answer["received"].as_u64().unwrap_or(0) > 0 {
                return anyhow::Ok(true);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        anyhow::Ok(false)
    };
    assert!(started.await?, "the upload began");

    // A check-in now: its sync does not wait for the upload.
    let check_in = kit.check_in(check_in_at(CustomerId::new()))?;
    let report = tokio::time::timeout(Duration::from_secs(3), kit.sync_now()).await??;
    assert!(!uploading.is_finished(), "the upload still runs");
    assert!(report.blobs_running, "{report:?}");
    assert_eq!(report.blobs.bytes_sent, 0, "this sync started no second upload");
    assert_eq!(kit.is_synced(check_in.id)?, Some(true));
    let facts = server.storage.facts(org.org.id, FactFilter::default()).await?;
    assert!(facts.iter().any(|f| f.id == check_in.id), "the server has the check-in");
    let (_, blob) = api.send("GET", &blob_path, Some(&token), None).await?;
    assert_eq!(blob["complete"], json!(false), "{blob}");

    // The upload finishes on its own.
    let first = uploading.await??;
    assert!(!first.blobs_running, "{first:?}");
    assert_eq!(first.blobs.completed, 1, "{first:?}");
    let (_, blob) = api.send("GET", &blob_path, Some(&token), None).await?;
    assert_eq!(blob["complete"], json!(true), "{blob}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_period_alone_brings_a_managers_new_task_to_an_idle_phone() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let (kit, _dir) = shared_phone(&server.url, "rep1").await?;
    kit.sync_now().await?;
    let recorder = Arc::new(Recorder::default());
    let config = ScheduleConfig { debounce: Duration::from_secs(600), period: Duration::from_millis(300) };
    let _schedule = kit.start_sync_schedule(config, Some(recorder.clone()));

    // No write on the phone and no call: only the period can bring it.
    let id = create_task(&api, &org, 0, "Visit").await?;
    let arrived = || kit.my_tasks().is_ok_and(|tasks| tasks.iter().any(|t| t.id == id));
    assert!(wait_until(arrived, Duration::from_secs(10)).await, "the task arrived");
    assert!(wait_until(|| recorder.reports().len() >= 2, Duration::from_secs(10)).await, "it keeps syncing");
    assert!(recorder.reports().iter().any(|r| r.pulled >= 1));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_back_retries_at_once_work_whose_retry_is_far_away() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = TestServer::start_in(data.path(), "127.0.0.1:0", Limits::default()).await?;
    let bind = server.url.trim_start_matches("http://").to_owned();
    server.org("acme", 1).await?;
    let (kit, dir) = shared_phone(&server.url, "rep1").await?;

    // The server goes away; a check-in's sync fails and waits for its retry.
    server.stop().await?;
    let check_in = kit.check_in(check_in_at(CustomerId::new()))?;
    assert!(kit.sync_now().await.is_err_and(|e| e.is_retryable()));
    // After many failures the backoff is long: ten minutes from now.
    let far = fieldkit_server::now_ms() + 10 * 60 * 1000;
    let db = rusqlite::Connection::open(dir.path().join("phone.db"))?;
    db.busy_timeout(Duration::from_secs(5))?;
    assert_eq!(db.execute("UPDATE outbox SET next_attempt_ms = ?1", [far])?, 2);

    // The schedule's sync after the write pushes nothing (nothing is due) and fails to pull;
    // then it sleeps until the retry or the period.
    let recorder = Arc::new(Recorder::default());
    let config = ScheduleConfig { debounce: Duration::from_millis(50), period: Duration::from_secs(600) };
    let _schedule = kit.start_sync_schedule(config, Some(recorder.clone()));
    let offline = || recorder.heard().iter().any(|h| matches!(h, Heard::State(SyncState::Offline { .. })));
    assert!(wait_until(offline, Duration::from_secs(10)).await, "the failed sync is reported");

    // The server is back; without the signal the work waits.
    let back = TestServer::start_in(data.path(), &bind, Limits::default()).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(kit.sync_status()?.outbox.pending, 2, "the check-in and its visit wait for their retry");

    // The app says the network is back: pushed at once.
    kit.network_available();
    assert!(
        wait_until(|| kit.sync_status().is_ok_and(|s| s.outbox.pending == 0), Duration::from_secs(5)).await,
        "retried on the signal"
    );
    assert_eq!(kit.is_synced(check_in.id)?, Some(true));
    let org = back.storage.org_by_slug("acme").await?.expect("org");
    assert_eq!(back.storage.facts(org.id, FactFilter::default()).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_asked_for_at_once_run_one_after_the_other_and_push_each_item_once() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let (kit, _dir) = shared_phone(&server.url, "rep1").await?;
    let recorder = Arc::new(Recorder::default());
    let _schedule = kit.start_sync_schedule(quiet(), Some(recorder.clone()));
    for _ in 0..100 {
        visit_once(&kit, CustomerId::new())?;
    }

    let spawn_sync = || {
        let kit = Arc::clone(&kit);
        tokio::spawn(async move { kit.sync_now().await })
    };
    let (a, b) = (spawn_sync(), spawn_sync());
    let (a, b) = (a.await??, b.await??);
    assert_eq!(a.pushed + b.pushed, 300, "{a:?} {b:?}");
    assert_eq!(a.already_stored + b.already_stored, 0, "nothing was pushed twice");

    // What the observer heard: one sync, then the other, never interleaved.
    let mut running = false;
    let mut syncs = 0;
    for heard in recorder.heard() {
        match heard {
            Heard::State(SyncState::Syncing) => {
                assert!(!running, "a sync started while another ran");
                running = true;
                syncs += 1;
            }
            Heard::Progress(_) | Heard::Report(_) => assert!(running, "progress outside a sync"),
            Heard::State(_) => running = false,
        }
    }
    assert_eq!(syncs, 2);
    let facts = server.storage.facts(org.org.id, FactFilter::default()).await?;
    assert_eq!(facts.len(), 200, "each check-in and check-out once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_back_during_the_debounce_after_a_write_sends_it_at_once() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 1).await?;
    let (kit, _dir) = shared_phone(&server.url, "rep1").await?;
    let _schedule = kit.start_sync_schedule(quiet(), None);
    let check_in = kit.check_in(check_in_at(CustomerId::new()))?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(kit.sync_status()?.outbox.pending, 2, "the write waits out the ten-minute debounce");

    kit.network_available();
    assert!(
        wait_until(|| kit.sync_status().is_ok_and(|s| s.outbox.pending == 0), Duration::from_secs(5)).await,
        "sent on the signal"
    );
    assert_eq!(kit.is_synced(check_in.id)?, Some(true));
    Ok(())
}
