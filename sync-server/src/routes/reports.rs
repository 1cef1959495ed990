//! `GET /v1/reports/day?rep=<user id>&date=YYYY-MM-DD`: a rep's working day as a manager
//! reviews it, from the track points and check-ins the server holds.
//!
//! The day is the local date in the org's `working_hours.offset`. The rep's track points of
//! that day go through the domain's pipeline: [`filter_track`] (the org's `track_filter`),
//! [`smooth_track`], [`detect_stays`] matched to every customer of the org,
//! [`reconcile_visits`] against the day's check-ins, [`daily_mileage`] (interruptions
//! reported as gaps, not bridged) and [`simplify_track`] for drawing. Who may ask: the rep
//! themself, the manager of their team, an admin.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::State;
use fieldkit_domain::checkin::visit_duration;
use fieldkit_domain::geo::{
    CivilDate, CustomerSite, KalmanConfig, MileageConfig, MileageGap, Stay, StayConfig, VisitRecord,
    daily_mileage, detect_stays, filter_track, reconcile_visits, simplify_track, smooth_track,
};
use fieldkit_domain::ids::{CustomerId, FactId, UserId, VisitId};
use fieldkit_domain::model::{CheckIn, CheckOut, Customer, OrgSettings, Role, TrackPoint, WgsPoint};
use fieldkit_domain::protocol::{ErrorCode, Fact};
use serde::{Deserialize, Serialize};

use super::facts::{server_outcome, verdict_name};
use super::period::{malformed, parse_date};
use super::settings::settings;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Caller};
use crate::state::AppState;
use crate::storage::{FactFilter, FactQuery, PointSource, StorageError, StoredFact};

const DAY_MS: i64 = 86_400_000;
/// A check-in is supported by a stay at its customer that overlaps the visit widened by this
/// much on each side.
const RECONCILE_SLACK_MS: i64 = 10 * 60_000;
/// Douglas–Peucker tolerance of the drawn track, metres.
const SIMPLIFY_TOLERANCE_M: f64 = 10.0;
/// How long after the day a check-out of one of its visits is still looked for.
const CHECK_OUT_LOOKAHEAD_MS: i64 = DAY_MS;

/// Query string of `GET /v1/reports/day`.
#[derive(Debug, Deserialize)]
pub(super) struct DayQuery {
    rep: String,
    date: String,
}

/// The day report.
#[derive(Debug, Serialize)]
pub(super) struct DayReport {
    /// The rep.
    rep: UserId,
    /// The local date, `YYYY-MM-DD`.
    date: String,
    /// The org's local time, minutes east of UTC, that decided where the day starts.
    utc_offset_minutes: i32,
    /// Track points stored for the day.
    points_recorded: usize,
    /// Track points the filter kept.
    points_kept: usize,
    /// Track points the filter dropped, per reason.
    dropped: BTreeMap<String, usize>,
    /// Where the rep stayed, in time order.
    stays: Vec<StayView>,
    /// Stays at a customer with no check-in there.
    visits_without_check_in: Vec<StayView>,
    /// Check-ins with no stay at their customer around them.
    check_ins_without_stay: Vec<CheckInView>,
    /// Distance travelled, metres (gaps not counted).
    mileage_m: f64,
    /// Interruptions of the track, not counted in the mileage.
    gaps: Vec<MileageGap>,
    /// The smoothed track thinned for drawing: `[lat, lng, time_ms]`.
    simplified: Vec<(f64, f64, i64)>,
    /// The day's check-ins, in time order.
    check_ins: Vec<CheckInView>,
}

/// A stay in the report.
#[derive(Debug, Clone, Serialize)]
pub(super) struct StayView {
    start_ms: i64,
    end_ms: i64,
    duration_ms: i64,
    center: WgsPoint,
    radius_m: f64,
    point_count: usize,
    /// The customer it was matched to, if any.
    customer: Option<CustomerRef>,
}

/// The customer a stay was matched to.
#[derive(Debug, Clone, Serialize)]
pub(super) struct CustomerRef {
    id: CustomerId,
    name: String,
    /// From the stay's centre, metres.
    distance_m: f64,
}

