//! Location you can trust, from the phone: check-in verdicts under the org's rules (and the
//! server's second opinion), the visit rules' answers, working-hours tracking, the rep's
//! own view of their day, navigation links, and malformed fixes refused.

use fieldkit_domain::checkin::{OpenVisitRule, Reason, ReasonKind, Verdict};
use fieldkit_domain::geo::{CivilDate, LocalFrame, UtcOffset, Weekday, WorkWindow, WorkingHours};
use fieldkit_domain::ids::{CustomerId, VisitId};
use fieldkit_domain::model::{LocationFix, LocationProvider, OrgSettings, Role, WgsPoint};
use fieldkit_domain::nav::{AppIdentity, NavApp, Platform, TravelMode};
use fieldkit_e2e::harness::{Api, PASSWORD, TestOrg, TestServer, log_to_stderr_if_asked};
use fieldkit_engine::{CheckInInput, Error, FieldKit, VisitRefusal};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SHOP: (f64, f64) = (31.2304, 121.4737);
const MS_PER_DAY: i64 = 86_400_000;

fn now_ms() -> i64 {
    fieldkit_server::now_ms()
}

/// A point `east_m` east and `north_m` north of the shop.
fn near_shop(east_m: f64, north_m: f64) -> WgsPoint {
    let shop = WgsPoint::new(SHOP.0, SHOP.1).expect("valid");
    LocalFrame::new(shop).to_point(east_m, north_m).expect("valid")
}

fn fix(point: WgsPoint, accuracy_m: f64, fix_time_ms: i64) -> LocationFix {
    LocationFix { point, accuracy_m, fix_time_ms, provider: LocationProvider::Gnss, is_mock: false }
}

fn at(customer_id: CustomerId, fix: LocationFix, note: Option<&str>) -> CheckInInput {
    CheckInInput { customer_id, task_id: None, fix, note: note.map(str::to_owned) }
}

/// A customer owned by rep1 at `point`, created by the manager.
async fn customer(api: &Api, org: &TestOrg, name: &str, point: WgsPoint) -> anyhow::Result<CustomerId> {
    let body = json!({
        "name": name, "grade": "A", "owner_id": org.reps[0].id,
        "place": { "point": { "lat": point.lat(), "lng": point.lng() }, "address": "" }
    });
    let (status, created) = api.send("POST", "/v1/customers", Some(&org.manager_token), Some(&body)).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    Ok(serde_json::from_value(created["id"].clone())?)
}

/// Replaces the org's settings as its admin.
async fn put_settings(server: &TestServer, org: &TestOrg, settings: &OrgSettings) -> anyhow::Result<()> {
    let team = org.manager.team_id.expect("the test org has a team");
    if server.storage.users(org.org.id).await?.iter().all(|u| u.username != "admin") {
        server.user(&org.org, "admin", Role::Admin, team).await?;
    }
    let api = Api::new(&server.url);
    let token = api.login(&org.org.slug, "admin", PASSWORD).await?;
    let (status, answer) =
        api.send("PUT", "/v1/org/settings", Some(&token), Some(&serde_json::to_value(settings)?)).await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    Ok(())
}

