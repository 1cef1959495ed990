//! Geography for field work: distances, geofences, China's map datums, the regions where
//! they apply, track cleaning and what is derived from tracks, and the working-hours gate.
//!
//! Everything here is pure: points come in as validated [`WgsPoint`]s (or the datum
//! newtypes [`Gcj02Point`] and [`Bd09Point`]), times as Unix milliseconds passed by the
//! caller. Coordinates are stored in WGS-84 and converted only at the edges (navigation
//! links, map display), so every coordinate that leaves this module says its datum in its
//! type.
//!
//! | file | concern |
//! |---|---|
//! | `distance` | haversine and geodesic (Karney) distance, a local metric frame |
//! | `geofence` | `haversine(fix, customer) ≤ R + min(accuracy, 50 m)` |
//! | `datum` | WGS-84 ⇄ GCJ-02 ⇄ BD-09, exact iterative inverses |
//! | `region` | mainland China / Hong Kong / Macau / Taiwan outlines, per-provider shift rules |
//! | `track` | accuracy and speed filters, Kalman smoother, stays, mileage, simplification |
//! | `hours` | the working-hours gate deciding whether a fix may be stored at all |
//!
//! The `geo` crate (0.33, default features off) supplies Karney's geodesic distance and
//! Douglas–Peucker; the GCJ-02 formulas, the region test (an even-odd test that looks only
//! at the edges in the point's 0.1° latitude band instead of all 2,700) and the track rules
//! are written here. Figures: `bench/geo/RESULTS.md`.

mod datum;
mod distance;
mod geofence;
mod hours;
mod region;
#[allow(missing_docs, clippy::excessive_precision, clippy::unreadable_literal)]
mod region_data;
mod track;

pub use datum::{
    Bd09Point, Datum, Gcj02Point, MapCoord, bd09_to_gcj02, bd09_to_wgs84, gcj02_to_bd09, gcj02_to_wgs84,
    gcj02_to_wgs84_exact, wgs84_to_bd09, wgs84_to_gcj02, wgs84_to_gcj02_unchecked,
};
pub use distance::{EARTH_MEAN_RADIUS_M, LocalFrame, geodesic_m, haversine_m};
pub use geofence::{GeofenceCheck, MAX_ACCURACY_ALLOWANCE_M, check_geofence};
pub use hours::{
    CivilDate, GateDecision, OffReason, Pause, PauseKind, TrackingPolicy, UtcOffset, Weekday, WorkWindow,
    WorkingHours,
};
pub use region::{ChinaRegion, MapProvider, ShiftRegions, china_region};
pub use track::{
    CustomerSite, DayMileage, DropReason, DroppedPoint, FilterConfig, FilteredTrack, KalmanConfig,
    MileageConfig, MileageGap, Reconciliation, Stay, StayConfig, StayMatch, UnsupportedCheckIn, VisitRecord,
    daily_mileage, detect_stays, filter_track, reconcile_visits, simplify_track, smooth_track,
};

use crate::DomainError;
use crate::model::WgsPoint;

/// A geographic input that breaks a rule. Messages are lower-case, name the offending value
/// and carry no personal data (never a coordinate pair, only the one bad number).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    /// A point did not validate (latitude or longitude off the globe or not a number).
    #[error(transparent)]
    Point(#[from] DomainError),
    /// An accuracy radius that is negative or not a finite number.
    #[error("accuracy {0} m must be a finite, non-negative number of metres")]
    BadAccuracy(f64),
    /// A distance, radius or tolerance that is negative, zero where not allowed, or not finite.
    #[error("{field} {value} m must be a finite, positive number of metres")]
    BadDistance {
        /// Which parameter held the value.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A fix stamped later than the reference time allows.
    #[error("fix time {fix_ms} ms is {ahead_ms} ms in the future (more than {max_ms} ms allowed)")]
    FixFromFuture {
        /// The fix time, Unix milliseconds.
        fix_ms: i64,
        /// How far ahead of the reference time it is.
        ahead_ms: i64,
        /// The largest lead accepted.
        max_ms: i64,
    },
    /// A UTC offset outside −14:00..=+14:00.
    #[error("utc offset {0} minutes is outside -840..=840")]
    BadUtcOffset(i32),
    /// A time of day outside 00:00..=24:00.
    #[error("minute of day {0} is outside 0..=1440")]
    BadMinuteOfDay(u16),
    /// A working window that starts and ends at the same minute.
    #[error("working window starting at minute {0} is empty")]
    EmptyWindow(u16),
    /// A period whose end is not after its start.
    #[error("period ending at {end_ms} ms does not end after its start {start_ms} ms")]
    BadPeriod {
        /// Start, Unix milliseconds.
        start_ms: i64,
        /// End, Unix milliseconds.
        end_ms: i64,
    },
    /// A date that is not written `YYYY-MM-DD` (the text, cut to 16 characters).
    #[error("date {0:?} is not written yyyy-mm-dd")]
    BadDateText(String),
    /// A calendar date that does not exist.
    #[error("date {year:04}-{month:02}-{day:02} does not exist")]
    BadDate {
        /// Year.
        year: i32,
        /// Month 1–12.
        month: u8,
        /// Day of month.
        day: u8,
    },
}

/// Checks an accuracy radius: finite and not negative.
pub fn validate_accuracy(accuracy_m: f64) -> Result<f64, GeoError> {
    if accuracy_m.is_finite() && accuracy_m >= 0.0 {
        Ok(accuracy_m)
    } else {
        Err(GeoError::BadAccuracy(accuracy_m))
    }
}

/// Checks a positive distance parameter (radius, tolerance…).
pub(crate) fn validate_positive(field: &'static str, value: f64) -> Result<f64, GeoError> {
    if value.is_finite() && value > 0.0 { Ok(value) } else { Err(GeoError::BadDistance { field, value }) }
}

/// Checks that a fix is not stamped later than `reference_ms + max_lead_ms`.
pub fn validate_not_future(fix_ms: i64, reference_ms: i64, max_lead_ms: i64) -> Result<(), GeoError> {
    let ahead_ms = fix_ms.saturating_sub(reference_ms);
    if ahead_ms > max_lead_ms {
        Err(GeoError::FixFromFuture { fix_ms, ahead_ms, max_ms: max_lead_ms })
    } else {
        Ok(())
    }
}

/// A WGS-84 point from raw degrees, with the geo module's error type.
pub fn wgs(lat: f64, lng: f64) -> Result<WgsPoint, GeoError> {
    Ok(WgsPoint::new(lat, lng)?)
}
