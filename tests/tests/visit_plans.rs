//! Visit plans by grade: the server plans each rep's customer visits over a period at the
//! cadence of the customer's grade, dispatches them as tasks that reach the reps' phones, and
//! reports planned against done per rep — real server over HTTP on loopback, real phones.

use std::collections::{BTreeMap, HashMap};

use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::geo::{CivilDate, UtcOffset, Weekday};
use fieldkit_domain::ids::{CustomerId, DeviceId, FactId, TaskId, UserId, VisitId};
use fieldkit_domain::model::{
    CheckIn, LocationFix, LocationProvider, Role, Task, TaskKind, TaskStatus, WgsPoint,
};
use fieldkit_domain::protocol::{ErrorCode, Fact, PROTOCOL_VERSION, SyncRequest};
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;
/// Four weeks, Monday 2025-03-03 to Sunday 2025-03-30 (China time, the default settings).
const PERIOD: (&str, &str) = ("2025-03-03", "2025-03-30");

fn date(y: i32, m: u8, d: u8) -> CivilDate {
    CivilDate::new(y, m, d).expect("a real date")
}

/// Unix milliseconds of `hour`:00 China time on `day`.
fn china_time(day: CivilDate, hour: i64) -> i64 {
    day.to_days() * DAY_MS + (hour - 8) * 3_600_000
}

/// The org of the scenarios and its customers: rep1 owns 3 A, 2 B and 2 C customers, rep2
/// 2 A, 1 B and 1 C.
struct Fixture {
    server: TestServer,
    api: Api,
    org: TestOrg,
    customers: Vec<(CustomerId, String, &'static str, UserId, WgsPoint)>,
}

impl Fixture {
    async fn new() -> anyhow::Result<Self> {
        let server = TestServer::start().await?;
        let org = server.org("acme", 2).await?;
        let api = Api::new(&server.url);
        let (rep1, rep2) = (org.reps[0].id, org.reps[1].id);
        let owned =
            [(rep1, "A", 3), (rep1, "B", 2), (rep1, "C", 2), (rep2, "A", 2), (rep2, "B", 1), (rep2, "C", 1)];
        let mut customers = Vec::new();
        for (rep, grade, count) in owned {
            for i in 0..count {
                let n = customers.len();
                let name = format!("Shop {grade}{i} of {}", if rep == rep1 { "rep1" } else { "rep2" });
                let point = WgsPoint::new(31.20 + 0.005 * n as f64, 121.45)?;
                let body = json!({ "name": name, "grade": grade, "owner_id": rep,
                                   "place": { "point": point, "address": format!("{n} Nanjing Road") } });
                let (status, customer) =
                    api.send("POST", "/v1/customers", Some(&org.manager_token), Some(&body)).await?;
                anyhow::ensure!(status == StatusCode::CREATED, "{status} {customer}");
                customers.push((serde_json::from_value(customer["id"].clone())?, name, grade, rep, point));
            }
        }
        Ok(Self { server, api, org, customers })
    }

    async fn generate(&self, token: &str, from: &str, to: &str) -> anyhow::Result<(StatusCode, Value)> {
        let body = json!({ "from": from, "to": to });
        self.api.send("POST", "/v1/visit-plans/generate", Some(token), Some(&body)).await
    }

