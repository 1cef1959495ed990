//! Distances on the earth and a local metric frame for track work.
//!
//! [`haversine_m`] (sphere, mean radius) is what the geofence rule and the track rules use:
//! it is fast and, at check-in distances, within 0.5 % of the ellipsoid. [`geodesic_m`] is
//! Karney's geodesic on the WGS-84 ellipsoid (via the `geo` crate), accurate to nanometres,
//! for reports that quote long distances.

use geo::{Distance, Geodesic, Haversine, Point};

use crate::model::WgsPoint;

/// Mean earth radius in metres (IUGG), the sphere [`haversine_m`] uses.
pub const EARTH_MEAN_RADIUS_M: f64 = 6_371_008.8;

fn geo_point(p: WgsPoint) -> Point<f64> {
    Point::new(p.lng(), p.lat())
}

/// Great-circle distance in metres on the mean-radius sphere.
#[must_use]
pub fn haversine_m(a: WgsPoint, b: WgsPoint) -> f64 {
    Haversine.distance(geo_point(a), geo_point(b))
}

/// Geodesic distance in metres on the WGS-84 ellipsoid (Karney 2013).
#[must_use]
pub fn geodesic_m(a: WgsPoint, b: WgsPoint) -> f64 {
    Geodesic.distance(geo_point(a), geo_point(b))
}

/// An equirectangular projection around an origin: east and north metres, good to about
/// 0.5 % within 50 km of the origin (the extent of a rep's day), which is ample for
/// smoothing, stay detection and simplification tolerances. Not for mileage: that is summed
/// with [`haversine_m`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalFrame {
    lat0: f64,
    lng0: f64,
    m_per_deg_lat: f64,
    m_per_deg_lng: f64,
}

impl LocalFrame {
    /// A frame centred on `origin`.
    #[must_use]
    pub fn new(origin: WgsPoint) -> Self {
        let m_per_deg_lat = EARTH_MEAN_RADIUS_M * std::f64::consts::PI / 180.0;
        Self {
            lat0: origin.lat(),
            lng0: origin.lng(),
            m_per_deg_lat,
            m_per_deg_lng: m_per_deg_lat * origin.lat().to_radians().cos(),
        }
    }

    /// East and north metres of `p` from the origin.
    #[must_use]
    pub fn to_xy(&self, p: WgsPoint) -> (f64, f64) {
        ((p.lng() - self.lng0) * self.m_per_deg_lng, (p.lat() - self.lat0) * self.m_per_deg_lat)
    }

    /// The point `x` metres east and `y` metres north of the origin; `None` when that falls
    /// off the globe (only possible for absurd offsets).
    #[must_use]
    pub fn to_point(&self, x: f64, y: f64) -> Option<WgsPoint> {
        if self.m_per_deg_lng <= f64::EPSILON {
            return None;
        }
        WgsPoint::new(self.lat0 + y / self.m_per_deg_lat, self.lng0 + x / self.m_per_deg_lng).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lng: f64) -> WgsPoint {
        WgsPoint::new(lat, lng).expect("valid point")
    }

    #[test]
    fn haversine_and_geodesic_agree_on_known_distances() {
        // Shanghai People's Square to Beijing Tiananmen: about 1,067 km.
        let sh = p(31.2304, 121.4737);
        let bj = p(39.9042, 116.4074);
        let h = haversine_m(sh, bj);
        let g = geodesic_m(sh, bj);
        assert!((1_060_000.0..1_075_000.0).contains(&h), "haversine {h}");
        assert!((h - g).abs() / g < 0.005, "haversine {h} vs geodesic {g}");
        // One degree of latitude at the equator on the ellipsoid: 110,574 m.
        let d = geodesic_m(p(0.0, 0.0), p(1.0, 0.0));
        assert!((d - 110_574.0).abs() < 1.0, "{d}");
        assert_eq!(haversine_m(sh, sh), 0.0);
    }

    #[test]
    fn the_local_frame_round_trips_and_measures_metres() {
        let origin = p(31.2304, 121.4737);
        let frame = LocalFrame::new(origin);
        let q = p(31.2404, 121.4837);
        let (x, y) = frame.to_xy(q);
        let back = frame.to_point(x, y).expect("on the globe");
        assert!(haversine_m(q, back) < 1e-6);
        let planar = x.hypot(y);
        let sphere = haversine_m(origin, q);
        assert!((planar - sphere).abs() / sphere < 0.001, "{planar} vs {sphere}");
    }
}
