//! Smart assignment over HTTP: `GET /v1/tasks/{id}/candidates` ranks a team's reps for a
//! task by position, load, customer fit and added travel, and `POST /v1/tasks/{id}/auto-assign`
//! hands the task to the best of them so that it moves between phones through the feed —
//! real server on loopback, real SQLite, track points pushed as phones push them.
//!
//! The weights (see `fieldkit_server`'s `assign` module): 100 points, − 2 per km from the
//! position, − 1 per km of added road (straight line × 1.4 without a plan), − 3 per open
//! task today, + 15 for the customer's owner, + 2 for owning other customers of its grade.

use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::geo::{LocalFrame, UtcOffset, WorkWindow, WorkingHours};
use fieldkit_domain::ids::{CustomerId, DeviceId, FactId, TaskId, UserId};
use fieldkit_domain::model::{
    DayPlan, OrgSettings, PlanTrigger, PlannedStop, Role, TrackBatch, TrackPoint, WgsPoint,
};
use fieldkit_domain::protocol::{ErrorCode, Fact, PROTOCOL_VERSION, SyncRequest};
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MINUTE_MS: i64 = 60_000;
/// Where the work is: central Shanghai.
const TASK: (f64, f64) = (31.2304, 121.4737);

fn task_point() -> WgsPoint {
    WgsPoint::new(TASK.0, TASK.1).expect("the task is on the globe")
}

/// A point `east_m` metres east of the task.
fn east(east_m: f64) -> WgsPoint {
    LocalFrame::new(task_point()).to_point(east_m, 0.0).expect("on the globe")
}

fn error_code(body: &Value) -> ErrorCode {
    serde_json::from_value(body["error"]["code"].clone()).expect("an error body with a known code")
}

/// A server with an org of `reps` reps whose working hours (every day, China time) run from
/// an hour before now to an hour after; returns also a time today (or, just after midnight,
/// yesterday) outside those hours.
struct World {
    server: TestServer,
    api: Api,
    org: TestOrg,
    outside_hours_ms: i64,
}

impl World {
    async fn start(reps: usize) -> anyhow::Result<Self> {
        log_to_stderr_if_asked();
        let server = TestServer::start().await?;
        let org = server.org("acme", reps).await?;
        let api = Api::new(&server.url);
        let team = org.manager.team_id.expect("the harness puts the manager in a team");
        server.user(&org.org, "admin", Role::Admin, team).await?;
        let admin = api.login("acme", "admin", PASSWORD).await?;

        let now = fieldkit_server::now_ms();
        let (_, minute) = UtcOffset::CHINA.local(now);
        let minute = i64::from(minute);
        let (start, outside_hours_ms) = if minute >= 120 {
            (minute - 60, now - 90 * MINUTE_MS)
        } else {
            (0, now - (minute + 30) * MINUTE_MS)
        };
        let end = (minute + 60).min(1440);
        let window = WorkWindow::new(u16::try_from(start)?, u16::try_from(end)?)?;
        let mut hours = WorkingHours::weekdays(UtcOffset::CHINA, window);
        hours.days = fieldkit_domain::geo::Weekday::WORKWEEK.to_vec();
        hours.days.extend([fieldkit_domain::geo::Weekday::Sat, fieldkit_domain::geo::Weekday::Sun]);
        let settings = OrgSettings { working_hours: hours, ..OrgSettings::default() };
        let body = serde_json::to_value(&settings)?;
        let (status, answer) = api.send("PUT", "/v1/org/settings", Some(&admin), Some(&body)).await?;
        anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
        Ok(Self { server, api, org, outside_hours_ms })
    }

    fn rep(&self, n: usize) -> UserId {
        self.org.reps[n - 1].id
    }

    /// Pushes one track point of rep `n` at `point`, taken at `time_ms`, as their phone would.
    async fn track(&self, n: usize, point: WgsPoint, time_ms: i64) -> anyhow::Result<()> {
        let batch = TrackBatch {
            id: FactId::new(),
            rep_id: self.rep(n),
            points: vec![TrackPoint { point, accuracy_m: 10.0, time_ms }],
        };
        self.push(n, Fact::Track(batch)).await
    }

