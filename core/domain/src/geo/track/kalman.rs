//! A light Kalman smoother in local metres.
//!
//! The model is a random walk: between fixes the position may wander by `v × Δt` (one
//! sigma), where `v` is the larger of `process_noise_mps` and the accuracy-discounted speed
//! between the two raw fixes: a still phone (whose jitter the discount absorbs) is smoothed
//! hard, a moving one lightly. Each fix measures the position with sigma = its accuracy.
//! A forward filter is followed by a Rauch–Tung–Striebel backward pass, so each point is
//! smoothed with the fixes before and after it. East and north are independent and share
//! one variance (the accuracy radius is isotropic). Long gaps make the predicted variance
//! large, so nothing is smoothed across them.

use serde::{Deserialize, Serialize};

use super::filter::discounted_speed_mps;
use crate::geo::LocalFrame;
use crate::model::TrackPoint;

/// Tuning for [`smooth_track`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KalmanConfig {
    /// How fast the position may drift between fixes when the fixes show no movement, one
    /// sigma, m/s (default 1).
    pub process_noise_mps: f64,
    /// Accuracy floor: no fix is trusted more than this, metres (default 3).
    pub min_accuracy_m: f64,
}

impl Default for KalmanConfig {
    fn default() -> Self {
        Self { process_noise_mps: 1.0, min_accuracy_m: 3.0 }
    }
}

/// Smooths a time-ordered, filtered track. Each output point keeps its time; its accuracy
/// becomes the smoothed standard deviation (never larger than the fix's own).
#[must_use]
pub fn smooth_track(points: &[TrackPoint], config: &KalmanConfig) -> Vec<TrackPoint> {
    let Some(first) = points.first() else {
        return Vec::new();
    };
    let frame = LocalFrame::new(first.point);
    let floor_mps = config.process_noise_mps.max(0.0);
    let n = points.len();
    // Filtered state and variance, and the predicted variance entering each step.
    let mut xf = Vec::with_capacity(n);
    let mut pf = Vec::with_capacity(n);
    let mut pp = Vec::with_capacity(n);
    for (k, p) in points.iter().enumerate() {
        let z = frame.to_xy(p.point);
        let r = p.accuracy_m.max(config.min_accuracy_m).powi(2);
        if k == 0 {
            xf.push(z);
            pf.push(r);
            pp.push(r);
            continue;
        }
        let dt_s = (p.time_ms - points[k - 1].time_ms).max(0) as f64 / 1_000.0;
        let (x0, y0) = xf[k - 1];
        let v = floor_mps.max(discounted_speed_mps(&points[k - 1], p));
        let p_pred = pf[k - 1] + (v * dt_s).powi(2);
        let gain = p_pred / (p_pred + r);
        xf.push((x0 + gain * (z.0 - x0), y0 + gain * (z.1 - y0)));
        pf.push((1.0 - gain) * p_pred);
        pp.push(p_pred);
    }
    // Rauch–Tung–Striebel backward pass (transition = identity).
    let mut xs = xf.clone();
    let mut ps = pf.clone();
    for k in (0..n.saturating_sub(1)).rev() {
        let c = if pp[k + 1] > 0.0 { pf[k] / pp[k + 1] } else { 0.0 };
        xs[k] = (xf[k].0 + c * (xs[k + 1].0 - xf[k].0), xf[k].1 + c * (xs[k + 1].1 - xf[k].1));
        ps[k] = pf[k] + c * c * (ps[k + 1] - pp[k + 1]);
    }
    points
        .iter()
        .zip(xs.iter().zip(&ps))
        .map(|(p, (&(x, y), &var))| TrackPoint {
            point: frame.to_point(x, y).unwrap_or(p.point),
            accuracy_m: var.max(0.0).sqrt().min(p.accuracy_m.max(config.min_accuracy_m)),
            time_ms: p.time_ms,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::haversine_m;
    use crate::model::WgsPoint;

    #[test]
    fn jitter_around_a_still_phone_shrinks() {
        let centre = WgsPoint::new(31.2304, 121.4737).expect("valid");
        let frame = LocalFrame::new(centre);
        // Deterministic ±15 m jitter, one fix every 10 s for 10 minutes.
        let points: Vec<TrackPoint> = (0..60)
            .map(|i| {
                let a = f64::from(i) * 2.399_963;
                let r = 15.0 * f64::from((i * 7) % 11) / 10.0;
                TrackPoint {
                    point: frame.to_point(r * a.cos(), r * a.sin()).expect("valid"),
                    accuracy_m: 15.0,
                    time_ms: i64::from(i) * 10_000,
                }
            })
            .collect();
        let mean_raw: f64 = points.iter().map(|p| haversine_m(p.point, centre)).sum::<f64>() / 60.0;
        let smooth =
            smooth_track(&points, &KalmanConfig { process_noise_mps: 0.2, ..KalmanConfig::default() });
        let mean_smooth: f64 = smooth.iter().map(|p| haversine_m(p.point, centre)).sum::<f64>() / 60.0;
        assert!(mean_smooth < mean_raw / 2.0, "raw {mean_raw} smooth {mean_smooth}");
        assert!(smooth.iter().all(|p| p.accuracy_m <= 15.0));
        assert_eq!(smooth.len(), points.len());
        assert!(smooth_track(&[], &KalmanConfig::default()).is_empty());
    }

    #[test]
    fn a_straight_drive_stays_on_its_line() {
        let start = WgsPoint::new(31.0, 121.0).expect("valid");
        let frame = LocalFrame::new(start);
        let points: Vec<TrackPoint> = (0..50)
            .map(|i| TrackPoint {
                point: frame.to_point(f64::from(i) * 150.0, 0.0).expect("valid"),
                accuracy_m: 8.0,
                time_ms: i64::from(i) * 10_000,
            })
            .collect();
        let smooth = smooth_track(&points, &KalmanConfig::default());
        for (a, b) in points.iter().zip(&smooth) {
            assert!(haversine_m(a.point, b.point) < 5.0);
        }
    }
}
