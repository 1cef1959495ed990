//! Bulk dispatch on the real server: a manager sends many tasks in one request, to named
//! reps or shared out among a department by smart assignment; the reps' phones receive
//! them through the feed. One bad task refuses the whole batch and names it.
//!
//! The constructed cases have a known answer: two reps based 20 km apart (each owns one
//! customer, which places them), tasks at each base go to the rep based there, and tasks
//! exactly halfway are shared out evenly because each one given counts in the next ranking.

use std::collections::HashMap;

use fieldkit_domain::geo::LocalFrame;
use fieldkit_domain::ids::{TeamId, UserId};
use fieldkit_domain::model::{Role, WgsPoint};
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn origin() -> WgsPoint {
    WgsPoint::new(31.2304, 121.4737).expect("on the globe")
}

/// The point `east_km` east of the origin.
fn east(east_km: f64) -> WgsPoint {
    LocalFrame::new(origin()).to_point(east_km * 1_000.0, 0.0).expect("on the globe")
}

fn task_at(title: &str, point: WgsPoint) -> Value {
    json!({ "kind": "customer_visit", "title": title, "place": { "point": point, "address": "" } })
}

struct World {
    server: TestServer,
    api: Api,
    manager: String,
    team: TeamId,
    west_rep: UserId,
    east_rep: UserId,
    outsider: UserId,
}

async fn world() -> anyhow::Result<World> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let team = org.manager.team_id.expect("the harness puts the manager in a team");
    let outsider = server.user(&org.org, "outsider", Role::Rep, TeamId::new()).await?;
    let api = Api::new(&server.url);
    let manager = org.manager_token.clone();
    // Each rep owns one customer: at 0 km and at 20 km.
    for (rep, km) in [(org.reps[0].id, 0.0), (org.reps[1].id, 20.0)] {
        let body = json!({ "name": format!("shop {km}"), "grade": "B", "owner_id": rep,
            "place": { "point": east(km), "address": "" } });
        let (status, answer) = api.send("POST", "/v1/customers", Some(&manager), Some(&body)).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status} {answer}");
    }
    Ok(World {
        west_rep: org.reps[0].id,
        east_rep: org.reps[1].id,
        outsider: outsider.id,
        server,
        api,
        manager,
        team,
    })
}

async fn bulk(w: &World, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
    w.api.send("POST", "/v1/tasks/bulk", Some(&w.manager), Some(body)).await
}

fn assignees(answer: &Value) -> Vec<Option<String>> {
    answer["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["assignee_id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_batch_shared_among_a_team_goes_to_the_nearest_rep_and_reaches_their_phone() -> anyhow::Result<()> {
    let w = world().await?;
    let body = json!({ "team_id": w.team, "tasks": [
        task_at("west 1", east(0.5)),
        task_at("east 1", east(19.0)),
        task_at("west 2", east(1.0)),
        task_at("east 2", east(21.0)),
    ]});
    let (status, answer) = bulk(&w, &body).await?;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["created"], 4);
    let (west, east_) = (Some(w.west_rep.to_string()), Some(w.east_rep.to_string()));
    assert_eq!(assignees(&answer), vec![west.clone(), east_.clone(), west, east_]);
    for task in answer["tasks"].as_array().into_iter().flatten() {
        assert_eq!(task["assigned_by"], "smart");
        assert!(
            task["score"].as_f64().is_some() && !task["reasons"].as_array().is_none_or(Vec::is_empty),
            "{task}"
        );
    }

    // The east rep's phone receives exactly their two tasks.
    let phone = w.server.phone("acme", "rep2").await?;
    phone.kit.sync_now().await?;
    let mut titles: Vec<String> = phone.kit.my_tasks()?.into_iter().map(|t| t.title).collect();
    titles.sort();
    assert_eq!(titles, vec!["east 1", "east 2"]);
    Ok(())
}

#[tokio::test]
async fn tasks_halfway_between_two_reps_are_shared_out_evenly() -> anyhow::Result<()> {
    let w = world().await?;
    let tasks: Vec<Value> = (0..6).map(|i| task_at(&format!("middle {i}"), east(10.0))).collect();
    let (status, answer) = bulk(&w, &json!({ "team_id": w.team, "tasks": tasks })).await?;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let mut counts: HashMap<String, usize> = HashMap::new();
    for assignee in assignees(&answer).into_iter().flatten() {
        *counts.entry(assignee).or_default() += 1;
    }
    assert_eq!(counts.get(&w.west_rep.to_string()), Some(&3), "{counts:?}");
    assert_eq!(counts.get(&w.east_rep.to_string()), Some(&3), "{counts:?}");
    Ok(())
}

#[tokio::test]
async fn named_assignees_are_kept_and_unassigned_tasks_stay_in_the_pool_without_a_team() -> anyhow::Result<()>
{
    let w = world().await?;
    let mut named = task_at("named", east(0.0));
    named["assignee_id"] = json!(w.east_rep);
    let (status, answer) = bulk(&w, &json!({ "tasks": [named, task_at("pool", east(5.0))] })).await?;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(assignees(&answer), vec![Some(w.east_rep.to_string()), None]);
    assert_eq!(answer["tasks"][0]["assigned_by"], "request");
    assert_eq!(answer["tasks"][1]["assigned_by"], "nobody");
    Ok(())
}

#[tokio::test]
async fn one_bad_task_refuses_the_whole_batch_and_names_every_bad_one() -> anyhow::Result<()> {
    let w = world().await?;
    let mut foreign = task_at("foreign", east(0.0));
    foreign["assignee_id"] = json!(w.outsider);
    let body = json!({ "team_id": w.team, "tasks": [
        task_at("good", east(0.0)),
        task_at("  ", east(0.0)),
        foreign,
        { "kind": "customer_visit", "title": "nowhere" },
    ]});
    let (status, answer) = bulk(&w, &body).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("no task was created: "), "{message}");
    assert!(message.contains("task 1: task title must not be empty"), "{message}");
    assert!(
        message.contains(&format!("task 2: assignee {} is outside your data scope", w.outsider)),
        "{message}"
    );
    assert!(message.contains("task 3: no place and no customer with a place"), "{message}");
    assert!(!message.contains("task 0"), "{message}");

    // Nothing landed: neither rep has a task.
    let tasks = w
        .server
        .storage
        .assigned_tasks(w.server_org().await?, vec![w.west_rep, w.east_rep, w.outsider])
        .await?;
    assert!(tasks.is_empty(), "{tasks:?}");

    // Other refusals: an empty batch, a team out of scope, a rep asking.
    let (status, _) = bulk(&w, &json!({ "tasks": [] })).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, answer) =
        bulk(&w, &json!({ "team_id": TeamId::new(), "tasks": [task_at("x", east(0.0))] })).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let rep = w.api.login("acme", "rep1", PASSWORD).await?;
    let (status, _) = w
        .api
        .send("POST", "/v1/tasks/bulk", Some(&rep), Some(&json!({ "tasks": [task_at("x", east(0.0))] })))
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    Ok(())
}

impl World {
    async fn server_org(&self) -> anyhow::Result<fieldkit_domain::ids::OrgId> {
        let org = self.server.storage.org_by_slug("acme").await?;
        org.map(|o| o.id).ok_or_else(|| anyhow::anyhow!("the org exists"))
    }
}
