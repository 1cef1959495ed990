//! The geofence rule for check-ins: a fix counts as at the customer when
//! `haversine(fix, customer) ≤ R + min(accuracy, 50 m)`.
//!
//! The accuracy allowance forgives an honest but imprecise fix (indoors, between tall
//! buildings) without letting a 500 m network fix pass a 200 m fence.

use serde::{Deserialize, Serialize};

use super::{GeoError, haversine_m, validate_accuracy, validate_positive};
use crate::model::WgsPoint;

/// The largest part of a fix's accuracy radius credited to the geofence, in metres.
pub const MAX_ACCURACY_ALLOWANCE_M: f64 = 50.0;

/// The outcome of a geofence test, with the numbers behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeofenceCheck {
    /// Haversine distance from the fix to the fence centre, metres.
    pub distance_m: f64,
    /// The fence radius used, metres.
    pub radius_m: f64,
    /// The accuracy credited: `min(accuracy, cap)`, metres.
    pub allowance_m: f64,
    /// `radius_m + allowance_m`: the largest distance that passes.
    pub limit_m: f64,
    /// Whether `distance_m ≤ limit_m`.
    pub inside: bool,
}

/// Tests a fix of `accuracy_m` at `fix` against a fence of `radius_m` around `center`,
/// crediting at most `allowance_cap_m` of the accuracy (use [`MAX_ACCURACY_ALLOWANCE_M`]).
pub fn check_geofence(
    fix: WgsPoint,
    accuracy_m: f64,
    center: WgsPoint,
    radius_m: f64,
    allowance_cap_m: f64,
) -> Result<GeofenceCheck, GeoError> {
    let accuracy_m = validate_accuracy(accuracy_m)?;
    let radius_m = validate_positive("geofence radius", radius_m)?;
    if !(allowance_cap_m.is_finite() && allowance_cap_m >= 0.0) {
        return Err(GeoError::BadDistance { field: "accuracy allowance cap", value: allowance_cap_m });
    }
    let distance_m = haversine_m(fix, center);
    let allowance_m = accuracy_m.min(allowance_cap_m);
    let limit_m = radius_m + allowance_m;
    Ok(GeofenceCheck { distance_m, radius_m, allowance_m, limit_m, inside: distance_m <= limit_m })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::LocalFrame;

    fn shop() -> WgsPoint {
        WgsPoint::new(31.2304, 121.4737).expect("valid")
    }

    fn north_of_shop(metres: f64) -> WgsPoint {
        LocalFrame::new(shop()).to_point(0.0, metres).expect("valid")
    }

    #[test]
    fn accuracy_is_credited_up_to_fifty_metres() {
        let fix = north_of_shop(230.0);
        let sharp = check_geofence(fix, 10.0, shop(), 200.0, MAX_ACCURACY_ALLOWANCE_M).expect("ok");
        assert!(!sharp.inside);
        assert_eq!(sharp.limit_m, 210.0);
        let vague = check_geofence(fix, 40.0, shop(), 200.0, MAX_ACCURACY_ALLOWANCE_M).expect("ok");
        assert!(vague.inside, "{vague:?}");
        // A 500 m network fix earns no more than 50 m.
        let far = check_geofence(north_of_shop(260.0), 500.0, shop(), 200.0, 50.0).expect("ok");
        assert!(!far.inside);
        assert_eq!(far.allowance_m, 50.0);
        assert!((far.distance_m - 260.0).abs() < 0.5, "{far:?}");
    }

    #[test]
    fn bad_numbers_are_refused() {
        let fix = north_of_shop(10.0);
        assert_eq!(check_geofence(fix, -1.0, shop(), 200.0, 50.0), Err(GeoError::BadAccuracy(-1.0)));
        assert!(check_geofence(fix, f64::NAN, shop(), 200.0, 50.0).is_err());
        assert!(matches!(
            check_geofence(fix, 5.0, shop(), 0.0, 50.0),
            Err(GeoError::BadDistance { field: "geofence radius", .. })
        ));
        assert!(check_geofence(fix, 5.0, shop(), 200.0, f64::INFINITY).is_err());
    }
}
