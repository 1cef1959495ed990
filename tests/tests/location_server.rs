//! Location you can trust, on the server: org settings, the server's own verdict on pushed
//! check-ins, location points and their retention, and the managers' day report — real
//! server over HTTP on loopback, real SQLite files, facts pushed as a phone pushes them.

use std::time::Duration;

use fieldkit_domain::checkin::{CheckInAssessment, Verdict};
use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::geo::{LocalFrame, UtcOffset};
use fieldkit_domain::ids::{CustomerId, DeviceId, FactId, UserId, VisitId};
use fieldkit_domain::model::{
    CheckIn, CheckOut, LocationFix, LocationProvider, OrgSettings, Role, TrackBatch, TrackPoint, WgsPoint,
};
use fieldkit_domain::protocol::{ErrorCode, Fact, PROTOCOL_VERSION};
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, log_to_stderr_if_asked};
use fieldkit_server::Limits;
use fieldkit_server::storage::{PointSource, TrackPrune};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;
const SHOP: (f64, f64) = (31.2304, 121.4737);

fn shop() -> WgsPoint {
    WgsPoint::new(SHOP.0, SHOP.1).expect("the shop is on the globe")
}

/// A point `north_m` metres north of the shop.
fn north_of_shop(north_m: f64) -> WgsPoint {
    LocalFrame::new(shop()).to_point(0.0, north_m).expect("on the globe")
}

/// An event at device time `device_ms` on a phone whose clock agrees with the server.
fn event(device_ms: i64) -> EventTime {
    EventTime {
        device_ms,
        hlc: Hlc { wall_ms: device_ms.unsigned_abs(), counter: 0, node: 7 },
        server_estimate_ms: Some(device_ms),
    }
}

fn fix(point: WgsPoint, accuracy_m: f64, fix_time_ms: i64) -> LocationFix {
    LocationFix { point, accuracy_m, fix_time_ms, provider: LocationProvider::Gnss, is_mock: false }
}

/// A check-in at device time `at_ms` with a fix taken a second earlier, no verdict, no note.
fn check_in(rep: UserId, customer: CustomerId, point: WgsPoint, at_ms: i64) -> CheckIn {
    CheckIn {
        id: FactId::new(),
        visit_id: VisitId::new(),
        customer_id: customer,
        task_id: None,
        rep_id: rep,
        fix: fix(point, 10.0, at_ms - 1_000),
        at: event(at_ms),
        note: None,
        assessment: None,
    }
}

fn check_out(of: &CheckIn, point: WgsPoint, at_ms: i64) -> CheckOut {
    CheckOut {
        id: FactId::new(),
        visit_id: of.visit_id,
        customer_id: of.customer_id,
        rep_id: of.rep_id,
        fix: fix(point, 10.0, at_ms - 1_000),
        at: event(at_ms),
        automatic: false,
        assessment: None,
        sop_missing: Vec::new(),
    }
}

fn batch(rep: UserId, points: Vec<TrackPoint>) -> TrackBatch {
    TrackBatch { id: FactId::new(), rep_id: rep, points }
}

/// Pushes `facts` as `token`'s phone; every one must be stored or already there.
async fn push(api: &Api, token: &str, facts: Vec<Fact>) -> anyhow::Result<Value> {
    api.push_facts(token, facts, &["stored", "already_stored"]).await
}

/// Creates a customer (no owner: every member sees it) with a 150 m geofence.
async fn create_customer(
    api: &Api,
    org: &TestOrg,
    name: &str,
    point: WgsPoint,
) -> anyhow::Result<CustomerId> {
    let body = json!({ "name": name, "grade": "A", "geofence_radius_m": 150,
                       "place": { "point": point, "address": "" } });
    let (status, customer) = api.send("POST", "/v1/customers", Some(&org.manager_token), Some(&body)).await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {customer}");
    Ok(serde_json::from_value(customer["id"].clone())?)
}

/// The listing entry of fact `id` in `GET /v1/facts{query}` as `token`.
async fn listed(api: &Api, token: &str, query: &str, id: FactId) -> anyhow::Result<Option<Value>> {
    let (status, facts) = api.send("GET", &format!("/v1/facts{query}"), Some(token), None).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {facts}");
    Ok(facts.as_array().into_iter().flatten().find(|f| f["fact"]["body"]["id"] == json!(id)).cloned())
}

