//! Points on the earth in WGS-84 and the places tasks and customers sit at.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A point in WGS-84 (the datum GNSS reports and FieldKit stores). The datum is in the
/// type: map-provider coordinates (GCJ-02, BD-09) are converted at the edges.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPoint")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct WgsPoint {
    lat: f64,
    lng: f64,
}

#[derive(Deserialize)]
struct RawPoint {
    lat: f64,
    lng: f64,
}

impl TryFrom<RawPoint> for WgsPoint {
    type Error = DomainError;
    fn try_from(raw: RawPoint) -> Result<Self, Self::Error> {
        WgsPoint::new(raw.lat, raw.lng)
    }
}

impl WgsPoint {
    /// A point from latitude and longitude in degrees; refuses values off the globe.
    pub fn new(lat: f64, lng: f64) -> Result<Self, DomainError> {
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(DomainError::LatitudeOutOfRange(lat));
        }
        if !(lng.is_finite() && (-180.0..=180.0).contains(&lng)) {
            return Err(DomainError::LongitudeOutOfRange(lng));
        }
        Ok(Self { lat, lng })
    }

    /// Latitude in degrees, north positive.
    #[must_use]
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees, east positive.
    #[must_use]
    pub fn lng(&self) -> f64 {
        self.lng
    }
}

/// Where something is: a point and the address people read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Place {
    /// The location in WGS-84.
    pub point: WgsPoint,
    /// Postal address as printed for people (may be empty).
    pub address: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_off_the_globe_are_refused() {
        assert!(WgsPoint::new(31.23, 121.47).is_ok());
        assert_eq!(WgsPoint::new(91.0, 0.0), Err(DomainError::LatitudeOutOfRange(91.0)));
        assert_eq!(WgsPoint::new(0.0, -181.0), Err(DomainError::LongitudeOutOfRange(-181.0)));
        assert!(WgsPoint::new(f64::NAN, 0.0).is_err());
    }

    #[test]
    fn a_point_off_the_globe_does_not_deserialize() {
        let bad = serde_json::from_str::<WgsPoint>(r#"{"lat":120.0,"lng":10.0}"#);
        assert!(bad.is_err());
        let good: WgsPoint = serde_json::from_str(r#"{"lat":31.2,"lng":121.5}"#).expect("valid");
        assert_eq!(good.lat(), 31.2);
    }
}