    async fn coverage(&self, token: &str) -> anyhow::Result<(StatusCode, Value)> {
        let path = format!("/v1/reports/coverage?from={}&to={}", PERIOD.0, PERIOD.1);
        self.api.send("GET", &path, Some(token), None).await
    }
}

fn error_code(body: &Value) -> ErrorCode {
    serde_json::from_value(body["error"]["code"].clone()).expect("an error body with a known code")
}

/// `per_rep` of a generate answer as rep → tasks.
fn per_rep(answer: &Value) -> BTreeMap<UserId, u64> {
    answer["per_rep"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                serde_json::from_value(r["rep_id"].clone()).expect("a user id"),
                r["tasks"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// The local date of a task's deadline, checking that it is the end of that day.
fn due_date(task: &Task) -> CivilDate {
    let deadline = task.deadline_ms.expect("planned visits have a deadline");
    let (next_day, minute) = UtcOffset::CHINA.local(deadline + 1);
    assert_eq!(minute, 0, "{task:?} is due at the end of its day");
    next_day.pred()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visits_are_planned_at_each_grades_cadence_on_balanced_working_days_and_reach_the_phones()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let f = Fixture::new().await?;
    let (rep1, rep2) = (f.org.reps[0].id, f.org.reps[1].id);

    let (status, answer) = f.generate(&f.org.manager_token, PERIOD.0, PERIOD.1).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["created"], 3 * 4 + 2 * 2 + 2 + (2 * 4 + 2 + 1), "{answer}");
    assert_eq!(per_rep(&answer), BTreeMap::from([(rep1, 18), (rep2, 11)]));

    for (rep, username, expected) in [(rep1, "rep1", 18), (rep2, "rep2", 11)] {
        let phone = f.server.phone("acme", username).await?;
        phone.kit.sync_now().await?;
        let tasks = phone.kit.my_tasks()?;
        assert_eq!(tasks.len(), expected, "{username}'s phone has its planned visits");
        let mut per_customer: HashMap<CustomerId, Vec<CivilDate>> = HashMap::new();
        let mut per_day: BTreeMap<CivilDate, usize> = BTreeMap::new();
        for task in &tasks {
            let (id, name, grade, owner, point) = f
                .customers
                .iter()
                .find(|c| Some(c.0) == task.customer_id)
                .expect("every planned visit names a customer");
            assert_eq!(*owner, rep);
            assert_eq!(
                (task.kind, task.status, task.assignee_id),
                (TaskKind::CustomerVisit, TaskStatus::Open, Some(rep))
            );
            assert_eq!(task.title, format!("Visit {name}"));
            let every = match *grade {
                "A" => 7,
                "B" => 14,
                _ => 30,
            };
            assert_eq!(task.notes, format!("planned: grade {grade} every {every} days"));
            assert_eq!(task.place.as_ref().map(|p| p.point), Some(*point));
            let day = due_date(task);
            assert!((date(2025, 3, 3)..=date(2025, 3, 30)).contains(&day), "{day:?} is in the period");
            assert!(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun), "{day:?} is a working day");
            per_customer.entry(*id).or_default().push(day);
            *per_day.entry(day).or_default() += 1;
        }
        for (id, _, grade, owner, _) in f.customers.iter().filter(|c| c.3 == rep) {
            let mut days = per_customer.remove(id).unwrap_or_default();
            days.sort_unstable();
            let expected = match *grade {
                "A" => 4,
                "B" => 2,
                _ => 1,
            };
            assert_eq!(days.len(), expected, "grade {grade} customer of {owner}: {days:?}");
            let gaps: Vec<i64> = days.windows(2).map(|d| d[1].to_days() - d[0].to_days()).collect();
            assert!(gaps.iter().all(|&g| g >= if *grade == "A" { 7 } else { 14 }), "{days:?}");
        }
        // Spread over the 20 working days: no day has two visits more than another.
        let busiest = per_day.values().max().copied().unwrap_or_default();
        let working_days = (date(2025, 3, 3).to_days()..=date(2025, 3, 30).to_days())
            .map(CivilDate::from_days)
            .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun));
        let quietest = working_days.map(|d| per_day.get(&d).copied().unwrap_or(0)).min().unwrap_or_default();
        assert!(busiest - quietest <= 1, "{username}'s days are balanced: {per_day:?}");
    }

