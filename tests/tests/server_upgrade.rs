//! A phone offline across a server upgrade: the server is stopped, its database is left as
//! the previous release had it, the new release starts on it (migrating it) and the phone's
//! queue, made offline meanwhile, goes up once — real server, real SQLite files.

use fieldkit_domain::ids::CustomerId;
use fieldkit_domain::model::TaskStatus;
use fieldkit_domain::protocol::RecordKind;
use fieldkit_e2e::harness::{Api, TestServer, check_in_at, fix_at};
use fieldkit_server::Limits;
use fieldkit_server::storage::FactFilter;
use reqwest::StatusCode;
use serde_json::json;

/// The schema the current release's server migrations end at.
const CURRENT_SERVER_SCHEMA: i64 = 15;

/// Takes the server database back to the previous release's schema by undoing the newest
/// migration (`015_audit_log.sql`), exactly as that release left its files.
fn as_previous_release(db: &std::path::Path) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(db)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    anyhow::ensure!(
        version == CURRENT_SERVER_SCHEMA,
        "the server schema is at {version}: a migration was added, so undo it here as well"
    );
    conn.execute_batch("DROP TABLE audit_log; PRAGMA user_version = 14;")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_offline_across_a_server_upgrade_uploads_its_queue_once() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let server = TestServer::start_in_sqlite(data.path(), "127.0.0.1:0", Limits::default()).await?;
    let address = server.url.trim_start_matches("http://").to_owned();
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let body = json!({ "kind": "customer_visit", "title": "Visit", "assignee_id": org.reps[0].id });
    let (status, task) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&body)).await?;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    let task = serde_json::from_value(task["id"].clone())?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    server.stop().await?;

    // Offline while the server is upgraded: a visit and a task edit wait in the queue.
    let check_in = phone.kit.check_in(check_in_at(CustomerId::new()))?;
    phone.kit.update_visit(check_in.visit_id, None, Some("shelf empty".into()))?;
    phone.kit.check_out(check_in.visit_id, fix_at(31.2304, 121.4737))?;
    phone.kit.update_task(task, Some(TaskStatus::Done), Some("restocked".into()))?;
    assert!(phone.kit.sync_now().await.is_err(), "the server is down");
    let waiting = phone.kit.sync_status()?.outbox.pending;
    assert_eq!(waiting, 4, "two facts and two documents wait");

    let db = fieldkit_server::config::database_path(data.path());
    as_previous_release(&db)?;
    let server = TestServer::start_in_sqlite(data.path(), &address, Limits::default()).await?;
    let report = phone.kit.sync_now().await?;
    assert_eq!((report.pushed, report.rejected), (4, 0), "{report:?}");
    assert_eq!(phone.kit.sync_status()?.outbox.pending, 0);
    assert_eq!(phone.kit.sync_now().await?.pushed, 0, "nothing is sent twice");

    let facts = server.storage.facts(org.org.id, FactFilter::default()).await?;
    assert_eq!(facts.len(), 2, "the check-in and the check-out, once each");
    let (_, on_server) =
        api.send("GET", &format!("/v1/tasks/{task}"), Some(&org.manager_token), None).await?;
    assert_eq!(
        (on_server["status"].as_str(), on_server["notes"].as_str()),
        (Some("done"), Some("restocked"))
    );
    let visit = server.storage.doc(org.org.id, RecordKind::Visit, check_in.visit_id.0).await?;
    assert!(visit.is_some(), "the visit document reached the upgraded server");
    let conn = rusqlite::Connection::open(&db)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    assert_eq!(version, CURRENT_SERVER_SCHEMA, "the new release migrated the file");
    Ok(())
}
