//! "Plan my day" on the phone: today's tasks ordered from where the rep is, saved as a fact
//! the manager sees, re-planned when a task arrives, navigable stop by stop.

use fieldkit_domain::geo::{LocalFrame, Weekday, WorkWindow, WorkingHours};
use fieldkit_domain::ids::{CustomerId, TaskId};
use fieldkit_domain::model::{OrgSettings, PlanTrigger, Role, UnplannedReason, WgsPoint};
use fieldkit_domain::nav::{AppIdentity, NavApp, Platform, TravelMode};
use fieldkit_domain::route::{OfflineModel, TravelMode as RouteMode};
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, log_to_stderr_if_asked};
use fieldkit_engine::PlanOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};

const START: (f64, f64) = (31.2304, 121.4737);

/// A point `east_km` east of the rep's start.
fn east(east_km: f64) -> WgsPoint {
    let start = WgsPoint::new(START.0, START.1).expect("valid");
    LocalFrame::new(start).to_point(east_km * 1000.0, 0.0).expect("valid")
}

/// Working hours all day, every day, in a time zone where it is now about 08:00: the day is
/// long enough whenever the test runs.
async fn morning_now(server: &TestServer, org: &TestOrg) -> anyhow::Result<()> {
    let utc_min = (fieldkit_server::now_ms() / 60_000).rem_euclid(1440);
    let mut offset = 480 - utc_min;
    if offset < -720 {
        offset += 1440;
    } else if offset >= 720 {
        offset -= 1440;
    }
    let hours = WorkingHours {
        offset: i32::try_from(offset)?.try_into()?,
        days: Weekday::ALL.to_vec(),
        windows: vec![WorkWindow::new(0, 1440)?],
        days_off: Vec::new(),
        extra_work_days: Vec::new(),
    };
    let settings = OrgSettings { working_hours: hours, ..OrgSettings::default() };
    server.user(&org.org, "admin", Role::Admin, org.manager.team_id.expect("a team")).await?;
    let api = Api::new(&server.url);
    let admin = api.login(&org.org.slug, "admin", PASSWORD).await?;
    let (status, answer) =
        api.send("PUT", "/v1/org/settings", Some(&admin), Some(&serde_json::to_value(&settings)?)).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    Ok(())
}