    // The same period again plans nothing new, and the phones keep what they have.
    let (status, answer) = f.generate(&f.org.manager_token, PERIOD.0, PERIOD.1).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["created"], 0, "{answer}");
    assert_eq!(per_rep(&answer), BTreeMap::from([(rep1, 0), (rep2, 0)]));
    let phone = f.server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    assert_eq!(phone.kit.my_tasks()?.len(), 18);

    // A period overlapping it carries the cadence on: six weeks from 2025-03-03 to
    // 2025-04-13 hold six weekly visits and three fortnightly ones, never closer than the
    // interval.
    let (status, answer) = f.generate(&f.org.manager_token, "2025-03-17", "2025-04-13").await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    phone.kit.sync_now().await?;
    let tasks = phone.kit.my_tasks()?;
    assert_eq!(Some(tasks.len() as u64 - 18), per_rep(&answer).get(&rep1).copied(), "{answer}");
    for (id, _, grade, _, _) in f.customers.iter().filter(|c| c.3 == rep1) {
        let mut days: Vec<i64> =
            tasks.iter().filter(|t| t.customer_id == Some(*id)).map(|t| due_date(t).to_days()).collect();
        days.sort_unstable();
        let (every, count) = match *grade {
            "A" => (7, Some(6)),
            "B" => (14, Some(3)),
            _ => (30, None),
        };
        assert!(days.windows(2).all(|d| d[1] - d[0] >= every), "grade {grade}: {days:?}");
        if let Some(count) = count {
            assert_eq!(days.len(), count, "grade {grade}: {days:?}");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_managers_and_admins_plan_visits_each_within_their_scope_and_periods_are_checked()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let f = Fixture::new().await?;
    let rep = f.api.login("acme", "rep1", PASSWORD).await?;
    let (status, answer) = f.generate(&rep, PERIOD.0, PERIOD.1).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
    assert_eq!(answer["error"]["message"], "role rep may not generate visit plans");
    let (status, answer) = f.coverage(&rep).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));

    let (status, answer) = f.generate(&f.org.manager_token, "2025-03-01", "2025-06-01").await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidRequest));
    assert_eq!(
        answer["error"]["message"],
        "period of 93 days from 2025-03-01 to 2025-06-01 is longer than 92 days"
    );
    let (status, answer) = f.generate(&f.org.manager_token, "2025-03-10", "2025-03-09").await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidRequest));
    assert_eq!(answer["error"]["message"], "period from 2025-03-10 to 2025-03-09 ends before it starts");
    let (status, answer) = f.generate(&f.org.manager_token, "2025-02-30", "2025-03-09").await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::BAD_REQUEST, ErrorCode::MalformedBody));
    assert_eq!(answer["error"]["message"], "from \"2025-02-30\" is not a calendar date in yyyy-mm-dd form");

    // A manager of another team plans nothing for this one.
    let other_team = fieldkit_domain::ids::TeamId::new();
    f.server.user(&f.org.org, "manager2", Role::Manager, other_team).await?;
    let manager2 = f.api.login("acme", "manager2", PASSWORD).await?;
    let (status, answer) = f.generate(&manager2, PERIOD.0, PERIOD.1).await?;
    assert_eq!((status, answer["created"].clone(), per_rep(&answer).len()), (StatusCode::OK, json!(0), 0));

    // An admin plans for the whole org.
    let team = f.org.manager.team_id.expect("the harness puts the manager in a team");
    f.server.user(&f.org.org, "admin", Role::Admin, team).await?;
    let admin = f.api.login("acme", "admin", PASSWORD).await?;
    let (status, answer) = f.generate(&admin, PERIOD.0, PERIOD.1).await?;
    assert_eq!((status, answer["created"].clone()), (StatusCode::OK, json!(29)), "{answer}");
    Ok(())
}

