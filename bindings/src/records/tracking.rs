//! The rep's own day as the app shows it: the track, and the visits and photos recorded
//! today by id.

use fieldkit_domain::geo::CivilDate;
use fieldkit_domain::ids::{FactId, VisitId};
use fieldkit_domain::model::TrackPoint;

/// Everything recorded about the rep today (the org's local date), for the rep to see.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MyDay {
    /// Today, `YYYY-MM-DD` in the org's time zone.
    pub date: CivilDate,
    /// Whether the rep is on duty now.
    pub on_duty: bool,
    /// Track points recorded today, in time order.
    pub track: Vec<TrackPoint>,
    /// The visits checked into today.
    pub checked_in_visits: Vec<VisitId>,
    /// The visits checked out of today.
    pub checked_out_visits: Vec<VisitId>,
    /// The photos taken today.
    pub photos: Vec<FactId>,
}

impl From<fieldkit_engine::MyDay> for MyDay {
    fn from(d: fieldkit_engine::MyDay) -> Self {
        Self {
            date: d.date,
            on_duty: d.on_duty,
            track: d.track,
            checked_in_visits: d.check_ins.iter().map(|c| c.visit_id).collect(),
            checked_out_visits: d.check_outs.iter().map(|c| c.visit_id).collect(),
            photos: d.photos.iter().map(|p| p.id).collect(),
        }
    }
}
