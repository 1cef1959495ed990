//! The live view on the real server: a manager sees the last position and today's track of
//! the reps in their scope, only from points recorded inside working hours; a rep of another
//! department never shows; on a day off nothing shows.
//!
//! The org's time zone is chosen so that it is about noon there whatever time the test
//! runs, so "today" always holds the few hours of points the test pushes.

use fieldkit_domain::geo::{CivilDate, LocalFrame, UtcOffset, Weekday, WorkWindow, WorkingHours};
use fieldkit_domain::ids::{FactId, TeamId};
use fieldkit_domain::model::{OrgSettings, Role, TrackBatch, TrackPoint, WgsPoint};
use fieldkit_domain::protocol::Fact;
use fieldkit_e2e::harness::{Api, PASSWORD, TestServer, log_to_stderr_if_asked};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

fn shop() -> WgsPoint {
    WgsPoint::new(31.2304, 121.4737).expect("the shop is on the globe")
}

fn north(m: f64) -> WgsPoint {
    LocalFrame::new(shop()).to_point(0.0, m).expect("on the globe")
}

/// Settings whose local time is about noon now, working every day from 10:00 to 24:00
/// (or, with `day_off`, not today).
fn settings_at_noon(now_ms: i64, day_off: bool) -> anyhow::Result<(OrgSettings, i64)> {
    let utc_minute = now_ms.rem_euclid(DAY_MS) / MINUTE_MS;
    let offset_min = i32::try_from(12 * 60 - utc_minute)?;
    let offset = UtcOffset::new(offset_min)?;
    let (today, _) = offset.local(now_ms);
    let settings = OrgSettings {
        working_hours: WorkingHours {
            offset,
            days: Weekday::ALL.to_vec(),
            windows: vec![WorkWindow::hm(10, 0, 24, 0)?],
            days_off: if day_off { vec![today] } else { Vec::new() },
            extra_work_days: Vec::new(),
        },
        ..OrgSettings::default()
    };
    Ok((settings, today.to_days()))
}

fn iso(date: CivilDate) -> String {
    date.to_string()
}

fn rep_row<'a>(view: &'a Value, id: &str) -> Option<&'a Value> {
    view["reps"].as_array()?.iter().find(|r| r["user_id"] == id)
}

#[tokio::test]
async fn a_manager_sees_todays_positions_in_working_hours_of_their_reps_only() -> anyhow::Result<()> {
    log_to_stderr_if_asked();
    let server = TestServer::start().await?;
    let org = server.org("acme", 2).await?;
    let other = server.user(&org.org, "elsewhere", Role::Rep, TeamId::new()).await?;
    server.user(&org.org, "admin", Role::Admin, TeamId::new()).await?;
    let api = Api::new(&server.url);
    let admin = api.login("acme", "admin", PASSWORD).await?;
    let now = fieldkit_server::now_ms();
    let (settings, today) = settings_at_noon(now, false)?;
    let (status, answer) =
        api.send("PUT", "/v1/org/settings", Some(&admin), Some(&serde_json::to_value(&settings)?)).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");

    // rep1 walks north from 09:30 (before work) to 11:30 local; the other department's rep
    // is out too. rep2 sends nothing.
    let walk = |minutes_ago: i64, metres: f64| TrackPoint {
        point: north(metres),
        accuracy_m: 8.0,
        time_ms: now - minutes_ago * MINUTE_MS,
    };
    let rep1_points = vec![walk(150, 0.0), walk(90, 400.0), walk(60, 800.0), walk(30, 1_200.0)];
    for (user, points) in [(&org.reps[0], rep1_points), (&other, vec![walk(20, 50.0)])] {
        let token = api.login("acme", &user.username, PASSWORD).await?;
        let batch = TrackBatch { id: FactId::new(), rep_id: user.id, points };
        api.push_facts(&token, vec![Fact::Track(batch)], &["stored"]).await?;
    }

    let (status, view) = api.send("GET", "/v1/live", Some(&org.manager_token), None).await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["date"], iso(CivilDate::from_days(today)));
    assert_eq!(view["in_working_hours"], true);
    let rep1 = rep_row(&view, &org.reps[0].id.to_string()).expect("rep1 is listed");
    assert_eq!(rep1["last"]["at_ms"], json!(now - 30 * MINUTE_MS));
    assert_eq!(rep1["last"]["source"], "track");
    let times: Vec<i64> =
        rep1["track"].as_array().into_iter().flatten().filter_map(|p| p["at_ms"].as_i64()).collect();
    assert!(!times.is_empty(), "{rep1}");
    assert!(times.iter().all(|t| *t >= now - 90 * MINUTE_MS), "a point from before work is drawn: {times:?}");
    assert_eq!(times.first(), Some(&(now - 90 * MINUTE_MS)));
    assert_eq!(times.last(), Some(&(now - 30 * MINUTE_MS)));
    let rep2 = rep_row(&view, &org.reps[1].id.to_string()).expect("rep2 is listed");
    assert_eq!(rep2["last"], Value::Null);
    assert!(rep_row(&view, &other.id.to_string()).is_none(), "another department's rep is shown");
    assert_eq!(view["reps"].as_array().map(Vec::len), Some(2));

    // The admin sees everyone; a rep may not look.
    let (_, all) = api.send("GET", "/v1/live", Some(&admin), None).await?;
    assert!(
        rep_row(&all, &other.id.to_string())
            .is_some_and(|r| r["last"]["at_ms"] == json!(now - 20 * MINUTE_MS))
    );
    let rep_token = api.login("acme", "rep1", PASSWORD).await?;
    let (status, _) = api.send("GET", "/v1/live", Some(&rep_token), None).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Today declared a day off: nothing of today is inside working hours.
    let (settings, _) = settings_at_noon(now, true)?;
    let (status, answer) =
        api.send("PUT", "/v1/org/settings", Some(&admin), Some(&serde_json::to_value(&settings)?)).await?;
    anyhow::ensure!(status == StatusCode::OK, "{status} {answer}");
    let (_, view) = api.send("GET", "/v1/live", Some(&org.manager_token), None).await?;
    assert_eq!(view["in_working_hours"], false);
    let rep1 = rep_row(&view, &org.reps[0].id.to_string()).expect("rep1 is listed");
    assert_eq!(rep1["last"], Value::Null);
    assert_eq!(rep1["track"], json!([]));
    Ok(())
}