/// Pushes a check-in by `rep` at `customer` at `at_ms`, on the spot.
async fn push_check_in(
    api: &Api,
    token: &str,
    rep: UserId,
    customer: CustomerId,
    point: WgsPoint,
    at_ms: i64,
) -> anyhow::Result<()> {
    let check_in = CheckIn {
        id: FactId::new(),
        visit_id: VisitId::new(),
        customer_id: customer,
        task_id: None,
        rep_id: rep,
        fix: LocationFix {
            point,
            accuracy_m: 10.0,
            fix_time_ms: at_ms - 1_000,
            provider: LocationProvider::Gnss,
            is_mock: false,
        },
        at: EventTime {
            device_ms: at_ms,
            hlc: Hlc { wall_ms: at_ms.unsigned_abs(), counter: 0, node: 7 },
            server_estimate_ms: Some(at_ms),
        },
        note: None,
        assessment: None,
    };
    let request = SyncRequest {
        protocol: PROTOCOL_VERSION,
        device_id: DeviceId::new(),
        cursor: 0,
        pull_limit: 1,
        sent_at_ms: fieldkit_server::now_ms(),
        push: vec![Fact::CheckIn(check_in)],
        docs: Vec::new(),
    };
    let (status, answer) =
        api.send("POST", "/v1/sync", Some(token), Some(&serde_json::to_value(request)?)).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
    anyhow::ensure!(answer["acks"][0]["outcome"] == "stored", "{answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_counts_planned_visits_done_by_task_or_check_in_and_names_overdue_customers()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let f = Fixture::new().await?;
    let (rep1, rep2) = (f.org.reps[0].id, f.org.reps[1].id);
    let (status, answer) = f.generate(&f.org.manager_token, PERIOD.0, PERIOD.1).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // rep1 finishes two visits on the phone.
    let phone1 = f.server.phone("acme", "rep1").await?;
    phone1.kit.sync_now().await?;
    let tasks1 = phone1.kit.my_tasks()?;
    for task in &tasks1[..2] {
        phone1.kit.update_task(task.id, Some(TaskStatus::Done), None)?;
    }
    phone1.kit.sync_now().await?;

    // The manager marks rep2's B visit done; rep2 checks in at an A and at the C customer.
    let phone2 = f.server.phone("acme", "rep2").await?;
    phone2.kit.sync_now().await?;
    let tasks2 = phone2.kit.my_tasks()?;
    let of_grade =
        |grade: &str| f.customers.iter().filter(|c| c.3 == rep2 && c.2 == grade).cloned().collect::<Vec<_>>();
    let (b, a, c) = (of_grade("B")[0].clone(), of_grade("A")[0].clone(), of_grade("C")[0].clone());
    let b_task: TaskId =
        tasks2.iter().find(|t| t.customer_id == Some(b.0)).map(|t| t.id).expect("b is planned");
    let (status, answer) = f
        .api
        .send(
            "PATCH",
            &format!("/v1/tasks/{b_task}"),
            Some(&f.org.manager_token),
            Some(&json!({ "status": "done" })),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let rep2_token = f.api.login("acme", "rep2", PASSWORD).await?;
    let a_visit_ms = china_time(date(2025, 3, 4), 10);
    push_check_in(&f.api, &rep2_token, rep2, a.0, a.4, a_visit_ms).await?;
    push_check_in(&f.api, &rep2_token, rep2, c.0, c.4, china_time(date(2025, 3, 20), 15)).await?;
    // A check-in outside the period counts for nothing.
    push_check_in(&f.api, &rep2_token, rep2, b.0, b.4, china_time(date(2025, 4, 2), 9)).await?;

    let (status, report) = f.coverage(&f.org.manager_token).await?;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["from"].clone(), report["to"].clone()), (json!(PERIOD.0), json!(PERIOD.1)));
    let rep = |id: UserId| {
        report["reps"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["rep_id"] == json!(id))
            .cloned()
            .expect("listed")
    };
    let (r1, r2) = (rep(rep1), rep(rep2));
    assert_eq!((r1["planned"].as_u64(), r1["done"].as_u64()), (Some(18), Some(2)), "{r1}");
    assert!((r1["coverage"].as_f64().unwrap_or_default() - 2.0 / 18.0).abs() < 1e-9, "{r1}");
    assert_eq!((r2["planned"].as_u64(), r2["done"].as_u64()), (Some(11), Some(3)), "{r2}");
    assert!((r2["coverage"].as_f64().unwrap_or_default() - 3.0 / 11.0).abs() < 1e-9, "{r2}");
    assert_eq!(r1["name"], "rep1");

    // As of the period's end: rep1 visited nobody; rep2's C customer was seen 10 days before
    // (monthly: fine), its A customer 26 days before (weekly: overdue).
    let overdue = |r: &Value| -> Vec<(CustomerId, Option<i64>)> {
        r["overdue"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| {
                (
                    serde_json::from_value(o["customer_id"].clone()).expect("an id"),
                    o["last_visit_ms"].as_i64(),
                )
            })
            .collect()
    };
    assert_eq!(overdue(&r1).len(), 7, "{r1}");
    assert!(overdue(&r1).iter().all(|(_, last)| last.is_none()));
    let r2_overdue = overdue(&r2);
    assert_eq!(r2_overdue.len(), 3, "{r2}");
    assert!(!r2_overdue.iter().any(|(id, _)| *id == c.0), "the C customer is not overdue: {r2}");
    assert!(r2_overdue.contains(&(a.0, Some(a_visit_ms))), "{r2}");
    let a_entry = r2["overdue"].as_array().into_iter().flatten().find(|o| o["customer_id"] == json!(a.0));
    assert_eq!(
        a_entry.map(|o| (o["grade"].clone(), o["interval_days"].clone())),
        Some((json!("A"), json!(7)))
    );
    Ok(())
}
