//! Restoring the server from a backup: the restored server holds what the backup held, and
//! a phone that synced past the backup starts its feed over instead of missing the changes
//! made after the restore (their sequence numbers are handed out again).

use std::sync::Arc;

use fieldkit_domain::ids::TaskId;
use fieldkit_e2e::harness::{Api, TestOrg, TestServer};
use fieldkit_server::Limits;
use fieldkit_server::blobs::BlobStore;
use fieldkit_server::storage::SqliteStorage;
use reqwest::StatusCode;
use serde_json::json;

async fn dispatch(api: &Api, org: &TestOrg, title: &str) -> anyhow::Result<TaskId> {
    let body = json!({ "kind": "customer_visit", "title": title, "assignee_id": org.reps[0].id });
    let (status, task) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {task}");
    Ok(serde_json::from_value(task["id"].clone())?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_ahead_of_a_restored_server_starts_over_and_misses_nothing_made_after() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let blobs = Arc::new(BlobStore::open(&dir.path().join("blobs"))?);
    let live = Arc::new(SqliteStorage::open(&dir.path().join("live.sqlite3"))?);
    let server =
        TestServer::start_over(live.clone(), blobs.clone(), "127.0.0.1:0", Limits::default()).await?;
    let bind = server.url.trim_start_matches("http://").to_owned();
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let phone = server.phone("acme", "rep1").await?;

    let before = dispatch(&api, &org, "Before the backup").await?;
    phone.kit.sync_now().await?;
    let backup = dir.path().join("backup.sqlite3");
    live.backup_to(&backup).await?;
    // Accepted after the backup: lost by the restore, and the phone saw them.
    for n in 0..3 {
        dispatch(&api, &org, &format!("After the backup {n}")).await?;
    }
    phone.kit.sync_now().await?;
    assert_eq!(phone.kit.my_tasks()?.len(), 4);
    server.stop().await?;

    // The operator restores the backup and starts the server on the same address.
    let restored = Arc::new(SqliteStorage::open(&backup)?);
    let server = TestServer::start_over(restored, blobs, &bind, Limits::default()).await?;
    // The manager signs in again (tokens issued after the backup are gone too) and
    // dispatches: this task takes a sequence number the phone's cursor already passed.
    let manager_token = api.login("acme", "manager", fieldkit_e2e::harness::PASSWORD).await?;
    let org = TestOrg { manager_token, ..org };
    let after = dispatch(&api, &org, "After the restore").await?;

    phone.kit.sync_now().await?;
    let ids: Vec<TaskId> = phone.kit.my_tasks()?.into_iter().map(|t| t.id).collect();
    assert!(ids.contains(&after), "the change made after the restore reached the phone: {ids:?}");
    assert!(ids.contains(&before));
    server.stop().await?;
    Ok(())
}