    /// Pushes `fact` as rep `n`'s phone and checks it was stored.
    async fn push(&self, n: usize, fact: Fact) -> anyhow::Result<()> {
        let token = self.api.login("acme", &format!("rep{n}"), PASSWORD).await?;
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: DeviceId::new(),
            cursor: 0,
            pull_limit: 1,
            sent_at_ms: fieldkit_server::now_ms(),
            push: vec![fact],
            docs: Vec::new(),
        };
        let body = serde_json::to_value(request)?;
        let (status, answer) = self.api.send("POST", "/v1/sync", Some(&token), Some(&body)).await?;
        anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
        anyhow::ensure!(answer["acks"][0]["outcome"] == "stored", "{answer}");
        Ok(())
    }

    /// Rep `n` was at `east_m` metres east of the task a minute ago.
    async fn at(&self, n: usize, east_m: f64) -> anyhow::Result<()> {
        self.track(n, east(east_m), fieldkit_server::now_ms() - MINUTE_MS).await
    }

    async fn customer(
        &self,
        grade: &str,
        point: WgsPoint,
        owner: Option<UserId>,
    ) -> anyhow::Result<CustomerId> {
        let body = json!({ "name": "Shop", "grade": grade, "owner_id": owner,
                           "place": { "point": point, "address": "" } });
        let (status, created) =
            self.api.send("POST", "/v1/customers", Some(&self.org.manager_token), Some(&body)).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status} {created}");
        Ok(serde_json::from_value(created["id"].clone())?)
    }

    async fn task(&self, body: Value) -> anyhow::Result<TaskId> {
        let (status, created) =
            self.api.send("POST", "/v1/tasks", Some(&self.org.manager_token), Some(&body)).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status} {created}");
        Ok(serde_json::from_value(created["id"].clone())?)
    }

    /// A task at the task point, assigned to `assignee`.
    async fn task_here(&self, assignee: Option<UserId>) -> anyhow::Result<TaskId> {
        self.task(json!({ "kind": "repair", "title": "fix the fridge", "assignee_id": assignee,
                          "place": { "point": task_point(), "address": "" } }))
            .await
    }

    async fn candidates(&self, task: TaskId, token: &str) -> anyhow::Result<(StatusCode, Value)> {
        self.api.send("GET", &format!("/v1/tasks/{task}/candidates"), Some(token), None).await
    }

    /// The ranking as the manager sees it.
    async fn ranking(&self, task: TaskId) -> anyhow::Result<Vec<Value>> {
        let (status, answer) = self.candidates(task, &self.org.manager_token).await?;
        anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
        Ok(answer.as_array().cloned().unwrap_or_default())
    }
}

fn ids(ranking: &[Value]) -> Vec<Value> {
    ranking.iter().map(|c| c["rep_id"].clone()).collect()
}

