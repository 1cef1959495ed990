//! Location tracks recorded during working hours, uploaded in batches.

use serde::{Deserialize, Serialize};

use crate::ids::{FactId, UserId};
use crate::model::WgsPoint;

/// One point of a track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TrackPoint {
    /// Where, in WGS-84.
    pub point: WgsPoint,
    /// Accuracy radius in metres.
    pub accuracy_m: f64,
    /// Device Unix milliseconds.
    pub time_ms: i64,
}

/// A batch of track points, immutable once recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackBatch {
    /// The fact id.
    pub id: FactId,
    /// The rep.
    pub rep_id: UserId,
    /// The points, in time order.
    pub points: Vec<TrackPoint>,
}
