//! Douglas–Peucker simplification in metres, for drawing a track.
//!
//! `geo`'s `Simplify` works in coordinate units (degrees), so the track is first projected
//! into a local metric frame; the kept indexes map back to the original fixes, times and
//! all.

use geo::{Coord, LineString, SimplifyIdx};

use crate::geo::{GeoError, LocalFrame, validate_positive};
use crate::model::TrackPoint;

/// The fixes Douglas–Peucker keeps at `tolerance_m` metres (5–10 m for display). The first
/// and last fixes are always kept.
pub fn simplify_track(points: &[TrackPoint], tolerance_m: f64) -> Result<Vec<TrackPoint>, GeoError> {
    let tolerance_m = validate_positive("simplify tolerance", tolerance_m)?;
    let Some(first) = points.first() else {
        return Ok(Vec::new());
    };
    let frame = LocalFrame::new(first.point);
    let line: LineString<f64> = points
        .iter()
        .map(|p| {
            let (x, y) = frame.to_xy(p.point);
            Coord { x, y }
        })
        .collect();
    Ok(line.simplify_idx(tolerance_m).into_iter().filter_map(|i| points.get(i).copied()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WgsPoint;

    #[test]
    fn wiggles_under_the_tolerance_go_corners_stay() {
        let frame = LocalFrame::new(WgsPoint::new(31.0, 121.0).expect("valid"));
        let mut points = Vec::new();
        // East 1 km with ±2 m wiggle, then north 1 km.
        for i in 0..=100 {
            let wiggle = if i % 2 == 0 { 2.0 } else { -2.0 };
            points.push((f64::from(i) * 10.0, wiggle));
        }
        for i in 1..=100 {
            points.push((1_000.0, f64::from(i) * 10.0));
        }
        let track: Vec<TrackPoint> = points
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| TrackPoint {
                point: frame.to_point(x, y).expect("valid"),
                accuracy_m: 5.0,
                time_ms: i64::try_from(i).expect("small") * 1_000,
            })
            .collect();
        let simple = simplify_track(&track, 5.0).expect("valid tolerance");
        assert_eq!(simple.len(), 3, "kept {}", simple.len());
        assert_eq!(simple[0], track[0]);
        assert_eq!(simple[1].time_ms, 100_000);
        assert_eq!(simple[2], track[track.len() - 1]);
        assert!(simplify_track(&track, 1.0).expect("valid").len() > 90);
        assert!(simplify_track(&track, 0.0).is_err());
        assert!(simplify_track(&[], 5.0).expect("valid").is_empty());
    }
}
