//! Stay points: where the rep stayed put, matched to customers, and compared with
//! check-ins.
//!
//! A stay is a run of fixes all within `max_radius_m` of the run's first fix and lasting at
//! least `min_duration_ms` (Li et al., 2008). Two stays in the same place separated by a
//! short excursion (one fix thrown out by a multipath jump) are merged. The stay's centre
//! is the mean of its fixes; it is matched to the nearest customer site whose radius
//! contains it.

use serde::{Deserialize, Serialize};

use crate::geo::{LocalFrame, haversine_m};
use crate::ids::CustomerId;
use crate::model::{Customer, TrackPoint, WgsPoint};

/// Tuning for [`detect_stays`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StayConfig {
    /// All fixes of a stay lie within this distance of its first fix, metres (default 100).
    pub max_radius_m: f64,
    /// A stay lasts at least this long, milliseconds (default 5 min).
    pub min_duration_ms: i64,
    /// Consecutive stays whose centres are within `max_radius_m` and that are separated by
    /// at most this long are merged, milliseconds (default 5 min).
    pub merge_gap_ms: i64,
}

impl Default for StayConfig {
    fn default() -> Self {
        Self { max_radius_m: 100.0, min_duration_ms: 300_000, merge_gap_ms: 300_000 }
    }
}

/// A customer's location for matching stays.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CustomerSite {
    /// The customer.
    pub customer_id: CustomerId,
    /// Where the customer is.
    pub point: WgsPoint,
    /// A stay whose centre is within this distance matches, metres.
    pub radius_m: f64,
}

impl CustomerSite {
    /// The site of `customer`, with its geofence radius or `default_radius_m`.
    #[must_use]
    pub fn from_customer(customer: &Customer, default_radius_m: f64) -> Self {
        Self {
            customer_id: customer.id,
            point: customer.place.point,
            radius_m: customer.geofence_radius_m.map_or(default_radius_m, f64::from),
        }
    }
}

/// The customer a stay was matched to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StayMatch {
    /// The customer.
    pub customer_id: CustomerId,
    /// Distance from the stay's centre to the customer, metres.
    pub distance_m: f64,
}

/// A place the rep stayed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stay {
    /// First fix time, Unix milliseconds.
    pub start_ms: i64,
    /// Last fix time, Unix milliseconds.
    pub end_ms: i64,
    /// Mean position of the fixes.
    pub center: WgsPoint,
    /// Largest distance of a fix from the centre, metres.
    pub radius_m: f64,
    /// Number of fixes.
    pub point_count: usize,
    /// The nearest customer whose radius contains the centre, if any.
    pub customer: Option<StayMatch>,
}

impl Stay {
    /// How long the stay lasted, milliseconds.
    #[must_use]
    pub fn duration_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }
}

fn centre(points: &[TrackPoint]) -> (WgsPoint, f64) {
    let frame = LocalFrame::new(points[0].point);
    let (mut sx, mut sy) = (0.0, 0.0);
    for p in points {
        let (x, y) = frame.to_xy(p.point);
        sx += x;
        sy += y;
    }
    let n = points.len() as f64;
    let c = frame.to_point(sx / n, sy / n).unwrap_or(points[0].point);
    let radius = points.iter().map(|p| haversine_m(c, p.point)).fold(0.0, f64::max);
    (c, radius)
}

fn match_site(c: WgsPoint, sites: &[CustomerSite]) -> Option<StayMatch> {
    sites
        .iter()
        .map(|s| (s, haversine_m(c, s.point)))
        .filter(|(s, d)| *d <= s.radius_m)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(s, d)| StayMatch { customer_id: s.customer_id, distance_m: d })
}

/// Finds the stays in a filtered, time-ordered track and matches them to `sites`.
#[must_use]
pub fn detect_stays(points: &[TrackPoint], config: &StayConfig, sites: &[CustomerSite]) -> Vec<Stay> {
    // Runs of indexes [i, j).
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let n = points.len();
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && haversine_m(points[i].point, points[j].point) <= config.max_radius_m {
            j += 1;
        }
        if points[j - 1].time_ms - points[i].time_ms >= config.min_duration_ms {
            runs.push((i, j));
            i = j;
        } else {
            i += 1;
        }
    }
    // Merge neighbouring runs in the same place.
    let mut merged: Vec<(usize, usize, WgsPoint)> = Vec::new();
    for (a, b) in runs {
        let (c, _) = centre(&points[a..b]);
        if let Some(last) = merged.last_mut() {
            let gap = points[a].time_ms - points[last.1 - 1].time_ms;
            if gap <= config.merge_gap_ms && haversine_m(last.2, c) <= config.max_radius_m {
                last.1 = b;
                last.2 = centre(&points[last.0..b]).0;
                continue;
            }
        }
        merged.push((a, b, c));
    }
    merged
        .into_iter()
        .map(|(a, b, _)| {
            let run = &points[a..b];
            let (center, radius_m) = centre(run);
            Stay {
                start_ms: run[0].time_ms,
                end_ms: run[run.len() - 1].time_ms,
                center,
                radius_m,
                point_count: run.len(),
                customer: match_site(center, sites),
            }
        })
        .collect()
}

/// A check-in (and its check-out, if any) as reconciliation sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRecord {
    /// The customer checked in to.
    pub customer_id: CustomerId,
    /// Check-in time, Unix milliseconds.
    pub checked_in_ms: i64,
    /// Check-out time, if checked out.
    pub checked_out_ms: Option<i64>,
}

/// A check-in with no stay at its customer behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsupportedCheckIn {
    /// The check-in.
    pub visit: VisitRecord,
}

/// What [`reconcile_visits`] found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Reconciliation {
    /// Stays at a customer with no check-in there: visits that happened without a button.
    pub unreported_visits: Vec<Stay>,
    /// Check-ins with no stay at that customer around them.
    pub unsupported_check_ins: Vec<UnsupportedCheckIn>,
}

/// Compares stays with check-ins: a check-in is supported by a stay matched to the same
/// customer whose time span overlaps the visit's (check-in to check-out, or the check-in
/// instant) widened by `slack_ms` on each side.
#[must_use]
pub fn reconcile_visits(stays: &[Stay], visits: &[VisitRecord], slack_ms: i64) -> Reconciliation {
    let overlaps = |s: &Stay, v: &VisitRecord| {
        let v_end = v.checked_out_ms.unwrap_or(v.checked_in_ms).max(v.checked_in_ms);
        s.customer.is_some_and(|m| m.customer_id == v.customer_id)
            && s.start_ms <= v_end.saturating_add(slack_ms)
            && s.end_ms >= v.checked_in_ms.saturating_sub(slack_ms)
    };
    Reconciliation {
        unreported_visits: stays
            .iter()
            .filter(|s| s.customer.is_some() && !visits.iter().any(|v| overlaps(s, v)))
            .copied()
            .collect(),
        unsupported_check_ins: visits
            .iter()
            .filter(|v| !stays.iter().any(|s| overlaps(s, v)))
            .map(|v| UnsupportedCheckIn { visit: *v })
            .collect(),
    }
}