/// A check-in in the report.
#[derive(Debug, Clone, Serialize)]
pub(super) struct CheckInView {
    fact_id: FactId,
    visit_id: VisitId,
    customer_id: CustomerId,
    customer_name: Option<String>,
    /// Device time of the check-in, Unix milliseconds.
    at: i64,
    /// Device time of the check-out, if checked out.
    checked_out_at: Option<i64>,
    /// The phone's verdict outcome (`accepted`, `flagged`, `rejected`), if it judged.
    phone_verdict: Option<&'static str>,
    /// The server's verdict outcome, or `unjudged`.
    server_verdict: Option<&'static str>,
    /// How long the visit lasted, if checked out.
    duration_ms: Option<i64>,
}

/// Parses `YYYY-MM-DD`.
fn parse_fact(f: &StoredFact) -> Result<Fact, StorageError> {
    serde_json::from_str(&f.body).map_err(|source| StorageError::Corrupt { what: "fact", source })
}

pub(super) async fn day(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<DayQuery>,
) -> ApiResult<Json<DayReport>> {
    let rep_id: UserId =
        query.rep.parse().map_err(|_| malformed(format!("rep {:?} is not a user id", query.rep)))?;
    let date = parse_date(&query.date).ok_or_else(|| {
        malformed(format!("date {:?} is not a calendar date in yyyy-mm-dd form", query.date))
    })?;
    if caller.role == Role::Rep && caller.id != rep_id {
        return Err(ApiError::forbidden("a rep may read only their own day report"));
    }
    let rep = state
        .storage
        .user(caller.org_id, rep_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {rep_id} not found")))?;
    if !caller.may_read(&rep) {
        return Err(ApiError::forbidden(format!("user {rep_id} is outside your data scope")));
    }

    let settings = settings(&state, caller.org_id).await?;
    let offset = settings.working_hours.offset;
    let start_ms = date.to_days() * DAY_MS - i64::from(offset.minutes()) * 60_000;
    let end_ms = start_ms + DAY_MS;
    let points: Vec<TrackPoint> = state
        .storage
        .location_points(caller.org_id, rep_id, start_ms, end_ms, Some(PointSource::Track))
        .await?
        .into_iter()
        .map(|p| p.point)
        .collect();
    let of_kind = |kind: &str, until_ms| FactQuery {
        filter: FactFilter { kind: Some(kind.to_owned()), rep_ids: Some(vec![rep_id]) },
        flagged: None,
        event_from_ms: Some(start_ms),
        event_until_ms: Some(until_ms),
    };
    let mut check_ins = Vec::new();
    for f in state.storage.select_facts(caller.org_id, of_kind("check_in", end_ms)).await? {
        if let Fact::CheckIn(c) = parse_fact(&f)? {
            let server = f.server_assessment.as_ref().map(server_outcome);
            check_ins.push((c, server));
        }
    }
    let mut check_outs: HashMap<VisitId, CheckOut> = HashMap::new();
    let until = end_ms + CHECK_OUT_LOOKAHEAD_MS;
    for f in state.storage.select_facts(caller.org_id, of_kind("check_out", until)).await? {
        if let Fact::CheckOut(c) = parse_fact(&f)? {
            check_outs.entry(c.visit_id).or_insert(c);
        }
    }
    let customers: Vec<Customer> = state.storage.customers(caller.org_id).await?;

    let input = DayInput { rep: rep_id, date, settings, points, check_ins, check_outs, customers };
    let report = tokio::task::spawn_blocking(move || input.report()).await.map_err(|e| {
        tracing::error!(error = %e, "day report worker failed");
        ApiError::new(ErrorCode::Internal, "internal error; try again later")
    })?;
    Ok(Json(report))
}

/// Everything a day report is computed from.
struct DayInput {
    rep: UserId,
    date: CivilDate,
    settings: OrgSettings,
    points: Vec<TrackPoint>,
    check_ins: Vec<(CheckIn, Option<&'static str>)>,
    check_outs: HashMap<VisitId, CheckOut>,
    customers: Vec<Customer>,
}

impl DayInput {
    fn report(self) -> DayReport {
        let names: HashMap<CustomerId, &str> =
            self.customers.iter().map(|c| (c.id, c.name.as_str())).collect();
        let offset = self.settings.working_hours.offset;

        let filtered = filter_track(&self.points, &self.settings.track_filter);
        let mut dropped = BTreeMap::new();
        for d in &filtered.dropped {
            let reason = serde_json::to_value(d.reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("{:?}", d.reason));
            *dropped.entry(reason).or_insert(0) += 1;
        }
        let smooth = smooth_track(&filtered.kept, &KalmanConfig::default());
        let sites: Vec<CustomerSite> = self
            .customers
            .iter()
            .map(|c| CustomerSite::from_customer(c, self.settings.check_in.default_radius_m))
            .collect();
        let stays = detect_stays(&smooth, &StayConfig::default(), &sites);

        let mut check_ins: Vec<CheckInView> = self
            .check_ins
            .iter()
            .map(|(c, server_verdict)| {
                let out = self.check_outs.get(&c.visit_id);
                CheckInView {
                    fact_id: c.id,
                    visit_id: c.visit_id,
                    customer_id: c.customer_id,
                    customer_name: names.get(&c.customer_id).map(|n| (*n).to_owned()),
                    at: c.at.device_ms,
                    checked_out_at: out.map(|o| o.at.device_ms),
                    phone_verdict: c.assessment.as_ref().map(|a| verdict_name(&a.verdict)),
                    server_verdict: *server_verdict,
                    duration_ms: out.and_then(|o| visit_duration(&c.at, &o.at).ok()).map(|d| d.ms),
                }
            })
            .collect();
        check_ins.sort_by_key(|c| c.at);
        let visits: Vec<VisitRecord> = check_ins
            .iter()
            .map(|c| VisitRecord {
                customer_id: c.customer_id,
                checked_in_ms: c.at,
                checked_out_ms: c.checked_out_at,
            })
            .collect();
        let reconciliation = reconcile_visits(&stays, &visits, RECONCILE_SLACK_MS);
        // Unsupported check-ins come back as their visit records: find each one's check-in.
        let mut unclaimed: Vec<Option<&CheckInView>> = check_ins.iter().map(Some).collect();
        let check_ins_without_stay = reconciliation
            .unsupported_check_ins
            .iter()
            .filter_map(|u| {
                let i = visits.iter().zip(&unclaimed).position(|(v, c)| *v == u.visit && c.is_some())?;
                unclaimed[i].take().cloned()
            })
            .collect();

        let days = daily_mileage(&smooth, &MileageConfig::new(offset));
        let simplified = simplify_track(&smooth, SIMPLIFY_TOLERANCE_M)
            .expect("the simplify tolerance is a positive constant")
            .iter()
            .map(|p| (p.point.lat(), p.point.lng(), p.time_ms))
            .collect();
        let view = |s: &Stay| StayView {
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            duration_ms: s.duration_ms(),
            center: s.center,
            radius_m: s.radius_m,
            point_count: s.point_count,
            customer: s.customer.map(|m| CustomerRef {
                id: m.customer_id,
                name: names.get(&m.customer_id).map(|n| (*n).to_owned()).unwrap_or_default(),
                distance_m: m.distance_m,
            }),
        };
        DayReport {
            rep: self.rep,
            date: self.date.to_string(),
            utc_offset_minutes: offset.minutes(),
            points_recorded: self.points.len(),
            points_kept: filtered.kept.len(),
            dropped,
            stays: stays.iter().map(view).collect(),
            visits_without_check_in: reconciliation.unreported_visits.iter().map(view).collect(),
            check_ins_without_stay,
            mileage_m: days.iter().map(|d| d.distance_m).sum(),
            gaps: days.into_iter().flat_map(|d| d.gaps).collect(),
            simplified,
            check_ins,
        }
    }
}
