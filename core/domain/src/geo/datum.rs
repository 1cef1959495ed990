//! China's map datums: WGS-84 (what GNSS reports and FieldKit stores), GCJ-02 (the
//! obfuscated datum Amap, Tencent and Apple use inside China) and BD-09 (Baidu's second
//! transform on top of GCJ-02).
//!
//! The forward transforms are the public algorithm (googollee/eviltransform,
//! wandergis/coordtransform; Krasovsky 1940 constants). Neither has a closed-form inverse;
//! the inverses here iterate `w ← w − (forward(w) − target)` until the step is below
//! 1e-12° (0.1 µm), which takes three or four rounds and leaves a round-trip error far
//! under a millimetre (the usual one-step inverse is off by up to ~5 m).
//!
//! Whether a shift applies at all depends on where the point is and on the map provider:
//! see [`super::ShiftRegions`]. The `_unchecked` / `_exact` functions apply the bare
//! formula anywhere; the others take the provider's [`super::ShiftRegions`] and leave
//! points outside them unchanged.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

use super::ShiftRegions;
use crate::DomainError;
use crate::model::WgsPoint;

/// Semi-major axis of the Krasovsky 1940 ellipsoid, metres (as GCJ-02 uses it).
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// BD-09's angular constant.
const X_PI: f64 = PI * 3000.0 / 180.0;
/// Iterations stop when a step is smaller than this many degrees.
const INVERSE_EPSILON_DEG: f64 = 1e-12;
/// At most this many iterations (convergence takes 3–5).
const INVERSE_MAX_ITERATIONS: usize = 30;

/// The datum a coordinate is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Datum {
    /// WGS-84: GNSS, Google outside China, FieldKit's storage.
    Wgs84,
    /// GCJ-02: Amap, Tencent, Apple inside mainland China.
    Gcj02,
    /// BD-09: Baidu.
    Bd09,
}

macro_rules! datum_point {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name {
            // The numbers, validated as on-the-globe degrees; *not* a WGS-84 position.
            raw: WgsPoint,
        }

        impl $name {
            /// A point from latitude and longitude in degrees in this datum; refuses values
            /// off the globe or not finite.
            pub fn new(lat: f64, lng: f64) -> Result<Self, DomainError> {
                Ok(Self { raw: WgsPoint::new(lat, lng)? })
            }

            /// Latitude in degrees, north positive.
            #[must_use]
            pub fn lat(&self) -> f64 {
                self.raw.lat()
            }

            /// Longitude in degrees, east positive.
            #[must_use]
            pub fn lng(&self) -> f64 {
                self.raw.lng()
            }

            /// Internal: a transformed value kept on the globe (transforms move points by
            /// under 0.01°, so clamping only matters at the poles and the antimeridian).
            fn clamped(lat: f64, lng: f64, fallback: WgsPoint) -> Self {
                Self { raw: clamp_wgs(lat, lng, fallback) }
            }
        }
    };
}

datum_point!(
    /// A point in GCJ-02 (the datum of Amap, Tencent, and Apple Maps inside mainland China).
    Gcj02Point
);
datum_point!(
    /// A point in BD-09 (Baidu's datum, `bd09ll`).
    Bd09Point
);

/// Numbers kept on the globe; `fallback` is only used for non-finite input, which the
/// transforms never produce from valid points.
fn clamp_wgs(lat: f64, lng: f64, fallback: WgsPoint) -> WgsPoint {
    WgsPoint::new(lat.clamp(-90.0, 90.0), lng.clamp(-180.0, 180.0)).unwrap_or(fallback)
}

/// A coordinate tagged with its datum: what leaves the core for a map or a link.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "datum", rename_all = "snake_case")]
pub enum MapCoord {
    /// WGS-84.
    Wgs84(WgsPoint),
    /// GCJ-02.
    Gcj02(Gcj02Point),
    /// BD-09.
    Bd09(Bd09Point),
}

impl MapCoord {
    /// The datum the coordinate is in.
    #[must_use]
    pub fn datum(&self) -> Datum {
        match self {
            MapCoord::Wgs84(_) => Datum::Wgs84,
            MapCoord::Gcj02(_) => Datum::Gcj02,
            MapCoord::Bd09(_) => Datum::Bd09,
        }
    }