/// A customer at `point` and a visit task there for rep1; returns both ids.
async fn task_at(
    api: &Api,
    org: &TestOrg,
    name: &str,
    point: WgsPoint,
    deadline_ms: Option<i64>,
) -> anyhow::Result<(CustomerId, TaskId)> {
    let place = json!({ "point": { "lat": point.lat(), "lng": point.lng() }, "address": "" });
    let customer = json!({ "name": name, "grade": "B", "owner_id": org.reps[0].id, "place": place });
    let (_, customer) = api.send("POST", "/v1/customers", Some(&org.manager_token), Some(&customer)).await?;
    let task = json!({
        "kind": "customer_visit", "title": format!("Visit {name}"), "assignee_id": org.reps[0].id,
        "customer_id": customer["id"], "place": place, "deadline_ms": deadline_ms,
    });
    let (status, task) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&task)).await?;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    Ok((serde_json::from_value(customer["id"].clone())?, serde_json::from_value(task["id"].clone())?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_plans_the_day_in_the_best_order_and_the_manager_sees_it() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    morning_now(&server, &org).await?;
    let api = Api::new(&server.url);
    // Created out of order: 3 km, 1 km, 4 km, 2 km east of the start.
    let mut created = Vec::new();
    for km in [3.0, 1.0, 4.0, 2.0] {
        created.push(task_at(&api, &org, &format!("Shop {km} km"), east(km), None).await?);
    }
    let placeless = json!({ "kind": "customer_visit", "title": "Call back", "assignee_id": org.reps[0].id });
    let (_, placeless) = api.send("POST", "/v1/tasks", Some(&org.manager_token), Some(&placeless)).await?;
    let past = fieldkit_server::now_ms() - 60_000;
    let (_, too_late) = task_at(&api, &org, "Closed already", east(0.5), Some(past)).await?;

    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    assert_eq!(phone.kit.replan_needed()?, None, "no plan yet, nothing to re-plan");
    let start = WgsPoint::new(START.0, START.1)?;
    let plan = phone.kit.plan_my_day(start, PlanOptions { service_min: 20, ..PlanOptions::default() })?;

    let order: Vec<TaskId> = plan.stops.iter().map(|s| s.task_id).collect();
    let by_distance: Vec<TaskId> = [1, 3, 0, 2].iter().map(|&i| created[i].1).collect();
    assert_eq!(order, by_distance, "nearest first, along the street");
    assert!(plan.proven_optimal);
    let detour = OfflineModel::for_mode(RouteMode::Driving).detour_factor();
    assert!((plan.distance_m - 4_000.0 * detour).abs() < 1.0, "{} m", plan.distance_m);
    for pair in plan.stops.windows(2) {
        assert!(pair[0].depart_ms - pair[0].arrive_ms >= 20 * 60_000, "the visit takes its 20 minutes");
        assert!(pair[1].arrive_ms > pair[0].depart_ms);
    }
    let mut unplanned: Vec<(TaskId, UnplannedReason)> =
        plan.unplanned.iter().map(|u| (u.task_id, u.reason)).collect();
    unplanned.sort_by_key(|(_, r)| format!("{r:?}"));
    let placeless: TaskId = serde_json::from_value(placeless["id"].clone())?;
    assert_eq!(
        unplanned,
        [(too_late, UnplannedReason::DeadlineMissed), (placeless, UnplannedReason::NoPlace)]
    );
    assert_eq!(phone.kit.day_plan()?.map(|p| p.id), Some(plan.id));

    // The plan syncs: the manager sees the order.
    phone.kit.sync_now().await?;
    let (_, facts) = api.send("GET", "/v1/facts?kind=day_plan", Some(&org.manager_token), None).await?;
    let stored = &facts[0]["fact"]["body"];
    let stored_order: Vec<Value> =
        stored["stops"].as_array().expect("stops").iter().map(|s| s["task_id"].clone()).collect();
    assert_eq!(stored_order, by_distance.iter().map(|id| json!(id)).collect::<Vec<_>>());
    assert_eq!(stored["trigger"], "requested");

    // A task arrives: a re-plan is due, and after it, not any more.
    let (_, added) = task_at(&api, &org, "New shop", east(2.5), None).await?;
    phone.kit.sync_now().await?;
    assert_eq!(phone.kit.replan_needed()?, Some(PlanTrigger::TaskAdded));
    let again = phone.kit.plan_my_day(
        start,
        PlanOptions { service_min: 20, trigger: PlanTrigger::TaskAdded, ..PlanOptions::default() },
    )?;
    assert_eq!(again.stops.iter().position(|s| s.task_id == added), Some(2), "between 2 km and 3 km");
    assert_eq!(phone.kit.replan_needed()?, None);
    assert_eq!(phone.kit.day_plan()?.map(|p| p.id), Some(again.id), "the latest plan counts");

    // Navigation for the route, stop by stop.
    let customers: Vec<CustomerId> = again.stops.iter().filter_map(|s| s.customer_id).collect();
    let identity =
        AppIdentity { app_name: "FieldKit".into(), company: "acme".into(), tencent_referer: "KEY".into() };
    let links = phone.kit.navigation_links(
        &customers,
        None,
        TravelMode::Drive,
        &identity,
        Platform::Android,
        Some(vec![NavApp::AmapAndroid]),
    )?;
    assert_eq!(links[0].stops_covered, customers.len(), "Amap carries the whole day's route");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_with_no_tasks_plans_to_an_empty_route() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    morning_now(&server, &org).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let plan = phone.kit.plan_my_day(WgsPoint::new(START.0, START.1)?, PlanOptions::default())?;
    assert!(plan.stops.is_empty() && plan.unplanned.is_empty());
    assert_eq!(plan.distance_m, 0.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_road_matrix_from_the_app_steers_the_plan_and_a_bad_one_is_refused() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    morning_now(&server, &org).await?;
    let api = Api::new(&server.url);
    let mut created = Vec::new();
    for km in [1.0, 2.0, 3.0] {
        created.push(task_at(&api, &org, &format!("Shop {km} km"), east(km), None).await?);
    }
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let start = WgsPoint::new(START.0, START.1)?;

    // The road between the 1 km and the 2 km shops is closed: a 30 km detour.
    let points = phone.kit.plan_points(None)?;
    assert_eq!(points.len(), 3);
    let model = OfflineModel::for_mode(RouteMode::Driving);
    let closed = |p: WgsPoint, q: WgsPoint| {
        let pair = [p, q];
        pair.contains(&east(1.0)) && pair.contains(&east(2.0))
    };
    let (mut distance, mut duration) = (Vec::new(), Vec::new());
    for &p in &points {
        for &q in &points {
            distance.push(if closed(p, q) { 30_000.0 } else { model.distance_m(p, q) });
            duration.push(if closed(p, q) { 3_600.0 } else { model.duration_s(p, q) });
        }
    }
    let mut bad = distance.clone();
    bad[1] = f64::NAN;
    let refused = phone.kit.set_travel_matrix(points.clone(), bad, duration.clone());
    assert!(matches!(refused, Err(fieldkit_engine::Error::Route(_))), "{refused:?}");
    let plain = phone.kit.plan_my_day(start, PlanOptions::default())?;
    let plain_order: Vec<TaskId> = plain.stops.iter().map(|s| s.task_id).collect();
    assert_eq!(plain_order, created.iter().map(|c| c.1).collect::<Vec<_>>(), "the NaN matrix was not kept");

    phone.kit.set_travel_matrix(points, distance, duration)?;
    let steered = phone.kit.plan_my_day(start, PlanOptions::default())?;
    let order: Vec<TaskId> = steered.stops.iter().map(|s| s.task_id).collect();
    assert_eq!(order, [created[0].1, created[2].1, created[1].1], "1 km, on to 3 km, back to 2 km");
    assert!(steered.distance_m > plain.distance_m);
    Ok(())
}
