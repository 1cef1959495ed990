//! Mileage per local day from the filtered track.
//!
//! Distance is summed with haversine over the filtered (optionally smoothed, never
//! simplified) track. A hop of more than `gap_min_ms` *and* more than `gap_min_m` is an
//! interruption (phone off, tunnel, tracking paused): it is reported as a gap and not
//! counted, since a straight line would under- or over-state the road. To keep a still
//! phone's jitter out of the sum, distance is counted from an anchor fix and only once the
//! rep has moved further from it than both fixes' accuracy radii together (and at least
//! `min_step_m`).

use serde::{Deserialize, Serialize};

use crate::geo::{CivilDate, UtcOffset, haversine_m};
use crate::model::TrackPoint;

/// Tuning for [`daily_mileage`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MileageConfig {
    /// The org's local time, which decides where a day ends.
    pub offset: UtcOffset,
    /// A hop longer than this in time… (default 5 min)
    pub gap_min_ms: i64,
    /// …and than this in distance is a gap, metres (default 300).
    pub gap_min_m: f64,
    /// Movement below this from the last counted fix is always jitter, metres (default 10).
    pub min_step_m: f64,
}

impl MileageConfig {
    /// The defaults (5 min, 300 m, 10 m) in `offset`.
    #[must_use]
    pub fn new(offset: UtcOffset) -> Self {
        Self { offset, gap_min_ms: 300_000, gap_min_m: 300.0, min_step_m: 10.0 }
    }
}

/// An interruption in the track: not counted in the mileage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MileageGap {
    /// Time of the last fix before the gap, Unix milliseconds.
    pub from_ms: i64,
    /// Time of the first fix after it.
    pub to_ms: i64,
    /// Straight-line distance across it, metres (for information only).
    pub straight_m: f64,
}

/// One local day's mileage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayMileage {
    /// The local date.
    pub date: CivilDate,
    /// Distance travelled, metres.
    pub distance_m: f64,
    /// Fixes that day.
    pub point_count: usize,
    /// Interruptions, in time order.
    pub gaps: Vec<MileageGap>,
}

/// Mileage per local day of a filtered, time-ordered track. A hop across midnight counts
/// for the day it started in.
#[must_use]
pub fn daily_mileage(points: &[TrackPoint], config: &MileageConfig) -> Vec<DayMileage> {
    let mut days: Vec<DayMileage> = Vec::new();
    let Some(first) = points.first() else {
        return days;
    };
    let day_of = |p: &TrackPoint| config.offset.local(p.time_ms).0;
    days.push(DayMileage { date: day_of(first), distance_m: 0.0, point_count: 1, gaps: Vec::new() });
    let mut anchor = first;
    for pair in points.windows(2) {
        let (prev, p) = (&pair[0], &pair[1]);
        let date = day_of(p);
        let hop = haversine_m(prev.point, p.point);
        let is_gap = p.time_ms - prev.time_ms > config.gap_min_ms && hop > config.gap_min_m;
        if let Some(today) = days.last_mut() {
            if is_gap {
                today.gaps.push(MileageGap { from_ms: prev.time_ms, to_ms: p.time_ms, straight_m: hop });
                anchor = p;
            } else {
                let moved = haversine_m(anchor.point, p.point);
                let threshold = config.min_step_m.max(anchor.accuracy_m + p.accuracy_m);
                if moved >= threshold {
                    today.distance_m += moved;
                    anchor = p;
                }
            }
        }
        match days.last_mut() {
            Some(today) if today.date == date => today.point_count += 1,
            _ => days.push(DayMileage { date, distance_m: 0.0, point_count: 1, gaps: Vec::new() }),
        }
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::LocalFrame;
    use crate::model::WgsPoint;

    fn east(frame: &LocalFrame, x: f64, t_s: i64) -> TrackPoint {
        TrackPoint { point: frame.to_point(x, 0.0).expect("valid"), accuracy_m: 5.0, time_ms: t_s * 1_000 }
    }

    #[test]
    fn gaps_are_reported_not_bridged() {
        let frame = LocalFrame::new(WgsPoint::new(31.0, 121.0).expect("valid"));
        let points = [
            east(&frame, 0.0, 0),
            east(&frame, 100.0, 10),
            east(&frame, 200.0, 20),
            // 10 minutes and 2 km later: a gap.
            east(&frame, 2_200.0, 620),
            east(&frame, 2_300.0, 630),
            // 10 minutes later but only 50 m away: waiting, not a gap.
            east(&frame, 2_350.0, 1_230),
        ];
        let days = daily_mileage(&points, &MileageConfig::new(UtcOffset::CHINA));
        assert_eq!(days.len(), 1);
        assert!((days[0].distance_m - 350.0).abs() < 1.0, "{:?}", days[0]);
        assert_eq!(days[0].gaps.len(), 1);
        assert_eq!((days[0].gaps[0].from_ms, days[0].gaps[0].to_ms), (20_000, 620_000));
        assert!((days[0].gaps[0].straight_m - 2_000.0).abs() < 2.0);
    }

    #[test]
    fn jitter_does_not_add_up_and_days_split_at_local_midnight() {
        let frame = LocalFrame::new(WgsPoint::new(31.0, 121.0).expect("valid"));
        // 15:59:00 UTC = 23:59 in Shanghai; 16:00:30 UTC = 00:00:30 next day.
        let t0 = 1_740_931_140; // 2025-03-02T15:59:00Z
        let mut points: Vec<TrackPoint> =
            (0..6).map(|i| east(&frame, if i % 2 == 0 { 0.0 } else { 4.0 }, t0 + i * 10)).collect();
        points.push(east(&frame, 500.0, t0 + 90));
        let days = daily_mileage(&points, &MileageConfig::new(UtcOffset::CHINA));
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].date, CivilDate::new(2025, 3, 2).expect("d"));
        assert_eq!(days[1].date, CivilDate::new(2025, 3, 3).expect("d"));
        assert_eq!(days[0].point_count + days[1].point_count, 7);
        // The ±4 m jitter counted nothing; the 500 m hop (starting 23:59:50) counts for day one.
        assert!((days[0].distance_m - 500.0).abs() < 1.0, "{days:?}");
        assert!(daily_mileage(&[], &MileageConfig::new(UtcOffset::CHINA)).is_empty());
    }
}