    /// Latitude in degrees in [`Self::datum`].
    #[must_use]
    pub fn lat(&self) -> f64 {
        match self {
            MapCoord::Wgs84(p) => p.lat(),
            MapCoord::Gcj02(p) => p.lat(),
            MapCoord::Bd09(p) => p.lat(),
        }
    }

    /// Longitude in degrees in [`Self::datum`].
    #[must_use]
    pub fn lng(&self) -> f64 {
        match self {
            MapCoord::Wgs84(p) => p.lng(),
            MapCoord::Gcj02(p) => p.lng(),
            MapCoord::Bd09(p) => p.lng(),
        }
    }
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lng(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// The GCJ-02 shift at a WGS-84 position: (Δlat°, Δlng°).
fn gcj_delta(lat: f64, lng: f64) -> (f64, f64) {
    let x = lng - 105.0;
    let y = lat - 35.0;
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    let dlat =
        transform_lat(x, y) * 180.0 / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlng = transform_lng(x, y) * 180.0 / (KRASOVSKY_A / sqrt_magic * rad.cos() * PI);
    (dlat, dlng)
}

fn wgs_to_gcj_raw(lat: f64, lng: f64) -> (f64, f64) {
    let (dlat, dlng) = gcj_delta(lat, lng);
    (lat + dlat, lng + dlng)
}

fn gcj_to_bd_raw(lat: f64, lng: f64) -> (f64, f64) {
    let (x, y) = (lng, lat);
    let z = (x * x + y * y).sqrt() + 0.000_02 * (y * X_PI).sin();
    let theta = y.atan2(x) + 0.000_003 * (x * X_PI).cos();
    (z * theta.sin() + 0.006, z * theta.cos() + 0.0065)
}

/// The usual closed-form approximate inverse of [`gcj_to_bd_raw`] (metre-level error):
/// the starting guess for the exact iteration.
fn bd_to_gcj_approx(lat: f64, lng: f64) -> (f64, f64) {
    let x = lng - 0.0065;
    let y = lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.000_02 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000_003 * (x * X_PI).cos();
    (z * theta.sin(), z * theta.cos())
}

/// Solves `forward(w) = target` by fixed-point iteration from `start`.
fn invert(target: (f64, f64), start: (f64, f64), forward: impl Fn(f64, f64) -> (f64, f64)) -> (f64, f64) {
    let (mut lat, mut lng) = start;
    for _ in 0..INVERSE_MAX_ITERATIONS {
        let (flat, flng) = forward(lat, lng);
        let (dlat, dlng) = (flat - target.0, flng - target.1);
        lat -= dlat;
        lng -= dlng;
        if dlat.abs() < INVERSE_EPSILON_DEG && dlng.abs() < INVERSE_EPSILON_DEG {
            break;
        }
    }
    (lat, lng)
}

/// WGS-84 → GCJ-02 with the bare formula, wherever the point is. Prefer
/// [`wgs84_to_gcj02`], which leaves points outside China alone.
#[must_use]
pub fn wgs84_to_gcj02_unchecked(p: WgsPoint) -> Gcj02Point {
    let (lat, lng) = wgs_to_gcj_raw(p.lat(), p.lng());
    Gcj02Point::clamped(lat, lng, p)
}

/// GCJ-02 → WGS-84, the exact inverse of [`wgs84_to_gcj02_unchecked`] (error < 1 mm).
#[must_use]
pub fn gcj02_to_wgs84_exact(p: Gcj02Point) -> WgsPoint {
    let (lat, lng) = invert((p.lat(), p.lng()), (p.lat(), p.lng()), wgs_to_gcj_raw);
    clamp_wgs(lat, lng, p.raw)
}

/// WGS-84 → GCJ-02 as a provider sees it: shifted inside `regions`, unchanged elsewhere.
#[must_use]
pub fn wgs84_to_gcj02(p: WgsPoint, regions: ShiftRegions) -> Gcj02Point {
    if regions.applies_at(p) { wgs84_to_gcj02_unchecked(p) } else { Gcj02Point { raw: p } }
}

/// GCJ-02 → WGS-84 as a provider sees it: the exact inverse where the recovered point lies
/// inside `regions`, the same numbers elsewhere.
#[must_use]
pub fn gcj02_to_wgs84(p: Gcj02Point, regions: ShiftRegions) -> WgsPoint {
    let shifted_back = gcj02_to_wgs84_exact(p);
    if regions.applies_at(shifted_back) { shifted_back } else { p.raw }
}

/// GCJ-02 → BD-09 (Baidu's transform; defined everywhere).
#[must_use]
pub fn gcj02_to_bd09(p: Gcj02Point) -> Bd09Point {
    let (lat, lng) = gcj_to_bd_raw(p.lat(), p.lng());
    Bd09Point::clamped(lat, lng, p.raw)
}

/// BD-09 → GCJ-02, the exact inverse of [`gcj02_to_bd09`] (error < 1 mm).
#[must_use]
pub fn bd09_to_gcj02(p: Bd09Point) -> Gcj02Point {
    let start = bd_to_gcj_approx(p.lat(), p.lng());
    let (lat, lng) = invert((p.lat(), p.lng()), start, gcj_to_bd_raw);
    Gcj02Point::clamped(lat, lng, p.raw)
}

/// WGS-84 → BD-09: GCJ-02 as `regions` decide, then Baidu's transform.
#[must_use]
pub fn wgs84_to_bd09(p: WgsPoint, regions: ShiftRegions) -> Bd09Point {
    gcj02_to_bd09(wgs84_to_gcj02(p, regions))
}

/// BD-09 → WGS-84: the exact inverse of [`wgs84_to_bd09`] with the same `regions`.
#[must_use]
pub fn bd09_to_wgs84(p: Bd09Point, regions: ShiftRegions) -> WgsPoint {
    gcj02_to_wgs84(bd09_to_gcj02(p), regions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::haversine_m;

    fn wgs(lat: f64, lng: f64) -> WgsPoint {
        WgsPoint::new(lat, lng).expect("valid")
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn published_wgs_to_gcj_vectors() {
        // field-facts.md: Shanghai and Beijing.
        let sh = wgs84_to_gcj02_unchecked(wgs(31.1774276, 121.5272106));
        assert!(close(sh.lat(), 31.17530398364597, 1e-10), "{sh:?}");
        assert!(close(sh.lng(), 121.531541859215, 1e-10), "{sh:?}");
        let bj = wgs84_to_gcj02_unchecked(wgs(39.911954, 116.377817));
        assert!(close(bj.lat(), 39.91334545536069, 1e-10), "{bj:?}");
        assert!(close(bj.lng(), 116.38404722455657, 1e-10), "{bj:?}");
        // wandergis/coordtransform test/app.js: wgs84togcj02(116.404, 39.915).
        let t = wgs84_to_gcj02_unchecked(wgs(39.915, 116.404));
        assert!(close(t.lat(), 39.91640428150164, 1e-10), "{t:?}");
        assert!(close(t.lng(), 116.41024449916938, 1e-10), "{t:?}");
    }

    #[test]
    fn published_bd09_vectors() {
        // wandergis/coordtransform test/app.js: gcj02tobd09(116.404, 39.915).
        let bd = gcj02_to_bd09(Gcj02Point::new(39.915, 116.404).expect("valid"));
        assert!(close(bd.lat(), 39.92133699351021, 1e-10), "{bd:?}");
        assert!(close(bd.lng(), 116.41036949371029, 1e-10), "{bd:?}");
        // Its one-step bd09togcj02(116.404, 39.915) = (39.90865673957631, 116.39762729119315);
        // the exact inverse lands within a metre of it and round-trips to the millimetre.
        let b = Bd09Point::new(39.915, 116.404).expect("valid");
        let g = bd09_to_gcj02(b);
        assert!(close(g.lat(), 39.90865673957631, 1e-5), "{g:?}");
        assert!(close(g.lng(), 116.39762729119315, 1e-5), "{g:?}");
        let again = gcj02_to_bd09(g);
        assert!(close(again.lat(), b.lat(), 1e-11) && close(again.lng(), b.lng(), 1e-11));
        // Beijing railway station (geoChina docs): GCJ (39.90245, 116.42703) ↔ BD (39.90851, 116.43351).
        let station = gcj02_to_bd09(Gcj02Point::new(39.90245, 116.42703).expect("valid"));
        assert!(close(station.lat(), 39.90851, 1e-5) && close(station.lng(), 116.43351, 1e-5));
    }

    #[test]
    fn the_exact_inverse_beats_the_one_step_inverse() {
        // coordtransform's one-step gcj02towgs84(116.404, 39.915) = (39.91359571849836, 116.39775550083061).
        let g = Gcj02Point::new(39.915, 116.404).expect("valid");
        let w = gcj02_to_wgs84_exact(g);
        let one_step = wgs(39.91359571849836, 116.39775550083061);
        let gap = haversine_m(w, one_step);
        assert!(gap > 0.01 && gap < 10.0, "one-step error {gap} m");
        let forward = wgs84_to_gcj02_unchecked(w);
        let err = haversine_m(wgs(forward.lat(), forward.lng()), wgs(g.lat(), g.lng()));
        assert!(err < 1e-3, "round trip {err} m");
    }

    #[test]
    fn round_trips_over_a_grid_of_china_stay_under_a_millimetre() {
        let mut worst_gcj = 0.0_f64;
        let mut worst_bd = 0.0_f64;
        let mut lat = 18.0;
        while lat <= 53.5 {
            let mut lng = 73.5;
            while lng <= 135.0 {
                let w = wgs(lat, lng);
                let g = wgs84_to_gcj02_unchecked(w);
                let back = gcj02_to_wgs84_exact(g);
                worst_gcj = worst_gcj.max(haversine_m(w, back));
                let b = gcj02_to_bd09(g);
                let g2 = bd09_to_gcj02(b);
                worst_bd = worst_bd.max(haversine_m(wgs(g.lat(), g.lng()), wgs(g2.lat(), g2.lng())));
                lng += 0.5;
            }
            lat += 0.5;
        }
        assert!(worst_gcj < 1e-3, "worst gcj round trip {worst_gcj} m");
        assert!(worst_bd < 1e-3, "worst bd round trip {worst_bd} m");
    }

    #[test]
    fn the_shift_is_hundreds_of_metres_in_china_and_zero_outside() {
        let shanghai = wgs(31.2304, 121.4737);
        let g = wgs84_to_gcj02(shanghai, ShiftRegions::MAINLAND_ONLY);
        let shift = haversine_m(shanghai, wgs(g.lat(), g.lng()));
        assert!((300.0..800.0).contains(&shift), "{shift}");
        let back = gcj02_to_wgs84(g, ShiftRegions::MAINLAND_ONLY);
        assert!(haversine_m(back, shanghai) < 1e-3);

        let tokyo = wgs(35.6762, 139.6503);
        let t = wgs84_to_gcj02(tokyo, ShiftRegions::MAINLAND_ONLY);
        assert_eq!((t.lat(), t.lng()), (tokyo.lat(), tokyo.lng()));
        assert_eq!(gcj02_to_wgs84(t, ShiftRegions::MAINLAND_ONLY), tokyo);
        let b = wgs84_to_bd09(shanghai, ShiftRegions::MAINLAND_ONLY);
        assert!(haversine_m(bd09_to_wgs84(b, ShiftRegions::MAINLAND_ONLY), shanghai) < 1e-3);
    }

    #[test]
    fn datum_points_validate_and_say_their_datum() {
        assert!(Gcj02Point::new(f64::NAN, 1.0).is_err());
        assert!(Bd09Point::new(0.0, 181.0).is_err());
        assert!(serde_json::from_str::<Gcj02Point>(r#"{"lat":95.0,"lng":1.0}"#).is_err());
        let c = MapCoord::Gcj02(Gcj02Point::new(31.0, 121.0).expect("valid"));
        assert_eq!(c.datum(), Datum::Gcj02);
        let json = serde_json::to_string(&c).expect("serializes");
        assert_eq!(json, r#"{"datum":"gcj02","lat":31.0,"lng":121.0}"#);
    }
}
