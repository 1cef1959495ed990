//! Working-hours tracking as the app sees it: what became of the fixes it fed, and
//! everything recorded about the rep today.

use fieldkit_domain::model;

use super::geo::{GeoPoint, date_text};

/// What became of the fixes fed to `recordFixes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct TrackIntake {
    /// Stored (waiting for their batch, or batched).
    pub kept: u32,
    /// Dropped unseen: the rep was off duty.
    pub off_duty: u32,
    /// Dropped unseen: outside working hours, on a day off or during a pause.
    pub off_hours: u32,
    /// Dropped by the filters: accuracy radius too large.
    pub poor_accuracy: u32,
    /// Dropped by the filters: an impossible speed from the previous fix.
    pub impossible_speed: u32,
    /// Dropped: not later than a fix already recorded.
    pub out_of_order: u32,
    /// Whether a batch was cut and queued for sync by this call.
    pub batched: bool,
}

impl From<fieldkit_engine::TrackIntake> for TrackIntake {
    fn from(t: fieldkit_engine::TrackIntake) -> Self {
        Self {
            kept: t.kept,
            off_duty: t.off_duty,
            off_hours: t.off_hours,
            poor_accuracy: t.poor_accuracy,
            impossible_speed: t.impossible_speed,
            out_of_order: t.out_of_order,
            batched: t.batched,
        }
    }
}

/// One recorded track point.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct TrackPoint {
    /// Where, in WGS-84.
    pub point: GeoPoint,
    /// Accuracy radius, metres.
    pub accuracy_m: f64,
    /// When, device Unix milliseconds.
    pub time_ms: i64,
}

impl From<model::TrackPoint> for TrackPoint {
    fn from(p: model::TrackPoint) -> Self {
        Self { point: p.point.into(), accuracy_m: p.accuracy_m, time_ms: p.time_ms }
    }
}

/// Everything recorded about the rep today (the org's local date), for the rep to see.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MyDay {
    /// Today, `YYYY-MM-DD` in the org's time zone.
    pub date: String,
    /// Whether the rep is on duty now.
    pub on_duty: bool,
    /// Track points recorded today, in time order.
    pub track: Vec<TrackPoint>,
    /// The visits checked into today (ids, UUIDs).
    pub checked_in_visits: Vec<String>,
    /// The visits checked out of today (ids, UUIDs).
    pub checked_out_visits: Vec<String>,
    /// The photos taken today (ids, UUIDs).
    pub photos: Vec<String>,
}

impl From<fieldkit_engine::MyDay> for MyDay {
    fn from(d: fieldkit_engine::MyDay) -> Self {
        Self {
            date: date_text(d.date),
            on_duty: d.on_duty,
            track: d.track.into_iter().map(TrackPoint::from).collect(),
            checked_in_visits: d.check_ins.iter().map(|c| c.visit_id.to_string()).collect(),
            checked_out_visits: d.check_outs.iter().map(|c| c.visit_id.to_string()).collect(),
            photos: d.photos.iter().map(|p| p.id.to_string()).collect(),
        }
    }
}
