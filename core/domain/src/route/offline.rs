//! Travel matrices without a network: great-circle distance (haversine) times a city detour
//! factor, and an average speed per travel mode.
//!
//! Straight lines are a poor proxy for city streets, so this is the fallback: when the phone
//! is online, the app or the server supplies a road matrix (Amap, Baidu, OSRM…) and builds
//! [`TravelMatrices`] from it instead.

use serde::{Deserialize, Serialize};

use super::{Matrix, RouteError, TravelMatrices};
use crate::geo::haversine_m;
use crate::model::WgsPoint;

/// How the rep gets around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TravelMode {
    /// On foot.
    Walking,
    /// Bicycle.
    Cycling,
    /// Electric scooter or e-bike (common for city reps).
    Scooter,
    /// Car in city traffic.
    Driving,
    /// Bus and metro, door to door.
    Transit,
}

/// Turns straight-line distance into road distance and travel time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OfflineModel {
    detour_factor: f64,
    speed_m_per_s: f64,
}

impl OfflineModel {
    /// A model from a detour factor (road distance over straight-line distance, at least 1)
    /// and an average door-to-door speed in km/h (positive).
    pub fn new(detour_factor: f64, speed_kmh: f64) -> Result<Self, RouteError> {
        if !(detour_factor.is_finite() && detour_factor >= 1.0) {
            return Err(RouteError::BadTravelModel { what: "detour factor", value: detour_factor });
        }
        if !(speed_kmh.is_finite() && speed_kmh > 0.0) {
            return Err(RouteError::BadTravelModel { what: "speed in km/h", value: speed_kmh });
        }
        Ok(Self { detour_factor, speed_m_per_s: speed_kmh / 3.6 })
    }

    /// Typical figures for a large Chinese city: walking 1.25× at 4.5 km/h, cycling 1.3× at
    /// 13 km/h, scooter 1.3× at 20 km/h, driving 1.4× at 22 km/h, transit 1.5× at 16 km/h.
    #[must_use]
    pub fn for_mode(mode: TravelMode) -> Self {
        let (detour_factor, speed_kmh) = match mode {
            TravelMode::Walking => (1.25, 4.5),
            TravelMode::Cycling => (1.3, 13.0),
            TravelMode::Scooter => (1.3, 20.0),
            TravelMode::Driving => (1.4, 22.0),
            TravelMode::Transit => (1.5, 16.0),
        };
        Self { detour_factor, speed_m_per_s: speed_kmh / 3.6 }
    }

    /// The detour factor.
    #[must_use]
    pub fn detour_factor(&self) -> f64 {
        self.detour_factor
    }

    /// The average speed in km/h.
    #[must_use]
    pub fn speed_kmh(&self) -> f64 {
        self.speed_m_per_s * 3.6
    }

    /// Estimated road distance in metres between two points.
    #[must_use]
    pub fn distance_m(&self, a: WgsPoint, b: WgsPoint) -> f64 {
        haversine_m(a, b) * self.detour_factor
    }

    /// Estimated travel time in seconds between two points.
    #[must_use]
    pub fn duration_s(&self, a: WgsPoint, b: WgsPoint) -> f64 {
        self.distance_m(a, b) / self.speed_m_per_s
    }

    /// Distance and duration matrices between `points` (location `i` is `points[i]`);
    /// symmetric, with zeros on the diagonal.
    pub fn matrices(&self, points: &[WgsPoint]) -> Result<TravelMatrices, RouteError> {
        let n = points.len();
        let distance = Matrix::from_fn(n, |a, b| self.distance_m(points[a], points[b]))?;
        let duration = Matrix::from_fn(n, |a, b| self.duration_s(points[a], points[b]))?;
        TravelMatrices::new(distance, duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lng: f64) -> WgsPoint {
        WgsPoint::new(lat, lng).expect("on the globe")
    }

    #[test]
    fn haversine_gives_the_known_distance_between_two_shanghai_landmarks() {
        // People's Square to the Oriental Pearl Tower: about 2.7 km as the crow flies.
        let d = haversine_m(p(31.2304, 121.4737), p(31.2397, 121.4998));
        assert!((d - 2690.0).abs() < 30.0, "{d}");
        assert_eq!(haversine_m(p(31.0, 121.0), p(31.0, 121.0)), 0.0);
        // A quarter of a meridian.
        let quarter = haversine_m(p(0.0, 0.0), p(90.0, 0.0));
        // geo's mean earth radius (IUGG), 6,371,008.8 m.
        assert!((quarter - 6_371_008.8 * std::f64::consts::FRAC_PI_2).abs() < 1e-6);
    }

    #[test]
    fn offline_matrices_scale_distance_by_the_detour_and_time_by_the_speed() {
        let model = OfflineModel::new(1.5, 36.0).expect("valid");
        let points = [p(31.2304, 121.4737), p(31.2397, 121.4998), p(31.2304, 121.4737)];
        let m = model.matrices(&points).expect("valid");
        let straight = haversine_m(points[0], points[1]);
        assert!((m.distance().get(0, 1) - straight * 1.5).abs() < 1e-9);
        assert!((m.duration().get(0, 1) - straight * 1.5 / 10.0).abs() < 1e-9);
        assert_eq!(m.distance().get(0, 2), 0.0, "duplicate locations are zero apart");
        assert!(m.distance().is_symmetric());
    }

    #[test]
    fn a_detour_below_one_or_a_non_positive_speed_is_refused() {
        assert_eq!(
            OfflineModel::new(0.9, 20.0).unwrap_err(),
            RouteError::BadTravelModel { what: "detour factor", value: 0.9 }
        );
        assert!(OfflineModel::new(1.2, 0.0).is_err());
        assert!(OfflineModel::new(1.2, f64::NAN).is_err());
    }

    #[test]
    fn every_travel_mode_has_a_plausible_model() {
        for mode in [
            TravelMode::Walking,
            TravelMode::Cycling,
            TravelMode::Scooter,
            TravelMode::Driving,
            TravelMode::Transit,
        ] {
            let model = OfflineModel::for_mode(mode);
            assert!(model.detour_factor() >= 1.0);
            assert!(model.speed_kmh() > 1.0 && model.speed_kmh() < 60.0);
        }
        assert!(
            OfflineModel::for_mode(TravelMode::Walking).speed_kmh()
                < OfflineModel::for_mode(TravelMode::Driving).speed_kmh()
        );
    }
}