fn refusal(result: fieldkit_engine::Result<impl std::fmt::Debug>) -> VisitRefusal {
    match result {
        Err(Error::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn kinds(verdict: &Verdict) -> Vec<ReasonKind> {
    verdict.reasons().iter().map(Reason::kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_at_the_shop_is_accepted_and_the_server_judges_it_the_same() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let shop = customer(&api, &org, "Shop", near_shop(0.0, 0.0)).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;

    let check_in = phone.kit.check_in(at(shop, fix(near_shop(30.0, 20.0), 10.0, now_ms()), None))?;
    let assessment = check_in.assessment.clone().expect("the customer is on the phone: judged");
    assert_eq!(assessment.verdict, Verdict::Accepted);
    assert!((assessment.distance_m - 36.0).abs() < 1.0, "{assessment:?}");
    assert!((assessment.limit_m - 210.0).abs() < 1e-6, "200 m radius plus the 10 m accuracy");
    phone.kit.sync_now().await?;

    let token = api.login("acme", "rep1", PASSWORD).await?;
    let (_, facts) = api.send("GET", "/v1/facts?kind=check_in", Some(&token), None).await?;
    let fact = &facts[0];
    assert_eq!(fact["phone_assessment"]["verdict"]["outcome"], "accepted", "{fact}");
    assert_eq!(fact["server_assessment"]["verdict"]["outcome"], "accepted", "{fact}");
    assert_eq!(fact["verdicts_disagree"], false);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_of_range_check_in_needs_a_stated_reason_and_is_then_flagged_with_it() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let shop = customer(&api, &org, "Shop", near_shop(0.0, 0.0)).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let far = fix(near_shop(0.0, 500.0), 10.0, now_ms());

    let VisitRefusal::Rejected { assessment } = refusal(phone.kit.check_in(at(shop, far, None))) else {
        panic!("expected a rejection");
    };
    let Verdict::Rejected { rejected_by, needs_stated_reason, .. } = &assessment.verdict else {
        panic!("{assessment:?}");
    };
    assert_eq!((rejected_by.as_slice(), *needs_stated_reason), ([ReasonKind::TooFar].as_slice(), true));
    assert!(phone.kit.check_ins()?.is_empty(), "a refused check-in stores nothing");
    assert_eq!(phone.kit.sync_status()?.outbox.pending, 0);
    assert!(phone.kit.open_visit()?.is_none());

    let check_in = phone.kit.check_in(at(shop, far, Some("门店搬到了对面")))?;
    let verdict = check_in.assessment.expect("judged").verdict;
    assert!(
        matches!(&verdict, Verdict::Flagged { stated_reason: Some(r), .. } if r == "门店搬到了对面"),
        "{verdict:?}"
    );
    assert_eq!(kinds(&verdict), [ReasonKind::TooFar]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_stale_and_impossibly_fast_fixes_are_flagged_with_every_reason() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let shop = customer(&api, &org, "Shop", near_shop(0.0, 0.0)).await?;
    let far_shop = customer(&api, &org, "Far shop", near_shop(0.0, 50_000.0)).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;

    let now = now_ms();
    let cached_and_mocked = LocationFix { is_mock: true, ..fix(near_shop(10.0, 0.0), 10.0, now - 90_000) };
    let check_in = phone.kit.check_in(at(shop, cached_and_mocked, None))?;
    let verdict = check_in.assessment.expect("judged").verdict;
    assert_eq!(kinds(&verdict), [ReasonKind::StaleFix, ReasonKind::MockLocation], "{verdict:?}");
    let closed = phone.kit.check_out(check_in.visit_id, fix(near_shop(0.0, 0.0), 10.0, now - 60_000))?;
    assert!(closed.duration.ms >= 0);

    // 50 km in a minute from the last fix.
    let teleported = fix(near_shop(0.0, 50_000.0), 10.0, now);
    let check_in = phone.kit.check_in(at(far_shop, teleported, None))?;
    let verdict = check_in.assessment.expect("judged").verdict;
    assert_eq!(kinds(&verdict), [ReasonKind::ImpossibleSpeed], "{verdict:?}");

    // The server, judging with the same code and the same previous fix, agrees.
    phone.kit.sync_now().await?;
    let token = api.login("acme", "rep1", PASSWORD).await?;
    let (_, facts) = api.send("GET", "/v1/facts?kind=check_in", Some(&token), None).await?;
    let server_reasons: Vec<Vec<String>> = facts
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| {
            f["server_assessment"]["verdict"]["reasons"]
                .as_array()
                .map(|r| r.iter().map(|r| r["kind"].as_str().unwrap_or_default().to_owned()).collect())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(server_reasons, [vec!["stale_fix", "mock_location"], vec!["impossible_speed"]]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visit_rules_answer_every_out_of_turn_tap() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let shop = customer(&api, &org, "Shop", near_shop(0.0, 0.0)).await?;
    let next_door = customer(&api, &org, "Next door", near_shop(80.0, 0.0)).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let here = || fix(near_shop(40.0, 0.0), 10.0, now_ms());

    assert_eq!(refusal(phone.kit.check_out(VisitId::new(), here())), VisitRefusal::NoOpenVisit);
    let visit = phone.kit.check_in(at(shop, here(), None))?.visit_id;
    assert_eq!(
        refusal(phone.kit.check_in(at(shop, here(), None))),
        VisitRefusal::AlreadyCheckedIn { visit_id: visit }
    );
    assert_eq!(
        refusal(phone.kit.check_in(at(next_door, here(), None))),
        VisitRefusal::CheckOutFirst { open_visit_id: visit, open_customer_id: shop }
    );
    assert_eq!(
        refusal(phone.kit.check_out(VisitId::new(), here())),
        VisitRefusal::NotTheOpenVisit { open_visit_id: visit }
    );
    assert_eq!(phone.kit.check_ins()?.len(), 1, "no refusal stored anything");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let closed = phone.kit.check_out(visit, here())?;
    assert!(closed.duration.ms >= 20, "{:?}", closed.duration);
    assert!(!closed.check_out.automatic);
    assert!(phone.kit.open_visit()?.is_none());
    assert!(phone.kit.visit(visit)?.and_then(|v| v.ended_ms).is_some());

    // An org that closes open visits automatically.
    let mut settings = OrgSettings::default();
    settings.check_in.open_visit = OpenVisitRule::AutoCheckOut;
    put_settings(&server, &org, &settings).await?;
    phone.kit.sync_now().await?;
    assert_eq!(phone.kit.org_settings()?.check_in.open_visit, OpenVisitRule::AutoCheckOut);
    let first = phone.kit.check_in(at(shop, here(), None))?;
    let second = phone.kit.check_in(at(next_door, here(), None))?;
    assert_eq!(phone.kit.open_visit()?.map(|v| v.id), Some(second.visit_id));
    assert!(phone.kit.visit(first.visit_id)?.and_then(|v| v.ended_ms).is_some(), "closed for the rep");
    let day = phone.kit.my_day()?;
    let auto: Vec<_> = day.check_outs.iter().filter(|c| c.automatic).collect();
    assert_eq!(auto.len(), 1);
    assert_eq!((auto[0].visit_id, auto[0].customer_id), (first.visit_id, shop));
    Ok(())
}

/// Working hours every day, all day, except yesterday (org time), which is a day off.
fn all_day_but_yesterday(now: i64) -> WorkingHours {
    let offset = UtcOffset::CHINA;
    let (today, _) = offset.local(now);
    WorkingHours {
        offset,
        days: Weekday::ALL.to_vec(),
        windows: vec![WorkWindow::new(0, 1440).expect("the whole day")],
        days_off: vec![CivilDate::from_days(today.to_days() - 1)],
        extra_work_days: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracks_keep_only_on_duty_working_time_fixes_and_reach_the_server_in_batches() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let now = now_ms();
    let settings = OrgSettings { working_hours: all_day_but_yesterday(now), ..OrgSettings::default() };
    put_settings(&server, &org, &settings).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;

    // A walk along the street, a fix a second, in the last two minutes.
    let walk: Vec<LocationFix> = (0..70)
        .map(|i| fix(near_shop(f64::from(i) * 1.2, 0.0), 8.0, now - 100_000 + i64::from(i) * 1_000))
        .collect();

    let off = phone.kit.record_fixes(&walk[..5])?;
    assert_eq!((off.off_duty, off.kept), (5, 0), "off duty, nothing is stored");
    assert!(phone.kit.my_day()?.track.is_empty());

    phone.kit.set_on_duty(true)?;
    let yesterday: Vec<LocationFix> =
        (0..3).map(|i| fix(near_shop(0.0, 0.0), 8.0, now - MS_PER_DAY - i * 60_000)).collect();
    let mut fed = yesterday.clone();
    fed.extend_from_slice(&walk[..60]);
    fed.push(fix(near_shop(0.0, 0.0), 300.0, walk[60].fix_time_ms - 500));
    fed.push(fix(near_shop(0.0, 50_000.0), 8.0, walk[60].fix_time_ms - 200));
    let intake = phone.kit.record_fixes(&fed)?;
    assert_eq!(intake.off_hours, 3, "yesterday was a day off: dropped at the door");
    assert_eq!((intake.poor_accuracy, intake.impossible_speed), (1, 1), "{intake:?}");
    assert_eq!(intake.kept, 60);
    assert!(intake.batched, "50 points cut a batch");
    let rest = phone.kit.record_fixes(&walk[60..])?;
    assert_eq!((rest.kept, rest.batched), (10, false));
    assert_eq!(phone.kit.record_fixes(&walk[60..62])?.out_of_order, 2, "a repeat is not stored twice");

    let day = phone.kit.my_day()?;
    assert!(day.on_duty);
    let times: Vec<i64> = day.track.iter().map(|p| p.time_ms).collect();
    assert_eq!(
        times,
        walk.iter().map(|f| f.fix_time_ms).collect::<Vec<_>>(),
        "the rep sees every point kept"
    );

    phone.kit.sync_now().await?;
    let tracks = server
        .storage
        .facts(
            org.org.id,
            fieldkit_server::storage::FactFilter { kind: Some("track".into()), ..Default::default() },
        )
        .await?;
    assert_eq!(tracks.len(), 2, "the batch cut at 50 points and the rest cut before the sync");
    let on_server: usize = tracks
        .iter()
        .map(|t| {
            serde_json::from_str::<Value>(&t.body).map(|b| b["body"]["points"].as_array().map_or(0, Vec::len))
        })
        .sum::<Result<usize, _>>()?;
    assert_eq!(on_server, 70);
    assert!(!tracks.iter().any(|t| t.body.contains(&(now - MS_PER_DAY).to_string())));

    // Off duty again: nothing more is kept.
    phone.kit.set_on_duty(false)?;
    assert_eq!(phone.kit.record_fixes(&[fix(near_shop(0.0, 0.0), 8.0, now_ms())])?.off_duty, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn navigation_links_to_a_shanghai_customer_put_amap_first_with_shifted_coordinates()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let org = server.org("acme", 1).await?;
    let api = Api::new(&server.url);
    let shop = customer(&api, &org, "静安店", near_shop(0.0, 0.0)).await?;
    let phone = server.phone("acme", "rep1").await?;
    phone.kit.sync_now().await?;
    let identity =
        AppIdentity { app_name: "FieldKit".into(), company: "acme".into(), tencent_referer: "KEY".into() };

    let links =
        phone.kit.navigation_links(&[shop], None, TravelMode::Drive, &identity, Platform::Android, None)?;
    assert_eq!(links[0].app, NavApp::AmapAndroid);
    assert!(links[0].url.starts_with("amapuri://route/plan/"), "{}", links[0].url);
    assert!(links[0].url.contains("%E9%9D%99%E5%AE%89%E5%BA%97"), "the name is percent-encoded UTF-8");
    // Amap gets GCJ-02: several hundred metres from the WGS-84 point in Shanghai.
    assert!(!links[0].url.contains(&format!("{:.6}", SHOP.1)), "{}", links[0].url);
    assert!(links.iter().any(|l| l.app == NavApp::GoogleMaps && l.url.contains(&format!("{}", SHOP.0))));

    let ios = phone.kit.navigation_links(
        &[shop],
        None,
        TravelMode::Drive,
        &identity,
        Platform::Ios,
        Some(vec![NavApp::AppleMaps]),
    )?;
    assert_eq!(ios.iter().map(|l| l.app).collect::<Vec<_>>(), [NavApp::AppleMaps]);
    let unknown = phone.kit.navigation_links(
        &[CustomerId::new()],
        None,
        TravelMode::Drive,
        &identity,
        Platform::Ios,
        None,
    );
    assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_fixes_are_refused_with_a_clear_error_and_change_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    server.org("acme", 1).await?;
    let phone = server.phone("acme", "rep1").await?;
    let phone: &FieldKit = &phone.kit;
    phone.set_on_duty(true)?;
    let now = now_ms();

    for accuracy in [f64::NAN, -5.0, f64::INFINITY] {
        let bad = fix(near_shop(0.0, 0.0), accuracy, now);
        let err = phone.check_in(at(CustomerId::new(), bad, None)).expect_err("bad accuracy");
        assert!(matches!(err, Error::Location(_)), "{err:?}");
        assert!(err.to_string().contains("accuracy"), "{err}");
        let err = phone.record_fixes(&[fix(near_shop(0.0, 0.0), 5.0, now), bad]).expect_err("bad batch");
        assert!(matches!(err, Error::Location(_)), "{err:?}");
    }
    let from_the_future = fix(near_shop(0.0, 0.0), 5.0, now + 3_600_000);
    let err = phone.check_in(at(CustomerId::new(), from_the_future, None)).expect_err("future");
    assert!(err.to_string().contains("in the future"), "{err}");
    assert!(phone.record_fixes(&[from_the_future]).is_err());

    assert!(WgsPoint::new(f64::NAN, 121.0).is_err());
    assert!(WgsPoint::new(91.0, 121.0).is_err());
    assert!(WgsPoint::new(31.0, 181.0).is_err());

    assert!(phone.check_ins()?.is_empty());
    assert!(phone.my_day()?.track.is_empty(), "a refused batch stores none of its fixes");
    assert_eq!(phone.sync_status()?.outbox.pending, 0);
    Ok(())
}
