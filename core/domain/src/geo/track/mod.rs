//! Track processing: clean the fixes the gate let in, smooth them, and derive what a
//! manager asks about (where the rep stayed, how far they drove).
//!
//! The pipeline, each step a pure function over time-ordered
//! [`TrackPoint`](crate::model::TrackPoint)s:
//! 1. [`filter_track`] drops fixes with a bad or poor accuracy and fixes implying an
//!    impossible speed, saying why for each;
//! 2. [`smooth_track`] runs a light Kalman filter and smoother in local metres;
//! 3. [`detect_stays`] finds stays (≈100 m, ≈5 min) and matches them to customers, and
//!    [`reconcile_visits`] compares them with check-ins;
//! 4. [`daily_mileage`] sums the distance per local day, reporting gaps rather than
//!    bridging them;
//! 5. [`simplify_track`] thins the track for display with Douglas–Peucker in metres.

mod filter;
mod kalman;
mod mileage;
mod simplify;
mod stay;

pub use filter::{DropReason, DroppedPoint, FilterConfig, FilteredTrack, filter_track};
pub use kalman::{KalmanConfig, smooth_track};
pub use mileage::{DayMileage, MileageConfig, MileageGap, daily_mileage};
pub use simplify::simplify_track;
pub use stay::{
    CustomerSite, Reconciliation, Stay, StayConfig, StayMatch, UnsupportedCheckIn, VisitRecord, detect_stays,
    reconcile_visits,
};

#[cfg(test)]
mod day_test;