fn error_code(body: &Value) -> ErrorCode {
    serde_json::from_value(body["error"]["code"].clone()).expect("an error body with a known code")
}

/// Logs in a new admin of `org` (in the manager's team).
async fn admin(server: &TestServer, api: &Api, org: &TestOrg) -> anyhow::Result<String> {
    let team = org.manager.team_id.expect("the harness puts the manager in a team");
    server.user(&org.org, "admin", Role::Admin, team).await?;
    api.login(&org.org.slug, "admin", PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_settings_default_until_an_admin_replaces_them_and_reach_every_phone() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let admin = admin(&server, &api, &org).await?;

    let (status, body) = api.send("GET", "/v1/org/settings", Some(&rep), None).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_value::<OrgSettings>(body)?, OrgSettings::default());

    let mut wanted = OrgSettings { track_retention_days: 7, ..OrgSettings::default() };
    wanted.check_in.default_radius_m = 300.0;
    let body = serde_json::to_value(&wanted)?;
    let (status, answer) = api.send("PUT", "/v1/org/settings", Some(&org.manager_token), Some(&body)).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));
    let (status, answer) = api.send("PUT", "/v1/org/settings", Some(&rep), Some(&body)).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, ErrorCode::Forbidden));

    let (status, answer) = api.send("PUT", "/v1/org/settings", Some(&admin), Some(&body)).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(serde_json::from_value::<OrgSettings>(answer)?, wanted);
    let (_, body) = api.send("GET", "/v1/org/settings", Some(&rep), None).await?;
    assert_eq!(serde_json::from_value::<OrgSettings>(body)?, wanted);

    // The settings travel down the feed to every phone.
    let request = json!({ "protocol": PROTOCOL_VERSION, "device_id": DeviceId::new(), "cursor": 0,
                          "pull_limit": 100, "sent_at_ms": 0, "push": [] });
    let (_, answer) = api.send("POST", "/v1/sync", Some(&rep), Some(&request)).await?;
    let upsert = answer["feed"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["change"]["record"]["kind"] == "org_settings")
        .expect("the settings are in the rep's feed");
    assert_eq!(serde_json::from_value::<OrgSettings>(upsert["change"]["record"]["body"].clone())?, wanted);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_org_settings_are_refused_and_change_nothing() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let admin = admin(&server, &api, &org).await?;

    // Breaks a rule of `OrgSettings::validate`: 422, with the domain's message.
    let mut zero_days = serde_json::to_value(OrgSettings::default())?;
    zero_days["track_retention_days"] = json!(0);
    let (status, answer) = api.send("PUT", "/v1/org/settings", Some(&admin), Some(&zero_days)).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidRequest));
    assert_eq!(answer["error"]["message"], "track retention of 0 days must be between 1 and 3650");
    // A value its type refuses to hold (a UTC offset of 83 hours): 400, malformed.
    let mut bad_offset = serde_json::to_value(OrgSettings::default())?;
    bad_offset["working_hours"]["offset"] = json!(5_000);
    let (status, answer) = api.send("PUT", "/v1/org/settings", Some(&admin), Some(&bad_offset)).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::BAD_REQUEST, ErrorCode::MalformedBody));

    let (_, body) = api.send("GET", "/v1/org/settings", Some(&admin), None).await?;
    assert_eq!(serde_json::from_value::<OrgSettings>(body)?, OrgSettings::default());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_flag_follows_the_org_settings() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let admin = admin(&server, &api, &org).await?;
    let customer = create_customer(&api, &org, "Shop", shop()).await?;
    let now = fieldkit_server::now_ms();
    let skewed = |at_ms: i64| {
        let mut c = check_in(org.reps[0].id, customer, shop(), at_ms);
        // The device clock runs five minutes ahead of the server-time estimate.
        c.at.server_estimate_ms = Some(at_ms - 5 * 60_000);
        c
    };

    let before = skewed(now - 60_000);
    push(&api, &rep, vec![Fact::CheckIn(before.clone())]).await?;
    let mut settings = OrgSettings::default();
    settings.check_in.max_clock_skew_ms = 10 * 60_000;
    let (status, _) =
        api.send("PUT", "/v1/org/settings", Some(&admin), Some(&serde_json::to_value(&settings)?)).await?;
    assert_eq!(status, StatusCode::OK);
    let after = skewed(now);
    push(&api, &rep, vec![Fact::CheckIn(after.clone())]).await?;

    let before = listed(&api, &org.manager_token, "", before.id).await?.expect("listed");
    let after = listed(&api, &org.manager_token, "", after.id).await?.expect("listed");
    assert_eq!(
        (before["clock_flagged"].clone(), after["clock_flagged"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(before["server_assessment"]["verdict"]["reasons"][0]["kind"], "device_clock_off");
    assert_eq!(after["server_assessment"]["verdict"]["outcome"], "accepted");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_far_check_in_without_a_reason_is_rejected_by_the_server_and_the_phones_accepted_is_kept()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let customer = create_customer(&api, &org, "Shop", shop()).await?;
    let now = fieldkit_server::now_ms();

    // 1 km away, no stated reason, but the phone says all is well.
    let mut far = check_in(org.reps[0].id, customer, north_of_shop(1_000.0), now - 60_000);
    far.assessment = Some(CheckInAssessment { verdict: Verdict::Accepted, distance_m: 12.0, limit_m: 160.0 });
    let near = check_in(org.reps[0].id, customer, north_of_shop(20.0), now);
    let answer = push(&api, &rep, vec![Fact::CheckIn(far.clone()), Fact::CheckIn(near.clone())]).await?;
    assert_eq!(answer["acks"][0]["outcome"], "stored", "a verdict never refuses a fact");

    let listed_far = listed(&api, &org.manager_token, "?kind=check_in", far.id).await?.expect("listed");
    assert_eq!(listed_far["phone_assessment"]["verdict"]["outcome"], "accepted");
    assert_eq!(listed_far["fact"]["body"]["assessment"]["verdict"]["outcome"], "accepted", "kept as pushed");
    let server_verdict = &listed_far["server_assessment"]["verdict"];
    assert_eq!(server_verdict["outcome"], "rejected");
    assert_eq!(server_verdict["needs_stated_reason"], true);
    assert_eq!(server_verdict["rejected_by"], json!(["too_far"]));
    let distance = listed_far["server_assessment"]["distance_m"].as_f64().expect("a distance");
    assert!((distance - 1_000.0).abs() < 2.0, "{distance}");
    assert_eq!(listed_far["verdicts_disagree"], true);

    let listed_near = listed(&api, &org.manager_token, "?kind=check_in", near.id).await?.expect("listed");
    assert_eq!(listed_near["server_assessment"]["verdict"]["outcome"], "accepted");
    assert_eq!(listed_near["phone_assessment"], Value::Null);
    assert_eq!(listed_near["verdicts_disagree"], false, "no phone verdict: nothing to disagree with");

    // The review queue: flagged or rejected by either side.
    let flagged = "?kind=check_in&flagged=true";
    assert!(listed(&api, &org.manager_token, flagged, far.id).await?.is_some());
    assert!(listed(&api, &org.manager_token, flagged, near.id).await?.is_none());
    assert!(listed(&api, &org.manager_token, "?kind=check_in&flagged=false", near.id).await?.is_some());
    let (status, answer) =
        api.send("GET", "/v1/facts?flagged=perhaps", Some(&org.manager_token), None).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::BAD_REQUEST, ErrorCode::MalformedBody));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mock_location_check_in_is_flagged_by_the_server() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let customer = create_customer(&api, &org, "Shop", shop()).await?;
    let mut mock = check_in(org.reps[0].id, customer, shop(), fieldkit_server::now_ms());
    mock.fix.is_mock = true;
    push(&api, &rep, vec![Fact::CheckIn(mock.clone())]).await?;

    let listed = listed(&api, &org.manager_token, "?kind=check_in&flagged=true", mock.id).await?;
    let listed = listed.expect("in the review queue");
    assert_eq!(listed["server_assessment"]["verdict"]["outcome"], "flagged");
    assert_eq!(listed["server_assessment"]["verdict"]["reasons"], json!([{ "kind": "mock_location" }]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impossible_speed_is_computed_from_a_previously_pushed_track() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let customer = create_customer(&api, &org, "Shop", shop()).await?;
    let rep_id = org.reps[0].id;
    let now = fieldkit_server::now_ms();

    // The track puts the rep 20 km away a minute before the check-in's fix, and (later than
    // the fix, so not "previous") at the shop.
    let track = batch(
        rep_id,
        vec![
            TrackPoint { point: north_of_shop(-20_000.0), accuracy_m: 10.0, time_ms: now - 61_000 },
            TrackPoint { point: shop(), accuracy_m: 10.0, time_ms: now + 10_000 },
        ],
    );
    push(&api, &rep, vec![Fact::Track(track)]).await?;
    let teleport = check_in(rep_id, customer, shop(), now);
    push(&api, &rep, vec![Fact::CheckIn(teleport.clone())]).await?;

    let listed = listed(&api, &org.manager_token, "?kind=check_in", teleport.id).await?.expect("listed");
    let verdict = &listed["server_assessment"]["verdict"];
    assert_eq!(verdict["outcome"], "flagged", "{listed}");
    assert_eq!(verdict["reasons"][0]["kind"], "impossible_speed");
    let speed = verdict["reasons"][0]["speed_mps"].as_f64().expect("a speed");
    assert!((speed - 19_980.0 / 60.0).abs() < 5.0, "{speed}");

    // Its own fix now counts as the rep's latest point for what follows.
    let latest = server.storage.latest_point_before(org.org.id, rep_id, now + 5_000).await?;
    let latest = latest.expect("a point");
    assert_eq!((latest.source, latest.fact_id), (PointSource::CheckIn, teleport.id));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_for_an_unknown_customer_is_kept_and_marked_unjudged() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let unknown = CustomerId::new();
    let mut lost = check_in(org.reps[0].id, unknown, shop(), fieldkit_server::now_ms());
    lost.assessment = Some(CheckInAssessment { verdict: Verdict::Accepted, distance_m: 3.0, limit_m: 210.0 });
    let answer = push(&api, &rep, vec![Fact::CheckIn(lost.clone())]).await?;
    assert_eq!(answer["acks"][0]["outcome"], "stored");

    let listed = listed(&api, &org.manager_token, "?kind=check_in", lost.id).await?.expect("kept");
    assert_eq!(listed["server_assessment"], json!({ "unjudged": format!("customer {unknown} not found") }));
    assert_eq!(listed["verdicts_disagree"], false, "an unjudged fact disagrees with nothing");
    Ok(())
}

/// A generated working day of one rep: positions in metres east and north of a point in
/// Shanghai, a fix every 10 s while driving (11 m/s) and every 30 s while stationary, with
/// deterministic jitter.
struct Day {
    frame: LocalFrame,
    t_ms: i64,
    at: (f64, f64),
    seed: u64,
    points: Vec<TrackPoint>,
    /// Ground truth: metres driven while recording.
    driven_m: f64,
}

impl Day {
    fn noise(&mut self) -> f64 {
        // xorshift64*, mapped to [-1, 1).
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (self.seed >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    fn point(&self, (x, y): (f64, f64)) -> WgsPoint {
        self.frame.to_point(x, y).expect("on the globe")
    }

    fn here(&self) -> WgsPoint {
        self.point(self.at)
    }

    fn fix(&mut self, accuracy_m: f64, jitter_m: f64) {
        let (dx, dy) = (self.noise() * jitter_m, self.noise() * jitter_m);
        let point = self.point((self.at.0 + dx, self.at.1 + dy));
        self.points.push(TrackPoint { point, accuracy_m, time_ms: self.t_ms });
    }

    fn drive(&mut self, to: (f64, f64)) {
        let (dx, dy) = (to.0 - self.at.0, to.1 - self.at.1);
        let length = dx.hypot(dy);
        let steps = (length / 110.0).ceil().max(1.0);
        for _ in 0..steps as usize {
            self.at = (self.at.0 + dx / steps, self.at.1 + dy / steps);
            self.t_ms += (length / 11.0 * 1_000.0 / steps) as i64;
            self.fix(8.0, 3.0);
        }
        self.driven_m += length;
    }

    /// Moves to `to` over `minutes` without a single fix (a tunnel, a dead phone).
    fn vanish(&mut self, to: (f64, f64), minutes: i64) {
        self.at = to;
        self.t_ms += minutes * 60_000;
    }

    fn stay(&mut self, minutes: i64) {
        for _ in 0..minutes * 2 {
            self.t_ms += 30_000;
            self.fix(20.0, 8.0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_day_report_finds_the_stays_the_visit_without_check_in_the_check_in_without_stay_and_the_mileage()
-> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let rep_id = org.reps[0].id;

    // Two days ago in the org's time (China, the default), from 09:00.
    let date = UtcOffset::CHINA.local(fieldkit_server::now_ms() - 2 * DAY_MS).0;
    let date_text = date.to_string();
    let day_start = date.to_days() * DAY_MS - 8 * 3_600_000;
    let mut day = Day {
        frame: LocalFrame::new(WgsPoint::new(31.2, 121.4).expect("valid")),
        t_ms: day_start + 9 * 3_600_000,
        at: (0.0, 0.0),
        seed: 0x9e37_79b9_7f4a_7c15,
        points: Vec::new(),
        driven_m: 0.0,
    };
    let (a, b, c) = ((3_000.0, 2_000.0), (6_000.0, 4_000.0), (4_000.0, 9_000.0));
    let shop_a = create_customer(&api, &org, "Shop A", day.point(a)).await?;
    let shop_b = create_customer(&api, &org, "Shop B", day.point(b)).await?;
    let shop_c = create_customer(&api, &org, "Shop C", day.point(c)).await?;
    // A fourth customer, never visited.
    let shop_d = create_customer(&api, &org, "Shop D", day.point((0.0, 5_000.0))).await?;

    let mut check_ins = Vec::new();
    let mut check_outs = Vec::new();
    // Shop A: checked in and out, 12 minutes there.
    day.drive(a);
    let arrived = day.t_ms;
    day.stay(12);
    let at_a = check_in(rep_id, shop_a, day.point(a), arrived + 60_000);
    check_outs.push(check_out(&at_a, day.point(a), day.t_ms - 60_000));
    check_ins.push(at_a.clone());
    // On the way to B: a check-in at shop D from the road (no stay there), and a fix the
    // filter drops for its accuracy.
    day.drive((4_500.0, 3_000.0));
    check_ins.push(check_in(rep_id, shop_d, day.here(), day.t_ms + 5_000));
    day.fix(500.0, 0.0);
    day.drive(b);
    // Shop B: 12 minutes there, no check-in.
    day.stay(12);
    // On the way to C, 20 minutes and 2 km without a fix.
    day.drive((6_000.0, 6_000.0));
    day.vanish((6_000.0, 8_000.0), 20);
    day.drive(c);
    let arrived = day.t_ms;
    day.stay(12);
    check_ins.push(check_in(rep_id, shop_c, day.point(c), arrived + 60_000));
    let day_points = day.points.len();
    // A fix of the evening before, in another local day.
    let mut points =
        vec![TrackPoint { point: day.point((0.0, 0.0)), accuracy_m: 10.0, time_ms: day_start - 3_600_000 }];
    points.extend(day.points.iter().copied());

    let mut facts: Vec<Fact> = points.chunks(100).map(|p| Fact::Track(batch(rep_id, p.to_vec()))).collect();
    facts.extend(check_ins.iter().cloned().map(Fact::CheckIn));
    facts.extend(check_outs.iter().cloned().map(Fact::CheckOut));
    push(&api, &rep, facts).await?;

    let path = format!("/v1/reports/day?rep={rep_id}&date={date_text}");
    let (status, report) = api.send("GET", &path, Some(&org.manager_token), None).await?;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["rep"], json!(rep_id));
    assert_eq!(report["date"], date_text);
    assert_eq!(report["points_recorded"], day_points, "the evening before is another day");
    assert_eq!(report["dropped"], json!({ "poor_accuracy": 1 }));
    assert_eq!(report["points_kept"], day_points - 1);

    let customer_of = |stay: &Value| stay["customer"]["id"].clone();
    let stays = report["stays"].as_array().expect("stays");
    assert_eq!(
        stays.iter().map(customer_of).collect::<Vec<_>>(),
        vec![json!(shop_a), json!(shop_b), json!(shop_c)]
    );
    assert_eq!(stays[1]["customer"]["name"], "Shop B");
    for stay in stays {
        let minutes = stay["duration_ms"].as_f64().expect("a duration") / 60_000.0;
        assert!((10.0..=14.0).contains(&minutes), "a stay of {minutes} min: {stay}");
    }
    let unreported = report["visits_without_check_in"].as_array().expect("a list");
    assert_eq!(unreported.iter().map(customer_of).collect::<Vec<_>>(), vec![json!(shop_b)]);
    let unsupported = report["check_ins_without_stay"].as_array().expect("a list");
    assert_eq!(unsupported.len(), 1, "{unsupported:?}");
    assert_eq!(unsupported[0]["customer_id"], json!(shop_d));
    assert_eq!(unsupported[0]["visit_id"], json!(check_ins[1].visit_id));

    let listed: Vec<(Value, Value, Value)> = report["check_ins"]
        .as_array()
        .expect("check-ins")
        .iter()
        .map(|c| (c["customer_id"].clone(), c["server_verdict"].clone(), c["duration_ms"].clone()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (json!(shop_a), json!("accepted"), json!(check_outs[0].at.device_ms - at_a.at.device_ms)),
            (json!(shop_d), json!("rejected"), Value::Null),
            (json!(shop_c), json!("accepted"), Value::Null),
        ]
    );

    let mileage = report["mileage_m"].as_f64().expect("mileage");
    assert!(
        (mileage - day.driven_m).abs() / day.driven_m < 0.10,
        "mileage {mileage:.0} m, driven {:.0} m",
        day.driven_m
    );
    let gaps = report["gaps"].as_array().expect("gaps");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let gap_ms = gaps[0]["to_ms"].as_i64().expect("ms") - gaps[0]["from_ms"].as_i64().expect("ms");
    assert!(gap_ms >= 20 * 60_000, "{gaps:?}");
    assert!((gaps[0]["straight_m"].as_f64().expect("metres") - 2_000.0).abs() < 150.0, "{gaps:?}");

    // Thinned for drawing: the corners of the drive (A, B, the ends of the hole, C) remain.
    let simplified = report["simplified"].as_array().expect("a line");
    assert!((4..day_points / 4).contains(&simplified.len()), "{} of {day_points}", simplified.len());
    let first = simplified[0].as_array().expect("[lat, lng, time_ms]");
    assert_eq!(first.len(), 3);
    assert!(first[2].as_i64().is_some_and(|t| t >= day_start && t < day_start + DAY_MS));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_report_is_for_the_rep_their_manager_and_admins_only() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let api = Api::new(&server.url);
    let rep1 = org.reps[0].id;
    let path = format!("/v1/reports/day?rep={rep1}&date=2025-03-03");
    let other_team = fieldkit_domain::ids::TeamId::new();
    server.user(&org.org, "manager2", Role::Manager, other_team).await?;
    let admin = admin(&server, &api, &org).await?;

    for (who, expected) in [
        ("rep1", StatusCode::OK),
        ("rep2", StatusCode::FORBIDDEN),
        ("manager", StatusCode::OK),
        ("manager2", StatusCode::FORBIDDEN),
    ] {
        let token = api.login("acme", who, PASSWORD).await?;
        let (status, answer) = api.send("GET", &path, Some(&token), None).await?;
        assert_eq!(status, expected, "{who}: {answer}");
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(error_code(&answer), ErrorCode::Forbidden);
        }
    }
    let (status, report) = api.send("GET", &path, Some(&admin), None).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((report["points_recorded"].clone(), report["stays"].clone()), (json!(0), json!([])));

    let unknown = format!("/v1/reports/day?rep={}&date=2025-03-03", UserId::new());
    let (status, answer) = api.send("GET", &unknown, Some(&admin), None).await?;
    assert_eq!((status, error_code(&answer)), (StatusCode::NOT_FOUND, ErrorCode::NotFound));
    for bad in ["2025-02-30", "yesterday", "2025-3-3"] {
        let path = format!("/v1/reports/day?rep={rep1}&date={bad}");
        let (status, answer) = api.send("GET", &path, Some(&admin), None).await?;
        assert_eq!(
            (status, error_code(&answer)),
            (StatusCode::BAD_REQUEST, ErrorCode::MalformedBody),
            "{bad}"
        );
    }
    Ok(())
}

/// Every location point of `rep` the server holds.
async fn all_points(server: &TestServer, org: &TestOrg, rep: UserId) -> anyhow::Result<Vec<i64>> {
    let points = server.storage.location_points(org.org.id, rep, i64::MIN, i64::MAX, None).await?;
    Ok(points.iter().map(|p| p.point.time_ms).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn track_retention_prunes_old_points_and_batches_and_keeps_recent_ones() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let rep_id = org.reps[0].id;
    let now = fieldkit_server::now_ms();
    let at = |ago_ms: i64| TrackPoint { point: shop(), accuracy_m: 10.0, time_ms: now - ago_ms };

    // Past the default 30 days on arrival: acknowledged, but not kept anywhere.
    let expired = batch(rep_id, vec![at(40 * DAY_MS)]);
    let mixed = batch(rep_id, vec![at(40 * DAY_MS), at(10 * DAY_MS)]);
    let recent = batch(rep_id, vec![at(3_600_000)]);
    let facts = vec![Fact::Track(expired.clone()), Fact::Track(mixed.clone()), Fact::Track(recent.clone())];
    push(&api, &rep, facts).await?;
    assert_eq!(all_points(&server, &org, rep_id).await?, vec![now - 10 * DAY_MS, now - 3_600_000]);
    let stored_mixed = listed(&api, &org.manager_token, "?kind=track", mixed.id).await?.expect("stored");
    assert_eq!(stored_mixed["fact"]["body"]["points"].as_array().map(Vec::len), Some(1), "stripped");
    let stored_expired = listed(&api, &org.manager_token, "?kind=track", expired.id).await?.expect("stored");
    assert_eq!(stored_expired["fact"]["body"]["points"], json!([]));
    // The phone's retry of the same batch is recognised although the stored body lost points.
    let answer = push(&api, &rep, vec![Fact::Track(mixed.clone())]).await?;
    assert_eq!(answer["acks"][0]["outcome"], "already_stored");

    // 25 days on, the cutoff is 5 days ago: the mixed and expired batches go, the recent stays.
    let results = fieldkit_server::retention::prune_all(server.storage.as_ref(), now + 25 * DAY_MS).await?;
    let ours = results.iter().find(|r| r.org.id == org.org.id).expect("the org was pruned");
    assert_eq!(ours.pruned, TrackPrune { points: 1, facts: 2 });
    assert_eq!(all_points(&server, &org, rep_id).await?, vec![now - 3_600_000]);
    let (_, tracks) = api.send("GET", "/v1/facts?kind=track", Some(&org.manager_token), None).await?;
    let ids: Vec<Value> =
        tracks.as_array().into_iter().flatten().map(|f| f["fact"]["body"]["id"].clone()).collect();
    assert_eq!(ids, vec![json!(recent.id)]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_prunes_on_its_own_once_an_admin_shortens_the_retention() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let limits = Limits { track_prune_every: Duration::from_secs(1), ..Limits::default() };
    let server = TestServer::start_with(limits).await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let rep = api.login("acme", "rep1", PASSWORD).await?;
    let admin = admin(&server, &api, &org).await?;
    let rep_id = org.reps[0].id;
    let now = fieldkit_server::now_ms();
    let at = |ago_ms: i64| TrackPoint { point: shop(), accuracy_m: 10.0, time_ms: now - ago_ms };
    push(&api, &rep, vec![Fact::Track(batch(rep_id, vec![at(10 * DAY_MS), at(60_000)]))]).await?;
    assert_eq!(all_points(&server, &org, rep_id).await?.len(), 2);

    let settings = OrgSettings { track_retention_days: 5, ..OrgSettings::default() };
    let (status, _) =
        api.send("PUT", "/v1/org/settings", Some(&admin), Some(&serde_json::to_value(&settings)?)).await?;
    assert_eq!(status, StatusCode::OK);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while all_points(&server, &org, rep_id).await?.len() != 1 {
        assert!(std::time::Instant::now() < deadline, "the hourly prune never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(all_points(&server, &org, rep_id).await?, vec![now - 60_000]);
    server.stop().await
}
