//! `GET /v1/live`: where the caller's reps are today. For each rep the caller's data scope
//! reaches: the last position and today's track, both only from points recorded inside the
//! org's working hours (a position taken off the clock is the rep's own business, even if a
//! phone sent it). Today is the org's local date.

use axum::Json;
use axum::extract::State;
use fieldkit_domain::geo::simplify_track;
use fieldkit_domain::ids::{TeamId, UserId};
use fieldkit_domain::model::{Role, TrackPoint, User};
use serde::{Deserialize, Serialize};

use super::period::malformed;
use super::settings::settings;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Caller};
use crate::state::AppState;
use crate::storage::{LocationPoint, PointSource};

const DAY_MS: i64 = 86_400_000;
/// Douglas–Peucker tolerance for the tracks drawn on the live view, in metres.
const SIMPLIFY_TOLERANCE_M: f64 = 15.0;

/// `GET /v1/live` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LiveQuery {
    /// Only this department and the ones under it (still within the caller's scope).
    team: Option<String>,
}

/// A position on the live view.
#[derive(Debug, Serialize)]
struct Position {
    lat: f64,
    lng: f64,
    at_ms: i64,
    accuracy_m: f64,
    /// `track`, `check_in` or `check_out`.
    source: &'static str,
}

/// A point of a drawn track.
#[derive(Debug, Serialize)]
struct TrackPointView {
    lat: f64,
    lng: f64,
    at_ms: i64,
}

/// One rep on the live view.
#[derive(Debug, Serialize)]
struct LiveRep {
    user_id: UserId,
    display_name: String,
    team_id: Option<TeamId>,
    /// The last position recorded today inside working hours, if any.
    last: Option<Position>,
    /// Today's track inside working hours, simplified for drawing.
    track: Vec<TrackPointView>,
    /// Whether now is inside the org's working hours.
    in_working_hours: bool,
}

/// The live view.
#[derive(Debug, Serialize)]
pub(super) struct LiveView {
    now_ms: i64,
    /// Today, in the org's local time.
    date: String,
    /// Whether now is inside the org's working hours.
    in_working_hours: bool,
    reps: Vec<LiveRep>,
}

/// `GET /v1/live`: the reps in the caller's scope, their last position and today's track.
pub(super) async fn live(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<LiveQuery>,
) -> ApiResult<Json<LiveView>> {
    if !caller.role.can_dispatch() {
        return Err(ApiError::forbidden(format!("role {} may not see the live view", caller.role.as_str())));
    }
    let team: Option<TeamId> = query
        .team
        .as_deref()
        .map(|t| t.parse().map_err(|_| malformed(format!("team {t:?} is not a department id"))))
        .transpose()?;
    let hours = settings(&state, caller.org_id).await?.working_hours;
    let now_ms = crate::now_ms();
    let (today, _) = hours.offset.local(now_ms);
    let start_ms = today.to_days() * DAY_MS - i64::from(hours.offset.minutes()) * 60_000;
    let in_hours = |t: i64| hours.off_reason(t).is_none();

    let reps: Vec<User> = state
        .storage
        .users(caller.org_id)
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Rep && caller.may_read(u))
        .filter(|u| team.is_none_or(|t| u.department_path.contains(&t)))
        .collect();
    let mut rows = Vec::with_capacity(reps.len());
    for rep in reps {
        let points: Vec<LocationPoint> = state
            .storage
            .location_points(caller.org_id, rep.id, start_ms, now_ms + 1, None)
            .await?
            .into_iter()
            .filter(|p| in_hours(p.point.time_ms))
            .collect();
        let last = points.last().map(|p| Position {
            lat: p.point.point.lat(),
            lng: p.point.point.lng(),
            at_ms: p.point.time_ms,
            accuracy_m: p.point.accuracy_m,
            source: p.source.as_str(),
        });
        let track: Vec<TrackPoint> =
            points.iter().filter(|p| p.source == PointSource::Track).map(|p| p.point).collect();
        let track = simplify_track(&track, SIMPLIFY_TOLERANCE_M)
            .expect("the simplify tolerance is a positive constant")
            .iter()
            .map(|p| TrackPointView { lat: p.point.lat(), lng: p.point.lng(), at_ms: p.time_ms })
            .collect();
        rows.push(LiveRep {
            user_id: rep.id,
            display_name: rep.display_name,
            team_id: rep.team_id,
            last,
            track,
            in_working_hours: in_hours(now_ms),
        });
    }
    Ok(Json(LiveView { now_ms, date: today.to_string(), in_working_hours: in_hours(now_ms), reps: rows }))
}