fn reasons(candidate: &Value) -> Vec<String> {
    candidate["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reps_are_ranked_by_their_distance_from_the_task_with_the_distance_in_the_reasons()
-> anyhow::Result<()> {
    let world = World::start(3).await?;
    world.at(1, 10_000.0).await?;
    world.at(2, 1_000.0).await?;
    world.at(3, 5_000.0).await?;
    let task = world.task_here(None).await?;

    let ranking = world.ranking(task).await?;
    assert_eq!(ids(&ranking), vec![json!(world.rep(2)), json!(world.rep(3)), json!(world.rep(1))]);
    let distances: Vec<u64> = ranking.iter().map(|c| c["distance_m"].as_u64().expect("known")).collect();
    for (got, want) in distances.iter().zip([1_000, 5_000, 10_000]) {
        assert!(got.abs_diff(want) <= 2, "{got} vs {want}");
    }
    let first = reasons(&ranking[0]);
    assert!(first[0].starts_with("nearest: 1.0 km from last position at "), "{first:?}");
    assert!(reasons(&ranking[1])[0].starts_with("5.0 km from last position at "), "{ranking:?}");
    assert!(reasons(&ranking[2])[0].starts_with("10.0 km from last position at "), "{ranking:?}");
    // 100 − 2 × 1 km − 1.4 km by road; 100 − 10 − 7; 100 − 20 − 14.
    let scores: Vec<f64> = ranking.iter().map(|c| c["score"].as_f64().expect("a score")).collect();
    assert_eq!(scores, vec![96.6, 83.0, 66.0]);
    assert_eq!(ranking[0]["insertion_m"], json!(1400));
    assert_eq!(ranking[0]["open_tasks"], json!(0));
    assert_eq!(ranking[0]["name"], "rep2");

    let (status, two) = world
        .api
        .send("GET", &format!("/v1/tasks/{task}/candidates?limit=2"), Some(&world.org.manager_token), None)
        .await?;
    assert_eq!(status, StatusCode::OK, "{two}");
    assert_eq!(two.as_array().map(Vec::len), Some(2));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_whose_last_point_is_outside_working_hours_is_placed_at_their_base() -> anyhow::Result<()> {
    let world = World::start(3).await?;
    // Rep 1 was right next to the task, but outside working hours; their shops average 5 km.
    world.track(1, east(100.0), world.outside_hours_ms).await?;
    world.customer("C", east(4_000.0), Some(world.rep(1))).await?;
    world.customer("C", east(6_000.0), Some(world.rep(1))).await?;
    world.at(2, 3_000.0).await?;
    let task = world.task_here(None).await?;

    let ranking = world.ranking(task).await?;
    assert_eq!(ids(&ranking), vec![json!(world.rep(2)), json!(world.rep(1)), json!(world.rep(3))]);
    assert_eq!(
        reasons(&ranking[1])[0],
        "no position today within working hours: 5.0 km from base (centroid of 2 customers they own)"
    );
    assert!(reasons(&ranking[0])[0].starts_with("nearest: 3.0 km from last position"), "{ranking:?}");
    assert_eq!(ranking[2]["distance_m"], Value::Null, "rep 3 has no point and no customers");
    assert!(reasons(&ranking[2])[0].starts_with("position unknown"), "{ranking:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heavily_loaded_nearest_rep_drops_below_a_free_rep_a_bit_farther() -> anyhow::Result<()> {
    let world = World::start(2).await?;
    world.at(1, 1_000.0).await?;
    world.at(2, 3_000.0).await?;
    for _ in 0..6 {
        world.task(json!({ "kind": "repair", "title": "today's work", "assignee_id": world.rep(1) })).await?;
    }
    // Due in three days: not today's load.
    let later = fieldkit_server::now_ms() + 3 * 86_400_000;
    world
        .task(
            json!({ "kind": "repair", "title": "later", "assignee_id": world.rep(1), "deadline_ms": later }),
        )
        .await?;
    let task = world.task_here(None).await?;

    let ranking = world.ranking(task).await?;
    assert_eq!(ids(&ranking), vec![json!(world.rep(2)), json!(world.rep(1))]);
    // Free: 100 − 6 − 4.2 = 89.8; loaded: 100 − 2 − 1.4 − 6 × 3 = 78.6.
    assert_eq!(ranking[0]["score"], json!(89.8));
    assert_eq!(ranking[1]["score"], json!(78.6));
    assert_eq!(ranking[1]["open_tasks"], json!(6));
    assert!(reasons(&ranking[1]).contains(&"6 open tasks today".to_owned()), "{ranking:?}");
    assert!(reasons(&ranking[1])[0].starts_with("nearest: 1.0 km"), "still the nearest: {ranking:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customers_owner_gets_a_bonus_that_beats_a_nearer_rep() -> anyhow::Result<()> {
    let world = World::start(2).await?;
    world.at(1, 1_000.0).await?;
    world.at(2, 5_000.0).await?;
    let shop = world.customer("B", task_point(), Some(world.rep(2))).await?;
    let task = world.task(json!({ "kind": "customer_visit", "title": "visit", "customer_id": shop })).await?;

    let ranking = world.ranking(task).await?;
    assert_eq!(ids(&ranking), vec![json!(world.rep(2)), json!(world.rep(1))]);
    // Owner: 100 − 10 − 7 + 15 = 98; nearer rep: 96.6.
    assert_eq!(ranking[0]["score"], json!(98.0));
    assert_eq!(ranking[1]["score"], json!(96.6));
    assert!(reasons(&ranking[0]).contains(&"owns the task's customer".to_owned()), "{ranking:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extra_travel_is_the_cheapest_insertion_into_the_reps_plan_of_today() -> anyhow::Result<()> {
    let world = World::start(1).await?;
    world.at(1, 1_000.0).await?;
    let mut stops = Vec::new();
    let now = fieldkit_server::now_ms();
    for (k, east_m) in [3_000.0, 4_000.0].into_iter().enumerate() {
        let id = world
            .task(json!({ "kind": "repair", "title": "planned", "assignee_id": world.rep(1),
                          "place": { "point": east(east_m), "address": "" } }))
            .await?;
        let arrive_ms = now + (k as i64 + 1) * 30 * MINUTE_MS;
        stops.push(PlannedStop {
            task_id: id,
            customer_id: None,
            arrive_ms,
            depart_ms: arrive_ms + MINUTE_MS,
        });
    }
    let at = EventTime {
        device_ms: now,
        hlc: Hlc { wall_ms: now.unsigned_abs(), counter: 0, node: 7 },
        server_estimate_ms: Some(now),
    };
    let plan = DayPlan {
        id: FactId::new(),
        rep_id: world.rep(1),
        date: UtcOffset::CHINA.local(now).0,
        stops,
        unplanned: Vec::new(),
        distance_m: 4_200.0,
        proven_optimal: true,
        trigger: PlanTrigger::Requested,
        at,
    };
    world.push(1, Fact::DayPlan(plan)).await?;
    let task = world.task_here(None).await?;

    let ranking = world.ranking(task).await?;
    // Cheapest before the first stop, from the position 1 km east: 1.4 + 4.2 − 2.8 km by road.
    let added = ranking[0]["insertion_m"].as_u64().expect("known");
    assert!(added.abs_diff(2_800) <= 3, "{ranking:?}");
    assert_eq!(reasons(&ranking[0])[1], "adds 2.8 km to today's plan of 2 stops");
    assert_eq!(ranking[0]["open_tasks"], json!(2), "the planned tasks are today's load");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_assign_moves_the_task_from_the_old_reps_phone_to_the_best_reps_phone() -> anyhow::Result<()> {
    let world = World::start(2).await?;
    world.at(1, 10_000.0).await?;
    world.at(2, 1_000.0).await?;
    let task = world.task_here(Some(world.rep(1))).await?;
    let old_phone = world.server.phone("acme", "rep1").await?;
    let new_phone = world.server.phone("acme", "rep2").await?;
    old_phone.kit.sync_now().await?;
    new_phone.kit.sync_now().await?;
    assert!(old_phone.kit.my_tasks()?.iter().any(|t| t.id == task));
    assert!(new_phone.kit.my_tasks()?.iter().all(|t| t.id != task));

    let (status, answer) = world
        .api
        .send("POST", &format!("/v1/tasks/{task}/auto-assign"), Some(&world.org.manager_token), None)
        .await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["assignee_id"], json!(world.rep(2)));
    assert_eq!(answer["candidates"][0]["rep_id"], json!(world.rep(2)));
    assert_eq!(answer["candidates"].as_array().map(Vec::len), Some(2));

    old_phone.kit.sync_now().await?;
    new_phone.kit.sync_now().await?;
    assert!(old_phone.kit.my_tasks()?.iter().all(|t| t.id != task), "the old rep's phone lost it");
    let moved =
        new_phone.kit.my_tasks()?.into_iter().find(|t| t.id == task).expect("the new rep's phone has it");
    assert_eq!(moved.assignee_id, Some(world.rep(2)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_may_not_rank_or_assign_and_an_unknown_task_is_not_found() -> anyhow::Result<()> {
    let world = World::start(1).await?;
    let task = world.task_here(None).await?;
    let rep = world.api.login("acme", "rep1", PASSWORD).await?;

    let (status, answer) = world.candidates(task, &rep).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
    let (status, answer) =
        world.api.send("POST", &format!("/v1/tasks/{task}/auto-assign"), Some(&rep), None).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));

    let unknown = TaskId::new();
    let (status, answer) = world.candidates(unknown, &world.org.manager_token).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::NOT_FOUND, ErrorCode::NotFound));
    assert!(
        answer["error"]["message"].as_str().is_some_and(|m| m.contains(&unknown.to_string())),
        "{answer}"
    );
    let (status, answer) = world
        .api
        .send("POST", &format!("/v1/tasks/{unknown}/auto-assign"), Some(&world.org.manager_token), None)
        .await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::NOT_FOUND, ErrorCode::NotFound));
    Ok(())
}
